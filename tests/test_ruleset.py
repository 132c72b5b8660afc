"""Rule files are schema-checked; errors name the file, the rule and the key."""

from __future__ import annotations

import shutil

import pytest

from classifier.api import RuleLayer
from classifier.ruleset import RuleFileError, load_rules


@pytest.fixture
def rules_copy(tmp_path, rules_dir):
    copy = tmp_path / "rules"
    shutil.copytree(rules_dir, copy, ignore=shutil.ignore_patterns("__*"))
    return copy


def test_packaged_rules_load(rules):
    assert len(rules.cues) >= 20
    assert len(rules.actors) >= 100
    assert {s.value for s in rules.sectors} >= {"energy", "water", "health", "finance", "telecom"}


def test_bad_value_names_file_rule_and_key(rules_copy):
    path = rules_copy / "criteria.toml"
    path.write_text(path.read_text().replace('value = "financial"', 'value = "greed"', 1))
    with pytest.raises(RuleFileError) as info:
        load_rules(rules_copy)
    message = str(info.value)
    assert "criteria.toml" in message and "motive.financial" in message and "'value'" in message


def test_invalid_toml_is_reported(rules_copy):
    (rules_copy / "routing.toml").write_text("[[rule]\nid = ")
    with pytest.raises(RuleFileError, match="routing.toml: not valid TOML"):
        load_rules(rules_copy)


@pytest.mark.parametrize("file, old, new, message", [
    ("criteria.toml", "confidence = 0.9", "confidence = 1.9", "confidence"),
    ("criteria.toml", "pseudo_triggers = [", "pseudo_trigger = [",
     r"criteria.toml, rule negation, key 'pseudo_trigger': unknown key"),
    ("routing.toml", "when = { state_involvement = true, signals", "when = { state_involvment = true, signals",
     r"state-operation-disguised-as-crime.*when\.state_involvment"),
    ("routing.toml", "review_state_reading = 0.5", "review_state_reading = 1.5",
     r"routing.toml.*review_state_reading.*between 0 and 1, got 1.5"),
    ("routing.toml", 'word_starts = [', 'word_start = [', r"routing.toml, rule topic, key 'word_start': unknown key"),
    ("routing.toml", '"cyber", "hack",', '"cyber", " ",', r"routing.toml, rule topic, key 'word_starts'.*non-empty"),
    ("routing.toml", "min_words = 3", "min_words = 2.5", r"routing.toml, rule decision, key 'min_words'.*whole number"),
    ("routing.toml", 'state_sponsorship = ["unknown"]', 'state_sponsorship = ["unkown"]',
     r"presumed-state-espionage, key 'when.state_sponsorship': 'unkown' is not one of confirmed, suspected, none, unknown"),
    ("sectors.toml", 'id = "health"\n', 'id = "health"\nnegateable = true\n',
     r"sectors.toml, rule health, key 'negateable': unknown key"),
    ("gazetteer.toml", '"Royal Mail", ', '"Royal Mail", "Her Majesty\'s Post Office", ',
     r"gazetteer.toml, rule stoplist, key 'names': \"Her Majesty's Post Office\" holds no actor's alias"),
    ("gazetteer.toml", "names = [", "name = [", r"gazetteer.toml, rule stoplist, key 'name': unknown key"),
], ids=["confidence out of range", "unknown negation key", "unknown condition", "decision threshold out of range", "unknown topic key",
        "blank topic word", "fractional word count", "misspelt sponsorship value", "misspelt sector key",
        "name holding no alias", "misspelt stoplist key"])
def test_bad_edit_is_refused_by_name(rules_copy, file, old, new, message):
    path = rules_copy / file
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(RuleFileError, match=message):
        load_rules(rules_copy)


def test_duplicate_alias_refused(rules_copy):
    path = rules_copy / "gazetteer.toml"
    path.write_text(path.read_text() + '\n[[actor]]\nname = "Copycat"\naliases = ["Sandworm"]\n'
                    'actor_type = "criminal"\nsponsor = ""\nsponsorship = "none"\nmotive = "financial"\nroles = []\n')
    with pytest.raises(RuleFileError, match="Sandworm"):
        load_rules(rules_copy)


def test_run_together_spelling_listed_elsewhere_stays_there(rules_copy):
    """An alias's run-together form is added only where no actor lists that spelling."""
    path = rules_copy / "gazetteer.toml"
    path.write_text(path.read_text() + '\n[[actor]]\nname = "Cozybear Kids"\naliases = ["COZYBEAR"]\n'
                    'actor_type = "criminal"\nsponsor = ""\nsponsorship = "none"\nmotive = "financial"\nroles = []\n')
    actors = {a.name: a for a in load_rules(rules_copy).actors}
    assert "CozyBear" not in actors["APT29"].aliases and "MidnightBlizzard" in actors["APT29"].aliases
    assert actors["Cozybear Kids"].aliases == ("Cozybear Kids", "COZYBEAR", "CozybearKids")


def test_missing_file(rules_copy):
    (rules_copy / "sectors.toml").unlink()
    with pytest.raises(RuleFileError, match="sectors.toml: file not found"):
        load_rules(rules_copy)


def test_last_routing_rule_must_catch_all(rules_copy):
    path = rules_copy / "routing.toml"
    text = path.read_text()
    path.write_text(text[:text.index('[[rule]]\nid = "silent"')] + text[text.index("[decision]"):])
    with pytest.raises(RuleFileError, match="last"):
        load_rules(rules_copy)


def test_without_min_words_every_length_is_routed(rules_copy):
    path = rules_copy / "routing.toml"
    path.write_text(path.read_text().replace("min_words = 3", "", 1))
    assert load_rules(rules_copy).decision["min_words"] == 0


def test_optional_decision_key_may_be_left_out(rules_copy):
    """A copy of rules/ made before review_state_reading existed still loads, with the default."""
    path = rules_copy / "routing.toml"
    text = path.read_text()
    assert "review_state_reading = 0.5" in text
    path.write_text(text.replace("review_state_reading = 0.5", "", 1))
    assert load_rules(rules_copy).decision["review_state_reading"] == 0.5


@pytest.mark.parametrize("text, phrase, with_it, without_it", [
    # without its pseudo-triggers, "no doubt that ... was behind" reads as a denial
    ("There is no doubt that Russia's government was behind the attack on the power grid.",
     '"no doubt", ', "suspected", "none"),
    # without its post-triggers, a denial after the name clears nobody
    ("Officials said Russia's government was not behind the breach of the council network.",
     '"was not behind", ', "none", "suspected"),
], ids=["pseudo-trigger", "post-trigger"])
def test_negation_phrases_are_read_from_the_rule_file(rules_copy, text, phrase, with_it, without_it):
    path = rules_copy / "criteria.toml"
    assert phrase in path.read_text()
    path.write_text(path.read_text().replace(phrase, ""))
    for rules, value in [(load_rules(), with_it), (load_rules(rules_copy), without_it)]:
        analysis, _ = RuleLayer(rules).analyse(text)
        assert analysis.criteria["state_sponsorship"].value == value
