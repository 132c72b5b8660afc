"""The routing policy: criteria in, the rule layer's route, reason, processes and norms out.

The rules themselves are in rules/routing.toml and rules/processes.toml; this module only reads
their conditions. It reads them over a ``CriteriaTable`` (criteria_table.py), a column per
criterion, so that a chunk of a batch is routed with a few array operations per rule rather
than a Python loop per text; a single text is a table of one row.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

import numpy as np

from .criteria_table import ACTOR, CASCADE, MOTIVE, SECTOR, SIGNAL_SLOTS, SPONSORSHIP, CriteriaTable
from .matcher import PhraseMatcher
from .rule_engine import Analysis
from .ruleset import RoutingRule, RuleSet


class RuleDecision(NamedTuple):
    """The rule layer's verdict on one text."""

    route: str
    reason: str
    confidence: float
    rule_id: str
    explain: str


def _condition(table: CriteriaTable, key: str, wanted) -> tuple[np.ndarray, list[np.ndarray]]:
    """Where one condition of a rule holds, and the confidence of each criterion it relies on."""
    confidence = table.confidence
    if key == "state_involvement":
        return table.state_involvement == wanted, [np.maximum(confidence[:, SPONSORSHIP], confidence[:, ACTOR])]
    if key == "signals":
        holds = np.ones(len(table), dtype=bool)
        for name in wanted:
            holds &= table.has_signal(name)
        return holds, [confidence[:, SIGNAL_SLOTS[name]] for name in wanted]
    if key == "actor_type":
        return table.value_in(ACTOR, wanted), [confidence[:, ACTOR]]
    if key == "state_sponsorship":
        # Read as a guard ("not denied"), like ``sectors``: it adds no confidence of its own.
        return table.value_in(SPONSORSHIP, wanted), []
    if key == "motive":
        # Only a motive the text gives routes: a Lazarus mention is not a theft, although the
        # gazetteer presumes Lazarus's motive to be financial.
        return np.isin(table.stated_motive, [table.code(m) for m in wanted]), [confidence[:, MOTIVE]]
    if key == "critical_infrastructure":
        return table.has_sectors == wanted, [confidence[:, SECTOR]]
    if key == "sectors":
        return table.names_sector(wanted), []
    if key == "cascading_effects":
        return (table.values[:, CASCADE] == table.code("yes")) == wanted, [confidence[:, CASCADE]]
    if key == "actor_or_motive_known":
        return table.actor_or_motive_known == wanted, [np.maximum(confidence[:, ACTOR], confidence[:, MOTIVE])]
    raise ValueError(f"unknown condition {key!r}")   # ruleset.py refuses such a rule file


def conditions_hold(table: CriteriaTable, when: dict) -> tuple[np.ndarray, np.ndarray]:
    """Rows where every condition of ``when`` holds, and per row the weakest confidence among the
    criteria the conditions rely on (1.0 when they rely on none)."""
    holds = np.ones(len(table), dtype=bool)
    weakest = np.ones(len(table))
    for key, wanted in when.items():
        mask, used = _condition(table, key, wanted)
        holds &= mask
        for confidence in used:
            weakest = np.minimum(weakest, confidence)
    return holds, weakest


@dataclass(frozen=True, eq=False)
class RuleVerdicts:
    """The routing rule that decided each row of a table, and how sure it is."""

    rules: tuple[RoutingRule, ...]
    rule_index: np.ndarray   # into ``rules``
    confidence: np.ndarray

    def __len__(self) -> int:
        return len(self.rule_index)

    def __getitem__(self, row: int) -> RuleDecision:
        rule = self.rules[self.rule_index[row]]
        return RuleDecision(rule.route, rule.reason, float(self.confidence[row]), rule.id, rule.explain)

    @cached_property
    def routes(self) -> list[str]:
        return [self.rules[i].route for i in self.rule_index.tolist()]

    @cached_property
    def reasons(self) -> list[str]:
        return [self.rules[i].reason for i in self.rule_index.tolist()]


class RoutingPolicy:
    """Apply rules/routing.toml (first matching rule wins) and list processes and norms."""

    def __init__(self, rules: RuleSet):
        self.rules = rules
        # Per route, the norms that may apply to it, labelled once here rather than per text.
        self._norms_by_route: dict[str, list[tuple[str, dict]]] = {}
        for norm in rules.norms:
            for route in norm.routes:
                self._norms_by_route.setdefault(route, []).append((f"{norm.id} {norm.summary}", norm.when))

    def decide_many(self, table: CriteriaTable) -> RuleVerdicts:
        """The first routing rule whose conditions hold, for each row of ``table``."""
        rules = tuple(self.rules.routing_rules)
        rule_index = np.full(len(table), -1, dtype=np.int64)
        confidence = np.zeros(len(table))
        undecided = np.ones(len(table), dtype=bool)
        for index, rule in enumerate(rules):
            holds, weakest = conditions_hold(table, rule.when)
            decided = holds & undecided
            rule_index[decided] = index
            # The weakest criterion a rule leans on bounds how sure the rule can be.
            confidence[decided] = rule.confidence * weakest[decided]
            undecided &= ~decided
            if not undecided.any():
                break
        if undecided.any():
            raise AssertionError("routing.toml's last rule always matches")  # checked when loading
        return RuleVerdicts(rules, rule_index, confidence)

    def decide(self, analysis: Analysis) -> RuleDecision:
        return self.decide_many(CriteriaTable.from_analyses([analysis]))[0]

    def on_topic(self, table: CriteriaTable) -> np.ndarray:
        """Rows that tell of something to route (routing.toml's [topic]): the rules found evidence
        of some kind, or a word starts with one of the topic's word starts. Every row when the
        list is empty. Only rows without evidence are searched, usually few."""
        if self._topic_matcher is None:
            return np.ones(len(table), dtype=bool)
        found = table.has_evidence.copy()
        for row in np.flatnonzero(~found).tolist():
            found[row] = bool(self._topic_matcher.matches(table.texts[row]))
        return found

    def denies_incident(self, table: CriteriaTable) -> np.ndarray:
        """Rows whose text says no cyber attack took place (the ``no-incident`` signal) and that
        name no attacker and no State: nothing to route. A text that also names one ("not a
        cyberattack, but Chinese-linked intruders had probed the grid") is routed as usual."""
        return (table.has_signal("no-incident") & (table.values[:, ACTOR] == table.code("unknown"))
                & ~table.state_involvement)

    @cached_property
    def _topic_matcher(self) -> PhraseMatcher | None:
        words = self.rules.topic_words
        return PhraseMatcher(((word, word, False) for word in words), word_starts=True) if words else None

    def likely_reasons(self, table: CriteriaTable, model_state: np.ndarray | None = None) -> list[str | None]:
        """Per row, the reason of the intersection rule whose conditions the evidence comes closest
        to: what an explanation gives when the text model, not the rules, chose intersection. A
        rule on the other side of the State-involvement divide never qualifies; None when no rule
        has half its other conditions met.

        ``model_state`` (one bool per row), where given, decides the divide instead of the rules'
        finding: the classifier passes the rules' finding or the text model's State head, since
        the text model chose the route."""
        state = table.state_involvement if model_state is None else np.asarray(model_state, dtype=bool)
        best: list[str | None] = [None] * len(table)
        best_share = np.zeros(len(table))
        for rule in self.rules.routing_rules:
            if rule.route != "intersection":
                continue
            wanted_state = rule.when.get("state_involvement")
            others = [{key: value} for key, value in rule.when.items() if key != "state_involvement"]
            if not others:
                continue
            share = sum(conditions_hold(table, condition)[0].astype(float) for condition in others) / len(others)
            if wanted_state is not None:
                share[state != wanted_state] = 0.0
            better = (share >= 0.5) & (share > best_share)
            for row in np.flatnonzero(better).tolist():
                best[row] = rule.reason
            best_share = np.where(better, share, best_share)
        return best

    def processes(self, route: str) -> list[str]:
        return list(self.rules.processes.get(route, []))

    def norms_many(self, table: CriteriaTable, routes: list[str]) -> list[list[str]]:
        """The norms that may apply to each row, given the route it was sent to."""
        # One label may come with several conditions (13(c): a proxy, or a State with criminals).
        holding = {route: [conditions_hold(table, when)[0] for _, when in labelled]
                   for route, labelled in self._norms_by_route.items()}
        out = []
        for row, route in enumerate(routes):
            found = []
            for (label, _), holds in zip(self._norms_by_route.get(route, ()), holding.get(route, ())):
                if label not in found and holds[row]:
                    found.append(label)
            out.append(found)
        return out

    def norms(self, route: str, analysis: Analysis) -> list[str]:
        return self.norms_many(CriteriaTable.from_analyses([analysis]), [route])[0]

    def rule(self, rule_id: str) -> RoutingRule:
        return next(r for r in self.rules.routing_rules if r.id == rule_id)
