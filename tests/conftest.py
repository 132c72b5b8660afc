"""Shared fixtures: the packaged rules, the shipped model, and a small trained model."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from classifier.api import Classifier, RuleLayer
from classifier.ruleset import default_rules_dir, load_rules

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "datasets" / "incidents.csv"


@pytest.fixture(scope="session")
def rules():
    return load_rules()


@pytest.fixture(scope="session")
def layer(rules):
    return RuleLayer(rules)


@pytest.fixture(scope="session")
def classifier(rules):
    return Classifier(rules=rules)


@pytest.fixture(scope="session")
def rules_dir():
    return default_rules_dir()


@pytest.fixture(scope="session")
def small_corpus(tmp_path_factory) -> Path:
    """A 150-row slice of the shipped corpus, balanced over routes, for fast training tests."""
    with open(CORPUS, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    picked, per_route = [], {}
    for row in rows:
        if per_route.get(row["route"], 0) < 50:
            per_route[row["route"]] = per_route.get(row["route"], 0) + 1
            picked.append(row)
    path = tmp_path_factory.mktemp("corpus") / "small.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(picked)
    return path
