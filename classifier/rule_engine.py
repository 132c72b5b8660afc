"""The rule layer: a text in, the five criteria with their evidence out.

Cues, sectors and gazetteer names from rules/ are matched in one linear pass (see matcher.py).
Each match is a vote for one value of one criterion; votes for the same value combine by
noisy-or (two independent cues of 0.8 give 0.96), and the value with the highest score wins.
Negation follows NegEx: a trigger ("no", "denied", "ruled out", ...) shortly before a cue, in the
same clause, negates it. A negated State cue becomes evidence that there is no State link.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from functools import cached_property
from operator import attrgetter, itemgetter
from typing import Mapping, NamedTuple

from .criteria_table import CriteriaTable
from .matcher import Match, PhraseMatcher, PositionIndex, fold
from .ruleset import SIGNALS, STATE_ACTOR_TYPES as _STATE_ACTORS, STATE_LINKS, Actor, RuleSet

_WORD = re.compile(r"\w+")
# Confidence given to a gazetteer hit and to a value inferred from the absence of evidence.
GAZETTEER_CONFIDENCE = 0.9
GAZETTEER_MOTIVE_CONFIDENCE = 0.5
ABSENCE_CONFIDENCE = 0.5
# The rule id of a gazetteer match is this prefix and the actor's name.
GAZETTEER_RULE_PREFIX = "actor."
# The marks, in a negation payload, of a pseudo-trigger and of a post-trigger ([negation]
# pseudo_triggers, post_triggers).
PSEUDO, POST = "pseudo", "post"
# Only explicit criminal or hacktivist actors ("gang", "hacktivists", a named crew), not hints such
# as the word "ransomware" (0.5) or "arrested" and "the hacker" (0.6), make a State-linked case a
# proxy case: "the hacker group Fancy Bear" is no proxy.
PROXY_ACTOR_CONFIDENCE = 0.7
# An agency named at most this many characters before an enforcement action ("Kazakh security
# service officers arrested"), or after it behind "by", is the one that acts.
ENFORCER_GAP_CHARS = 30
# An agency named at most this many characters after a victim's asset ("the public website of
# Israel's intelligence service"), or at most VICTIM_TAIL_CHARS before one ("GCHQ's website"),
# in the same clause, is the victim.
VICTIM_GAP_CHARS = 24
VICTIM_TAIL_CHARS = 3
# An agency named at most this many characters before a reporting verb ("the NSA warned", "the
# NSA and the FBI said"), or after "according to", is the source of the report. Kept short, and
# with no comma or "by" between (SPEAKER_BLOCKERS), so that "The GRU, officials said, hacked ..."
# and "According to the FBI, the GRU hacked ..." keep the GRU (a list such as "The NSA, FBI and
# CISA said" then keeps the NSA as an actor too: the safer error).
SPEAKER_GAP_CHARS = 16
SPEAKER_BLOCKERS = (",", " by ")
# Words between an attack verb and an agency that make the agency the one who acts or orders
# ("hacked for the FSB", "an attack on behalf of the MSS": the phrase "attack on" ends before
# "behalf"), or that start another clause where the agency may be the actor ("the grid was
# attacked and the GRU claimed it"). Between an asset and an agency only " by " counts ("the
# files of a caterer for the FSB" are still the caterer's).
AGENT_WORDS = (" by ", " for ", " behalf of ", " behest of ", " request of ", " and ", " as ", " while ", " when ",
               " after ", " before ", " because ", " since ")
# A staff word after an agency ("NSA contractor") makes the agency an insider's employer when an
# insider cue lies at most this many characters before or after it, in the same clause.
INSIDER_GAP_CHARS = 80
# What an actor's name hides inside it: the words of any criterion or signal ("Tungsten Bridge", a
# DarkHotel alias, is no crypto bridge; an actor's usual motive comes from the gazetteer). Only a
# longer match shadows, so an alias spelt exactly as a cue phrase ("Smoke Screen") hides nothing.
ACTOR_NAME_SHADOWS = ("actor", "actor_type", "state_link", "attribution", "cascading_effects", "motive",
                      "signal", "sector")
# Combined State evidence below this is not enough to call a State link.
STATE_LINK_THRESHOLD = 0.5
# From this many texts on, analyse_many uses the compiled rule layer: below it, loading numba
# (about 0.4 s) costs more than it saves.
KERNEL_MIN_TEXTS = 64


# Evidence, Criterion and votes are named tuples, not dataclasses: immutable, and several times
# cheaper to create, which matters at a few dozen per description and millions of descriptions.

class Evidence(NamedTuple):
    """A span of the input text that set a criterion: ``text == input[start:end]``."""

    start: int
    end: int
    text: str
    rule: str
    negated: bool = False

    def to_dict(self) -> dict:
        """The JSON form; ``negated`` appears, as true, only on a span a negation turned around."""
        out = {"start": self.start, "end": self.end, "text": self.text, "rule": self.rule}
        if self.negated:
            out["negated"] = True
        return out


class _NoDetail(Mapping):
    """The empty, read-only detail of most criteria. Not a ``MappingProxyType``, which cannot be
    pickled, copied or sent to another process, and neither then could a Result."""

    def __getitem__(self, key):
        raise KeyError(key)

    def __iter__(self):
        return iter(())

    def __len__(self) -> int:
        return 0

    def __repr__(self) -> str:
        return "{}"


_NO_DETAIL: Mapping = _NoDetail()


# Evidence spans per criterion in a result's JSON form (Criterion.to_dict); the rest are counted.
MAX_EVIDENCE = 50


class Criterion(NamedTuple):
    """The value of one criterion, how sure the rules are, the spans that set it and, for a State
    link, the spans that spoke against it and lost (``against``)."""

    value: str | list[str]
    confidence: float
    evidence: tuple[Evidence, ...] = ()
    detail: Mapping = _NO_DETAIL
    # A State link set in spite of a denial ("Police ruled out a foreign government, but
    # researchers linked the wiper to Sandworm"): the denial lowered the confidence, and an
    # analyst weighing the link should see it. Empty for every other criterion and value.
    against: tuple[Evidence, ...] = ()

    def to_dict(self) -> dict:
        """The JSON form: at most MAX_EVIDENCE spans (the lead first), with ``evidence_total``
        added when there were more, so a pasted megabyte does not become a JSON record of tens of
        thousands of spans (a reviewer's 1.1 MB text gave 7.2 MB). ``against`` appears only when
        it holds a span, with at most MAX_EVIDENCE of them."""
        out = {"value": self.value, "confidence": round(self.confidence, 3),
               "evidence": [e.to_dict() for e in self.evidence[:MAX_EVIDENCE]]}
        if len(self.evidence) > MAX_EVIDENCE:
            out["evidence_total"] = len(self.evidence)
        if self.against:
            out["against"] = [e.to_dict() for e in self.against[:MAX_EVIDENCE]]
        out.update(self.detail)
        return out

    @classmethod
    def from_dict(cls, record: Mapping) -> "Criterion":
        """The criterion of a JSON form (``to_dict``): keys other than value, confidence,
        evidence, evidence_total and against are its detail. Spans past MAX_EVIDENCE do not come back."""
        detail = {k: v for k, v in record.items() if k not in _CRITERION_KEYS}
        evidence, against = (tuple(Evidence(int(e["start"]), int(e["end"]), str(e["text"]), str(e["rule"]),
                                            e.get("negated") is True) for e in spans)
                             for spans in (record["evidence"], record.get("against", ())))
        return cls(record["value"], float(record["confidence"]), evidence, detail or _NO_DETAIL, against)


# The keys of Criterion.to_dict that are not detail.
_CRITERION_KEYS = ("value", "confidence", "evidence", "evidence_total", "against")


def involves_state(criteria: Mapping[str, Criterion]) -> bool:
    """State involvement as the routing policy reads it: a State or State-sponsored actor, or a
    confirmed or suspected State link."""
    return criteria["actor_type"].value in _STATE_ACTORS or criteria["state_sponsorship"].value in STATE_LINKS


@dataclass(frozen=True)
class Analysis:
    """What the rule layer found in one text."""

    criteria: dict[str, Criterion]
    signals: dict[str, Criterion]
    hits: tuple[Evidence, ...]   # every cue that fired, negated or not (for `rules check`)

    @cached_property
    def state_involvement(self) -> bool:
        return involves_state(self.criteria)

    @property
    def motive_presumed(self) -> bool:
        """True when the motive comes only from the gazetteer (the named actor's usual motive), not
        from the text: it fills the criterion, but the routing policy does not act on it."""
        motive = self.criteria["motive"]
        return bool(motive.evidence) and all(e.rule.startswith(GAZETTEER_RULE_PREFIX) for e in motive.evidence)

    @property
    def stated_motive(self) -> str:
        """The motive the text itself gives ("unknown" when it is only presumed from the actor)."""
        return "unknown" if self.motive_presumed else self.criteria["motive"].value


def with_denials(sponsorship: Criterion, hits, denies_state_link: Mapping[str, bool]) -> Criterion:
    """``sponsorship`` with the spans of ``hits`` that deny a State link as its ``against``, when
    it is a State link set in spite of them. ``denies_state_link`` is the engine's map of rule id
    to what a hit says against a State link (``RuleEngine.denies_state_link``); the compiled
    kernel calls this too."""
    if sponsorship.value not in STATE_LINKS:
        return sponsorship
    against = tuple(e for e in hits if denies_state_link.get(e.rule) == e.negated)
    return sponsorship._replace(against=against) if against else sponsorship


def noisy_or(confidences) -> float:
    remaining = 1.0
    for c in confidences:
        remaining *= 1.0 - c
    return 1.0 - remaining


class _Vote(NamedTuple):
    value: str
    confidence: float
    evidence: Evidence
    place: str = ""


class RuleEngine:
    """Find the criteria of the routing policy (actor, State sponsorship, sectors, cascade, motive) in a text.

    Parameters
    ----------
    rules : RuleSet
        The checked content of rules/ (see ``ruleset.load_rules``).
    """

    def __init__(self, rules: RuleSet):
        self.rules = rules
        # What stops a post-trigger from negating the cue before it (the compiled kernel reads it too).
        self.post_trigger_breaks = rules.clause_breaks + rules.post_breaks
        # Each phrase carries (kind, item, extra, rule id): extra is the place a cue names, or
        # whether an actor alias is on the stop list.
        entries = []
        for cue in list(rules.cues) + list(rules.sectors):
            for term, place in zip(cue.terms, cue.places):
                entries.append((term, ("cue", cue, place, cue.id), cue.case_sensitive))
        stoplist = {alias.lower() for alias in rules.stoplist}
        for actor in rules.actors:
            for alias in actor.aliases:
                stopped = alias.lower() in stoplist
                entries.append((alias, ("actor", actor, stopped, GAZETTEER_RULE_PREFIX + actor.name), stopped))
        for phrase in rules.stop_names:
            entries.append((phrase, ("name", phrase, "", ""), False))
        for trigger in rules.negation_triggers:
            entries.append((trigger, ("negation", trigger, "", ""), False))
        for phrase in rules.pseudo_triggers:
            entries.append((phrase, ("negation", phrase, PSEUDO, ""), False))
        for phrase in rules.post_triggers:
            entries.append((phrase, ("negation", phrase, POST, ""), False))
        self.matcher = PhraseMatcher(entries)
        self._compiled = False   # not built yet; see compiled()
        # What a hit of a rule says against a State link, by rule id: True, when negated (a State
        # cue or a State's group denied: "not linked to Moscow", "Sandworm was not behind it");
        # False, as written (a cue that denies: "ruled out a foreign government"). The votes of
        # no State link (``analyse``) and the spans shown against one (``with_denials``) both read it.
        self.denies_state_link: dict[str, bool] = {}
        for cue in rules.cues:
            if cue.criterion == "state_link" and cue.value == "none":
                self.denies_state_link[cue.id] = False
            elif cue.negatable and (cue.criterion == "state_link" and cue.value == "suspected"
                                    or cue.criterion == "actor_type" and cue.value in _STATE_ACTORS):
                self.denies_state_link[cue.id] = True
        for actor in rules.actors:
            if actor.actor_type in _STATE_ACTORS or actor.state_link_from_name in STATE_LINKS:
                self.denies_state_link[GAZETTEER_RULE_PREFIX + actor.name] = True

    # -- matching ------------------------------------------------------------------------------

    def _matches(self, text: str, folded: str) -> tuple[list[Match], PositionIndex, PositionIndex]:
        """The cues and names that count, the ends of the live negation triggers, and the starts
        of the post-triggers."""
        cue_matches, triggers = [], []
        for match in self.matcher.matches(text, folded):
            kind, item, extra, _ = match.payload
            if kind == "negation":
                triggers.append(match)
            elif kind == "actor" and extra and not self._has_context(folded, match):
                continue  # an ordinary word ("Play", "Royal") without a context word nearby
            else:
                cue_matches.append(match)
        # An everyday name ("Royal Mail") hides the alias inside it, and then has done its work.
        cue_matches = [m for m in self._drop_shadowed(cue_matches) if m.payload[0] != "name"]
        # A trigger inside a pseudo-trigger ("no" in "no doubt") negates nothing, and one inside
        # a post-trigger ("not" in "was not behind") negates only what comes before it.
        phrases = [m for m in triggers if m.payload[2]]
        posts = PositionIndex(m.start for m in phrases if m.payload[2] == POST)
        triggers = [t for t in triggers if not t.payload[2]
                    and not any(p.start <= t.start and t.end <= p.end for p in phrases)]
        if not triggers:
            return cue_matches, PositionIndex(()), posts
        # A trigger inside a cue that already says the negative ("no evidence of State
        # involvement") is spent there: it must not also negate the words after that cue.
        spent = PositionIndex(m.start for m in cue_matches if m.payload[0] == "cue" and not m.payload[1].negatable)
        ends: dict[int, int] = {}
        for m in cue_matches:
            if m.payload[0] == "cue" and not m.payload[1].negatable:
                ends[m.start] = max(ends.get(m.start, 0), m.end)
        live = []
        for trigger in triggers:
            start = spent.last_at_or_before(trigger.start)
            if start is None or ends[start] < trigger.end:
                live.append(trigger.end)
        return cue_matches, PositionIndex(live), posts

    def _has_context(self, folded: str, match: Match) -> bool:
        window = folded[max(0, match.start - 40):match.end + 40]
        return any(word in self.rules.stop_context for word in _WORD.findall(window))

    @staticmethod
    def _criterion_of(match: Match) -> str:
        kind, item, _, _ = match.payload
        return kind if kind in ("actor", "name") else item.criterion

    def _drop_shadowed(self, matches: list[Match]) -> list[Match]:
        """A longer match hides the matches inside it that it shadows ("no evidence of State
        involvement" hides "State involvement"). Sweep by start, longest first: linear after sort."""
        # The matcher lists matches by end. Two stable sorts, by end descending and then by start,
        # order them by start, longest first, and keep the matcher's order for equal spans.
        matches.sort(key=_END, reverse=True)
        matches.sort(key=_START)
        kept, covering, reach = [], [], -1
        for match in matches:
            if match.start >= reach:  # no earlier match reaches this one: the common case
                kept.append(match)
                covering, reach = [match], match.end
                continue
            covering = [c for c in covering if c.end > match.start]
            if any(c.end >= match.end and (c.start, c.end) != (match.start, match.end)
                   and self._criterion_of(match) in self._shadows(c) for c in covering):
                continue
            kept.append(match)
            covering.append(match)
            reach = max(reach, match.end)
        return kept

    def _shadows(self, match: Match) -> tuple[str, ...]:
        kind, item, _, _ = match.payload
        if kind == "actor":
            return ACTOR_NAME_SHADOWS
        if kind == "name":
            return ("actor",)
        return item.shadows

    def _negated(self, folded: str, match: Match, triggers: PositionIndex, posts: PositionIndex) -> bool:
        end = triggers.last_at_or_before(match.start)
        if end is not None and match.start - end <= self.rules.negation_window:
            between = folded[end:match.start]
            if not any(brk in between for brk in self.rules.clause_breaks):
                return True
        # A post-trigger after the cue: "Russia's government was not behind the outage".
        post = next(posts.between(match.end, match.end + self.rules.negation_window), None)
        if post is None:
            return False
        between = folded[match.end:post]
        return not any(brk in between for brk in self.post_trigger_breaks)

    # -- aggregation ---------------------------------------------------------------------------

    def analyse_many(self, texts: list[str]) -> list[Analysis]:
        """``[self.analyse(t) for t in texts]``; from ``KERNEL_MIN_TEXTS`` texts on, computed by
        the compiled rule layer (rule_kernel.py), which returns the same analyses faster."""
        compiled = self.compiled() if len(texts) >= KERNEL_MIN_TEXTS else None
        if compiled is None:
            return [self.analyse(t) for t in texts]
        return compiled.analyse_many(texts)

    def analyse_table(self, texts: list[str]) -> CriteriaTable:
        """The criteria of ``texts`` as a ``CriteriaTable`` (what routing and batch rows read);
        from ``KERNEL_MIN_TEXTS`` texts on, built by the compiled rule layer without making the
        ``Analysis`` objects, which the table makes if they are asked for."""
        compiled = self.compiled() if len(texts) >= KERNEL_MIN_TEXTS else None
        if compiled is None:
            return CriteriaTable.from_analyses([self.analyse(t) for t in texts], texts)
        return compiled.table(texts)

    def compiled(self):
        """This engine's rules compiled for batches (``rule_kernel.CompiledRules``), built on first
        use; None where numba is missing or cannot compile here (the Python engine then serves)."""
        if self._compiled is False:
            try:
                from .rule_kernel import CompiledRules
                self._compiled = CompiledRules(self)
                self._compiled.analyse_many(["warm up"])   # load (or compile) the machine code now
            except ImportError:
                self._compiled = None
            except Exception as exc:   # numba installed but unable to compile here: stay correct
                warnings.warn(f"cyberroute: the compiled rule layer is unavailable ({exc}); using the Python engine")
                self._compiled = None
        return self._compiled

    def analyse(self, text: str) -> Analysis:
        """Return the criteria, signals and rule hits found in ``text``."""
        folded = fold(text)
        matches, triggers, posts = self._matches(text, folded)
        votes: dict[str, list[_Vote]] = {}
        none_votes: list[_Vote] = []
        hits = []
        actors: list[tuple[Actor, Evidence]] = []
        any_trigger = len(triggers) > 0 or len(posts) > 0
        for match in matches:
            start, end, (kind, item, extra, rule_id) = match
            # A name is negated like a cue: "found no link to the Lazarus Group", "Sandworm was not behind it".
            negatable = kind == "actor" or kind == "cue" and item.negatable
            negated = any_trigger and negatable and self._negated(folded, match, triggers, posts)
            evidence = Evidence(start, end, text[start:end], rule_id, negated)
            hits.append(evidence)
            if kind == "actor":
                actors.append((item, evidence))
                continue
            if negated:
                # "not linked to Moscow", "no evidence the group is State-backed": no State link.
                if self.denies_state_link.get(rule_id) is True:
                    none_votes.append(_Vote("none", item.confidence * 0.9, evidence))
                continue
            votes.setdefault(item.criterion, []).append(_Vote(item.value, item.confidence, evidence, extra))
        # State agencies named by cues ("security service", "FSB"), before the gazetteer's actors
        # join the votes: the ones an enforcement action may set aside.
        agency_votes = [v for v in votes.get("actor_type", []) if v.value == "state"]
        for actor, evidence in actors:
            if evidence.negated:
                # A State's group denied is evidence of no State link; any other name denied, of nothing.
                if self.denies_state_link.get(evidence.rule) is True:
                    none_votes.append(_Vote("none", GAZETTEER_CONFIDENCE * 0.9, evidence))
                continue
            votes.setdefault("actor_type", []).append(_Vote(actor.actor_type, GAZETTEER_CONFIDENCE, evidence, actor.sponsor))
            if actor.state_link_from_name in STATE_LINKS:
                votes.setdefault("state_link", []).append(
                    _Vote(actor.state_link_from_name, GAZETTEER_CONFIDENCE, evidence, actor.sponsor))
            if actor.motive != "unknown":
                votes.setdefault("motive", []).append(_Vote(actor.motive, GAZETTEER_MOTIVE_CONFIDENCE, evidence))
            if actor.proxy_from_name:
                votes.setdefault("signal", []).append(_Vote("criminal-proxy", GAZETTEER_CONFIDENCE, evidence))
        none_votes += [v for v in votes.get("state_link", []) if v.value == "none"]
        non_state = [v for v in votes.get("actor_type", []) if v.value in ("criminal", "hacktivist")
                     and v.confidence >= PROXY_ACTOR_CONFIDENCE]
        set_aside = self._enforcers(folded, votes, agency_votes, bool(non_state))
        set_aside |= self._victims(folded, votes, agency_votes)
        set_aside |= self._speakers(folded, votes, agency_votes)
        if set_aside:
            votes["actor_type"] = [v for v in votes["actor_type"] if id(v) not in set_aside]

        actor_type = self._best("actor_type", votes.get("actor_type", []))
        sponsorship = with_denials(self._sponsorship(actor_type, votes, none_votes), hits, self.denies_state_link)
        if actor_type.value == "unknown" and sponsorship.value in STATE_LINKS:
            # "Moscow-linked operators": a State link without an actor noun means a State-backed actor.
            actor_type = Criterion("state-sponsored", sponsorship.confidence * 0.8, sponsorship.evidence)
        criteria = {
            "actor_type": actor_type,
            "state_sponsorship": sponsorship,
            "critical_infrastructure": self._sectors(votes.get("sector", [])),
            "cascading_effects": self._cascade(votes.get("cascading_effects", [])),
            "motive": self._best("motive", votes.get("motive", [])),
        }
        if non_state and sponsorship.value in STATE_LINKS:
            # Hacktivists "tied to" a revolutionary-guard command, a gang "working for" a service:
            # criminal or hacktivist actors beside a State link are a proxy, whatever wins actor_type.
            strength = min(noisy_or(v.confidence for v in non_state), sponsorship.confidence) * 0.8
            votes.setdefault("signal", []).extend(_Vote("criminal-proxy", strength, v.evidence) for v in non_state)
        signals = {}
        for value in SIGNALS:
            found = [v for v in votes.get("signal", []) if v.value == value]
            if found:
                signals[value] = Criterion("yes", noisy_or(v.confidence for v in found), _evidence(found))
        return Analysis(criteria=criteria, signals=signals, hits=tuple(hits))

    def _enforcers(self, folded: str, votes: dict, agency_votes: list[_Vote], criminal_actor: bool) -> set[int]:
        """The agency votes (by id) that name who carries out an enforcement action against crime.

        "The security service arrested five members of a ransomware crew": the agency is the
        enforcer, not a State taking part in the offence, so its vote leaves the count. An agency
        is the enforcer when it is the subject of the action (it ends at most ENFORCER_GAP_CHARS
        before the action, in the same clause) or its agent ("were arrested by the SBU"). Only
        where the offence is crime (a criminal or hacktivist actor, or a financial motive) and
        nothing ties the offenders to a State (no proxy or disguise signal): agencies after the
        action ("spied for Russian intelligence"), named State-backed groups and State-link
        cues keep their weight.
        """
        actions = [v.evidence for v in votes.get("signal", []) if v.value == "enforcement"]
        if not actions or not agency_votes:
            return set()
        if {v.value for v in votes.get("signal", [])} & {"criminal-proxy", "criminal-disguise"}:
            return set()
        if not criminal_actor and not any(v.value == "financial" for v in votes.get("motive", [])):
            return set()
        # The agency is the subject (the action starts just after it) or the agent ("by" the agency).
        return self._set_aside(folded, agency_votes,
                               PositionIndex({a.start for a in actions}), ENFORCER_GAP_CHARS, 0,
                               PositionIndex({a.end for a in actions}), ENFORCER_GAP_CHARS, 1)

    def _victims(self, folded: str, votes: dict, agency_votes: list[_Vote]) -> set[int]:
        """The agency votes (by id) that name the owner of a victim's asset.

        "hacktivists flooded the web page of the CIA", "hackers copied data of the FSB", "the GCHQ
        website went down": the agency is what was hit, not who hit it, so its vote leaves the
        count. The asset comes before the agency, ending at most VICTIM_GAP_CHARS before it
        ("the web page of Britain's GCHQ"), or right after it ("GCHQ's website"), in the
        same clause and with no "by" between ("the website of the ministry was defaced by the
        GRU" keeps the GRU).
        """
        assets = votes.get("victim_asset")
        if not assets or not agency_votes:
            return set()
        precedes = {a.evidence.start for a in assets if a.value == "owner-precedes"}
        insiders = [v.evidence.start for v in votes.get("actor_type", []) if v.value == "insider"]
        insiders += [a.evidence.start for a in assets if a.value == "insider-act"]
        if insiders:
            # "An NSA contractor leaked classified files": where the clause tells of an insider or
            # an insider's act, the agency whose staff word follows it is the employer, and the victim.
            near = PositionIndex(insiders)
            precedes |= {a.evidence.start for a in assets if a.value == "staff-of" and (
                self._linked(folded, near, a.evidence.start, INSIDER_GAP_CHARS, True, 0)
                or self._linked(folded, near, a.evidence.start, INSIDER_GAP_CHARS, False, 0))}
        owned = self._set_aside(
            folded, agency_votes, PositionIndex(precedes), VICTIM_TAIL_CHARS, -1,
            PositionIndex({a.evidence.end for a in assets if a.value == "owner-follows"}), VICTIM_GAP_CHARS, -1)
        # The agency an attack was done to ("breached SyTech, an FSB contractor").
        attacked = PositionIndex({a.evidence.end for a in assets if a.value == "attack-object"})
        return owned | self._set_aside(folded, agency_votes, PositionIndex(()), 0, -1, attacked, VICTIM_GAP_CHARS, -1,
                                       AGENT_WORDS)

    def _speakers(self, folded: str, votes: dict, agency_votes: list[_Vote]) -> set[int]:
        """The agency votes (by id) that name the source of the report.

        "The NSA warned that ransomware gangs ...", "GCHQ's NCSC said ...", "according to
        Ukraine's security service": the agency tells of the incident, it does not take part in
        it, so its vote leaves the count. A reporting verb starts at most SPEAKER_GAP_CHARS after
        the agency, or "according to" ends at most that far before it, in the same clause and
        with no comma or "by" between (SPEAKER_BLOCKERS). Only verbs of speech are reporting
        verbs ("published", "announced" as often tell of the agency's own act), and phrases such
        as "said it had" (value "not-a-report") hide the verb inside them.
        """
        phrases = votes.get("speaker")
        if not phrases or not agency_votes:
            return set()
        verbs = PositionIndex({p.evidence.start for p in phrases if p.value == "verb-follows"})
        sources = PositionIndex({p.evidence.end for p in phrases if p.value == "source-precedes"})
        return self._set_aside(folded, agency_votes, verbs, SPEAKER_GAP_CHARS, -1, sources, SPEAKER_GAP_CHARS, -1,
                               SPEAKER_BLOCKERS)

    def _set_aside(self, folded: str, agency_votes: list[_Vote], after: PositionIndex, after_gap: int, after_by: int,
                   before: PositionIndex, before_gap: int, before_by: int, by_words=(" by ",)) -> set[int]:
        """The agency votes (by id) that a position of ``after`` follows within ``after_gap``
        characters of their end, or a position of ``before`` precedes within ``before_gap`` of
        their start, as ``_linked`` reads them (the kernel's ``_set_aside``)."""
        return {id(v) for v in agency_votes
                if self._linked(folded, after, v.evidence.end, after_gap, True, after_by, by_words)
                or self._linked(folded, before, v.evidence.start, before_gap, False, before_by, by_words)}

    def _linked(self, folded: str, positions: PositionIndex, anchor: int, gap: int, after: bool, by: int,
                by_words=(" by ",)) -> bool:
        """Whether one of ``positions`` lies at most ``gap`` characters after ``anchor`` (or before
        it), in the same clause, with one of ``by_words`` between them required (``by=1``),
        forbidden (-1) or either (0). Looking up the window, not every pair, keeps a text with
        thousands of agency names and actions linear (the window holds at most ``gap + 1``
        distinct positions)."""
        window = positions.between(anchor, anchor + gap) if after else positions.between(anchor - gap, anchor)
        for position in window:
            between = folded[anchor:position] if after else folded[position:anchor]
            if any(b in between for b in self.rules.clause_breaks):
                continue
            if by == 0 or (by == 1) == any(word in between for word in by_words):
                return True
        return False

    @staticmethod
    def _best(name: str, votes: list[_Vote]) -> Criterion:
        if not votes:
            return Criterion("unknown", ABSENCE_CONFIDENCE)
        by_value: dict[str, list[_Vote]] = {}
        for vote in votes:
            by_value.setdefault(vote.value, []).append(vote)
        if len(by_value) == 1:
            return Criterion(votes[0].value, noisy_or([v.confidence for v in votes]), _evidence(votes))
        scores = {value: noisy_or([v.confidence for v in vs]) for value, vs in by_value.items()}
        # Highest score wins; ties go to the value first seen in the text (deterministic).
        best = max(scores, key=lambda v: (round(scores[v], 9), -by_value[v][0].evidence.start))
        runner_up = max((s for v, s in scores.items() if v != best), default=0.0)
        # Competing evidence lowers confidence: a clear winner keeps its score.
        confidence = scores[best] * (1.0 - 0.5 * runner_up)
        return Criterion(best, confidence, _evidence(by_value[best]))

    @staticmethod
    def _sponsorship(actor_type: Criterion, votes: dict, none_votes: list[_Vote]) -> Criterion:
        state_votes = [v for v in votes.get("state_link", []) if v.value in ("suspected", "confirmed")]
        state_votes += [v for v in votes.get("actor_type", []) if v.value in _STATE_ACTORS]
        state_score = noisy_or(v.confidence for v in state_votes)
        none_score = noisy_or(v.confidence for v in none_votes)
        # The State the evidence names most strongly, picked as ``_best`` picks a criterion's value
        # (noisy-or of its votes, the earliest first vote on a tie): "APT28, a unit of Russia's
        # GRU ... Iranian groups were also seen" names Russia, not the weak nationality word
        # that happens to come first.
        placed = [vote._replace(value=vote.place) for vote in state_votes if vote.place]
        sponsor = RuleEngine._best("sponsor", placed).value if placed else ""
        detail = {"sponsor": sponsor} if sponsor else {}
        if state_votes and state_score >= max(none_score, STATE_LINK_THRESHOLD):
            attribution = votes.get("attribution", [])
            confirmed = [v for v in attribution if v.value == "confirmed"]
            hedged = [v for v in attribution if v.value == "suspected"]
            hedged += [v for v in votes.get("state_link", []) if v.value == "suspected"]
            value = "confirmed" if confirmed or not hedged else "suspected"
            evidence = _evidence(state_votes + (confirmed if confirmed else hedged), len(state_votes))
            return Criterion(value, state_score * (1.0 - 0.5 * none_score), evidence, detail)
        if none_votes:
            return Criterion("none", none_score * (1.0 - 0.5 * state_score), _evidence(none_votes))
        unattributed = [v for v in votes.get("state_link", []) if v.value == "unknown"]
        if unattributed:
            return Criterion("unknown", noisy_or(v.confidence for v in unattributed), _evidence(unattributed))
        if actor_type.value in ("criminal", "insider", "hacktivist"):
            # An ordinary criminal case with no word of a State: no State link, inferred.
            return Criterion("none", actor_type.confidence * 0.7, actor_type.evidence)
        return Criterion("unknown", ABSENCE_CONFIDENCE)

    def _sectors(self, votes: list[_Vote]) -> Criterion:
        if not votes:
            return Criterion([], ABSENCE_CONFIDENCE)
        order, scores, found = [], {}, {}
        for vote in votes:
            if vote.value not in found:
                order.append(vote.value)
            found.setdefault(vote.value, []).append(vote)
        for sector, vs in found.items():
            scores[sector] = noisy_or(v.confidence for v in vs)
        return Criterion(order, max(scores.values()), _evidence(votes),
                         {"sector_confidence": {s: round(scores[s], 3) for s in order}})

    @staticmethod
    def _cascade(votes: list[_Vote]) -> Criterion:
        if not votes:
            return Criterion("no", ABSENCE_CONFIDENCE)
        return Criterion("yes", noisy_or(v.confidence for v in votes), _evidence(votes))


_START, _END = itemgetter(0), itemgetter(1)
_VOTE_SPAN = attrgetter("evidence.start", "evidence.end")


def _evidence(votes: list[_Vote], leading: int | None = None) -> tuple[Evidence, ...]:
    """Distinct spans: the lead first, then the others in text order.

    The lead is the span of the strongest vote (ties go to the earliest span) among the first
    ``leading`` votes (all by default): the span an explanation quotes. The State link passes
    its State votes first and the attribution words after them, so that "GRU", not "charged",
    leads. Of two votes on one span, the first in text order names the rule."""
    if len(votes) == 1:
        return (votes[0].evidence,)
    seen, out = set(), []
    for vote in sorted(votes, key=_VOTE_SPAN):
        key = (vote.evidence.start, vote.evidence.end)
        if key not in seen:
            seen.add(key)
            out.append(vote.evidence)
    if len(out) > 1:
        pool = votes if leading is None else votes[:leading]
        lead = min(pool, key=lambda v: (-round(v.confidence, 9), v.evidence.start, v.evidence.end))
        at = next(i for i, e in enumerate(out) if (e.start, e.end) == (lead.evidence.start, lead.evidence.end))
        out.insert(0, out.pop(at))
    return tuple(out)
