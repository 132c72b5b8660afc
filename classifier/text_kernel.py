"""The text model's scorer compiled with numba: n-gram hashing, counting and the linear scores
of each text in one pass, with no array per n-gram occurrence.

It computes what ``text_model.hashed_ngrams`` followed by ``text_model.linear_scores`` computes
(the same columns, counts, TF-IDF weights and scores, up to the order of floating-point sums;
tests/test_text_model.py holds the two together). Where the numpy path materialises every
occurrence of a batch and sorts each text's columns, this one counts a text's columns in a small
hash table that stays in the CPU's caches: about 30 µs a description instead of 75-100.
The numpy path stays for small inputs, where importing numba (about 0.4 s) would cost more than
it saves, and for fitting.

The signature is explicit, so numba compiles when this module is imported, and caches the
machine code on disk (``cache=True``): a batch run loads it once, in the parent, before its
workers fork.
"""

from __future__ import annotations

import numpy as np
from numba import njit, types

from .text_model import _BIGRAM, _CHAR_MASK, _CRC_TABLE, _PRIME, _WORD_MASK, CHAR_NGRAMS, WORD_FEATURES

_SPACE = np.uint64(32)
# PRIME**n modulo 2**64, the arithmetic of uint64.
_POWERS = np.array([pow(int(_PRIME), n, 2 ** 64) for n in range(CHAR_NGRAMS[1] + 1)], dtype=np.uint64)
_SHORTEST, _LONGEST = CHAR_NGRAMS


@njit(cache=True, inline="always")
def _crc32_utf8(codes, start, end, table):
    """zlib.crc32 of the UTF-8 bytes (surrogates passed through) of ``codes[start:end]``."""
    crc = np.uint32(0xFFFFFFFF)
    for i in range(start, end):
        c = np.uint32(codes[i])
        if c < 0x80:
            crc = table[(crc ^ c) & 0xFF] ^ (crc >> np.uint32(8))
            continue
        if c < 0x800:
            n_bytes = 2
            lead = np.uint32(0xC0) | (c >> np.uint32(6))
        elif c < 0x10000:
            n_bytes = 3
            lead = np.uint32(0xE0) | (c >> np.uint32(12))
        else:
            n_bytes = 4
            lead = np.uint32(0xF0) | (c >> np.uint32(18))
        crc = table[(crc ^ lead) & 0xFF] ^ (crc >> np.uint32(8))
        for k in range(n_bytes - 2, -1, -1):
            byte = np.uint32(0x80) | ((c >> np.uint32(6 * k)) & np.uint32(0x3F))
            crc = table[(crc ^ byte) & 0xFF] ^ (crc >> np.uint32(8))
    return np.uint64(crc ^ np.uint32(0xFFFFFFFF))


# codes come from np.frombuffer over an encoded string, which is a read-only array.
_SIGNATURE = types.void(types.Array(types.uint32, 1, "C", readonly=True), types.int64[::1], types.boolean[::1],
                        types.boolean[::1], types.float32[:, ::1], types.float64[:, ::1])


@njit(_SIGNATURE, cache=True, nogil=True)
def score_texts(codes, bounds, word, space, table, out):
    """Write ``tfidf(counts) @ coef.T`` of text ``t`` to ``out[t]``.

    Parameters
    ----------
    codes : code points of the clipped, lower-cased texts, one after another
    bounds : text ``t`` is ``codes[bounds[t]:bounds[t + 1]]``
    word, space : per code point, whether it is a word character (``\\w``) and whether it is
        whitespace (``str.isspace``)
    table : per column, its IDF then a coefficient per class (``TextModel._scoring_table``)
    out : (number of texts, number of classes), overwritten
    """
    n_classes = out.shape[1]
    longest = 0
    for t in range(len(bounds) - 1):
        longest = max(longest, bounds[t + 1] - bounds[t])
    # A text of n characters has at most 4n n-gram occurrences (3 character n-grams per
    # character, and fewer tokens than characters). They are counted in a hash table at most half
    # full, sized to each text: for most texts it fits in the CPU's fastest caches, which an
    # array over all 2**19 columns would not.
    capacity = 1
    while capacity < 8 * longest + 16:
        capacity *= 2
    keys = np.full(capacity, -1, dtype=np.int64)
    counts = np.zeros(capacity, dtype=np.int32)
    occurrences = np.empty(capacity // 2, dtype=np.int64)   # the columns of the current text's n-grams
    seen = np.empty(capacity // 2, dtype=np.int64)          # slots of its distinct columns
    scores = np.empty(n_classes, dtype=np.float64)
    prefix = np.zeros(longest + 3, dtype=np.uint64)
    for t in range(len(bounds) - 1):
        start, end = bounds[t], bounds[t + 1]
        mask = 1
        while mask < 8 * (end - start) + 16:
            mask *= 2
        mask -= 1
        n_found = 0

        # Word unigrams and bigrams: tokens are runs of two or more word characters.
        previous = np.uint64(0)
        has_previous = False
        i = start
        while i < end:
            if not word[i]:
                i += 1
                continue
            j = i
            while j < end and word[j]:
                j += 1
            if j - i >= 2:
                h = _crc32_utf8(codes, i, j, _CRC_TABLE)
                occurrences[n_found] = np.int64(h & _WORD_MASK)
                n_found += 1
                if has_previous:
                    pair = (previous * _BIGRAM + h) >> np.uint64(7)
                    occurrences[n_found] = np.int64(pair & _WORD_MASK)
                    n_found += 1
                previous, has_previous = h, True
            i = j

        # Character 3-5-grams of each whitespace-separated word padded with a space either side
        # (" word "); the window that is the whole padded word does not count.
        i = start
        while i < end:
            if space[i]:
                i += 1
                continue
            j = i
            while j < end and not space[j]:
                j += 1
            # prefix[k] is the hash of the first k characters of the padded word, so the n-gram
            # at p hashes to prefix[p + n] - prefix[p] * PRIME**n (arithmetic modulo 2**64).
            padded = j - i + 2
            prefix[1] = _SPACE
            for q in range(1, padded - 1):
                prefix[q + 1] = prefix[q] * _PRIME + np.uint64(codes[i + q - 1])
            prefix[padded] = prefix[padded - 1] * _PRIME + _SPACE
            for n in range(_SHORTEST, _LONGEST + 1):
                for p in range(0, padded - n + 1):
                    if p == 0 and n == padded:
                        continue
                    h = prefix[p + n] - prefix[p] * _POWERS[n]
                    occurrences[n_found] = WORD_FEATURES + np.int64((h + np.uint64(n)) & _CHAR_MASK)
                    n_found += 1
            i = j

        # Count the occurrences of each column in an open-addressing hash table.
        n_seen = 0
        for o in range(n_found):
            column = occurrences[o]
            slot = (column * 0x9E3779B1) & mask
            while keys[slot] != column:
                if keys[slot] == -1:
                    keys[slot] = column
                    seen[n_seen] = slot
                    n_seen += 1
                    break
                slot = (slot + 1) & mask
            counts[slot] += 1

        # Sublinear TF times IDF, L2-normalised, times the coefficients.
        squares = 0.0
        scores[:] = 0.0
        for s in range(n_seen):
            slot = seen[s]
            column = keys[slot]
            weight = np.float64(table[column, 0])
            if counts[slot] > 1:   # most n-grams occur once, and log(1) = 0: no log to take
                weight *= 1.0 + np.log(np.float64(counts[slot]))
            keys[slot], counts[slot] = -1, 0
            squares += weight * weight
            for k in range(n_classes):
                scores[k] += weight * np.float64(table[column, k + 1])
        norm = np.sqrt(squares) if squares > 0.0 else 1.0
        for k in range(n_classes):
            out[t, k] = scores[k] / norm
