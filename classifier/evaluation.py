"""Metrics: per-route precision, recall and F1, confusion matrix, calibration, criterion accuracy,
and bootstrap intervals that say how far a figure could move on another sample of the same kind."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

from .ruleset import ROUTES


def criterion_head_accuracy(labels: dict[str, np.ndarray], results, heads) -> dict[str, dict[str, float]]:
    """For each criterion head in ``heads`` that ``labels`` has (``training.criterion_targets``),
    how often the head (probability >= 0.5) and the rule layer get the yes/no right, over
    ``results`` (one ``Result`` per label row)."""
    from .rule_engine import involves_state

    rules = {
        "state_involvement": [involves_state(r.criteria) for r in results],
        "financial_motive": [r.criteria["motive"].value == "financial" for r in results],
        "cascading_effects": [r.criteria["cascading_effects"].value == "yes" for r in results],
    }
    return {name: {"text_model": round(float(np.mean([(r.model_criteria[name] >= 0.5) == t
                                                        for r, t in zip(results, labels[name])])), 4),
                   "rules": round(float(np.mean(np.array(rules[name]) == labels[name])), 4)}
            for name in heads if name in labels}


def expected_calibration_error(correct: np.ndarray, confidence: np.ndarray, bins: int = 10) -> float:
    """Mean |accuracy - confidence| over equal-width confidence bins, weighted by bin size."""
    correct, confidence = np.asarray(correct, dtype=float), np.asarray(confidence, dtype=float)
    if not len(correct):
        return float("nan")
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        mask = index == b
        if mask.any():
            total += mask.mean() * abs(correct[mask].mean() - confidence[mask].mean())
    return float(total)


def route_metrics(truth, proba: np.ndarray, classes: list[str]) -> dict:
    """Accuracy, macro-F1, ECE and per-route figures for probabilities over ``classes``.

    Macro-F1 averages over the routes the labels hold, whether or not ``classes`` has them, as
    ``label_metrics`` does for a route per row: a model trained without a route then scores 0
    on it, rather than looking better for never having been asked.
    """
    truth = np.asarray(truth)
    predicted = np.asarray(classes)[np.asarray(proba).argmax(axis=1)]
    labels = list(ROUTES) + [c for c in classes if c not in ROUTES]
    return label_metrics(truth, predicted, labels, confidence=np.asarray(proba).max(axis=1))


def label_metrics(truth, predicted, labels: list[str], confidence=None) -> dict:
    truth, predicted = np.asarray(truth), np.asarray(predicted)
    present = [label for label in labels if label in set(truth)]
    precision, recall, f1, support = precision_recall_fscore_support(
        truth, predicted, labels=present, zero_division=0)
    shown = list(labels) + sorted(set(predicted) - set(labels))
    out = {
        "n": int(len(truth)),
        "accuracy": round(float(accuracy_score(truth, predicted)), 4),
        "macro_f1": round(float(f1_score(truth, predicted, labels=present, average="macro", zero_division=0)), 4),
        "per_route": {label: {"precision": round(float(p), 4), "recall": round(float(r), 4),
                              "f1": round(float(f), 4), "support": int(s)}
                      for label, p, r, f, s in zip(present, precision, recall, f1, support)},
        "confusion": {"labels": shown, "matrix": confusion_matrix(truth, predicted, labels=shown).tolist()},
    }
    if confidence is not None:
        out["ece"] = round(expected_calibration_error(truth == predicted, confidence), 4)
    return out


def format_metrics(metrics: dict, title: str = "") -> str:
    """A plain-text report of ``label_metrics`` output."""
    lines = [title] if title else []
    lines.append(f"n={metrics['n']}  accuracy={metrics['accuracy']:.3f}  macro-F1={metrics['macro_f1']:.3f}"
                 + (f"  ECE={metrics['ece']:.3f}" if "ece" in metrics else ""))
    lines.append(f"{'route':<24}{'precision':>10}{'recall':>10}{'F1':>10}{'support':>10}")
    for label, m in metrics["per_route"].items():
        lines.append(f"{label:<24}{m['precision']:>10.3f}{m['recall']:>10.3f}{m['f1']:>10.3f}{m['support']:>10}")
    labels, matrix = metrics["confusion"]["labels"], metrics["confusion"]["matrix"]
    width = max(len(label) for label in labels) + 2
    lines.append("confusion (rows: truth, columns: predicted)")
    lines.append(" " * 24 + "".join(f"{label:>{width}}" for label in labels))
    for label, row in zip(labels, matrix):
        lines.append(f"{label:<24}" + "".join(f"{v:>{width}}" for v in row))
    return "\n".join(lines)


def own_group_ids(groups) -> list:
    """``groups`` with a missing or blank id replaced by ``row-N`` (N the position): a row nobody
    grouped is an incident of its own, not one group with every other ungrouped row."""
    return [f"row-{i}" if g is None or (isinstance(g, float) and g != g) or str(g).strip() == "" else g
            for i, g in enumerate(groups)]


def format_interval(bounds: list[float], joiner: str = "-", signed: bool = False) -> str:
    """``[low, high]`` as text: "0.875-0.924", or with ``joiner`` " to " and signs "+0.010 to +0.050"."""
    form = "{:+.3f}" if signed else "{:.3f}"
    return form.format(bounds[0]) + joiner + form.format(bounds[1])


def _accuracy_and_macro_f1(truth: np.ndarray, predicted: np.ndarray, n_labels: int, present: np.ndarray):
    """Accuracy and macro-F1 (over the label codes ``present``; F1 of a label never predicted
    nor true is 0, as in ``label_metrics``) from integer-coded labels, by one bincount."""
    counts = np.bincount(truth * n_labels + predicted, minlength=n_labels * n_labels).reshape(n_labels, n_labels)
    hits = np.diag(counts).astype(float)
    true_totals, predicted_totals = counts.sum(axis=1), counts.sum(axis=0)
    f1 = np.divide(2 * hits, true_totals + predicted_totals, out=np.zeros(n_labels), where=(true_totals + predicted_totals) > 0)
    return hits.sum() / max(len(truth), 1), f1[present].mean()


def bootstrap_intervals(truth, predicted, labels: list[str], groups=None, baseline=None,
                        resamples: int = 1000, level: float = 0.95, seed: int = 0) -> dict:
    """Percentile bootstrap intervals of accuracy and macro-F1.

    Rows are resampled with replacement, or whole groups when ``groups`` is given (paraphrases of
    one incident move together, as in grouped cross-validation). Macro-F1 averages over the
    labels present in each resample's truth, as ``label_metrics`` does on a sample (a label a
    small resample happens to lack would otherwise count as an F1 of 0). With ``baseline`` (another
    system's predictions for the same rows) the difference of each metric, ``predicted`` minus
    ``baseline``, is resampled on the same rows, and the share of resamples in which
    ``predicted`` does at least as well is given: a paired comparison.

    Returns ``{"accuracy": [low, high], "macro_f1": [low, high]}``, plus ``accuracy_gain``,
    ``macro_f1_gain`` (intervals) and ``accuracy_at_least_baseline`` (a share) with a baseline.
    """
    truth, predicted = np.asarray(truth), np.asarray(predicted)
    vocabulary = list(labels) + sorted((set(truth) | set(predicted) | set(baseline if baseline is not None else []))
                                       - set(labels))
    code = {label: i for i, label in enumerate(vocabulary)}

    def encode(values):
        return np.array([code[v] for v in values], dtype=np.int64)

    t, p = encode(truth), encode(predicted)
    b = encode(baseline) if baseline is not None else None
    rng = np.random.default_rng(seed)
    if groups is None:
        draws = (rng.integers(0, len(t), len(t)) for _ in range(resamples))
    else:
        groups = [str(g) for g in own_group_ids(groups)]
        unique_groups, group_index = np.unique(np.asarray(groups), return_inverse=True)
        rows_of = np.split(np.argsort(group_index, kind="stable"), np.cumsum(np.bincount(group_index))[:-1])
        draws = (np.concatenate([rows_of[g] for g in rng.integers(0, len(unique_groups), len(unique_groups))])
                 for _ in range(resamples))
    stats = []
    for rows in draws:
        present = np.flatnonzero(np.bincount(t[rows], minlength=len(vocabulary)))
        accuracy, f1 = _accuracy_and_macro_f1(t[rows], p[rows], len(vocabulary), present)
        if b is not None:
            base_accuracy, base_f1 = _accuracy_and_macro_f1(t[rows], b[rows], len(vocabulary), present)
            stats.append((accuracy, f1, accuracy - base_accuracy, f1 - base_f1))
        else:
            stats.append((accuracy, f1))
    stats = np.array(stats)
    tail = (1 - level) / 2 * 100

    def interval(column):
        low, high = np.percentile(stats[:, column], [tail, 100 - tail])
        return [round(float(low), 4), round(float(high), 4)]

    out = {"accuracy": interval(0), "macro_f1": interval(1)}
    if b is not None:
        out.update(accuracy_gain=interval(2), macro_f1_gain=interval(3),
                   accuracy_at_least_baseline=round(float(np.mean(stats[:, 2] >= 0)), 4))
    return out
