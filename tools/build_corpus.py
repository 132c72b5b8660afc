"""Merge corpus parts into datasets/incidents.csv, checking them first.

Usage: python tools/build_corpus.py datasets/parts/*.csv
Near-duplicate texts (same words after lower-casing and stripping punctuation) across parts are
reported and the later one dropped; ids and group ids stay as written.
"""
import csv
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from check_corpus import COLUMNS, check  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "datasets" / "incidents.csv"


def key(text):
    return " ".join(re.findall(r"\w+", text.lower()))


def main(paths):
    problems = [p for path in paths for p in check(path)]
    if problems:
        print("\n".join(problems))
        return 1
    rows, seen, dropped = [], set(), 0
    for path in paths:
        with open(path, newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                k = key(row["text"])
                if k in seen:
                    dropped += 1
                    continue
                seen.add(k)
                rows.append(row)
    with open(OUT, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    print(f"{OUT}: {len(rows)} rows ({dropped} duplicates dropped)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
