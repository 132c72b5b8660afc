"""Print the distribution tables of datasets/README.md from datasets/incidents.csv."""
import csv
import sys
from collections import Counter
from pathlib import Path

path = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "datasets" / "incidents.csv")
rows = list(csv.DictReader(open(path, newline="", encoding="utf-8")))
n = len(rows)
words = [len(r["text"].split()) for r in rows]
print(f"{n} descriptions, {len({r['group_id'] for r in rows})} incident groups; "
      f"median {sorted(words)[n // 2]} words; {sum(w < 25 for w in words)} ({sum(w < 25 for w in words) / n:.0%}) under 25 words")
for column in ("route", "intersection_reason", "actor_type", "state_sponsorship", "cascading_effects", "motive", "style", "basis"):
    counts = Counter(r[column] or "(none)" for r in rows)
    print(f"\n| {column} | rows | share |\n|---|---|---|")
    for value, count in counts.most_common():
        print(f"| {value} | {count} | {count / n:.0%} |")
sectors = Counter(s for r in rows for s in r["critical_infrastructure"].split(";") if s)
print("\n| sector | rows |\n|---|---|")
for value, count in sectors.most_common():
    print(f"| {value} | {count} |")
