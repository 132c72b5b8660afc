"""Rule files are schema-checked; errors name the file, the rule and the key."""

from __future__ import annotations

import shutil

import pytest

from classifier.api import RuleLayer
from classifier.ruleset import ENTRY_KINDS, TABLES, RuleFileError, load_rules


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
     r"criteria.toml:\d+, \[negation\], key 'pseudo_trigger': unknown key"),
    ("routing.toml", "when = { state_involvement = true, signals", "when = { state_involvment = true, signals",
     r"state-operation-disguised-as-crime.*when\.state_involvment"),
    ("routing.toml", "review_state_reading = 0.5", "review_state_reading = 1.5",
     r"routing.toml.*review_state_reading.*between 0 and 1, got 1.5"),
    ("routing.toml", 'word_starts = [', 'word_start = [', r"routing.toml:\d+, \[topic\], key 'word_start': unknown key"),
    ("routing.toml", '"cyber", "hack",', '"cyber", " ",', r"routing.toml:\d+, \[topic\], key 'word_starts'.*non-empty"),
    ("routing.toml", "min_words = 3", "min_words = 2.5", r"routing.toml:\d+, \[decision\], key 'min_words'.*whole number"),
    ("routing.toml", 'state_sponsorship = ["unknown"]', 'state_sponsorship = ["unkown"]',
     r"presumed-state-espionage, key 'when.state_sponsorship': 'unkown' is not one of confirmed, suspected, none, unknown"),
    ("sectors.toml", 'id = "health"\n', 'id = "health"\nnegateable = true\n',
     r"sectors.toml:\d+, sector health, key 'negateable': unknown key"),
    ("gazetteer.toml", '"Royal Mail", ', '"Royal Mail", "Her Majesty\'s Post Office", ',
     r"gazetteer.toml:\d+, \[stoplist\], key 'names': \"Her Majesty's Post Office\" holds no actor's alias"),
    ("gazetteer.toml", "names = [", "name = [", r"gazetteer.toml:\d+, \[stoplist\], key 'name': unknown key"),
    # Session 22, from a review of the analyst's editing: mistakes that used to pass in silence.
    ("routing.toml", 'when = { state_involvement = false, actor_or_motive_known = true }',
     'wen = { state_involvement = false, actor_or_motive_known = true }', r"rule crime, key 'wen': unknown key"),
    ("routing.toml", 'id = "crime"\nwhen = { state_involvement = false, actor_or_motive_known = true }\n',
     'id = "crime"\n', r"rule crime, key 'when': missing \(a rule for every text says so: when = \{\}\)"),
    ("routing.toml", 'id = "crime"', 'id = "state-operation"', r"rule state-operation, key 'id': duplicate id"),
    ("routing.toml", "min_words = 3", "min_word = 3", r"\[decision\], key 'min_word': unknown key"),
    ("routing.toml", 'explain = "no State link was found', 'explian = "no State link was found',
     r"rule crime, key 'explian': unknown key"),
    ("routing.toml", 'route = "cybercrime"\nreason = ""', 'route = "cybercrime"\nreason = "criminal-proxy-of-state"',
     r"rule crime, key 'reason': only an intersection rule has a reason; this one routes cybercrime"),
    ("routing.toml", 'reason = "criminal-proxy-of-state"', 'reason = "water-crime"',
     r"'water-crime' is not an intersection reason .*a new reason needs a change of the code"),
    ("routing.toml", 'sectors = ["government",', 'sectors = ["goverment",',
     r"presumed-state-espionage, key 'when.sectors': 'goverment' is not one of energy"),
    ("criteria.toml", 'negatable = false', 'negatable = "false"',
     r"key 'negatable': must be true or false \(without quotes\), got 'false'"),
    ("criteria.toml", '"gang", "gangs",', '"gang", "$$$",', r"key 'terms': '\$\$\$' has no letter or digit"),
    ("criteria.toml", '"{place} spies",', '"{country} spies",', r"'\{country\} spies': \{country\} is no placeholder"),
    ("criteria.toml", 'terms = ["defaced", "defacement", "defacements", "defacing"]', 'terms = []',
     r"actor.hacktivist.defacement, key 'terms': lists no terms"),
    ("sectors.toml", '"water utility", "water utilities",', '"water utility", "hospital",',
     r"key 'terms': 'hospital' is listed under sector (water|health) too"),
    ("sectors.toml", 'id = "water"', 'id = "energy"', r"sector energy, key 'id': duplicate id"),
    ("sectors.toml", 'id = "health"\n', 'id = "health"\nnegatable = "yes"\n', r"sector health, key 'negatable': must be true or false"),
    ("gazetteer.toml", 'name = "Lazarus Group"', 'name = "Lazarus Group"\nmotiv = "financial"',
     r"actor Lazarus Group, key 'motiv': unknown key"),
    ("gazetteer.toml", '"Agenda", "Akira",', '"Agenda", "Akria",',
     r"\[stoplist\], key 'aliases': 'Akria' is no actor's alias"),
    ("processes.toml", 'routes = ["international-security", "intersection"]\nwhen = {}',
     'routes = ["international-security", "intersecton"]\nwhen = {}', r"norm 13\(a\), key 'routes': 'intersecton' is not a route"),
    ("processes.toml", 'routes = ["international-security", "intersection"]\nwhen = {}',
     'routes = ["international-security", "intersection"]\nwehn = {}', r"norm 13\(a\), key 'wehn': unknown key"),
    # Session 24, from a second review of the analyst's editing.
    ("gazetteer.toml", '"Lazarus", "Guardians of Peace",', '"Lazarus", "GP", "Guardians of Peace",',
     r"actor Lazarus Group, key 'aliases': alias 'GP' is shorter than 3 characters"),
    ("gazetteer.toml", '"WannaCry",\n]\nactor_type = "state"', '"WannaCry",\n]\nactor_type = "spies"',
     r"actor Lazarus Group, key 'actor_type': 'spies' is not an actor type \(state, state-sponsored, criminal"),
    ("gazetteer.toml", 'sponsor = "North Korea"\nsponsorship = "confirmed"\nmotive = "financial"\nroles = ["state-crime"]',
     'sponsor = "North Korea"\nsponsorship = "none"\nmotive = "financial"\nroles = ["state-crime"]',
     r"actor Lazarus Group, key 'sponsorship': an actor of type 'state' is a State's"),
    ("gazetteer.toml", 'sponsor = "North Korea"\nsponsorship = "confirmed"\nmotive = "financial"\nroles = ["state-crime"]',
     'sponsor = "North Korea"\nsponsorship = "confirmed"\nroles = ["state-crime"]',
     r"actor Lazarus Group, key 'motive': missing"),
    ("routing.toml", 'explain = "no State link was found', 'comment = "no State link was found',
     r"rule crime, key 'comment': unknown key"),
    ("routing.toml", 'explain = "no actor, motive or State link was found"', '',
     r"rule silent, key 'explain': missing: the sentence a result's explanation quotes"),
    ("criteria.toml", 'terms = ["defaced", "defacement", "defacements", "defacing"]',
     'terms = ["defaced", "defacement", "defacements", "defacing"]\nterms = ["defaced"]',
     r"criteria.toml: not valid TOML: Cannot overwrite a value.*a key is given twice.*the line reads: terms"),
    ("sectors.toml", 'id = "health"\n', 'id = \u201chealth\u201d\n', r"typographic quotes.*straight quotes"),
    ("sectors.toml", '"water utility", "water utilities",', '"water utility, water utilities",',
     r"sector water, key 'terms': 'water utility, water utilities' holds a comma and a space: each phrase is its own "
     r"quoted string \(\"water utility\", \"water utilities\"\)"),
    # Session 29, from a third review of the analyst's editing: edits that loaded and then
    # matched nothing, or the wrong actor.
    ("gazetteer.toml", '"Pawn Storm", "Fancy Bear",', '"Pawn Storm, Fancy Bear",',
     r"actor APT28, key 'aliases': 'Pawn Storm, Fancy Bear' holds a comma and a space"),
    ("criteria.toml", '"gang", "gangs",', '"gang", "gangs?",',
     r"key 'terms': 'gangs\?': '\?' is read as itself: terms are plain phrases .* not regular expressions"),
    ("criteria.toml", '"{place} spies",', '"{place spies",', r"'\{place spies' holds a brace outside \{place\}"),
    ("criteria.toml", 'places = ["North Korea"]', 'places = ["North Korea", "Atlantis"]',
     r"north-korean-nationality, key 'places': 'Atlantis' is not in \[places\] \(Russia, China"),
    ("criteria.toml", 'places = ["North Korea"]', 'places = []',
     r"north-korean-nationality, key 'places': names no State; leave the key out for all of \[places\]"),
    ("gazetteer.toml", 'context = [', 'context = ["ransomware gang", ',
     r"\[stoplist\], key 'context': 'ransomware gang' is not one word"),
    ("routing.toml", "when = { state_involvement = true }", "when = { state_involvement = true, sectors = [] }",
     r"key 'when.sectors': lists no value, so no text meets it and the rule never decides"),
    ("sectors.toml", 'id = "water"', 'id = "Energy"', r"sector Energy, key 'id': duplicate id \(ids are compared in any case\)"),
    ("sectors.toml", 'weak_terms = ["utility", "electricity", "petroleum"]',
     'weak_terms = ["utility", "electricity", "petroleum", "power grid"]',
     r"sector energy, key 'weak_terms': 'power grid' is in terms too"),
    ("sectors.toml", 'cisa = ["Healthcare and Public Health"]', 'cisa = "Healthcare and Public Health"',
     r"sector health, key 'cisa': must be a list"),
    ("gazetteer.toml", 'sponsor = "North Korea"\nsponsorship = "confirmed"\nmotive = "financial"\nroles = ["state-crime"]',
     'sponsor = ""\nsponsorship = "confirmed"\nmotive = "financial"\nroles = ["state-crime"]',
     r"actor Lazarus Group, key 'sponsor': an actor of type 'state' is a State's: name the State"),
    ("gazetteer.toml", 'sponsor = "North Korea"\nsponsorship = "confirmed"\nmotive = "financial"\nroles = ["state-crime"]',
     'sponsor = "North Korea"\nsponsorship = "confirmed"\nmotive = "unknown"\nroles = ["state-crime"]',
     r"actor Lazarus Group, key 'motive': 'unknown' is not a motive \(financial, espionage, sabotage, influence, ideological\)"),
    ("criteria.toml", 'Hamas = ["hamas"]', 'Hamas = []', r"\[places\], key 'Hamas': each place is a State's name"),
    ("sectors.toml", '"water utility", "water utilities",', '"water utility" "water utilities",',
     r"not valid TOML: Unclosed array.*a comma missing between two items"),
    ("routing.toml", "when = { state_involvement = true }", "when = { state_involvement = true, }",
     r"not valid TOML.*a comma after the last item is not allowed"),
    ("gazetteer.toml", 'sponsor = "North Korea"\nsponsorship = "confirmed"', 'sponsor = "North Korea\nsponsorship = "confirmed"',
     r"not valid TOML.*a quoted string is not closed on this line"),
    ("processes.toml", "processes = [", "procezzes = [",
     r"processes.toml:\d+, \[routes.cybercrime\], key 'procezzes': unknown key \(allowed: label, processes\)"),
], ids=["confidence out of range", "unknown negation key", "unknown condition", "decision threshold out of range", "unknown topic key",
        "blank topic word", "fractional word count", "misspelt sponsorship value", "misspelt sector key",
        "name holding no alias", "misspelt stoplist key", "misspelt when", "missing when", "duplicate rule id",
        "misspelt decision key", "misspelt explain", "reason on a crime rule", "unknown reason", "misspelt sector condition",
        "quoted boolean", "punctuation term", "unknown placeholder", "empty terms", "term in two sectors",
        "duplicate sector id", "quoted sector boolean", "misspelt actor key", "stoplisted alias of no actor",
        "misspelt norm route", "misspelt norm when", "two-letter alias", "actor type listed",
        "State actor without sponsorship", "motive missing",
        "explain renamed", "explain missing", "key twice", "curly quotes", "two phrases in one string",
        "two aliases in one string", "pattern in a term", "unbalanced placeholder", "cue place not in [places]",
        "cue places empty", "phrase as stoplist context",
        "empty condition list", "sector id in another case", "strong and weak term", "official sectors not a list",
        "State actor without sponsor", "actor motive unknown", "place without names", "quote out of place",
        "trailing comma in a table", "unclosed string", "misspelt route table key"])
def test_bad_edit_is_refused_by_name(rules_copy, file, old, new, message):
    path = rules_copy / file
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(RuleFileError, match=message) as info:
        load_rules(rules_copy)
    error = info.value
    if error.rule is None:     # TOML's own errors, whose message names the line already
        assert "not valid TOML" in str(error) and "line" in str(error)
        return
    # The message leads with path:line, and the line is the edit's, so an editor opens it there;
    # for a key the edit removed, the line is the entry's first (its id or name); for a term
    # listed in two sectors, that of the second sector to list it, which the message names.
    # The entry is named by what it is: "cue X", "sector X", "actor X", "rule X", or "[table]".
    table = error.rule in TABLES or error.rule.startswith("routes.")
    label = f"[{error.rule}]" if table else f"{ENTRY_KINDS[file]} {error.rule}"
    assert str(error).startswith(f"{path}:{error.line}, {label}, ")
    first = text[:text.index(old)].count("\n") + 1
    named = path.read_text().splitlines()[error.line - 1]
    assert (first <= error.line <= first + new.count("\n")
            or "missing" in str(error) and named.startswith(("id =", "name ="))
            or "is listed under sector" in str(error) and f'"{error.rule}"' not in named and '"hospital"' in named)


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


def test_duplicate_actor_name_refused(rules_copy):
    path = rules_copy / "gazetteer.toml"
    path.write_text(path.read_text() + '\n[[actor]]\nname = "LockBit"\naliases = ["LockBit Black Copy"]\n'
                    'actor_type = "state"\nsponsor = "Russia"\nsponsorship = "confirmed"\nmotive = "espionage"\n')
    with pytest.raises(RuleFileError, match=r"actor LockBit, key 'name': 'LockBit' is listed already"):
        load_rules(rules_copy)


def test_a_term_listed_twice_in_one_cue_counts_once(rules_copy):
    """"state-sponsored" and "state sponsored" fold to the same words: listed both ways, the cue
    must still vote once, with its own confidence, not 1 - (1 - c)^2."""
    text = "A gang stole card data from a shop."
    before = RuleLayer(load_rules(rules_copy)).analyse(text)[0].criteria["actor_type"]
    path = rules_copy / "criteria.toml"
    path.write_text(path.read_text().replace('"gang", "gangs",', '"gang", "gangs", "gang", "Gang",', 1))
    rules = load_rules(rules_copy)
    cue = next(c for c in rules.cues if c.id == "actor.criminal.group")
    assert cue.terms.count("gang") == 1 and "Gang" not in cue.terms
    after = RuleLayer(rules).analyse(text)[0].criteria["actor_type"]
    assert after.value == before.value == "criminal" and after.confidence == before.confidence


def test_rule_files_in_another_encoding_are_named_and_a_byte_order_mark_is_read(rules_copy):
    path = rules_copy / "routing.toml"
    text = path.read_text(encoding="utf-8")
    path.write_bytes("\ufeff".encode("utf-8") + text.encode("utf-8"))
    assert load_rules(rules_copy).routing_rules[0].id == "state-operation-disguised-as-crime"
    path.write_bytes(text.replace("# The routing policy", "# Die Routing-Regeln für", 1).encode("latin-1"))
    with pytest.raises(RuleFileError, match=r"routing.toml: not UTF-8 \(byte 0xfc on line 1\); save the file as UTF-8"):
        load_rules(rules_copy)


def test_an_empty_rule_file_says_so(rules_copy):
    (rules_copy / "processes.toml").write_text("\n")
    with pytest.raises(RuleFileError, match="processes.toml: the file is empty"):
        load_rules(rules_copy)


def test_fingerprint_follows_what_the_rules_say_not_their_layout(rules_copy):
    first = load_rules(rules_copy).fingerprint()
    path = rules_copy / "criteria.toml"
    path.write_text("# an analyst's note\n" + path.read_text().replace("\n", "\r\n"))
    assert load_rules(rules_copy).fingerprint() == first
    path.write_text(path.read_text().replace('"gang", "gangs",', '"gang", "gangs", "grifters",', 1))
    assert load_rules(rules_copy).fingerprint() != first


def test_a_quoted_number_is_named_in_an_analysts_words(rules_copy):
    path = rules_copy / "criteria.toml"
    path.write_text(path.read_text().replace("confidence = 0.9", 'confidence = "high"', 1))
    with pytest.raises(RuleFileError, match=r"key 'confidence': must be a number \(without quotes\), got 'high'"):
        load_rules(rules_copy)


def test_a_place_is_refused_as_an_actors_alias(rules_copy):
    path = rules_copy / "gazetteer.toml"
    text = path.read_text()
    old = 'name = "Lazarus Group"\naliases = ['
    assert old in text
    path.write_text(text.replace(old, old + '"Pyongyang", ', 1))
    with pytest.raises(RuleFileError, match=r"actor Lazarus Group, key 'aliases': 'Pyongyang', a name of this actor, "
                                            r"is also a name of North Korea in criteria.toml's \[places\]"):
        load_rules(rules_copy)


def test_a_stoplisted_alias_may_also_be_a_place(rules_copy):
    """Cuba is a ransomware brand (stoplisted: counted only as written, beside a context word);
    adding the State to [places], as the gazetteer's header tells an analyst to, was refused."""
    path = rules_copy / "criteria.toml"
    path.write_text(path.read_text().replace('Hamas = ["hamas"]', 'Hamas = ["hamas"]\nCuba = ["cuba", "cuban", "havana"]', 1))
    layer = RuleLayer(load_rules(rules_copy))
    spies = layer.analyse("Cuban spies broke into the ministry's mail server.")[0].criteria["state_sponsorship"]
    assert spies.value in ("suspected", "confirmed") and spies.detail["sponsor"] == "Cuba"


def _append_actor(rules_copy, aliases: str, name: str = "Velvet Kestrel"):
    path = rules_copy / "gazetteer.toml"
    path.write_text(path.read_text() + f'\n[[actor]]\nname = "{name}"\naliases = [{aliases}]\n'
                    'actor_type = "state-sponsored"\nsponsor = "Belarus"\nsponsorship = "suspected"\n'
                    'motive = "espionage"\nroles = []\n')


@pytest.mark.parametrize("aliases, message", [
    ('"UNC9999", "UAC 0056"', r"alias 'UAC 0056' also belongs to Ember Bear \(aliases are compared in any case, hyphens"),
    ('"Fancy-Bear"', r"alias 'Fancy-Bear' also belongs to APT28"),
    ('"UNC9999", "Group"', r"alias 'Group' is an ordinary word of incident reports: every \"group\" would name"),
    ('"Team"', r"alias 'Team' is an ordinary word"),
    ('"UNC9999", "Velvet Kestrel"', r"alias 'Velvet Kestrel' repeats the name"),
    ('"..."', r"alias '...' has no letter or digit"),
], ids=["hyphen for a space", "hyphenated name", "generic word", "header's example", "name repeated", "no letter"])
def test_an_alias_that_would_match_the_wrong_words_is_refused(rules_copy, aliases, message):
    """Each loaded before, and then mixed two actors, matched every 'group', or nothing."""
    _append_actor(rules_copy, aliases)
    with pytest.raises(RuleFileError, match=rf"actor Velvet Kestrel, key 'aliases': {message}"):
        load_rules(rules_copy)


def test_a_new_actor_with_a_stoplisted_ordinary_word_loads_and_matches_only_beside_context(rules_copy):
    _append_actor(rules_copy, '"UNC9999", "Kestrel"')
    path = rules_copy / "gazetteer.toml"
    text = path.read_text()
    assert 'aliases = [\n    "Agenda",' in text
    path.write_text(text.replace('aliases = [\n    "Agenda",', 'aliases = [\n    "Kestrel", "Agenda",', 1))
    layer = RuleLayer(load_rules(rules_copy))
    assert layer.analyse("A kestrel nested on the roof of the ministry.")[0].criteria["actor_type"].value == "unknown"
    assert layer.analyse("UNC9999 phished officials at a ministry.")[0].criteria["actor_type"].value == "state-sponsored"


def test_a_directory_without_rule_files_is_named_as_such(tmp_path):
    with pytest.raises(RuleFileError, match=r"is not a rules directory: it holds none of criteria.toml"):
        load_rules(tmp_path)
    (tmp_path / "rules.toml").write_text("x = 1\n")
    with pytest.raises(RuleFileError, match=r"rules.toml: is a file, not a rules directory"):
        load_rules(tmp_path / "rules.toml")


def _add_cue(rules_copy, body: str):
    path = rules_copy / "criteria.toml"
    path.write_text(path.read_text() + "\n[[cue]]\n" + body)


def test_case_variants_of_a_case_sensitive_cue_are_all_kept(rules_copy):
    _add_cue(rules_copy, 'id = "motive.sigint"\ncriterion = "motive"\nvalue = "espionage"\nconfidence = 0.8\n'
                         'case_sensitive = true\nterms = ["SIGINT", "Sigint", "SIGINT"]\n')
    cue = next(c for c in load_rules(rules_copy).cues if c.id == "motive.sigint")
    assert cue.terms == ("SIGINT", "Sigint")


def test_a_repeated_phrase_keeps_the_state_its_place_template_names(rules_copy):
    _add_cue(rules_copy, 'id = "state-link.spies"\ncriterion = "state_link"\nvalue = "suspected"\nconfidence = 0.8\n'
                         'terms = ["russian spies", "{place} spies"]\n')
    cue = next(c for c in load_rules(rules_copy).cues if c.id == "state-link.spies")
    assert dict(zip(cue.terms, cue.places))["russian spies"] == "Russia"
    assert cue.terms.count("russian spies") == 1


def test_a_stoplisted_alias_written_in_another_case_stays_stopped(rules_copy):
    path = rules_copy / "gazetteer.toml"
    path.write_text(path.read_text().replace('"Animal Farm", "Anonymous"', '"animal farm", "Anonymous"', 1))
    actor = next(a for a in load_rules(rules_copy).actors if "Animal Farm" in a.aliases)
    assert "AnimalFarm" not in actor.aliases and "ANIMAL FARM" in actor.aliases


def test_a_bad_byte_after_a_byte_order_mark_is_named_as_it_is(rules_copy):
    path = rules_copy / "routing.toml"
    text = path.read_text(encoding="utf-8").replace("# The routing policy", "# Die Routing-Regeln für", 1)
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("latin-1"))
    with pytest.raises(RuleFileError, match=r"not UTF-8 \(byte 0xfc on line 1\)"):
        load_rules(rules_copy)


def test_the_fingerprint_is_taken_when_the_rules_are_read(rules_copy):
    rules = load_rules(rules_copy)
    first = rules.fingerprint()
    shutil.rmtree(rules_copy)
    assert rules.fingerprint() == first


def test_the_line_named_is_where_the_problem_is_written(rules_copy):
    """An editor opens path:line at the problem: the second of two ids, the alias quoted among
    many on one entry, an entry with no name by its number, a key of a plain table."""
    def line_of_error(file: str, edit) -> tuple[int, str]:
        """The line the error names, and what is written there, after an edit (then undone)."""
        path = rules_copy / file
        original = path.read_text()
        edited = edit(original)
        path.write_text(edited)
        try:
            with pytest.raises(RuleFileError) as info:
                load_rules(rules_copy)
        finally:
            path.write_text(original)
        assert str(info.value).startswith(f"{path}:{info.value.line}, ")
        return info.value.line, edited.splitlines()[info.value.line - 1]

    line, _ = line_of_error("routing.toml", lambda text: text.replace('id = "crime"\n', 'id = "state-operation"\n'))
    assert line == (rules_copy / "routing.toml").read_text().splitlines().index('id = "crime"') + 1

    line, written = line_of_error("gazetteer.toml", lambda text: text + '\n[[actor]]\nname = "Velvet Kestrel"\n'
                                  'aliases = [\n  "UNC9999",\n  "Team",\n]\nactor_type = "criminal"\nsponsor = ""\n'
                                  'sponsorship = "none"\nmotive = "financial"\nroles = []\n')
    assert written == '  "Team",'

    line, written = line_of_error("gazetteer.toml", lambda text: text + '\n[[actor]]\naliases = ["UNC9999"]\n')
    assert written == "[[actor]]" and line == len((rules_copy / "gazetteer.toml").read_text().splitlines()) + 2
    # (the file ends in a newline: the blank line, then the new [[actor]])

    line, written = line_of_error("routing.toml", lambda text: text.replace("min_words = 3", "min_word = 3"))
    assert written == "min_word = 3"


def test_a_problem_outside_any_entry_names_no_line(rules_copy):
    (rules_copy / "processes.toml").unlink()
    with pytest.raises(RuleFileError) as info:
        load_rules(rules_copy)
    assert info.value.line is None and str(info.value).startswith(f"{rules_copy / 'processes.toml'}: ")


def test_rules_check_notes_thresholds_that_can_never_act(rules_copy):
    """A review_below or conflict_min_confidence under the confidence a route needs is valid but
    idle: `rules check` says so; the packaged thresholds give no such note."""
    from click.testing import CliRunner

    from classifier.cli import main

    runner = CliRunner()
    result = runner.invoke(main, ["rules", "check", "--rules", str(rules_copy)])
    assert result.exit_code == 0 and "note:" not in result.stderr
    path = rules_copy / "routing.toml"
    text = path.read_text()
    for old, new in (("review_below = 0.65", "review_below = 0.4"),
                     ("conflict_min_confidence = 0.6", "conflict_min_confidence = 0.3"),
                     ("agreed_crime_min_confidence = 0.0", "agreed_crime_min_confidence = 0.5")):
        assert old in text
        text = text.replace(old, new)
    path.write_text(text)
    result = runner.invoke(main, ["rules", "check", "--rules", str(rules_copy)])
    assert result.exit_code == 0
    assert ("[decision]: review_below (0.4) is below min_confidence (0.45), so it flags no routed result "
            "for low confidence") in result.stderr
    assert ("[decision]: conflict_min_confidence (0.3) is below min_confidence (0.45), so it makes no "
            "conflicting result undetermined") in result.stderr
    # Where both layers read crime, a route stands from agreed_crime_min_confidence: from 0.0 on,
    # a result at 0.4 can be routed and flagged, so review_below 0.4 acts again.
    path.write_text(text.replace("agreed_crime_min_confidence = 0.5", "agreed_crime_min_confidence = 0.0"))
    result = runner.invoke(main, ["rules", "check", "--rules", str(rules_copy)])
    assert "review_below" not in result.stderr and "conflict_min_confidence (0.3)" in result.stderr
