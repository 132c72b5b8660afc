"""Negation marking: which words the text model reads as negated, and that nothing else changes."""

import pytest
from hypothesis import given, settings, strategies as st

from classifier import text_model as tm
from classifier.negation import SCOPE, mark_negation


@pytest.mark.parametrize("text, marked", [
    # the scope ends at punctuation
    ("no state link was found; lazarus was named", "no STATE LINK WAS FOUND; lazarus was named"),
    # ... and at a word that turns the sentence
    ("it was not north korea but a local gang", "it was not NORTH KOREA but a local gang"),
    # function words are marked but not counted: the scope reaches "lazarus"
    ("found no link to north korea's lazarus group in the theft",
     "found no LINK TO NORTH KOREA'S LAZARUS group in the theft"),
    # a cue at the very start, and contracted cues with either apostrophe
    ("never paid the ransom", "never PAID THE RANSOM"),
    ("the gang didn't leak the files", "the gang didn't LEAK THE FILES"),
    ("they didn’t leak", "they didn’t LEAK"),
    ("investigators ruled out sabotage", "investigators ruled out SABOTAGE"),
    # a cue after a line break, a quote mark or a bracket
    ('police said it was "not connected to any foreign government"',
     'police said it was "not CONNECTED TO ANY FOREIGN GOVERNMENT"'),
    ("the report (no state link found) named a gang", "the report (no STATE LINK FOUND) named a gang"),
    ("victims:\nnobody claimed the theft", "victims:\nnobody CLAIMED THE THEFT"),
    # "yet" does not end the scope
    ("not yet attributed to china", "not YET ATTRIBUTED TO CHINA"),
    # two negations in a row cancel out, whatever space or function words lie between them
    ("they could not rule out a state role", "they could not rule out a state role"),
    ("they could not  rule out a state role", "they could not  rule out a state role"),
    ("they could not\nrule out a state role", "they could not\nrule out a state role"),
    ("a state role cannot be ruled out", "a state role cannot be ruled out"),
    ("moscow never denied the attack", "moscow never denied the attack"),
    ("the group didn't deny it", "the group didn't deny it"),
    ("they did not rule out a state role; no ransom was paid",
     "they did not rule out a state role; no RANSOM WAS PAID"),
    ("no a b", "no A B"),
    ("no-one was hurt", "no-ONE WAS HURT"),
    # a cue inside another cue's scope does not start a scope of its own
    ("no state and not one group", "no STATE AND NOT ONE group"),
    # a denial that follows the one denied marks the words before it (not the act after it), back
    # to the clause's start, a reporting verb or a pronoun: a denial by the accused clears no name
    ("police said the gru was not behind the outage", "police said THE GRU was not behind the outage"),
    ("lazarus group hackers were not involved, the fbi said", "LAZARUS GROUP HACKERS were not involved, the fbi said"),
    ("the leak came from the nsa; the agency itself played no part.",
     "the leak came from the nsa; THE AGENCY ITSELF played no part."),
    ("russia said it was not behind the attack", "russia said it was not behind the attack"),
    ("a b c d e f was not involved", "a b C D E F was not involved"),   # SCOPE counted words
    # a cue with punctuation right after it marks nothing; the next cue starts its own scope
    ("no, not ever", "no, not EVER"),
])
def test_marks_the_words_in_a_cues_scope(text, marked):
    assert mark_negation(text) == marked


@pytest.mark.parametrize("text", [
    "north korean hackers stole the funds",
    # pseudo-negations: a cue followed by these words negates nothing
    "there is no doubt that russian military intelligence was behind it",
    "without doubt a state operation",
    "not only criminals but also the gru",
    "it is not impossible that china was behind it",
    "no less than three state units",
    "the nothingness of it",        # a cue inside a longer word is no cue
    # "denied" is no cue: the one who denies is most often the accused
    "russia denied involvement in the hack of the foreign ministry",
    "russia said it was not behind the attack on the power grid",
    "economic espionage in november",
    "",
])
def test_text_without_a_cue_is_returned_unchanged(text):
    assert mark_negation(text) is text


def test_scope_is_limited_to_scope_counted_words():
    words = [f"w{i}" for i in range(SCOPE + 3)]
    marked = mark_negation("no " + " ".join(words)).split()[1:]
    assert [w.isupper() for w in marked] == [True] * SCOPE + [False] * 3


WORDS = ["was", "played", "behind", "involved", "said", "it", "no", "not", "never", "rule", "out", "ruled", "denied", "didn't", "won’t", "nothing", "the",
         "state", "to", "but", "gang", "a", "nor", ",", ";", ".", "-", "\n", "'", "nothingness", "doubt",
         "only", "yet", "be", '"', "(", "[", "‘"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(WORDS), max_size=25), st.sampled_from([" ", "  ", ", ", "\t", "\n", ""]))
def test_marking_only_changes_case(words, gap):
    # Lower-casing gives the text back: no character is lost, moved or changed. (This holds for
    # letters whose capital is one letter, as all here; str.upper turns "ß" into "SS".)
    text = gap.join(words)
    assert mark_negation(text).lower() == text


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("notwhuyrdeibq '’\".,;-\n([")), max_size=80))
def test_marking_any_characters_only_changes_case(text):
    assert mark_negation(text).lower() == text


def test_the_featurizer_reads_a_negated_word_as_another_feature():
    # _clip lower-cases, then marks: the negated "military" shares no word or character n-gram
    # with the plain one.
    def columns(text):
        return set(tm.hashed_ngrams([text])[1].tolist())

    military = columns("military")
    assert military <= columns("russian military intelligence was behind it")
    assert not military & columns("it was not russian military intelligence")
    assert military <= columns("not the police but military intelligence")


@pytest.mark.parametrize("said, denied", [
    ("Russian military intelligence hit the hospital's network, officials said.",
     "Officials said it was not Russian military intelligence but a local crew that hit the hospital's network."),
    ("Investigators tied the exchange theft to North Korea's Lazarus Group.",
     "Investigators found no link to North Korea's Lazarus Group in the exchange theft."),
    ("Officials said Russia's government was behind the breach of the council network.",
     "Officials said Russia's government was not behind the breach of the council network."),
    ("Investigators said Lazarus Group hackers were behind the theft from the exchange.",
     "Investigators said Lazarus Group hackers were not involved in the theft from the exchange."),
])
def test_the_shipped_model_reads_a_denied_state_actor_as_no_state(classifier, said, denied):
    def state_reading(text):
        return classifier.classify(text).model_criteria["state_involvement"]

    assert state_reading(said) > 0.5 > state_reading(denied)
