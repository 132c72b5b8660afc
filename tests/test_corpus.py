"""The shipped corpus (datasets/incidents.csv) against what issue #3 asks of it and what the model
and the grouped splits rely on: labels consistent with the guide, size and mix, no duplicates, and
a file that is exactly the merge of the parts it is said to be built from."""

from __future__ import annotations

import csv
import sys
from collections import Counter
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "datasets" / "incidents.csv"
PARTS = sorted((REPO / "datasets" / "parts").glob("p*.csv"))
sys.path.insert(0, str(REPO / "tools"))

import build_corpus  # noqa: E402
import check_corpus  # noqa: E402


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    with open(CORPUS, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_every_row_follows_the_labelling_guide():
    assert check_corpus.check(str(CORPUS)) == []


def test_size_and_mix(rows):
    routes = Counter(r["route"] for r in rows)
    assert len(rows) >= 2000
    assert routes["intersection"] >= 400
    assert set(routes) == {"cybercrime", "international-security", "intersection"}
    reasons = Counter(r["intersection_reason"] for r in rows if r["intersection_reason"])
    assert set(reasons) == {"state-actor-in-crime", "state-operation-disguised-as-crime",
                            "criminal-proxy-of-state", "crime-on-critical-infrastructure-with-cascading-effects"}
    assert min(reasons.values()) >= 50
    short = sum(len(r["text"].split()) < 25 for r in rows)
    assert short >= len(rows) / 3


def test_the_five_criteria_are_labelled_on_every_row(rows):
    for column in ("actor_type", "state_sponsorship", "cascading_effects", "motive"):
        assert all(r[column] for r in rows), column
    # critical_infrastructure may be empty (no sector), but never holds an unknown sector
    assert all(s in check_corpus.SECTORS for r in rows for s in r["critical_infrastructure"].split(";") if s)


def test_no_text_twice(rows):
    keys = [build_corpus.key(r["text"]) for r in rows]
    assert len(keys) == len(set(keys))


def test_paraphrases_share_a_group(rows):
    """No two texts of different groups are as close as the build's retelling threshold: the
    build joins such groups, so a split by group never puts a paraphrase on both sides."""
    assert list(build_corpus.similar_pairs(rows)) == []


def test_the_corpus_is_the_merge_of_its_parts(rows):
    """`python tools/build_corpus.py datasets/parts/p*.csv` rebuilds incidents.csv exactly."""
    built, _, _ = build_corpus.build(PARTS)
    assert [dict(r) for r in built] == rows


def test_a_bad_part_is_refused_with_file_and_row(tmp_path):
    part = tmp_path / "p99_bad.csv"
    with open(PARTS[0], newline="", encoding="utf-8") as handle:
        header, first = list(csv.reader(handle))[:2]
    first[header.index("route")] = "cybercrime"
    first[header.index("actor_type")] = "state"
    with open(part, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([header, first])
    with pytest.raises(ValueError, match=r"p99_bad.csv:2: State involvement labelled but route is cybercrime"):
        build_corpus.build([part])


CHALLENGES = sorted((REPO / "benchmarks" / "challenge").glob("*.csv"))


@pytest.mark.parametrize("path", CHALLENGES, ids=lambda p: p.name)
def test_challenge_sets_follow_the_guide_and_are_not_in_the_corpus(path, rows):
    """The held-out sets of benchmarks/challenge/ are labelled like the corpus and never trained
    on: none of their texts is in the corpus."""
    assert check_corpus.check(str(path)) == []
    with open(path, newline="", encoding="utf-8") as handle:
        challenge = [build_corpus.key(r["text"]) for r in csv.DictReader(handle)]
    assert challenge and not set(challenge) & {build_corpus.key(r["text"]) for r in rows}
