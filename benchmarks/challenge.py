"""Held-out challenge sets: labelled descriptions written for testing only, never trained on.

Each CSV in benchmarks/challenge/ follows the corpus format (datasets/parts/SPEC.md) and was
written by a writer who did not see the training corpus. For each file this runs
`cyberroute evaluate` on the shipped model and, for the criterion the set is about (cascading
effects), the rule layer's recall and precision, so that a change to the cues is measured on text
they were not written from. Real incidents may be retold in the corpus too, in other words; rows
as close to a corpus row as the corpus build's paraphrase threshold are counted, and the route
accuracy and cascade recall are given again without them.

Usage:
    python benchmarks/challenge.py [--out benchmarks/results/challenge]

Writes OUT.md and OUT.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd

from classifier.api import RuleLayer, default_classifier
from classifier.ruleset import load_rules

ROOT = Path(__file__).resolve().parent.parent
CHALLENGES = ROOT / "benchmarks" / "challenge"
sys.path.insert(0, str(ROOT / "tools"))

import build_corpus  # noqa: E402


def retold_in_corpus(frame: pd.DataFrame) -> list[bool]:
    """Per row: a corpus text is as close to it as the build's paraphrase threshold."""
    corpus = pd.read_csv(ROOT / "datasets" / "incidents.csv", dtype=str, keep_default_na=False)
    rows = corpus[["text", "group_id"]].to_dict("records")
    rows += [{"text": t, "group_id": f"challenge-{i}"} for i, t in enumerate(frame["text"])]
    close = {max(i, j) - len(corpus) for i, j, _ in build_corpus.similar_pairs(rows)
             if (i < len(corpus)) != (j < len(corpus))}
    return [i in close for i in range(len(frame))]


def cascade_finding(frame: pd.DataFrame) -> dict:
    """The rule layer's cascading_effects against the labels: counts, recall and precision."""
    table, _, _ = RuleLayer(load_rules(ROOT / "rules")).rule_rows(frame["text"].tolist())
    found = [table.criteria_values(i)["cascading_effects"] == "yes" for i in range(len(frame))]
    labelled = (frame["cascading_effects"] == "yes").tolist()
    true_pos = sum(f and t for f, t in zip(found, labelled))
    return {"labelled_yes": sum(labelled), "found_yes": sum(found), "found_and_labelled": true_pos,
            "recall": round(true_pos / max(sum(labelled), 1), 4),
            "precision": round(true_pos / max(sum(found), 1), 4)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "challenge")
    args = parser.parse_args(argv)
    report, lines = {"command": "python benchmarks/challenge.py", "files": []}, ["# Challenge sets", ""]
    lines += [f"Command: `{report['command']}`", ""]
    for path in sorted(CHALLENGES.glob("*.csv")):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        evaluation = json.loads(subprocess.run(
            [sys.executable, "-m", "classifier", "evaluate", str(path), "--json"],
            capture_output=True, text=True, cwd=ROOT, check=True).stdout)
        text = subprocess.run([sys.executable, "-m", "classifier", "evaluate", str(path)],
                              capture_output=True, text=True, cwd=ROOT, check=True).stdout
        cascade = cascade_finding(frame)
        retold = retold_in_corpus(frame)
        fresh = frame[[not r for r in retold]].reset_index(drop=True)
        fresh_routes = [r["route"] for r in default_classifier().classify_rows(fresh["text"].tolist())]
        fresh_accuracy = round(sum(p == t for p, t in zip(fresh_routes, fresh["route"])) / max(len(fresh), 1), 4)
        fresh_cascade = cascade_finding(fresh)
        report["files"].append({"file": path.name, "rows": len(frame), "evaluate": evaluation,
                                "rule_layer_cascade": cascade, "retold_in_corpus": sum(retold),
                                "without_retold": {"rows": len(fresh), "accuracy": fresh_accuracy,
                                                   "rule_layer_cascade": fresh_cascade}})
        lines += [f"## {path.name} ({len(frame)} rows)", "",
                  f"Rule layer, cascading effects: found in {cascade['found_and_labelled']} of the "
                  f"{cascade['labelled_yes']} rows labelled with them (recall {cascade['recall']:.3f}); "
                  f"set on {cascade['found_yes']} rows (precision {cascade['precision']:.3f}).", "",
                  f"{sum(retold)} rows retell an incident the corpus also tells (a corpus text at the build's "
                  f"paraphrase threshold). Without them ({len(fresh)} rows): combined accuracy "
                  f"{fresh_accuracy:.3f}; rule layer cascade recall {fresh_cascade['recall']:.3f}, precision "
                  f"{fresh_cascade['precision']:.3f}.", "",
                  f"`cyberroute evaluate benchmarks/challenge/{path.name}`:", "", "```text", text.rstrip(), "```", ""]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    args.out.with_suffix(".md").write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
