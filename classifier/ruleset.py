"""Load and check the rule files in rules/ (TOML, read with the standard library's tomllib).

The code interprets the files; it holds no rules of its own. Every problem is reported with the
file, its line, the rule and the key, so an analyst who edits a file knows where to look.
"""

from __future__ import annotations

import ast
import os
import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

from .matcher import normalise_phrase

ROUTES = ("cybercrime", "international-security", "intersection")
ALL_ROUTES = ROUTES + ("undetermined",)
# The reasons that rest on a State, and the one that does not (DESIGN.md's intersection row).
STATE_REASONS = (
    "state-actor-in-crime",
    "state-operation-disguised-as-crime",
    "criminal-proxy-of-state",
)
CRIME_ON_CI = "crime-on-critical-infrastructure-with-cascading-effects"
INTERSECTION_REASONS = STATE_REASONS + (CRIME_ON_CI,)
ACTOR_TYPES = ("state", "state-sponsored", "criminal", "hacktivist", "insider", "unknown")
# The actor types and State-link values that make a case one of State involvement.
STATE_ACTOR_TYPES = ("state", "state-sponsored")
# The types a gazetteer actor may have: a group named in the gazetteer is of a known type.
NAMED_ACTOR_TYPES = tuple(t for t in ACTOR_TYPES if t != "unknown")
STATE_LINKS = ("confirmed", "suspected")
SPONSORSHIP = ("confirmed", "suspected", "none", "unknown")
MOTIVES = ("financial", "espionage", "sabotage", "influence", "ideological", "unknown")
ACTOR_MOTIVES = MOTIVES[:-1]   # a gazetteer entry gives its group's main motive
CASCADING = ("yes", "no")
# "enforcement": an action of police, prosecutors or a State agency against the offenders
# (takedown, seizure, arrests, a bounty); it makes the agencies named beside it enforcers.
# "no-incident": the text says no cyber attack took place ("no cyber attack was involved"); with
# no attacker named, the classifier does not route it (RoutingPolicy.denies_incident).
SIGNALS = ("criminal-disguise", "criminal-proxy", "enforcement", "no-incident")
CRITERIA = ("actor_type", "state_sponsorship", "critical_infrastructure", "cascading_effects", "motive")

# Which values a cue may vote for, per criterion it names.
CUE_VALUES = {
    "actor_type": ACTOR_TYPES[:-1],
    "state_link": ("suspected", "none", "unknown"),
    "attribution": ("confirmed", "suspected"),
    "cascading_effects": ("yes",),
    "motive": MOTIVES[:-1],
    "signal": SIGNALS,
    # Phrases naming a victim's asset ("the website of", "... servers"): an agency named as their
    # owner is the victim, not the actor (RuleEngine._victims); staff words ("NSA contractor")
    # make the agency an insider's employer where an insider cue is near. They vote for no criterion.
    "victim_asset": ("owner-follows", "owner-precedes", "staff-of", "insider-act", "attack-object"),
    # Phrases that make an agency the source of the report ("the NSA warned", "according to the
    # FSB"), not an actor (RuleEngine._speakers), and phrases that hide such a verb where it tells
    # of the agency itself ("said it had hacked"). They vote for no criterion.
    "speaker": ("verb-follows", "source-precedes", "not-a-report"),
    # Everyday phrases that hold a cue's words without its meaning ("a private intelligence firm",
    # "state-backed media", "cyber security services"): they vote for no criterion and only hide,
    # by their `shadows`, the cues inside them.
    "phrase": ("plain",),
}
CONDITION_KEYS = {
    "state_involvement": bool, "signals": list, "actor_type": list, "motive": list,
    "critical_infrastructure": bool, "cascading_effects": bool, "actor_or_motive_known": bool,
    "sectors": list, "state_sponsorship": list,
}
ROLES = ("state-crime", "criminal-proxy", "hacktivist-front", "disguise")
# Keys of routing.toml's [decision] that may be left out, with their defaults.
# (agreed_crime_cascade_below: 0 turns combiner.agreed_crime off, as before the key existed;
# agreed_crime_min_confidence, None here, defaults to min_confidence, as before it existed.)
OPTIONAL_DECISION = {"review_state_reading": 0.5, "agreed_crime_cascade_below": 0.0,
                     "agreed_crime_min_confidence": None}
RULE_FILES = ("criteria.toml", "sectors.toml", "gazetteer.toml", "routing.toml", "processes.toml")


class RuleFileError(ValueError):
    """A rule file is missing, unreadable or does not follow its schema.

    The message reads ``path:line, cue R, key 'k': what is wrong`` (the entry named by what it is:
    ``cue``, ``sector``, ``actor``, ``rule`` or ``norm`` and its id or name, or a table such as
    ``[decision]``), with the line (also in
    ``line``, else None) of the key in the entry, or of the entry, where it can be found; an
    editor opens ``path:line`` at that line. ``repeat=True`` marks an error about an entry's
    second occurrence (a duplicate id), so the line is that of the duplicate.
    """

    def __init__(self, path: Path | str, message: str, rule: str | None = None, key: str | None = None,
                 repeat: bool = False):
        self.path, self.rule, self.key = str(path), rule, key
        self.line = _line_of(Path(path), rule, key, message, repeat) if rule else None
        where = str(path) if self.line is None else f"{path}:{self.line}"
        if rule:
            where += f", {_entry_label(Path(path).name, rule)}"
        if key:
            where += f", key {key!r}"
        super().__init__(f"{where}: {message}")


# What an entry of each rule file is, for messages: "actor Lazarus Group", "cue motive.financial".
ENTRY_KINDS = {"criteria.toml": "cue", "sectors.toml": "sector", "gazetteer.toml": "actor",
               "routing.toml": "rule", "processes.toml": "norm"}
# The plain tables of the rule files ([negation], [stoplist], ...; and processes.toml's
# [routes.cybercrime] and the like), which messages name in brackets.
TABLES = ("negation", "places", "stoplist", "decision", "topic")


def _entry_label(file_name: str, rule: str) -> str:
    """How a message names the entry at fault: "[decision]" for a table, "actor #3" as it is
    (an entry without its id, numbered), else the kind of entry the file holds and its id."""
    if rule in TABLES or file_name == "processes.toml" and rule.startswith("routes."):
        return f"[{rule}]"
    if _NUMBERED.match(rule):
        return rule
    return f"{ENTRY_KINDS.get(file_name, 'entry')} {rule}"


_QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")   # a repr() in a message
_NUMBERED = re.compile(r"(\w+) #(\d+)$")                            # "actor #3": the third [[actor]]


def _line_of(path: Path, rule: str, key: str | None, message: str, repeat: bool) -> int | None:
    """The 1-based line of ``key`` in entry ``rule`` of the TOML file ``path``, or None.

    Why text search rather than the parser: tomllib keeps no positions. An entry is found by its
    table header (``[decision]``), its ``id``/``name`` line, or, for one without either, its
    number (``actor #3``, the third ``[[actor]]``). Within the entry, the line is that of the
    phrase the message quotes (an alias, a term) if it is written there, else that of the key,
    else that of the entry. A search that misses gives None and the message goes without a line.
    """
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()   # as _read does, past a byte-order mark
    except (OSError, UnicodeDecodeError):
        return None
    is_header = [line.lstrip().startswith("[") for line in lines]
    numbered = _NUMBERED.match(rule)
    if numbered:
        array = re.compile(rf"^\s*\[\[\s*{numbered[1]}\s*\]\]")
        hits = [i for i, line in enumerate(lines) if array.match(line)][int(numbered[2]) - 1:]
    else:
        named = re.compile(rf"""^\s*(?:id|name)\s*=\s*(["']){re.escape(rule)}\1""")
        table = re.compile(rf"^\s*\[\s*{re.escape(rule)}\s*\]")
        hits = [i for i, line in enumerate(lines) if named.match(line) or table.match(line)]
    if not hits:
        return None
    found = hits[min(1, len(hits) - 1)] if repeat else hits[0]
    start = next((i for i in range(found, -1, -1) if is_header[i]), found)
    end = next((i for i in range(found + 1, len(lines)) if is_header[i]), len(lines))
    if not key:
        return found + 1
    key_pattern = re.compile(rf"""^\s*(["']?){re.escape(key.split('.')[0])}\1\s*=""")   # [places]' "North Korea" =
    key_line = next((i for i in range(start, end) if key_pattern.match(lines[i])), None)
    if key_line is None:
        return found + 1
    quoted = _QUOTED.search(message)
    if quoted:
        try:
            phrase = ast.literal_eval(quoted[0])
        except (ValueError, SyntaxError):
            phrase = None
        if isinstance(phrase, str) and phrase:
            for i in range(key_line, end):
                if f'"{phrase}"' in lines[i] or f"'{phrase}'" in lines[i]:
                    return i + 1
    return key_line + 1


@dataclass(frozen=True)
class Cue:
    """A named labelling rule: phrases that vote for one value of one criterion."""

    id: str
    criterion: str
    value: str
    confidence: float
    terms: tuple[str, ...]
    negatable: bool = True
    case_sensitive: bool = False
    shadows: tuple[str, ...] = ()
    # For terms expanded from "{place}": which State the phrase names (filled per term).
    places: tuple[str, ...] = ()


@dataclass(frozen=True)
class Actor:
    """A gazetteer entry: a named group with what is publicly known about it."""

    name: str
    aliases: tuple[str, ...]
    actor_type: str
    sponsor: str
    sponsorship: str
    motive: str
    roles: tuple[str, ...]

    # What naming the actor in a text is evidence of. A criminal group's State ties (Evil Corp's
    # leader working for the FSB, say) are facts for analysts but not read from its name: reports
    # on other crews name such groups in passing, as partners, loaders or rivals, and a passing
    # mention is no proxy case. A text that says the tie ("whose leader worked for the FSB") sets
    # the State link through the cues. See docs/error-analysis.md, item 12.
    @property
    def state_link_from_name(self) -> str:
        """The State link a mention of this actor sets: its sponsorship, "none" for a criminal group."""
        return "none" if self.actor_type == "criminal" else self.sponsorship

    @property
    def proxy_from_name(self) -> bool:
        """Whether a mention of this actor sets the criminal-proxy signal (a hacktivist front, or a
        State-backed group with a criminal-proxy role; never a criminal group by name alone)."""
        return self.actor_type != "criminal" and bool({"criminal-proxy", "hacktivist-front"} & set(self.roles))


@dataclass(frozen=True)
class RoutingRule:
    id: str
    when: dict
    route: str
    reason: str
    confidence: float
    explain: str


@dataclass(frozen=True)
class Norm:
    id: str
    summary: str
    routes: tuple[str, ...]
    when: dict


@dataclass
class RuleSet:
    """Everything in rules/, checked and ready for the rule engine and the policy."""

    directory: Path
    cues: list[Cue]
    sectors: list[Cue]
    actors: list[Actor]
    stoplist: frozenset[str]
    stop_context: frozenset[str]
    # Everyday names that hold an actor's alias ("Royal Mail", "Google Play"): the alias inside
    # one is part of that name, never an actor.
    stop_names: tuple[str, ...]
    negation_triggers: tuple[str, ...]
    # Phrases that hold a trigger but negate nothing ("no doubt", "not only").
    pseudo_triggers: tuple[str, ...]
    # Phrases that negate the cue before them ("was not behind"), unless one of post_breaks
    # lies between ("Russia said it was not behind": the accused's denial clears nobody).
    post_triggers: tuple[str, ...]
    post_breaks: tuple[str, ...]
    negation_window: int
    clause_breaks: tuple[str, ...]
    routing_rules: list[RoutingRule]
    decision: dict[str, float]
    processes: dict[str, list[str]]
    route_labels: dict[str, str]
    norms: list[Norm]
    sector_info: dict[str, dict] = field(default_factory=dict)
    # Word starts of routing.toml's [topic]: a text with none of them and no rule evidence is not
    # routed (empty: every text is).
    topic_words: tuple[str, ...] = ()

    # What the rule files said when they were read (``fingerprint``), and the sha256 of their bytes
    # as models trained before session 22 recorded it; both filled by ``load_rules``.
    parsed_sha256: str = ""
    bytes_sha256: str = ""

    # sha256 over the part of the rule files a trained model depends on (``model_fingerprint``).
    model_sha256: str = ""

    def fingerprint(self) -> str:
        """sha256 over what the rule files say: their parsed content, so that comments, layout
        and line endings leave it as it is. Computed when the files are read, so a file edited or
        removed since does not change it. Models trained in sessions 22-23 recorded it."""
        return self.parsed_sha256 or _fingerprints(self.directory)[0]

    def model_fingerprint(self) -> str:
        """sha256 over what the rule files say that a trained model depends on (``model_view``):
        recorded with a model, so that an edit of the policy processes, the norms, the
        explanations or the decision thresholds does not ask for a retraining it does not need."""
        return self.model_sha256 or _fingerprints(self.directory)[2]


# What training reads of routing.toml's [decision] (`cyberroute train` passes it to training.fit):
# the combiner learns from the rule layer's findings and routes (with their reasons and
# confidences) and from the agreed-crime reading's cascade bound, nothing else. The other
# thresholds act after the model and can be edited without retraining.
MODEL_DECISION_KEYS = ("agreed_crime_cascade_below",)


def model_view(name: str, data: dict) -> dict:
    """The part of a parsed rule file (``name``, as in RULE_FILES) that a trained model depends
    on: processes.toml not at all (processes, route labels and norms are looked up after the
    route is decided); of routing.toml, not the rules' explanations, the [decision] thresholds
    other than ``agreed_crime_cascade_below`` and not [topic]; of sectors.toml, not the sectors'
    labels and their CISA and NIS2 names. The rest is all of it."""
    if name == "processes.toml":
        return {}
    if name == "routing.toml":
        rules = [{k: v for k, v in rule.items() if k != "explain"} if isinstance(rule, dict) else rule
                 for rule in data.get("rule", [])]
        decision = data.get("decision", {})
        if isinstance(decision, dict):
            decision = {k: v for k, v in decision.items() if k in MODEL_DECISION_KEYS}
        return {**{k: v for k, v in data.items() if k not in ("rule", "decision", "topic")},
                "rule": rules, "decision": decision}
    if name == "sectors.toml":
        return {**data, "sector": [{k: v for k, v in sector.items() if k not in ("label", "cisa", "nis2")}
                                   if isinstance(sector, dict) else sector for sector in data.get("sector", [])]}
    return data


def _fingerprints(directory: Path, files: dict[str, tuple[bytes, dict]] | None = None) -> tuple[str, str, str]:
    """The sha256 of the parsed rule files, of their bytes and of their ``model_view``
    (``RuleSet.fingerprint``, ``bytes_sha256``, ``RuleSet.model_fingerprint``), from ``files``
    (name -> what ``_read`` returned) when the caller has read them already."""
    import hashlib
    import json

    parsed, raw, model = hashlib.sha256(), hashlib.sha256(), hashlib.sha256()
    for name in RULE_FILES:
        content, data = files[name] if files else _read(directory / name)
        parsed.update(name.encode())
        parsed.update(json.dumps(data, sort_keys=True, default=str).encode())
        raw.update(name.encode())
        raw.update(content)
        model.update(name.encode())
        model.update(json.dumps(model_view(name, data), sort_keys=True, default=str).encode())
    return parsed.hexdigest(), raw.hexdigest(), model.hexdigest()


def default_rules_dir() -> Path:
    """rules/ inside the installed package, or beside the package in a source checkout.

    The environment variable CYBERROUTE_RULES points to another copy (for example an analyst's
    edited rules).
    """
    override = os.environ.get("CYBERROUTE_RULES")
    if override:
        return Path(override)
    packaged = Path(__file__).resolve().parent / "rules_data"
    if (packaged / "criteria.toml").exists():
        return packaged
    return Path(__file__).resolve().parent.parent / "rules"


def _read(path: Path) -> tuple[bytes, dict]:
    """A rule file's bytes, as read, and its parsed TOML."""
    try:
        content = raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise RuleFileError(path, "file not found") from None
    except OSError as exc:
        raise RuleFileError(path, f"cannot read: {exc.strerror}") from None
    if not raw.strip():
        raise RuleFileError(path, "the file is empty")
    # An editor may save a byte-order mark; TOML has no room for one, so it is skipped (before
    # decoding, so that an error's position counts from the file's own start).
    raw = raw.removeprefix(b"\xef\xbb\xbf")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise RuleFileError(path, f"not UTF-8 (byte 0x{raw[exc.start]:02x} on line {line}); "
                                  f"save the file as UTF-8") from None
    try:
        return content, tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RuleFileError(path, f"not valid TOML: {exc}{_toml_hint(str(exc), text)}") from None


# tomllib's words for the mistakes an editor of the rule files makes most, and what they mean.
_TOML_HINTS = (
    ("Cannot overwrite a value", "a key is given twice in one table (or one [[...]] entry): keep one of them"),
    ("Cannot declare", "a table header is given twice: entries of a list (cues, sectors, actors, routing "
                       "rules, norms) each start with a double-bracket header such as [[cue]] or [[actor]]"),
    ("Illegal character '\\n'", "a quoted string is not closed on this line: end it with the quote it "
                                  "opened with"),
    ("Unclosed array", "in the list that reaches this line: a comma missing between two items, a quote "
                       "missing or out of place (\"power grid\", \"power grids\"), an apostrophe inside "
                       "'...' (write \"people's\"), or a missing ]"),
    ("Unclosed inline table", "a { ... } table must close on its own line with }, its items separated by commas"),
    ("Invalid initial character for a key part", "a key is expected here: in a { ... } table, a comma after "
                                                 "the last item is not allowed (arrays allow one, tables do not)"),
)
_CURLY_QUOTES = "\u201c\u201d\u2018\u2019"


def _toml_hint(message: str, text: str) -> str:
    """What a TOML error means, for someone who edits the rules without knowing TOML, and the
    line it names (tomllib gives the position only)."""
    import re

    found = re.search(r"\(at line (\d+), column \d+\)", message)
    lines = text.splitlines()
    line = lines[int(found.group(1)) - 1].strip() if found and int(found.group(1)) <= len(lines) else ""
    hints = [hint for start, hint in _TOML_HINTS if message.startswith(start)]
    if any(ch in line for ch in _CURLY_QUOTES):
        hints.append("the line holds typographic quotes (\u201c \u201d \u2018 \u2019), as a word processor "
                     "types them; TOML reads straight quotes (\" or ') only")
    shown = f"; the line reads: {line[:120]}" if line else ""
    return (f" ({'; '.join(hints)})" if hints else "") + shown


def _need(path, table: dict, key: str, kind, rule: str | None = None):
    if key not in table:
        raise RuleFileError(path, "missing", rule, key)
    value = table[key]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise RuleFileError(path, f"must be {_KINDS[kind]}, got {value!r}", rule, key)
    return value


# What each TOML type is called in an error message, for an analyst rather than a programmer.
_KINDS = {float: "a number (without quotes)", int: "a whole number (without quotes)", str: "text in quotes",
          bool: "true or false (without quotes)", list: "a list in square brackets", dict: "a table"}


def _flag(path, table: dict, key: str, rule: str | None, default: bool) -> bool:
    """An optional true/false key; a quoted "true" is refused (``_need``), not read as false."""
    return _need(path, table, key, bool, rule) if key in table else default


def _strings(path, table: dict, key: str, rule: str | None, default=None) -> tuple[str, ...]:
    if key not in table and default is not None:
        return tuple(default)
    values = _need(path, table, key, list, rule)
    for item in values:
        if not isinstance(item, str) or not item.strip():
            raise RuleFileError(path, f"every entry must be a non-empty string, got {item!r}", rule, key)
    return tuple(values)


def _confidence(path, table, rule) -> float:
    value = _need(path, table, "confidence", float, rule)
    if not 0.0 <= value <= 1.0:
        raise RuleFileError(path, f"must lie between 0 and 1, got {value}", rule, "confidence")
    return value


def _check_unknown_keys(path, table: dict, allowed: set[str], rule: str | None):
    for key in table:
        if key not in allowed:
            raise RuleFileError(path, f"unknown key (allowed: {', '.join(sorted(allowed))})", rule, key)


def _check_conditions(path, when, rule: str, sector_ids=()):
    if not isinstance(when, dict):
        raise RuleFileError(path, "must be a table of conditions", rule, "when")
    for key, value in when.items():
        if key not in CONDITION_KEYS:
            raise RuleFileError(path, f"unknown condition (allowed: {', '.join(CONDITION_KEYS)})", rule, f"when.{key}")
        kind = CONDITION_KEYS[key]
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            raise RuleFileError(path, f"must be {_KINDS[kind]}, got {value!r}", rule, f"when.{key}")
    allowed_items = {"signals": SIGNALS, "actor_type": ACTOR_TYPES, "motive": MOTIVES,
                     "state_sponsorship": SPONSORSHIP, "sectors": tuple(sector_ids)}
    for key, allowed in allowed_items.items():
        if key in when and not when[key]:
            # A list of none of the values is met by no text: the rule would never decide.
            raise RuleFileError(path, f"lists no value, so no text meets it and the rule never decides; list "
                                      f"one or more of {', '.join(allowed)}, or remove the condition", rule, f"when.{key}")
        for item in when.get(key, []):
            if item not in allowed:
                raise RuleFileError(path, f"{item!r} is not one of {', '.join(allowed)}", rule, f"when.{key}")


def _expand_places(term: str, places: dict[str, tuple[str, ...]]) -> list[tuple[str, str]]:
    """"linked to {place}" becomes one phrase per place alias, each remembering its State."""
    if "{place}" not in term:
        return [(term, "")]
    return [(term.replace("{place}", alias), state) for state, aliases in places.items() for alias in aliases]


def _terms(path, table: dict, key: str, rule: str, places: dict | None = None, default=None,
           case_sensitive: bool = False) -> list[tuple[str, str]]:
    """The phrases of ``key`` (``{place}`` expanded when ``places`` is given), each with its State.

    A phrase is matched as whole words after folding (``matcher.fold``: lower case, hyphens and
    quotes as spaces; only the case is kept for a ``case_sensitive`` cue), so a phrase that folds
    to one listed before it in the same list would match the same words again and count twice:
    it is dropped, unless it names a State the first did not ("russian spies" before "{place}
    spies"), when it takes the first's place. Phrases without a letter or digit match nothing,
    and other placeholders than {place} are no placeholders: both are refused.
    """
    listed = _strings(path, table, key, rule, default=default)
    if not listed and default is None:
        raise RuleFileError(path, "lists no terms; remove the entry or add a term", rule, key)
    pairs, seen = [], {}   # seen: folded phrase -> its position in pairs
    for term in listed:
        if not any(ch.isalnum() for ch in term):
            raise RuleFileError(path, f"{term!r} has no letter or digit, so it can match nothing", rule, key)
        _check_one_phrase(path, term, rule, key)
        if (pattern := _PATTERN_CHARACTERS.search(term)):
            raise RuleFileError(path, f"{term!r}: {pattern[0]!r} is read as itself: terms are plain phrases matched "
                                      f"as whole words, not regular expressions, so list each spelling as its own "
                                      f"phrase", rule, key)
        placeholders = set(re.findall(r"\{[^}]*\}", term)) - {"{place}"}
        if not placeholders and ("{" in term.replace("{place}", "") or "}" in term.replace("{place}", "")):
            raise RuleFileError(path, f"{term!r} holds a brace outside {{place}}; the placeholder is written "
                                      f"{{place}}, braces and all", rule, key)
        if placeholders or (places is None and "{place}" in term):
            where = "criteria.toml" if places is None else "this file"
            raise RuleFileError(path, f"{term!r}: {', '.join(sorted(placeholders or {'{place}'}))} is no placeholder "
                                      f"here (only {{place}} is, in the cues of {where})", rule, key)
        if "{place}" in term and not any(places.values()):
            raise RuleFileError(path, f"{term!r} uses {{place}}, but [places] lists no place", rule, key)
        for phrase, state in _expand_places(term, places or {}):
            folded = " ".join(phrase.split()) if case_sensitive else normalise_phrase(phrase)
            if folded not in seen:
                seen[folded] = len(pairs)
                pairs.append((phrase, state))
            elif state and not pairs[seen[folded]][1]:
                pairs[seen[folded]] = (phrase, state)
    return pairs


# Characters of regular expressions, which a term is not ("cyber.*corps" would match only itself).
# Not checked in actor names, where "$" and brackets are spelling ("Lapsus$", "NoName057(16)").
_PATTERN_CHARACTERS = re.compile(r"[*?^$|\\()\[\]+]")


def _check_one_phrase(path, phrase: str, rule: str, key: str) -> None:
    """Refuse two phrases typed as one string: a text would have to hold both, comma and all."""
    if ", " in phrase:
        parts = ", ".join(f'"{part.strip()}"' for part in phrase.split(","))
        raise RuleFileError(path, f"{phrase!r} holds a comma and a space: each phrase is its own quoted string "
                                  f"({parts})", rule, key)


def _load_criteria(path: Path, data: dict):
    _check_unknown_keys(path, data, {"version", "negation", "places", "cue"}, None)
    negation = _need(path, data, "negation", dict)
    _check_unknown_keys(path, negation, {"triggers", "pseudo_triggers", "post_triggers", "post_breaks", "window_chars",
                                         "clause_breaks"}, "negation")
    triggers = _strings(path, negation, "triggers", "negation")
    pseudo = _strings(path, negation, "pseudo_triggers", "negation", default=())
    post = _strings(path, negation, "post_triggers", "negation", default=())
    post_breaks = _strings(path, negation, "post_breaks", "negation", default=())
    window = _need(path, negation, "window_chars", int, "negation")
    if not 0 < window <= 500:
        raise RuleFileError(path, "must lie between 1 and 500", "negation", "window_chars")
    breaks = _strings(path, negation, "clause_breaks", "negation")
    places_table = _need(path, data, "places", dict)
    places = {state: _strings(path, places_table, state, "places") for state in places_table}
    for state, aliases in places.items():
        if not state.strip() or not aliases:
            raise RuleFileError(path, "each place is a State's name with one or more of its names in texts "
                                      '(Cuba = ["cuba", "cuban", "havana"])', "places", state)
    cues, seen = [], set()
    for index, table in enumerate(_need(path, data, "cue", list)):
        rule = table.get("id") if isinstance(table, dict) else None
        rule = rule or f"cue #{index + 1}"
        if not isinstance(table, dict):
            raise RuleFileError(path, "each [[cue]] must be a table", rule)
        _check_unknown_keys(path, table, {"id", "criterion", "value", "confidence", "terms", "negatable",
                                          "case_sensitive", "shadows", "places"}, rule)
        cue_id = _need(path, table, "id", str, rule)
        if not cue_id.strip():
            raise RuleFileError(path, "is empty: a cue's id names it in results and reports", rule, "id")
        if cue_id in seen:
            raise RuleFileError(path, "duplicate id", rule, "id", repeat=True)
        seen.add(cue_id)
        criterion = _need(path, table, "criterion", str, rule)
        if criterion not in CUE_VALUES:
            raise RuleFileError(path, f"unknown criterion (allowed: {', '.join(CUE_VALUES)})", rule, "criterion")
        value = _need(path, table, "value", str, rule)
        if value not in CUE_VALUES[criterion]:
            raise RuleFileError(path, f"{value!r} is not a value of {criterion} ({', '.join(CUE_VALUES[criterion])})", rule, "value")
        shadows = _strings(path, table, "shadows", rule, default=(criterion,))
        for name in shadows:
            if name not in CUE_VALUES and name != "sector":
                raise RuleFileError(path, f"unknown criterion {name!r}", rule, "shadows")
        case_sensitive = _flag(path, table, "case_sensitive", rule, False)
        expanded = _terms(path, table, "terms", rule, _cue_places(path, table, rule, places),
                          case_sensitive=case_sensitive)
        cues.append(Cue(
            id=cue_id, criterion=criterion, value=value, confidence=_confidence(path, table, rule),
            terms=tuple(t for t, _ in expanded), places=tuple(p for _, p in expanded),
            negatable=_flag(path, table, "negatable", rule, True),
            case_sensitive=case_sensitive, shadows=tuple(shadows),
        ))
    return cues, (triggers, pseudo, post, post_breaks), window, breaks, places


def _cue_places(path, table: dict, rule: str, places: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    """The States a cue's "{place}" stands for: all of [places], or those its ``places`` key names."""
    if "places" not in table:
        return places
    named = _strings(path, table, "places", rule)
    if not named:
        raise RuleFileError(path, "names no State; leave the key out for all of [places]", rule, "places")
    unknown = [state for state in named if state not in places]
    if unknown:
        raise RuleFileError(path, f"{', '.join(map(repr, unknown))} {'is' if len(unknown) == 1 else 'are'} not "
                                  f"in [places] ({', '.join(places)})", rule, "places")
    return {state: places[state] for state in named}


def _load_sectors(path: Path, data: dict):
    _check_unknown_keys(path, data, {"version", "sector"}, None)
    sectors, info, owner = [], {}, {}
    for index, table in enumerate(_need(path, data, "sector", list)):
        rule = table.get("id", f"sector #{index + 1}") if isinstance(table, dict) else f"sector #{index + 1}"
        if not isinstance(table, dict):
            raise RuleFileError(path, "each [[sector]] must be a table", rule)
        sector_id = _need(path, table, "id", str, rule)
        if sector_id.lower() in {known.lower() for known in info}:
            raise RuleFileError(path, "duplicate id (ids are compared in any case): add the terms to the first "
                                      "[[sector]] of that id", rule, "id", repeat=True)
        _check_unknown_keys(path, table, {"id", "label", "cisa", "nis2", "confidence", "terms", "weak_terms",
                                          "negatable"}, rule)
        confidence = _confidence(path, table, rule)
        terms = tuple(t for t, _ in _terms(path, table, "terms", rule))
        if not isinstance(table.get("label", ""), str):
            raise RuleFileError(path, f"must be text in quotes, got {table['label']!r}", rule, "label")
        for key in ("cisa", "nis2"):
            _strings(path, table, key, rule, default=())   # lists of the official sector names
        info[sector_id] = {k: table.get(k) for k in ("label", "cisa", "nis2")}
        # A denial is about who did it, rarely about what was hit ("no evidence that Russia was
        # behind the attack on the hospital"), so sector terms are not negated unless the sector
        # says `negatable = true` (see the header of sectors.toml).
        negatable = _flag(path, table, "negatable", rule, False)
        sectors.append(Cue(id=f"sector.{sector_id}", criterion="sector", value=sector_id,
                           confidence=confidence, terms=terms, places=("",) * len(terms), shadows=("sector",),
                           negatable=negatable))
        weak = tuple(t for t, _ in _terms(path, table, "weak_terms", rule, default=()))
        # The header's rule: a term names one sector. Listed under two, it would mark both.
        strong = {normalise_phrase(term) for term in terms}
        for term in weak:
            if normalise_phrase(term) in strong:
                # Listed as both, the term would count twice (0.925 rather than 0.85 for a strong one alone).
                raise RuleFileError(path, f"{term!r} is in terms too; a term is strong or weak, so remove it "
                                          f"from one of the two lists", rule, "weak_terms")
        for key, listed in (("terms", terms), ("weak_terms", weak)):
            for term in listed:
                folded = normalise_phrase(term)
                if owner.get(folded, sector_id) != sector_id:
                    # Rules copied before session 22 list "hydroelectric dam" under energy and water.
                    old_copy = (" (the packaged rules keep \"hydroelectric dam\" under energy only)"
                                if folded == "hydroelectric dam" else "")
                    raise RuleFileError(path, f"{term!r} is listed under sector {owner[folded]} too; a term "
                                              f"names one sector, so remove it from one of the two{old_copy}",
                                        rule, key)
                owner[folded] = sector_id
        if weak:
            sectors.append(Cue(id=f"sector.{sector_id}.weak", criterion="sector", value=sector_id,
                               confidence=0.5, terms=weak, places=("",) * len(weak), shadows=("sector",),
                               negatable=negatable))
    return sectors, info


def _load_gazetteer(path: Path, data: dict):
    _check_unknown_keys(path, data, {"version", "stoplist", "actor"}, None)
    stop = data.get("stoplist", {})
    _check_unknown_keys(path, stop, {"aliases", "context", "names"}, "stoplist")
    stoplist = frozenset(_strings(path, stop, "aliases", "stoplist", default=()))
    context = frozenset(c.lower() for c in _strings(path, stop, "context", "stoplist", default=()))
    for word in context:
        if len(word.split()) != 1 or normalise_phrase(word) != word:
            # The context is read word by word beside the alias: a phrase would never be found.
            raise RuleFileError(path, f"{word!r} is not one word; context entries are single words "
                                      f"(\"ransomware\", \"gang\"), each its own string", "stoplist", "context")
    names = _strings(path, stop, "names", "stoplist", default=())
    stopped = {alias.lower() for alias in stoplist}   # as the rule engine reads the stoplist: in any case
    generic = _GENERIC_WORDS | context
    actors, seen = [], {}
    for index, table in enumerate(_need(path, data, "actor", list)):
        rule = table.get("name", f"actor #{index + 1}") if isinstance(table, dict) else f"actor #{index + 1}"
        if not isinstance(table, dict):
            raise RuleFileError(path, "each [[actor]] must be a table", rule)
        _check_unknown_keys(path, table, {"name", "aliases", "actor_type", "sponsor", "sponsorship", "motive",
                                          "roles"}, rule)
        name = _need(path, table, "name", str, rule)
        if normalise_phrase(name) in seen:
            raise RuleFileError(path, f"{name!r} is listed already (as {seen[normalise_phrase(name)]}); one [[actor]] "
                                      f"per group, with every alias", rule, "name", repeat=True)
        actor_type = _need(path, table, "actor_type", str, rule)
        if actor_type not in NAMED_ACTOR_TYPES:
            raise RuleFileError(path, f"{actor_type!r} is not an actor type ({', '.join(NAMED_ACTOR_TYPES)})", rule,
                                "actor_type")
        sponsorship = _need(path, table, "sponsorship", str, rule)
        if sponsorship not in ("confirmed", "suspected", "none"):
            raise RuleFileError(path, f"{sponsorship!r} is not confirmed, suspected or none", rule, "sponsorship")
        if actor_type in STATE_ACTOR_TYPES and sponsorship == "none":
            # The result would say "confirmed" for a State organ whatever this says: refuse the contradiction.
            raise RuleFileError(path, f"an actor of type {actor_type!r} is a State's: its sponsorship is confirmed "
                                      f"or suspected, not none", rule, "sponsorship")
        motive = _need(path, table, "motive", str, rule)
        if motive not in ACTOR_MOTIVES:
            raise RuleFileError(path, f"{motive!r} is not a motive ({', '.join(ACTOR_MOTIVES)}); give the "
                                      f"group's main one", rule, "motive")
        sponsor = table.get("sponsor", "")
        if not isinstance(sponsor, str):
            raise RuleFileError(path, f"must be a State's name in quotes (\"Iran\"), or \"\" for none, got "
                                      f"{sponsor!r}", rule, "sponsor")
        if actor_type in STATE_ACTOR_TYPES and not sponsor.strip():
            raise RuleFileError(path, f"an actor of type {actor_type!r} is a State's: name the State", rule, "sponsor")
        roles = _strings(path, table, "roles", rule, default=())
        for role in roles:
            if role not in ROLES:
                raise RuleFileError(path, f"{role!r} is not a role ({', '.join(ROLES)})", rule, "roles")
        aliases = (name,) + _strings(path, table, "aliases", rule, default=())
        for position, alias in enumerate(aliases):
            if len(alias.strip()) < 3:
                # Two letters match inside too many texts ("AW", "G7") to be evidence of an actor.
                raise RuleFileError(path, f"alias {alias!r} is shorter than 3 characters", rule, "aliases")
            if not any(ch.isalnum() for ch in alias):
                raise RuleFileError(path, f"alias {alias!r} has no letter or digit, so it can match nothing",
                                    rule, "aliases")
            _check_one_phrase(path, alias, rule, "aliases")
            # Folded as texts are ("UAC-0056" and "UAC 0056" are one alias), or two actors would
            # share the words and a result mix the one's sponsorship with the other's sponsor.
            key = normalise_phrase(alias)
            if key in seen and seen[key] != name:
                raise RuleFileError(path, f"alias {alias!r} also belongs to {seen[key]} (aliases are compared "
                                          f"in any case, hyphens read as spaces)", rule, "aliases")
            if position and alias.strip() == name.strip():
                raise RuleFileError(path, f"alias {alias!r} repeats the name, which is matched already", rule, "aliases")
            if key in generic and alias.lower() not in stopped:
                raise RuleFileError(path, f"alias {alias!r} is an ordinary word of incident reports: every "
                                          f"\"{alias.lower()}\" would name this actor. Drop it, or list it in "
                                          f"[stoplist].aliases too, so that it counts only in the case written "
                                          f"and beside a context word", rule, "aliases")
            seen[key] = name
        actors.append(Actor(name=name, aliases=aliases, actor_type=actor_type,
                            sponsor=sponsor, sponsorship=sponsorship, motive=motive, roles=roles))
    for alias in stoplist:
        # A stoplisted alias that no actor has stops nothing: most likely a typo, or the actor is gone.
        if normalise_phrase(alias) not in seen:
            raise RuleFileError(path, f"{alias!r} is no actor's alias, so stoplisting it changes nothing",
                                "stoplist", "aliases")
    for phrase in names:
        # A name that holds no alias shadows nothing: most likely a typo, or the actor is gone.
        if not any(normalise_phrase(word) in seen for word in _alias_candidates(phrase)):
            raise RuleFileError(path, f"{phrase!r} holds no actor's alias, so it hides nothing", "stoplist", "names")
    return [_with_spelling_variants(actor, seen, stoplist) for actor in actors], stoplist, context, names


# Words of everyday reporting that the gazetteer header forbids as aliases ("Team", "Group"),
# beside [stoplist].context, which holds the others ("gang", "crew", "hackers", "apt"...).
_GENERIC_WORDS = frozenset({"team", "teams", "group", "groups", "unit", "units", "army", "cyber", "agency",
                            "government", "state", "spies", "attackers", "operation", "campaign"})


def _alias_candidates(phrase: str) -> list[str]:
    """Every run of whole words in ``phrase`` ("Royal Mail" -> "Royal", "Royal Mail", "Mail")."""
    words = phrase.split()
    return [" ".join(words[i:j]) for i in range(len(words)) for j in range(i + 1, len(words) + 1)]


# Capitals then a number, as vendors number their clusters: "APT41", "FIN7", "TA505", "UNC2452".
_NUMBERED_NAME = re.compile(r"([A-Z]{2,})([0-9]+)")


def _with_spelling_variants(actor: "Actor", seen: dict[str, str], stoplist: frozenset[str]) -> "Actor":
    """Two spellings that reporting uses and the gazetteer need not list:

    - a name of capitalised words run together ("CozyBear", "LazarusGroup"), unless that spelling
      is listed already (for this actor or another);
    - a stoplisted name (an ordinary word, matched only in the case written) in capitals, as
      Microsoft writes its element names ("POLONIUM", "PHOSPHORUS"). It still needs a context word;
    - a vendor's capitals-and-number name ("APT41", "FIN7", "TA505") with the number apart, as
      the press writes it ("APT 41", and so "APT-41": hyphens read as spaces), unless listed already.
    """
    extra = []
    stopped = {a.lower() for a in stoplist}   # as the rule engine reads the stoplist: in any case
    for alias in actor.aliases:
        words = alias.split()
        run_together = "".join(words)
        numbered = _NUMBERED_NAME.fullmatch(alias)
        if numbered and alias.lower() not in stopped:
            apart = f"{numbered[1]} {numbered[2]}"
            if normalise_phrase(apart) not in seen:
                seen[normalise_phrase(apart)] = actor.name
                extra.append(apart)
        if alias.lower() in stopped:
            if alias != alias.upper():
                extra.append(alias.upper())
        elif (len(words) > 1 and all(w[0].isupper() or w[0].isdigit() for w in words)
                and normalise_phrase(run_together) not in seen):
            seen[normalise_phrase(run_together)] = actor.name
            extra.append(run_together)
    return replace(actor, aliases=actor.aliases + tuple(extra)) if extra else actor


def _load_routing(path: Path, data: dict, sector_ids=()):
    _check_unknown_keys(path, data, {"version", "rule", "decision", "topic"}, None)
    rules, seen = [], set()
    for index, table in enumerate(_need(path, data, "rule", list)):
        rule = table.get("id", f"rule #{index + 1}") if isinstance(table, dict) else f"rule #{index + 1}"
        if not isinstance(table, dict):
            raise RuleFileError(path, "each [[rule]] must be a table", rule)
        # An unknown key is most likely a misspelt one: a misspelt `when` would make the rule take
        # every text, and every rule after it would never be reached.
        _check_unknown_keys(path, table, {"id", "when", "route", "reason", "confidence", "explain"}, rule)
        rule_id = _need(path, table, "id", str, rule)
        if rule_id in seen:
            raise RuleFileError(path, "duplicate id", rule, "id", repeat=True)
        seen.add(rule_id)
        if "when" not in table:
            raise RuleFileError(path, "missing (a rule for every text says so: when = {})", rule, "when")
        when = table["when"]
        _check_conditions(path, when, rule, sector_ids)
        route = _need(path, table, "route", str, rule)
        if route not in ALL_ROUTES:
            raise RuleFileError(path, f"{route!r} is not a route ({', '.join(ALL_ROUTES)})", rule, "route")
        reason = table.get("reason", "")
        if route == "intersection" and reason not in INTERSECTION_REASONS:
            raise RuleFileError(path, (f"{reason!r} is not an intersection reason " if reason else
                                       "an intersection rule needs a reason ")
                                + f"({', '.join(INTERSECTION_REASONS)}; a new reason needs a change of the code "
                                  f"and a retrained model)", rule, "reason")
        if route != "intersection" and reason:
            raise RuleFileError(path, f"only an intersection rule has a reason; this one routes {route}", rule,
                                "reason")
        explain = table.get("explain")
        if not isinstance(explain, str) or not explain.strip():
            # Every result's explanation quotes it ("The rules say intersection (...)"): without it, "()".
            raise RuleFileError(path, "missing: the sentence a result's explanation quotes for this rule"
                                if explain is None else f"must be a sentence in quotes, got {explain!r}", rule, "explain")
        rules.append(RoutingRule(id=rule_id, when=when, route=route,
                                 reason=reason, confidence=_confidence(path, table, rule),
                                 explain=explain))
    if not rules or rules[-1].when:
        raise RuleFileError(path, "the last [[rule]] must have empty conditions (when = {}) so every text gets a route")
    decision = _need(path, data, "decision", dict)
    keys = ("min_confidence", "review_below", "conflict_rule_confidence", "conflict_model_probability",
            "conflict_min_confidence")
    _check_unknown_keys(path, decision, set(keys) | set(OPTIONAL_DECISION) | {"min_words"}, "decision")
    thresholds = {key: _need(path, decision, key, float, "decision") for key in keys}
    # Optional, so that copies of rules/ made before the key existed still load.
    for key, default in OPTIONAL_DECISION.items():
        thresholds[key] = _need(path, decision, key, float, "decision") if key in decision else default
    if thresholds["agreed_crime_min_confidence"] is None:
        thresholds["agreed_crime_min_confidence"] = thresholds["min_confidence"]
    for key, value in thresholds.items():
        if not 0.0 <= value <= 1.0:
            raise RuleFileError(path, f"must be a probability between 0 and 1, got {value}", "decision", key)
    # A count, not a probability; optional too (0: every text is long enough).
    min_words = decision.get("min_words", 0)
    if not isinstance(min_words, int) or isinstance(min_words, bool) or min_words < 0:
        raise RuleFileError(path, f"must be a whole number of words, 0 or more, got {min_words!r}", "decision",
                            "min_words")
    thresholds["min_words"] = min_words
    # Optional too: without [topic], every text is routed.
    topic = data.get("topic", {})
    if not isinstance(topic, dict):
        raise RuleFileError(path, "must be a table ([topic])", key="topic")
    _check_unknown_keys(path, topic, {"word_starts"}, "topic")
    word_starts = _strings(path, topic, "word_starts", "topic", default=())
    return rules, thresholds, word_starts


def decision_notes(thresholds: dict) -> list[str]:
    """Thresholds of routing.toml's [decision] that are valid but can never act, given the others.
    A result is routed only from ``min_confidence`` on (from ``agreed_crime_min_confidence`` where
    both layers read crime), so a ``review_below`` under both flags no routed result, and a
    ``conflict_min_confidence`` under ``min_confidence`` makes no conflict undetermined (the two
    layers in conflict never agree on crime)."""
    floors = {"review_below": min(thresholds["min_confidence"], thresholds["agreed_crime_min_confidence"]),
              "conflict_min_confidence": thresholds["min_confidence"]}
    acts = {"review_below": "flags no routed result for low confidence",
            "conflict_min_confidence": "makes no conflicting result undetermined"}
    notes = []
    for key, floor in floors.items():
        if thresholds[key] < floor:
            lowest = "min_confidence" if floor == thresholds["min_confidence"] else "agreed_crime_min_confidence"
            notes.append(f"{key} ({thresholds[key]}) is below {lowest} ({floor}), so it {acts[key]}: a result "
                         f"below that is undetermined already")
    return notes


def _load_processes(path: Path, data: dict, sector_ids=()):
    _check_unknown_keys(path, data, {"version", "routes", "norm"}, None)
    routes = _need(path, data, "routes", dict)
    _check_unknown_keys(path, routes, set(ALL_ROUTES), "routes")
    processes, labels = {}, {}
    for route in ALL_ROUTES:
        if route not in routes:
            raise RuleFileError(path, "missing route table", f"routes.{route}")
        _check_unknown_keys(path, routes[route], {"label", "processes"}, f"routes.{route}")
        processes[route] = list(_strings(path, routes[route], "processes", f"routes.{route}"))
        labels[route] = routes[route].get("label", route)
    norms = []
    for index, table in enumerate(data.get("norm", [])):
        rule = table.get("id", f"norm #{index + 1}") if isinstance(table, dict) else f"norm #{index + 1}"
        if not isinstance(table, dict):
            raise RuleFileError(path, "each [[norm]] must be a table", rule)
        _check_unknown_keys(path, table, {"id", "summary", "routes", "when"}, rule)
        when = table.get("when", {})
        _check_conditions(path, when, rule, sector_ids)
        norm_routes = _strings(path, table, "routes", rule)
        for route in norm_routes:
            if route not in ROUTES:
                raise RuleFileError(path, f"{route!r} is not a route ({', '.join(ROUTES)})", rule, "routes")
        norms.append(Norm(id=_need(path, table, "id", str, rule), summary=_need(path, table, "summary", str, rule),
                          routes=norm_routes, when=when))
    return processes, labels, norms


def load_rules(directory: Path | str | None = None) -> RuleSet:
    """Read and check every file in a rules directory.

    Raises
    ------
    RuleFileError
        naming the file, entry and key of the first problem found.
    """
    if directory is not None and not str(directory).strip():
        raise RuleFileError("''", "no rules directory named (an empty path); leave --rules out for the packaged rules")
    directory = Path(directory) if directory else default_rules_dir()
    if not directory.is_dir():
        raise RuleFileError(directory, "is a file, not a rules directory" if directory.exists()
                            else "rules directory not found")
    if not any((directory / name).exists() for name in RULE_FILES):
        raise RuleFileError(directory, f"is not a rules directory: it holds none of {', '.join(RULE_FILES)} "
                                       f"(copy the packaged rules/ and edit the copy)")
    files: dict[str, tuple[bytes, dict]] = {}   # each file read once, in order, for its loader and the fingerprint

    def read(name: str) -> tuple[Path, dict]:
        files[name] = _read(directory / name)
        return directory / name, files[name][1]

    cues, (triggers, pseudo, post, post_breaks), window, breaks, places = _load_criteria(*read("criteria.toml"))
    sectors, sector_info = _load_sectors(*read("sectors.toml"))
    actors, stoplist, stop_context, stop_names = _load_gazetteer(*read("gazetteer.toml"))
    # A place named as an actor's alias would make every mention of that State an actor. A
    # stoplisted alias ("Cuba", a ransomware brand) counts only in its case beside a context word.
    place_names = {normalise_phrase(alias): state for state, aliases in places.items() for alias in aliases}
    stopped = {alias.lower() for alias in stoplist}
    for actor in actors:
        for alias in actor.aliases:
            if normalise_phrase(alias) in place_names and alias.lower() not in stopped:
                state = place_names[normalise_phrase(alias)]
                raise RuleFileError(directory / "gazetteer.toml", f"{alias!r}, a name of this actor, is also a name "
                                    f"of {state} in criteria.toml's [places]: every mention of {state} would name "
                                    f"the actor. Drop one of the two, or list the alias in [stoplist].aliases, so "
                                    f"that it counts only in its case beside a context word", actor.name, "aliases")
    sector_ids = tuple(sector_info)
    routing_rules, decision, topic_words = _load_routing(*read("routing.toml"), sector_ids)
    processes, labels, norms = _load_processes(*read("processes.toml"), sector_ids)
    parsed_sha256, bytes_sha256, model_sha256 = _fingerprints(directory, files)
    return RuleSet(directory=directory, cues=cues, sectors=sectors, actors=actors, stoplist=stoplist,
                   stop_context=stop_context, stop_names=stop_names, negation_triggers=triggers, pseudo_triggers=pseudo,
                   post_triggers=post, post_breaks=post_breaks,
                   negation_window=window,
                   clause_breaks=breaks, routing_rules=routing_rules, decision=decision, topic_words=topic_words,
                   processes=processes, route_labels=labels, norms=norms, sector_info=sector_info,
                   parsed_sha256=parsed_sha256, bytes_sha256=bytes_sha256,
                   model_sha256=model_sha256)
