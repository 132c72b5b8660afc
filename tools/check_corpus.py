"""Check corpus files (datasets/incidents.csv or datasets/parts/*.csv) against the labelling guide.

Usage: python tools/check_corpus.py FILE [FILE ...]
Prints every problem with file, row and column; exits 1 if any.
"""
import csv
import sys
from collections import Counter

COLUMNS = ["id", "group_id", "text", "route", "intersection_reason", "actor_type",
           "state_sponsorship", "critical_infrastructure", "cascading_effects", "motive",
           "style", "basis"]
ALLOWED = {
    "route": {"cybercrime", "international-security", "intersection"},
    "intersection_reason": {"", "state-actor-in-crime", "state-operation-disguised-as-crime",
                            "criminal-proxy-of-state",
                            "crime-on-critical-infrastructure-with-cascading-effects"},
    "actor_type": {"state", "state-sponsored", "criminal", "hacktivist", "insider", "unknown"},
    "state_sponsorship": {"confirmed", "suspected", "none", "unknown"},
    "cascading_effects": {"yes", "no"},
    "motive": {"financial", "espionage", "sabotage", "influence", "ideological", "unknown"},
    "style": {"newswire", "advisory", "analyst-note", "narrative", "one-liner"},
    "basis": {"real", "composite"},
}
# What only States hold or want: espionage against these, told without any actor, is presumed
# State work (datasets/README.md, "Labelling guide").
STATE_SECRET_SECTORS = {"government", "defence", "elections", "nuclear", "space"}
SECTORS = {"energy", "water", "health", "finance", "telecom", "transport", "government",
           "elections", "defence", "food", "chemical", "nuclear", "space",
           "digital-infrastructure", "manufacturing", "education", "emergency-services"}


def check(path):
    problems = []
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames != COLUMNS:
            return [f"{path}: header must be exactly {','.join(COLUMNS)}; got {reader.fieldnames}"]
        seen_ids, seen_texts = set(), set()
        for rownum, row in enumerate(reader, start=2):
            where = f"{path}:{rownum}"
            if None in row or any(v is None for v in row.values()):
                problems.append(f"{where}: wrong number of fields")
                continue
            for col, allowed in ALLOWED.items():
                if row[col] not in allowed:
                    problems.append(f"{where}: column {col}: {row[col]!r} not in {sorted(allowed)}")
            sectors = [s for s in row["critical_infrastructure"].split(";") if s]
            for s in sectors:
                if s not in SECTORS:
                    problems.append(f"{where}: column critical_infrastructure: unknown sector {s!r}")
            if row["id"] in seen_ids:
                problems.append(f"{where}: duplicate id {row['id']}")
            seen_ids.add(row["id"])
            norm = " ".join(row["text"].lower().split())
            if norm in seen_texts:
                problems.append(f"{where}: duplicate text")
            seen_texts.add(norm)
            if len(row["text"].split()) < 4:
                problems.append(f"{where}: text too short")
            state = (row["actor_type"] in {"state", "state-sponsored"}
                     or row["state_sponsorship"] in {"confirmed", "suspected"})
            route, reason = row["route"], row["intersection_reason"]
            if (route == "intersection") != bool(reason):
                problems.append(f"{where}: intersection_reason must be set iff route is intersection")
            if state and route == "cybercrime":
                problems.append(f"{where}: State involvement labelled but route is cybercrime")
            presumed_state_espionage = (
                row["actor_type"] == "unknown" and row["state_sponsorship"] == "unknown"
                and row["motive"] == "espionage" and STATE_SECRET_SECTORS.intersection(sectors))
            if not state and route == "international-security" and not presumed_state_espionage:
                problems.append(f"{where}: international-security needs actor state/state-sponsored or sponsorship confirmed/suspected, "
                                f"or (presumed State espionage) actor and sponsorship unknown, motive espionage "
                                f"and a sector among {sorted(STATE_SECRET_SECTORS)}")
            if reason == "crime-on-critical-infrastructure-with-cascading-effects":
                if not sectors or row["cascading_effects"] != "yes":
                    problems.append(f"{where}: CI+cascade reason needs sectors and cascading_effects=yes")
            if reason in {"state-actor-in-crime", "state-operation-disguised-as-crime",
                          "criminal-proxy-of-state"} and not state:
                problems.append(f"{where}: reason {reason} needs State involvement in the criteria")
    return problems


def main(paths):
    all_problems = []
    for path in paths:
        all_problems += check(path)
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        routes = Counter(r.get("route") for r in rows)
        short = sum(len((r.get("text") or "").split()) < 25 for r in rows)
        print(f"{path}: {len(rows)} rows, {len({r.get('group_id') for r in rows})} groups, "
              f"routes {dict(routes)}, under 25 words: {short}")
    for p in all_problems:
        print(p)
    return 1 if all_problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
