"""The public API: a description in, a routed and explained ``Result`` out.

Data flows one way: text -> rule engine (criteria with evidence) -> routing policy (the rule
layer's route) -> text model + combiner (probabilities) -> route shares of the feed, when given
(priors.py) -> decision -> Result.
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import replace
from functools import cached_property, lru_cache
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .combiner import (
    Decision, agreed_crime, cascade_reading_doubt, decide, defer_to_text, held_back_because, mostly_latin,
    no_reason_doubt, rule_features, stack, state_link_doubt, state_reading_doubt,
)
from .criteria_table import CASCADE, SIGNAL_SLOTS, SPONSORSHIP, CriteriaTable
from .model_store import TrainedModel, load_model
from .policy import RoutingPolicy, RuleDecision, RuleVerdicts
from .priors import PriorsError, at_least, estimate_shares, parse_shares, reweight, sample_warning, training_shares
from .result import DETAIL_COLUMNS, Result, csv_row, result_columns
from .rule_engine import Analysis, RuleEngine
from .ruleset import RuleSet, load_rules
from .text_model import MAX_MODEL_CHARS

# A criterion head says its criterion holds from this probability on.
HEAD_SAYS_YES = 0.5
# The criterion heads in an explanation's words.
_HEAD_WORDS = {"state_involvement": "State involvement", "financial_motive": "a financial motive",
               "cascading_effects": "cascading effects"}


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

    def rule_rows(self, texts: list[str]) -> tuple[CriteriaTable, RuleVerdicts, np.ndarray]:
        """The criteria of each text, the routing rule that decides it, and the combiner's rule
        features, one row per text."""
        table = self.engine.analyse_table(texts)
        verdicts = self.policy.decide_many(table)
        return table, verdicts, rule_features(verdicts.routes, verdicts.reasons, verdicts.confidence)


class RulesChangedWarning(UserWarning):
    """The rules differ from those the model was trained with (``Classifier.rules_changed``)."""


class Classifier(RuleLayer):
    """Rules and model together.

    Parameters
    ----------
    rules : RuleSet, path or None
        A rules directory (default: the packaged rules/, or $CYBERROUTE_RULES).
    model : TrainedModel, path or None
        A model directory (default: the shipped model).
    priors : dict, str or None
        The route shares of the reporting to classify, ``{"cybercrime": 0.1, ...}`` or as the
        CLI's ``--priors`` takes them, ``"cybercrime=0.1,international-security=0.8,..."`` (all
        routes, normalised here, none below ``priors.MIN_SHARE``), when they differ from the training
        corpus's: the combined probabilities are re-weighted to them (priors.py). ``None``: the
        corpus's shares.
        ``cyberroute priors FILE`` estimates them from a file's unlabelled texts.
    """

    def __init__(self, rules: RuleSet | Path | str | None = None, model: TrainedModel | Path | str | None = None,
                 priors: dict[str, float] | str | None = None):
        super().__init__(rules)
        self.model = model if isinstance(model, TrainedModel) else load_model(model)
        self.priors = priors
        self._empty_analysis = self.analyse("")  # the same for every empty text: computed once
        if self.rules_changed:
            warnings.warn(self.rules_changed, RulesChangedWarning, stacklevel=2)

    @cached_property
    def rules_changed(self) -> str:
        """Why the model's combiner may misjudge the rule layer's findings, or "".

        The combiner learnt what each rule route is worth from the rules the model was trained
        with (their sha256 is in the model's manifest). After an edit of the rules it still
        classifies, but it weighs findings it never saw as it weighed the old ones, so the edited
        rules are best followed by a retraining. A model without the record (one fitted in
        memory, as ``evaluate --holdout`` does) is taken to match.
        """
        trained_with = self.model.manifest.get("rules_sha256")
        # What the manifest's sha256 was taken over: the part of the rules a model depends on
        # (from session 24), everything the files say (sessions 22-23), their bytes (before).
        kind = self.model.manifest.get("rules_fingerprint")
        now = {"model-view": self.rules.model_fingerprint(), "parsed": self.rules.fingerprint()}.get(
            kind, self.rules.bytes_sha256)
        if not trained_with or trained_with == now:
            return ""
        # A model trained with `--rules DIR` records DIR: most likely the rules were left out.
        trained_dir = self.model.manifest.get("rules_dir")
        if trained_dir and Path(trained_dir).resolve() != Path(self.rules.directory).resolve():
            return (f"the model was trained with the rules in {trained_dir}, and these are the rules in "
                    f"{self.rules.directory}; pass --rules {trained_dir} (Classifier(rules=...)), or retrain")
        return (f"the rules in {self.rules.directory} differ from those the model was trained with; "
                f"it still classifies, but to weigh the edited rules it should be retrained "
                f"(cyberroute train CORPUS --rules {self.rules.directory} -o MODEL_DIR, then --model MODEL_DIR)")

    @property
    def priors(self) -> dict[str, float] | None:
        """The route shares results are re-weighted to (normalised), or None for the corpus's.
        Assigning checks and normalises them as the constructor does."""
        return self._priors

    @priors.setter
    def priors(self, priors: dict[str, float] | str | None) -> None:
        self._priors = None if priors is None else self._checked_priors(priors)

    def _checked_priors(self, priors: dict[str, float] | str) -> dict[str, float]:
        classes = self.model.classes
        if isinstance(priors, str):   # what `cyberroute priors` prints
            priors = parse_shares(priors, classes)
        elif not isinstance(priors, Mapping):
            raise PriorsError(f"route shares are a dict or a 'route=share,...' string, not {type(priors).__name__}")
        unknown = [route for route in priors if route not in classes]
        missing = [route for route in classes if route not in priors]
        if unknown or missing:
            raise PriorsError(f"route shares must name each of {', '.join(classes)}"
                              + (f"; not a route: {', '.join(map(str, unknown))}" if unknown else "")
                              + (f"; missing: {', '.join(missing)}" if missing else ""))
        values = np.array([priors[route] for route in classes], dtype=float)
        if not np.isfinite(values).all() or (values < 0).any() or values.sum() <= 0:
            raise PriorsError("route shares must be numbers of 0 or more, not all 0")
        # No route below MIN_SHARE, as for an estimate: a share of 0 would make a route impossible
        # whatever the text says (a State-backed theft could not be intersection).
        return dict(zip(classes, at_least(values / values.sum()).tolist()))

    @cached_property
    def training_shares(self) -> np.ndarray:
        """The route shares of the corpus the model was trained on, in ``model.classes`` order."""
        return training_shares(self.model.manifest, self.model.classes)

    def route_probabilities(self, texts: list[str]) -> np.ndarray:
        """The combined probabilities (columns in ``model.classes`` order) for the non-empty
        texts, at the training corpus's route shares: what ``priors.estimate_shares`` reads. They
        are the combiner's, or the text model's where the two layers agree on crime
        (``combiner.agreed_crime``)."""
        live_texts = [t for t in _text_list(texts, "route_probabilities") if isinstance(t, str) and t.strip()]
        if not live_texts:
            return np.zeros((0, len(self.model.classes)))
        return self._read(live_texts).combined

    def estimate_priors(self, texts) -> dict[str, float]:
        """The route shares of ``texts``, estimated from the texts alone (no labels): what
        ``cyberroute priors FILE`` prints, to pass as ``priors``.

        Parameters
        ----------
        texts : iterable of str
            The descriptions of one feed. Empty and missing values are skipped.

        Returns
        -------
        dict
            Route -> share, in ``model.classes`` order, none below ``priors.MIN_SHARE``.

        Warns
        -----
        UserWarning
            Under 200 texts, as the CLI does: under 50 the estimate is not worth using.
        """
        proba = self.route_probabilities(texts)
        shares = at_least(estimate_shares(proba, self.training_shares))
        if (caution := sample_warning(len(proba))):
            warnings.warn(caution, stacklevel=2)
        return dict(zip(self.model.classes, shares.round(3).tolist()))

    def _read(self, live_texts: list[str]) -> "_Reading":
        """The rule layer's table and verdicts, the text model's route and criterion-head
        probabilities, and the combined probabilities at the corpus's route shares."""
        table, verdicts, rows = self.rule_rows(live_texts)
        text_proba, head_proba = self.model.text_model.predict_all(live_texts)
        combiner_proba = self.model.combiner.predict_proba(stack(text_proba, rows, head_proba))
        agreed = agreed_crime(verdicts.routes, table.criminal_actor, text_proba, self.model.classes, head_proba,
                              self.model.text_model.heads_, self.rules.decision["agreed_crime_cascade_below"])
        return _Reading(table, verdicts, text_proba, head_proba, combiner_proba, agreed,
                        defer_to_text(combiner_proba, text_proba, agreed))

    # -- classification ------------------------------------------------------------------------

    def classify(self, text: str) -> Result:
        """Classify one description.

        Parameters
        ----------
        text : str
            The description. An empty or blank string, a missing value (None, NaN) or any other
            value that is not text gives an ``undetermined`` result whose ``error`` says which
            ("empty text", "missing text", "not text (int '42')").

        Returns
        -------
        Result

        Raises
        ------
        TypeError
            For a list, Series or other collection of descriptions (``classify_many`` and
            ``classify_frame`` take those).
        """
        if isinstance(text, Iterable) and not isinstance(text, (str, bytes)):
            raise TypeError(f"classify takes one description, not a {type(text).__name__}; "
                            f"classify_many takes a list of them and classify_frame a DataFrame")
        return self.classify_many([text])[0]

    def classify_many(self, texts: Iterable[str]) -> list[Result]:
        """Classify several descriptions at once (the text model runs once over all of them).

        Parameters
        ----------
        texts : iterable of str
            A list, tuple, Series, array or generator of descriptions. Values that are not text
            give results as in ``classify``.

        Returns
        -------
        list of Result
            One per description, in order.

        Raises
        ------
        TypeError
            For a single string (which would be read a character at a time) or a DataFrame.
        """
        texts = _text_list(texts, "classify_many")
        table, judged = self._judge(texts)
        live = [j for j in judged if j]
        norms = iter(self.policy.norms_many(table, [j.verdict.route for j in live]) if live else ())
        return [self._result(j, table, next(norms)) if j else self._unread_result(t) for t, j in zip(texts, judged)]

    def _unread_result(self, value) -> Result:
        """The result for a description that is empty, missing or not text, with an ``error``
        that says which (``_unread_problem``: as `batch` and ``classify_frame`` say it, without
        the row)."""
        problem = _unread_problem(value)
        said = {"empty text": "empty", "missing text": "missing"}
        explanation = f"The description is {said.get(problem, problem)}, so there is nothing to route."
        return replace(self.empty_result(value if isinstance(value, str) else ""), explanation=explanation,
                       error=problem)

    def classify_rows(self, texts: list[str], details: bool = False) -> list[dict[str, object]]:
        """The columns `batch` adds, one dict per text: ``classify_many(texts)[i].to_row(details)``.

        Without ``details``, built from the criteria table alone, without ``Analysis`` or
        ``Result`` objects and without the norms (which no such column holds): this is the batch
        path, where such per-row work is a measurable share of the time.
        """
        texts = _text_list(texts, "classify_rows")
        if details:   # the sponsor and the norms need the full results
            return [result.to_row(details=True) for result in self.classify_many(texts)]
        table, judged = self._judge(texts)
        return [self._row(j, table) if j else self._unread_row(t) for t, j in zip(texts, judged)]

    def _unread_row(self, value) -> dict[str, object]:
        return dict(self._empty_row) if isinstance(value, str) else self._unread_result(value).to_row()

    def _judge(self, texts: list[str]) -> tuple[CriteriaTable, list["_Judgement | None"]]:
        """Rules, text model, combiner and decision for each text; None for an empty text. The
        judgements' ``row`` numbers the criteria table's rows, which hold the non-empty texts."""
        texts = [t if isinstance(t, str) else "" for t in texts]
        live = [i for i, t in enumerate(texts) if t.strip()]
        judged: list[_Judgement | None] = [None] * len(texts)
        live_texts = [texts[i] for i in live]
        if not live:
            return self.rule_rows(live_texts)[0], judged
        table, verdicts, text_proba, head_proba, combiner_proba, agreed, combined = self._read(live_texts)
        classes, thresholds = self.model.classes, self.rules.decision
        if self.priors is not None:
            combined = reweight(combined, self.training_shares, [self.priors[c] for c in classes])
        heads = self.model.text_model.heads_
        # The text model's State-involvement head, per text (None for a model without it).
        state_head = head_proba[:, heads.index("state_involvement")] if "state_involvement" in heads else None
        state_head_list = None if state_head is None else state_head.tolist()
        cascade_head = (head_proba[:, heads.index("cascading_effects")].tolist()
                        if "cascading_effects" in heads else None)
        rules_state = table.state_involvement.tolist()
        # A State found by the rules or read by the head: the side of the State divide for the
        # intersection reason named and for the cascade doubt. The head never removes a State.
        state_read = table.state_involvement | (False if state_head is None else state_head >= HEAD_SAYS_YES)
        state_read_list = state_read.tolist()
        rules_cascade = (table.values[:, CASCADE] == table.code("yes")).tolist()
        rules_no_state_link = (table.values[:, SPONSORSHIP] == table.code("none")).tolist()
        likely_reasons = None
        on_topic = self.policy.on_topic(table).tolist()
        incident_denied = self.policy.denies_incident(table).tolist()
        agreed_list = agreed.tolist()
        # The combiner's own route, for the explanation of a row where the text model's reading is kept.
        combiner_best = combiner_proba.argmax(axis=1).tolist()
        # Words counted up to the minimum only (split stops there): a long text costs no more.
        minimum = thresholds.get("min_words", 0)
        words = [len(text.split(None, minimum)) for text in live_texts] if minimum else None
        # Plain lists: per-row indexing of numpy arrays costs more than the work done per row.
        for j, (text_row, head_row, combined_row) in enumerate(zip(text_proba.tolist(), head_proba.tolist(),
                                                                  combined.tolist())):
            rule = verdicts[j]
            held_back = held_back_because(None if words is None else words[j], minimum,
                                          mostly_latin(live_texts[j]), on_topic[j], incident_denied[j])
            verdict = decide(classes, combined_row, text_row, rule, thresholds, held_back, agreed_list[j])
            reason = None
            if verdict.route == "intersection":
                if not rule.reason and likely_reasons is None:
                    likely_reasons = self.policy.likely_reasons(table, None if state_head is None else state_read)
                reason = rule.reason or likely_reasons[j]
            model_route = classes[text_row.index(max(text_row))]
            head_state = None if state_head_list is None else state_head_list[j]
            doubt = "; ".join(filter(None, (
                state_reading_doubt(verdict.route, head_state, bool(rules_state[j]),
                                    thresholds["review_state_reading"], reason),
                cascade_reading_doubt(verdict.route, bool(state_read_list[j]), bool(rules_cascade[j]),
                                      None if cascade_head is None else cascade_head[j]),
                state_link_doubt(verdict.route, reason, rules_no_state_link[j]),
                no_reason_doubt(verdict.route, reason))))
            if doubt:
                verdict = replace(verdict, review=True)
            set_aside = ""
            if agreed_list[j] and verdict.route == "cybercrime":
                own = combiner_best[j]
                if classes[own] != "cybercrime":
                    set_aside = (f"The combined classifier, adding up the text model's criterion readings, would "
                                 f"say {classes[own]} ({combiner_proba[j, own]:.2f}); with a criminal actor named "
                                 f"and no cascading effects read, the reading both layers share is kept.")
            judgement = _Judgement(j, rule, verdict, reason, model_route, text_row, combined_row, head_row, doubt,
                                   set_aside=set_aside)
            explanation = self._explain(judgement, table)
            if len(live_texts[j]) > MAX_MODEL_CHARS:
                # The two layers read different text: say so, since their verdicts may then differ.
                explanation += (f" The text model read the first {MAX_MODEL_CHARS:,} of the text's "
                                f"{len(live_texts[j]):,} characters; the rules read all of it.")
            judged[live[j]] = judgement._replace(explanation=explanation)
        return table, judged

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
        return self._unread_result("").to_row()

    def _result(self, j: "_Judgement", table: CriteriaTable, norms: list[str]) -> Result:
        classes, route, analysis = self.model.classes, j.verdict.route, table.analyses[j.row]
        return Result(
            text=table.texts[j.row], route=route, confidence=j.verdict.confidence,
            probabilities=dict(zip(classes, j.combined)),
            criteria=analysis.criteria, rule_route=j.rule.route, model_route=j.model_route,
            intersection_reason=j.reason, processes=self.policy.processes(route),
            norms=norms, explanation=j.explanation, review=j.verdict.review,
            signals=analysis.signals, rule_id=j.rule.rule_id, rule_confidence=j.rule.confidence,
            model_probabilities=dict(zip(classes, j.text_proba)),
            model_criteria=dict(zip(self.model.text_model.heads_, j.heads)),
        )

    def _row(self, j: "_Judgement", table: CriteriaTable) -> dict[str, object]:
        route = j.verdict.route
        return csv_row(route, j.verdict.confidence, table.criteria_values(j.row), j.reason,
                       self.policy.processes(route), j.explanation, j.verdict.review)

    def _explain(self, j: "_Judgement", table: CriteriaTable) -> str:
        found = []
        for name, value, quote in table.found(j.row):
            if name in SIGNAL_SLOTS:
                found.append(f'{name.replace("-", " ")} ("{quote}")')
                continue
            value = ", ".join(value) if isinstance(value, list) else value
            presumed = ", presumed from the actor" if name == "motive" and table.motive_presumed[j.row] else ""
            found.append(f'{_READABLE[name]} {value}{presumed} ("{quote}")')
        evidence = "The rules found " + "; ".join(found) + "." if found else "The rules found no criterion in the text."
        route, rule = j.verdict.route, j.rule
        if route == "undetermined":
            head = f"Undetermined: {j.verdict.undetermined_because}."
        else:
            reason = f" ({j.reason.replace('-', ' ')})" if j.reason else ""
            head = f"Routed to {route}{reason} with confidence {j.verdict.confidence:.2f}."
            if self.priors is not None:
                # The route depends on the mix given, so the result says which.
                head += " Probabilities are re-weighted to the route shares given (" + ", ".join(
                    f"{name} {share:.3f}" for name, share in self.priors.items()) + ")."
        model_p = max(j.text_proba)
        # Held back (too short, another script, nothing to route), neither reading is taken, so
        # neither is called a decision.
        if j.verdict.held_back and rule.route != "undetermined":
            agree = (f"The rules alone would say {rule.route} ({rule.explain}); the text model leans to "
                     f"{j.model_route} ({model_p:.2f}).")
        elif rule.route == "undetermined":
            own_route = route in (j.model_route, "undetermined")
            if route == "undetermined":   # the text model's reading was not taken
                agree = (f"The rules do not decide ({rule.explain}); the text model leans to {j.model_route} "
                         f"({model_p:.2f})")
            else:
                agree = f"The rules do not decide ({rule.explain}), so the text model does"
                agree += f" ({j.model_route}, {model_p:.2f})" if own_route else ""
            # What the text model reads, so the analyst sees its grounds where the rules are silent.
            readings = [f"{_HEAD_WORDS.get(name, name.replace('_', ' '))} at {p:.2f}"
                        for name, p in zip(self.model.text_model.heads_, j.heads)]
            if readings:
                agree += ", reading " + ", ".join(readings[:-1]) + (" and " if len(readings) > 1 else "") + readings[-1]
            if not own_route:
                # The combiner weighs the heads as well as the route reading and can land elsewhere.
                agree += (f"; from these readings the combined classifier says {route}, though the text "
                          f"model's own route reading is {j.model_route} ({model_p:.2f})")
            agree += "."
        elif rule.route == j.model_route:
            agree = f"Rules ({rule.explain}) and text model agree." + (f" {j.set_aside}" if j.set_aside else "")
            if route not in (rule.route, "undetermined"):
                agree = (f"Rules ({rule.explain}) and text model ({model_p:.2f}) both say {rule.route}, but the "
                         f"combined classifier, weighing their evidence with the text model's criterion "
                         f"readings, says {route}.")
        else:
            agree = (f"The rules say {rule.route} ({rule.explain}); the text model says "
                     f"{j.model_route} ({model_p:.2f}).")
        doubts = [j.doubt] if j.doubt else []
        if rule.route != "undetermined" and route not in (rule.route, j.model_route, "undetermined"):
            doubts.insert(0, "the route is neither the rules' nor the text model's")
        if j.verdict.conflict:
            agree += " This conflict is flagged for review."
        elif doubts:
            agree += f" Flagged for review: {'; '.join(doubts)}."
        elif j.verdict.disputed:
            agree += f" Flagged for review: the text model reads {j.model_route} at {model_p:.2f}."
        elif j.verdict.review and route != "undetermined":
            low = j.verdict.confidence < self.rules.decision["review_below"]
            agree += (" Flagged for review: confidence is low." if low else
                      " Flagged for review: the route rests on the text model alone.")
        return f"{head} {evidence} {agree}"

    def classify_frame(self, frame, text_column: str = "text", details: bool = False):
        """Return a copy of ``frame`` with the result columns of `batch` added.

        Parameters
        ----------
        frame : DataFrame or Series
            The descriptions, one per row. A Series is classified as one text column, named by
            the Series' name (``text_column`` when it has none).
        text_column : str
            The column holding the descriptions.
        details : bool
            Also add ``result.DETAIL_COLUMNS``, as `batch --details` does: ``sponsor``,
            ``rule_route``, ``model_route``, ``rule_id``, ``norms`` and a ``probability_`` column
            per route (float).

        Returns
        -------
        DataFrame
            ``frame``'s rows, index and columns, then the columns of ``result.CSV_COLUMNS``
            (``confidence`` float, ``review`` bool, the others str). As in `batch`, an input column
            whose name is a result column (an analyst's own ``route`` or ``error``) is kept under
            the name with ``_input`` added (and ``_`` more while that name is taken too), not
            overwritten. A row whose text is missing, empty or
            not text is ``undetermined``, with an ``error`` naming its index label.

        Raises
        ------
        TypeError
            ``frame`` is neither a DataFrame nor a Series.
        KeyError
            No column ``text_column``.
        ValueError
            ``text_column`` names two columns.
        """
        import pandas as pd

        from .batch import output_header

        if isinstance(frame, pd.Series):   # a column on its own: its name, if any, names the text column
            text_column = text_column if frame.name is None else frame.name
            frame = frame.to_frame(text_column)
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(f"classify_frame takes a pandas DataFrame or Series, not {type(frame).__name__}")
        if not isinstance(text_column, Hashable):   # a list of names: `in frame.columns` would fail unhashable
            raise TypeError(f"text_column is the name of one column, not a {type(text_column).__name__}")
        if text_column not in frame.columns:
            raise KeyError(f"column {text_column!r} not found; columns are: {', '.join(map(str, frame.columns))}")
        if list(frame.columns).count(text_column) > 1:
            raise ValueError(f"column {text_column!r} appears {list(frame.columns).count(text_column)} times; "
                             "rename all but one")
        texts = frame[text_column].tolist()
        rows = []
        # Where an index label repeats, it alone does not say which row: the position is added.
        unique = frame.index.is_unique
        for position, (label, value, row) in enumerate(zip(frame.index, texts, self.classify_rows(texts, details)),
                                                        start=1):
            if not isinstance(value, str) or not value.strip():
                # classify_rows gave the row of _unread_result (its own copy); the error adds where.
                where = f"index {label!r}" + ("" if unique else f" (row {position})")
                row["error"] = f"{where}: {_unread_problem(value)} in column {text_column!r}"
            rows.append(row)
        # The columns named, so that an empty frame gets them too.
        columns = result_columns(details)
        added = pd.DataFrame(rows, index=frame.index, columns=list(columns))
        # A route the model was not trained on has no probability: "" in a CSV cell, NaN here.
        added = added.replace({c: {"": float("nan")} for c in columns if c.startswith("probability_")})
        added = added.astype({c: RESULT_DTYPES.get(c, str) for c in columns})
        header, _ = output_header([str(c) for c in frame.columns], details)
        out = frame.copy()
        if any(str(c) != new for c, new in zip(frame.columns, header)):
            # By position, not by name: two columns of one name ("route", "route") get two new names.
            out.columns = [new if str(c) != new else c for c, new in zip(frame.columns, header)]
        for column in added.columns:
            out[column] = added[column]
        return out


# The result columns of classify_frame that are not text (the others are str), typed so even for
# an empty frame.
RESULT_DTYPES = {"confidence": "float64", "review": "bool",
                 **{c: "float64" for c in DETAIL_COLUMNS if c.startswith("probability_")}}


def _text_list(texts, method: str) -> list:
    """``texts`` as a list, read once (a generator too); a lone string or a DataFrame, which
    would iterate over characters or column names, is refused."""
    if isinstance(texts, (str, bytes)):
        raise TypeError(f"{method} takes a list of descriptions, not a single {type(texts).__name__}; "
                        f"classify takes one description")
    if hasattr(texts, "columns"):
        raise TypeError(f"{method} takes a list or Series of descriptions, not a DataFrame; "
                        f"classify_frame takes a DataFrame and the name of its text column")
    if isinstance(texts, Mapping):
        # Iterating a dict gives its keys: the descriptions would be the case names.
        raise TypeError(f"{method} takes a list or Series of descriptions, not a {type(texts).__name__}; "
                        f"pass its values (list(d.values())), or pd.Series(d) to keep the keys")
    if not isinstance(texts, Iterable):
        raise TypeError(f"{method} takes a list or Series of descriptions, not one value of type "
                        f"{type(texts).__name__}; classify takes one description")
    return list(texts)


def _unread_problem(value) -> str:
    """Why a description that is not read was not: "not text (int '42')", "empty text" (blank
    too) or "missing text" (None, NaN, pd.NA)."""
    return _not_text(value) or ("empty text" if isinstance(value, str) else "missing text")


def _not_text(value) -> str | None:
    """What is wrong with a description that is neither text nor missing ("not text (int '42')"),
    or None. Missing values (None, NaN, pd.NA) are reported as missing elsewhere."""
    if isinstance(value, str) or value is None or (isinstance(value, (float, np.floating)) and np.isnan(value)):
        return None
    if type(value).__name__ in ("NAType", "NaTType"):
        return None
    return f"not text ({type(value).__name__} {str(value)[:40]!r})"


class _Judgement(NamedTuple):
    """Everything decided about one text, from which a Result or a batch row is built."""

    row: int   # in the criteria table
    rule: RuleDecision
    verdict: Decision
    reason: str | None
    model_route: str
    text_proba: list[float]
    combined: list[float]
    heads: list[float]   # the text model's criterion heads, in TextModel.heads_ order
    doubt: str = ""      # why readings put the route in doubt (state_reading_, cascade_reading_, state_link_doubt)
    explanation: str = ""
    set_aside: str = ""  # the combiner's other route, set aside for the layers' agreed one (agreed_crime)


class _Reading(NamedTuple):
    """What ``Classifier._read`` finds for the non-empty texts, row for row."""

    table: CriteriaTable
    verdicts: RuleVerdicts
    text_proba: np.ndarray
    head_proba: np.ndarray
    combiner_proba: np.ndarray  # the combiner's own
    agreed: np.ndarray          # bool: where the text model's reading is taken (combiner.agreed_crime)
    combined: np.ndarray        # the probabilities decided on, before any re-weighting to route shares


@lru_cache(maxsize=1)
def default_classifier() -> Classifier:
    """The packaged rules and shipped model, loaded once per process."""
    return Classifier()


def classify(text: str) -> Result:
    """Classify one incident description with the shipped model and rules (``Classifier.classify``).

    The classifier is loaded on the first call and kept for the process (``default_classifier``):
    a change of $CYBERROUTE_RULES or $CYBERROUTE_MODEL afterwards takes ``Classifier()``.
    """
    return default_classifier().classify(text)


def classify_frame(frame, text_column: str = "text", details: bool = False):
    """Classify a DataFrame's text column with the shipped model and rules; returns a copy with
    the result columns added (``Classifier.classify_frame``, which documents them)."""
    return default_classifier().classify_frame(frame, text_column=text_column, details=details)
