"""The text model: calibrated route probabilities from the words of a description.

TF-IDF over hashed word 1-2-grams and character 3-5-grams, then a multinomial logistic
regression. Hashing (rather than a learned vocabulary) keeps the model stateless apart from a
few arrays, so it saves as plain numbers (see model_store.py) and loads without pickle.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline

WORD_FEATURES = 2 ** 18
CHAR_FEATURES = 2 ** 18
# The text model reads at most this many characters of a description (the rule layer reads all).
# Past a few pages the route is settled, and character n-grams of a 5 MB paste would need
# gigabytes of memory.
MAX_MODEL_CHARS = 20_000


def _clip(texts) -> list[str]:
    """Cut to MAX_MODEL_CHARS; lone surrogates (undecodable input bytes) become U+FFFD, since the
    hashing vectorizer encodes text as UTF-8."""
    return [t[:MAX_MODEL_CHARS] if t.isascii() else
            t[:MAX_MODEL_CHARS].encode("utf-8", "replace").decode("utf-8") for t in texts]


def _hashing(analyzer: str, ngram_range: tuple[int, int], n_features: int) -> HashingVectorizer:
    return HashingVectorizer(analyzer=analyzer, ngram_range=ngram_range, n_features=n_features,
                             alternate_sign=False, norm=None, lowercase=True, dtype=np.float32)


class TextModel:
    """Route probabilities from text alone.

    Parameters
    ----------
    C : float
        Inverse regularisation strength of the logistic regression.
    """

    def __init__(self, C: float = 8.0):
        self.C = C
        self.pipeline = Pipeline([
            ("features", FeatureUnion([
                ("words", _hashing("word", (1, 2), WORD_FEATURES)),
                ("chars", _hashing("char_wb", (3, 5), CHAR_FEATURES)),
            ])),
            ("tfidf", TfidfTransformer(sublinear_tf=True)),
            ("clf", LogisticRegression(C=C, max_iter=3000)),
        ])

    @property
    def classes_(self) -> np.ndarray:
        return self.pipeline.named_steps["clf"].classes_

    def fit(self, texts, routes) -> "TextModel":
        """Fit the pipeline's steps; the regression only sees hashed columns that occur.

        Of the 2**19 hashed columns only a few tens of thousands occur in a corpus; fitting on
        those alone is several times faster and gives the same solution, because a column that
        is always zero gets a zero weight under L2 regularisation anyway.
        """
        features = self.pipeline[:-1].fit_transform(_clip(texts))
        used = np.unique(features.indices)
        clf = self.pipeline.named_steps["clf"]
        clf.fit(features[:, used], np.asarray(routes))
        coef = np.zeros((clf.coef_.shape[0], features.shape[1]))
        coef[:, used] = clf.coef_
        clf.coef_, clf.n_features_in_ = coef, features.shape[1]
        return self

    def predict_proba(self, texts) -> np.ndarray:
        return self.pipeline.predict_proba(_clip(texts))

    def predict(self, texts) -> np.ndarray:
        return self.classes_[self.predict_proba(texts).argmax(axis=1)]

    # -- persistence as plain arrays -----------------------------------------------------------

    def to_arrays(self) -> dict[str, np.ndarray]:
        clf = self.pipeline.named_steps["clf"]
        coef = sparse.csr_matrix(clf.coef_.astype(np.float32))
        return {
            "text_idf": self.pipeline.named_steps["tfidf"].idf_.astype(np.float32),
            "text_coef_data": coef.data, "text_coef_indices": coef.indices.astype(np.int32),
            "text_coef_indptr": coef.indptr.astype(np.int32),
            "text_intercept": clf.intercept_.astype(np.float64),
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], classes: list[str], C: float) -> "TextModel":
        model = cls(C=C)
        n_features = WORD_FEATURES + CHAR_FEATURES
        idf = np.asarray(arrays["text_idf"], dtype=np.float64)
        if idf.shape != (n_features,):
            raise ValueError(f"text_idf has shape {idf.shape}, expected ({n_features},)")
        tfidf = model.pipeline.named_steps["tfidf"]
        tfidf.idf_ = idf
        tfidf.n_features_in_ = n_features
        coef = sparse.csr_matrix((arrays["text_coef_data"], arrays["text_coef_indices"], arrays["text_coef_indptr"]),
                                 shape=(len(classes), n_features)).toarray().astype(np.float64)
        clf = model.pipeline.named_steps["clf"]
        clf.coef_ = coef
        clf.intercept_ = np.asarray(arrays["text_intercept"], dtype=np.float64)
        clf.classes_ = np.asarray(classes)
        clf.n_features_in_ = n_features
        return model
