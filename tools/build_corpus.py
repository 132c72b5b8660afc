"""Merge corpus parts into datasets/incidents.csv, checking them first.

Usage: python tools/build_corpus.py datasets/parts/p*.csv   (parts are read in sorted path order)

- Every part must pass tools/check_corpus.py.
- Exact duplicates (same words after lower-casing and stripping punctuation) are dropped.
- Incident groups are joined when writers retold one incident under two group ids: the pairs in
  SAME_INCIDENT (found by the writers), and any two texts from different groups whose TF-IDF
  cosine similarity is at least SIMILAR (likely retellings). A joined group takes the smallest id.
  This keeps paraphrases of one incident on one side of every split.
"""
import csv
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from check_corpus import COLUMNS, check  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "datasets" / "incidents.csv"
SIMILAR = 0.35
SAME_INCIDENT = [
    ("p11-g046", "p10-g016"), ("p11-g030", "p9-g010"), ("p11-g009", "p8-g062"), ("p11-g052", "p7-g075"),
    ("p11-g033", "p9-g002"), ("p11-g074", "p8-g073"), ("p11-g058", "p8-g032"),
    # Found by the p25 writer (session 11): one incident each, told under two group ids.
    ("p22-g049", "p4-g019"), ("p22-g053", "p9-g108"), ("p22-g008", "p2-g059"), ("p22-g044", "p3-g036"),
    # Found by the label audit (session 22): Dark Basin / BellTroX, told in p11-p12 and in p32.
    ("p32-g068", "p11-g056"),
]


def key(text):
    return " ".join(re.findall(r"\w+", text.lower()))


class Groups:
    """Union-find over group ids."""

    def __init__(self):
        self.parent = {}

    def find(self, g):
        self.parent.setdefault(g, g)
        while self.parent[g] != g:
            self.parent[g] = self.parent[self.parent[g]]
            g = self.parent[g]
        return g

    def join(self, a, b):
        a, b = self.find(a), self.find(b)
        if a != b:
            keep, drop = sorted((a, b))
            self.parent[drop] = keep
            return True
        return False


def similar_pairs(rows):
    from sklearn.feature_extraction.text import TfidfVectorizer

    matrix = TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True, stop_words="english").fit_transform(
        [r["text"] for r in rows])
    sims = (matrix @ matrix.T).tocoo()
    for i, j, v in zip(sims.row, sims.col, sims.data):
        if i < j and v >= SIMILAR and rows[i]["group_id"] != rows[j]["group_id"]:
            yield i, j, v


def build(paths):
    """The merged rows of the parts (read in sorted path order) and the number of duplicates dropped
    and groups joined. Raises ValueError listing every problem if a part fails check_corpus."""
    paths = sorted(str(p) for p in paths)
    problems = [p for path in paths for p in check(path)]
    if problems:
        raise ValueError("\n".join(problems))
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
    groups = Groups()
    joined = sum(groups.join(a, b) for a, b in SAME_INCIDENT)
    for i, j, v in similar_pairs(rows):
        if groups.join(rows[i]["group_id"], rows[j]["group_id"]):
            joined += 1
            print(f"joined {rows[i]['group_id']} and {rows[j]['group_id']} (cosine {v:.2f})", file=sys.stderr)
    for row in rows:
        row["group_id"] = groups.find(row["group_id"])
    return rows, dropped, joined


def write(rows, path):
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def main(paths):
    try:
        rows, dropped, joined = build(paths)
    except ValueError as problems:
        print(problems)
        return 1
    write(rows, OUT)
    print(f"{OUT}: {len(rows)} rows in {len({r['group_id'] for r in rows})} groups "
          f"({dropped} duplicates dropped, {joined} group joins)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
