"""Grouped cross-validation of the combined classifier on the corpus, broken down by corpus part.

The same folds and out-of-fold predictions as `cyberroute train` records in the manifest, scored
per part of datasets/parts/ (the id prefix: p1, p2, ...) and per intersection reason, so that a
corpus maintainer sees which slices the classifier finds hard, and how a set of parts scores on
its own (--parts p1-p15 scores the rows of parts 1 to 15 only, trained on the whole corpus).

Usage:
    python benchmarks/corpus_parts.py [--corpus datasets/incidents.csv] [--parts p1-p15]
                                      [--out benchmarks/results/corpus_parts]

Writes OUT.md and OUT.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from classifier import training
from classifier.api import RuleLayer
from classifier.evaluation import bootstrap_intervals, format_interval, label_metrics
from classifier.ruleset import ROUTES, load_rules

ROOT = Path(__file__).resolve().parent.parent


def part_of(row_id: str) -> str:
    return row_id.split("-", 1)[0]


def part_range(spec: str) -> set[str]:
    """"p1-p15" -> {"p1", ..., "p15"}; "p3" -> {"p3"}."""
    first, _, last = spec.partition("-")
    low, high = int(first.lstrip("p")), int((last or first).lstrip("p"))
    return {f"p{n}" for n in range(low, high + 1)}


class OutOfFold(NamedTuple):
    classes: list[str]
    decided: np.ndarray       # route probabilities, decided on as `cyberroute train`'s CV decides
    rule_routes: np.ndarray   # the rule layer's route of each row
    heads: dict[str, np.ndarray]   # each criterion head's out-of-fold probability of "yes"
    head_labels: dict[str, np.ndarray]   # and the corpus's label it learnt (bool per row)


def out_of_fold(corpus: pd.DataFrame) -> OutOfFold:
    """The grouped out-of-fold readings of every corpus row, on the folds `cyberroute train`
    cross-validates with."""
    # Blank or missing group ids become groups of their own, as `cyberroute train` makes them.
    texts, routes, groups = (corpus["text"].tolist(), corpus["route"].to_numpy(),
                             training.fill_group_ids(corpus).to_numpy())
    rules = load_rules(ROOT / "rules")
    table, _, rule_rows = RuleLayer(rules).rule_rows(texts)
    criteria = training.criterion_targets(corpus)
    text_proba, head_proba = training.oof_text_proba(texts, routes, groups, criteria=criteria)
    classes, decided, _ = training.oof_decided_proba(text_proba, head_proba, rule_rows, routes, groups, list(criteria),
                                                     table.criminal_actor, rules.decision["agreed_crime_cascade_below"])
    heads = {name: head_proba[:, j] for j, name in enumerate(criteria)}
    return OutOfFold(classes, decided, training.rule_routes(rule_rows), heads, dict(criteria))


def out_of_fold_routes(corpus: pd.DataFrame) -> np.ndarray:
    oof = out_of_fold(corpus)
    return np.asarray(oof.classes)[oof.decided.argmax(axis=1)]


def breakdown(corpus: pd.DataFrame, predicted: np.ndarray, keys: pd.Series) -> list[dict]:
    rows = []
    for key, index in corpus.groupby(keys).groups.items():
        wrong = predicted[index] != corpus.loc[index, "route"].to_numpy()
        rows.append({"key": key, "rows": int(len(index)), "misrouted": int(wrong.sum()),
                     "error_rate": round(float(wrong.mean()), 4)})
    return sorted(rows, key=lambda r: (len(str(r["key"])), str(r["key"])))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=ROOT / "datasets" / "incidents.csv")
    parser.add_argument("--parts", default=None, help="also score the rows of these parts alone, e.g. p1-p15")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "corpus_parts")
    args = parser.parse_args(argv)
    corpus = pd.read_csv(args.corpus, dtype=str, keep_default_na=False)
    predicted = out_of_fold_routes(corpus)
    truth = corpus["route"].to_numpy()
    labels = list(ROUTES)
    report = {"command": "python benchmarks/corpus_parts.py " + " ".join(argv if argv is not None else sys.argv[1:]),
              "rows": len(corpus), "all": label_metrics(truth, predicted, labels),
              # How far the figures could move on another corpus written the same way: incident
              # groups resampled, so paraphrases move together as they do in the folds.
              "bootstrap_95": bootstrap_intervals(truth, predicted, labels, groups=corpus["group_id"].to_numpy()),
              "by_part": breakdown(corpus, predicted, corpus["id"].map(part_of)),
              "by_reason": breakdown(corpus, predicted, corpus["intersection_reason"].replace("", "(not intersection)"))}
    if args.parts:
        keep = corpus["id"].map(part_of).isin(part_range(args.parts)).to_numpy()
        report["selected_parts"] = {"parts": args.parts, **label_metrics(truth[keep], predicted[keep], labels)}
    lines = [f"# Grouped CV by corpus part ({args.corpus.name}, {len(corpus)} rows)", "",
             f"Command: `{report['command']}`", "",
             f"All rows: accuracy {report['all']['accuracy']:.4f}, macro-F1 {report['all']['macro_f1']:.4f}; "
             f"95 % bootstrap intervals over incident groups (1,000 resamples): accuracy "
             f"{format_interval(report['bootstrap_95']['accuracy'])}, "
             f"macro-F1 {format_interval(report['bootstrap_95']['macro_f1'])}."]
    if args.parts:
        sel = report["selected_parts"]
        lines.append(f"Rows of parts {args.parts} ({sel['n']}): accuracy {sel['accuracy']:.4f}, "
                     f"macro-F1 {sel['macro_f1']:.4f}.")
    for title, key in (("part", "by_part"), ("intersection reason", "by_reason")):
        lines += ["", f"| {title} | rows | misrouted | error rate |", "|---|---|---|---|"]
        lines += [f"| {r['key']} | {r['rows']} | {r['misrouted']} | {r['error_rate']:.3f} |" for r in report[key]]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    args.out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
