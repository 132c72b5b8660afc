"""Speed and memory of cyberroute on this machine, against a bare scikit-learn floor.

For each N (default 10k, 100k, 1M) it writes N realistic descriptions (sentences of the shipped
corpus recombined, 10-150 words, seeded) to a CSV, then measures in one run:

- `cyberroute batch` wall time, descriptions per second and peak RSS (resource usage of the
  child processes, as reported by the OS);
- the reference floor: a bare scikit-learn pipeline (TfidfVectorizer word 1-2 + char_wb 3-5,
  LogisticRegression) trained on the corpus, predicting the same rows from the same CSV in one
  process; the ratio of the two throughputs is the headline figure;

and once: the first batch after an install (2,000 rows with an empty numba cache, so that the
compiled kernels compile; the timed runs then start from a warm cache); the CPU time per
description of the rule layer, the text model and the whole batch path in one process, and the
rule layer's share of it (on the first 5,000 generated rows, median of three passes); `cyberroute score` cold start
(median of 5); and `cyberroute train` on the shipped corpus.

Usage: python benchmarks/speed.py [--sizes 10000 100000 1000000] [--out benchmarks/results/speed]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "datasets" / "incidents.csv"
CLI = [sys.executable, "-m", "classifier"]
FIRST_RUN_ROWS = 2000

REFERENCE = r'''
import sys, time, pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline
corpus = pd.read_csv(sys.argv[1])
model = Pipeline([("f", FeatureUnion([("w", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)),
                                      ("c", TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True))])),
                  ("lr", LogisticRegression(max_iter=2000))]).fit(corpus.text, corpus.route)
start = time.perf_counter()
n = 0
for chunk in pd.read_csv(sys.argv[2], chunksize=10000):
    model.predict(chunk.text.fillna(""))
    n += len(chunk)
print(n, time.perf_counter() - start)
'''


def sentences() -> list[str]:
    with open(CORPUS, newline="", encoding="utf-8") as handle:
        texts = [row["text"] for row in csv.DictReader(handle)]
    return [s.strip() for t in texts for s in re.split(r"(?<=[.;])\s+", t) if len(s.split()) >= 4]


def make_input(path: Path, n: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    pool = sentences()
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text"])
        for i in range(n):
            target, words = rng.randint(10, 150), []
            while len(words) < target:
                words += rng.choice(pool).split()
            writer.writerow([i, " ".join(words[:max(target, 10)])])


_MEASURE = ("import resource, subprocess, sys, time\n"
            "start = time.perf_counter()\n"
            "proc = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
            "wall = time.perf_counter() - start\n"
            "sys.stderr.write(proc.stderr)\n"
            "print(proc.returncode, wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
            "print(proc.stdout, end='')\n")


def run_child(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """Wall seconds, peak RSS in MB (largest process of the command's tree, as the OS reports it
    through getrusage of a fresh parent, so earlier runs do not count), and stdout."""
    proc = subprocess.run([sys.executable, "-c", _MEASURE, *command], capture_output=True, text=True, cwd=ROOT,
                          env=env)
    first, _, stdout = proc.stdout.partition("\n")
    code, wall, rss_kb = first.split()
    if int(code):
        raise RuntimeError(f"{' '.join(command)} failed: {proc.stderr[-2000:]}")
    return float(wall), int(rss_kb) / 1024, stdout


def stage_costs(data: Path, sample: int = 5000, passes: int = 3) -> dict[str, float]:
    """CPU microseconds per description (one process) of the rule layer, the text model and the
    whole batch path (``classify_rows``: rules, text model, combiner, decision, row), on the
    first rows of ``data``; and the rule layer's share of the batch path.

    The rule layer is timed as the batch path runs it, a chunk at a time (``rule_rows``: the
    compiled rule engine, the routing policy and the combiner's rule features).

    The three are timed chunk by chunk, interleaved, with the garbage collector set as `batch`
    sets it, so that drift in the machine's speed affects them alike. The sample is timed
    ``passes`` times: each figure is the median pass, and the share's range is reported too
    (one pass measured shares from 49 % to 63 % on the same code).
    """
    from classifier.api import Classifier
    from classifier.batch import batch_gc

    with open(data, newline="", encoding="utf-8") as handle:
        texts = [row["text"] for _, row in zip(range(sample), csv.DictReader(handle))]
    classifier = Classifier()
    classifier.classify_rows(texts[:100])  # warm up
    per_row = 1e6 / len(texts)
    measured = []
    with batch_gc():
        for _ in range(passes):
            rules = text_model = total = 0.0
            for i in range(0, len(texts), 512):
                chunk = texts[i:i + 512]
                start = time.process_time()
                classifier.rule_rows(chunk)
                middle = time.process_time()
                classifier.model.text_model.predict_proba(chunk)
                end = time.process_time()
                classifier.classify_rows(chunk)
                rules, text_model = rules + middle - start, text_model + end - middle
                total += time.process_time() - end
            measured.append({"rule_layer_us": round(rules * per_row, 1), "text_model_us": round(text_model * per_row, 1),
                             "batch_path_us": round(total * per_row, 1), "rule_layer_share": round(rules / total, 3)})
    median = {key: statistics.median(m[key] for m in measured) for key in measured[0]}
    shares = [m["rule_layer_share"] for m in measured]
    return median | {"passes": passes, "rule_layer_share_range": [min(shares), max(shares)]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "speed")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="cyberroute-speed-"))
    report = {"command": "python benchmarks/speed.py " + " ".join(argv if argv is not None else sys.argv[1:]),
              "cores": os.cpu_count(), "python": sys.version.split()[0], "runs": []}
    try:
        # The first batch after an install compiles the numba kernels (text scorer and rule layer),
        # which are then cached on disk. That run is measured once, with an empty cache directory;
        # then the real cache is warmed, so that the timed runs below measure the steady state.
        first = work / "first.csv"
        make_input(first, FIRST_RUN_ROWS)
        batch_first = CLI + ["batch", str(first), "-o", str(work / "out.csv"), "--no-progress"]
        wall, rss, _ = run_child(batch_first, env={**os.environ, "NUMBA_CACHE_DIR": str(work / "empty-numba-cache")})
        report["first_run"] = {"rows": FIRST_RUN_ROWS, "seconds": round(wall, 2), "peak_rss_mb": round(rss, 1)}
        run_child(batch_first)
        # Each measurement starts a fresh child, so ru_maxrss (a high-water mark over all
        # children) is read from a fresh interpreter per measurement.
        for n in args.sizes:
            data = work / f"in-{n}.csv"
            make_input(data, n)
            wall, rss, _ = run_child(CLI + ["batch", str(data), "-o", str(work / "out.csv"), "--no-progress"])
            _, ref_rss, ref_out = run_child([sys.executable, "-c", REFERENCE, str(CORPUS), str(data)])
            ref_rows, ref_seconds = ref_out.split()
            run = {"n": n, "batch_seconds": round(wall, 2), "batch_per_second": round(n / wall),
                   "batch_peak_rss_mb": round(rss, 1),
                   "reference_predict_seconds": round(float(ref_seconds), 2),
                   "reference_per_second": round(n / float(ref_seconds)),
                   "reference_peak_rss_mb": round(ref_rss, 1),
                   "ratio_to_reference": round((n / wall) / (n / float(ref_seconds)), 2)}
            report["runs"].append(run)
            print(json.dumps(run), file=sys.stderr)
            if "stages" not in report:
                report["stages"] = stage_costs(data)
                report["rule_layer_share"] = report["stages"]["rule_layer_share"]
            data.unlink()
        colds = []
        for _ in range(5):
            start = time.perf_counter()
            subprocess.run(CLI + ["score", "A ransomware gang encrypted a dental chain's records and demanded bitcoin."],
                           check=True, capture_output=True, cwd=ROOT)
            colds.append(time.perf_counter() - start)
        report["score_cold_start_median_seconds"] = round(statistics.median(colds), 3)
        start = time.perf_counter()
        subprocess.run(CLI + ["train", str(CORPUS), "-o", str(work / "model")], check=True, capture_output=True, cwd=ROOT)
        report["train_seconds"] = round(time.perf_counter() - start, 2)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    lines = [f"# Speed ({report['cores']} cores, Python {report['python']})", "", f"Command: `{report['command']}`", "",
             "| N | batch s | batch rows/s | peak RSS MB | reference rows/s | ratio |", "|---|---|---|---|---|---|"]
    for r in report["runs"]:
        lines.append(f"| {r['n']:,} | {r['batch_seconds']} | {r['batch_per_second']:,} | {r['batch_peak_rss_mb']} | "
                     f"{r['reference_per_second']:,} | {r['ratio_to_reference']} |")
    stages = report["stages"]
    low, high = stages["rule_layer_share_range"]
    lines += ["", f"- rule layer share of the batch path's CPU time: {report['rule_layer_share']:.0%} "
              f"(median of {stages['passes']} passes; {low:.0%} to {high:.0%})",
              f"- CPU per description, one process (median pass): rule layer {stages['rule_layer_us']} µs, text "
              f"model {stages['text_model_us']} µs, whole batch path {stages['batch_path_us']} µs",
              f"- first batch after installing ({report['first_run']['rows']:,} rows, empty numba cache, so both "
              f"compiled kernels compile): {report['first_run']['seconds']} s, peak RSS {report['first_run']['peak_rss_mb']} MB",
              f"- `cyberroute score` cold start, median of 5: {report['score_cold_start_median_seconds']} s",
              f"- `cyberroute train datasets/incidents.csv` (with grouped CV): {report['train_seconds']} s"]
    args.out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
