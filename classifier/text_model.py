"""The text model: calibrated route probabilities from the words of a description.

Features are hashed word 1-2-grams and character 3-5-grams taken within words (like
scikit-learn's ``char_wb``) of the lower-cased text, in which the words after a negation cue are
put in capitals (negation.py), weighted by sublinear TF-IDF and L2-normalised. Each route gets a
one-vs-rest logistic regression on features scaled by their naive-Bayes log-count ratio for that
route (``NaiveBayesLogisticRegression``); a softmax over the routes' scores gives the route
probabilities. Criterion heads are plain binary logistic regressions on the same features.

The featurizer is vectorised over a whole batch with numpy: word tokens and their crc32 are
found on the code points of all texts at once, character n-grams are rolling polynomial hashes,
and prediction sorts each text's n-gram columns to count them, then sums IDF-weighted
coefficients (see ``linear_scores``). From ``KERNEL_MIN_TEXTS`` texts on, the same scores come
from a numba-compiled pass per text (text_kernel.py), several times faster. Classifying needs
numpy (and numba for batches) only: scikit-learn (and scipy's sparse matrices) serve fitting
alone, which keeps `cyberroute score` quick to start. The model is
a few arrays (IDF weights, coefficients, intercepts), saved without pickle (see model_store.py).
"""

from __future__ import annotations

import re
import warnings
import zlib
from functools import lru_cache

import numpy as np

from .estimator import Estimator
from .negation import mark_negation

WORD_FEATURES = 2 ** 18
CHAR_FEATURES = 2 ** 18
N_FEATURES = WORD_FEATURES + CHAR_FEATURES
WORD_NGRAMS = (1, 2)
CHAR_NGRAMS = (3, 5)
# The text model reads at most this many characters of a description (the rule layer reads all):
# past a few pages the route is settled, and n-grams of a 5 MB paste would cost memory for nothing.
MAX_MODEL_CHARS = 20_000
# Texts featurized at once when predicting (see TextModel.predict_proba).
PREDICT_SLICE = 128
# From this many texts on, the compiled scorer (text_kernel.py) is used when numba is installed.
KERNEL_MIN_TEXTS = 64
# Names the feature hashing: a model trained with another featurizer cannot be read by this one.
FEATURIZER = "crc32 word 1-2-grams + polynomial char_wb 3-5-grams, negated words in capitals, v6"
# How the route weights were fitted, recorded in the manifest (scoring does not depend on it: the
# weights are linear in the features either way).
ROUTES_ESTIMATOR = "one-vs-rest logistic regressions on naive-Bayes-weighted features (alpha 1)"

_TOKEN = re.compile(r"(?u)\b\w\w+\b")   # the tokens: runs of two or more word characters
_PRIME = np.uint64(1_000_003)
_BIGRAM = np.uint64(0x9E3779B97F4A7C15)
# Tokens up to this many characters get their crc32 from the vectorised loop below; longer ones
# (rare: URLs, hashes) from zlib, one at a time.
_VECTOR_CRC_MAX = 24


def _clip(text: str) -> str:
    """What the featurizers read of a text: its start, lower-cased, with negated words marked."""
    return mark_negation(text[:MAX_MODEL_CHARS].lower())


def _codes(text: str) -> np.ndarray:
    """Unicode code points of a text (lone surrogates from undecodable bytes included)."""
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def _crc_table() -> np.ndarray:
    """The table of the reflected CRC-32 (polynomial 0xEDB88320) that zlib.crc32 computes."""
    table = np.arange(256, dtype=np.uint32)
    for _ in range(8):
        table = np.where(table & 1, (table >> 1) ^ np.uint32(0xEDB88320), table >> 1).astype(np.uint32)
    return table


_CRC_TABLE = _crc_table()
# Which ASCII code points are word characters for the regular expression ``\w`` (index 128
# stands for every code point beyond ASCII, looked up separately).
_ASCII_WORD = np.array([chr(c).isalnum() or c == 95 for c in range(128)] + [False], dtype=bool)
_WORD_MASK, _CHAR_MASK = np.uint64(WORD_FEATURES - 1), np.uint64(CHAR_FEATURES - 1)
assert WORD_FEATURES & (WORD_FEATURES - 1) == 0 and CHAR_FEATURES & (CHAR_FEATURES - 1) == 0, \
    "feature counts must be powers of two: columns are hashes modulo them, taken with a bit mask"


_ASCII_SPACE = np.array([chr(c).isspace() for c in range(128)] + [False], dtype=bool)


def _code_mask(codes: np.ndarray, ascii_table: np.ndarray, test) -> np.ndarray:
    """``test(chr(c))`` for every code point ``c``: a table lookup for ASCII, and one call per
    distinct code point beyond it."""
    mask = ascii_table[np.minimum(codes, 128)]
    beyond = np.flatnonzero(codes >= 128)
    if len(beyond):
        others = np.unique(codes[beyond])
        found = np.array([test(chr(c)) for c in others.tolist()], dtype=bool)
        mask[beyond] = found[np.searchsorted(others, codes[beyond])]
    return mask


def _word_mask(codes: np.ndarray) -> np.ndarray:
    r"""True where a code point is a word character (``\w``: alphanumeric or underscore)."""
    return _code_mask(codes, _ASCII_WORD, str.isalnum)


def _space_mask(codes: np.ndarray) -> np.ndarray:
    """True where a code point is whitespace, as ``str.split`` sees it."""
    return _code_mask(codes, _ASCII_SPACE, str.isspace)


def _token_hashes(joined: str, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start offsets and crc32 (of the UTF-8 bytes) of every token of ``joined``, in text order.

    The same tokens as ``_TOKEN.findall`` and the same hashes as ``zlib.crc32``, computed for all
    tokens of a batch at once: CRC-32 runs one byte position at a time over every token still that
    long (tokens sorted longest first, so each step works on a prefix of the array).
    """
    word = _word_mask(codes)
    edges = np.flatnonzero(np.diff(np.concatenate([[False], word, [False]]).astype(np.int8)))
    starts, ends = edges[0::2], edges[1::2]
    keep = ends - starts >= 2
    starts, ends = starts[keep], ends[keep]
    lengths = ends - starts
    hashes = np.zeros(len(starts), dtype=np.uint64)
    # Tokens with a code point beyond ASCII are hashed by zlib (their UTF-8 has several bytes
    # per character), as are very long tokens.
    beyond = np.flatnonzero(codes >= 128)
    slow = (np.searchsorted(beyond, starts) < np.searchsorted(beyond, ends)) | (lengths > _VECTOR_CRC_MAX)
    for i in np.flatnonzero(slow).tolist():
        hashes[i] = zlib.crc32(joined[starts[i]:ends[i]].encode("utf-8", "surrogatepass"))
    fast = np.flatnonzero(~slow)
    order = fast[np.argsort((_VECTOR_CRC_MAX - lengths[fast]).astype(np.int16), kind="stable")]
    first, size = starts[order], lengths[order]
    crc = np.full(len(order), 0xFFFFFFFF, dtype=np.uint32)
    longest = int(size[0]) if len(size) else 0
    # For each byte position k, how many tokens are longer than k (a prefix of the sorted array).
    longer = np.searchsorted(-size, -np.arange(longest), side="left")
    for k, still in enumerate(longer.tolist()):
        byte = codes[first[:still] + k]
        crc[:still] = _CRC_TABLE[(crc[:still] ^ byte) & 0xFF] ^ (crc[:still] >> 8)
    hashes[order] = crc ^ np.uint32(0xFFFFFFFF)
    return starts, hashes


def hashed_ngrams(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Every hashed n-gram occurrence of each text: (row, column) arrays, duplicates included."""
    texts = [_clip(t) for t in texts]
    rows, cols = [], []

    # Word unigrams and bigrams: one crc32 per token, bigrams combined arithmetically. Texts are
    # joined by a newline, which no token contains, so no token spans two texts.
    joined = "\n".join(texts)
    codes = _codes(joined)
    starts, hashes = _token_hashes(joined, codes)
    text_starts = np.cumsum([0] + [len(t) + 1 for t in texts[:-1]])
    doc = (np.searchsorted(text_starts, starts, side="right") - 1).astype(np.int32)
    rows.append(doc)
    cols.append((hashes & _WORD_MASK).astype(np.int32))
    if len(hashes) > 1:
        same = doc[1:] == doc[:-1]
        pairs = (hashes[:-1][same] * _BIGRAM + hashes[1:][same]) >> np.uint64(7)
        rows.append(doc[1:][same])
        cols.append((pairs & _WORD_MASK).astype(np.int32))

    # Character n-grams inside words: all texts in one array, words padded by single spaces and
    # separated by two, so a window never spans two words or two texts.
    padded = [" " + "  ".join(t.split()) + " " if t.strip() else "" for t in texts]
    codes = _codes("  ".join(padded) + "  ").astype(np.uint64)
    doc_of = np.repeat(np.arange(len(texts), dtype=np.int32), [len(p) + 2 for p in padded])
    space = codes == 32
    inner_spaces = np.concatenate([[0], np.cumsum(space, dtype=np.int32)])
    h = np.zeros(len(codes), dtype=np.uint64)
    for n in range(1, CHAR_NGRAMS[1] + 1):
        count = len(codes) - n + 1
        if count <= 0:
            break
        # Rolling hash: the hash of each n-gram extends the (n-1)-gram starting at the same place.
        h = h[:count] * _PRIME + codes[n - 1:n - 1 + count]
        if n < CHAR_NGRAMS[0]:
            continue
        # A window is valid when its inner characters (all but first and last) are not spaces
        # and it is not padding alone.
        inner = inner_spaces[n - 1:n - 1 + count] - inner_spaces[1:1 + count]
        valid = np.flatnonzero((inner == 0) & ~(space[:count] & space[n - 1:n - 1 + count]))
        rows.append(doc_of[valid])
        cols.append(WORD_FEATURES + ((h[valid] + np.uint64(n)) & _CHAR_MASK).astype(np.int32))
    return np.concatenate(rows), np.concatenate(cols)


def hashed_counts(texts: list[str]):
    """Count hashed n-grams of each text: a (len(texts), N_FEATURES) scipy sparse matrix (for fitting)."""
    from scipy import sparse

    row, col = hashed_ngrams(texts)
    matrix = sparse.csr_matrix((np.ones(len(row), dtype=np.float32), (row, col)), shape=(len(texts), N_FEATURES))
    matrix.sum_duplicates()
    return matrix


def tfidf(counts, idf: np.ndarray):
    """Sublinear TF (1 + log tf) times IDF, rows scaled to unit length (sparse in, sparse out)."""
    from scipy import sparse

    weights = counts.astype(np.float64)
    weights.data = (1.0 + np.log(weights.data)) * idf[weights.indices]
    norms = np.sqrt(np.asarray(weights.multiply(weights).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sparse.diags(1.0 / norms) @ weights


def linear_scores(row: np.ndarray, col: np.ndarray, n_rows: int, table: np.ndarray) -> np.ndarray:
    """``tfidf(counts, idf) @ coef.T`` straight from n-gram occurrences, without a sparse matrix.

    ``table`` holds one row per column index: its IDF, then its coefficient for each class; a last
    row of zeros stands for padding. Counting repeated n-grams needs them side by side. One sort
    of the whole batch is slow (the array is far larger than the CPU caches); instead each text's
    columns are sorted on their own, as the rows of a 2-D array: texts of similar size share an
    array, padded with the index of the zero row.
    """
    sums = np.zeros((n_rows, table.shape[1]))   # per text: squared norm, then a score per class
    # Group occurrences by text (a stable sort of 16-bit integers is a radix sort in numpy).
    order = np.argsort(row.astype(np.int16) if n_rows < 2 ** 15 else row, kind="stable")
    col = col[order]
    sizes = np.bincount(row, minlength=n_rows)
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    by_size = np.argsort(sizes, kind="stable")
    sorted_sizes = sizes[by_size]
    padding = len(table) - 1
    bucket_start = 0
    while bucket_start < n_rows:
        # A bucket: texts whose sizes are within 25 % of each other, so padding stays small.
        bucket_end = int(np.searchsorted(sorted_sizes, max(sorted_sizes[bucket_start], 8) * 1.25, side="right"))
        members = by_size[bucket_start:bucket_end]
        width = int(sorted_sizes[bucket_end - 1])
        bucket_start = bucket_end
        if width == 0:
            continue
        grid = np.full((len(members), width), padding, dtype=np.int32)
        position = np.arange(width)
        fill = position < sizes[members][:, None]
        grid[fill] = col[(offsets[members][:, None] + position)[fill]]
        grid.sort(axis=1)
        new = np.ones_like(grid, dtype=bool)
        new[:, 1:] = grid[:, 1:] != grid[:, :-1]
        first = np.flatnonzero(new.ravel())       # first occurrence of each n-gram of each text
        counts = np.diff(np.append(first, grid.size))
        values = np.take(table, grid.ravel()[first], axis=0)   # float32: IDF, coefficients
        weight = (1.0 + np.log(counts)) * values[:, 0]         # sublinear TF times IDF (float64)
        products = values * weight[:, None]                     # float64: weight times coefficients
        products[:, 0] = weight * weight
        sums[members] = np.add.reduceat(products, np.searchsorted(first, np.arange(len(members)) * width), axis=0)
    norm = np.sqrt(sums[:, 0])
    norm[norm == 0] = 1.0
    return sums[:, 1:] / norm[:, None]


@lru_cache(maxsize=1)
def compiled_kernel():
    """The numba-compiled scorer (``text_kernel.score_texts``), or None where numba is missing.

    Imported on first use, not with this module: importing numba takes about 0.4 s, which a
    single `cyberroute score` would notice. `batch` calls this before its workers fork.
    """
    try:
        from .text_kernel import score_texts
    except ImportError:
        return None
    except Exception as exc:   # numba installed but unable to compile or cache here: stay correct
        warnings.warn(f"cyberroute: the compiled text scorer is unavailable ({exc}); using the numpy scorer")
        return None
    return score_texts


def kernel_scores(kernel, texts: list[str], table: np.ndarray) -> np.ndarray:
    """What ``linear_scores(*hashed_ngrams(texts), len(texts), table)`` returns, by ``kernel``."""
    texts = [_clip(t) for t in texts]
    codes = _codes("".join(texts))
    bounds = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum([len(t) for t in texts], out=bounds[1:])
    scores = np.empty((len(texts), table.shape[1] - 1))
    kernel(codes, bounds, _word_mask(codes), _space_mask(codes), table, scores)
    return scores


def row_per_class(fitted) -> tuple[np.ndarray, np.ndarray]:
    """A fitted scikit-learn LogisticRegression's weights with one row per class.

    For two classes scikit-learn keeps one row (the log-odds of the second); halved and mirrored,
    two rows give the same probabilities through a softmax, which is how they are read here.
    """
    coef, intercept = fitted.coef_, fitted.intercept_
    if len(fitted.classes_) == 2:
        coef, intercept = np.vstack([-coef / 2, coef / 2]), np.concatenate([-intercept / 2, intercept / 2])
    return coef, intercept


class NaiveBayesLogisticRegression(Estimator):
    """One-vs-rest logistic regressions on naive-Bayes-weighted features ("NBSVM", Wang and
    Manning 2012, "Baselines and bigrams", with a logistic loss).

    For each class, every feature is scaled by its log-count ratio: how much more often it occurs
    (present or not, smoothed by ``alpha``) in the texts of that class than in the others. A
    binary logistic regression on the scaled features then learns the class against the rest. An
    n-gram that marks one route starts with a large weight and one that occurs everywhere with
    almost none, which a plain regression on a few thousand texts learns less well. The scaling is
    folded into the weights (``coef_ = w * r``), so a fitted model is linear in the unscaled
    features, as a plain logistic regression is, and is scored the same way.

    Adopted in session 17 over a multinomial logistic regression with the same C: grouped-CV
    macro-F1 of the combined classifier 0.894 -> 0.901 (text model alone 0.851 -> 0.856, its
    calibration error 0.081 -> 0.009), and higher accuracy on six of the seven external files
    (docs/error-analysis.md, item 31).

    Parameters
    ----------
    C : float
        Inverse regularisation strength of each class's logistic regression.
    alpha : float
        Smoothing count added to every feature's count in the log-count ratios.

    Attributes
    ----------
    classes_ : the classes, in the order of the rows of ``coef_``.
    coef_ : (n_classes, n_features) weights on the unscaled features.
    intercept_ : (n_classes,) intercepts.
    """

    def __init__(self, C: float = 8.0, alpha: float = 1.0):
        self.C = C
        self.alpha = alpha

    def fit(self, features, labels) -> "NaiveBayesLogisticRegression":
        """Fit on a sparse (n_texts, n_features) matrix of non-negative features and one label per text."""
        from sklearn.linear_model import LogisticRegression

        labels = np.asarray(labels)
        self.classes_ = np.unique(labels)
        present = features.copy().tocsr()
        present.data[:] = 1.0
        coef, intercept = [], []
        for label in self.classes_:
            ratio = self.log_count_ratio(present, labels == label)
            scaled = features.multiply(ratio).tocsr()
            fitted = LogisticRegression(C=self.C, max_iter=3000).fit(scaled, labels == label)
            coef.append(fitted.coef_[0] * ratio)
            intercept.append(fitted.intercept_[0])
        self.coef_, self.intercept_ = np.vstack(coef), np.array(intercept)
        return self

    def log_count_ratio(self, present, in_class: np.ndarray) -> np.ndarray:
        """Per feature: log of its smoothed share of occurrences in the class over that outside it."""
        inside = self.alpha + np.asarray(present[in_class].sum(axis=0)).ravel()
        outside = self.alpha + np.asarray(present[~in_class].sum(axis=0)).ravel()
        return np.log(inside / inside.sum()) - np.log(outside / outside.sum())

    def decision_function(self, features) -> np.ndarray:
        """Each class's score against the rest, one column per class."""
        self._check_fitted()
        return np.asarray(features @ self.coef_.T) + self.intercept_

    def predict_proba(self, features) -> np.ndarray:
        """Class probabilities: a softmax over the one-vs-rest scores."""
        return softmax(self.decision_function(features))

    def predict(self, features) -> np.ndarray:
        self._check_fitted()
        return self.classes_[self.decision_function(features).argmax(axis=1)]


def softmax(scores: np.ndarray) -> np.ndarray:
    scores = scores - scores.max(axis=1, keepdims=True)
    exp = np.exp(scores)
    return exp / exp.sum(axis=1, keepdims=True)


class TextModel(Estimator):
    """Route probabilities from text alone, and optionally criterion probabilities beside them.

    Parameters
    ----------
    C : float
        Inverse regularisation strength of the logistic regressions.

    Attributes
    ----------
    classes_ : the routes, in the order of ``predict_proba``'s columns.
    heads_ : the names of the criterion heads (see ``fit``), in the order of ``predict_heads``'s
        columns; empty when the model was fitted on routes alone.
    """

    def __init__(self, C: float = 8.0):
        self.C = C

    def fit(self, texts, routes, criteria: dict | None = None) -> "TextModel":
        """Fit IDF weights, the routes' regressions (``NaiveBayesLogisticRegression``) and the
        criterion heads (scikit-learn, imported here only).

        ``criteria`` maps a head name to one boolean per text (for example whether the corpus
        labels a State actor or link). Each gets its own binary logistic regression on the same
        features: a criterion head. The combiner reads them beside the route probabilities,
        which tells it *why* the text model leans to a route, where the rules found nothing.
        They share the featurization, so scoring them costs one more column of the table each.

        Of the 2**19 hashed columns only a few tens of thousands occur in a corpus; the regression
        is fitted on those alone, which is several times faster and gives the same solution (a
        column that is always zero gets a zero weight under L2 regularisation anyway).
        """
        from sklearn.linear_model import LogisticRegression

        counts = hashed_counts(list(texts))
        df = np.bincount(counts.indices, minlength=N_FEATURES)
        self.idf_ = np.log((1.0 + counts.shape[0]) / (1.0 + df)) + 1.0   # smooth IDF, as scikit-learn
        features = tfidf(counts, self.idf_)
        used = np.unique(features.indices)
        features = features[:, used]
        clf = NaiveBayesLogisticRegression(C=self.C).fit(features, routes)
        rows, intercepts = [clf.coef_], [clf.intercept_]
        self.heads_ = tuple(criteria or ())
        for name in self.heads_:
            target = np.asarray(criteria[name], dtype=bool)
            if target.all() or not target.any():
                # Nothing to learn (a small training fold can hold no "yes"): no weights, and the
                # smoothed base rate as the intercept, so the head stays near 0 or 1.
                rows.append(np.zeros((1, len(used))))
                intercepts.append(np.array([np.log((target.sum() + 0.5) / ((~target).sum() + 0.5))]))
                continue
            head = LogisticRegression(C=self.C, max_iter=3000).fit(features, target)
            rows.append(head.coef_)
            intercepts.append(head.intercept_)
        self.classes_ = clf.classes_
        # One row per route, then one per criterion head (a binary logistic regression's weights).
        self.coef_ = np.zeros((sum(len(r) for r in rows), N_FEATURES))
        self.coef_[:, used] = np.vstack(rows)
        self.intercept_ = np.concatenate(intercepts)
        self._table = self._scoring_table()   # IDF and coefficients by column, for linear_scores
        return self

    def predict_proba(self, texts) -> np.ndarray:
        """Route probabilities, one row per text and one column per route (``classes_``)."""
        return self.predict_all(texts)[0]

    def predict_heads(self, texts) -> np.ndarray:
        """The probability that each criterion head's criterion holds, one column per head (``heads_``)."""
        return self.predict_all(texts)[1]

    def predict_all(self, texts) -> tuple[np.ndarray, np.ndarray]:
        """Route probabilities and criterion-head probabilities from one pass over the texts."""
        scores = self._scores(list(texts)) + self.intercept_
        routes = len(self.classes_)
        return softmax(scores[:, :routes]), 1.0 / (1.0 + np.exp(-scores[:, routes:]))

    def _scores(self, texts: list[str]) -> np.ndarray:
        self._check_fitted()
        if getattr(self, "_table", None) is None:
            self._table = self._scoring_table()
        kernel = compiled_kernel() if len(texts) >= KERNEL_MIN_TEXTS else None
        if kernel is not None:
            return kernel_scores(kernel, texts, self._table)
        scores = np.zeros((len(texts), len(self.coef_)))
        # A slice at a time: the temporaries of a few hundred texts outgrow the CPU caches and the
        # allocator's reuse, and the time per text grows by a third.
        for start in range(0, len(texts), PREDICT_SLICE):
            part = texts[start:start + PREDICT_SLICE]
            scores[start:start + len(part)] = linear_scores(*hashed_ngrams(part), len(part), self._table)
        return scores

    def _scoring_table(self) -> np.ndarray:
        """IDF and coefficients per column, as ``linear_scores`` reads them; float32, the
        precision the weights are stored in (see to_arrays)."""
        table = np.zeros((N_FEATURES + 1, 1 + len(self.coef_)), dtype=np.float32)
        table[:-1, 0], table[:-1, 1:] = self.idf_, self.coef_.T
        return table

    def predict(self, texts) -> np.ndarray:
        self._check_fitted()
        return self.classes_[self.predict_proba(texts).argmax(axis=1)]

    # -- persistence as plain arrays -----------------------------------------------------------

    def to_arrays(self) -> dict[str, np.ndarray]:
        from scipy import sparse

        coef = sparse.csr_matrix(self.coef_.astype(np.float32))
        return {
            "text_idf": self.idf_.astype(np.float32),
            "text_coef_data": coef.data, "text_coef_indices": coef.indices.astype(np.int32),
            "text_coef_indptr": coef.indptr.astype(np.int32),
            "text_intercept": self.intercept_.astype(np.float64),
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], classes: list[str], C: float,
                    heads: tuple[str, ...] = ()) -> "TextModel":
        model = cls(C=C)
        rows = len(classes) + len(heads)
        idf = np.asarray(arrays["text_idf"], dtype=np.float64)
        if idf.shape != (N_FEATURES,):
            raise ValueError(f"text_idf has shape {idf.shape}, expected ({N_FEATURES},)")
        model.idf_ = idf
        # The coefficients are stored as a compressed sparse row matrix; rebuilt with numpy alone,
        # so loading a model for scoring does not import scipy.
        data, indices, indptr = (np.asarray(arrays[f"text_coef_{k}"]) for k in ("data", "indices", "indptr"))
        if (indptr.shape != (rows + 1,) or indptr[0] != 0 or np.any(np.diff(indptr) < 0)
                or indptr[-1] != len(data) or indices.shape != data.shape
                or (len(indices) and (indices.min() < 0 or indices.max() >= N_FEATURES))):
            raise ValueError(f"text_coef_data/indices/indptr do not describe a {rows} x {N_FEATURES} "
                             "sparse matrix")
        model.coef_ = np.zeros((rows, N_FEATURES))
        model.coef_[np.repeat(np.arange(rows), np.diff(indptr)), indices] = data
        model.intercept_ = np.asarray(arrays["text_intercept"], dtype=np.float64)
        if model.intercept_.shape != (rows,):
            raise ValueError(f"text_intercept has shape {model.intercept_.shape}, expected ({rows},)")
        model.classes_ = np.asarray(classes)
        model.heads_ = tuple(heads)
        model._table = model._scoring_table()   # built before batch workers fork, so they share it
        return model
