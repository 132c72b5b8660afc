"""The result of one classification, and its serialisations (JSON, CSV row, HTML, text)."""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from .rule_engine import Criterion
from .ruleset import CRITERIA, ROUTES

# The CSV columns `batch` adds to every input row, in this order (a contract: keep them).
CSV_COLUMNS = ("route", "confidence", "actor_type", "state_sponsorship", "critical_infrastructure",
               "cascading_effects", "motive", "intersection_reason", "processes", "explanation",
               "review", "error")
# The columns `batch --details` adds after them: what else the JSON record holds, one cell each
# (the sponsoring State the rules name, each layer's route, the routing rule that decided, the
# norms, and the combined probability of each route, "" for a route the model was not trained on).
DETAIL_COLUMNS = ("sponsor", "rule_route", "model_route", "rule_id", "norms",
                  *(f"probability_{route.replace('-', '_')}" for route in ROUTES))


def result_columns(details: bool = False) -> tuple[str, ...]:
    """The columns a batch output adds: CSV_COLUMNS, then with ``details`` DETAIL_COLUMNS."""
    return CSV_COLUMNS + DETAIL_COLUMNS if details else CSV_COLUMNS


@dataclass
class Result:
    """Where one incident description goes, and why.

    Evidence spans are offsets into ``text`` in code points, as Python indexes a str:
    ``text[e.start:e.end] == e.text`` (JavaScript, which counts UTF-16 units, differs after an
    emoji or other character beyond the Basic Multilingual Plane).

    Attributes
    ----------
    text : str
        The description classified (empty for a value that is not text).
    route : str
        cybercrime, international-security, intersection or undetermined.
    confidence : float
        The combined classifier's probability of ``route``. For ``undetermined`` it is that of
        the most probable route, which was too low or too contested to give; 0.0 when the text
        was held back unread (too short, not mostly Latin letters, nothing to route, or empty).
    probabilities : dict
        Route -> combined probability (the three routes).
    criteria : dict
        The five criteria of the rule layer, each a ``Criterion`` with value, confidence,
        evidence and detail (``{"sponsor": "China"}`` for a State link whose State is named).
    rule_route, model_route : str
        What the rule layer alone and the text model alone say.
    intersection_reason : str or None
        Why an intersection is one (State actor in crime, criminal proxy, ...).
    processes, norms : list of str
        The policy processes the route goes to, and the norms of responsible State behaviour
        the incident touches (rules/processes.toml).
    explanation : str
        The decision in plain words.
    review : bool
        True when an analyst should look: undetermined, low confidence, the two layers in
        conflict, or a reading that puts the route in doubt even at high confidence (a State
        the route rests on that neither layer finds, cascading effects the rules find no words
        for); the explanation says which.
    signals : dict
        Findings besides the criteria that the routing rules read (criminal disguise,
        criminal proxy, hedged attribution, ...), each a ``Criterion``.
    rule_id : str
        The routing rule of rules/routing.toml that decided ``rule_route``.
    rule_confidence : float
        How sure that routing rule is.
    model_probabilities : dict
        Route -> the text model's own probability.
    model_criteria : dict
        Criterion head -> the text model's probability that it holds (state_involvement,
        financial_motive, cascading_effects), read from the words alone; empty for a model
        trained without criteria columns, and for an empty text (the model is not run).
    error : str or None
        Why the description could not be read ("empty text", "missing text", "not text (int
        '42')"), else None.
    """

    text: str
    route: str
    confidence: float
    probabilities: dict[str, float]
    criteria: dict[str, Criterion]
    rule_route: str
    model_route: str
    intersection_reason: str | None
    processes: list[str]
    norms: list[str]
    explanation: str
    review: bool
    signals: dict[str, Criterion] = field(default_factory=dict)
    rule_id: str = ""
    rule_confidence: float = 0.0
    model_probabilities: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    model_criteria: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """The JSON record (`score --json`): the keys of the output contract, then extras."""
        return {
            "route": self.route,
            "confidence": round(self.confidence, 4),
            "probabilities": {k: round(v, 4) for k, v in self.probabilities.items()},
            "criteria": {name: self.criteria[name].to_dict() for name in CRITERIA},
            "rule_route": self.rule_route,
            "model_route": self.model_route,
            "intersection_reason": self.intersection_reason,
            "processes": list(self.processes),
            "norms": list(self.norms),
            "explanation": self.explanation,
            "review": self.review,
            "signals": {name: s.to_dict() for name, s in self.signals.items()},
            "rule_id": self.rule_id,
            "rule_confidence": round(self.rule_confidence, 4),
            "model_probabilities": {k: round(v, 4) for k, v in self.model_probabilities.items()},
            "model_criteria": {k: round(v, 4) for k, v in self.model_criteria.items()},
            "error": self.error,
        }

    @classmethod
    def from_dict(cls, record: Mapping, text: str | None = None) -> "Result":
        """A Result from its JSON record, to render or tabulate saved output again.

        Parameters
        ----------
        record : mapping
            As ``to_dict`` gives it: a line of `score --json` or of `batch -o FILE.jsonl` (whose
            ``input`` holds the input record), parsed with ``json.loads``.
        text : str, optional
            The description the record's evidence spans index. Default: the record's ``text``,
            else the value of its ``input`` (batch's JSON lines) in which every span is found
            (the default ``text`` column, else whichever column ``--text-column`` named), else ""
            with a warning when the record has evidence, which then cannot be highlighted.

        Returns
        -------
        Result
            Equal in ``to_dict()`` to the record it came from. What the record leaves out stays
            out: the spans past the 50 a criterion's record holds, and the decimals past four (a
            figure shown with two may differ from the original's in its last digit).

        Raises
        ------
        ValueError
            When a key of the output contract is missing or a value has the wrong form (the
            message names the key), or when an evidence span is not in the text (given, or the
            record's own ``text``) at its offsets.
        """
        if not isinstance(record, Mapping):
            raise ValueError(f"a result record is a JSON object (a dict), not a {type(record).__name__}")
        result = cls._from_record(record, "" if text is None else text)
        spans = [(name, e) for name, c in (*result.criteria.items(), *result.signals.items())
                 for e in (*c.evidence, *c.against)]
        if text is None and "text" not in record:
            found = _text_fitting(record.get("input"), [e for _, e in spans])
            if found is None and spans:
                warnings.warn("the result record holds no description that its evidence spans fit, so "
                              "they cannot be highlighted; pass the description as text=", stacklevel=2)
            return replace(result, text=found or "")
        if text is None:
            result = replace(result, text=str(record["text"]))
        for name, e in spans:
            if result.text[e.start:e.end] != e.text:
                source = "the text given" if text is not None else "the record's text"
                raise ValueError(f"the {name} evidence {e.text!r} at {e.start}-{e.end} is not in {source} "
                                 f"at those offsets; pass the description the record was made from as text=")
        return result

    @classmethod
    def _from_record(cls, record: Mapping, text: str) -> "Result":
        try:
            return cls(
                text=str(text), route=record["route"], confidence=_number(record, "confidence"),
                probabilities=dict(record["probabilities"]),
                criteria={name: Criterion.from_dict(record["criteria"][name]) for name in CRITERIA},
                rule_route=record["rule_route"], model_route=record["model_route"],
                intersection_reason=record["intersection_reason"], processes=list(record["processes"]),
                norms=list(record["norms"]), explanation=record["explanation"], review=bool(record["review"]),
                signals={name: Criterion.from_dict(s) for name, s in record.get("signals", {}).items()},
                rule_id=record.get("rule_id", ""), rule_confidence=_number(record, "rule_confidence", 0.0),
                model_probabilities=dict(record.get("model_probabilities", {})),
                model_criteria=dict(record.get("model_criteria", {})), error=record.get("error"))
        except KeyError as exc:
            raise ValueError(f"the result record has no {exc.args[0]!r} key") from None
        except (TypeError, AttributeError) as exc:
            raise ValueError(f"the result record does not have the form to_dict gives ({exc})") from None

    def to_json(self, **kwargs) -> str:
        """``to_dict()`` as a JSON string (``kwargs`` go to ``json.dumps``, e.g. ``indent=2``)."""
        return json.dumps(self.to_dict(), ensure_ascii=False, **kwargs)

    def to_row(self, details: bool = False) -> dict[str, object]:
        """The CSV columns added by `batch` (``result_columns(details)``)."""
        values = {name: criterion.value for name, criterion in self.criteria.items()}
        row = csv_row(self.route, self.confidence, values, self.intersection_reason, self.processes,
                      self.explanation, self.review, self.error)
        if details:
            probabilities = {route: round(self.probabilities[route], 4) if route in self.probabilities else ""
                             for route in ROUTES}
            row.update(zip(DETAIL_COLUMNS, (
                self.criteria["state_sponsorship"].detail.get("sponsor", ""), self.rule_route, self.model_route,
                self.rule_id, "; ".join(self.norms), *probabilities.values())))
        return row

    def _repr_html_(self) -> str:
        from .render import result_html

        return result_html(self)

    def __str__(self) -> str:
        from .render import result_text

        return result_text(self)

    def __repr__(self) -> str:
        return f"Result(route={self.route!r}, confidence={self.confidence:.2f}, review={self.review})"


EVIDENCE_COLUMNS = ("result", "criterion", "value", "start", "end", "span", "rule", "negated", "against")


def _number(record: Mapping, key: str, default: float | None = None) -> float:
    """A record's number under ``key`` (KeyError when missing without a default), or a ValueError
    naming the key."""
    value = record[key] if default is None else record.get(key, default)
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"the result record's {key!r} is not a number: {value!r}") from None


def _text_fitting(given, evidence: list) -> str | None:
    """The value of a batch record's ``input`` that the evidence spans index: its ``text``, else
    the one column (``--text-column``) in which every span is found at its offsets; None if none."""
    if not isinstance(given, Mapping):
        return None
    values = [given["text"]] if isinstance(given.get("text"), str) else []
    values += [v for k, v in given.items() if k != "text" and isinstance(v, str)]
    for value in values:
        if all(value[e.start:e.end] == e.text for e in evidence) and (evidence or value is given.get("text")):
            return value
    return None


def evidence_frame(results, index=None):
    """The evidence of several results as one long DataFrame, a row per span: what a notebook
    filters and counts ("which rules set State links in this feed?").

    Parameters
    ----------
    results : iterable of Result
        As ``Classifier.classify_many`` returns them.
    index : sequence, optional
        A label per result (a DataFrame's index, to join back to it); default: 0, 1, 2, ...

    Returns
    -------
    DataFrame
        Columns ``EVIDENCE_COLUMNS``: the result's label, the criterion (the five of the rule
        layer, then ``signal:<name>`` for signals such as criminal disguise), its value (sectors
        joined by ";"), the span's ``start`` and ``end`` in code points with its text (``span``),
        the rule that matched, whether the span was negated, and whether it spoke ``against`` the
        value (a denial that a State link overrode: ``Criterion.against``; filter on it to keep only
        the spans that set a value). A result without evidence has no row.
    """
    import pandas as pd

    if isinstance(results, Result) or hasattr(results, "columns") or isinstance(results, (str, bytes)):
        raise TypeError(f"evidence_frame takes a list of Result objects (from classify_many), not a "
                        f"{type(results).__name__}" + ("; put one result in a list" if isinstance(results, Result) else ""))
    results = list(results)
    strangers = [r for r in results if not isinstance(r, Result)]
    if strangers:
        raise TypeError(f"evidence_frame takes Result objects (from classify_many), not "
                        f"{type(strangers[0]).__name__} values")
    labels = range(len(results)) if index is None else list(index)
    if len(labels) != len(results):
        raise ValueError(f"index has {len(labels)} labels for {len(results)} results")
    rows = []
    for label, result in zip(labels, results):
        found = [*result.criteria.items(), *((f"signal:{name}", s) for name, s in result.signals.items())]
        for name, criterion in found:
            value = ";".join(criterion.value) if isinstance(criterion.value, list) else criterion.value
            rows.extend((label, name, value, e.start, e.end, e.text, e.rule, e.negated, False) for e in criterion.evidence)
            rows.extend((label, name, value, e.start, e.end, e.text, e.rule, e.negated, True) for e in criterion.against)
    frame = pd.DataFrame(rows, columns=list(EVIDENCE_COLUMNS))
    return frame.astype({"start": "int64", "end": "int64", "negated": "bool", "against": "bool"})


def csv_row(route: str, confidence: float, criteria: dict[str, str | list[str]], intersection_reason: str | None,
            processes: list[str], explanation: str, review: bool, error: str | None = None) -> dict[str, object]:
    """The CSV columns of CSV_COLUMNS for one result, from the criteria's values by name (batch
    builds them without a Result)."""
    return {
        "route": route,
        "confidence": round(confidence, 4),
        "actor_type": criteria["actor_type"],
        "state_sponsorship": criteria["state_sponsorship"],
        "critical_infrastructure": ";".join(criteria["critical_infrastructure"]),
        "cascading_effects": criteria["cascading_effects"],
        "motive": criteria["motive"],
        "intersection_reason": intersection_reason or "",
        "processes": "; ".join(processes),
        "explanation": explanation,
        "review": review,
        "error": error or "",
    }


def not_classified(problem: str) -> str:
    """The explanation of a row or record that could not be read (not "the description is empty")."""
    return f"Not classified: {problem}."
