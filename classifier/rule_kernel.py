"""The rule layer compiled with numba, for batches: the same criteria as ``RuleEngine.analyse``.

``RuleEngine.analyse`` (rule_engine.py) is the definition of the rule layer and what a single
text uses. This module computes the same ``Analysis`` for many texts at once: the phrase search
(Aho-Corasick as a table-driven automaton), whole-word and exact-case checks, gazetteer context
words, shadowing, NegEx negation, votes, noisy-or and the choice of each criterion's value run
in one compiled pass per chunk, over integer codes built from the rule files. A batch reads the
codes as a ``CriteriaTable`` (criteria_table.py: a few numpy operations per chunk); the
``Evidence`` and ``Criterion`` objects are made from them only where a full result is asked for.
On generated descriptions of 80 words on average, the compiled pass costs about 11 µs a
description and the objects about 20 µs more, against about 85 µs for the Python engine.

The pass runs in stages, one function each: find the phrases (Aho-Corasick over a full
transition table, one step per character), keep the matches that count (context words for
ordinary-word names, shadowing), find the live negation triggers, cast the votes, and choose
each criterion's value. The first run after an install compiles them (about 13 s on a 2-core
machine); numba caches the machine code on disk for later runs.

tests/test_rule_kernel.py holds the two equal (the whole ``Analysis``, floats included) on the
corpus, on dense mixes of rule phrases, triggers and odd characters, and on random text.
A change to the rule semantics must be made in both places; a change to rules/ needs nothing here.
"""

from __future__ import annotations

import numpy as np
from numba import njit, types

from .criteria_table import MOTIVE as MOTIVE_SLOT, SLOTS, CriteriaTable
from .matcher import _FOLD, fold
from .rule_engine import (
    ABSENCE_CONFIDENCE, ACTOR_NAME_SHADOWS, AGENT_WORDS, ENFORCER_GAP_CHARS, GAZETTEER_CONFIDENCE, GAZETTEER_MOTIVE_CONFIDENCE,
    GAZETTEER_RULE_PREFIX, INSIDER_GAP_CHARS, POST as POST_MARK, PROXY_ACTOR_CONFIDENCE, PSEUDO as PSEUDO_MARK,
    SPEAKER_BLOCKERS, SPEAKER_GAP_CHARS, STATE_LINK_THRESHOLD, VICTIM_GAP_CHARS, VICTIM_TAIL_CHARS, _NO_DETAIL,
    Analysis, Criterion, Evidence, with_denials,
)
from .text_model import _codes, _word_mask

# Explicit signatures for the helpers: one compilation each, where call sites with constant
# arguments would otherwise compile a variant per literal (seconds of the first run).
_INTS, _FLOATS, _INT = types.int64[::1], types.float64[::1], types.int64

# Criterion codes of a cue (the bit of a shadows mask); an actor match has its own.
CRITERION_CODES = {"actor_type": 0, "state_link": 1, "attribution": 2, "cascading_effects": 3, "motive": 4,
                   "signal": 5, "sector": 6, "actor": 7, "victim_asset": 8, "speaker": 9, "name": 10,
                   "phrase": 11}
# Columns of the payload table.
KIND, CRIT, VALUE, NEGATABLE, SHADOWS, PLACE, STOPPED, SPONSORSHIP, MOTIVE, PROXY, EXACT_LO, EXACT_HI = range(12)
# NAME: an everyday name holding an alias ("Royal Mail"); PSEUDO: a pseudo-trigger ("no doubt");
# POST: a post-trigger ("was not behind"). The triggers' kinds come last (_keep_matches).
CUE, ACTOR, NAME, NEGATION, PSEUDO, POST = 0, 1, 2, 3, 4, 5
# A text's result has the slots of criteria_table.SLOTS: the five criteria (critical_infrastructure's
# values are listed apart) and the four signals.
# Values the kernel needs to know by name: they take the first codes, in this order (other
# values, such as sector ids and motives, get codes as the rule files name them).
NAMED_VALUES = ("unknown", "none", "confirmed", "suspected", "state", "state-sponsored", "criminal",
                "hacktivist", "insider", "yes", "no", "criminal-disguise", "criminal-proxy", "enforcement",
                "financial", "owner-follows", "owner-precedes", "staff-of", "insider-act", "attack-object",
                "verb-follows", "source-precedes", "no-incident")
(V_UNKNOWN, V_NONE, V_CONFIRMED, V_SUSPECTED, V_STATE, V_SPONSORED, V_CRIMINAL, V_HACKTIVIST, V_INSIDER,
 V_YES, V_NO, V_DISGUISE, V_PROXY, V_ENFORCEMENT, V_FINANCIAL, V_OWNER_FOLLOWS,
 V_OWNER_PRECEDES, V_STAFF_OF, V_INSIDER_ACT, V_ATTACK_OBJECT, V_VERB_FOLLOWS,
 V_SOURCE_PRECEDES, V_NO_INCIDENT) = range(len(NAMED_VALUES))
SPEAKER = CRITERION_CODES["speaker"]
# The codes an agency vote gets when it leaves the actor count: as enforcer, as victim, as the
# source of the report (RuleEngine._enforcers, _victims, _speakers).
SET_ASIDE_ENFORCER, SET_ASIDE_VICTIM, SET_ASIDE_SPEAKER = -3, -4, -5
# Indices into CompiledRules.numbers.
N_SPEAKER_GAP = 6
N_SLOTS = 9   # len(criteria_table.SLOTS), as a compile-time constant
SIGNAL_VALUES = (V_DISGUISE, V_PROXY, V_ENFORCEMENT, V_NO_INCIDENT)   # the signal slots 5 to 8, in SLOTS order
assert len(SLOTS) == N_SLOTS and SLOTS[5:] == tuple(NAMED_VALUES[v] for v in SIGNAL_VALUES)
_CONTEXT_CHARS = 40   # as RuleEngine._has_context
ANY = -2   # "any value" for _pick
# Each ASCII character folded (matcher.fold), and whether the folded character is a word character.
_ASCII_FOLDED = _codes(fold("".join(chr(c) for c in range(128))))
_ASCII_FOLDED_WORD = _word_mask(_ASCII_FOLDED)
# The characters beyond ASCII that ``fold`` replaces, sorted, and what each becomes.
_BEYOND_ASCII_FOLDS = sorted((key, ord(value)) for key, value in _FOLD.items() if key >= 128)
_FOLD_FROM = np.array([key for key, _ in _BEYOND_ASCII_FOLDS], dtype=np.uint32)
_FOLD_TO = np.array([value for _, value in _BEYOND_ASCII_FOLDS], dtype=np.uint32)
UNDERSCORE = ord("_")


class CompiledRules:
    """The phrase automaton and rule tables of a ``RuleEngine`` as arrays, and the batch analysis.

    Parameters
    ----------
    engine : RuleEngine
        Its matcher's phrases and payloads and its rule set are compiled; its map of the rules that
        deny a State link is kept for the results (``with_denials``); nothing else is read.
    """

    def __init__(self, engine):
        rules = engine.rules
        self.denies_state_link = engine.denies_state_link
        self.values: list[str] = list(NAMED_VALUES)
        self.places: list[str] = [""]
        self.rule_ids: list[str] = []
        value_code, place_code = {v: i for i, v in enumerate(self.values)}, {"": 0}

        def code(table, names, name):
            if name not in table:
                table[name] = len(names)
                names.append(name)
            return table[name]

        keys, key_rows, payload_rows, confidences, exact = [], [], [], [], []
        for key, (length, starts_alnum, ends_alnum, payloads) in engine.matcher.keys.items():
            key_rows.append((length, starts_alnum, ends_alnum, len(payload_rows), len(payload_rows) + len(payloads)))
            keys.append(key)
            for phrase, (kind, item, extra, rule_id) in payloads:
                row = [0] * 12
                row[EXACT_LO] = row[EXACT_HI] = -1
                if phrase is not None:
                    row[EXACT_LO], row[EXACT_HI] = len(exact), len(exact) + len(phrase)
                    exact.extend(ord(ch) for ch in phrase)
                confidence = 0.0
                if kind == "cue":
                    row[KIND], row[CRIT] = CUE, CRITERION_CODES[item.criterion]
                    row[VALUE] = code(value_code, self.values, item.value)
                    row[NEGATABLE] = item.negatable
                    row[SHADOWS] = _mask(item.shadows)
                    row[PLACE] = code(place_code, self.places, extra)
                    confidence = item.confidence
                elif kind == "actor":
                    row[KIND], row[CRIT] = ACTOR, CRITERION_CODES["actor"]
                    row[VALUE] = code(value_code, self.values, item.actor_type)
                    row[SHADOWS] = _mask(ACTOR_NAME_SHADOWS)
                    row[PLACE] = code(place_code, self.places, item.sponsor)
                    row[STOPPED] = bool(extra)
                    row[SPONSORSHIP] = code(value_code, self.values, item.state_link_from_name)
                    row[MOTIVE] = code(value_code, self.values, item.motive)
                    row[PROXY] = item.proxy_from_name
                elif kind == "name":
                    row[KIND], row[CRIT], row[SHADOWS] = NAME, CRITERION_CODES["name"], _mask(("actor",))
                else:
                    row[KIND], row[CRIT] = {PSEUDO_MARK: PSEUDO, POST_MARK: POST}.get(extra, NEGATION), -1
                self.rule_ids.append(rule_id)
                payload_rows.append(row)
                confidences.append(confidence)
        self.key_info = np.array(key_rows, dtype=np.int64).reshape(-1, 5)
        self.gazetteer_payload = np.array([r.startswith(GAZETTEER_RULE_PREFIX) for r in self.rule_ids], dtype=bool)
        self.payloads = np.array(payload_rows, dtype=np.int64).reshape(-1, 12)
        self.confidences = np.array(confidences, dtype=np.float64)
        self.exact = np.array(exact, dtype=np.uint32)
        self.alphabet, self.delta, self.node_key, self.dict_link = _automaton(keys)
        self.context, self.context_bounds = _flatten(sorted(rules.stop_context))
        self.breaks, self.break_bounds = _flatten(rules.clause_breaks)
        self.post_breaks, self.post_break_bounds = _flatten(engine.post_trigger_breaks)
        self.numbers = np.array([rules.negation_window, _CONTEXT_CHARS, ENFORCER_GAP_CHARS, VICTIM_GAP_CHARS,
                                 VICTIM_TAIL_CHARS, INSIDER_GAP_CHARS, SPEAKER_GAP_CHARS], dtype=np.int64)
        self.by_word, self.by_bounds = _flatten([" by "])
        self.agent_words, self.agent_bounds = _flatten(AGENT_WORDS)
        self.speaker_blockers, self.speaker_bounds = _flatten(SPEAKER_BLOCKERS)
        self.weights = np.array([GAZETTEER_CONFIDENCE, GAZETTEER_MOTIVE_CONFIDENCE, ABSENCE_CONFIDENCE,
                                 PROXY_ACTOR_CONFIDENCE, STATE_LINK_THRESHOLD], dtype=np.float64)

    def analyse_many(self, texts: list[str]) -> list[Analysis]:
        """``[engine.analyse(t) for t in texts]``, computed in one compiled pass."""
        return self._analyses(texts, self._run(texts))

    def table(self, texts: list[str]) -> CriteriaTable:
        """``CriteriaTable.from_analyses(self.analyse_many(texts), texts)``, built from the codes
        without the objects; they are made only if the table's ``analyses`` are asked for."""
        found = self._run(texts)
        hit_bounds, hits, slot_values, slot_confidences, evidence_bounds, evidence, sector_bounds, sectors = found[:8]
        n_texts, n_slots = len(texts), len(SLOTS)
        # Each slot's evidence is evidence[lo:hi], as numbers of its text's hits.
        lo, hi = evidence_bounds[:-1], evidence_bounds[1:]
        text_of_slot = np.repeat(np.arange(n_texts), n_slots)
        hit_of_entry = hit_bounds[np.repeat(text_of_slot, hi - lo)] + evidence
        has_evidence = hi > lo
        first_start = first_end = np.full(n_texts * n_slots, -1, dtype=np.int64)
        motive = np.arange(n_texts) * n_slots + MOTIVE_SLOT
        motive_presumed = np.zeros(n_texts, dtype=bool)
        if len(hit_of_entry):
            first_hit = hit_of_entry[np.minimum(lo, len(hit_of_entry) - 1)]
            first_start = np.where(has_evidence, hits[first_hit, 0], -1)
            first_end = np.where(has_evidence, hits[first_hit, 1], -1)
            # A presumed motive: every span of the motive's evidence is a gazetteer match.
            outside = np.concatenate([[0], np.cumsum(~self.gazetteer_payload[hits[hit_of_entry, 2]])])
            motive_presumed = has_evidence[motive] & (outside[hi[motive]] == outside[lo[motive]])
        first_start, first_end = first_start.reshape(n_texts, n_slots), first_end.reshape(n_texts, n_slots)
        return CriteriaTable(list(texts), self.values, slot_values, slot_confidences, first_start, first_end,
                             sector_bounds, sectors, motive_presumed,
                             make_analyses=lambda: self._analyses(texts, found))

    def _run(self, texts: list[str]) -> tuple[np.ndarray, ...]:
        """The compiled pass over ``texts``: the arrays ``_analyse`` returns."""
        joined = "".join(texts)
        codes = _codes(joined)
        bounds = np.zeros(len(texts) + 1, dtype=np.int64)
        np.cumsum([len(t) for t in texts], out=bounds[1:])
        # ASCII folds a character at a time, in one compiled pass over the chunk. A text with other
        # characters is folded on its own, as the engine folds it ("Σ" lowers by context).
        folded_codes, word = _fold_ascii(codes, _ASCII_FOLDED, _ASCII_FOLDED_WORD)
        if not joined.isascii():
            _fold_beyond_ascii(texts, bounds, folded_codes, word)
        return _analyse(codes, folded_codes, word, bounds, self.alphabet, self.delta,
                        self.node_key, self.dict_link, self.key_info, self.payloads, self.confidences, self.exact,
                        self.context, self.context_bounds, self.breaks, self.break_bounds, self.post_breaks,
                        self.post_break_bounds, self.numbers, self.weights, self.by_word, self.by_bounds,
                        self.agent_words, self.agent_bounds, self.speaker_blockers, self.speaker_bounds)

    def _analyses(self, texts: list[str], found: tuple[np.ndarray, ...]) -> list[Analysis]:
        # Plain lists: indexing them costs less than indexing numpy arrays one element at a time.
        (hit_bounds, hits, slot_values, slot_confidences, evidence_bounds, evidence, sector_bounds, sectors,
         sector_scores, sponsors) = (array.tolist() for array in found)
        return [self._analysis(text, hits[hit_bounds[i]:hit_bounds[i + 1]], slot_values[i], slot_confidences[i],
                               evidence, evidence_bounds[i * len(SLOTS):(i + 1) * len(SLOTS) + 1],
                               sectors[sector_bounds[i]:sector_bounds[i + 1]],
                               sector_scores[sector_bounds[i]:sector_bounds[i + 1]], sponsors[i])
                for i, text in enumerate(texts)]

    def _analysis(self, text, hits, slot_values, confidences, evidence, evidence_bounds, sectors, sector_scores,
                  sponsor) -> Analysis:
        """One text's codes from the kernel as the engine's objects."""
        new, rule_ids, values = tuple.__new__, self.rule_ids, self.values
        # tuple.__new__ builds the named tuples without a Python-level call (see matcher.py).
        found = tuple([new(Evidence, (start, end, text[start:end], rule_ids[payload], negated == 1))
                       for start, end, payload, negated in hits])
        spans = [tuple([found[k] for k in evidence[lo:hi]]) for lo, hi in zip(evidence_bounds, evidence_bounds[1:])]
        made = [new(Criterion, (values[v], c, e, _NO_DETAIL, ())) if v >= 0 else None
                for v, c, e in zip(slot_values, confidences, spans)]
        if sponsor >= 0:   # the State-link branch, which records the sponsor it found
            made[1] = with_denials(made[1]._replace(detail={"sponsor": self.places[sponsor]} if sponsor else {}),
                                   found, self.denies_state_link)
        if sectors:
            order = [values[s] for s in sectors]
            sector = Criterion(order, confidences[2], spans[2],
                               {"sector_confidence": {s: round(x, 3) for s, x in zip(order, sector_scores)}})
        else:
            sector = new(Criterion, ([], confidences[2], (), _NO_DETAIL, ()))
        criteria = {"actor_type": made[0], "state_sponsorship": made[1], "critical_infrastructure": sector,
                    "cascading_effects": made[3], "motive": made[4]}
        signals = {name: made[slot] for slot, name in enumerate(SLOTS) if slot >= 5 and made[slot] is not None}
        return Analysis(criteria=criteria, signals=signals, hits=found)


def _fold_beyond_ascii(texts: list[str], bounds: np.ndarray, folded: np.ndarray, word: np.ndarray) -> None:
    """Fold the texts that have characters beyond ASCII into ``folded`` and ``word`` (their code
    points and word flags, at ``bounds``), as ``fold`` folds each text.

    Such a text is lowered as a whole, as the engine lowers it ("Σ" lowers by context). The texts
    are lowered together, joined by a newline, which ends a word as the end of a text does; the
    punctuation is folded on the code points, since ``str.translate`` with a table beyond ASCII
    costs a dictionary lookup per character (a tenth of the rule layer's time on a feed where one
    description in forty has a curly quote).
    """
    others = [i for i, text in enumerate(texts) if not text.isascii()]
    joined = "\n".join(texts[i] for i in others)
    lowered = joined.lower()
    if len(lowered) != len(joined):   # a character whose lower case is longer ("İ"): one by one
        for i in others:
            folded_text = _codes(fold(texts[i]))
            folded[bounds[i]:bounds[i + 1]] = folded_text
            word[bounds[i]:bounds[i + 1]] = _word_mask(folded_text)
        return
    codes, _ = _fold_ascii(_codes(lowered), _ASCII_FOLDED, _ASCII_FOLDED_WORD)
    beyond = np.flatnonzero(codes >= 128)
    at = np.minimum(np.searchsorted(_FOLD_FROM, codes[beyond]), len(_FOLD_FROM) - 1)
    replaced = _FOLD_FROM[at] == codes[beyond]
    codes[beyond[replaced]] = _FOLD_TO[at[replaced]]
    is_word = _word_mask(codes)
    lengths = bounds[1:] - bounds[:-1]
    start = 0
    for i in others:   # each text's stretch of the joined string, then its newline
        end = start + lengths[i]
        folded[bounds[i]:bounds[i + 1]] = codes[start:end]
        word[bounds[i]:bounds[i + 1]] = is_word[start:end]
        start = end + 1


def _mask(names) -> int:
    mask = 0
    for name in names:
        mask |= 1 << CRITERION_CODES[name]
    return mask


def _flatten(words) -> tuple[np.ndarray, np.ndarray]:
    """Code points of several strings end to end, and where each starts and ends."""
    bounds = np.zeros(len(words) + 1, dtype=np.int64)
    np.cumsum([len(w) for w in words], out=bounds[1:])
    return np.array([ord(ch) for w in words for ch in w], dtype=np.uint32), bounds


def _automaton(keys: list[str]):
    """An Aho-Corasick automaton over ``keys`` as a full transition table.

    Returns the alphabet (code point -> column, 0 for a character no key holds), the transition
    table (state x column -> state, complemented where the state emits a key: see the end), the
    key that ends at each state (-1 for none) and, per state,
    the nearest shorter state on its failure chain where a key ends (0 for none). Built breadth
    first, one depth at a time, with numpy.
    """
    letters = sorted({ch for key in keys for ch in key})
    alphabet = np.zeros(max((ord(ch) for ch in letters), default=0) + 1, dtype=np.int64)
    for column, ch in enumerate(letters, start=1):
        alphabet[ord(ch)] = column
    # The trie: children of each state, and each state's depth and key.
    children: list[dict[int, int]] = [{}]
    node_key = [-1]
    depth = [0]
    for index, key in enumerate(keys):
        state = 0
        for ch in key:
            column = int(alphabet[ord(ch)])
            nxt = children[state].get(column)
            if nxt is None:
                nxt = len(children)
                children[state][column] = nxt
                children.append({})
                node_key.append(-1)
                depth.append(depth[state] + 1)
            state = nxt
        node_key[state] = index
    n_states = len(children)
    delta = np.zeros((n_states, len(letters) + 1), dtype=np.int32)
    fail = np.zeros(n_states, dtype=np.int64)
    dict_link = np.zeros(n_states, dtype=np.int64)
    node_key_arr = np.array(node_key, dtype=np.int64)
    parents, columns, states = [], [], []
    for state, kids in enumerate(children):
        for column, child in kids.items():
            parents.append(state)
            columns.append(column)
            states.append(child)
    parents, columns, states = np.array(parents, dtype=np.int64), np.array(columns, dtype=np.int64), np.array(states, dtype=np.int64)
    depth_arr = np.array(depth)
    edge_depth = depth_arr[parents] if len(parents) else parents
    for d in range(int(depth_arr.max()) + 1):
        level = np.flatnonzero(depth_arr == d)
        if d > 0:
            # A state's row starts as its failure state's row (complete: it is shallower).
            delta[level] = delta[fail[level]]
        edges = np.flatnonzero(edge_depth == d)
        p, c, s = parents[edges], columns[edges], states[edges]
        if d > 0:
            fail[s] = delta[fail[p], c]
            has_key = node_key_arr[fail[s]] >= 0
            dict_link[s] = np.where(has_key, fail[s], dict_link[fail[s]])
        delta[p, c] = s
    # A transition into a state where a key ends, or whose failure chain holds one, is stored as
    # the state's bitwise complement (negative): the walk then reads the key tables only there.
    # (In place and a column at a time: the table is the largest array here, and a temporary of
    # its size would raise the peak memory of every batch.)
    emits = (node_key_arr >= 0) | (dict_link > 0)
    for column in delta.T:
        np.invert(column, out=column, where=emits[column])
    return alphabet, delta, node_key_arr, dict_link


# -- the compiled pass ---------------------------------------------------------------------------

@njit(cache=True)
def _fold_ascii(codes, folded_ascii, folded_ascii_word):
    """The folded code points of ``codes`` and whether each is a word character, for ASCII; a
    character beyond ASCII is copied as it is (its text is folded in Python)."""
    folded = np.empty(codes.shape[0], dtype=np.uint32)
    word = np.zeros(codes.shape[0], dtype=np.bool_)
    for i in range(codes.shape[0]):
        c = codes[i]
        if c < 128:
            folded[i], word[i] = folded_ascii[c], folded_ascii_word[c]
        else:
            folded[i] = c
    return folded, word


@njit(cache=True)
def _grow(array, needed):
    """``array``, or a copy at least twice as long when it holds fewer than ``needed`` items."""
    if needed <= array.shape[0]:
        return array
    bigger = np.empty(max(needed, 2 * array.shape[0]), dtype=array.dtype)
    bigger[:array.shape[0]] = array
    return bigger


@njit(cache=True)
def _grow_rows(array, needed):
    """``_grow`` for a table: more rows, the same columns."""
    if needed <= array.shape[0]:
        return array
    bigger = np.empty((max(needed, 2 * array.shape[0]), array.shape[1]), dtype=array.dtype)
    bigger[:array.shape[0]] = array
    return bigger


@njit(types.float64(_FLOATS, _INTS, _INT), cache=True)
def _noisy_or(confidences, chosen, n):
    remaining = 1.0
    for j in range(n):
        remaining *= 1.0 - confidences[chosen[j]]
    return 1.0 - remaining


@njit(_INT(_INTS, _FLOATS, _INTS, _INT, _INTS, _FLOATS), cache=True)
def _score_values(vote_value, vote_conf, chosen, n, values, scores):
    """The distinct values of the chosen votes, in order of their first vote, into ``values``, and
    the noisy-or of each value's votes into ``scores``; returns how many there are."""
    group = np.empty(n, dtype=np.int64)
    n_values = 0
    for j in range(n):
        value = vote_value[chosen[j]]
        seen = False
        for k in range(n_values):
            if values[k] == value:
                seen = True
        if seen:
            continue
        m = 0
        for q in range(j, n):   # votes before j have other values
            if vote_value[chosen[q]] == value:
                group[m] = chosen[q]
                m += 1
        values[n_values] = value
        scores[n_values] = _noisy_or(vote_conf, group, m)
        n_values += 1
    return n_values


@njit(_INT(_INTS, _FLOATS, _INTS, _INT, _INT, _INTS, _INTS, _INTS, _INT), cache=True)
def _evidence(vote_hit, vote_conf, chosen, n, n_lead, hit_start, hit_end, out, at):
    """RuleEngine's ``_evidence``: the distinct spans of the chosen votes, written to ``out[at:]``
    as hit numbers, the lead first (the span of the strongest of the first ``n_lead`` chosen
    votes, ties to the earliest span), then the others in text order (the first vote of a span
    wins); returns the new end."""
    if n == 1:
        out[at] = vote_hit[chosen[0]]
        return at + 1
    order = np.empty(n, dtype=np.int64)
    for j in range(n):   # insertion sort: stable, and n is a handful
        h = vote_hit[chosen[j]]
        k = j
        while k > 0 and (hit_start[order[k - 1]] > hit_start[h]
                         or hit_start[order[k - 1]] == hit_start[h] and hit_end[order[k - 1]] > hit_end[h]):
            order[k] = order[k - 1]
            k -= 1
        order[k] = h
    end = at
    for j in range(n):
        h = order[j]
        if end > at and hit_start[out[end - 1]] == hit_start[h] and hit_end[out[end - 1]] == hit_end[h]:
            continue
        out[end] = h
        end += 1
    if end - at > 1:
        lead = vote_hit[chosen[0]]
        lead_conf = round(vote_conf[chosen[0]], 9)
        for j in range(1, n_lead):
            h, conf = vote_hit[chosen[j]], round(vote_conf[chosen[j]], 9)
            if conf > lead_conf or conf == lead_conf and (
                    hit_start[h] < hit_start[lead] or hit_start[h] == hit_start[lead] and hit_end[h] < hit_end[lead]):
                lead, lead_conf = h, conf
        k = at
        while hit_start[out[k]] != hit_start[lead] or hit_end[out[k]] != hit_end[lead]:
            k += 1
        first = out[k]
        while k > at:
            out[k] = out[k - 1]
            k -= 1
        out[at] = first
    return end


@njit(types.Tuple((_INT, types.float64, _INT))(_INTS, _FLOATS, _INTS, _INTS, _INT, _INTS, _INTS, types.float64,
                                                _INTS, _INT), cache=True)
def _best(vote_value, vote_conf, vote_hit, chosen, n, hit_start, hit_end, absence, out, at):
    """RuleEngine's ``_best``: (value, confidence, evidence end) for the chosen votes."""
    if n == 0:
        return V_UNKNOWN, absence, at
    distinct = np.empty(n, dtype=np.int64)
    scores = np.empty(n)
    n_distinct = _score_values(vote_value, vote_conf, chosen, n, distinct, scores)
    if n_distinct == 1:
        return distinct[0], scores[0], _evidence(vote_hit, vote_conf, chosen, n, n, hit_start, hit_end, out, at)
    firsts = np.empty(n_distinct, dtype=np.int64)   # where each value's first vote starts
    for k in range(n_distinct):
        for j in range(n):
            if vote_value[chosen[j]] == distinct[k]:
                firsts[k] = hit_start[vote_hit[chosen[j]]]
                break
    best = 0
    for k in range(1, n_distinct):   # highest rounded score, then earliest in the text; first seen on a tie
        score, best_score = round(scores[k], 9), round(scores[best], 9)
        if score > best_score or score == best_score and firsts[k] < firsts[best]:
            best = k
    runner_up = 0.0
    first_other = True
    for k in range(n_distinct):
        if k != best and (first_other or scores[k] > runner_up):
            runner_up = scores[k]
            first_other = False
    group = np.empty(n, dtype=np.int64)
    m = 0
    for j in range(n):
        if vote_value[chosen[j]] == distinct[best]:
            group[m] = chosen[j]
            m += 1
    return distinct[best], scores[best] * (1.0 - 0.5 * runner_up), _evidence(vote_hit, vote_conf, group, m, m, hit_start, hit_end, out, at)


@njit(_INT(_INTS, _INTS, _INT, _INT, _INT, _INT, _INTS, _INT), cache=True)
def _pick(vote_crit, vote_value, n_votes, criterion, value, other_value, chosen, n):
    """Append to chosen[n:] the first n_votes votes that are for ``criterion`` and for ``value``
    or ``other_value`` (ANY: for any value), in vote order; return the new count."""
    for v in range(n_votes):
        if vote_crit[v] == criterion and (value == ANY or vote_value[v] == value or vote_value[v] == other_value):
            chosen[n] = v
            n += 1
    return n


@njit(_INT(_INTS, _INT, _INT), cache=True)
def _count_at_or_before(ordered, n, position):
    """How many of ordered[:n] (ascending) are <= position (bisect_right)."""
    lo, hi = 0, n
    while lo < hi:
        mid = (lo + hi) // 2
        if ordered[mid] <= position:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(_INTS(types.int64[:, ::1], _INTS, _INT), cache=True)
def _sort_by_start(raw, rows, n):
    """Positions 0..n-1 of ``rows`` ordered by start, longest first, stably (as the engine's two
    sorts). Insertion sort: matches come in end order, and a match can only be out of place
    relative to the matches inside its own span, so the work is linear in the number of matches
    for phrases of bounded length (and the rule files' phrases are short)."""
    order = np.arange(n)
    for j in range(1, n):
        moving = order[j]
        start, end = raw[rows[moving], 0], raw[rows[moving], 1]
        k = j
        while k > 0:
            before = rows[order[k - 1]]
            if raw[before, 0] > start or raw[before, 0] == start and raw[before, 1] < end:
                order[k] = order[k - 1]
                k -= 1
            else:
                break
        order[k] = moving
    return order


@njit(types.boolean(types.Array(types.uint32, 1, "C", readonly=True), _INT, types.uint32[::1], _INT, _INT),
      cache=True)
def _equal_at(codes, at, needles, a, b):
    """Whether codes[at:at + b - a] holds needles[a:b]."""
    for k in range(b - a):
        if codes[at + k] != needles[a + k]:
            return False
    return True


@njit(cache=True)
def _has_word(folded, word, lo, hi, context, context_bounds):
    """Whether a run of word characters within folded[lo:hi] is one of the context words."""
    i = lo
    while i < hi:
        if not word[i]:
            i += 1
            continue
        j = i
        while j < hi and word[j]:
            j += 1
        for w in range(context_bounds.shape[0] - 1):
            a, b = context_bounds[w], context_bounds[w + 1]
            if b - a == j - i and _equal_at(folded, i, context, a, b):
                return True
        i = j
    return False


@njit(cache=True)
def _contains(folded, lo, hi, needles, needle_bounds):
    """Whether any of the needles occurs in folded[lo:hi]."""
    for w in range(needle_bounds.shape[0] - 1):
        a, b = needle_bounds[w], needle_bounds[w + 1]
        for i in range(lo, hi - (b - a) + 1):
            if _equal_at(folded, i, needles, a, b):
                return True
    return False


@njit(cache=True)
def _find_phrases(codes, folded, word, lo, hi, alphabet, delta, node_key, dict_link, key_info, payloads, exact, raw):
    """Every whole-word phrase occurrence in folded[lo:hi] (the matcher), in order of end position:
    rows of (start, end, payload) in ``raw`` (grown when needed, and returned), and their number."""
    n_raw = 0
    state = 0
    for pos in range(lo, hi):
        c = folded[pos]
        state = delta[state, alphabet[c] if c < alphabet.shape[0] else 0]
        if state >= 0:
            continue   # no key ends here
        state = ~state
        k = state if node_key[state] >= 0 else dict_link[state]
        while k > 0:
            key = node_key[k]
            k = dict_link[k]
            start, end = pos - key_info[key, 0] + 1, pos + 1
            # Whole words: an alphanumeric phrase edge must not touch an alphanumeric character
            # (a word character other than the underscore).
            if key_info[key, 1] and start > lo and word[start - 1] and folded[start - 1] != UNDERSCORE:
                continue
            if key_info[key, 2] and end < hi and word[end] and folded[end] != UNDERSCORE:
                continue
            for p in range(key_info[key, 3], key_info[key, 4]):
                a, b = payloads[p, EXACT_LO], payloads[p, EXACT_HI]
                if a >= 0 and (b - a != end - start or not _equal_at(codes, start, exact, a, b)):
                    continue   # a case-sensitive phrase, and the text's case differs
                raw = _grow_rows(raw, n_raw + 1)
                raw[n_raw, 0], raw[n_raw, 1], raw[n_raw, 2] = start - lo, end - lo, p
                n_raw += 1
    return raw, n_raw


@njit(cache=True)
def _keep_matches(raw, n_raw, folded, word, lo, hi, payloads, context, context_bounds, context_chars):
    """The matches that count (``RuleEngine._matches`` before negation): rows of ``raw`` for the
    cues and names, by start, longest first, the shadowed ones left out; and the triggers' rows."""
    # Triggers apart; ordinary words that are also actor aliases need a context word.
    cue = np.empty(n_raw, dtype=np.int64)
    trig = np.empty(n_raw, dtype=np.int64)
    n_cue = n_trig = 0
    for r in range(n_raw):
        p = raw[r, 2]
        if payloads[p, KIND] >= NEGATION:   # a trigger, a pseudo-trigger or a post-trigger
            trig[n_trig] = r
            n_trig += 1
            continue
        if payloads[p, KIND] == ACTOR and payloads[p, STOPPED]:
            w_lo = lo + max(0, raw[r, 0] - context_chars)
            w_hi = lo + min(hi - lo, raw[r, 1] + context_chars)
            if not _has_word(folded, word, w_lo, w_hi, context, context_bounds):
                continue
        cue[n_cue] = r
        n_cue += 1
    # Shadowing: by start, longest first (stable), a longer match hides what it shadows.
    order = _sort_by_start(raw, cue, n_cue)
    kept = np.empty(n_cue, dtype=np.int64)
    covering = np.empty(n_cue, dtype=np.int64)
    n_kept = n_cov = 0
    reach = -1
    for j in range(n_cue):
        r = cue[order[j]]
        start, end, p = raw[r, 0], raw[r, 1], raw[r, 2]
        if start >= reach:
            kept[n_kept] = r
            n_kept += 1
            covering[0] = r
            n_cov = 1
            reach = end
            continue
        m = 0
        for q in range(n_cov):
            if raw[covering[q], 1] > start:
                covering[m] = covering[q]
                m += 1
        n_cov = m
        shadowed = False
        for q in range(n_cov):
            c_r = covering[q]
            if (raw[c_r, 1] >= end and (raw[c_r, 0] != start or raw[c_r, 1] != end)
                    and (payloads[raw[c_r, 2], SHADOWS] >> payloads[p, CRIT]) & 1):
                shadowed = True
                break
        if shadowed:
            continue
        kept[n_kept] = r
        n_kept += 1
        covering[n_cov] = r
        n_cov += 1
        reach = max(reach, end)
    # An everyday name ("Royal Mail") hides the alias inside it, and then has done its work.
    n_named = 0
    for j in range(n_kept):
        if payloads[raw[kept[j], 2], KIND] != NAME:
            kept[n_named] = kept[j]
            n_named += 1
    return kept[:n_named], trig[:n_trig]


@njit(cache=True)
def _live_triggers(raw, kept, trig, payloads):
    """The end positions, sorted, of the negation triggers that are live, and the start positions,
    sorted, of the post-triggers. A trigger inside a cue that already says the negative ("no
    evidence of State involvement") is spent there, and one inside a pseudo-trigger ("no doubt")
    or a post-trigger ("was not behind") is none."""
    n_kept, n_trig = kept.shape[0], trig.shape[0]
    spent_start = np.empty(n_kept, dtype=np.int64)
    spent_end = np.empty(n_kept, dtype=np.int64)
    n_spent = 0
    if n_trig:
        for j in range(n_kept):   # kept is ordered by start: equal starts are neighbours
            p = raw[kept[j], 2]
            if payloads[p, KIND] == CUE and not payloads[p, NEGATABLE]:
                if n_spent and spent_start[n_spent - 1] == raw[kept[j], 0]:
                    spent_end[n_spent - 1] = max(spent_end[n_spent - 1], raw[kept[j], 1])
                else:
                    spent_start[n_spent] = raw[kept[j], 0]
                    spent_end[n_spent] = raw[kept[j], 1]
                    n_spent += 1
    live = np.empty(n_trig, dtype=np.int64)
    n_live = 0
    for j in range(n_trig):
        r = trig[j]
        if payloads[raw[r, 2], KIND] != NEGATION:
            continue
        inside_phrase = False
        for k in range(n_trig):
            q = trig[k]
            if payloads[raw[q, 2], KIND] != NEGATION and raw[q, 0] <= raw[r, 0] and raw[r, 1] <= raw[q, 1]:
                inside_phrase = True
                break
        if inside_phrase:
            continue
        i = _count_at_or_before(spent_start, n_spent, raw[r, 0])
        if i == 0 or spent_end[i - 1] < raw[r, 1]:
            live[n_live] = raw[r, 1]
            n_live += 1
    live = live[:n_live]   # in end order already, as the matches are
    posts = np.empty(n_trig, dtype=np.int64)
    n_posts = 0
    for j in range(n_trig):
        if payloads[raw[trig[j], 2], KIND] == POST:
            posts[n_posts] = raw[trig[j], 0]
            n_posts += 1
    return live, np.sort(posts[:n_posts])


@njit(cache=True)
def _vote_positions(vote_crit, vote_value, vote_hit, positions, n_votes, criterion, value):
    """Sorted ``positions`` (hit starts or ends) of the votes for ``value`` of ``criterion``."""
    n = 0
    for v in range(n_votes):
        if vote_crit[v] == criterion and vote_value[v] == value:
            n += 1
    out = np.empty(n, dtype=np.int64)
    n = 0
    for v in range(n_votes):
        if vote_crit[v] == criterion and vote_value[v] == value:
            out[n] = positions[vote_hit[v]]
            n += 1
    return np.sort(out)


@njit(cache=True)
def _linked(folded, lo, positions, anchor, gap, after, by, breaks, break_bounds, by_word, by_bounds):
    """RuleEngine._linked: whether one of the sorted ``positions`` lies at most ``gap`` characters
    after ``anchor`` (or before it), in the same clause, with one of the ``by_word`` needles between them required
    (``by=1``), forbidden (-1) or either (0)."""
    first, last = (anchor, anchor + gap) if after else (anchor - gap, anchor)
    n = positions.shape[0]
    i = _count_at_or_before(positions, n, first - 1)
    while i < n and positions[i] <= last:
        a, b = (anchor, positions[i]) if after else (positions[i], anchor)
        i += 1
        if _contains(folded, lo + a, lo + b, breaks, break_bounds):
            continue
        if by == 0 or (by == 1) == _contains(folded, lo + a, lo + b, by_word, by_bounds):
            return True
    return False


@njit(cache=True)
def _set_aside(vote_crit, vote_value, vote_hit, hit_start, hit_end, n_cue_votes, code, after, after_gap, after_by,
               before, before_gap, before_by, links):
    """Give criterion ``code`` to the agency votes (State actor cues) that a position of ``after``
    follows within ``after_gap`` characters of their end, or a position of ``before`` precedes
    within ``before_gap`` of their start, as ``_linked`` reads them (``links``: the folded text,
    its offset, the clause breaks, and the words that between the two make the agency the agent:
    " by ", or for the object of an attack rule_engine.AGENT_WORDS)."""
    folded, lo, breaks, break_bounds, by_word, by_bounds = links
    for v in range(n_cue_votes):
        if vote_crit[v] != 0 or vote_value[v] != V_STATE:
            continue
        start, end = hit_start[vote_hit[v]], hit_end[vote_hit[v]]
        if _linked(folded, lo, after, end, after_gap, True, after_by, breaks, break_bounds, by_word, by_bounds) or \
                _linked(folded, lo, before, start, before_gap, False, before_by, breaks, break_bounds, by_word,
                        by_bounds):
            vote_crit[v] = code


@njit(cache=True)
def _cast_votes(raw, kept, live, posts, folded, lo, payloads, confidences, breaks, break_bounds, post_breaks,
                post_break_bounds, numbers, weights, by_word, by_bounds, agent_words, agent_bounds, speaker_blockers,
                speaker_bounds):
    """``RuleEngine.analyse``'s loop over the matches: whether each hit is negated, and the votes
    (criterion, value, confidence, hit, place) in the engine's order; ``none_votes`` lists the
    votes for "no State link" (negated State cues first, then cues that say so)."""
    n_kept, n_live, n_posts = kept.shape[0], live.shape[0], posts.shape[0]
    gazetteer, gazetteer_motive = weights[0], weights[1]
    window = numbers[0]
    hit_start = np.empty(n_kept, dtype=np.int64)
    hit_end = np.empty(n_kept, dtype=np.int64)
    negated_hits = np.zeros(n_kept, dtype=np.int64)
    capacity = 5 * n_kept + 1
    vote_crit = np.empty(capacity, dtype=np.int64)
    vote_value = np.empty(capacity, dtype=np.int64)
    vote_conf = np.empty(capacity)
    vote_hit = np.empty(capacity, dtype=np.int64)
    vote_place = np.empty(capacity, dtype=np.int64)
    none_votes = np.empty(capacity, dtype=np.int64)   # indices of votes with value "none"
    n_votes = n_none = 0
    actors = np.empty(n_kept, dtype=np.int64)
    n_actors = 0
    for h in range(n_kept):
        r = kept[h]
        start, end, p = raw[r, 0], raw[r, 1], raw[r, 2]
        negated = False
        if (n_live or n_posts) and (payloads[p, KIND] == CUE and payloads[p, NEGATABLE] or payloads[p, KIND] == ACTOR):
            i = _count_at_or_before(live, n_live, start)
            if i > 0 and start - live[i - 1] <= window:
                negated = not _contains(folded, lo + live[i - 1], lo + start, breaks, break_bounds)
            # A post-trigger after the cue: "Russia's government was not behind the outage".
            i = _count_at_or_before(posts, n_posts, end - 1)   # the first post-trigger at or after the end
            if not negated and i < n_posts and posts[i] - end <= window:
                negated = not _contains(folded, lo + end, lo + posts[i], post_breaks, post_break_bounds)
        hit_start[h], hit_end[h] = start, end
        if negated:
            negated_hits[h] = 1
        if payloads[p, KIND] == ACTOR:
            actors[n_actors] = h
            n_actors += 1
            continue
        crit, value = payloads[p, CRIT], payloads[p, VALUE]
        if negated:
            if crit == 1 and value == V_SUSPECTED or crit == 0 and (value == V_STATE or value == V_SPONSORED):
                vote_crit[n_votes], vote_value[n_votes], vote_conf[n_votes] = -1, V_NONE, confidences[p] * 0.9
                vote_hit[n_votes], vote_place[n_votes] = h, 0
                none_votes[n_none] = n_votes
                n_none += 1
                n_votes += 1
            continue
        vote_crit[n_votes], vote_value[n_votes], vote_conf[n_votes] = crit, value, confidences[p]
        vote_hit[n_votes], vote_place[n_votes] = h, payloads[p, PLACE]
        n_votes += 1
    n_cue_votes = n_votes
    for a in range(n_actors):
        h = actors[a]
        p = raw[kept[h], 2]
        if negated_hits[h]:
            if payloads[p, VALUE] == V_STATE or payloads[p, VALUE] == V_SPONSORED \
                    or payloads[p, SPONSORSHIP] == V_CONFIRMED or payloads[p, SPONSORSHIP] == V_SUSPECTED:
                vote_crit[n_votes], vote_value[n_votes], vote_conf[n_votes] = -1, V_NONE, gazetteer * 0.9
                vote_hit[n_votes], vote_place[n_votes] = h, 0
                none_votes[n_none] = n_votes
                n_none += 1
                n_votes += 1
            continue
        vote_crit[n_votes], vote_value[n_votes], vote_conf[n_votes] = 0, payloads[p, VALUE], gazetteer
        vote_hit[n_votes], vote_place[n_votes] = h, payloads[p, PLACE]
        n_votes += 1
        if payloads[p, SPONSORSHIP] == V_CONFIRMED or payloads[p, SPONSORSHIP] == V_SUSPECTED:
            vote_crit[n_votes], vote_value[n_votes], vote_conf[n_votes] = 1, payloads[p, SPONSORSHIP], gazetteer
            vote_hit[n_votes], vote_place[n_votes] = h, payloads[p, PLACE]
            n_votes += 1
        if payloads[p, MOTIVE] != V_UNKNOWN:
            vote_crit[n_votes], vote_value[n_votes], vote_conf[n_votes] = 4, payloads[p, MOTIVE], gazetteer_motive
            vote_hit[n_votes], vote_place[n_votes] = h, 0
            n_votes += 1
        if payloads[p, PROXY]:
            vote_crit[n_votes], vote_value[n_votes], vote_conf[n_votes] = 5, V_PROXY, gazetteer
            vote_hit[n_votes], vote_place[n_votes] = h, 0
            n_votes += 1
    # RuleEngine._enforcers: the State agencies that cues name and that carry out an enforcement
    # action against crime leave the count (criterion SET_ASIDE_ENFORCER).
    enforcement = crime = offender_state_signal = assets = insider = speaker = False
    for v in range(n_votes):
        assets |= vote_crit[v] == 8
        speaker |= vote_crit[v] == SPEAKER
        insider |= (vote_crit[v] == 0 and vote_value[v] == V_INSIDER) or \
            (vote_crit[v] == 8 and vote_value[v] == V_INSIDER_ACT)
        if vote_crit[v] == 5:
            enforcement |= vote_value[v] == V_ENFORCEMENT
            offender_state_signal |= vote_value[v] == V_PROXY or vote_value[v] == V_DISGUISE
        elif vote_crit[v] == 0 and (vote_value[v] == V_CRIMINAL or vote_value[v] == V_HACKTIVIST):
            crime |= vote_conf[v] >= weights[3]
        elif vote_crit[v] == 4:
            crime |= vote_value[v] == V_FINANCIAL
    links = (folded, lo, breaks, break_bounds, by_word, by_bounds)
    if enforcement and crime and not offender_state_signal:
        # The agency is the subject (the action starts just after it) or the agent ("by" the agency).
        action_starts = _vote_positions(vote_crit, vote_value, vote_hit, hit_start, n_votes, 5, V_ENFORCEMENT)
        action_ends = _vote_positions(vote_crit, vote_value, vote_hit, hit_end, n_votes, 5, V_ENFORCEMENT)
        _set_aside(vote_crit, vote_value, vote_hit, hit_start, hit_end, n_cue_votes, SET_ASIDE_ENFORCER,
                   action_starts, numbers[2], 0, action_ends, numbers[2], 1, links)
    # RuleEngine._victims: agencies named as the owner of a victim's asset leave the count too.
    if assets:
        asset_starts = _vote_positions(vote_crit, vote_value, vote_hit, hit_start, n_votes, 8, V_OWNER_PRECEDES)
        if insider:
            # The insider's employer (RuleEngine._victims): staff words after the agency count too,
            # where an insider cue or an insider act lies within numbers[5] characters in the same clause.
            insiders = np.sort(np.concatenate((
                _vote_positions(vote_crit, vote_value, vote_hit, hit_start, n_votes, 0, V_INSIDER),
                _vote_positions(vote_crit, vote_value, vote_hit, hit_start, n_votes, 8, V_INSIDER_ACT))))
            staff = _vote_positions(vote_crit, vote_value, vote_hit, hit_start, n_votes, 8, V_STAFF_OF)
            near = np.zeros(staff.shape[0], dtype=np.bool_)
            for k in range(staff.shape[0]):
                near[k] = _linked(folded, lo, insiders, staff[k], numbers[5], True, 0, breaks, break_bounds,
                                  by_word, by_bounds) or \
                    _linked(folded, lo, insiders, staff[k], numbers[5], False, 0, breaks, break_bounds, by_word,
                            by_bounds)
            asset_starts = np.sort(np.concatenate((asset_starts, staff[near])))
        asset_ends = _vote_positions(vote_crit, vote_value, vote_hit, hit_end, n_votes, 8, V_OWNER_FOLLOWS)
        _set_aside(vote_crit, vote_value, vote_hit, hit_start, hit_end, n_cue_votes, SET_ASIDE_VICTIM,
                   asset_starts, numbers[4], -1, asset_ends, numbers[3], -1, links)
        # The agency an attack was done to: any of the agent words between keeps it an actor.
        attack_ends = _vote_positions(vote_crit, vote_value, vote_hit, hit_end, n_votes, 8, V_ATTACK_OBJECT)
        _set_aside(vote_crit, vote_value, vote_hit, hit_start, hit_end, n_cue_votes, SET_ASIDE_VICTIM,
                   attack_ends[:0], 0, -1, attack_ends, numbers[3], -1,
                   (folded, lo, breaks, break_bounds, agent_words, agent_bounds))
    # RuleEngine._speakers: the agency that reports ("the NSA warned", "according to the FSB") leaves too.
    if speaker:
        verb_starts = _vote_positions(vote_crit, vote_value, vote_hit, hit_start, n_votes, SPEAKER, V_VERB_FOLLOWS)
        source_ends = _vote_positions(vote_crit, vote_value, vote_hit, hit_end, n_votes, SPEAKER, V_SOURCE_PRECEDES)
        _set_aside(vote_crit, vote_value, vote_hit, hit_start, hit_end, n_cue_votes, SET_ASIDE_SPEAKER,
                   verb_starts, numbers[N_SPEAKER_GAP], -1, source_ends, numbers[N_SPEAKER_GAP], -1,
                   (folded, lo, breaks, break_bounds, speaker_blockers, speaker_bounds))
    for v in range(n_votes):
        if vote_crit[v] == 1 and vote_value[v] == V_NONE:
            none_votes[n_none] = v
            n_none += 1
    return (hit_start, hit_end, negated_hits, vote_crit[:n_votes], vote_value[:n_votes], vote_conf[:n_votes],
            vote_hit[:n_votes], vote_place[:n_votes], none_votes[:n_none])


@njit(cache=True)
def _sponsor(vote_place, vote_conf, vote_hit, chosen, n_state, hit_start, hit_end):
    """RuleEngine's sponsor: the place that ``_best`` picks among the State votes that name one, as
    if it were their value (highest noisy-or, then the earliest first vote); 0 when none does."""
    placed = np.empty(n_state, dtype=np.int64)
    m = 0
    for j in range(n_state):
        if vote_place[chosen[j]] != 0:
            placed[m] = chosen[j]
            m += 1
    if m == 0:
        return 0
    spans = np.empty(m, dtype=np.int64)   # where _best writes the winner's evidence, unused here
    return _best(vote_place, vote_conf, vote_hit, placed, m, hit_start, hit_end, 0.0, spans, 0)[0]


@njit(cache=True)
def _criteria(vote_crit, vote_value, vote_conf, vote_hit, vote_place, none_votes, hit_start, hit_end, weights):
    """The criteria from the votes (``RuleEngine.analyse``, ``_best``, ``_sponsorship``,
    ``_sectors``, ``_cascade`` and the signals): per slot a value code and a confidence, its
    evidence as hit numbers in ``scratch[slot_lo[slot]:slot_hi[slot]]``; the sectors found, in
    order of first mention, with their scores; and the sponsor's place code (-1 outside the
    State-link branch)."""
    n_slots = N_SLOTS
    absence, proxy_actor, state_threshold = weights[2], weights[3], weights[4]
    n_votes, n_none, n_kept = vote_crit.shape[0], none_votes.shape[0], hit_start.shape[0]
    sectors = np.empty(n_votes, dtype=np.int64)   # distinct sectors: at most one per vote
    sector_scores = np.empty(n_votes)
    n_sectors = 0
    sponsor = -1
    scratch = np.empty(n_slots * n_votes + 8, dtype=np.int64)   # evidence per slot, end to end
    slot_lo = np.zeros(n_slots, dtype=np.int64)
    slot_hi = np.zeros(n_slots, dtype=np.int64)
    chosen = np.empty(n_votes + n_kept + 1, dtype=np.int64)
    at = 0

    n = _pick(vote_crit, vote_value, n_votes, 0, ANY, ANY, chosen, 0)
    actor_value, actor_conf, end_at = _best(vote_value, vote_conf, vote_hit, chosen, n, hit_start, hit_end,
                                            absence, scratch, at)
    slot_lo[0], slot_hi[0], at = at, end_at, end_at

    # Sponsorship.
    n = _pick(vote_crit, vote_value, n_votes, 1, V_SUSPECTED, V_CONFIRMED, chosen, 0)
    n = _pick(vote_crit, vote_value, n_votes, 0, V_STATE, V_SPONSORED, chosen, n)
    n_state = n
    state_score = _noisy_or(vote_conf, chosen, n_state)
    none_score = _noisy_or(vote_conf, none_votes, n_none)
    if n_state and state_score >= max(none_score, state_threshold):
        sponsor = _sponsor(vote_place, vote_conf, vote_hit, chosen, n_state, hit_start, hit_end)
        n_confirmed = 0
        for v in range(n_votes):
            if vote_crit[v] == 2 and vote_value[v] == V_CONFIRMED:
                n_confirmed += 1
        n_hedged = 0
        for v in range(n_votes):
            if (vote_crit[v] == 2 or vote_crit[v] == 1) and vote_value[v] == V_SUSPECTED:
                n_hedged += 1
        n = n_state
        # Python appends the hedges in the order attribution first, then state_link.
        for crit in (2, 1):
            for v in range(n_votes):
                if vote_crit[v] == crit and vote_value[v] == (V_CONFIRMED if n_confirmed else V_SUSPECTED):
                    if crit == 1 and n_confirmed:
                        continue
                    chosen[n] = v
                    n += 1
        sponsorship_value = V_CONFIRMED if n_confirmed or not n_hedged else V_SUSPECTED
        sponsorship_conf = state_score * (1.0 - 0.5 * none_score)
        end_at = _evidence(vote_hit, vote_conf, chosen, n, n_state, hit_start, hit_end, scratch, at)
    elif n_none:
        sponsorship_value, sponsorship_conf = V_NONE, none_score * (1.0 - 0.5 * state_score)
        end_at = _evidence(vote_hit, vote_conf, none_votes, n_none, n_none, hit_start, hit_end, scratch, at)
    else:
        n = _pick(vote_crit, vote_value, n_votes, 1, V_UNKNOWN, V_UNKNOWN, chosen, 0)
        if n:
            sponsorship_value, sponsorship_conf = V_UNKNOWN, _noisy_or(vote_conf, chosen, n)
            end_at = _evidence(vote_hit, vote_conf, chosen, n, n, hit_start, hit_end, scratch, at)
        elif actor_value == V_CRIMINAL or actor_value == V_INSIDER or actor_value == V_HACKTIVIST:
            sponsorship_value, sponsorship_conf = V_NONE, actor_conf * 0.7
            end_at = at + slot_hi[0] - slot_lo[0]
            scratch[at:end_at] = scratch[slot_lo[0]:slot_hi[0]]
        else:
            sponsorship_value, sponsorship_conf, end_at = V_UNKNOWN, absence, at
    slot_lo[1], slot_hi[1], at = at, end_at, end_at
    state_linked = sponsorship_value == V_CONFIRMED or sponsorship_value == V_SUSPECTED
    if actor_value == V_UNKNOWN and state_linked:
        # "Moscow-linked operators": a State link without an actor noun.
        actor_value, actor_conf = V_SPONSORED, sponsorship_conf * 0.8
        slot_lo[0], slot_hi[0] = slot_lo[1], slot_hi[1]

    # Sectors, in order of first mention.
    n = _pick(vote_crit, vote_value, n_votes, 6, ANY, ANY, chosen, 0)
    sector_conf = absence
    if n:
        n_sectors = _score_values(vote_value, vote_conf, chosen, n, sectors, sector_scores)
        sector_conf = sector_scores[0]
        for s in range(1, n_sectors):
            if sector_scores[s] > sector_conf:
                sector_conf = sector_scores[s]
        end_at = _evidence(vote_hit, vote_conf, chosen, n, n, hit_start, hit_end, scratch, at)
    else:
        end_at = at
    slot_lo[2], slot_hi[2], at = at, end_at, end_at

    # Cascading effects.
    n = _pick(vote_crit, vote_value, n_votes, 3, ANY, ANY, chosen, 0)
    if n:
        cascade_value, cascade_conf = V_YES, _noisy_or(vote_conf, chosen, n)
        end_at = _evidence(vote_hit, vote_conf, chosen, n, n, hit_start, hit_end, scratch, at)
    else:
        cascade_value, cascade_conf, end_at = V_NO, absence, at
    slot_lo[3], slot_hi[3], at = at, end_at, end_at

    n = _pick(vote_crit, vote_value, n_votes, 4, ANY, ANY, chosen, 0)
    motive_value, motive_conf, end_at = _best(vote_value, vote_conf, vote_hit, chosen, n, hit_start, hit_end,
                                              absence, scratch, at)
    slot_lo[4], slot_hi[4], at = at, end_at, end_at

    # Signals; criminal or hacktivist actors beside a State link are a proxy.
    n = 0
    for v in range(n_votes):
        if vote_crit[v] == 0 and (vote_value[v] == V_CRIMINAL or vote_value[v] == V_HACKTIVIST) \
                and vote_conf[v] >= proxy_actor:
            chosen[n] = v
            n += 1
    n_non_state = n
    n_signal_votes = n_votes
    if n_non_state and state_linked:
        strength = min(_noisy_or(vote_conf, chosen, n_non_state), sponsorship_conf) * 0.8
        vote_crit = _grow(vote_crit, n_votes + n_non_state)
        vote_value = _grow(vote_value, n_votes + n_non_state)
        vote_conf = _grow(vote_conf, n_votes + n_non_state)
        vote_hit = _grow(vote_hit, n_votes + n_non_state)
        for j in range(n_non_state):
            vote_crit[n_signal_votes], vote_value[n_signal_votes] = 5, V_PROXY
            vote_conf[n_signal_votes], vote_hit[n_signal_votes] = strength, vote_hit[chosen[j]]
            n_signal_votes += 1
    chosen = _grow(chosen, n_signal_votes)
    scratch = _grow(scratch, at + len(SIGNAL_VALUES) * n_signal_votes)
    signal_values = np.full(len(SIGNAL_VALUES), -1, dtype=np.int64)
    signal_conf = np.zeros(len(SIGNAL_VALUES))
    for k in range(len(SIGNAL_VALUES)):
        slot, wanted = 5 + k, SIGNAL_VALUES[k]
        n = _pick(vote_crit, vote_value, n_signal_votes, 5, wanted, wanted, chosen, 0)
        if n:
            signal_values[k], signal_conf[k] = V_YES, _noisy_or(vote_conf, chosen, n)
            end_at = _evidence(vote_hit, vote_conf, chosen, n, n, hit_start, hit_end, scratch, at)
        else:
            end_at = at
        slot_lo[slot], slot_hi[slot], at = at, end_at, end_at

    slot_values = np.empty(N_SLOTS, dtype=np.int64)
    slot_conf = np.empty(N_SLOTS)
    slot_values[:5] = np.array([actor_value, sponsorship_value, -1, cascade_value, motive_value], dtype=np.int64)
    slot_conf[:5] = np.array([actor_conf, sponsorship_conf, sector_conf, cascade_conf, motive_conf])
    slot_values[5:], slot_conf[5:] = signal_values, signal_conf
    return slot_values, slot_conf, scratch, slot_lo, slot_hi, sectors[:n_sectors], sector_scores[:n_sectors], sponsor


@njit(cache=True)
def _analyse(codes, folded, word, bounds, alphabet, delta, node_key, dict_link, key_info, payloads, confidences,
             exact, context, context_bounds, breaks, break_bounds, post_breaks, post_break_bounds, numbers, weights,
             by_word, by_bounds, agent_words, agent_bounds, speaker_blockers, speaker_bounds):
    """The rule layer over the texts ``bounds`` delimits in ``codes`` (and their folded form):
    hits, criteria with evidence, sectors and sponsors, end to end with per-text bounds."""
    n_texts = bounds.shape[0] - 1
    n_slots = N_SLOTS
    window, context_chars = numbers[0], numbers[1]
    hit_bounds = np.zeros(n_texts + 1, dtype=np.int64)
    hits = np.empty((max(64, bounds[-1] // 4), 4), dtype=np.int64)
    slot_values = np.full((n_texts, n_slots), -1, dtype=np.int64)
    slot_conf = np.zeros((n_texts, n_slots))
    evidence_bounds = np.zeros(n_texts * n_slots + 1, dtype=np.int64)
    evidence = np.empty(max(64, bounds[-1] // 4), dtype=np.int64)
    sector_bounds = np.zeros(n_texts + 1, dtype=np.int64)
    sectors = np.empty(max(16, n_texts * 2), dtype=np.int64)
    sector_scores = np.empty(max(16, n_texts * 2))
    sponsors = np.full(n_texts, -1, dtype=np.int64)
    raw = np.empty((64, 3), dtype=np.int64)
    n_hits = n_evidence = n_sectors = 0
    for t in range(n_texts):
        lo, hi = bounds[t], bounds[t + 1]
        raw, n_raw = _find_phrases(codes, folded, word, lo, hi, alphabet, delta, node_key, dict_link, key_info,
                                   payloads, exact, raw)
        kept, trig = _keep_matches(raw, n_raw, folded, word, lo, hi, payloads, context, context_bounds, context_chars)
        live, posts = _live_triggers(raw, kept, trig, payloads)
        (hit_start, hit_end, negated, vote_crit, vote_value, vote_conf, vote_hit, vote_place,
         none_votes) = _cast_votes(raw, kept, live, posts, folded, lo, payloads, confidences, breaks, break_bounds,
                                   post_breaks, post_break_bounds, numbers, weights, by_word, by_bounds, agent_words,
                                   agent_bounds, speaker_blockers, speaker_bounds)
        (values, confidences_out, scratch, slot_lo, slot_hi, text_sectors, text_scores,
         sponsor) = _criteria(vote_crit, vote_value, vote_conf, vote_hit, vote_place, none_votes, hit_start, hit_end,
                              weights)
        n_kept = kept.shape[0]
        hits = _grow_rows(hits, n_hits + n_kept)
        for h in range(n_kept):
            hits[n_hits + h, 0], hits[n_hits + h, 1] = hit_start[h], hit_end[h]
            hits[n_hits + h, 2], hits[n_hits + h, 3] = raw[kept[h], 2], negated[h]
        n_hits += n_kept
        hit_bounds[t + 1] = n_hits
        slot_values[t], slot_conf[t] = values, confidences_out
        for slot in range(n_slots):
            width = slot_hi[slot] - slot_lo[slot]
            evidence = _grow(evidence, n_evidence + width)
            evidence[n_evidence:n_evidence + width] = scratch[slot_lo[slot]:slot_hi[slot]]
            n_evidence += width
            evidence_bounds[t * n_slots + slot + 1] = n_evidence
        n_found = text_sectors.shape[0]
        sectors = _grow(sectors, n_sectors + n_found)
        sector_scores = _grow(sector_scores, n_sectors + n_found)
        sectors[n_sectors:n_sectors + n_found] = text_sectors
        sector_scores[n_sectors:n_sectors + n_found] = text_scores
        n_sectors += n_found
        sector_bounds[t + 1] = n_sectors
        sponsors[t] = sponsor
    return (hit_bounds, hits[:n_hits], slot_values, slot_conf, evidence_bounds, evidence[:n_evidence],
            sector_bounds, sectors[:n_sectors], sector_scores[:n_sectors], sponsors)
