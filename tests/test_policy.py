"""The routing table of the design (rules/routing.toml), as the rule layer applies it."""

from __future__ import annotations

import shutil

import pytest

CASES = [
    # (text, rule route, intersection reason)
    ("A ransomware gang encrypted a regional dental chain's records and demanded bitcoin.",
     "cybercrime", ""),
    ("Operators of a GRU unit deployed a wiper against a national grid operator; power was lost for 200,000 customers.",
     "international-security", ""),
    ("A North Korean State-backed group stole 600 million dollars from a crypto bridge.",
     "intersection", "state-actor-in-crime"),
    ("A worm posing as ransomware, built by a military intelligence unit, wiped machines worldwide.",
     "intersection", "state-operation-disguised-as-crime"),
    ("A criminal ransomware group hit a fuel pipeline; the operator halted flows and fuel shortages spread across several states.",
     "intersection", "crime-on-critical-infrastructure-with-cascading-effects"),
    ("Hacktivists that researchers tie to a revolutionary-guard cyber command defaced water-utility controllers in several countries.",
     "intersection", "criminal-proxy-of-state"),
    ("Spies linked to a foreign intelligence service stayed hidden in a ministry's email for two years.",
     "international-security", ""),
]


@pytest.mark.parametrize("text, route, reason", CASES)
def test_routing_table(layer, text, route, reason):
    _, decision = layer.analyse(text)
    assert (decision.route, decision.reason) == (route, reason)


def test_silent_rules_route_undetermined(layer):
    _, decision = layer.analyse("Something happened to the computers yesterday.")
    assert decision.route == "undetermined" and decision.rule_id == "silent"


@pytest.mark.parametrize("text", [
    "Unknown intruders exfiltrated documents on a pipeline project from an engineering firm.",
    "Someone wiped the servers of a regional newspaper the night before the vote.",
])
def test_a_motive_alone_does_not_make_a_crime(layer, classifier, text):
    """Espionage or sabotage with no actor and no State link named: the rules abstain and say why."""
    analysis, decision = layer.analyse(text)
    assert analysis.criteria["actor_type"].value == "unknown" and not analysis.state_involvement
    assert (decision.route, decision.rule_id) == ("undetermined", "motive-without-actor")
    explanation = classifier.classify(text).explanation
    assert "The rules do not decide (only a motive was found" in explanation


@pytest.mark.parametrize("text", [
    "Intruders read the foreign ministry's diplomatic cables for months.",
    "Classified planning files were exfiltrated from the defence ministry's network.",
    "Sensitive information was taken from a White House server.",          # "White House", "sensitive information"
    "Intruders stole information from a senator's office network.",        # "senator" (weak), "stole information"
])
def test_spying_on_state_secrets_with_no_actor_is_presumed_state_work(layer, classifier, text):
    """routing.toml's presumed-state-espionage: no actor or State link named, espionage against a
    government or military; the explanation says the State is presumed, not found."""
    analysis, decision = layer.analyse(text)
    assert analysis.criteria["actor_type"].value == "unknown" and not analysis.state_involvement
    assert (decision.route, decision.rule_id) == ("international-security", "presumed-state-espionage")
    assert decision.confidence <= 0.6
    assert "presumed to be a State's work" in classifier.classify(text).explanation


@pytest.mark.parametrize("text, rule_id", [
    # The text rules a State out: nothing is presumed.
    ("Police found no foreign involvement after intruders copied files from the ministry network.", "motive-without-actor"),
    # A named criminal actor: a crime.
    ("A cybercriminal gang exfiltrated files from the defence ministry and sold them.", "crime"),
])
def test_the_presumption_yields_to_what_the_text_says(layer, text, rule_id):
    _, decision = layer.analyse(text)
    assert decision.rule_id == rule_id


def test_a_motive_with_a_criminal_actor_is_still_a_crime(layer):
    _, decision = layer.analyse("A cybercriminal gang exfiltrated documents from an engineering firm and sold them.")
    assert decision.rule_id == "crime"


def test_criminal_on_infrastructure_without_cascade_is_cybercrime(layer):
    _, decision = layer.analyse("A ransomware gang encrypted a hospital's billing server and demanded a ransom.")
    assert decision.route == "cybercrime"


def test_norms_follow_processes_toml(classifier):
    analysis, _ = classifier.analyse("GRU hackers sabotaged a power grid operator.")
    norms = classifier.policy.norms("international-security", analysis)
    assert any(n.startswith("13(f)") for n in norms)
    assert classifier.policy.norms("cybercrime", analysis) == []
    spying, _ = classifier.analyse("Spies linked to a foreign intelligence service read a ministry's email.")
    assert not any(n.startswith("13(f)") for n in classifier.policy.norms("international-security", spying))
    assert "UN Convention against Cybercrime (A/RES/79/243)" in classifier.policy.processes("cybercrime")


def test_edited_routing_rule_changes_route(tmp_path, rules_dir):
    """An analyst's edit to routing.toml takes effect without code changes."""
    from classifier.api import RuleLayer

    copy = tmp_path / "rules"
    shutil.copytree(rules_dir, copy, ignore=shutil.ignore_patterns("__*"))
    text = (copy / "routing.toml").read_text()
    edited = text.replace('id = "state-actor-in-crime"\nwhen = { state_involvement = true, motive = ["financial"] }\nroute = "intersection"',
                          'id = "state-actor-in-crime"\nwhen = { state_involvement = true, motive = ["financial"] }\nroute = "international-security"')
    assert edited != text
    edited = edited.replace('reason = "state-actor-in-crime"', 'reason = ""', 1)
    (copy / "routing.toml").write_text(edited)
    _, decision = RuleLayer(copy).analyse("A North Korean State-backed group stole 600 million dollars from a crypto bridge.")
    assert decision.route == "international-security"


def _table(layer, texts):
    from classifier.criteria_table import CriteriaTable

    return CriteriaTable.from_analyses([layer.engine.analyse(t) for t in texts], texts)


def test_a_table_routes_each_row_as_if_alone(layer):
    """The policy runs over a whole table at once; no row's verdict may depend on its neighbours."""
    texts = [text for text, _, _ in CASES] + ["Something happened to the computers yesterday.",
                                              "Unknown intruders exfiltrated documents from an engineering firm."]
    verdicts = layer.policy.decide_many(_table(layer, texts))
    assert [verdicts[i] for i in range(len(texts))] == [layer.analyse(t)[1] for t in texts]
    assert [verdicts[i].route for i in range(len(CASES))] == [route for _, route, _ in CASES]


def test_a_norm_listed_twice_applies_under_either_condition(classifier):
    """13(c) is listed for a proxy and for a State with criminal actors: either brings it."""
    from classifier.rule_engine import Analysis, Criterion

    def analysis(actor_type, signals):
        criteria = {"actor_type": Criterion(actor_type, 0.6), "state_sponsorship": Criterion("suspected", 0.8),
                    "critical_infrastructure": Criterion([], 0.5), "cascading_effects": Criterion("no", 0.5),
                    "motive": Criterion("unknown", 0.5)}
        return Analysis(criteria=criteria, signals={s: Criterion("yes", 0.7) for s in signals}, hits=())

    def has_13c(a):
        return any(n.startswith("13(c)") for n in classifier.policy.norms("intersection", a))

    assert has_13c(analysis("criminal", []))            # the second listing
    assert has_13c(analysis("state", ["criminal-proxy"]))  # the first
    assert not has_13c(analysis("state", []))


def test_likely_reason_is_the_nearest_intersection_rule_on_the_same_side(layer):
    texts = ["A ransomware gang encrypted a fuel pipeline operator's billing servers.",
             "GRU hackers sabotaged a power grid operator.",
             "A gang stole gift cards from a shoe shop."]
    reasons = layer.policy.likely_reasons(_table(layer, texts))
    # Half the conditions of the cascade rule hold for a crime on infrastructure; none of the
    # State-side intersection rules' conditions hold for plain sabotage; nothing for a shoe shop.
    assert reasons == ["crime-on-critical-infrastructure-with-cascading-effects", None, None]


def test_likely_reason_follows_the_text_models_reading_of_state_involvement(layer):
    """When the text model chose intersection and reads a State behind a crime the rules saw as
    plain crime, the reason comes from the State side of the divide."""
    texts = ["A ransomware gang encrypted a fuel pipeline operator's billing servers.",
             "A ransomware gang encrypted a fuel pipeline operator's billing servers."]
    table = _table(layer, texts)
    assert not table.state_involvement.any()
    reasons = layer.policy.likely_reasons(table, model_state=[False, True])
    assert reasons[0] == "crime-on-critical-infrastructure-with-cascading-effects"
    assert reasons[1] in {"state-actor-in-crime", "criminal-proxy-of-state"}



def test_the_text_models_state_reading_adds_to_the_rules_and_never_removes(rules, monkeypatch):
    """Where the rules found a State and the text model alone chose intersection, the reason
    stays on the State side, whatever the State head reads."""
    import numpy as np

    from classifier.api import Classifier

    classifier = Classifier(rules=rules)
    text_model = classifier.model.text_model
    real = text_model.predict_all

    def reads_intersection_without_a_state(texts):
        routes, heads = real(texts)
        routes = np.tile([0.001, 0.001, 0.998], (len(texts), 1))        # cybercrime, intl-security, intersection
        heads = np.tile([0.1, 0.2, 0.9], (len(texts), 1))               # State, financial, cascade
        return routes, heads

    monkeypatch.setattr(text_model, "predict_all", reads_intersection_without_a_state)
    text = "A State-backed group hit the grid; outages spread to three countries."
    result = classifier.classify(text)
    assert result.rule_route == "international-security" and result.route == "intersection"
    table, _, _ = classifier.rule_rows([text])
    # Had the head's "no" decided the divide, the cascade reason would be named.
    assert classifier.policy.likely_reasons(table, [False]) == ["crime-on-critical-infrastructure-with-cascading-effects"]
    assert result.intersection_reason != "crime-on-critical-infrastructure-with-cascading-effects"


@pytest.mark.parametrize("route, head, rules_state, flagged", [
    ("cybercrime", 0.8, False, "reads State involvement (0.80)"),
    ("cybercrime", 0.3, False, ""),
    ("international-security", 0.2, False, "neither the rules nor the text model (0.20)"),
    ("international-security", 0.2, True, ""),       # the rules found the State
    ("international-security", 0.9, False, ""),      # the text model reads it
    ("intersection", 0.9, False, ""),
    ("cybercrime", None, False, ""),                 # a model without the head
])
def test_state_reading_doubt(route, head, rules_state, flagged):
    from classifier.combiner import state_reading_doubt

    doubt = state_reading_doubt(route, head, rules_state, 0.5)
    assert (flagged in doubt) if flagged else doubt == ""


@pytest.mark.parametrize("reason, head, flagged", [
    ("crime-on-critical-infrastructure-with-cascading-effects", 0.79, "reads State involvement (0.79)"),
    ("crime-on-critical-infrastructure-with-cascading-effects", 0.2, ""),
    ("state-actor-in-crime", 0.9, ""),               # the reason rests on a State already
])
def test_state_reading_doubt_on_the_intersection_reason_without_a_state(reason, head, flagged):
    from classifier.combiner import state_reading_doubt

    doubt = state_reading_doubt("intersection", head, False, 0.5, reason)
    assert (flagged in doubt) if flagged else doubt == ""


@pytest.mark.parametrize("route, reason, rules_no_state_link, flagged", [
    ("international-security", None, True, "where the rules read no State link"),
    ("intersection", "criminal-proxy-of-state", True, "where the rules read no State link"),
    ("intersection", "crime-on-critical-infrastructure-with-cascading-effects", True, ""),  # needs no State
    ("cybercrime", None, True, ""),
    ("international-security", None, False, ""),
])
def test_state_link_doubt(route, reason, rules_no_state_link, flagged):
    from classifier.combiner import state_link_doubt

    doubt = state_link_doubt(route, reason, rules_no_state_link)
    assert (flagged in doubt) if flagged else doubt == ""


def test_a_state_route_against_the_rules_reading_of_no_state_link_is_flagged(classifier):
    # Every result that rests on a State where the rules read no State link is flagged, and says why.
    texts = ["Security firms did not find any evidence tying the crypto exchange heist to North Korea; "
             "they believe a Russian-speaking crime group did it.",
             "Officials said Russia's government was not behind the breach of the council network.",
             "Investigators found no link to the Kremlin in the wiper attack on the ministry."]
    checked = 0
    for result in classifier.classify_many(texts):
        state_route = result.route == "international-security" or result.intersection_reason in (
            "state-actor-in-crime", "state-operation-disguised-as-crime", "criminal-proxy-of-state")
        if state_route and result.criteria["state_sponsorship"].value == "none":
            assert result.review and "the rules read no State link" in result.explanation
            checked += 1
    # The shipped model routes the first (the fresh-user case of session 14) as a State case.
    assert checked >= 1


@pytest.mark.parametrize("route, state_found, rules_cascade, head, flagged", [
    ("intersection", False, False, 0.9, "find no words for (the text model reads them at 0.90)"),
    ("intersection", False, False, None, "find no words for"),   # a model without the head
    ("intersection", False, True, 0.9, ""),    # the rules found the spill-over
    ("intersection", True, False, 0.9, ""),    # a State: the other intersection reasons
    ("cybercrime", False, False, 0.9, ""),
])
def test_cascade_reading_doubt(route, state_found, rules_cascade, head, flagged):
    from classifier.combiner import cascade_reading_doubt

    doubt = cascade_reading_doubt(route, state_found, rules_cascade, head)
    assert (flagged in doubt) if flagged else doubt == ""


def test_an_intersection_without_state_or_spill_over_in_the_rules_is_flagged(classifier):
    texts = ["ransomware attack on a hospital", "A ransomware attack hit a company.",
             "Ransomware attack on a dental practice",
             "A criminal ransomware group hit a fuel pipeline; fuel shortages spread across several states.",
             "Ransomware attack on a port operator; ships queued for days."]
    bare_seen = 0
    for text, result in zip(texts, classifier.classify_many(texts)):
        table, _, _ = classifier.rule_rows([text])
        bare = result.route == "intersection" and not table.state_involvement[0] \
            and result.criteria["cascading_effects"].value != "yes" and result.model_criteria["state_involvement"] < 0.5
        assert ("which the rules find no words for" in result.explanation) == bare, text
        assert result.review or not bare, text
        bare_seen += bare
    # Not vacuous: the shipped model reads at least one of these as a bare cascade (README, item 26).
    assert bare_seen >= 1


@pytest.mark.filterwarnings("ignore::classifier.api.RulesChangedWarning")   # edits the rules on purpose
def test_a_crime_route_the_text_model_reads_as_state_is_flagged_for_review(rules_dir, tmp_path):
    """The threshold is data: lowered in a copy of routing.toml, it flags a crime route whose
    State reading (about 0.4 with the shipped model) it did not flag before."""
    from classifier.api import Classifier

    text = "Pro-Russian hacktivists flooded the websites of Lithuanian airports with junk traffic."
    before = Classifier(rules=rules_dir).classify(text)
    copy = tmp_path / "rules"
    shutil.copytree(rules_dir, copy, ignore=shutil.ignore_patterns("__*"))
    routing = copy / "routing.toml"
    routing.write_text(routing.read_text().replace("review_state_reading = 0.5", "review_state_reading = 0.3", 1))
    after = Classifier(rules=copy).classify(text)
    assert before.route == after.route == "cybercrime"
    assert 0.3 <= after.model_criteria["state_involvement"] < 0.5
    assert not before.review and after.review
    assert "Flagged for review: the text model reads State involvement" in after.explanation
    row = Classifier(rules=copy).classify_rows([text])[0]
    assert row["review"] is True and row["explanation"] == after.explanation


@pytest.mark.parametrize("rule_route, text_proba, review", [
    ("intersection", [0.2, 0.1, 0.7], True),            # both say intersection, the weights say crime
    ("cybercrime", [0.2, 0.1, 0.7], False),             # the rules' route: no flag of its own
    ("intersection", [0.7, 0.1, 0.2], False),           # the text model's route
])
def test_a_route_neither_the_rules_nor_the_text_model_chose_is_flagged(rule_route, text_proba, review):
    """The stacked weights can overrule the rules and the text model where the two agree; such a
    route gets a review flag even when its confidence is high."""
    import numpy as np

    from classifier.combiner import decide
    from classifier.policy import RuleDecision

    classes = ["cybercrime", "international-security", "intersection"]
    thresholds = {"review_below": 0.6, "min_confidence": 0.4, "conflict_rule_confidence": 0.99,
                  "conflict_model_probability": 0.99, "conflict_min_confidence": 0.5}
    verdict = decide(classes, np.array([0.9, 0.05, 0.05]), np.array(text_proba),
                     RuleDecision(rule_route, None, 0.8, "some-rule", "why"), thresholds)
    assert verdict.route == "cybercrime" and verdict.confidence == 0.9
    assert verdict.review is review and not verdict.conflict


def test_the_explanation_says_when_the_combined_route_overrules_both(rules_dir, monkeypatch):
    import numpy as np

    from classifier.api import Classifier

    classifier = Classifier(rules=rules_dir)
    text = "North Korea's Lazarus Group stole 600 million dollars in crypto from a blockchain bridge."
    result = classifier.classify(text)
    assert result.rule_route == result.model_route == result.route == "intersection"
    forced = np.array([[0.9 if c == "cybercrime" else 0.05 for c in classifier.model.classes]])
    monkeypatch.setattr(classifier.model.combiner, "predict_proba", lambda features: np.repeat(forced, len(features), 0))
    overruled = classifier.classify(text)
    assert overruled.route == "cybercrime" and overruled.review
    assert "both say intersection, but the combined classifier" in overruled.explanation
    # Every reason for the flag is given: here also the State the text model reads.
    assert overruled.explanation.endswith("Flagged for review: the route is neither the rules' nor the text model's; "
                                          f"the text model reads State involvement "
                                          f"({overruled.model_criteria['state_involvement']:.2f}), which the route leaves out.")


def test_where_the_rules_are_silent_the_explanation_names_a_route_the_text_model_did_not_read(rules_dir, monkeypatch):
    """The combiner weighs the criterion readings too, so it can differ from the text model's own
    route reading; the explanation must not then say the text model chose the route."""
    import numpy as np

    from classifier.api import Classifier

    classifier = Classifier(rules=rules_dir)
    text = "Data breach at a retailer exposed customer records."
    plain = classifier.classify(text)
    assert plain.rule_route == "undetermined" and plain.route == plain.model_route == "cybercrime"
    assert f"so the text model does (cybercrime, {plain.model_probabilities['cybercrime']:.2f})" in plain.explanation
    forced = np.array([[0.8 if c == "international-security" else 0.1 for c in classifier.model.classes]])
    monkeypatch.setattr(classifier.model.combiner, "predict_proba", lambda features: np.repeat(forced, len(features), 0))
    moved = classifier.classify(text)
    assert moved.route == "international-security"
    assert "so the text model does, reading State involvement at" in moved.explanation
    assert ("the combined classifier says international-security, though the text model's own route reading is "
            f"cybercrime ({moved.model_probabilities['cybercrime']:.2f})") in moved.explanation
    assert moved.review and "Flagged for review: the route implies State involvement" in moved.explanation


def test_topic_words_match_at_the_start_of_a_word_and_rule_evidence_counts_too(rules, layer):
    from dataclasses import replace

    from classifier.policy import RoutingPolicy

    policy = RoutingPolicy(replace(rules, topic_words=("hack", "denial of service")))
    texts = ["They hacked it.", "Three shacks burned down.", "A denial-of-service flood.", "Nothing to see.",
             "A hospital was mentioned."]   # the last: no topic word, but the rules find a sector
    table = layer.engine.analyse_table(texts)
    assert policy.on_topic(table).tolist() == [True, False, True, False, True]
    # With no topic words, every text is on topic.
    assert RoutingPolicy(replace(rules, topic_words=())).on_topic(table).all()


def test_an_intersection_route_without_a_nameable_reason_is_flagged(classifier, monkeypatch):
    """Where the combined classifier says intersection and no intersection rule has half its
    conditions met, no reason is named, and the result says why it is flagged (reviewer, session 17)."""
    import numpy as np

    text = "Hackers manipulated the controls of a water treatment plant."
    forced = np.array([[0.9 if c == "intersection" else 0.05 for c in classifier.model.classes]])
    monkeypatch.setattr(classifier.model.combiner, "predict_proba", lambda features: np.repeat(forced, len(features), 0))
    monkeypatch.setattr(classifier.policy, "likely_reasons", lambda table, state=None: [None] * len(table))
    result = classifier.classify(text)
    assert result.route == "intersection" and result.intersection_reason is None and result.review
    assert "no intersection reason can be named" in result.explanation


@pytest.mark.parametrize("rule_route, criminal, text_proba, cascade, below, agreed", [
    ("cybercrime", True, [0.6, 0.1, 0.3], 0.05, 0.2, True),
    ("cybercrime", False, [0.6, 0.1, 0.3], 0.05, 0.2, False),    # no criminal actor named
    ("undetermined", True, [0.6, 0.1, 0.3], 0.05, 0.2, False),   # the rules do not say crime
    ("cybercrime", True, [0.3, 0.1, 0.6], 0.05, 0.2, False),     # the text model reads intersection
    ("cybercrime", True, [0.6, 0.1, 0.3], 0.25, 0.2, False),     # a cascade is read
    ("cybercrime", True, [0.6, 0.1, 0.3], 0.05, 0.0, False),     # turned off in routing.toml
])
def test_agreed_crime(rule_route, criminal, text_proba, cascade, below, agreed):
    import numpy as np

    from classifier.combiner import agreed_crime, defer_to_text

    classes = ["cybercrime", "international-security", "intersection"]
    text = np.array([text_proba])
    heads, names = np.array([[0.9, cascade]]), ["state_involvement", "cascading_effects"]
    mask = agreed_crime([rule_route], np.array([criminal]), text, classes, heads, names, below)
    assert mask.tolist() == [agreed]
    combined = np.array([[0.2, 0.1, 0.7]])
    assert defer_to_text(combined, text, mask).tolist() == (text if agreed else combined).tolist()
    # A model without a cascade head never defers, nor does a caller that has no criminal-actor reading.
    assert not agreed_crime([rule_route], np.array([criminal]), text, classes, heads[:, :1], names[:1], below).any()
    assert not agreed_crime([rule_route], None, text, classes, heads, names, below).any()


# Told in a vendor's words, a criminal group reads as a State to the State-involvement head (about
# 0.7 with the shipped model), and the combiner adds that to a financial reading.
VENDOR_CRIME = ("Security researchers describe TA505 as a prolific actor whose intelligence-gathering "
                "campaigns deliver banking trojans and ransomware for profit.")


@pytest.mark.filterwarnings("ignore::classifier.api.RulesChangedWarning")   # edits the rules on purpose
def test_the_combiner_is_set_aside_where_rules_and_text_model_agree_on_crime(rules_dir, tmp_path):
    """With agreed_crime_cascade_below at 0 in a copy of routing.toml, the combiner's own route
    (intersection) is the result; with the packaged value, the crime reading both layers share."""
    from classifier.api import Classifier

    copy = tmp_path / "rules"
    shutil.copytree(rules_dir, copy, ignore=shutil.ignore_patterns("__*"))
    routing = copy / "routing.toml"
    assert "agreed_crime_cascade_below = 0.2" in routing.read_text()
    routing.write_text(routing.read_text().replace("agreed_crime_cascade_below = 0.2", "agreed_crime_cascade_below = 0", 1))
    before = Classifier(rules=copy).classify(VENDOR_CRIME)
    after = Classifier(rules=rules_dir).classify(VENDOR_CRIME)
    assert before.rule_route == after.rule_route == "cybercrime"
    assert before.model_route == after.model_route == "cybercrime"
    assert before.route == "intersection" and "would say" not in before.explanation
    assert after.route == "cybercrime"
    assert after.probabilities == after.model_probabilities
    assert after.confidence == pytest.approx(after.model_probabilities["cybercrime"])
    assert "would say intersection" in after.explanation and "the reading both layers share is kept" in after.explanation
    # The State reading that the route leaves out still asks for review.
    assert after.review and "the text model reads State involvement" in after.explanation
    row = Classifier(rules=rules_dir).classify_rows([VENDOR_CRIME])[0]
    assert row["route"] == "cybercrime" and row["explanation"] == after.explanation


@pytest.mark.filterwarnings("ignore::classifier.api.RulesChangedWarning")   # edits the rules on purpose
def test_a_crime_reading_both_layers_share_is_kept_below_min_confidence(rules_dir, tmp_path):
    """Where the two layers agree on crime, routing.toml's agreed_crime_min_confidence, not
    min_confidence, is the floor: the route stands, flagged for review. Without the key (a copy
    of rules/ made before it existed) min_confidence applies to it as to any text."""
    from classifier.api import Classifier

    copy = tmp_path / "rules"
    shutil.copytree(rules_dir, copy, ignore=shutil.ignore_patterns("__*"))
    routing = copy / "routing.toml"
    text = routing.read_text()
    assert "min_confidence = 0.45\n" in text and "agreed_crime_min_confidence = 0.0\n" in text
    # A floor above any probability the text model gives this text.
    routing.write_text(text.replace("\nmin_confidence = 0.45\n", "\nmin_confidence = 0.999\n", 1))
    kept = Classifier(rules=copy).classify(VENDOR_CRIME)
    assert kept.route == "cybercrime" and kept.confidence < 0.999 and kept.review
    routing.write_text(routing.read_text().replace("agreed_crime_min_confidence = 0.0\n", "", 1))
    old = Classifier(rules=copy).classify(VENDOR_CRIME)
    assert old.route == "undetermined"
    assert old.explanation.startswith(f"Undetermined: the most probable route (cybercrime, {old.confidence:.2f}) "
                                      f"is below 1.00")
    # Elsewhere (here, a State actor) the floor stays min_confidence.
    state = Classifier(rules=copy).classify("GRU officers planted a wiper in a Ukrainian power company's network.")
    assert state.route == "undetermined"


@pytest.mark.parametrize("agreed, route", [(True, "cybercrime"), (False, "undetermined")])
def test_the_agreed_floor_applies_only_where_the_layers_agree_on_crime(agreed, route):
    import numpy as np

    from classifier.combiner import decide
    from classifier.policy import RuleDecision

    classes = ["cybercrime", "international-security", "intersection"]
    thresholds = {"review_below": 0.65, "min_confidence": 0.45, "agreed_crime_min_confidence": 0.0,
                  "conflict_rule_confidence": 0.99, "conflict_model_probability": 0.99,
                  "conflict_min_confidence": 0.5}
    proba = np.array([0.42, 0.33, 0.25])
    verdict = decide(classes, proba, proba, RuleDecision("cybercrime", None, 0.8, "crime", "why"), thresholds,
                     agreed=agreed)
    assert verdict.route == route and verdict.review
    # The rules routing elsewhere: no agreement on crime, whatever the flag says.
    other = decide(classes, proba, proba, RuleDecision("intersection", "state-crime", 0.8, "x", "why"), thresholds,
                   agreed=True)
    assert other.route == "undetermined"


def test_route_shares_re_weight_the_agreed_reading_like_any_other(rules_dir):
    """The text model's reading, once taken, is what route shares (priors) re-weight: at the
    corpus's own shares nothing changes, at a State-heavy feed's the odds move by Bayes' rule."""
    from classifier.api import Classifier

    plain = Classifier(rules=rules_dir)
    corpus = dict(zip(plain.model.classes, plain.training_shares.tolist()))
    before = plain.classify(VENDOR_CRIME)
    same = Classifier(rules=rules_dir, priors=corpus).classify(VENDOR_CRIME)
    assert same.route == before.route == "cybercrime"
    assert same.probabilities == pytest.approx(before.probabilities)
    state_feed = Classifier(rules=rules_dir, priors={"cybercrime": 0.05, "international-security": 0.9,
                                                     "intersection": 0.05}).classify(VENDOR_CRIME)
    odds = state_feed.probabilities["cybercrime"] / state_feed.probabilities["intersection"]
    assert odds == pytest.approx(before.probabilities["cybercrime"] / before.probabilities["intersection"]
                                 * corpus["intersection"] / corpus["cybercrime"], rel=1e-3)


@pytest.mark.parametrize("confidence, shown", [(0.4494, "0.449"), (0.4, "0.40"), (0.4499, "0.4499")])
def test_an_undetermined_route_shows_its_probability_below_the_minimum(confidence, shown):
    """Two decimals would say "0.45 is below 0.45" of a probability of 0.449."""
    import numpy as np

    from classifier.combiner import decide
    from classifier.policy import RuleDecision

    classes = ["cybercrime", "international-security", "intersection"]
    thresholds = {"review_below": 0.6, "min_confidence": 0.45, "conflict_rule_confidence": 0.99,
                  "conflict_model_probability": 0.99, "conflict_min_confidence": 0.5}
    rest = (1 - confidence) / 2
    verdict = decide(classes, np.array([confidence, rest + 0.001, rest - 0.001]), np.array([0.4, 0.3, 0.3]),
                     RuleDecision("cybercrime", None, 0.5, "some-rule", "why"), thresholds)
    assert verdict.route == "undetermined"
    assert f"the most probable route (cybercrime, {shown}) is below 0.45" in verdict.undetermined_because


@pytest.mark.parametrize("text_cybercrime, review", [(0.99, True), (0.6, False)])
def test_a_route_the_text_model_is_sure_against_is_flagged(text_cybercrime, review):
    """A weaker rule finding (0.6, short of a strong conflict) can carry the combined route against
    a text model sure of another: the result stands, flagged for review, as no other condition
    would flag it at a confidence of 0.7."""
    import numpy as np

    from classifier.combiner import decide
    from classifier.policy import RuleDecision

    classes = ["cybercrime", "international-security", "intersection"]
    thresholds = {"review_below": 0.65, "min_confidence": 0.45, "agreed_crime_min_confidence": 0.0,
                  "conflict_rule_confidence": 0.7, "conflict_model_probability": 0.75,
                  "conflict_min_confidence": 0.6}
    rest = 1 - text_cybercrime
    verdict = decide(classes, np.array([0.28, 0.02, 0.70]), np.array([text_cybercrime, rest / 2, rest / 2]),
                     RuleDecision("intersection", "crime-on-critical-infrastructure-with-cascading-effects", 0.6,
                                  "crime-on-ci", "why"), thresholds)
    assert verdict.route == "intersection" and not verdict.conflict
    assert verdict.review is review


def test_the_explanation_says_which_reading_the_flagged_route_went_against(classifier):
    """The ambulance diversion is a cascade cue, and the rules' intersection carries the combined
    route against a text model that reads crime kept to one site: the explanation names the
    text model's reading as the reason for review."""
    result = classifier.classify("A regional hospital diverted ambulances for a day after a ransomware attack on its "
                                 "records system; the state health department said no other provider was affected.")
    # If a retrained model stops disputing this text, pick another that it disputes.
    assert result.route == "intersection" and result.model_route == "cybercrime"
    assert result.model_probabilities["cybercrime"] >= 0.75 and result.confidence >= 0.65
    assert result.review
    assert result.explanation.endswith(
        f"Flagged for review: the text model reads {result.model_route} at "
        f"{result.model_probabilities[result.model_route]:.2f}.")
