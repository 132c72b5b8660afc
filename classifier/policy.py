"""The routing policy: criteria in, the rule layer's route, reason, processes and norms out.

The rules themselves are in rules/routing.toml and rules/processes.toml; this module only reads
their conditions.
"""

from __future__ import annotations

from dataclasses import dataclass

from .rule_engine import Analysis
from .ruleset import RuleSet, RoutingRule


@dataclass(frozen=True)
class RuleDecision:
    """The rule layer's verdict on one text."""

    route: str
    reason: str
    confidence: float
    rule_id: str
    explain: str


def _condition_confidences(analysis: Analysis, when: dict) -> list[float] | None:
    """The confidence of each criterion a rule relies on, or None when a condition fails."""
    criteria, used = analysis.criteria, []
    for key, wanted in when.items():
        if key == "state_involvement":
            if analysis.state_involvement != wanted:
                return None
            used.append(max(criteria["state_sponsorship"].confidence, criteria["actor_type"].confidence))
        elif key == "signals":
            if not all(s in analysis.signals for s in wanted):
                return None
            used += [analysis.signals[s].confidence for s in wanted]
        elif key in ("actor_type", "motive"):
            # Only a motive the text gives routes: a Lazarus mention is not a theft, although the
            # gazetteer presumes Lazarus's motive to be financial.
            value = analysis.stated_motive if key == "motive" else criteria[key].value
            if value not in wanted:
                return None
            used.append(criteria[key].confidence)
        elif key == "critical_infrastructure":
            if bool(criteria["critical_infrastructure"].value) != wanted:
                return None
            used.append(criteria["critical_infrastructure"].confidence)
        elif key == "sectors":
            if not set(wanted) & set(criteria["critical_infrastructure"].value):
                return None
        elif key == "cascading_effects":
            if (criteria["cascading_effects"].value == "yes") != wanted:
                return None
            used.append(criteria["cascading_effects"].confidence)
        elif key == "actor_or_motive_known":
            if analysis.actor_or_motive_known != wanted:
                return None
            used.append(max(criteria["actor_type"].confidence, criteria["motive"].confidence))
    return used


def holds(analysis: Analysis, when: dict) -> bool:
    return _condition_confidences(analysis, when) is not None


class RoutingPolicy:
    """Apply rules/routing.toml (first matching rule wins) and list processes and norms."""

    def __init__(self, rules: RuleSet):
        self.rules = rules
        # Per route, the norms that may apply to it, labelled once here rather than per text.
        self._norms_by_route: dict[str, list[tuple[str, dict]]] = {}
        for norm in rules.norms:
            for route in norm.routes:
                self._norms_by_route.setdefault(route, []).append((f"{norm.id} {norm.summary}", norm.when))

    def decide(self, analysis: Analysis) -> RuleDecision:
        for rule in self.rules.routing_rules:
            used = _condition_confidences(analysis, rule.when)
            if used is not None:
                # The weakest criterion a rule leans on bounds how sure the rule can be.
                return RuleDecision(rule.route, rule.reason, rule.confidence * min(used, default=1.0),
                                    rule.id, rule.explain)
        raise AssertionError("routing.toml's last rule always matches")  # checked when loading

    def processes(self, route: str) -> list[str]:
        return list(self.rules.processes.get(route, []))

    def norms(self, route: str, analysis: Analysis) -> list[str]:
        found = []
        for label, when in self._norms_by_route.get(route, ()):
            if label not in found and holds(analysis, when):
                found.append(label)
        return found

    def rule(self, rule_id: str) -> RoutingRule:
        return next(r for r in self.rules.routing_rules if r.id == rule_id)
