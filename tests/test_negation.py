"""Negation marking: which words the text model reads as negated, and that nothing else changes."""

import pytest
from hypothesis import given, settings, strategies as st

from classifier import text_model as tm
from classifier.negation import PREFIX, SCOPE, mark_negation


@pytest.mark.parametrize("text, marked", [
    # the scope ends at punctuation
    ("no state link was found; lazarus was named", "no neg_state neg_link neg_was neg_found; lazarus was named"),
    # ... and at a word that turns the sentence
    ("it was not north korea but a local gang", "it was not neg_north neg_korea but a local gang"),
    # function words are marked but not counted: the scope reaches "lazarus"
    ("found no link to north korea's lazarus group in the theft",
     "found no neg_link neg_to neg_north neg_korea's neg_lazarus group in the theft"),
    # a cue at the very start, and contracted cues with either apostrophe
    ("never paid the ransom", "never neg_paid neg_the neg_ransom"),
    ("the gang didn't leak the files", "the gang didn't neg_leak neg_the neg_files"),
    ("they didn’t leak", "they didn’t neg_leak"),
    ("officials denied involvement in the attack", "officials denied neg_involvement neg_in neg_the neg_attack"),
    ("investigators ruled out sabotage", "investigators ruled out neg_sabotage"),
    # one-letter words are left as they are: the tokenizer does not read them
    ("no a b", "no a b"),
    # a cue inside another cue's scope does not start a scope of its own
    ("no state and not one group", "no neg_state neg_and neg_not neg_one group"),
    ("no, not ever", "no, not neg_ever"),
])
def test_marks_the_words_in_a_cues_scope(text, marked):
    assert mark_negation(text) == marked


@pytest.mark.parametrize("text", [
    "north korean hackers stole the funds",
    "the nothingness of it",        # a cue inside a longer word is no cue
    "economic espionage in november",
    "",
])
def test_text_without_a_cue_is_returned_unchanged(text):
    assert mark_negation(text) is text


def test_scope_is_limited_to_scope_counted_words():
    words = [f"w{i}" for i in range(SCOPE + 3)]
    marked = mark_negation("no " + " ".join(words)).split()[1:]
    assert [w.startswith(PREFIX) for w in marked] == [True] * SCOPE + [False] * 3


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("notwhuyrdei '’.,;-\n")), max_size=80))
def test_marking_only_adds_prefixes(text):
    # Removing every prefix gives the text back: no character is lost, moved or changed.
    marked = mark_negation(text)
    assert marked.replace(PREFIX, "") == text.replace(PREFIX, "")


def test_the_featurizer_reads_a_negated_word_as_another_feature():
    def word_columns(text):
        _, cols = tm.hashed_ngrams([text])
        return set(cols[cols < tm.WORD_FEATURES].tolist())

    state = word_columns("state")
    assert state <= word_columns("a state link was found")
    assert not state & word_columns("no state link was found")
    assert state <= word_columns("no link, but a state was named")
