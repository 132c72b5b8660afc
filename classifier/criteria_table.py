"""The rule layer's findings for many texts as columns: what routing and batch rows read.

An ``Analysis`` (rule_engine.py) holds every evidence span of a text as objects, which is what a
full result shows. Routing a text and writing its batch row need much less: each criterion's
value and confidence, the lead span that set it (the strongest vote's, rule_engine._evidence), and whether the motive is only presumed from
the actor. For a batch, making the objects costs more than finding the criteria (about 20 µs a
description, where the compiled pass takes 10-13 µs), so the compiled rule layer hands over its
codes as this table, and the objects are made only when a full result is asked for.

A ``CriteriaTable`` is built either from ``Analysis`` objects (``from_analyses``: the Python
engine, single texts) or from the compiled rule layer's arrays (``rule_kernel.CompiledRules.table``);
tests/test_rule_kernel.py holds the two equal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Callable

import numpy as np

from .ruleset import CRITERIA, SIGNALS, STATE_ACTOR_TYPES, STATE_LINKS

if TYPE_CHECKING:
    from .rule_engine import Analysis

# The columns of ``values``, ``confidence`` and the lead-span arrays: the five criteria, then the
# three signals. A signal's value is "yes" where it was found and absent (-1) elsewhere; the
# critical_infrastructure column has no value code (a text may name several sectors: see ``sectors``).
SLOTS = CRITERIA + SIGNALS
SIGNAL_SLOTS = {name: SLOTS.index(name) for name in SLOTS[len(CRITERIA):]}
ACTOR, SPONSORSHIP, SECTOR, CASCADE, MOTIVE = range(len(CRITERIA))
ABSENT = -1
REQUIRED_VALUES = ("unknown", "no", "yes")


@dataclass(frozen=True, eq=False)
class CriteriaTable:
    """The criteria of ``len(texts)`` texts, one row per text.

    Attributes
    ----------
    texts : list of str
        The texts, which the evidence spans index (empty strings in a table made for routing
        alone: see ``from_analyses``).
    vocabulary : list of str
        Value code -> value ("criminal", "suspected", "energy", ...).
    values : ndarray of int, shape (n, len(SLOTS))
        Each slot's value code; -1 for an absent signal and in the critical_infrastructure column.
    confidence : ndarray of float, shape (n, len(SLOTS))
        Each slot's confidence (0 for an absent signal).
    first_start, first_end : ndarray of int, shape (n, len(SLOTS))
        The lead evidence span of each slot (the first of its evidence: the strongest vote's),
        -1 where the slot has no evidence.
    sector_bounds, sectors : ndarray of int
        Text i's sectors, in order of first mention, are ``sectors[sector_bounds[i]:sector_bounds[i + 1]]``.
    motive_presumed : ndarray of bool, shape (n,)
        The motive comes only from the gazetteer (the named actor's usual motive).
    """

    texts: list[str]
    vocabulary: list[str]
    values: np.ndarray
    confidence: np.ndarray
    first_start: np.ndarray
    first_end: np.ndarray
    sector_bounds: np.ndarray
    sectors: np.ndarray
    motive_presumed: np.ndarray
    # Makes the texts' Analysis objects, for the full results (called at most once).
    make_analyses: Callable[[], list["Analysis"]] = field(default=list, repr=False)

    def __len__(self) -> int:
        return len(self.texts)

    @cached_property
    def analyses(self) -> list["Analysis"]:
        """One ``Analysis`` per text, with every evidence span."""
        return self.make_analyses()

    @classmethod
    def from_analyses(cls, analyses: list["Analysis"], texts: list[str] | None = None) -> "CriteriaTable":
        """The table of analyses made by ``RuleEngine.analyse``; without ``texts``, enough to
        route them, but not to quote their evidence."""
        n = len(analyses)
        # The values the policy reads by name are always in the vocabulary (a code of -2, which
        # ``code`` gives a value no text has, must only ever mean "not this value").
        codes: dict[str, int] = {value: i for i, value in enumerate(REQUIRED_VALUES)}
        values = np.full((n, len(SLOTS)), ABSENT, dtype=np.int64)
        confidence = np.zeros((n, len(SLOTS)))
        first_start = np.full((n, len(SLOTS)), ABSENT, dtype=np.int64)
        first_end = np.full((n, len(SLOTS)), ABSENT, dtype=np.int64)
        sector_bounds = np.zeros(n + 1, dtype=np.int64)
        sectors, presumed = [], np.zeros(n, dtype=bool)
        for i, analysis in enumerate(analyses):
            for slot, name in enumerate(SLOTS):
                criterion = analysis.criteria[name] if slot < len(CRITERIA) else analysis.signals.get(name)
                if criterion is None:
                    continue
                if slot == SECTOR:
                    sectors += [codes.setdefault(s, len(codes)) for s in criterion.value]
                else:
                    values[i, slot] = codes.setdefault(criterion.value, len(codes))
                confidence[i, slot] = criterion.confidence
                if criterion.evidence:
                    first_start[i, slot], first_end[i, slot] = criterion.evidence[0].start, criterion.evidence[0].end
            sector_bounds[i + 1] = len(sectors)
            presumed[i] = analysis.motive_presumed
        texts = list(texts) if texts is not None else [""] * n
        return cls(texts, list(codes), values, confidence, first_start, first_end, sector_bounds,
                   np.array(sectors, dtype=np.int64), presumed, make_analyses=lambda: list(analyses))

    # -- what the routing policy reads ---------------------------------------------------------

    def code(self, value: str) -> int:
        """The code of ``value``; -2 (which no cell holds) when it is not in the vocabulary."""
        return self._codes.get(value, -2)

    @cached_property
    def _codes(self) -> dict[str, int]:
        codes = {value: i for i, value in enumerate(self.vocabulary)}
        missing = [value for value in REQUIRED_VALUES if value not in codes]
        if missing:
            raise ValueError(f"the vocabulary lacks {missing}")
        return codes

    def value_in(self, slot: int, wanted) -> np.ndarray:
        """Rows whose ``slot`` value is one of ``wanted`` (names)."""
        return np.isin(self.values[:, slot], [self.code(v) for v in wanted])

    @cached_property
    def state_involvement(self) -> np.ndarray:
        """``Analysis.state_involvement`` per row."""
        return self.value_in(ACTOR, STATE_ACTOR_TYPES) | self.value_in(SPONSORSHIP, STATE_LINKS)

    @cached_property
    def criminal_actor(self) -> np.ndarray:
        """Rows whose actor the rules read as criminal (what ``combiner.agreed_crime`` asks)."""
        return self.values[:, ACTOR] == self.code("criminal")

    @cached_property
    def stated_motive(self) -> np.ndarray:
        """``Analysis.stated_motive`` per row, as codes."""
        return np.where(self.motive_presumed, self.code("unknown"), self.values[:, MOTIVE])

    @cached_property
    def has_sectors(self) -> np.ndarray:
        return np.diff(self.sector_bounds) > 0

    def names_sector(self, wanted) -> np.ndarray:
        """Rows that name at least one of the sectors ``wanted``."""
        hit = np.isin(self.sectors, [self.code(s) for s in wanted])
        counts = np.concatenate([[0], np.cumsum(hit)])
        return counts[self.sector_bounds[1:]] > counts[self.sector_bounds[:-1]]

    @cached_property
    def has_evidence(self) -> np.ndarray:
        """Rows where the rules found evidence of anything: a criterion's value, a sector or a
        signal, including evidence against ("no evidence of State involvement")."""
        return (self.first_start >= 0).any(axis=1)

    def has_signal(self, name: str) -> np.ndarray:
        return self.values[:, SIGNAL_SLOTS[name]] != ABSENT

    @cached_property
    def actor_or_motive_known(self) -> np.ndarray:
        """The rules found an actor type, a motive or a signal (routing.toml's condition)."""
        unknown = self.code("unknown")
        signals = [self.values[:, slot] != ABSENT for slot in SIGNAL_SLOTS.values()]
        return (self.values[:, ACTOR] != unknown) | (self.values[:, MOTIVE] != unknown) | np.logical_or.reduce(signals)

    # -- what a batch row and an explanation read ----------------------------------------------

    @cached_property
    def _lists(self) -> tuple[list, list, list, list, list]:
        # Plain lists: a batch reads a few cells per row, and indexing a list costs less than
        # indexing a numpy array one element at a time.
        return (self.values.tolist(), self.first_start.tolist(), self.first_end.tolist(),
                self.sector_bounds.tolist(), self.sectors.tolist())

    def value(self, row: int, slot: int) -> str | list[str]:
        """The value of ``slot`` in ``row`` as a result shows it (a list for the sectors)."""
        values, _, _, bounds, sectors = self._lists
        if slot == SECTOR:
            return [self.vocabulary[s] for s in sectors[bounds[row]:bounds[row + 1]]]
        return self.vocabulary[values[row][slot]]

    def criteria_values(self, row: int) -> dict[str, str | list[str]]:
        """The five criteria's values in ``row``, by name."""
        return {name: self.value(row, slot) for slot, name in enumerate(CRITERIA)}

    def found(self, row: int) -> list[tuple[str, str | list[str], str]]:
        """(slot name, value, first quote) for each criterion set by evidence to a value other than
        "unknown", "no" or no sector, then for each signal found: what an explanation cites."""
        _, starts, ends, _, _ = self._lists
        starts, ends, text = starts[row], ends[row], self.texts[row]
        out = []
        for slot, name in enumerate(SLOTS):
            if starts[slot] < 0:
                continue
            value = "yes" if name in SIGNAL_SLOTS else self.value(row, slot)
            if value not in ("unknown", "no", []):
                out.append((name, value, text[starts[slot]:ends[slot]]))
        return out
