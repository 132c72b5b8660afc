"""`cyberroute rules check`: a Snorkel-style report on each labelling rule.

For every cue, sector and gazetteer actor: coverage (share of texts where it fires), overlap
(share where another rule for the same criterion fires too), conflict (share where such a rule
votes for another value) and, where the CSV has the matching label column, accuracy (share of
its firings whose label agrees). Routing rules get coverage and route accuracy.

With ``terms``, the same accuracy for each phrase of a lexicon that fired: a cue whose accuracy
is low is most often a few loose words in a long list ("monitoring" among the espionage terms
fires on "the company is monitoring for misuse"), which the per-rule figure cannot point to.

Accuracy says how often a rule is right when it fires, not what it misses. So the report also
gives, for each labelled value of each criterion column (a sector, a motive, an actor type, a
cascade), how many rows carry it and in how many the rule layer's finding has it: the recall of
the whole layer, which tells an analyst editing a lexicon where phrases are missing.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from .api import RuleLayer
from .matcher import fold
from .render import value_text

# A phrase is listed by `--terms` once this many labelled texts have it (fewer say little).
MIN_TERM_LABELLED = 5


@dataclass
class RuleStats:
    rule: str
    criterion: str
    value: str
    fired: int = 0
    overlaps: int = 0
    conflicts: int = 0
    labelled: int = 0
    correct: int = 0

    def row(self, n: int) -> dict:
        return {"rule": self.rule, "criterion": self.criterion, "value": self.value,
                "coverage": round(self.fired / n, 4) if n else 0.0,
                "overlap": round(self.overlaps / n, 4) if n else 0.0,
                "conflict": round(self.conflicts / n, 4) if n else 0.0,
                "accuracy": round(self.correct / self.labelled, 4) if self.labelled else None,
                "fired": self.fired}


def _labels_agree(criterion: str, value: str, label_row: dict) -> bool | None:
    """Does a rule's vote agree with a labelled row? None when the row has no such label."""
    if criterion == "actor_type" and "actor_type" in label_row:
        return label_row["actor_type"] == value
    if criterion == "state_link" and "state_sponsorship" in label_row:
        label = label_row["state_sponsorship"]
        return label in ("confirmed", "suspected") if value == "suspected" else label == value
    if criterion == "attribution" and "state_sponsorship" in label_row:
        return label_row["state_sponsorship"] == value
    if criterion == "cascading_effects" and "cascading_effects" in label_row:
        return label_row["cascading_effects"] == value
    if criterion == "motive" and "motive" in label_row:
        return label_row["motive"] == value
    if criterion == "sector" and "critical_infrastructure" in label_row:
        return value in label_row["critical_infrastructure"].split(";")
    if criterion == "signal" and value == "enforcement" and "route" in label_row:
        # Enforcement sets the agencies it names aside as enforcers: right where the case is crime.
        return label_row["route"] == "cybercrime"
    reasons = {"criminal-disguise": "state-operation-disguised-as-crime", "criminal-proxy": "criminal-proxy-of-state"}
    if criterion == "signal" and value in reasons and "intersection_reason" in label_row:
        return label_row["intersection_reason"] == reasons[value]
    # The no-incident signal: every labelled row tells of an incident, so there is no label to check.
    return None


# Criterion columns of a labelled CSV whose values the layer's findings can be checked against,
# and the values that say nothing was found (not counted as a value to find).
_RECALL_COLUMNS = ("actor_type", "state_sponsorship", "critical_infrastructure", "cascading_effects", "motive")
_NOTHING = {"", "unknown", "none", "no"}


def _found_values(column: str, finding) -> set[str]:
    """The values the layer's finding for ``column`` holds (sectors are a list)."""
    value = finding.value
    if column == "critical_infrastructure":
        return set(value or [])
    if column == "state_sponsorship" and value == "confirmed":
        return {"confirmed", "suspected"}  # a confirmed link is found where the label only suspects one
    return {value} if isinstance(value, str) else set()


class _LabelRecall:
    """Per labelled value of a criterion column: rows that carry it, rows whose finding has it."""

    def __init__(self):
        self.counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])

    def add(self, analysis, labels: dict) -> None:
        for column in _RECALL_COLUMNS:
            if column not in labels or column not in analysis.criteria:
                continue
            wanted = set(str(labels[column]).split(";")) if column == "critical_infrastructure" else {str(labels[column])}
            found = _found_values(column, analysis.criteria[column])
            for value in wanted - _NOTHING:
                self.counts[(column, value)][0] += 1
                self.counts[(column, value)][1] += value in found

    def rows(self) -> list[dict]:
        return [{"criterion": column, "value": value, "labelled": labelled, "found": found,
                 "recall": round(found / labelled, 4)}
                for (column, value), (labelled, found) in sorted(self.counts.items())]


class _TermStats:
    """Per phrase of a cue or sector lexicon: labelled texts it fired in, and those whose label agrees."""

    def __init__(self):
        self.counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])

    def add(self, rule: str, phrase: str, agree: bool) -> None:
        entry = self.counts[(rule, phrase)]
        entry[0] += 1
        entry[1] += agree

    def rows(self, votes: dict, min_labelled: int) -> list[dict]:
        """Phrases with at least ``min_labelled`` labelled firings, least accurate first."""
        rows = [{"rule": rule, "phrase": phrase, "value": votes[rule][1], "labelled": labelled,
                 "correct": correct, "accuracy": round(correct / labelled, 4)}
                for (rule, phrase), (labelled, correct) in self.counts.items() if labelled >= min_labelled]
        return sorted(rows, key=lambda r: (r["accuracy"], -r["labelled"], r["rule"], r["phrase"]))


def rule_report(layer: RuleLayer, frame, text_column: str = "text", terms: bool = False,
                min_term_labelled: int = MIN_TERM_LABELLED) -> dict:
    """Per-rule statistics over the texts of ``frame`` (labels used where columns exist).

    Parameters
    ----------
    layer : RuleLayer
    frame : pandas.DataFrame
        Texts in ``text_column``; label columns (``motive``, ``actor_type``, ...) where present.
    terms : bool
        Also report, under ``"terms"``, the accuracy of each phrase of a cue or sector lexicon
        (gazetteer names are left out: their accuracy is their actor's) that fired in at least
        ``min_term_labelled`` labelled texts, least accurate first.
    """
    rules = layer.rules
    votes: dict[str, tuple[str, str]] = {c.id: (c.criterion, c.value) for c in rules.cues + rules.sectors}
    # Gazetteer actors are listed only when they fire (there are hundreds); cues always are, even
    # a cue whose id starts with "actor." as a gazetteer entry's does.
    gazetteer = {f"actor.{a.name}" for a in rules.actors} - {c.id for c in rules.cues}
    votes.update({f"actor.{a.name}": ("actor_type", a.actor_type) for a in rules.actors})
    stats = {rule: RuleStats(rule, *vote) for rule, vote in votes.items()}
    routing = {r.id: {"rule": r.id, "route": r.route, "fired": 0, "labelled": 0, "correct": 0}
               for r in rules.routing_rules}
    label_columns = [c for c in ("actor_type", "state_sponsorship", "critical_infrastructure",
                                 "cascading_effects", "motive", "intersection_reason", "route")
                     if c in frame.columns]
    records = frame[label_columns].to_dict("records") if label_columns else [{}] * len(frame)
    recall = _LabelRecall()
    term_stats = _TermStats()
    lexicons = {c.id for c in rules.cues + rules.sectors}
    for text, labels in zip(frame[text_column].tolist(), records):
        analysis, decision = layer.analyse(text if isinstance(text, str) else "")
        recall.add(analysis, labels)
        fired = {h.rule for h in analysis.hits if not h.negated and h.rule in votes}
        by_criterion = defaultdict(set)
        for rule in fired:
            by_criterion[votes[rule][0]].add(rule)
        for rule in fired:
            criterion, value = votes[rule]
            s = stats[rule]
            s.fired += 1
            others = by_criterion[criterion] - {rule}
            s.overlaps += bool(others)
            s.conflicts += any(votes[o][1] != value for o in others)
            agree = _labels_agree(criterion, value, labels)
            if agree is not None:
                s.labelled += 1
                s.correct += agree
                if terms and rule in lexicons:
                    # Each phrase once per text, as it was matched (a {place} template by the
                    # place it matched), folded as the lexicons are.
                    for phrase in {fold(h.text) for h in analysis.hits if h.rule == rule and not h.negated}:
                        term_stats.add(rule, phrase, agree)
        entry = routing[decision.rule_id]
        entry["fired"] += 1
        if "route" in labels:
            entry["labelled"] += 1
            entry["correct"] += labels["route"] == decision.route
    n = len(frame)
    # Texts that routing.toml's [topic] holds back: an analyst trimming the list sees what it costs.
    texts = [t for t in frame[text_column].tolist() if isinstance(t, str) and t.strip()]
    # And texts that say no attack took place (RoutingPolicy.denies_incident).
    table = layer.engine.analyse_table(texts) if texts else None
    held_back = int((~layer.policy.on_topic(table)).sum()) if texts else 0
    denied = int(layer.policy.denies_incident(table).sum()) if texts else 0
    report = {
        "texts": n,
        "rules": [s.row(n) for s in stats.values() if s.fired or s.rule not in gazetteer],
        # A rule that abstains (route undetermined) has no accuracy: no label is "undetermined".
        "routing": [{"rule": e["rule"], "route": e["route"],
                     "coverage": round(e["fired"] / n, 4) if n else 0.0,
                     "accuracy": round(e["correct"] / e["labelled"], 4)
                     if e["labelled"] and e["route"] != "undetermined" else None}
                    for e in routing.values()],
        "actors_never_fired": sum(1 for s in stats.values() if s.rule in gazetteer and not s.fired),
        "held_back_by_topic": held_back,
        "held_back_as_no_incident": denied,
        "label_recall": recall.rows(),
    }
    if terms:
        report["terms"] = term_stats.rows(votes, min_term_labelled)
    return report


def _width(rows: list[dict], key: str, title: str, least: int = 0) -> int:
    """A text column as wide as its longest entry or title, plus two spaces (at least ``least``),
    so that no rule id, value or sector is cut."""
    return max(least, 2 + max([len(title)] + [len(str(row[key])) for row in rows]))


def _share(value: float) -> str:
    """A share for a 9-wide column: "<0.001" for one that three decimals would show as 0.000 (a
    rule that fired once in a few thousand texts has fired, and its accuracy beside it is real)."""
    return f"{'<0.001' if 0 < value < 0.0005 else f'{value:.3f}':>9}"


def format_report(report: dict) -> str:
    rule_w, value_w = _width(report["rules"], "rule", "rule"), _width(report["rules"], "value", "value")
    lines = [f"{report['texts']} texts", "",
             f"{'rule':<{rule_w}}{'value':<{value_w}}{'coverage':>9}{'overlap':>9}{'conflict':>9}{'accuracy':>9}"]
    for row in sorted(report["rules"], key=lambda r: (-r["coverage"], r["rule"])):
        acc = "-" if row["accuracy"] is None else f"{row['accuracy']:.2f}"
        lines.append(f"{row['rule']:<{rule_w}}{row['value']:<{value_w}}{_share(row['coverage'])}"
                     f"{_share(row['overlap'])}{_share(row['conflict'])}{acc:>9}")
    routing_w, route_w = _width(report["routing"], "rule", "routing rule"), _width(report["routing"], "route", "route")
    lines += ["", f"{'routing rule':<{routing_w}}{'route':<{route_w}}{'coverage':>9}{'accuracy':>9}"]
    for row in report["routing"]:
        acc = "-" if row["accuracy"] is None else f"{row['accuracy']:.2f}"
        lines.append(f"{row['rule']:<{routing_w}}{row['route']:<{route_w}}{_share(row['coverage'])}{acc:>9}")
    # Routing rules are tried in order: one that decides nothing is most often placed after a
    # rule that takes every text it would (a new rule after `crime`, say).
    idle = [row["rule"] for row in report["routing"] if row["coverage"] == 0]
    if idle and report["texts"]:
        lines.append(f"\nrouting rules that decided none of these texts: {', '.join(idle)} (rules are tried in "
                     f"order and the first whose conditions hold decides: an earlier rule may take every text "
                     f"these would, or no text here meets their conditions)")
    lines.append(f"\n{report['actors_never_fired']} gazetteer actors never fired on these texts (not listed).")
    lines.append(f"{report['held_back_by_topic']} of the {report['texts']} texts tell of nothing to route "
                 f"(no rule evidence and no word of routing.toml's [topic]): undetermined.")
    lines.append(f"{report['held_back_as_no_incident']} of the {report['texts']} texts say no cyber attack took place "
                 f"and name no attacker or State (the no-incident signal): undetermined.")
    if report["label_recall"]:
        recall = report["label_recall"]
        # 26 at least: the layout this table has always had.
        criterion_w, label_w = _width(recall, "criterion", "criterion", 26), _width(recall, "value", "value", 26)
        lines += ["", "what the rule layer finds of each labelled value (recall)",
                  f"{'criterion':<{criterion_w}}{'value':<{label_w}}{'labelled':>9}{'found':>9}{'recall':>9}"]
        for row in recall:
            lines.append(f"{row['criterion']:<{criterion_w}}{row['value']:<{label_w}}{row['labelled']:>9}"
                         f"{row['found']:>9}{row['recall']:>9.2f}")
    if "terms" in report:
        lines += ["", _terms_table(report["terms"])]
    return "\n".join(lines)


def _terms_table(rows: list[dict]) -> str:
    """The phrases' accuracy, least accurate first: where a lexicon's loose words are."""
    if not rows:
        return "no phrase fired in enough labelled texts to be listed (see --min-labelled)"
    rule_w, phrase_w = _width(rows, "rule", "rule"), _width(rows, "phrase", "phrase")
    value_w = _width(rows, "value", "value")
    lines = ["each phrase's accuracy where it fired (least accurate first)",
             f"{'rule':<{rule_w}}{'phrase':<{phrase_w}}{'value':<{value_w}}{'labelled':>9}{'correct':>9}{'accuracy':>9}"]
    for row in rows:
        lines.append(f"{row['rule']:<{rule_w}}{row['phrase']:<{phrase_w}}{row['value']:<{value_w}}"
                     f"{row['labelled']:>9}{row['correct']:>9}{row['accuracy']:>9.2f}")
    return "\n".join(lines)


def compare_rules(before: RuleLayer, after: RuleLayer, texts: list[str], labels: list | None = None,
                  wheres: list[str] | None = None) -> dict:
    """What an edit of the rules changes on ``texts``: the rows whose criteria values or rule
    route differ between the ``before`` and ``after`` rule layers, and, where ``labels`` holds a
    route, how many changed routes are now right, now wrong, or wrong both before and after
    (``still_wrong``: from undetermined or another wrong route to a wrong one). Sectors are
    compared as sets: the same sectors found in another order are no change. A changed row is
    named by ``wheres`` (its place in the file: "row 52", "line 7"), else by its position from 1."""
    labels = labels if labels is not None else [None] * len(texts)
    old_table, old_verdicts, _ = before.rule_rows(texts)
    new_table, new_verdicts, _ = after.rule_rows(texts)
    changed, now_right, now_wrong, still_wrong, criteria_changed, route_changed = [], 0, 0, 0, 0, 0
    for row, label in enumerate(labels):
        old_values, new_values = _as_sets(old_table.criteria_values(row)), _as_sets(new_table.criteria_values(row))
        old_route, new_route = old_verdicts.routes[row], new_verdicts.routes[row]
        if old_values == new_values and old_route == new_route:
            continue
        criteria_changed += old_values != new_values
        route_changed += old_route != new_route
        if old_route != new_route and label:
            now_right += new_route == label
            now_wrong += old_route == label
            still_wrong += label not in (old_route, new_route)
        changed.append({"row": row + 1, "where": wheres[row] if wheres else f"text {row + 1}",
                        "route_before": old_route, "route_after": new_route,
                        "criteria": {name: [value, new_values[name]] for name, value in old_values.items()
                                     if value != new_values[name]}})
    return {"texts": len(texts), "criteria_changed": criteria_changed, "route_changed": route_changed,
            "labelled": sum(1 for label in labels if label), "now_right": now_right, "now_wrong": now_wrong,
            "still_wrong": still_wrong, "changed": changed}


def _as_sets(values: dict) -> dict:
    """Criteria values with a list (the sectors) sorted, so that an order is no change."""
    return {name: sorted(value) if isinstance(value, list) else value for name, value in values.items()}


def decision_differences(before: RuleLayer, after: RuleLayer) -> list[str]:
    """What differs between two rule sets beyond the rule layer's findings and routes, which
    `rules compare` does not measure: routing.toml's [decision] thresholds and [topic] list act on
    the combined result, processes.toml on the processes and norms a result lists."""
    old, new = before.rules, after.rules
    notes = []
    thresholds = [f"{key} {old.decision.get(key)} -> {new.decision.get(key)}"
                  for key in sorted(set(old.decision) | set(new.decision)) if old.decision.get(key) != new.decision.get(key)]
    measured = "it acts on the combined result, which this does not run: `cyberroute evaluate FILE --rules DIR` measures it"
    if thresholds:
        notes.append("routing.toml's [decision] differs (" + "; ".join(thresholds) + f"); {measured}")
    if old.topic_words != new.topic_words:
        notes.append(f"routing.toml's [topic] list differs; {measured}")
    if (old.processes, old.route_labels, old.norms) != (new.processes, new.route_labels, new.norms):
        notes.append("processes.toml differs; it changes the processes and norms a result lists, never a route")
    return notes


def format_comparison(name: str, comparison: dict, show: int = 0, texts: list[str] | None = None) -> str:
    c = comparison
    lines = [f"{name}: {c['texts']} texts; criteria changed in {c['criteria_changed']}, rule route in "
             f"{c['route_changed']}" + (f" (labelled: {c['now_right']} now right, {c['now_wrong']} now wrong, "
                                        f"{c['still_wrong']} wrong before and after)" if c["labelled"] else "")]
    for change in c["changed"][:show]:
        quote = f"; {texts[change['row'] - 1][:100]!r}" if texts else ""
        criteria = "; ".join(f"{name} {value_text(old)} -> {value_text(new)}" for name, (old, new) in change["criteria"].items())
        lines.append(f"  {change['where']}: route {change['route_before']} -> {change['route_after']}"
                     f"{'; ' + criteria if criteria else ''}{quote}")
    return "\n".join(lines)
