"""Training: a labelled CSV in, a reproducible model directory out.

The text model's probabilities that the combiner learns from are computed out-of-fold, with folds
grouped by incident (``group_id``), so paraphrases of one incident never sit on both sides of a
split and the combiner sees the text model as noisy as it is on new text.
"""

from __future__ import annotations

import hashlib
import platform
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupKFold

from .combiner import Combiner, stack
from .evaluation import route_metrics
from .model_store import TrainedModel
from .ruleset import ROUTES
from .text_model import TextModel

INNER_FOLDS = 5
OUTER_FOLDS = 5


class CorpusError(ValueError):
    """A training or evaluation CSV lacks a column or holds a bad label."""


def read_labelled(path: Path | str, text_column: str = "text", label_column: str = "route") -> pd.DataFrame:
    """Read a labelled CSV, check its columns and labels; rows with no text are refused by name."""
    path = Path(path)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except FileNotFoundError:
        raise CorpusError(f"{path}: file not found") from None
    except (UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise CorpusError(f"{path}: cannot be read as UTF-8 CSV ({exc})") from None
    for column in (text_column, label_column):
        if column not in frame.columns:
            raise CorpusError(f"{path}: column {column!r} not found; columns are: {', '.join(frame.columns)}")
    bad = ~frame[label_column].isin(ROUTES)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise CorpusError(f"{path}: row {row + 2}, column {label_column!r}: {frame[label_column].iloc[row]!r} "
                          f"is not one of {', '.join(ROUTES)} ({int(bad.sum())} such rows)")
    empty = frame[text_column].str.strip() == ""
    if empty.any():
        row = int(np.flatnonzero(empty.to_numpy())[0])
        raise CorpusError(f"{path}: row {row + 2}, column {text_column!r}: empty text")
    if "group_id" not in frame.columns:
        frame["group_id"] = [f"row-{i}" for i in range(len(frame))]
    return frame


def _oof_text_proba(texts: list[str], routes: np.ndarray, groups: np.ndarray, folds: int, C: float) -> np.ndarray:
    classes = np.array(sorted(set(routes)))
    out = np.zeros((len(texts), len(classes)))
    splitter = GroupKFold(n_splits=min(folds, len(set(groups))))
    for train, test in splitter.split(texts, routes, groups):
        model = TextModel(C=C).fit([texts[i] for i in train], routes[train])
        proba = model.predict_proba([texts[i] for i in test])
        for j, cls in enumerate(model.classes_):
            out[test, int(np.searchsorted(classes, cls))] = proba[:, j]
    return out


def fit(texts: list[str], routes, groups, rule_rows: np.ndarray, text_C: float = 8.0,
        combiner_C: float = 1.0) -> TrainedModel:
    """Fit the text model on everything and the combiner on out-of-fold text probabilities."""
    routes, groups = np.asarray(routes), np.asarray(groups)
    oof = _oof_text_proba(texts, routes, groups, INNER_FOLDS, text_C)
    combiner = Combiner(C=combiner_C).fit(stack(oof, rule_rows), routes)
    text_model = TextModel(C=text_C).fit(texts, routes)
    return TrainedModel(text_model, combiner)


def cross_validate(texts, routes, groups, rule_rows, folds: int = OUTER_FOLDS, **params) -> dict:
    """Grouped cross-validation of the whole pipeline (text model + combiner), and of each part."""
    routes, groups = np.asarray(routes), np.asarray(groups)
    classes = sorted(set(routes))
    combined = np.zeros((len(texts), len(classes)))
    text_only = np.zeros_like(combined)
    for train, test in GroupKFold(n_splits=folds).split(texts, routes, groups):
        model = fit([texts[i] for i in train], routes[train], groups[train], rule_rows[train], **params)
        proba = model.text_model.predict_proba([texts[i] for i in test])
        text_only[test] = proba
        combined[test] = model.combiner.predict_proba(stack(proba, rule_rows[test]))
    return {
        "folds": folds,
        "grouped_by": "group_id",
        "combined": route_metrics(routes, combined, classes),
        "text_model": route_metrics(routes, text_only, classes),
    }


def corpus_sha256(path: Path | str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def library_versions() -> dict[str, str]:
    import click
    import joblib
    import scipy
    import sklearn

    return {"python": platform.python_version(), "numpy": np.__version__, "pandas": pd.__version__,
            "scikit-learn": sklearn.__version__, "scipy": scipy.__version__, "joblib": joblib.__version__,
            "click": click.__version__}
