"""Measure cyberroute on the external evaluation sets in ../shared/data (never committed here).

For each labelled JSON-lines file: rows whose `route_hint` is a route (unknown skipped), five
systems side by side (majority class, rules only, text model only, combined, and the combined
classifier at the route shares `cyberroute priors` estimates from the file's own texts, every
row, without labels: "adapted"), with all rows and
without the label rules that shared/data/README.md marks contestable (E6, T4, D6). Actor-profile
files also get State-linked vs criminal accuracy; incident files with codes get criterion accuracy.

Usage:
    python benchmarks/external.py [--data DIR] [--out benchmarks/results/external] [--model DIR]

Writes OUT.json and OUT.md (figures and row ids only: no text from the data sets is written).
With --examples N, prints up to N misrouted texts per confusion to stdout, for error analysis.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
import tomllib
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from classifier.api import Classifier
from classifier.priors import at_least, estimate_shares
from classifier.combiner import CASCADE_DOUBT, NOT_LATIN, OFF_TOPIC, STATE_LINK_DOUBT, TOO_FEW_WORDS
from classifier.evaluation import bootstrap_intervals, format_interval, label_metrics
from classifier.rule_engine import involves_state
from classifier.ruleset import ROUTES

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "data"
CONTESTABLE = re.compile(r"(?:^|[\s(])(?:E6|T4|D6)\s")
PROFILE_FILES = ("etda_threat_group_cards", "mitre_attack_groups_campaigns", "tidal_groups", "misp_threat_actor")
SYSTEMS = ("majority", "rules", "text", "combined", "adapted")
# Sectors of rules/sectors.toml that EuRepoC's receiver categories place outside critical
# infrastructure ("State institutions / political system", "Science", ...).
EUREPOC_NON_CI_SECTORS = {"government", "elections", "emergency-services", "education"}


def _predictions(classifier: Classifier, texts: list[str]) -> dict[str, np.ndarray]:
    results = classifier.classify_many(texts)
    classes = classifier.model.classes
    return {
        "rules": np.array([r.rule_route for r in results]),
        "text": np.array([classes[int(np.argmax([r.model_probabilities[c] for c in classes]))] for r in results]),
        "combined": np.array([r.route for r in results]),
        # The rule layer found a State actor or a State link.
        "state_linked": np.array([involves_state(r.criteria) for r in results]),
        # The text model's State-involvement head says yes (None for a model without heads).
        "head_state_linked": (np.array([r.model_criteria["state_involvement"] >= 0.5 for r in results])
                              if "state_involvement" in classifier.model.text_model.heads_ else None),
        "results": results,
    }


def _summary(truth: np.ndarray, predicted: np.ndarray) -> dict:
    m = label_metrics(truth, predicted, list(ROUTES) + ["undetermined"])
    return {"n": m["n"], "right": int((np.asarray(truth) == np.asarray(predicted)).sum()),
            "accuracy": m["accuracy"], "macro_f1": m["macro_f1"],
            "recall": {r: v["recall"] for r, v in m["per_route"].items()},
            "confusion": m["confusion"]}


def _state_vs_criminal(truth: np.ndarray, predicted: np.ndarray) -> float:
    state = {"international-security", "intersection"}
    keep = truth != "undetermined"
    agree = [(t in state) == (p in state) and p != "undetermined" for t, p in zip(truth[keep], predicted[keep])]
    return round(float(np.mean(agree)), 4) if agree else float("nan")


def _adapted(classifier: Classifier, all_texts: list[str]) -> tuple[Classifier, dict[str, float]]:
    """The classifier at the route shares estimated from every text of the file, labelled or
    not (the labels are never read): what `cyberroute priors FILE` prints."""
    shares = at_least(estimate_shares(classifier.route_probabilities(all_texts), classifier.training_shares))
    priors = dict(zip(classifier.model.classes, shares.round(3).tolist()))
    return Classifier(rules=classifier.rules, model=classifier.model, priors=priors), priors


def evaluate_file(classifier: Classifier, path: Path, examples: int = 0) -> dict:
    frame = pd.read_json(path, lines=True, dtype=False)
    adapted, shares = _adapted(classifier, frame["text"].fillna("").astype(str).tolist())
    frame = frame[frame["route_hint"].isin(ROUTES)].reset_index(drop=True)
    texts = frame["text"].fillna("").astype(str).tolist()
    started = time.perf_counter()
    preds = _predictions(classifier, texts)
    seconds = time.perf_counter() - started
    preds["adapted"] = np.array([r.route for r in adapted.classify_many(texts)])
    truth = frame["route_hint"].to_numpy()
    majority = Counter(truth).most_common(1)[0][0]
    preds["majority"] = np.array([majority] * len(truth))
    contestable = frame["route_rule"].astype(str).str.contains(CONTESTABLE).to_numpy()
    out = {"file": path.name, "rows": int(len(frame)), "contestable_rows": int(contestable.sum()),
           "seconds": round(seconds, 2), "majority_label": majority, "estimated_shares": shares,
           "all": {}, "without_contestable": {}}
    for system in SYSTEMS:
        out["all"][system] = _summary(truth, preds[system])
        if contestable.any() and (~contestable).any():
            out["without_contestable"][system] = _summary(truth[~contestable], preds[system][~contestable])
    if path.stem in PROFILE_FILES:
        out["state_vs_criminal"] = {s: _state_vs_criminal(truth, preds[s]) for s in SYSTEMS}
        if contestable.any():
            out["state_vs_criminal_without_contestable"] = {
                s: _state_vs_criminal(truth[~contestable], preds[s][~contestable]) for s in SYSTEMS}
    out["uncertainty"] = _uncertainty(truth, preds, out["all"])
    out["criteria"] = _criterion_accuracy(path.stem, frame, preds)
    out["subsets"] = _subsets(path.stem, frame, truth, preds)
    out["largest_confusions"] = _confusions(frame, truth, preds["combined"], examples)
    results = preds["results"]
    out["held_back_by_topic"] = sum(OFF_TOPIC in r.explanation for r in results)
    out["held_back_by_length"] = sum(f"{TOO_FEW_WORDS} " in r.explanation for r in results)
    out["held_back_by_script"] = sum(NOT_LATIN in r.explanation for r in results)
    for key, doubt in (("cascade_doubt", CASCADE_DOUBT), ("state_link_doubt", STATE_LINK_DOUBT)):
        doubted = [i for i, r in enumerate(results) if doubt in r.explanation]
        wrong = int(sum(preds["combined"][i] != truth[i] for i in doubted))
        out[key] = {"flagged": len(doubted), "wrong": wrong}
    return out


def _uncertainty(truth: np.ndarray, preds, summaries: dict) -> dict:
    """95 % bootstrap intervals (rows resampled) of the combined classifier's accuracy and
    macro-F1, and of its gain over the better single system (rules or text, by accuracy) on the
    same resampled rows: whether "at least as good as the better single system" would hold on
    another sample of the source, or only on this one."""
    better = max(("rules", "text"), key=lambda s: summaries[s]["accuracy"])
    intervals = bootstrap_intervals(truth, preds["combined"], list(ROUTES), baseline=preds[better])
    return {"better_single_system": better, **intervals}


def _criterion_accuracy(stem: str, frame: pd.DataFrame, preds) -> dict:
    """Compare the rule layer's criteria with the source's own codes, where it has them."""
    linked, head = preds["state_linked"], preds["head_state_linked"]
    ci = np.array([bool(r.criteria["critical_infrastructure"].value) for r in preds["results"]])
    out = {}
    if stem.startswith("eurepoc"):
        state_rules = frame["route_rule"].astype(str).str.match(r"E[123] ").to_numpy()
        out["state_link"] = round(float(np.mean(linked == state_rules)), 4)
        if head is not None:
            out["state_link_text_head"] = round(float(np.mean(head == state_rules)), 4)
        receiver_ci = frame["receiver_is_ci"].astype(str).str.lower().eq("true").to_numpy()
        out["critical_infrastructure_receiver"] = round(float(np.mean(ci == receiver_ci)), 4)
        out["critical_infrastructure_recall"] = round(float(ci[receiver_ci].mean()), 4) if receiver_ci.any() else None
        # EuRepoC files ministries, parliaments, elections, police and universities under other
        # receiver categories, not under critical infrastructure: the same comparison without
        # the sectors its definition leaves out.
        ci_narrow = np.array([bool(set(r.criteria["critical_infrastructure"].value or []) - EUREPOC_NON_CI_SECTORS)
                              for r in preds["results"]])
        out["critical_infrastructure_receiver_eurepoc_sectors"] = round(float(np.mean(ci_narrow == receiver_ci)), 4)
        out["critical_infrastructure_recall_eurepoc_sectors"] = (round(float(ci_narrow[receiver_ci].mean()), 4)
                                                                 if receiver_ci.any() else None)
    if stem.startswith(("cfr", "dcid")):
        out["state_link_recall"] = round(float(linked.mean()), 4)  # every row is a State operation
        if head is not None:
            out["state_link_recall_text_head"] = round(float(head.mean()), 4)
    return out


def _names_a_state(frame: pd.DataFrame, state_linked: np.ndarray) -> np.ndarray:
    """Rows whose text names a State (a place alias of rules/criteria.toml, "Russian", "Pyongyang")
    or in which the rule layer found a State actor or State link: the rows whose route the text
    itself can tell. CFR's and DCID's labels come from their State columns, which the tool never sees."""
    with open(ROOT / "rules" / "criteria.toml", "rb") as handle:
        aliases = {a.lower() for names in tomllib.load(handle)["places"].values() for a in names}
    pattern = re.compile(r"(?<!\w)(?:" + "|".join(sorted(map(re.escape, aliases), key=len, reverse=True)) + r")(?!\w)")
    named = frame["text"].fillna("").str.lower().str.contains(pattern).to_numpy()
    return named | state_linked


def _subsets(stem: str, frame: pd.DataFrame, truth, preds) -> dict:
    """The subsets issue #3 sets targets on."""
    combined = preds["combined"]
    state = np.isin(combined, ["international-security", "intersection"])
    out = {}
    if stem.startswith(("cfr", "dcid")):
        out["state_route_recall"] = round(float(state.mean()), 4)
        out["state_route_recall_adapted"] = round(float(
            np.isin(preds["adapted"], ["international-security", "intersection"]).mean()), 4)
        named = _names_a_state(frame, preds["state_linked"])
        out["rows_naming_a_state"] = int(named.sum())
        out["state_route_recall_naming_a_state"] = round(float(state[named].mean()), 4) if named.any() else None
        out["state_route_recall_naming_none"] = round(float(state[~named].mean()), 4) if (~named).any() else None
        inter = truth == "intersection"
        if inter.any():
            out["intersection_recall"] = round(float((combined[inter] == "intersection").mean()), 4)
            out["intersection_rows"] = int(inter.sum())
            out["intersection_recall_adapted"] = round(float((preds["adapted"][inter] == "intersection").mean()), 4)
    if stem.startswith("eurepoc"):
        two = np.isin(truth, ["cybercrime", "international-security", "intersection"])
        out["macro_f1_all_labelled"] = label_metrics(truth[two], combined[two], list(ROUTES) + ["undetermined"])["macro_f1"]
        out["macro_f1_all_labelled_adapted"] = label_metrics(
            truth[two], preds["adapted"][two], list(ROUTES) + ["undetermined"])["macro_f1"]
    return out


def _confusions(frame, truth, predicted, examples: int) -> list[dict]:
    pairs = Counter((t, p) for t, p in zip(truth, predicted) if t != p)
    out = []
    for (t, p), n in pairs.most_common(4):
        ids = frame.loc[(truth == t) & (predicted == p), "id"].astype(str).tolist()
        out.append({"truth": t, "predicted": p, "rows": n, "example_ids": ids[:5]})
        if examples:
            print(f"\n## {t} -> {p} ({n})")
            for text in frame.loc[(truth == t) & (predicted == p), "text"].head(examples):
                print("  -", str(text)[:300].replace("\n", " "))
    return out


def to_markdown(report: dict) -> str:
    lines = [f"# External evaluation ({report['model_sha256'][:12]})", "",
             f"Command: `{report['command']}`", "",
             "Labels are each file's `route_hint` (rows with `unknown` skipped). `w/o contestable` leaves out "
             "rows labelled by the rules shared/data/README.md marks contestable (E6, T4, D6). Majority = the "
             "file's most common label. Undetermined counts as wrong.", ""]
    header = "| file | rows | system | accuracy | macro-F1 | recall cyber / intl / inter | accuracy w/o contestable | macro-F1 w/o contestable |"
    lines += [header, "|" + "---|" * 8]
    for f in report["files"]:
        for system in SYSTEMS:
            a = f["all"][system]
            w = f["without_contestable"].get(system)
            rec = " / ".join(f"{a['recall'].get(r, float('nan')):.2f}" if r in a["recall"] else "-" for r in ROUTES)
            lines.append(f"| {f['file'].replace('.jsonl', '')} | {f['rows']} | {system} | {a['accuracy']:.3f} | "
                         f"{a['macro_f1']:.3f} | {rec} | {w['accuracy'] if w else '-'} | {w['macro_f1'] if w else '-'} |")
    pooled = report["all_files"]
    lines += ["", f"All {len(report['files'])} files together ({pooled['rows']:,} rows), rows right: "
              + ", ".join(f"{system} {pooled[system]['right']:,} ({pooled[system]['accuracy']:.3f})" for system in SYSTEMS)
              + "."]
    lines += ["", "State-linked vs criminal accuracy (actor-profile files):", "",
              "| file | " + " | ".join(SYSTEMS) + " | combined w/o contestable |", "|" + "---|" * (len(SYSTEMS) + 2)]
    for f in report["files"]:
        if "state_vs_criminal" in f:
            s = f["state_vs_criminal"]
            w = f.get("state_vs_criminal_without_contestable", {}).get("combined", "-")
            lines.append(f"| {f['file'].replace('.jsonl', '')} | " + " | ".join(f"{s[k]:.3f}" for k in SYSTEMS) + f" | {w} |")
    lines += ["", "Route shares estimated from each file's texts without labels (`cyberroute priors FILE`), at which "
              "the adapted system classifies; the training corpus's are "
              + ", ".join(f"{c} {s:.3f}" for c, s in report["training_shares"].items()) + ":", "",
              "| file | " + " | ".join(ROUTES) + " |", "|" + "---|" * (len(ROUTES) + 1)]
    for f in report["files"]:
        lines.append(f"| {f['file'].replace('.jsonl', '')} | "
                     + " | ".join(f"{f['estimated_shares'][r]:.3f}" for r in ROUTES) + " |")
    lines += ["", "How far the combined figures could move (95 % bootstrap intervals, 1,000 resamples of each "
              "file's rows; the gain is over the better single system on the same resampled rows, and "
              "'share' is the share of resamples in which the combined classifier is at least as accurate):", "",
              "| file | accuracy | macro-F1 | better single | accuracy gain | share |", "|" + "---|" * 6]
    for f in report["files"]:
        u = f["uncertainty"]
        lines.append(f"| {f['file'].replace('.jsonl', '')} | {format_interval(u['accuracy'], ' to ')} | "
                     f"{format_interval(u['macro_f1'], ' to ')} | {u['better_single_system']} | "
                     f"{format_interval(u['accuracy_gain'], ' to ', signed=True)} | "
                     f"{u['accuracy_at_least_baseline']:.2f} |")
    lines += ["", "Criteria against the sources' codes, and the subsets with targets:", ""]
    for f in report["files"]:
        if f["criteria"] or f["subsets"]:
            lines.append(f"- {f['file']}: " + json.dumps({**f["criteria"], **f["subsets"]}))
    lines += ["", "Rows undetermined because they tell of nothing to route (no rule evidence and no word of "
              "routing.toml's [topic]): " + ", ".join(f"{f['file'].replace('.jsonl', '')} {f['held_back_by_topic']}"
                                                      for f in report["files"]) + ".",
              "", "Rows undetermined because they have fewer words than routing.toml's min_words: "
              + ", ".join(f"{f['file'].replace('.jsonl', '')} {f['held_back_by_length']}"
                          for f in report["files"]) + "; because most of their letters are not Latin: "
              + ", ".join(f"{f['file'].replace('.jsonl', '')} {f['held_back_by_script']}"
                          for f in report["files"]) + ".",
              "", "Results flagged because an intersection without a State rests on cascading effects the rules "
              "find no words for: " + ", ".join(
                  f"{f['file'].replace('.jsonl', '')} {f['cascade_doubt']['flagged']} ({f['cascade_doubt']['wrong']} wrong)"
                  for f in report["files"]) + ".",
              "", "Results flagged because they rest on a State where the rules read no State link: " + ", ".join(
                  f"{f['file'].replace('.jsonl', '')} {f['state_link_doubt']['flagged']} "
                  f"({f['state_link_doubt']['wrong']} wrong)" for f in report["files"]) + "."]
    lines += ["", "Largest confusions of the combined classifier (row ids only):", ""]
    for f in report["files"]:
        for c in f["largest_confusions"][:3]:
            lines.append(f"- {f['file']}: {c['truth']} -> {c['predicted']}: {c['rows']} rows, e.g. {', '.join(c['example_ids'][:3])}")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder of labelled JSON-lines files")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "external")
    parser.add_argument("--examples", type=int, default=0, help="print N misrouted texts per confusion (stdout only)")
    parser.add_argument("--model", type=Path, default=None, help="model directory (default: the shipped model)")
    args = parser.parse_args(argv)
    files = sorted(args.data.glob("*.jsonl"))
    if not files:
        print(f"error: no .jsonl files in {args.data}", file=sys.stderr)
        return 1
    classifier = Classifier(model=args.model)
    report = {"command": "python benchmarks/external.py " + " ".join(argv if argv is not None else sys.argv[1:]),
              "model_sha256": classifier.model.manifest["weights_sha256"],
              "training_shares": dict(zip(classifier.model.classes, classifier.training_shares.round(3).tolist())),
              "files": []}
    for path in files:
        report["files"].append(evaluate_file(classifier, path, args.examples))
        f = report["files"][-1]
        print(f"{path.name}: {f['rows']} rows, combined accuracy {f['all']['combined']['accuracy']:.3f}, "
              f"macro-F1 {f['all']['combined']['macro_f1']:.3f}", file=sys.stderr)
    rows = sum(f["rows"] for f in report["files"])
    report["all_files"] = {"rows": rows, **{
        system: {"right": sum(f["all"][system]["right"] for f in report["files"]),
                 "accuracy": round(sum(f["all"][system]["right"] for f in report["files"]) / rows, 4)}
        for system in SYSTEMS}}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    args.out.with_suffix(".md").write_text(to_markdown(report))
    print(f"wrote {args.out.with_suffix('.md')} and .json", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
