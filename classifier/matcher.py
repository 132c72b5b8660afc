"""Linear-time phrase matching over a whole text.

Every phrase of every rule file goes into one Aho-Corasick automaton (pyahocorasick), so one pass
over the text finds all of them, in time linear in the length of the text plus the number of
matches, whatever the rules contain. There are no regular expressions to backtrack.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from typing import Any, Iterable, Iterator, NamedTuple

import ahocorasick

# Characters that are folded to a plain equivalent before matching. Each maps one character to
# one character, so offsets into the folded text are offsets into the original text. Hyphens
# and dashes fold to spaces, so "water-utility" matches "water utility" and the rule phrase
# "state-sponsored" matches "state sponsored" too.
_FOLD = str.maketrans({
    "\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u00b4": "'",
    "-": " ", "\u2010": " ", "\u2011": " ", "\u2012": " ", "\u2013": " ", "\u2014": " ",
    "\n": " ", "\r": " ", "\t": " ", "\u00a0": " ", "\u2009": " ", "\u202f": " ",
})


# The same folding for ASCII text as a byte table, which bytes.translate applies several times
# faster than str.translate applies a dict (most descriptions are ASCII).
_ASCII_FOLD = bytes.maketrans(bytes(k for k in _FOLD if k < 128), bytes(ord(_FOLD[k]) for k in _FOLD if k < 128))


def fold(text: str) -> str:
    """Lower-case and fold punctuation variants without changing the length of the text.

    ``str.lower`` can change the length of a string ("İ" becomes two characters); offsets must
    stay valid, so such characters are left as they are.
    """
    if text.isascii():
        return text.lower().encode("ascii").translate(_ASCII_FOLD).decode("ascii")
    lowered = text.lower()
    if len(lowered) != len(text):
        lowered = "".join(ch if len(ch.lower()) != 1 else ch.lower() for ch in text)
    return lowered.translate(_FOLD)


def normalise_phrase(phrase: str) -> str:
    """Fold a phrase from a rule file the same way texts are folded."""
    return " ".join(fold(phrase).split())


class Match(NamedTuple):
    """One occurrence of a phrase: ``text[start:end]`` is what matched; ``payload`` is the rule.

    A named tuple rather than a dataclass: a batch creates tens of millions of them."""

    start: int
    end: int
    payload: Any


class PhraseMatcher:
    """Find whole-word occurrences of many phrases in one pass.

    Parameters
    ----------
    entries : iterable of (phrase, payload, case_sensitive)
        A phrase may carry several payloads (added one entry at a time).
    word_starts : bool
        Phrases need only start a word, not end one ("hack" then matches "hacked").
    """

    def __init__(self, entries: Iterable[tuple[str, Any, bool]], word_starts: bool = False):
        by_key: dict[str, list[tuple[str, Any, bool]]] = {}
        for phrase, payload, case_sensitive in entries:
            key = normalise_phrase(phrase)
            if key:
                by_key.setdefault(key, []).append((phrase, payload, case_sensitive))
        self._automaton = ahocorasick.Automaton()
        # Each folded phrase with (length, starts alphanumeric, ends alphanumeric, payloads): what
        # the automaton stores, kept for rule_kernel.py, which compiles the same search.
        self.keys: dict[str, tuple[int, bool, bool, tuple]] = {}
        for key, payloads in by_key.items():
            # Whether the phrase starts and ends with a letter or digit, known now rather than
            # looked up at every match: only such edges need a word boundary in the text. A
            # payload carries its phrase only when the match must have the phrase's exact case.
            checked = tuple((phrase if case_sensitive else None, payload) for phrase, payload, case_sensitive in payloads)
            self.keys[key] = (len(key), key[0].isalnum(), key[-1].isalnum() and not word_starts, checked)
            self._automaton.add_word(key, self.keys[key])
        self.size = len(by_key)
        if by_key:
            self._automaton.make_automaton()

    def matches(self, text: str, folded: str | None = None) -> list[Match]:
        """Every whole-word match, in order of end position."""
        if not self.size:
            return []
        folded = fold(text) if folded is None else folded
        n, found = len(folded), []
        # tuple.__new__ makes the same Match as Match(...) without a Python-level call: about 3 %
        # of the rule layer's instructions at a dozen matches per text.
        new_match = tuple.__new__
        for last, (length, starts_alnum, ends_alnum, payloads) in self._automaton.iter(folded):
            start, end = last - length + 1, last + 1
            # Whole words only: an alphanumeric phrase edge must not touch another alphanumeric.
            if starts_alnum and start > 0 and folded[start - 1].isalnum():
                continue
            if ends_alnum and end < n and folded[end].isalnum():
                continue
            for phrase, payload in payloads:
                if phrase is None or text[start:end] == phrase:
                    found.append(new_match(Match, (start, end, payload)))
        return found


class PositionIndex:
    """Sorted positions with a fast "which ones lie in [lo, hi]" query."""

    def __init__(self, positions: Iterable[int]):
        self._positions = sorted(positions)

    def last_at_or_before(self, position: int) -> int | None:
        i = bisect_right(self._positions, position)
        return self._positions[i - 1] if i else None

    def between(self, lo: int, hi: int) -> Iterator[int]:
        """The positions p with lo <= p <= hi, in order."""
        i = bisect_left(self._positions, lo)
        while i < len(self._positions) and self._positions[i] <= hi:
            yield self._positions[i]
            i += 1

    def __len__(self) -> int:
        return len(self._positions)
