"""What a rule edit changes: the rule layer's criteria and routes under two rules directories.

Before adopting an edit to rules/, run the texts you care about through the old and the new
rules and see which rows change, and (where the file has labels) whether for the better:

    git worktree add /tmp/before HEAD          # or any copy of the rules before the edit
    python tools/compare_rules.py /tmp/before/rules datasets/incidents.csv ../shared/data/*.jsonl

Files are CSV or JSON lines (by extension), with the description in `text` and, optionally, a
label in `route` (CSV) or `route_hint` (JSON lines; `unknown` counts as unlabelled). Prints one
summary line per file and, with --show N, up to N changed rows per file (to the terminal only).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from classifier.api import RuleLayer
from classifier.ruleset import ROUTES

ROOT = Path(__file__).resolve().parent.parent


def read_texts(path: Path) -> tuple[list[str], list[str | None]]:
    """The texts of a CSV or JSON-lines file, and their route labels (None where there is none)."""
    if path.suffix in (".jsonl", ".ndjson"):
        frame, label = pd.read_json(path, lines=True, dtype=False), "route_hint"
    else:
        frame, label = pd.read_csv(path, dtype=str, keep_default_na=False), "route"
    if "text" not in frame.columns:
        raise SystemExit(f"{path}: no 'text' column (columns: {', '.join(map(str, frame.columns))})")
    texts = frame["text"].fillna("").astype(str).tolist()
    labels = frame[label].tolist() if label in frame.columns else [None] * len(texts)
    return texts, [value if value in ROUTES else None for value in labels]


def compare(old: RuleLayer, new: RuleLayer, texts: list[str]) -> list[dict]:
    """Per row, the criteria and rule route under each rules directory."""
    before, before_verdicts, _ = old.rule_rows(texts)
    after, after_verdicts, _ = new.rule_rows(texts)
    return [{"criteria_before": before.criteria_values(i), "criteria_after": after.criteria_values(i),
             "route_before": before_verdicts.routes[i], "route_after": after_verdicts.routes[i]}
            for i in range(len(texts))]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("old_rules", type=Path, help="the rules directory before the edit")
    parser.add_argument("files", type=Path, nargs="+", help="CSV or JSON-lines files of descriptions")
    parser.add_argument("--rules", type=Path, default=ROOT / "rules", help="the rules after the edit (default: rules/)")
    parser.add_argument("--show", type=int, default=0, help="print up to N changed rows per file")
    args = parser.parse_args(argv)
    old, new = RuleLayer(args.old_rules), RuleLayer(args.rules)
    totals = [0, 0, 0]
    for path in args.files:
        texts, labels = read_texts(path)
        rows = compare(old, new, texts)
        criteria_changed = [i for i, r in enumerate(rows) if r["criteria_before"] != r["criteria_after"]]
        route_changed = [i for i, r in enumerate(rows) if r["route_before"] != r["route_after"]]
        better = sum(rows[i]["route_after"] == labels[i] for i in route_changed if labels[i])
        worse = sum(rows[i]["route_before"] == labels[i] for i in route_changed if labels[i])
        print(f"{path.name}: {len(texts)} texts; criteria changed in {len(criteria_changed)}, rule route in "
              f"{len(route_changed)} (labelled: {better} now right, {worse} now wrong)")
        for i in sorted(set(criteria_changed) | set(route_changed))[:args.show]:
            r = rows[i]
            changed = {name: (value, r["criteria_after"][name]) for name, value in r["criteria_before"].items()
                       if value != r["criteria_after"][name]}
            print(f"  row {i + 1}: {r['route_before']} -> {r['route_after']}; {changed}; {texts[i][:120]!r}")
        totals = [totals[0] + len(texts), totals[1] + len(criteria_changed), totals[2] + len(route_changed)]
    if len(args.files) > 1:
        print(f"all: {totals[0]} texts; criteria changed in {totals[1]}, rule route in {totals[2]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
