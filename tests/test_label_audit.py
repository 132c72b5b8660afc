"""tools/audit_labels.py: confident learning flags the rows whose label the out-of-fold
probabilities contradict, worst first, and no row whose label they support."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))

import audit_labels  # noqa: E402

CLASSES = ["cybercrime", "international-security", "intersection"]


def _confident_proba(codes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Probabilities that put 0.7 to 0.95 on the given class and share the rest."""
    top = rng.uniform(0.7, 0.95, len(codes))
    proba = np.repeat(((1 - top) / 2)[:, None], len(CLASSES), axis=1)
    proba[np.arange(len(codes)), codes] = top
    return proba


def test_flags_the_labels_that_the_probabilities_contradict_worst_first():
    rng = np.random.default_rng(0)
    truth = np.arange(300) % 3
    proba = _confident_proba(truth, rng)
    labels = np.asarray(CLASSES)[truth]
    wrong = [5, 40, 77, 150, 222]
    for k, row in enumerate(wrong):   # a label other than the one the probabilities back
        label = (truth[row] + 1) % 3
        labels[row] = CLASSES[label]
        proba[row] = 0.0
        proba[row, truth[row]] = 0.96
        proba[row, label] = 0.005 * (k + 1)   # row 5 is the least believed
        proba[row, (truth[row] + 2) % 3] = 0.04 - 0.005 * (k + 1)
    issues = audit_labels.label_issues(labels, proba, CLASSES)
    assert sorted(issues["row"]) == wrong
    assert issues["row"].iloc[0] == 5
    assert list(issues["p_label"]) == sorted(issues["p_label"])
    assert (issues["predicted"] == np.asarray(CLASSES)[truth[issues["row"]]]).all()
    assert (issues["label"] != issues["predicted"]).all()


def test_flags_nothing_where_every_label_is_backed():
    rng = np.random.default_rng(1)
    truth = np.arange(300) % 3
    issues = audit_labels.label_issues(np.asarray(CLASSES)[truth], _confident_proba(truth, rng), CLASSES)
    assert issues.empty


def test_a_label_outside_the_classes_is_named():
    proba = np.full((3, 3), 1 / 3)
    with pytest.raises(ValueError, match="undetermined"):
        audit_labels.label_issues(["cybercrime", "undetermined", "intersection"], proba, CLASSES)
