"""The shipped model loads without pickle, and anything else is refused with a clear message."""

from __future__ import annotations

import json
import pickle
import shutil
import zipfile

import numpy as np
import pytest

from classifier.model_store import ModelFileError, default_model_dir, load_model, sha256_file


@pytest.fixture
def model_copy(tmp_path):
    copy = tmp_path / "model"
    shutil.copytree(default_model_dir(), copy, ignore=shutil.ignore_patterns("__*"))
    return copy


def test_shipped_model_loads_with_manifest():
    model = load_model()
    manifest = model.manifest
    assert manifest["format"] == "cyberroute-model"
    assert sorted(model.classes) == ["cybercrime", "international-security", "intersection"]
    assert len(manifest["training_data"]["sha256"]) == 64
    assert "scikit-learn" in manifest["libraries"]
    assert 0.0 < manifest["cross_validation"]["combined"]["macro_f1"] <= 1.0


def test_tampered_weights_refused(model_copy):
    weights = model_copy / "weights.npz"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="sha256 does not match"):
        load_model(model_copy)


def test_truncated_weights_refused(model_copy):
    weights = model_copy / "weights.npz"
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(ModelFileError):
        load_model(model_copy)


def test_wrong_version_refused(model_copy):
    manifest = json.loads((model_copy / "manifest.json").read_text())
    manifest["format_version"] = 99
    (model_copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelFileError, match="format version 99"):
        load_model(model_copy)


@pytest.mark.parametrize("part, key, match", [
    ("text_model", "featurizer", "trained with the text featurizer 'crc32 v0'.*retrain it"),
    ("combiner", "rule_features", "other rule features.*retrain it"),
])
def test_model_of_another_featurizer_refused(model_copy, part, key, match):
    # A model fitted on other features would load and score without error, but wrongly.
    manifest = json.loads((model_copy / "manifest.json").read_text())
    manifest[part][key] = "crc32 v0" if key == "featurizer" else ["rule.old"]
    (model_copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelFileError, match=match):
        load_model(model_copy)


def test_foreign_manifest_refused(model_copy):
    (model_copy / "manifest.json").write_text('{"format": "skops"}')
    with pytest.raises(ModelFileError, match="not a cyberroute-model manifest"):
        load_model(model_copy)


class _Exploit:
    """Unpickling this would create a file: proof that code ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_malicious_pickle_is_never_executed(model_copy, tmp_path):
    """A weights file carrying a pickled object, with a manifest hash that matches it, is refused
    and the pickle's payload never runs."""
    marker = tmp_path / "pwned"
    weights = model_copy / "weights.npz"
    with np.load(weights, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    evil = np.empty(1, dtype=object)
    evil[0] = _Exploit(marker)
    arrays["text_idf"] = evil
    with zipfile.ZipFile(weights, "w") as out:
        for name, array in arrays.items():
            with out.open(f"{name}.npy", "w") as handle:
                np.lib.format.write_array(handle, array, allow_pickle=True)
    manifest = json.loads((model_copy / "manifest.json").read_text())
    manifest["weights_sha256"] = sha256_file(weights)
    (model_copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelFileError, match="cannot be read as plain arrays"):
        load_model(model_copy)
    assert not marker.exists()
    assert pickle  # the test builds a real pickle payload above


def test_missing_model_dir(tmp_path):
    with pytest.raises(ModelFileError, match="not found"):
        load_model(tmp_path / "nothing")


def _rewrite_weights(model_copy, change):
    weights = model_copy / "weights.npz"
    with np.load(weights, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    change(arrays)
    np.savez(weights, **arrays)
    manifest = json.loads((model_copy / "manifest.json").read_text())
    manifest["weights_sha256"] = sha256_file(weights)
    (model_copy / "manifest.json").write_text(json.dumps(manifest))


@pytest.mark.parametrize("change", [
    lambda a: a.__setitem__("text_coef_indices", a["text_coef_indices"] + 2 ** 20),   # columns out of range
    lambda a: a.__setitem__("text_coef_indptr", a["text_coef_indptr"][::-1].copy()),  # rows out of order
    lambda a: a.__setitem__("text_coef_data", a["text_coef_data"][:-5]),              # lengths disagree
])
def test_inconsistent_coefficient_arrays_refused(model_copy, change):
    """Weights that hash correctly but do not describe a coefficient matrix are refused by name."""
    _rewrite_weights(model_copy, change)
    with pytest.raises(ModelFileError, match="text_coef"):
        load_model(model_copy)


def test_shipped_model_has_the_criterion_heads():
    model = load_model()
    assert model.text_model.heads_ == ("state_involvement", "financial_motive", "cascading_effects")
    assert model.manifest["text_model"]["criterion_heads"] == list(model.text_model.heads_)


def test_model_without_criterion_heads_saves_and_loads(tmp_path):
    """A model trained on a CSV without criteria columns (or written before heads existed)."""
    from classifier.api import Classifier
    from classifier.combiner import RULE_FEATURES, Combiner
    from classifier.model_store import TrainedModel, save_model
    from classifier.text_model import TextModel

    texts = ["a carding shop sold stolen cards", "military intelligence spied on a ministry",
             "a State unit hacked a bank for money"] * 4
    routes = np.array(["cybercrime", "international-security", "intersection"] * 4)
    text_model = TextModel().fit(texts, routes)
    stacked = np.hstack([np.log(text_model.predict_proba(texts)), np.zeros((len(texts), len(RULE_FEATURES)))])
    save_model(TrainedModel(text_model, Combiner().fit(stacked, routes)), tmp_path / "plain")
    manifest = json.loads((tmp_path / "plain" / "manifest.json").read_text())
    assert manifest["text_model"]["criterion_heads"] == []
    del manifest["text_model"]["criterion_heads"]          # as written before heads existed
    (tmp_path / "plain" / "manifest.json").write_text(json.dumps(manifest))
    result = Classifier(model=load_model(tmp_path / "plain")).classify("a carding shop sold stolen cards")
    assert result.model_criteria == {}
    assert result.route in routes


def test_criterion_heads_that_do_not_fit_the_arrays_are_refused(model_copy):
    manifest = json.loads((model_copy / "manifest.json").read_text())
    manifest["text_model"]["criterion_heads"] = manifest["text_model"]["criterion_heads"][:2]
    (model_copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelFileError, match="arrays do not fit the manifest"):
        load_model(model_copy)
