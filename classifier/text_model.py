"""The text model: calibrated route probabilities from the words of a description.

Features are hashed word 1-2-grams and character 3-5-grams taken within words (like
scikit-learn's ``char_wb``), weighted by sublinear TF-IDF and L2-normalised; a multinomial
logistic regression turns them into route probabilities.

The featurizer is vectorised over a whole batch with numpy (character n-grams are rolling
polynomial hashes over the code points of all texts at once), and prediction is a sparse matrix
product and a softmax. So classifying needs numpy and scipy only: scikit-learn is imported for
fitting alone, which keeps `cyberroute score` quick to start. The model is a few arrays (IDF
weights, coefficients, intercepts), saved without pickle (see model_store.py).
"""

from __future__ import annotations

import re
import zlib

import numpy as np
from scipy import sparse

WORD_FEATURES = 2 ** 18
CHAR_FEATURES = 2 ** 18
N_FEATURES = WORD_FEATURES + CHAR_FEATURES
WORD_NGRAMS = (1, 2)
CHAR_NGRAMS = (3, 5)
# The text model reads at most this many characters of a description (the rule layer reads all):
# past a few pages the route is settled, and n-grams of a 5 MB paste would cost memory for nothing.
MAX_MODEL_CHARS = 20_000
# Names the feature hashing: a model trained with another featurizer cannot be read by this one.
FEATURIZER = "crc32 word 1-2-grams + polynomial char_wb 3-5-grams, v1"

_TOKEN = re.compile(r"(?u)\b\w\w+\b")
_PRIME = np.uint64(1_000_003)
_BIGRAM = np.uint64(0x9E3779B97F4A7C15)


def _clip(text: str) -> str:
    return text[:MAX_MODEL_CHARS].lower()


def _codes(text: str) -> np.ndarray:
    """Unicode code points of a text (lone surrogates from undecodable bytes included)."""
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def hashed_counts(texts: list[str]) -> sparse.csr_matrix:
    """Count hashed n-grams of each text: a (len(texts), N_FEATURES) sparse matrix."""
    texts = [_clip(t) for t in texts]
    rows, cols = [], []

    # Word unigrams and bigrams: one crc32 per token, bigrams combined arithmetically.
    tokens = [_TOKEN.findall(t) for t in texts]
    lengths = np.fromiter((len(t) for t in tokens), dtype=np.int64, count=len(tokens))
    hashes = np.fromiter((zlib.crc32(w.encode("utf-8", "surrogatepass")) for ts in tokens for w in ts),
                         dtype=np.uint64, count=int(lengths.sum()))
    doc = np.repeat(np.arange(len(texts), dtype=np.int32), lengths)
    rows.append(doc)
    cols.append((hashes % np.uint64(WORD_FEATURES)).astype(np.int32))
    if len(hashes) > 1:
        same = doc[1:] == doc[:-1]
        pairs = (hashes[:-1][same] * _BIGRAM + hashes[1:][same]) >> np.uint64(7)
        rows.append(doc[1:][same])
        cols.append((pairs % np.uint64(WORD_FEATURES)).astype(np.int32))

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
        cols.append(WORD_FEATURES + ((h[valid] + np.uint64(n)) % np.uint64(CHAR_FEATURES)).astype(np.int32))

    row, col = np.concatenate(rows), np.concatenate(cols)
    matrix = sparse.csr_matrix((np.ones(len(row), dtype=np.float32), (row, col)), shape=(len(texts), N_FEATURES))
    matrix.sum_duplicates()
    return matrix


def tfidf(counts: sparse.csr_matrix, idf: np.ndarray) -> sparse.csr_matrix:
    """Sublinear TF (1 + log tf) times IDF, rows scaled to unit length."""
    weights = counts.astype(np.float64)
    weights.data = (1.0 + np.log(weights.data)) * idf[weights.indices]
    norms = np.sqrt(np.asarray(weights.multiply(weights).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sparse.diags(1.0 / norms) @ weights


def softmax(scores: np.ndarray) -> np.ndarray:
    scores = scores - scores.max(axis=1, keepdims=True)
    exp = np.exp(scores)
    return exp / exp.sum(axis=1, keepdims=True)


class TextModel:
    """Route probabilities from text alone.

    Parameters
    ----------
    C : float
        Inverse regularisation strength of the logistic regression.
    """

    def __init__(self, C: float = 8.0):
        self.C = C
        self.classes_ = np.array([])
        self.idf_ = np.ones(N_FEATURES)
        self.coef_ = np.zeros((0, N_FEATURES))
        self.intercept_ = np.zeros(0)

    def fit(self, texts, routes) -> "TextModel":
        """Fit IDF weights and the logistic regression (scikit-learn, imported here only).

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
        clf = LogisticRegression(C=self.C, max_iter=3000).fit(features[:, used], np.asarray(routes))
        self.classes_ = clf.classes_
        self.coef_ = np.zeros((len(clf.classes_), N_FEATURES))
        self.coef_[:, used] = clf.coef_
        self.intercept_ = clf.intercept_
        return self

    def predict_proba(self, texts) -> np.ndarray:
        features = tfidf(hashed_counts(list(texts)), self.idf_)
        return softmax(np.asarray(features @ self.coef_.T) + self.intercept_)

    def predict(self, texts) -> np.ndarray:
        return self.classes_[self.predict_proba(texts).argmax(axis=1)]

    # -- persistence as plain arrays -----------------------------------------------------------

    def to_arrays(self) -> dict[str, np.ndarray]:
        coef = sparse.csr_matrix(self.coef_.astype(np.float32))
        return {
            "text_idf": self.idf_.astype(np.float32),
            "text_coef_data": coef.data, "text_coef_indices": coef.indices.astype(np.int32),
            "text_coef_indptr": coef.indptr.astype(np.int32),
            "text_intercept": self.intercept_.astype(np.float64),
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], classes: list[str], C: float) -> "TextModel":
        model = cls(C=C)
        idf = np.asarray(arrays["text_idf"], dtype=np.float64)
        if idf.shape != (N_FEATURES,):
            raise ValueError(f"text_idf has shape {idf.shape}, expected ({N_FEATURES},)")
        model.idf_ = idf
        model.coef_ = sparse.csr_matrix(
            (arrays["text_coef_data"], arrays["text_coef_indices"], arrays["text_coef_indptr"]),
            shape=(len(classes), N_FEATURES)).toarray().astype(np.float64)
        model.intercept_ = np.asarray(arrays["text_intercept"], dtype=np.float64)
        if model.intercept_.shape != (len(classes),):
            raise ValueError(f"text_intercept has shape {model.intercept_.shape}, expected ({len(classes)},)")
        model.classes_ = np.asarray(classes)
        return model
