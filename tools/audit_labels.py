"""Find corpus rows whose route label the classifier doubts, for a person to re-read.

Confident learning (Northcutt et al., 2021, as implemented by the cleanlab library): from the
grouped out-of-fold probabilities that `cyberroute train` cross-validates with (the same folds,
the same decision; benchmarks/corpus_parts.py), it estimates how often each route is confused
with each other one, and flags the rows that most likely carry the wrong label, worst first.
A flag is a question, not a verdict: many flagged rows are hard cases labelled right (that is
what the corpus's contrast parts are for), and the labelling guide in datasets/README.md decides.

With `--criterion`, the same for one of the text model's criterion heads (state_involvement,
financial_motive, cascading_effects): a yes/no label read from the corpus's criteria columns
(datasets/README.md) against the head's out-of-fold probability.

Usage:
    pip install '.[audit]'
    python tools/audit_labels.py [--corpus datasets/incidents.csv] [--criterion route]
                                 [--out benchmarks/results/label_audit]

Writes OUT.md (the flagged rows, worst first, with the rule layer's route beside the classifier's)
and OUT.json; OUT defaults to benchmarks/results/label_audit, with `_CRITERION` added for a head.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
TEXT_SHOWN = 220   # characters of each flagged text in the Markdown table
HEADS = ("state_involvement", "financial_motive", "cascading_effects")
# The corpus columns each head's label is read from (training.criterion_targets), shown beside it.
HEAD_COLUMNS = {"state_involvement": ["actor_type", "state_sponsorship"], "financial_motive": ["motive"],
                "cascading_effects": ["cascading_effects"]}


def label_issues(labels, proba: np.ndarray, classes: list[str]) -> pd.DataFrame:
    """The rows of ``labels`` that confident learning flags, worst first.

    ``proba`` holds out-of-fold probabilities, one column per entry of ``classes`` (every label
    must be one of them). Returns one row per flagged label: its position (``row``), the label,
    the most probable class, the probability given to the label (``p_label``, lowest first) and
    to the most probable class.
    """
    from cleanlab.filter import find_label_issues

    labels = np.asarray(labels)
    unknown = sorted(set(labels) - set(classes))
    if unknown:
        raise ValueError(f"labels {unknown} are not among the classes {classes}")
    codes = np.searchsorted(np.asarray(classes), labels) if list(classes) == sorted(classes) else \
        np.array([list(classes).index(label) for label in labels])
    flagged = find_label_issues(codes, proba, return_indices_ranked_by="self_confidence")
    best = proba[flagged].argmax(axis=1)
    return pd.DataFrame({
        "row": flagged,
        "label": labels[flagged],
        "predicted": np.asarray(classes)[best],
        "p_label": proba[flagged, codes[flagged]].round(3),
        "p_predicted": proba[flagged, best].round(3),
    })


def _cell(text: str) -> str:
    text = " ".join(str(text).split())
    text = text if len(text) <= TEXT_SHOWN else text[:TEXT_SHOWN - 3] + "..."
    return text.replace("|", "\\|")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=ROOT / "datasets" / "incidents.csv")
    parser.add_argument("--criterion", choices=("route",) + HEADS, default="route",
                        help="the route label (default) or one criterion head's yes/no label")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    out = args.out or ROOT / "benchmarks" / "results" / (
        "label_audit" if args.criterion == "route" else f"label_audit_{args.criterion}")
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from corpus_parts import out_of_fold, part_of

    corpus = pd.read_csv(args.corpus, dtype=str, keep_default_na=False)
    missing = [c for c in ("id", "text", "route") if c not in corpus.columns]
    if missing:
        print(f"error: {args.corpus} has no column {', '.join(missing)} (the corpus columns are in "
              f"datasets/README.md)", file=sys.stderr)
        return 1
    oof = out_of_fold(corpus)
    if args.criterion == "route":
        issues = label_issues(corpus["route"].to_numpy(), oof.decided, oof.classes)
        shown = "rules"
    else:
        if args.criterion not in oof.heads:
            print(f"error: {args.corpus} gives the text model no {args.criterion} head (its criteria columns are "
                  f"missing or constant)", file=sys.stderr)
            return 1
        yes = oof.heads[args.criterion]
        labels = np.where(oof.head_labels[args.criterion], "yes", "no")
        issues = label_issues(labels, np.column_stack([1 - yes, yes]), ["no", "yes"])
        shown = ", ".join(HEAD_COLUMNS[args.criterion])
    rows = corpus.iloc[issues["row"]].reset_index(drop=True)
    context = (oof.rule_routes[issues["row"]] if args.criterion == "route" else
               rows[HEAD_COLUMNS[args.criterion]].agg(" / ".join, axis=1).to_numpy())
    issues = issues.assign(id=rows["id"], group_id=rows.get("group_id", ""), part=rows["id"].map(part_of),
                           rules=context, route=rows["route"], text=rows["text"])
    command = "python tools/audit_labels.py " + " ".join(argv if argv is not None else sys.argv[1:])
    pairs = issues.groupby(["label", "predicted"]).size().sort_values(ascending=False)
    by_part = issues["part"].value_counts()
    what = ("the combined classifier" if args.criterion == "route"
            else f"the text model's {args.criterion} head (label yes/no from {shown})")
    lines = [f"# Label audit of {args.corpus.name} ({len(corpus)} rows): {args.criterion}", "",
             f"Command: `{command.strip()}`", "",
             "Rows that confident learning (cleanlab's `find_label_issues`, ranked by the probability "
             f"given to the label) flags on the grouped out-of-fold probabilities of {what}. A flag asks "
             "for a re-read against the labelling guide; it is no verdict.", "",
             f"Flagged: {len(issues)} rows ({len(issues) / len(corpus):.1%}).", "",
             "| label -> classifier | rows |", "|---|---|"]
    lines += [f"| {label} -> {predicted} | {n} |" for (label, predicted), n in pairs.items()]
    lines += ["", "| part | flagged | of rows |", "|---|---|---|"]
    sizes = corpus["id"].map(part_of).value_counts()
    lines += [f"| {part} | {n} | {sizes[part]} |" for part, n in by_part.items()]
    header = f"| id | label | classifier | p(label) | {shown} | text |"
    if args.criterion != "route":
        header = f"| id | label | head | p(label) | {shown} (route) | text |"
    lines += ["", header, "|---|---|---|---|---|---|"]
    lines += [f"| {r.id} | {r.label} | {r.predicted} ({r.p_predicted:.2f}) | {r.p_label:.2f} | {r.rules}"
              + ("" if args.criterion == "route" else f" ({r.route})") + f" | {_cell(r.text)} |"
              for r in issues.itertuples()]
    report = {"command": command.strip(), "criterion": args.criterion, "rows": len(corpus), "flagged": len(issues),
              "pairs": {f"{label} -> {predicted}": int(n) for (label, predicted), n in pairs.items()},
              "issues": issues.drop(columns=["text", "row"]).to_dict(orient="records")}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines[:lines.index(header) - 1]))
    print(f"\nWrote {out.with_suffix('.md')} and .json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
