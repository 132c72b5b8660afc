"""The combiner: text-model probabilities and rule evidence in, the final route out.

A small logistic regression (stacking) learns how far to trust each side: its inputs are the
text model's log-probabilities of the routes and of its criterion heads (State involvement,
financial motive, cascading effects), computed out-of-fold at training time so they are as noisy
as on new text, and the rule layer's verdict, weighted by its confidence. So
the model decides where the rules are silent, and strong rule evidence wins where the model is
unsure. The decision thresholds (undetermined, review, conflict) come from rules/routing.toml.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .estimator import Estimator
from .policy import RuleDecision
from .ruleset import ALL_ROUTES, CRIME_ON_CI, INTERSECTION_REASONS, STATE_REASONS


def rule_feature_names() -> list[str]:
    names = [f"rule_route={r}" for r in ALL_ROUTES]
    names += [f"rule_reason={r}" for r in INTERSECTION_REASONS]
    return names


RULE_FEATURES = rule_feature_names()
_INDEX = {name: i for i, name in enumerate(RULE_FEATURES)}


def rule_features(routes: list[str], reasons: list[str], confidence: np.ndarray) -> np.ndarray:
    """The rule layer's verdicts as the combiner sees them, one row per text: the route and the
    reason (``RuleVerdicts.routes`` and ``.reasons``), weighted by the rule's confidence.

    Only the verdict, not the raw criteria, goes in: the routing policy in rules/routing.toml
    stays the one place that turns criteria into routes, so an analyst's edit to it changes what
    the combined classifier does. (Grouped CV on the corpus scored the same either way.)

    Text length is not a feature: a flag for texts under 12 words scored the same in grouped CV
    but taught the combiner that short means crime, which sent short reports of State operations
    (DCID's one-line objectives) to cybercrime. See docs/error-analysis.md.
    """
    rows = np.zeros((len(routes), len(RULE_FEATURES)), dtype=np.float64)
    confidence = np.asarray(confidence, dtype=np.float64)
    every = np.arange(len(routes))
    rows[every, [_INDEX[f"rule_route={route}"] for route in routes]] = np.maximum(confidence, 0.05)
    reasoned = [i for i, reason in enumerate(reasons) if reason]
    rows[reasoned, [_INDEX[f"rule_reason={reasons[i]}"] for i in reasoned]] = confidence[reasoned]
    return rows


def stack(text_proba: np.ndarray, rule_rows: np.ndarray, head_proba: np.ndarray | None = None) -> np.ndarray:
    """The combiner's input: log text probabilities, then the log-probabilities that each
    criterion head's criterion holds and does not hold, then the rule features.

    A head enters as two logs, not as one log-odds: log p and log (1 - p) let the combiner add up
    "State involved" and "financial" as a product of probabilities, which is how the routing
    policy's "State actor in crime" is built. (Grouped CV: 0.899 with two columns, 0.891 with one.)
    """
    heads = np.zeros((len(text_proba), 0)) if head_proba is None else np.asarray(head_proba)
    both = np.stack([heads, 1.0 - heads], axis=2).reshape(len(heads), -1)
    return np.hstack([np.log(np.clip(text_proba, 1e-6, 1.0)), np.log(np.clip(both, 1e-6, 1.0)), rule_rows])


def agreed_crime(rule_routes, criminal_actor: np.ndarray | None, text_proba: np.ndarray, classes: list[str],
                 head_proba: np.ndarray, head_names: list[str], cascade_below: float) -> np.ndarray:
    """Where the combiner's reading is set aside for the text model's: one bool per text.

    The rule layer names a criminal actor (``criminal_actor``, ``CriteriaTable.criminal_actor``;
    None: nowhere) and routes cybercrime, the text model's own most probable route is cybercrime
    too, and its cascading-effects head (the column of ``head_proba`` that ``head_names`` names)
    reads less than ``cascade_below`` (routing.toml's ``agreed_crime_cascade_below``; 0 turns
    this off, as does a model without that head). The combiner can still land elsewhere there,
    because it adds up the criterion heads: on threat-group profiles written in a vendor's
    register ("researchers", "campaign", "intelligence") the State-involvement head reads 0.3 to
    0.7 for criminal groups, and with a financial reading that makes "a State actor in crime"
    (docs/error-analysis.md, item 34). With the cascade head low, no route but cybercrime rests
    on anything the two layers found. On the corpus the combiner's own route there was right
    about as often as not (grouped CV: see item 34).
    """
    if (criminal_actor is None or "cascading_effects" not in head_names or cascade_below <= 0.0
            or len(text_proba) == 0 or "cybercrime" not in classes):
        return np.zeros(len(text_proba), dtype=bool)
    crime = list(classes).index("cybercrime")
    cascade_head = np.asarray(head_proba)[:, list(head_names).index("cascading_effects")]
    return (np.asarray(criminal_actor, dtype=bool) & (np.asarray(rule_routes) == "cybercrime")
            & (np.argmax(text_proba, axis=1) == crime) & (cascade_head < cascade_below))


def defer_to_text(combined: np.ndarray, text_proba: np.ndarray, agreed: np.ndarray) -> np.ndarray:
    """The combined probabilities with the rows of ``agreed`` (``agreed_crime``) replaced by the
    text model's: their route and confidence are the text model's reading, which the rules share."""
    return np.where(np.asarray(agreed, dtype=bool)[:, None], text_proba, combined)


class Combiner(Estimator):
    """Logistic regression over stacked text probabilities and rule features.

    Fitting uses scikit-learn (imported then); predicting is a matrix product and a softmax.

    Parameters
    ----------
    C : float
        Inverse regularisation strength.

    Attributes
    ----------
    classes_ : the routes, in the order of ``predict_proba``'s columns.
    coef_, intercept_ : one row (one value) per route.
    """

    def __init__(self, C: float = 1.0):
        self.C = C

    def fit(self, stacked: np.ndarray, routes) -> "Combiner":
        from sklearn.linear_model import LogisticRegression

        from .text_model import row_per_class

        model = LogisticRegression(C=self.C, max_iter=3000).fit(stacked, np.asarray(routes))
        self.classes_ = model.classes_
        self.coef_, self.intercept_ = row_per_class(model)
        return self

    def predict_proba(self, stacked: np.ndarray) -> np.ndarray:
        from .text_model import softmax

        self._check_fitted()
        return softmax(stacked @ self.coef_.T + self.intercept_)

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {"combiner_coef": self.coef_, "combiner_intercept": self.intercept_}

    @classmethod
    def from_arrays(cls, arrays, classes: list[str], C: float, heads: int = 0) -> "Combiner":
        combiner = cls(C=C)
        coef = np.asarray(arrays["combiner_coef"], dtype=np.float64)
        expected = (len(classes), len(classes) + 2 * heads + len(RULE_FEATURES))
        if coef.shape != expected:
            raise ValueError(f"combiner_coef has shape {coef.shape}, expected {expected}")
        combiner.coef_ = coef
        combiner.intercept_ = np.asarray(arrays["combiner_intercept"], dtype=np.float64)
        combiner.classes_ = np.asarray(classes)
        return combiner


def _below(value: float, threshold: float) -> str:
    """``value`` (below ``threshold``) with as many decimals as show it below: 0.449 against
    0.45, where two decimals would print "0.45 is below 0.45"."""
    for digits in (2, 3, 4):
        if round(value, digits) < threshold:
            return f"{value:.{digits}f}"
    return f"{value:.6f}"


@dataclass(frozen=True)
class Decision:
    route: str
    confidence: float
    review: bool
    conflict: bool
    undetermined_because: str
    held_back: bool = False   # not routed whatever the probabilities say (held_back_because)
    disputed: bool = False    # the text model reads another route at conflict_model_probability or more


# What the explanation of a text held back for its length says (routing.toml's min_words).
TOO_FEW_WORDS = "fewer than the"
# Why a text that tells of nothing to route is not routed (see routing.toml's [topic]).
OFF_TOPIC = ("the text tells of no cyber act, actor, victim or State: the rules found no evidence "
             "and no word of routing.toml's [topic] list occurs")
NOT_LATIN = "most of its letters are not Latin: the tool reads English only (translate it first)"
# Why a text that denies the incident is not routed (the no-incident cue of rules/criteria.toml).
NO_INCIDENT = ("the text says no cyber attack took place and names no attacker or State, so there is "
               "no incident to route")


def held_back_because(words: int | None, min_words: int, latin: bool, on_topic: bool,
                      incident_denied: bool = False) -> str:
    """Why a text is not routed whatever the probabilities say, or "": a script other than Latin
    (whose words need not be spaced: Chinese is one "word" to a split), fewer ``words`` than
    ``min_words`` (None: not counted), a text that says no cyber attack took place and names no
    attacker (``RoutingPolicy.denies_incident``), or nothing to route (``RoutingPolicy.on_topic``).
    The first that applies is given."""
    if not latin:
        return NOT_LATIN
    if words is not None and words < min_words:
        plural = "s" if words != 1 else ""
        return f"the description has {words} word{plural}, {TOO_FEW_WORDS} {min_words} needed to decide"
    if incident_denied:
        return NO_INCIDENT
    return "" if on_topic else OFF_TOPIC


def mostly_latin(text: str) -> bool:
    """Whether at least half the letters of ``text`` are Latin (ASCII or the Latin blocks up to
    U+024F and U+1E00-U+1EFF): Cyrillic, Arabic or Chinese text gives the English cues and the
    text model nothing to read."""
    if text.isascii():
        return True
    letters = [ch for ch in text if ch.isalpha()]
    latin = sum(ch <= "\u024f" or "\u1e00" <= ch <= "\u1eff" for ch in letters)
    return latin * 2 >= len(letters)


def decide(classes, combined: np.ndarray, text_proba: np.ndarray, rule: RuleDecision,
           thresholds: dict[str, float], held_back: str = "", agreed: bool = False) -> Decision:
    """Turn the combined probabilities into a route, applying routing.toml's [decision]. A text
    ``held_back`` (``held_back_because``) is undetermined for that reason whatever they say.

    ``agreed`` marks a text where the two layers agree on crime (``agreed_crime``): there a
    cybercrime route is kept from ``agreed_crime_min_confidence`` on rather than from
    ``min_confidence`` (flagged for review below ``review_below`` as any route). Its
    probabilities are the text model's alone, which a vendor's register spreads thin ("A
    cybercriminal actor known to carry out callback phishing", cybercrime 0.42), while the rules
    name the criminal: two layers that agree are not a text too thin to decide."""
    best = max(range(len(combined)), key=combined.__getitem__)
    route, confidence = str(classes[best]), float(combined[best])
    model_best = max(range(len(text_proba)), key=text_proba.__getitem__)
    conflict = (rule.route in classes and rule.route != classes[model_best]
                and rule.confidence >= thresholds["conflict_rule_confidence"]
                and text_proba[model_best] >= thresholds["conflict_model_probability"])
    conflict = bool(conflict)
    # Where the rules do not decide, the route is the text model's call alone: an analyst should look.
    # So where the combined route is neither the rules' nor the text model's: the stacked weights
    # can overrule both, whether the two agree with each other or not.
    overruled = rule.route in classes and route not in (rule.route, str(classes[model_best]))
    # The text model sure of another route (a weaker rule finding won, short of a strong conflict):
    # such results were wrong several times as often as other unflagged ones (docs/error-analysis.md, item 42).
    disputed = route != classes[model_best] and text_proba[model_best] >= thresholds["conflict_model_probability"]
    review = bool(confidence < thresholds["review_below"] or conflict or rule.route == "undetermined" or overruled
                  or disputed)
    if held_back:
        # The probabilities say nothing about such a text: no confidence, as for an empty text.
        return Decision("undetermined", 0.0, True, conflict, held_back, held_back=True)
    because = ""
    floor = thresholds["min_confidence"]
    if agreed and route == "cybercrime" == rule.route:
        floor = thresholds["agreed_crime_min_confidence"]
    if confidence < floor:
        because = (f"the most probable route ({route}, {_below(confidence, floor)}) "
                   f"is below {floor:.2f}")
    elif conflict and confidence < thresholds["conflict_min_confidence"]:
        because = (f"the rules say {rule.route} and the text model says {classes[model_best]}, "
                   f"and the combined probability ({confidence:.2f}) does not settle it")
    if because:
        return Decision("undetermined", confidence, True, conflict, because)
    return Decision(route, confidence, review, conflict, "", disputed=disputed)


CASCADE_DOUBT = "without a State, intersection needs cascading effects, which the rules find no words for"


def cascade_reading_doubt(route: str, state_found: bool, rules_cascade: bool, head_cascade: float | None) -> str:
    """Why an intersection route rests on cascading effects the rules find no words for, or "".

    Without a State (``state_found``: by the rules or the text model's head), intersection means
    crime on critical infrastructure whose effects spread; where the rules found no spill-over,
    that rests on the text model alone, which has learnt phrases such as "ransomware attack" from
    the corpus's cascading cases ("ransomware attack on a hospital": intersection at 1.00).
    """
    if route != "intersection" or state_found or rules_cascade:
        return ""
    reading = f" (the text model reads them at {head_cascade:.2f})" if head_cascade is not None else ""
    return f"{CASCADE_DOUBT}{reading}"


NO_REASON = ("no intersection reason can be named: the evidence meets fewer than half the conditions "
             "of every intersection rule")


def no_reason_doubt(route: str, reason: str | None) -> str:
    """Why an intersection route without a reason (``policy.likely_reasons`` found none) is in
    doubt, or "". On the external files with session 17's shipped model: 38 results, 33 wrong."""
    return NO_REASON if route == "intersection" and reason is None else ""


STATE_LINK_DOUBT = "the route rests on a State, where the rules read no State link"


def state_link_doubt(route: str, reason: str | None, rules_no_state_link: bool) -> str:
    """Why the rules' reading of no State link puts a route that rests on a State in doubt, or "".

    Routed international-security, or intersection for a reason that rests on a State, while
    the rules read State sponsorship as none: a denial ("found no evidence tying the heist to
    North Korea") or a criminal actor and no State. On the external files this flagged 20
    results nothing else flagged, 11 of them wrong, where 11 % of the other unflagged ones are
    (session 14, docs/error-analysis.md, item 28).
    """
    if not rules_no_state_link:
        return ""
    if route == "international-security" or (route == "intersection" and reason in STATE_REASONS):
        return STATE_LINK_DOUBT
    return ""


def state_reading_doubt(route: str, head_state: float | None, rules_state: bool, threshold: float,
                        reason: str | None = None) -> str:
    """Why the text model's reading of State involvement puts the route in doubt, or "".

    Routed cybercrime, or intersection for crime on critical infrastructure (the one reason
    without a State), while the State-involvement head reads a State (``head_state`` at least
    ``threshold``); or routed international-security with no State found by the rules and none
    read by the head. On the external files, 13 of the 42 results this flagged were wrong, where
    12.6 % of the unflagged ones are (docs/error-analysis.md, item 22); the intersection case,
    added in session 17 after a reviewer's "Russian hackers disrupted the power grid" went
    unflagged, flags 5 results there, 4 of them wrong.
    """
    if head_state is None:
        return ""
    no_state_route = route == "cybercrime" or (route == "intersection" and reason == CRIME_ON_CI)
    if no_state_route and head_state >= threshold:
        return f"the text model reads State involvement ({head_state:.2f}), which the route leaves out"
    if route == "international-security" and not rules_state and head_state < threshold:
        return (f"the route implies State involvement, which neither the rules nor the text model "
                f"({head_state:.2f}) find")
    return ""
