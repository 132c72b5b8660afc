"""Metrics: bootstrap intervals agree with the point figures and widen and narrow as they should."""

from __future__ import annotations

import numpy as np
import pytest

from classifier.evaluation import _accuracy_and_macro_f1, bootstrap_intervals, label_metrics, route_metrics

ROUTES = ["cybercrime", "international-security", "intersection"]


def noisy_predictions(rows: int, error_rate: float, seed: int = 1):
    """Labels, and predictions that are wrong on about ``error_rate`` of the rows."""
    rng = np.random.default_rng(seed)
    truth = rng.choice(ROUTES, rows)
    wrong = rng.random(rows) < error_rate
    predicted = np.where(wrong, rng.choice(ROUTES + ["undetermined"], rows), truth)
    return truth, predicted


def width(bounds):
    return bounds[1] - bounds[0]


def test_counting_metric_equals_label_metrics():
    truth, predicted = noisy_predictions(500, 0.3)
    vocabulary = ROUTES + ["undetermined"]
    code = {label: i for i, label in enumerate(vocabulary)}
    accuracy, macro_f1 = _accuracy_and_macro_f1(np.array([code[v] for v in truth]), np.array([code[v] for v in predicted]),
                                                len(vocabulary), np.array([0, 1, 2]))
    reference = label_metrics(truth, predicted, ROUTES)
    assert round(accuracy, 4) == reference["accuracy"] and round(macro_f1, 4) == reference["macro_f1"]


def test_interval_holds_the_point_figure_and_narrows_with_more_rows():
    small = bootstrap_intervals(*noisy_predictions(200, 0.2), ROUTES)
    truth, predicted = noisy_predictions(5000, 0.2)
    large = bootstrap_intervals(truth, predicted, ROUTES)
    point = label_metrics(truth, predicted, ROUTES)
    assert large["accuracy"][0] <= point["accuracy"] <= large["accuracy"][1]
    assert large["macro_f1"][0] <= point["macro_f1"] <= large["macro_f1"][1]
    assert width(large["accuracy"]) < width(small["accuracy"]) / 2
    assert "accuracy_gain" not in large


def test_perfect_predictions_have_no_spread():
    truth = np.array(ROUTES * 30)
    assert bootstrap_intervals(truth, truth, ROUTES) == {"accuracy": [1.0, 1.0], "macro_f1": [1.0, 1.0]}


def test_resampling_groups_widens_the_interval_of_duplicated_rows():
    """40 incidents told 25 times each: resampling rows treats the copies as independent
    evidence, resampling groups does not."""
    truth, predicted = noisy_predictions(40, 0.25)
    truth, predicted, groups = np.repeat(truth, 25), np.repeat(predicted, 25), np.repeat(np.arange(40), 25)
    by_row = bootstrap_intervals(truth, predicted, ROUTES)
    by_group = bootstrap_intervals(truth, predicted, ROUTES, groups=groups)
    assert width(by_group["accuracy"]) > 2 * width(by_row["accuracy"])


def test_paired_gain_over_a_baseline():
    truth, predicted = noisy_predictions(1000, 0.1)
    same = bootstrap_intervals(truth, predicted, ROUTES, baseline=predicted)
    assert same["accuracy_gain"] == [0.0, 0.0] and same["accuracy_at_least_baseline"] == 1.0
    worse = predicted.copy()
    worse[:100] = np.where(truth[:100] == "cybercrime", "intersection", "cybercrime")  # 100 rows made wrong
    better = bootstrap_intervals(truth, predicted, ROUTES, baseline=worse)
    assert better["accuracy_gain"][0] > 0 and better["macro_f1_gain"][0] > 0
    reverse = bootstrap_intervals(truth, worse, ROUTES, baseline=predicted)
    assert reverse["accuracy_at_least_baseline"] < 0.05


def test_same_seed_same_interval_other_seed_other_draws():
    truth, predicted = noisy_predictions(300, 0.2)
    first = bootstrap_intervals(truth, predicted, ROUTES, seed=3)
    assert first == bootstrap_intervals(truth, predicted, ROUTES, seed=3)
    assert first != bootstrap_intervals(truth, predicted, ROUTES, seed=4)


@pytest.mark.parametrize("level", [0.5, 0.8, 0.95])
def test_a_higher_level_gives_a_wider_interval(level):
    truth, predicted = noisy_predictions(400, 0.2)
    assert width(bootstrap_intervals(truth, predicted, ROUTES, level=level)["accuracy"]) < \
        width(bootstrap_intervals(truth, predicted, ROUTES, level=0.99)["accuracy"])


def test_blank_group_ids_are_groups_of_their_own_in_training_and_bootstrap_alike():
    import pandas as pd

    from classifier.training import fill_group_ids

    frame = pd.DataFrame({"group_id": ["g1", "", None, "g1", "  "]})
    assert fill_group_ids(frame).tolist() == ["g1", "row-1", "row-2", "g1", "row-4"]
    assert fill_group_ids(pd.DataFrame({"text": ["a", "b"]})).tolist() == ["row-0", "row-1"]
    truth, predicted = noisy_predictions(5, 0.4)
    truth, predicted = np.tile(truth, 40), np.tile(predicted, 40)
    blank = ["" if i % 3 else f"g{i % 7}" for i in range(200)]
    filled = fill_group_ids(pd.DataFrame({"group_id": blank})).tolist()
    assert bootstrap_intervals(truth, predicted, ROUTES, groups=blank) == \
        bootstrap_intervals(truth, predicted, ROUTES, groups=filled)


def test_a_model_without_a_route_is_averaged_over_the_labels_routes():
    """A two-route model asked about three routes scores 0 on the third in macro-F1, as the
    per-row metrics of the same predictions do, instead of being averaged over its own two."""
    truth = np.array(["cybercrime", "international-security", "intersection"] * 4)
    classes = ["cybercrime", "international-security"]
    proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]] * 4)
    from_proba = route_metrics(truth, proba, classes)
    predicted = np.array(classes)[proba.argmax(axis=1)]
    per_row = label_metrics(truth, predicted, ["cybercrime", "international-security", "intersection"])
    assert from_proba["macro_f1"] == per_row["macro_f1"] < 0.67
    assert from_proba["per_route"]["intersection"]["recall"] == 0.0
