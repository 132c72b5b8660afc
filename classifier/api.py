"""The public API: a description in, a routed and explained ``Result`` out.

Data flows one way: text -> rule engine (criteria with evidence) -> routing policy (the rule
layer's route) -> text model + combiner (probabilities) -> decision -> Result.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
import numpy as np

from .combiner import decide, rule_features, stack
from .model_store import TrainedModel, load_model
from .policy import RoutingPolicy, RuleDecision, holds
from .result import Result
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
        analysed = [self.analyse(t) for t in texts]
        rows = np.array([rule_features(a, d, len(t.split())) for t, (a, d) in zip(texts, analysed)])
        return analysed, rows.reshape(len(analysed), -1)


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
        texts = [t if isinstance(t, str) else "" for t in texts]
        live = [i for i, t in enumerate(texts) if t.strip()]
        results: list[Result | None] = [None] * len(texts)
        if live:
            live_texts = [texts[i] for i in live]
            analysed, rows = self.rule_rows(live_texts)
            text_proba = self.model.text_model.predict_proba(live_texts)
            combined = self.model.combiner.predict_proba(stack(text_proba, rows))
            # Plain lists: per-row indexing of numpy arrays costs more than the work done per row.
            for j, (text_row, combined_row) in enumerate(zip(text_proba.tolist(), combined.tolist())):
                results[live[j]] = self._result(texts[live[j]], *analysed[j], text_row, combined_row)
        for i, text in enumerate(texts):
            if results[i] is None:
                results[i] = self.empty_result(text)
        return results

    def empty_result(self, text: str, error: str | None = None) -> Result:
        """The result for a text with nothing to read: undetermined, for review."""
        analysis, decision = self._empty_analysis
        uniform = {r: round(1 / len(self.model.classes), 4) for r in self.model.classes}
        return Result(text=text, route="undetermined", confidence=0.0, probabilities=uniform,
                      criteria=analysis.criteria, rule_route=decision.route, model_route="undetermined",
                      intersection_reason=None, processes=[], norms=[],
                      explanation=error or "The description is empty, so there is nothing to route.",
                      review=True, signals={}, rule_id=decision.rule_id, model_probabilities=uniform, error=error)

    def _result(self, text, analysis: Analysis, rule: RuleDecision, text_proba, combined) -> Result:
        classes = self.model.classes
        verdict = decide(classes, combined, text_proba, rule, self.rules.decision)
        model_route = classes[text_proba.index(max(text_proba))]
        reason = None
        if verdict.route == "intersection":
            reason = rule.reason or self._likely_reason(analysis)
        result = Result(
            text=text, route=verdict.route, confidence=verdict.confidence,
            probabilities=dict(zip(classes, combined)),
            criteria=analysis.criteria, rule_route=rule.route, model_route=model_route,
            intersection_reason=reason, processes=self.policy.processes(verdict.route),
            norms=self.policy.norms(verdict.route, analysis), explanation="", review=verdict.review,
            signals=analysis.signals, rule_id=rule.rule_id, rule_confidence=rule.confidence,
            model_probabilities=dict(zip(classes, text_proba)),
        )
        result.explanation = self._explain(result, rule, verdict.undetermined_because, verdict.conflict)
        return result

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

    @staticmethod
    def _explain(result: Result, rule: RuleDecision, undetermined_because: str, conflict: bool) -> str:
        found = []
        for name in CRITERIA:
            crit = result.criteria[name]
            if crit.evidence and crit.value not in ("unknown", "no", []):
                value = ", ".join(crit.value) if isinstance(crit.value, list) else crit.value
                quote = crit.evidence[0].text
                found.append(f'{_READABLE[name]} {value} ("{quote}")')
        for name, signal in result.signals.items():
            found.append(f'{name.replace("-", " ")} ("{signal.evidence[0].text}")')
        evidence = "The rules found " + "; ".join(found) + "." if found else "The rules found no criterion in the text."
        if result.route == "undetermined":
            head = f"Undetermined: {undetermined_because}."
        else:
            reason = f" ({result.intersection_reason.replace('-', ' ')})" if result.intersection_reason else ""
            head = f"Routed to {result.route}{reason} with confidence {result.confidence:.2f}."
        model_p = result.model_probabilities.get(result.model_route, 0.0)
        if rule.route == "undetermined":
            agree = f"The rules are silent, so the text model decides ({result.model_route}, {model_p:.2f})."
        elif rule.route == result.model_route:
            agree = f"Rules ({rule.explain}) and text model agree."
        else:
            agree = (f"The rules say {rule.route} ({rule.explain}); the text model says "
                     f"{result.model_route} ({model_p:.2f}).")
        if conflict:
            agree += " This conflict is flagged for review."
        elif result.review and result.route != "undetermined":
            agree += " Flagged for review: confidence is low."
        return f"{head} {evidence} {agree}"

    def classify_frame(self, frame, text_column: str = "text"):
        """Return a copy of ``frame`` with the result columns of `batch` added."""
        import pandas as pd

        if text_column not in frame.columns:
            raise KeyError(f"column {text_column!r} not found; columns are: {', '.join(map(str, frame.columns))}")
        texts = frame[text_column].tolist()
        results = self.classify_many([t if isinstance(t, str) else "" for t in texts])
        rows = []
        for value, result in zip(texts, results):
            row = result.to_row()
            if not isinstance(value, str) or not value.strip():
                row["error"] = f"empty or missing text in column {text_column!r}"
            rows.append(row)
        added = pd.DataFrame(rows, index=frame.index)
        out = frame.copy()
        for column in added.columns:
            out[column] = added[column]
        return out


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
