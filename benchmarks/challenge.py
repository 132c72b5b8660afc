"""Held-out challenge sets: labelled descriptions written for testing only, never trained on.

Each CSV in benchmarks/challenge/ follows the corpus format (datasets/parts/SPEC.md) and was
written by a writer who did not see the training corpus. For each file this scores the shipped
model's rules, text model and combined classifier (as benchmarks/external.py does; undetermined
counts as wrong) and, for the two criteria the sets are about (cascading effects in
cascade.csv, State involvement in agencies.csv and nationality.csv), the recall and precision of
the rule layer and of the text model's criterion heads, so that a change to the cues or the
heads is measured on text they were not written from. Real incidents may be retold in the corpus too, in other words; rows as close to a corpus
row as the corpus build's paraphrase threshold are counted, and every figure is given again
without them.

Usage:
    python benchmarks/challenge.py [--out benchmarks/results/challenge]

Writes OUT.md and OUT.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from classifier.api import default_classifier
from classifier.training import criterion_targets

ROOT = Path(__file__).resolve().parent.parent
CHALLENGES = ROOT / "benchmarks" / "challenge"
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import build_corpus  # noqa: E402
from external import _predictions, _summary  # noqa: E402

SYSTEMS = ("rules", "text", "combined")


def retold_in_corpus(frame: pd.DataFrame) -> np.ndarray:
    """Per row: a corpus text is as close to it as the build's paraphrase threshold, or its writer
    gave it the group id of a corpus incident (state_cascades.csv's writer did, for the incidents
    the corpus already tells)."""
    corpus = pd.read_csv(ROOT / "datasets" / "incidents.csv", dtype=str, keep_default_na=False)
    rows = corpus[["text", "group_id"]].to_dict("records")
    rows += [{"text": t, "group_id": f"challenge-{i}"} for i, t in enumerate(frame["text"])]
    close = {max(i, j) - len(corpus) for i, j, _ in build_corpus.similar_pairs(rows)
             if (i < len(corpus)) != (j < len(corpus))}
    shared_group = frame["group_id"].isin(set(corpus["group_id"])).to_numpy()
    return np.array([i in close for i in range(len(frame))], dtype=bool) | shared_group


def finding_scores(found: np.ndarray, labelled: np.ndarray) -> dict:
    """A yes/no finding of the rule layer (a cascade, State involvement) against the labels."""
    hits, labelled_yes, found_yes = int((found & labelled).sum()), int(labelled.sum()), int(found.sum())
    return {"labelled_yes": labelled_yes, "found_yes": found_yes, "found_and_labelled": hits,
            "recall": round(hits / labelled_yes, 4) if labelled_yes else None,
            "precision": round(hits / found_yes, 4) if found_yes else None}


def score(truth: np.ndarray, preds: dict, findings: dict, keep: np.ndarray) -> dict:
    """Accuracy of each system, and each finding's scores, on the rows ``keep`` selects.
    ``findings`` maps a key such as "rule_layer_cascade" to (found, labelled) per row."""
    return {"rows": int(keep.sum()), **{s: _summary(truth[keep], preds[s][keep]) for s in SYSTEMS},
            **{key: finding_scores(found[keep], labelled[keep]) for key, (found, labelled) in findings.items()}}


def _cell(scores: dict, what: str) -> str:
    """"0.383 (23 of 60)" for recall, "0.767 (30 set)" for precision; "-" where nothing is counted."""
    if scores[what] is None:
        return "-"
    return (f"{scores[what]:.3f} ({scores['found_and_labelled']} of {scores['labelled_yes']})" if what == "recall"
            else f"{scores[what]:.3f} ({scores['found_yes']} set)")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "challenge")
    args = parser.parse_args(argv)
    classifier = default_classifier()
    report = {"command": "python benchmarks/challenge.py", "files": []}
    lines = ["# Challenge sets", "", f"Command: `{report['command']}`", "",
             "Accuracy (undetermined counts as wrong), then the findings of cascading effects and of State",
             "involvement (a State actor, or a State link) against the labels: the rule layer's, and the text",
             "model's criterion heads' (probability 0.5 or more).", ""]
    for path in sorted(CHALLENGES.glob("*.csv")):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        truth = frame["route"].to_numpy()
        preds = _predictions(classifier, frame["text"].tolist())
        labels = criterion_targets(frame, path, drop_constant=False)   # the labelling guide's yes/no
        cascade_labels, state_labels = labels["cascading_effects"], labels["state_involvement"]
        heads = classifier.model.text_model.heads_
        head = {name: np.array([r.model_criteria[name] >= 0.5 for r in preds["results"]]) if name in heads else None
                for name in ("cascading_effects", "state_involvement")}
        findings = {
            "rule_layer_cascade": (np.array([r.criteria["cascading_effects"].value == "yes" for r in preds["results"]]),
                                   cascade_labels),
            "rule_layer_state_involvement": (np.asarray(preds["state_linked"], dtype=bool), state_labels),
        }
        if head["cascading_effects"] is not None:
            findings["text_head_cascade"] = (head["cascading_effects"], cascade_labels)
        if head["state_involvement"] is not None:
            findings["text_head_state_involvement"] = (head["state_involvement"], state_labels)
        retold = retold_in_corpus(frame)
        subsets = {"all rows": np.ones(len(frame), dtype=bool), "without rows retold in the corpus": ~retold}
        scored = {name: score(truth, preds, findings, keep) for name, keep in subsets.items()}
        report["files"].append({"file": path.name, "rows": len(frame), "retold_in_corpus": int(retold.sum()),
                                "subsets": scored})
        lines += [f"## {path.name} ({len(frame)} rows; {int(retold.sum())} retell an incident the corpus "
                  "also tells)", "",
                  "| rows | n | rules | text | combined | combined macro-F1 |", "|---|---|---|---|---|---|"]
        for name, s in scored.items():
            lines.append(f"| {name} | {s['rows']} | {s['rules']['accuracy']:.3f} | {s['text']['accuracy']:.3f} | "
                         f"{s['combined']['accuracy']:.3f} | {s['combined']['macro_f1']:.3f} |")
        lines += ["", "| rows | finding | by | recall | precision |", "|---|---|---|---|---|"]
        for name, s in scored.items():
            for key in findings:
                by, _, finding = key.partition("_head_") if key.startswith("text_head_") else key.partition("_layer_")
                lines.append(f"| {name} | {finding.replace('_', ' ')} | {'text model' if by == 'text' else 'rules'} | "
                             f"{_cell(s[key], 'recall')} | {_cell(s[key], 'precision')} |")
        lines.append("")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    args.out.with_suffix(".md").write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
