"""Negation marking for the text model: "no State link" must not read as "State link".

A bag of n-grams sees the same "north korean" in "North Korean hackers stole the funds" and in
"the senders had nothing to do with the North Korean units whose names they borrowed". Following
the classic treatment of negation in bag-of-words classifiers (Das and Chen 2001; Pang, Lee and
Vaithyanathan 2002), the words that follow a negation cue, up to the end of the clause and at most
``SCOPE`` words, are marked as negated, so they become features of their own. The mark is capital
letters: the featurizers read lower-cased text, so "no STATE LINK" shares no word and no
character n-gram with "state link", and the model learns that the one points away from a State
where the other points to one. (A ``neg_`` prefix, tried first, changed the word features only:
"neg_military" keeps every character n-gram of "military", which kept the State reading. Grouped
CV macro-F1 0.891 with the prefix, 0.895 with capitals: `cyberroute train`, same folds.)

Function words (to, the, of, any, ...) are marked but do not count towards ``SCOPE``: in "no link
to north korea's lazarus group" the scope reaches "lazarus". A cue right after another cancels
it: "could not rule out a state role" marks nothing; so does a cue that is no negation ("no doubt
that", "not only"). A few phrases that clear someone ("was not behind") mark the words before
them instead of after. Marking changes case only (``str.upper``; the few letters whose capital is
two letters, such as "ß", grow by one).

The rule layer has its own NegEx-style negation ([negation] in rules/criteria.toml), which an
analyst may edit. This list is part of the text model's featurizer instead (``FEATURIZER`` in
text_model.py names it): changing it changes the features a trained model was fitted on, so it
lives in code and a change to it needs a retrained model.
Texts arrive lower-cased (see ``text_model._clip``).
"""

from __future__ import annotations

import re

# How many words after a cue are marked (function words not counted). With a first version of
# this marking, grouped CV on the corpus scored macro-F1 0.891-0.893 for any scope of 2 to 8
# words, against 0.884 without marking (docs/error-analysis.md, item 27).
SCOPE = 4

# No "denied": the one who denies is most often the accused ("Russia denied involvement in the
# hack of the foreign ministry"), whose denial clears nobody.
_CUES = r"no|not|cannot|never|nothing|none|nobody|neither|nor|without|rul(?:e|es|ed|ing) out|unrelated"
# A cue is a word after white space, an opening bracket or a quote mark (the text is searched
# with a space put in front), or a word ending in "n't". A class of a few characters in front,
# rather than a word boundary, keeps this search cheap: it runs on every text, and three in four
# hold no cue.
_CUE = re.compile(rf"[\s\"'(\[“‘](?:{_CUES})\b|n['’]t\b")
# Function words are marked but not counted towards SCOPE, and may stand between two cues that
# cancel ("cannot be ruled out").
_FUNCTION_WORDS = frozenset("to the of a an any with in on for by that was were is be been its their his her".split())
_FUNCTION = rf"(?:{'|'.join(sorted(_FUNCTION_WORDS))})\b"
# A cue right after another, function words aside, cancels it: "could not rule out a state role"
# and "a state role cannot be ruled out" negate nothing.
_SECOND_CUE = re.compile(rf"(?:\s+{_FUNCTION})*\s+(?:{_CUES})\b")
# Words that make a cue no negation at all ("pseudo-negations" in NegEx, Chapman et al. 2001):
# "there is no doubt that russian military intelligence was behind it", "not only criminals",
# "nothing but", "no less than", "not impossible that", and a denial denied ("never denied it").
_PSEUDO = re.compile(r"\s+(?:doubt|question|only|just|merely|but|less|least|impossible|unlikely"
                     r"|den(?:y|ies|ied|ying))\b")
# The scope: words up to the end of the clause, which is punctuation or a word that turns the
# sentence: "it was not north korea but a local gang" leaves "a local gang" unmarked. ("yet" is
# no turn word: "not yet attributed to china" is a negation of "china" as much as "not".)
_TURN = r"(?:but|while|although|though|however|instead|whereas)\b"
# A denial that follows the one denied: "police said the gru was not behind it" marks "THE GRU".
# Only these phrases, which clear someone of an act, look backwards; the subject they mark is the
# words before them up to SCOPE counted words, the clause's start or a word in _SUBJECT_STOP, so
# "russia said it was not behind the attack" (a denial by the accused) marks no name.
_POST = re.compile(r"\s+(?:(?:was|were|is|are|has been|have been|had been)\s+(?:not|never)\s+"
                   r"(?:behind|involved|responsible)|(?:had|has|have)\s+nothing\s+to\s+do\s+with"
                   r"|(?:had|has|have|played)\s+no\s+(?:role|part|hand))\b")
_SUBJECT_STOP = frozenset("""said says say told tell claimed claims insisted insists stated states added argued
    believe believes believed concluded found find finds that who which it they he she we you i and or but
    while although though however whereas if because as whether""".split())
_WORD = re.compile(r"\w+(?:['’]\w+)*")
_GAP = r"[^\w.,;:!?()\"]+"   # what lies between two words of one clause
_SCOPE = re.compile(rf"(?:(?:{_GAP}{_FUNCTION})*{_GAP}(?!{_TURN})\w+(?:['’]\w+)*){{0,{SCOPE}}}")


def mark_negation(text: str) -> str:
    """``text`` (lower-cased) with the words in the scope of each negation cue in capitals.

    >>> mark_negation("euler's exploiter pinged a lazarus wallet; no state link found.")
    "euler's exploiter pinged a lazarus wallet; no STATE LINK FOUND."
    >>> mark_negation("it was not north korea but a local gang")
    'it was not NORTH KOREA but a local gang'
    """
    spaced = " " + text
    cues = list(_CUE.finditer(spaced))
    if not cues:
        return text
    # Every _POST phrase holds a cue, so it is looked for around the cues only. Its cue negates
    # the words before it, not the act after it: "the gru was not behind the attack on the
    # grid" clears the GRU, not the attack.
    posts = []
    for cue in cues:
        post = _POST.search(spaced, max(0, cue.start() - 16), cue.end() + 24)
        if post and post.start() <= cue.start() < post.end() and (not posts or posts[-1][0] != post.start()):
            posts.append((post.start(), post.end()))
    spans, done, cancelled = [], 0, 0
    for cue in cues:
        # A cue inside the scope of the one before (already marked), or cancelled by it.
        if cue.start() < max(done, cancelled):
            continue
        second = _SECOND_CUE.match(spaced, cue.end())
        if second:
            cancelled = second.end()
            continue
        if _PSEUDO.match(spaced, cue.end()) or any(start <= cue.start() < end for start, end in posts):
            continue
        scope = _SCOPE.match(spaced, cue.end())
        spans.append((scope.start(), scope.end()))
        done = scope.end()
    for post_start, _ in posts:
        start = _subject_start(spaced, post_start)
        if start < post_start:
            spans.append((start, post_start))
    if not spans:
        return text
    pieces, done = [], 0
    for start, end in sorted(spans):
        start = max(start, done)
        if end > start:
            pieces += [spaced[done:start], spaced[start:end].upper()]
            done = end
    pieces.append(spaced[done:])
    return "".join(pieces)[1:]


def _subject_start(spaced: str, end: int) -> int:
    """Where the words denied by a _POST phrase ending the clause part before ``end`` begin."""
    start, counted = end, 0
    for word in reversed(list(_WORD.finditer(spaced, 0, end))):
        between = spaced[word.end():start]
        if any(mark in between for mark in '.,;:!?()"') or word.group() in _SUBJECT_STOP:
            break
        if word.group() not in _FUNCTION_WORDS:
            counted += 1
            if counted > SCOPE:
                break
        start = word.start()
    return start
