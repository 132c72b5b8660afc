"""Saving and loading the trained model without pickle.

A model is a directory with two files:

- ``weights.npz``: plain numeric arrays (a zip of .npy files), read with ``allow_pickle=False``;
- ``manifest.json``: the format name and version, the classes, hyper-parameters, the sha256 of
  weights.npz and of the training data, library versions and cross-validated metrics.

Loading checks the format, the version and the hash before reading a single array, so a
tampered, truncated or foreign file is refused with a clear message and no code from the file is
ever executed.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .combiner import RULE_FEATURES, Combiner
from .ruleset import ROUTES
from .text_model import (CHAR_FEATURES, CHAR_NGRAMS, FEATURIZER, ROUTES_ESTIMATOR, WORD_FEATURES, WORD_NGRAMS,
                         TextModel)

FORMAT = "cyberroute-model"
FORMAT_VERSION = 1
WEIGHTS = "weights.npz"
MANIFEST = "manifest.json"
_REQUIRED = ("text_idf", "text_coef_data", "text_coef_indices", "text_coef_indptr", "text_intercept",
             "combiner_coef", "combiner_intercept")


class ModelFileError(ValueError):
    """The model directory is missing, corrupted, tampered with or of another format."""

    def __init__(self, path: Path | str, message: str):
        self.path = str(path)
        super().__init__(f"{path}: {message}")


@dataclass
class TrainedModel:
    """The text model and the combiner, with the manifest that describes them."""

    text_model: TextModel
    combiner: Combiner
    manifest: dict = field(default_factory=dict)

    @property
    def classes(self) -> list[str]:
        return self.combiner.classes_.tolist()


def default_model_dir() -> Path:
    return Path(__file__).resolve().parent / "shipped_model"


def sha256_file(path: Path | str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Like numpy.savez_compressed, but byte-for-byte reproducible (fixed zip timestamps)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(arrays):
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            with archive.open(info, "w") as handle:
                np.lib.format.write_array(handle, np.ascontiguousarray(arrays[name]), allow_pickle=False)


def _array_names(blob: bytes) -> list[str]:
    try:
        with zipfile.ZipFile(io.BytesIO(blob)) as archive:
            return [name.removesuffix(".npy") for name in archive.namelist()]
    except zipfile.BadZipFile:
        return []


def save_model(model: TrainedModel, directory: Path | str) -> Path:
    """Write ``model`` to ``directory`` (made if need be).

    Both files are written beside their targets first and renamed into place when complete, the
    manifest last: a failure leaves the model that was there (or, between the two renames, a
    weights file the old manifest's hash refuses), never a half-written file that loads. Two
    trainings into one directory at once are not guarded against: the last rename wins, and the
    directory may then hold one's weights and the other's manifest, which the hash refuses.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    arrays = {**model.text_model.to_arrays(), **model.combiner.to_arrays()}
    pending = {}
    try:
        for name in (WEIGHTS, MANIFEST):   # names of their own, so two saves never share one
            handle, temporary = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=directory)
            os.close(handle)
            pending[name] = Path(temporary)
        _write_npz(pending[WEIGHTS], arrays)
        manifest = _manifest(model, sha256_file(pending[WEIGHTS]))
        pending[MANIFEST].write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        for name in (WEIGHTS, MANIFEST):
            os.chmod(pending[name], 0o644)   # mkstemp's files are private; a model is read by all
            os.replace(pending[name], directory / name)
    finally:
        for path in pending.values():
            path.unlink(missing_ok=True)
    model.manifest = manifest
    return directory


def _manifest(model: TrainedModel, weights_sha256: str) -> dict:
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "classes": model.classes,
        "text_model": {"C": model.text_model.C, "word_features": WORD_FEATURES, "char_features": CHAR_FEATURES,
                       "word_ngrams": list(WORD_NGRAMS), "char_ngrams": list(CHAR_NGRAMS),
                       "featurizer": FEATURIZER, "criterion_heads": list(model.text_model.heads_),
                       "routes_estimator": ROUTES_ESTIMATOR},
        "combiner": {"C": model.combiner.C, "rule_features": RULE_FEATURES},
        "weights_sha256": weights_sha256,
        **{k: v for k, v in model.manifest.items() if k not in ("format", "format_version", "weights_sha256")},
    }


def load_model(directory: Path | str | None = None) -> TrainedModel:
    """Load a model directory written by ``save_model``.

    Raises
    ------
    ModelFileError
        when a file is missing, the format or version is not this project's, the weights do not
        match the hash in the manifest, or an array is missing or has the wrong shape.
    """
    directory = Path(directory) if directory else default_model_dir()
    manifest_path, weights_path = directory / MANIFEST, directory / WEIGHTS
    if not directory.is_dir():
        raise ModelFileError(directory, "is a file, not a model directory" if directory.exists() else
                             "model directory not found (train one with `cyberroute train CORPUS -o DIR`)")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelFileError(directory, f"not a model directory (no {MANIFEST}; train one with `cyberroute train "
                                        f"CORPUS -o DIR`)") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelFileError(manifest_path, f"not valid JSON ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ModelFileError(manifest_path, f"not a {FORMAT} manifest")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(manifest_path, f"format version {manifest.get('format_version')!r} is not supported "
                                            f"(this cyberroute reads version {FORMAT_VERSION}); retrain the model")
    try:
        blob = weights_path.read_bytes()
    except FileNotFoundError:
        raise ModelFileError(weights_path, "missing") from None
    if "weights_sha256" not in manifest:
        raise ModelFileError(manifest_path, "weights_sha256 is missing, so the weights cannot be checked")
    if hashlib.sha256(blob).hexdigest() != manifest.get("weights_sha256"):
        raise ModelFileError(weights_path, "sha256 does not match the manifest: the file is corrupted or was changed")
    try:
        with np.load(io.BytesIO(blob), allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in _REQUIRED}
    except KeyError:
        missing = sorted(set(_REQUIRED) - set(_array_names(blob)))
        raise ModelFileError(weights_path, f"array {', '.join(missing) or '?'} is missing") from None
    except (ValueError, OSError, zipfile.BadZipFile) as exc:
        raise ModelFileError(weights_path, f"cannot be read as plain arrays ({exc})") from None
    classes = manifest.get("classes")
    if not isinstance(classes, list) or not classes:
        raise ModelFileError(manifest_path, "no classes listed")
    # Only the weights are hashed; the class list names their rows, so a reordered, renamed or
    # repeated class would swap routes without a word. Training writes distinct routes, sorted.
    if not all(c in ROUTES for c in classes) or classes != sorted(set(classes)) or len(classes) < 2:
        raise ModelFileError(manifest_path, f"classes must be two or more of {', '.join(ROUTES)}, each once and in "
                                            f"that order, as training writes them; got {classes!r}")
    trained_with = manifest.get("text_model", {}).get("featurizer")
    if trained_with != FEATURIZER:
        raise ModelFileError(manifest_path, f"the model was trained with the text featurizer {trained_with!r}, "
                                            f"and this cyberroute reads {FEATURIZER!r}; retrain it (cyberroute train)")
    if manifest.get("combiner", {}).get("rule_features") != RULE_FEATURES:
        raise ModelFileError(manifest_path, "the model was trained with other rule features than this cyberroute "
                                            "computes; retrain it (cyberroute train)")
    # Models written before criterion heads existed have none.
    heads = manifest["text_model"].get("criterion_heads", [])
    if not isinstance(heads, list) or not all(isinstance(h, str) for h in heads):
        raise ModelFileError(manifest_path, "text_model.criterion_heads must be a list of names")
    try:
        text_model = TextModel.from_arrays(arrays, classes, C=float(manifest["text_model"]["C"]), heads=tuple(heads))
        combiner = Combiner.from_arrays(arrays, classes, C=float(manifest["combiner"]["C"]), heads=len(heads))
    except (KeyError, ValueError, TypeError) as exc:
        raise ModelFileError(directory, f"arrays do not fit the manifest ({exc})") from None
    return TrainedModel(text_model, combiner, manifest)
