"""The public API: a description in, a routed and explained ``Result`` out.

Data flows one way: text -> rule engine (criteria with evidence) -> routing policy (the rule
layer's route) -> text model + combiner (probabilities) -> decision -> Result.
"""

from __future__ import annotations

from functools import cached_property, lru_cache
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .combiner import Decision, decide, rule_features, stack
from .model_store import TrainedModel, load_model
from .policy import RoutingPolicy, RuleDecision, holds
from .result import Result, csv_row
from .rule_engine import Analysis, RuleEngine
from .ruleset import CRITERIA, RuleSet, load_rules

_READABLE = {
    "actor_type": "actor", "state_sponsorship": "State link", "critical_infrastructure": "sector",
    "cascading_effects": "cascading effects", "motive": "motive",
}


class RuleLayer:
    """The rule engine and the routing policy: what the rules alone say about a text.

    Parameters
    ----------
    rules : RuleSet, path or None
        A rules directory (default: the packaged rules/, or $CYBERROUTE_RULES).
    """

    def __init__(self, rules: RuleSet | Path | str | None = None):
        self.rules = rules if isinstance(rules, RuleSet) else load_rules(rules)
        self.engine = RuleEngine(self.rules)
        self.policy = RoutingPolicy(self.rules)

    def analyse(self, text: str) -> tuple[Analysis, RuleDecision]:
        analysis = self.engine.analyse(text)
        return analysis, self.policy.decide(analysis)

    def rule_rows(self, texts: list[str]) -> tuple[list[tuple[Analysis, RuleDecision]], np.ndarray]:
        """Analyse each text; also return the combiner's rule features, one row per text."""
        analysed = [(a, self.policy.decide(a)) for a in self.engine.analyse_many(texts)]
        return analysed, rule_features([d for _, d in analysed])


class Classifier(RuleLayer):
    """Rules and model together.

    Parameters
    ----------
    rules : RuleSet, path or None
        A rules directory (default: the packaged rules/, or $CYBERROUTE_RULES).
    model : TrainedModel, path or None
        A model directory (default: the shipped model).
    """

    def __init__(self, rules: RuleSet | Path | str | None = None, model: TrainedModel | Path | str | None = None):
        super().__init__(rules)
        self.model = model if isinstance(model, TrainedModel) else load_model(model)
        self._empty_analysis = self.analyse("")  # the same for every empty text: computed once

    # -- classification ------------------------------------------------------------------------

    def classify(self, text: str) -> Result:
        """Classify one description."""
        return self.classify_many([text])[0]

    def classify_many(self, texts: list[str]) -> list[Result]:
        """Classify several descriptions at once (the text model runs once over all of them)."""
        return [self._result(j) if j else self.empty_result(t if isinstance(t, str) else "")
                for t, j in zip(texts, self._judge(texts))]

    def classify_rows(self, texts: list[str]) -> list[dict[str, object]]:
        """The columns `batch` adds, one dict per text: ``classify_many(texts)[i].to_row()``.

        Built without ``Result`` objects and without the norms (which no column holds): this is
        the batch path, where such per-row work is a measurable share of the time.
        """
        return [self._row(j) if j else dict(self._empty_row) for j in self._judge(texts)]

    def _judge(self, texts: list[str]) -> list["_Judgement | None"]:
        """Rules, text model, combiner and decision for each text; None for an empty text."""
        texts = [t if isinstance(t, str) else "" for t in texts]
        live = [i for i, t in enumerate(texts) if t.strip()]
        judged: list[_Judgement | None] = [None] * len(texts)
        if not live:
            return judged
        live_texts = [texts[i] for i in live]
        analysed, rows = self.rule_rows(live_texts)
        text_proba = self.model.text_model.predict_proba(live_texts)
        combined = self.model.combiner.predict_proba(stack(text_proba, rows))
        classes, thresholds = self.model.classes, self.rules.decision
        # Plain lists: per-row indexing of numpy arrays costs more than the work done per row.
        for j, (text_row, combined_row) in enumerate(zip(text_proba.tolist(), combined.tolist())):
            analysis, rule = analysed[j]
            verdict = decide(classes, combined_row, text_row, rule, thresholds)
            reason = None
            if verdict.route == "intersection":
                reason = rule.reason or self._likely_reason(analysis)
            model_route = classes[text_row.index(max(text_row))]
            judgement = _Judgement(live_texts[j], analysis, rule, verdict, reason, model_route, text_row, combined_row)
            judged[live[j]] = judgement._replace(explanation=self._explain(judgement))
        return judged

    def empty_result(self, text: str, error: str | None = None) -> Result:
        """The result for a text with nothing to read: undetermined, for review."""
        analysis, decision = self._empty_analysis
        uniform = {r: round(1 / len(self.model.classes), 4) for r in self.model.classes}
        return Result(text=text, route="undetermined", confidence=0.0, probabilities=uniform,
                      criteria=analysis.criteria, rule_route=decision.route, model_route="undetermined",
                      intersection_reason=None, processes=[], norms=[],
                      explanation=error or "The description is empty, so there is nothing to route.",
                      review=True, signals={}, rule_id=decision.rule_id, model_probabilities=uniform, error=error)

    @cached_property
    def _empty_row(self) -> dict[str, object]:
        return self.empty_result("").to_row()

    def _result(self, j: "_Judgement") -> Result:
        classes, route = self.model.classes, j.verdict.route
        return Result(
            text=j.text, route=route, confidence=j.verdict.confidence,
            probabilities=dict(zip(classes, j.combined)),
            criteria=j.analysis.criteria, rule_route=j.rule.route, model_route=j.model_route,
            intersection_reason=j.reason, processes=self.policy.processes(route),
            norms=self.policy.norms(route, j.analysis), explanation=j.explanation, review=j.verdict.review,
            signals=j.analysis.signals, rule_id=j.rule.rule_id, rule_confidence=j.rule.confidence,
            model_probabilities=dict(zip(classes, j.text_proba)),
        )

    def _row(self, j: "_Judgement") -> dict[str, object]:
        route = j.verdict.route
        return csv_row(route, j.verdict.confidence, j.analysis.criteria, j.reason, self.policy.processes(route),
                       j.explanation, j.verdict.review)

    def _likely_reason(self, analysis: Analysis) -> str | None:
        """When the text model, not the rules, chose intersection: the reason of the intersection
        rule that the evidence comes closest to. A rule on the other side of the State-involvement
        divide never qualifies; None when no rule has half its other conditions met."""
        best, best_share = None, 0.0
        for rule in self.policy.rules.routing_rules:
            wanted_state = rule.when.get("state_involvement")
            if rule.route != "intersection" or wanted_state not in (None, analysis.state_involvement):
                continue
            others = [{k: v} for k, v in rule.when.items() if k != "state_involvement"]
            share = sum(holds(analysis, c) for c in others) / len(others) if others else 0.0
            if share >= 0.5 and share > best_share:
                best, best_share = rule.reason, share
        return best

    def _explain(self, j: "_Judgement") -> str:
        found = []
        for name in CRITERIA:
            crit = j.analysis.criteria[name]
            if crit.evidence and crit.value not in ("unknown", "no", []):
                value = ", ".join(crit.value) if isinstance(crit.value, list) else crit.value
                quote = crit.evidence[0].text
                presumed = ", presumed from the actor" if name == "motive" and j.analysis.motive_presumed else ""
                found.append(f'{_READABLE[name]} {value}{presumed} ("{quote}")')
        for name, signal in j.analysis.signals.items():
            found.append(f'{name.replace("-", " ")} ("{signal.evidence[0].text}")')
        evidence = "The rules found " + "; ".join(found) + "." if found else "The rules found no criterion in the text."
        route, rule = j.verdict.route, j.rule
        if route == "undetermined":
            head = f"Undetermined: {j.verdict.undetermined_because}."
        else:
            reason = f" ({j.reason.replace('-', ' ')})" if j.reason else ""
            head = f"Routed to {route}{reason} with confidence {j.verdict.confidence:.2f}."
        model_p = max(j.text_proba)
        if rule.route == "undetermined":
            agree = f"The rules do not decide ({rule.explain}), so the text model does ({j.model_route}, {model_p:.2f})."
        elif rule.route == j.model_route:
            agree = f"Rules ({rule.explain}) and text model agree."
        else:
            agree = (f"The rules say {rule.route} ({rule.explain}); the text model says "
                     f"{j.model_route} ({model_p:.2f}).")
        if j.verdict.conflict:
            agree += " This conflict is flagged for review."
        elif j.verdict.review and route != "undetermined":
            agree += " Flagged for review: confidence is low."
        return f"{head} {evidence} {agree}"

    def classify_frame(self, frame, text_column: str = "text"):
        """Return a copy of ``frame`` with the result columns of `batch` added."""
        import pandas as pd

        if text_column not in frame.columns:
            raise KeyError(f"column {text_column!r} not found; columns are: {', '.join(map(str, frame.columns))}")
        texts = frame[text_column].tolist()
        rows = []
        for value, row in zip(texts, self.classify_rows(texts)):
            if not isinstance(value, str) or not value.strip():
                row = dict(row)
                row["error"] = f"empty or missing text in column {text_column!r}"
            rows.append(row)
        added = pd.DataFrame(rows, index=frame.index)
        out = frame.copy()
        for column in added.columns:
            out[column] = added[column]
        return out


class _Judgement(NamedTuple):
    """Everything decided about one text, from which a Result or a batch row is built."""

    text: str
    analysis: Analysis
    rule: RuleDecision
    verdict: Decision
    reason: str | None
    model_route: str
    text_proba: list[float]
    combined: list[float]
    explanation: str = ""


@lru_cache(maxsize=1)
def default_classifier() -> Classifier:
    """The packaged rules and shipped model, loaded once per process."""
    return Classifier()


def classify(text: str) -> Result:
    """Classify one incident description with the shipped model and rules."""
    return default_classifier().classify(text)


def classify_frame(frame, text_column: str = "text"):
    """Classify a DataFrame's text column; returns a copy with the result columns added."""
    return default_classifier().classify_frame(frame, text_column=text_column)
