"""The Python API: classify, classify_frame, Result serialisations, and the design's worked examples."""

from __future__ import annotations

import json
import re
import shutil
import warnings

import numpy as np
import pandas as pd
import pytest

from classifier import classify, classify_frame
from classifier.api import Classifier, RulesChangedWarning, default_classifier
from classifier.result import CSV_COLUMNS

WORKED_EXAMPLES = [
    ("A ransomware gang encrypts a regional dental chain's records and demands bitcoin.", "cybercrime"),
    ("Operators of a GRU unit deploy a wiper against a national grid operator; power is lost for 200,000 customers.",
     "international-security"),
    ("A North Korean State-backed group steals 600 million dollars from a crypto bridge.", "intersection"),
    ("A worm posing as ransomware, built by a military intelligence unit, wipes machines worldwide; shipping and "
     "pharmaceutical firms halt.", "intersection"),
    ("A criminal ransomware group hits a fuel pipeline; the operator halts flows and fuel shortages spread across "
     "several states.", "intersection"),
    ("Hacktivists that researchers tie to a revolutionary-guard cyber command deface water-utility controllers in "
     "several countries.", "intersection"),
    ("Teenagers take over celebrity social-media accounts to run a bitcoin scam.", "cybercrime"),
    ("Spies linked to a foreign intelligence service stay hidden in a ministry's email for two years.",
     "international-security"),
]


@pytest.mark.parametrize("text, route", WORKED_EXAMPLES)
def test_worked_examples_of_design(text, route):
    result = classify(text)
    assert result.route == route, result.explanation


# Everyday crime with words that intersection cases also use ("chain", "ransomware gang",
# "bitcoin", "stores"): the real world is mostly small crime, and the shipped model must say so.
# A corpus that grew many intersection rows once tipped the first of these to intersection.
EVERYDAY_CRIME = [
    "Café chain hit by ransomware gang demanding bitcoin",
    "Ransomware attack on a hotel chain disrupted check-in for two days.",
    "Supermarket chain's card payments hit by ransomware gang, stores keep trading with cash.",
    "LockBit affiliate encrypts a school district's servers and demands $1m.",
    "Fraudsters used business email compromise to divert a $2m invoice payment.",
    "A teenager ran a DDoS-for-hire service used against gaming servers.",
    "Insider at a bank copied customer data to sell it.",
    "Ransomware gang leaks files of a law firm after it refused to pay.",
]


@pytest.mark.parametrize("text", EVERYDAY_CRIME)
def test_everyday_crime_is_cybercrime(text):
    result = classify(text)
    assert result.route == "cybercrime", result.explanation


# Law-enforcement news in which a State organ (a security service, the FSB, counter-intelligence)
# acts against criminals. The rule layer reads the organ as the enforcer (the enforcement
# signal); the text model still leans to intersection where a security service and ransomware
# meet, so the shipped model is held to most of these, not all (10 of 12 when written).
ENFORCEMENT_NEWS = [
    "Romanian police and the domestic intelligence service detained three men who ran a phishing kit shop.",
    "Spain's Guardia Civil arrested a teenager who had extorted school staff with stolen nude photos.",
    "The FSB detained 14 members of a carding ring and seized servers holding stolen card data.",
    "Kazakh security service officers arrested an administrator of a Telegram shop selling bank logins.",
    "Brazil's federal police raided the homes of a crew that emptied bank accounts with SIM swaps.",
    "Ukraine's cyber police and the SBU dismantled a call centre that defrauded Europeans with fake crypto investments.",
    "Polish counter-intelligence officers arrested a hacker who sold access to hacked company networks on a forum.",
    "Israeli police arrested a teenager behind bomb-threat calls and a DDoS extortion scheme.",
    "The State Department offers up to $10 million for information on the leaders of a ransomware gang.",
    "Georgian state security service arrested four men who laundered ransomware proceeds through exchanges.",
    "Indian police raided a fake tech-support call centre and arrested 30 employees.",
    "Officers of Ukraine's security service arrested five members of a ransomware crew that had extorted firms across Europe.",
]


def test_law_enforcement_news_is_mostly_cybercrime():
    routes = [classify(text).route for text in ENFORCEMENT_NEWS]
    misrouted = [(text, route) for text, route in zip(ENFORCEMENT_NEWS, routes) if route != "cybercrime"]
    assert len(misrouted) <= 2, misrouted


def test_thin_text_is_undetermined_or_flagged():
    result = classify("A hospital's systems are down after an attack; no group has claimed it.")
    assert result.route == "undetermined" or result.review


def test_json_contract():
    record = json.loads(classify("GRU hackers wiped the servers of a television network.").to_json())
    for key in ("route", "confidence", "probabilities", "criteria", "rule_route", "model_route",
                "intersection_reason", "processes", "norms", "explanation", "review"):
        assert key in record
    assert set(record["criteria"]) == {"actor_type", "state_sponsorship", "critical_infrastructure",
                                       "cascading_effects", "motive"}
    for criterion in record["criteria"].values():
        assert {"value", "confidence", "evidence"} <= set(criterion)
        for span in criterion["evidence"]:
            assert {"start", "end", "text"} <= set(span)
    assert set(record["probabilities"]) == {"cybercrime", "international-security", "intersection"}
    assert abs(sum(record["probabilities"].values()) - 1.0) < 1e-3


def test_intersection_names_its_reason():
    result = classify("A North Korean State-backed group steals 600 million dollars from a crypto bridge.")
    assert result.intersection_reason == "state-actor-in-crime"
    assert "A/RES/79/243" in " ".join(result.processes)


def test_explanation_quotes_the_lead_span_in_batch_and_alone():
    """A single text goes through the Python rule engine, 64 or more through the compiled kernel;
    both quote the strongest span."""
    takedown = "Europol and the FBI took down the Qakbot botnet and seized 8.6 million dollars from its operators."
    alone = classify(takedown).explanation
    assert 'actor criminal ("Qakbot")' in alone and 'motive financial ("million dollars")' in alone
    many = Classifier().classify_many([takedown] * 64)
    assert many[0].explanation == alone


def test_explanation_marks_a_presumed_motive():
    result = classify("The Lazarus Group sent pandemic-themed lures to staff of a vaccine maker.")
    assert 'motive financial, presumed from the actor ("Lazarus Group")' in result.explanation
    assert result.rule_route == "international-security"


@pytest.mark.parametrize("text", ["hello there, friend", "The weather in Paris is nice today and the cafe was full.",
                                  "Lorem ipsum dolor sit amet, consectetur adipiscing elit."])
def test_text_about_nothing_to_route_is_undetermined(text):
    result = classify(text)
    assert (result.route, result.confidence, result.review) == ("undetermined", 0.0, True)
    assert result.explanation.startswith("Undetermined: the text tells of no cyber act")
    # The text model's reading is still shown, as a lean, not as the route.
    assert f"the text model leans to {result.model_route}" in result.explanation


@pytest.mark.parametrize("text", [
    "A software bug caused a nationwide outage of airline check-in systems; no cyber attack was involved.",
    "Officials said the blackout that stopped the city's trams was caused by human error, not a cyberattack.",
    "The port's cranes stopped for a day; the operator ruled out a cyber attack and blamed a faulty update.",
])
def test_text_that_says_no_attack_took_place_is_undetermined(text):
    """Before the no-incident signal, the first went to intersection with high confidence."""
    result = classify(text)
    assert (result.route, result.confidence, result.review) == ("undetermined", 0.0, True)
    assert result.explanation.startswith("Undetermined: the text says no cyber attack took place")
    assert "no-incident" in result.signals
    row = Classifier().classify_rows([text])[0]
    assert row["route"] == "undetermined" and row["explanation"] == result.explanation


@pytest.mark.parametrize("text", [
    # an attacker named beside the denial: routed as usual
    "The first outage was not a cyberattack, but in March the LockBit gang encrypted the council's servers.",
    "The minister said the blackout was human error, not a cyberattack, though Chinese-linked intruders probed the grid.",
    # a denial of something else is no denial of the incident
    "Ransomware hit the hospital; there was no evidence that patient data was stolen.",
])
def test_a_denial_beside_an_attacker_or_of_something_else_is_routed(text):
    assert classify(text).route != "undetermined"


@pytest.mark.parametrize("text, words", [("ransomware", 1), ("GRU", 1), ("Election meddling", 2)])
def test_a_description_of_fewer_words_than_the_minimum_is_undetermined(text, words):
    result = classify(text)
    assert (result.route, result.confidence, result.review) == ("undetermined", 0.0, True)
    assert f"has {words} word{'s' if words > 1 else ''}, fewer than the 3 needed to decide" in result.explanation
    assert "agree" not in result.explanation   # neither reading is taken


@pytest.mark.parametrize("text", [
    "Someone logged in to the town's payroll portal and changed two bank details.",   # topic words only
    "APT28 was named.",                                                                 # a named actor only
    "Someone tried to break into the lab's wireless from a car parked outside.",        # 'break in'
    "Officials say the clearance forms were copied.",                                   # 'official'
])
def test_text_with_a_topic_word_or_rule_evidence_is_routed(text):
    assert classify(text).route != "undetermined"


@pytest.mark.filterwarnings("ignore::classifier.api.RulesChangedWarning")   # edits the rules on purpose
def test_without_a_topic_list_every_text_is_routed(rules, tmp_path):
    copy = tmp_path / "rules"
    shutil.copytree(rules.directory, copy, ignore=shutil.ignore_patterns("__*"))
    routing = copy / "routing.toml"
    text = routing.read_text()
    routing.write_text(text[:text.index("[topic]")])
    assert Classifier(rules=copy).classify("hello there, friend").route != "undetermined"


def test_a_value_that_is_not_text_is_named_as_such():
    result = classify(42)
    assert result.route == "undetermined" and "not text (int '42')" in result.explanation
    frame = classify_frame(pd.DataFrame({"text": [12345, None, np.float32("nan"), "A gang hacked a bakery's till."]},
                                        index=[7, 8, 9, 10]))
    assert frame["error"].tolist()[:3] == ["index 7: not text (int '12345') in column 'text'",
                                           "index 8: missing text in column 'text'",
                                           "index 9: missing text in column 'text'"]
    assert "not text (int '12345')" in frame.loc[7, "explanation"]


@pytest.mark.parametrize("value, error", [("", "empty text"), ("  \n", "empty text"), (None, "missing text"),
                                          (float("nan"), "missing text"), (42, "not text (int '42')")])
def test_every_way_in_says_a_description_was_not_there(value, error):
    """classify, classify_many and classify_frame give the same error (the frame adds where)."""
    single, many = classify(value), default_classifier().classify_many([value, "GRU hackers hit a ministry."])
    assert single.route == many[0].route == "undetermined" and error in single.error and error in many[0].error
    assert many[1].error is None
    assert classify_frame(pd.DataFrame({"text": [value]}))["error"][0].startswith(f"index 0: {error}")


def test_an_empty_frame_gets_the_result_columns():
    out = classify_frame(pd.DataFrame({"text": []}))
    assert len(out) == 0 and list(out.columns) == ["text", *CSV_COLUMNS]
    # Typed as for a frame with rows, so that code written on one works on the other.
    full = classify_frame(pd.DataFrame({"text": ["A ransomware gang hit a bakery's tills."]}))
    assert out.dtypes[list(CSV_COLUMNS)].equals(full.dtypes[list(CSV_COLUMNS)])
    assert out["confidence"].dtype == "float64" and out["review"].dtype == bool


def test_empty_text_is_undetermined_not_an_exception():
    result = classify("   ")
    assert result.route == "undetermined" and result.review


def test_views_show_a_denial_that_a_state_link_overrode():
    """Both views show the denial beside the link it lost to, and the HTML marks it in the text
    with its rule tagged "against"."""
    import re

    result = classify("Police ruled out a foreign government, but researchers later linked the wiper to Sandworm.")
    line = next(ln for ln in str(result).splitlines() if ln.startswith("state_sponsorship"))
    assert line.endswith('"Sandworm", "linked"; against "ruled out a foreign government"')
    html = result._repr_html_()
    marks = re.findall(r'<mark style="[^"]*" title="([^"]*)">([^<]*)</mark>', html)
    assert ("state_sponsorship: state-link.none.explicit (against)", "ruled out a foreign government") in marks
    assert "Sandworm; linked; against: ruled out a foreign government" in html
    assert "against" not in str(classify("APT28 was behind the outage."))


def test_html_highlights_evidence():
    text = "A ransomware gang encrypted a hospital's records and demanded bitcoin."
    html = classify(text)._repr_html_()
    assert "<mark" in html and "ransomware gang" in html and "cybercrime" in html


def test_views_mark_negated_evidence_and_keep_accents_inside_a_highlight():
    """A negated span is evidence against what it names ("no evidence of Russian intelligence
    involvement": no State link); the views said so nowhere, and the HTML marked it as a finding."""
    import re

    text = ("A ransomware gang encrypted a hospital's records; investigators found no evidence of "
            "Russian intelligence involvement.")
    result = classify(text)
    sponsorship = result.criteria["state_sponsorship"]
    assert sponsorship.value == "none" and [e.negated for e in sponsorship.evidence] == [True]
    assert '"Russian intelligence" (negated)' in str(result)
    marks = re.findall(r'<mark style="([^"]*)" title="([^"]*)">([^<]*)</mark>', result._repr_html_())
    negated = [m for m in marks if m[2] == "Russian intelligence"]
    assert negated and "line-through" in negated[0][0] and "(negated)" in negated[0][1]
    assert all("line-through" not in style for style, _, shown in marks if shown != "Russian intelligence")
    assert "Russian intelligence (negated)" in result._repr_html_()
    # A combining accent after a matched word stays inside its highlight.
    accented = classify("A ransomware gang encrypted a hospital\u0301's records and demanded bitcoin.")
    assert "hospital\u0301</mark>" in accented._repr_html_()


def test_both_views_name_the_sponsoring_state_the_rules_found():
    """The JSON's `sponsor` used to reach neither the terminal nor the notebook view."""
    result = classify("North Korean hackers of the Lazarus Group stole 600 million dollars from a crypto bridge.")
    sponsorship = result.criteria["state_sponsorship"]
    assert sponsorship.detail["sponsor"] == "North Korea"
    shown = f"{sponsorship.value} (North Korea)"
    assert f"state_sponsorship        {shown}" in str(result)
    assert f"<b>{shown}</b>" in result._repr_html_()
    crime = classify("A ransomware gang encrypted a dental practice's records.")
    assert "sponsor" not in crime.criteria["state_sponsorship"].detail
    assert "state_sponsorship        none " in str(crime) and "<b>none</b>" in crime._repr_html_()


def test_classify_frame_keeps_rows_and_columns():
    frame = pd.DataFrame({"id": [3, 1, 2], "description": [
        "A ransomware gang encrypted a dental practice's files.", None,
        "Chinese State-backed spies stole files from a ministry.",
    ]}, index=[10, 20, 30])
    routed = classify_frame(frame, text_column="description")
    assert list(routed.index) == [10, 20, 30]
    assert list(routed["id"]) == [3, 1, 2]
    assert list(routed.columns) == ["id", "description", *CSV_COLUMNS]
    assert routed.loc[20, "error"] and routed.loc[20, "route"] == "undetermined"
    assert routed.loc[30, "route"] == "international-security"


def test_classify_frame_details_adds_typed_columns_as_batch_does():
    from classifier.result import DETAIL_COLUMNS

    frame = pd.DataFrame({"text": ["Chinese State-backed spies stole files from a ministry.", None]})
    routed = classify_frame(frame, details=True)
    assert list(routed.columns) == ["text", *CSV_COLUMNS, *DETAIL_COLUMNS]
    assert routed.loc[0, "sponsor"] == "China" and routed.loc[0, "rule_route"] == "international-security"
    probabilities = routed[[c for c in DETAIL_COLUMNS if c.startswith("probability_")]]
    assert (probabilities.dtypes == "float64").all()
    assert abs(probabilities.loc[0].sum() - 1) < 1e-3 and probabilities.loc[0].max() == routed.loc[0, "confidence"]
    assert routed.loc[1, "error"] and routed.loc[1, "model_route"] == "undetermined"
    assert list(classify_frame(frame).columns) == ["text", *CSV_COLUMNS]


def test_classify_frame_keeps_an_analysts_route_column():
    """An input column named like a result column is kept as `<name>_input`, as `batch` does."""
    frame = pd.DataFrame({"text": ["A ransomware gang encrypted a dental practice's files.", " "],
                          "route": ["my label", "other label"], "error": ["", "note"]})
    routed = classify_frame(frame)
    assert list(routed["route_input"]) == ["my label", "other label"]
    assert list(routed["error_input"]) == ["", "note"]
    assert routed.loc[0, "route"] == "cybercrime"
    assert routed.loc[1, "error"] == "index 1: empty text in column 'text'"
    assert list(frame.columns) == ["text", "route", "error"]  # the caller's frame is untouched


def test_classify_frame_renames_two_input_columns_of_one_result_name_apart():
    """As `batch` does: route, route -> route_input, route_input_ (a rename by name gave both one name)."""
    frame = pd.DataFrame([["A ransomware gang hit a bakery's tills.", "a", "b"]], columns=["text", "route", "route"])
    routed = classify_frame(frame)
    assert list(routed.columns[:3]) == ["text", "route_input", "route_input_"]
    assert routed.iloc[0, 1:3].tolist() == ["a", "b"] and routed.loc[0, "route"] == "cybercrime"


def test_classify_frame_takes_a_series_and_refuses_what_it_cannot_read():
    series = pd.Series(["A ransomware gang encrypted a dental practice's files."], name="description", index=["x"])
    routed = classify_frame(series)
    assert list(routed.columns[:2]) == ["description", "route"] and routed.loc["x", "route"] == "cybercrime"
    assert classify_frame(series.rename(None)).columns[0] == "text"
    with pytest.raises(ValueError, match="column 'text' appears 2 times"):
        classify_frame(pd.DataFrame([["a b c", "d e f"]], columns=["text", "text"]))
    with pytest.raises(TypeError, match="takes a pandas DataFrame or Series, not list"):
        classify_frame(["A gang hit a shop."])


def test_html_keeps_line_breaks_names_each_criterions_rule_and_caps_evidence():
    from classifier.rule_engine import MAX_EVIDENCE

    result = classify("A ransomware gang encrypted the clinic's records.\n\nThe gang demanded bitcoin.")
    html = result._repr_html_()
    assert "white-space:pre-wrap" in html
    # "ransomware gang" is evidence for the actor and for the motive, each found by its own rule.
    title = next(t for t in html.split('title="')[1:] if t.startswith("actor_type"))
    title = title.split('"')[0]
    assert "motive: motive.financial" in title and "actor_type: actor.criminal.group" in title
    paste = "A ransomware gang encrypted a clinic's records. " * (MAX_EVIDENCE + 20)
    html = classify(paste)._repr_html_()
    assert html.count("<mark") < 3 * (MAX_EVIDENCE + 20)
    assert re.search(r"\(\+\d+ more\)", html)


def test_classify_frame_missing_column_lists_columns():
    with pytest.raises(KeyError, match="columns are: a, b"):
        classify_frame(pd.DataFrame({"a": [1], "b": [2]}), text_column="text")


def test_batch_rows_equal_the_results_rows():
    """`batch` builds its rows without Result objects; they must be exactly Result.to_row()."""
    from classifier.api import default_classifier

    corpus = pd.read_csv("datasets/incidents.csv", dtype=str, keep_default_na=False)
    texts = corpus.text.tolist()[::7] + ["", "   ", None, 42, "x"]
    classifier = default_classifier()
    rows = classifier.classify_rows(texts)
    assert rows == [r.to_row() for r in classifier.classify_many(texts)]
    assert len({r["route"] for r in rows}) >= 3
    rows[-5]["error"] = "changed"   # rows are the caller's to change: no shared empty row
    assert classifier.classify_rows([""])[0]["error"] == "empty text"


def test_explanation_gives_the_text_models_grounds_and_the_true_reason_for_review(classifier):
    """Where the rules do not decide, the explanation says what the text model reads, and a
    confident result is flagged because it rests on the text model alone, not for low confidence."""
    result = classifier.classify("A hospital's systems are down after an attack; no group has claimed it.")
    assert result.rule_route == "undetermined" and result.review
    heads = result.model_criteria
    assert f"reading State involvement at {heads['state_involvement']:.2f}, a financial motive at " \
           f"{heads['financial_motive']:.2f} and cascading effects at {heads['cascading_effects']:.2f}." in result.explanation
    assert result.confidence >= classifier.rules.decision["review_below"]   # so the flag is not for low confidence
    assert result.explanation.endswith("Flagged for review: the route rests on the text model alone.")


def test_the_explanation_says_when_the_text_model_read_only_the_start(classifier):
    """Past MAX_MODEL_CHARS the text model stops reading and the rules do not: the explanation
    says so, since the two layers may then disagree (reviewer, session 17)."""
    from classifier.text_model import MAX_MODEL_CHARS

    filler = "The quarterly meeting discussed the budget and the new office. " * (MAX_MODEL_CHARS // 60 + 10)
    text = filler + "Later, North Korean State-backed hackers stole 100 million dollars from the firm's wallets."
    long_result, short_result = classifier.classify_many([text, text[-200:]])
    assert f"The text model read the first {MAX_MODEL_CHARS:,} of the text's {len(text):,} characters" \
        in long_result.explanation
    assert "The text model read the first" not in short_result.explanation


def test_a_huge_paste_gives_a_bounded_json_record(classifier):
    """Evidence lists in the JSON form stop at MAX_EVIDENCE spans, the lead first, and say how many
    there were (a reviewer's 1.1 MB paste gave a 7.2 MB record)."""
    import json

    from classifier.rule_engine import MAX_EVIDENCE

    text = "Ransomware operators hit a hospital in Lyon. " * 400
    record = classifier.classify(text).to_dict()
    actor = record["criteria"]["actor_type"]
    assert len(actor["evidence"]) == MAX_EVIDENCE and actor["evidence_total"] >= 400
    short = classifier.classify("Ransomware operators hit a hospital in Lyon.").to_dict()
    assert "evidence_total" not in short["criteria"]["actor_type"]
    assert len(json.dumps(record)) < 100_000


def test_a_classifier_on_edited_rules_warns_once_and_names_the_rules(tmp_path, rules_dir):
    rules = tmp_path / "rules"
    shutil.copytree(rules_dir, rules, ignore=shutil.ignore_patterns("__*"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert Classifier(rules=rules).rules_changed == ""   # a copy says the same: no warning
    routing = rules / "routing.toml"
    # The agreed-crime reading's cascade bound shapes the out-of-fold readings the combiner learns from.
    routing.write_text(routing.read_text().replace("agreed_crime_cascade_below = 0.2", "agreed_crime_cascade_below = 0.3", 1))
    with pytest.warns(RulesChangedWarning, match=str(rules)) as caught:
        edited = Classifier(rules=rules)
    assert len(caught) == 1 and "retrained" in edited.rules_changed
    assert edited.classify("A ransomware gang encrypted a dental practice's records.").route == "cybercrime"


MODEL_BLIND_EDITS = [
    ("processes.toml", 'label = "criminal justice"\n', 'label = "criminal justice (national courts)"\n'),
    ("processes.toml", "on ICT security (A/RES/80/16)", "on ICT security (A/RES/80/16), from 2026"),
    ("routing.toml", "explain = \"a State actor is involved and the operation was dressed up as crime\"",
     "explain = \"a State dressed its operation up as crime\""),
    ("routing.toml", "review_below = 0.65", "review_below = 0.7"),
    ("routing.toml", "min_words = 3", "min_words = 4"),
    ("routing.toml", "word_starts = [", "word_starts = [\"spyware\", "),
    ("sectors.toml", 'label = "Energy"', 'label = "Energy and power"'),
]


@pytest.mark.parametrize("name, old, new", MODEL_BLIND_EDITS)
def test_an_edit_the_model_does_not_depend_on_asks_for_no_retraining(tmp_path, rules_dir, name, old, new):
    """Processes, norms, explanations, decision thresholds, the topic list and sector labels are
    read after the model has spoken: editing them changes results without a retraining, so no
    note asks for one. The edit itself takes effect."""
    rules = tmp_path / "rules"
    shutil.copytree(rules_dir, rules, ignore=shutil.ignore_patterns("__*"))
    path = rules / name
    assert old in path.read_text()
    path.write_text(path.read_text().replace(old, new, 1))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        edited = Classifier(rules=rules)
    assert edited.rules_changed == ""
    assert edited.rules.fingerprint() != Classifier(rules=rules_dir).rules.fingerprint()


def test_a_model_from_sessions_22_and_23_is_compared_on_everything_the_rules_say(tmp_path, rules):
    """A manifest marked "parsed" recorded the fingerprint of all the rule files said, processes
    included: such a model still gives the note after any edit, as it did."""
    from classifier.model_store import default_model_dir

    model = tmp_path / "model"
    shutil.copytree(default_model_dir(), model)
    manifest = json.loads((model / "manifest.json").read_text())
    assert manifest["rules_fingerprint"] == "model-view" and manifest["rules_sha256"] == rules.model_fingerprint()
    manifest |= {"rules_fingerprint": "parsed", "rules_sha256": rules.fingerprint()}
    (model / "manifest.json").write_text(json.dumps(manifest))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Classifier(rules=rules, model=model)
    manifest["rules_sha256"] = rules.model_fingerprint()
    (model / "manifest.json").write_text(json.dumps(manifest))
    with pytest.warns(RulesChangedWarning):
        Classifier(rules=rules, model=model)


def test_a_model_from_before_the_parsed_fingerprint_is_compared_by_bytes(tmp_path, rules):
    """Models trained before session 22 recorded the sha256 of the rule files' bytes, without a
    marker: matched against the same files they give no note; the new record needs the marker."""
    from classifier.model_store import default_model_dir

    model = tmp_path / "model"
    shutil.copytree(default_model_dir(), model)
    manifest = json.loads((model / "manifest.json").read_text())
    manifest.pop("rules_fingerprint")
    manifest["rules_sha256"] = rules.bytes_sha256
    (model / "manifest.json").write_text(json.dumps(manifest))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Classifier(rules=rules, model=model)
    manifest["rules_sha256"] = rules.fingerprint()   # a parsed fingerprint read as bytes: differs
    (model / "manifest.json").write_text(json.dumps(manifest))
    with pytest.warns(RulesChangedWarning):
        Classifier(rules=rules, model=model)


def test_results_and_classifiers_pickle_for_other_processes():
    """A notebook saves results with joblib and sends work to a process pool: both pickle."""
    import copy
    import pickle

    classifier = Classifier()
    result = classifier.classify("A ransomware gang encrypted a dental practice's files and demanded bitcoin.")
    again = pickle.loads(pickle.dumps(result))
    assert again.to_dict() == result.to_dict() and again.criteria["motive"].detail == {}
    assert copy.deepcopy(result).to_dict() == result.to_dict()
    state = classifier.classify("Chinese State-sponsored hackers broke into a ministry's email.")
    assert pickle.loads(pickle.dumps(state)).criteria["state_sponsorship"].detail == {"sponsor": "China"}
    clone = pickle.loads(pickle.dumps(classifier))
    assert clone.classify(result.text).to_dict() == result.to_dict()


def test_classify_many_takes_any_collection_and_refuses_a_lone_string():
    classifier = Classifier()
    texts = ["A ransomware gang encrypted a dental practice's files.", "GRU officers wiped a grid operator's servers."]
    routes = [r.route for r in classifier.classify_many(texts)]
    assert [r.route for r in classifier.classify_many(t for t in texts)] == routes   # a generator is read once
    assert [r.route for r in classifier.classify_many(pd.Series(texts, index=[5, 3]))] == routes
    assert classifier.route_probabilities(iter(texts)).shape == (2, 3)
    with pytest.raises(TypeError, match="not a single str; classify takes one description"):
        classifier.classify_many(texts[0])
    with pytest.raises(TypeError, match="not a DataFrame; classify_frame"):
        classifier.classify_rows(pd.DataFrame({"text": texts}))
    with pytest.raises(TypeError, match="classify takes one description, not a Series"):
        classifier.classify(pd.Series(texts))
    # The error says what is wrong in the same words from every way in (README); the explanation
    # says it as a sentence.
    unread = classifier.classify(42)
    assert unread.error == "not text (int '42')" and unread.explanation.startswith("The description is not text")
    assert [r.error for r in classifier.classify_many(["", None, 4.5])] == [
        "empty text", "missing text", "not text (float '4.5')"]
    with pytest.raises(TypeError, match="not a dict; pass its values"):
        classifier.classify_many({"case-1": texts[0]})       # would classify the keys
    with pytest.raises(TypeError, match="not one value of type int"):
        classifier.classify_many(5)
    with pytest.raises(TypeError, match="not one value of type NoneType"):
        classifier.classify_many(None)
    with pytest.raises(TypeError, match="text_column is the name of one column, not a list"):
        classifier.classify_frame(pd.DataFrame({"description": texts}), text_column=["description"])


def test_priors_set_after_construction_are_checked_and_normalised():
    from classifier.priors import PriorsError

    classifier = Classifier()
    with pytest.raises(PriorsError, match="missing: international-security, intersection"):
        classifier.priors = {"cybercrime": 1.0}
    classifier.priors = {"cybercrime": 2, "international-security": 1, "intersection": 1}
    assert classifier.priors == {"cybercrime": 0.5, "international-security": 0.25, "intersection": 0.25}
    assert "re-weighted" in classifier.classify("A gang stole card numbers from a shop's checkout.").explanation
    classifier.priors = None
    assert "re-weighted" not in classifier.classify("A gang stole card numbers from a shop's checkout.").explanation


def test_classify_frame_errors_name_the_row_where_the_index_repeats():
    frame = pd.DataFrame({"text": ["A gang stole card numbers from a shop.", "", None]}, index=[1, 1, 2])
    assert classify_frame(frame)["error"].tolist() == [
        "", "index 1 (row 2): empty text in column 'text'",
        "index 2 (row 3): missing text in column 'text'"]


def test_evidence_frame_lists_every_span_of_every_result_by_its_label():
    from classifier import evidence_frame
    from classifier.result import EVIDENCE_COLUMNS

    frame = pd.DataFrame({"description": [
        "North Korean hackers of the Lazarus Group stole 600 million dollars from a crypto bridge.", "",
        "A gang hit a hospital; no evidence of State involvement."]}, index=["a", "b", "c"])
    results = Classifier().classify_many(frame["description"])
    evidence = evidence_frame(results, frame.index)
    assert list(evidence.columns) == list(EVIDENCE_COLUMNS)
    assert set(evidence["result"]) == {"a", "c"}            # the empty text has no evidence, and no row
    for row in evidence.itertuples():
        assert frame.loc[row.result, "description"][row.start:row.end] == row.span
    spans = sum(len(c.evidence) + len(c.against) for r in results for c in [*r.criteria.values(), *r.signals.values()])
    assert len(evidence) == spans
    assert not evidence["against"].any()
    overridden = evidence_frame(Classifier().classify_many(
        ["Police ruled out a foreign government, but researchers later linked the wiper to Sandworm."]))
    assert overridden.loc[overridden["against"], ["criterion", "value", "span"]].values.tolist() == [
        ["state_sponsorship", "suspected", "ruled out a foreign government"]]
    denied = evidence[(evidence["result"] == "c") & (evidence["criterion"] == "state_sponsorship")]
    assert denied[["value", "span"]].values.tolist() == [["none", "no evidence of State involvement"]]
    assert evidence_frame([]).empty and evidence_frame(results)["result"].tolist()[0] == 0
    with pytest.raises(ValueError, match="index has 2 labels for 3 results"):
        evidence_frame(results, ["a", "b"])


def test_a_result_comes_back_from_its_json_record(tmp_path):
    """Result.from_dict rebuilds a result from `score --json` or a line of batch's JSON lines
    output, equal in to_dict and in what the terminal and notebook show."""
    import json
    import re

    from click.testing import CliRunner

    from classifier import Result
    from classifier.cli import main

    texts = ["North Korean hackers of the Lazarus Group stole 600 million dollars from a crypto bridge.",
             "A gang hit a hospital; no evidence of State involvement.", "", "GRU officers planted a wiper."]
    for original in Classifier().classify_many(texts):
        back = Result.from_dict(json.loads(original.to_json()), text=original.text)
        assert back.to_dict() == original.to_dict()
        # The record holds four decimals, so a figure shown with two may differ in its last digit.
        assert re.sub(r"\d", "", back._repr_html_()) == re.sub(r"\d", "", original._repr_html_())
        assert re.sub(r"\d", "", str(back)) == re.sub(r"\d", "", str(original))
    sponsor = Classifier().classify(texts[0]).criteria["state_sponsorship"]
    with pytest.warns(UserWarning, match="no description that its evidence spans fit"):
        bare = Result.from_dict(json.loads(Classifier().classify(texts[0]).to_json()))   # `score --json`: no text
    assert bare.criteria["state_sponsorship"].detail == dict(sponsor.detail)
    assert bare.text == "" and "<mark" not in bare._repr_html_()     # no empty highlights
    with pytest.raises(ValueError, match="actor_type evidence 'Lazarus Group' at 28-41 is not in the text given"):
        Result.from_dict(json.loads(Classifier().classify(texts[0]).to_json()), text="something else entirely")
    # A negated span keeps its negation through the JSON form.
    denial = "A gang hit a hospital; investigators found no evidence of Russian intelligence involvement."
    denied = Classifier().classify(denial)
    record = json.loads(denied.to_json())
    assert record["criteria"]["state_sponsorship"]["evidence"][0]["negated"] is True
    assert "negated" not in record["criteria"]["critical_infrastructure"]["evidence"][0]
    back = Result.from_dict(record, text=denial)
    assert back.to_dict() == denied.to_dict()
    assert back.criteria["state_sponsorship"].evidence == denied.criteria["state_sponsorship"].evidence
    # So does a denial a State link overrode, checked against the text like the evidence.
    overridden = "Police ruled out a foreign government, but researchers later linked the wiper to Sandworm."
    record = json.loads(Classifier().classify(overridden).to_json())
    back = Result.from_dict(record, text=overridden)
    assert [e.text for e in back.criteria["state_sponsorship"].against] == ["ruled out a foreign government"]
    with pytest.raises(ValueError, match="state_sponsorship evidence 'ruled out a foreign government' at 7-37"):
        Result.from_dict(record, text=overridden.replace("ruled out", "ruled off"))
    source = tmp_path / "in.csv"
    pd.DataFrame({"id": [1, 2], "text": texts[:2]}).to_csv(source, index=False)
    out = tmp_path / "out.jsonl"
    assert CliRunner().invoke(main, ["batch", str(source), "-o", str(out)]).exit_code == 0
    records = [json.loads(line) for line in out.read_text().splitlines()]
    rebuilt = [Result.from_dict(record) for record in records]     # the text comes from "input"
    assert [r.text for r in rebuilt] == texts[:2]
    # ... also from batch --text-column: the input value the evidence spans fit.
    pd.DataFrame({"id": [1, 2], "description": texts[:2], "note": ["North Korean", "gang"]}).to_csv(source, index=False)
    assert CliRunner().invoke(main, ["batch", str(source), "--text-column", "description", "-o", str(out)]).exit_code == 0
    described = [Result.from_dict(json.loads(line)) for line in out.read_text().splitlines()]
    assert [r.text for r in described] == texts[:2]
    assert [r.route for r in rebuilt] == [record["route"] for record in records]
    for result in rebuilt:
        assert all(result.text[e.start:e.end] == e.text for c in result.criteria.values() for e in c.evidence)
    with pytest.raises(ValueError, match="no 'rule_route' key"):
        Result.from_dict({k: v for k, v in records[0].items() if k != "rule_route"})
    with pytest.raises(ValueError, match="'confidence' is not a number: 'high'"):
        Result.from_dict({**records[0], "confidence": "high"})
    with pytest.raises(ValueError, match="is a JSON object"):
        Result.from_dict("route: cybercrime")
