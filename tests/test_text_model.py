"""The vectorised featurizer and scorer must compute exactly what their plain definitions say."""

import zlib

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from classifier import text_model as tm
from classifier.combiner import Combiner

TRICKY = [
    "Ransomware hit the council's payroll; LockBit claimed it.",
    "",
    "a",
    "İstanbul café naïve — ﬁle x_y __ 12 3",
    "broken bytes \udcff\udcfe ab",               # lone surrogates, as surrogateescape leaves them
    "Ünïcödé wörds ünd ÀÉÎ ²³ ½ ٣٤ 漢字テスト",
    "🙂🙂 emoji ab",
    "averyveryveryverylongtokenthatexceedsthevectorlimit and short",
    "x" * 25,
    "tabs\tand\nnewlines  and   spaces",
    "other\u00a0white\u2028space\x1cseparators\u3000ab",   # str.split() splits on all of these
    "   ",
    "z" * (tm.MAX_MODEL_CHARS + 50) + " tail words past the clip",
]


def test_token_hashes_match_regex_tokens_and_zlib_crc32():
    joined = "\n".join(t.lower() for t in TRICKY)
    starts, hashes = tm._token_hashes(joined, tm._codes(joined))
    expected = [(m.start(), zlib.crc32(m.group().encode("utf-8", "surrogatepass"))) for m in tm._TOKEN.finditer(joined)]
    assert list(zip(starts.tolist(), hashes.tolist())) == expected


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60), min_size=1, max_size=6))
def test_token_hashes_on_any_text(texts):
    joined = "\n".join(t.lower() for t in texts)
    starts, hashes = tm._token_hashes(joined, tm._codes(joined))
    expected = [(m.start(), zlib.crc32(m.group().encode("utf-8", "surrogatepass"))) for m in tm._TOKEN.finditer(joined)]
    assert list(zip(starts.tolist(), hashes.tolist())) == expected


def _sparse_reference(texts, idf, coef):
    """The textbook route: count matrix, sublinear TF-IDF with L2 rows, matrix product."""
    return np.asarray(tm.tfidf(tm.hashed_counts(texts), idf) @ coef.T)


def _random_table(n_classes=3, seed=0):
    rng = np.random.default_rng(seed)
    idf = rng.uniform(1, 8, tm.N_FEATURES).astype(np.float32).astype(np.float64)
    coef = rng.normal(size=(n_classes, tm.N_FEATURES)).astype(np.float32).astype(np.float64)
    table = np.zeros((tm.N_FEATURES + 1, n_classes + 1), dtype=np.float32)
    table[:-1, 0], table[:-1, 1:] = idf, coef.T
    return idf, coef, table


@pytest.mark.parametrize("texts", [TRICKY, TRICKY[:1], ["", ""], ["the the the the cat"] * 3])
def test_linear_scores_equal_sparse_tfidf_product(texts):
    idf, coef, table = _random_table()
    got = tm.linear_scores(*tm.hashed_ngrams(texts), len(texts), table)
    np.testing.assert_allclose(got, _sparse_reference(texts, idf, coef), rtol=1e-9, atol=1e-12)


def test_predict_proba_is_the_same_in_slices_and_whole():
    texts = [f"ransomware gang {i} extorted hospital number {i}" for i in range(300)] + ["GRU unit sabotaged a grid"]
    routes = ["cybercrime"] * 150 + ["intersection"] * 150 + ["international-security"]
    model = tm.TextModel().fit(texts * 2, routes * 2)
    whole = model.predict_proba(texts)
    one_by_one = np.vstack([model.predict_proba([t]) for t in texts[:5]])
    np.testing.assert_allclose(whole[:5], one_by_one, rtol=1e-12)
    reference = tm.softmax(_sparse_reference(texts, model.idf_, model.coef_) + model.intercept_)
    np.testing.assert_allclose(whole, reference, rtol=1e-5, atol=1e-7)  # table holds float32 weights


def _kernel():
    kernel = tm.compiled_kernel()
    assert kernel is not None, "numba is a dependency: the compiled scorer must be available"
    return kernel


@pytest.mark.parametrize("texts", [TRICKY, TRICKY[:1], ["", ""], ["the the the the cat"] * 3])
def test_compiled_scorer_equals_sparse_tfidf_product(texts):
    idf, coef, table = _random_table()
    got = tm.kernel_scores(_kernel(), texts, table)
    np.testing.assert_allclose(got, _sparse_reference(texts, idf, coef), rtol=1e-9, atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(max_size=80), min_size=1, max_size=8))
def test_compiled_scorer_equals_numpy_scorer_on_any_text(texts):
    _, _, table = _random_table(seed=1)
    expected = tm.linear_scores(*tm.hashed_ngrams(texts), len(texts), table)
    np.testing.assert_allclose(tm.kernel_scores(_kernel(), texts, table), expected, rtol=1e-9, atol=1e-12)


def test_predict_proba_uses_the_compiled_scorer_for_many_texts(monkeypatch):
    texts = [f"phishing kit {i} sold to carders, ransomware on clinic {i}" for i in range(tm.KERNEL_MIN_TEXTS)]
    model = tm.TextModel().fit(texts + ["GRU sabotage of the grid"] * 4, ["cybercrime"] * len(texts) + ["international-security"] * 4)
    calls = []
    kernel = _kernel()
    monkeypatch.setattr(tm, "compiled_kernel", lambda: lambda *args: calls.append(1) or kernel(*args))
    many = model.predict_proba(texts)
    assert calls == [1]
    few = model.predict_proba(texts[:3])            # below the threshold: the numpy path
    assert calls == [1]
    np.testing.assert_allclose(many[:3], few, rtol=1e-12)


@pytest.mark.parametrize("code", [0x41, 0x7F, 0x80, 0x6FF, 0x7FF, 0x800, 0xD800, 0xDFFF, 0xFFFF, 0x10000, 0x10FFFF])
def test_compiled_crc32_of_utf8_at_every_encoding_length(code):
    from classifier.text_kernel import _crc32_utf8

    token = "a" + chr(code) + "z"
    codes = tm._codes(token)
    assert _crc32_utf8(codes, 0, len(codes), tm._CRC_TABLE) == zlib.crc32(token.encode("utf-8", "surrogatepass"))


def _two_route_texts():
    crime = [f"a carding shop number {i} sold stolen cards to fraudsters" for i in range(12)]
    state = [f"military intelligence unit {i} spied on a foreign ministry" for i in range(12)]
    return crime + state, ["cybercrime"] * 12 + ["international-security"] * 12


def test_two_route_model_gives_real_probabilities():
    """scikit-learn keeps one weight row for two classes; the model must still give both routes
    their probability (it once gave every text probability 1 for a single column)."""
    texts, routes = _two_route_texts()
    model = tm.TextModel().fit(texts, routes)
    proba = model.predict_proba(texts)
    assert proba.shape == (24, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert list(model.predict(texts)) == routes
    assert 0.5 < proba[0, 0] < 1.0 and 0.5 < proba[-1, 1] < 1.0


def test_criterion_heads_learn_their_criterion_from_the_same_features():
    texts, routes = _two_route_texts()
    texts = texts + [f"ransomware crew {i} extorted a clinic for bitcoin" for i in range(12)]
    routes = routes + ["cybercrime"] * 12
    financial = np.array([True] * 12 + [False] * 12 + [True] * 12)
    state = np.array([False] * 12 + [True] * 12 + [False] * 12)
    model = tm.TextModel().fit(texts, routes, {"financial_motive": financial, "state_involvement": state})
    assert model.heads_ == ("financial_motive", "state_involvement")
    routes_proba, heads = model.predict_all(texts)
    np.testing.assert_allclose(routes_proba, model.predict_proba(texts))
    np.testing.assert_allclose(heads, model.predict_heads(texts))
    assert heads.shape == (36, 2)
    assert ((heads[:, 0] > 0.5) == financial).all() and ((heads[:, 1] > 0.5) == state).all()


def test_criterion_heads_are_the_same_on_the_compiled_and_numpy_paths():
    texts = [f"ransomware on clinic {i}, extortion in bitcoin" for i in range(tm.KERNEL_MIN_TEXTS)]
    labels = np.arange(len(texts)) % 2 == 0
    texts = [t + (" by a State unit" if flag else "") for t, flag in zip(texts, labels)]
    model = tm.TextModel().fit(texts, ["intersection" if f else "cybercrime" for f in labels],
                               {"state_involvement": labels})
    _kernel()
    many = model.predict_heads(texts)           # the compiled scorer
    few = model.predict_heads(texts[:3])        # below the threshold: the numpy path
    np.testing.assert_allclose(many[:3], few, rtol=1e-9)


def test_a_criterion_head_with_one_value_keeps_its_base_rate():
    """A training fold can hold no "yes" for a rare criterion: the head then has no weights and
    says "no" with the smoothed base rate, instead of failing the whole training."""
    texts, routes = _two_route_texts()
    model = tm.TextModel().fit(texts, routes, {"cascading_effects": np.zeros(len(texts), dtype=bool)})
    heads = model.predict_heads(texts + ["a completely different text about power cuts spreading"])
    np.testing.assert_allclose(heads, 0.5 / (len(texts) + 1.0))   # (0 + 0.5) / (n + 1)


def test_naive_bayes_weights_are_folded_into_linear_coefficients():
    """The scores of the fitted estimator are linear in the unscaled features: what the scoring
    table stores (coef_) gives the same scores as a regression on the ratio-scaled features."""
    from scipy import sparse
    from sklearn.linear_model import LogisticRegression

    texts, routes = _two_route_texts()
    texts += [f"ransomware crew {i} extorted a clinic for bitcoin" for i in range(12)]
    routes += ["intersection"] * 12
    counts = tm.hashed_counts(texts)
    features = tm.tfidf(counts, np.ones(tm.N_FEATURES))
    features = features[:, np.unique(features.indices)]
    model = tm.NaiveBayesLogisticRegression(C=4.0).fit(features, routes)
    assert list(model.classes_) == sorted(set(routes))
    present = features.copy()
    present.data[:] = 1.0
    for k, label in enumerate(model.classes_):
        ratio = model.log_count_ratio(present, np.asarray(routes) == label)
        scaled = sparse.csr_matrix(features.multiply(ratio))
        direct = LogisticRegression(C=4.0, max_iter=3000).fit(scaled, np.asarray(routes) == label)
        np.testing.assert_allclose(model.decision_function(features)[:, k], direct.decision_function(scaled),
                                   rtol=1e-6, atol=1e-8)
    assert list(model.predict(features)) == routes
    np.testing.assert_allclose(model.predict_proba(features).sum(axis=1), 1.0)


def test_log_count_ratio_favours_the_words_of_a_class():
    """An n-gram found only in one class's texts gets a positive ratio for it and a negative one
    for the others; one found equally everywhere gets about zero."""
    from scipy import sparse

    present = sparse.csr_matrix(np.array([[1, 1, 0], [1, 1, 0], [1, 0, 1], [1, 0, 1]], dtype=float))
    ratio = tm.NaiveBayesLogisticRegression(alpha=1.0).log_count_ratio(present, np.array([True, True, False, False]))
    assert ratio[1] > 0 > ratio[2]
    assert abs(ratio[0]) < 1e-12


@pytest.mark.parametrize("estimator", [tm.TextModel(C=3.0), tm.NaiveBayesLogisticRegression(alpha=0.5), Combiner(C=30.0)],
                         ids=["TextModel", "NaiveBayesLogisticRegression", "Combiner"])
def test_estimators_follow_scikit_learns_conventions(estimator):
    """Parameters from __init__ (so clone and grid searches work), fitted attributes from fit alone."""
    from sklearn.base import clone

    from classifier.estimator import NotFittedError

    copy = clone(estimator.set_params(C=2.0))
    assert copy is not estimator and copy.get_params() == estimator.get_params() and copy.C == 2.0
    with pytest.raises(ValueError, match="has no parameter gamma"):
        estimator.set_params(gamma=1)
    unfitted = clone(estimator)
    assert not hasattr(unfitted, "coef_") and not hasattr(unfitted, "classes_")
    with pytest.raises(NotFittedError, match="is not fitted yet: call fit"):
        unfitted.predict_proba(["A gang stole card numbers."] if isinstance(unfitted, tm.TextModel) else np.zeros((1, 3)))
