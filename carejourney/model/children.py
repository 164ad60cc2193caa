"""A child: fixed attributes, its own random numbers, and its current state in care."""

from __future__ import annotations

import datetime as dt
import math
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from itertools import chain, count, islice

import numpy as np

from ..calendar import birthdays
from ..streams import UNIFORMS_PER_CHILD
from ..vocab import AGE_BAND_LOWER_YEARS, DAYS_PER_YEAR

# Fixed positions in a child's first block, so attributes and the edge-of-care decision
# never shift with the journey: a lever that changes one use leaves the others alone.
U_DIVERT, U_AGE, U_SEX, U_NEED, U_FACTORS, U_SIBLING, U_ROUTE = 0, 1, 2, 3, 4, 7, 8
U_AGE_FRACTION, U_ENTRY, U_ENTRY_DAYS, U_REFERRAL = 9, 10, 11, 12
FIRST_FREE_UNIFORM = 13
INF = math.inf
BAND_EDGES_DAYS = tuple(a * DAYS_PER_YEAR for a in AGE_BAND_LOWER_YEARS[1:])


class Child:
    __slots__ = (
        "id", "dob", "t18", "male", "need", "uasc", "sibling", "factors", "disabled",
        "u",
        "period", "period_start", "entry_status", "status", "status_start",
        "ptype", "pool", "p_start", "p_in_area", "t_move",
        "t_legal", "next_status", "t_exit", "exit_route", "adopter_request", "match_deadline", "t_ready", "allowance", "t_assessed",
        "t_next", "wake",
    )

    def __init__(self, cid: int, uniforms: list[float], overflow: Iterable[float]):
        self.id = cid
        # u(): the child's next uniform random number. The rest of its first block after
        # the reserved positions, then `overflow`, iterated only if the journey is that
        # long; a C-level iterator, as it is called ~50k times a run.
        self.u = chain(islice(uniforms, FIRST_FREE_UNIFORM, None), overflow).__next__
        self.period = 0
        self.adopter_request = None
        self.allowance = None  # the post_care row of an SGO or adoption allowance in payment
        self.t_assessed = None  # when a UASC's age assessment finds them 18+ (inf: never); drawn once
        self.pool = None
        self.ptype = -1

    def age_years(self, t: float) -> float:
        return (t - self.dob) / DAYS_PER_YEAR

    def age_band(self, t: float) -> int:
        return bisect_right(BAND_EDGES_DAYS, t - self.dob)


class Overflow:
    """A child's uniforms after its first block: blocks 1, 2, ... from their own streams,
    generated only when iterated (few journeys need them)."""

    __slots__ = ("streams", "source", "index")

    def __init__(self, streams, source: str, index: int):
        self.streams, self.source, self.index = streams, source, index

    def __iter__(self) -> Iterator[float]:
        for block in count(1):
            yield from self.streams.child_overflow(self.source, self.index, block)


class ChildFactory:
    """Makes the children of one source (opening, edge of care, UASC).

    Child i of a source reads row i of that source's uniforms, generated in chunks by
    jumping the bit generator to the row, so memory stays small however many children
    there are and row i never depends on how many others exist.
    """

    CHUNK = 256  # small chunks: a source with few children generates few rows

    def __init__(self, streams, source: str, offset: int, start_date: dt.date):
        self.streams = streams
        self.source = source
        self.offset = offset
        self.start_ordinal = start_date.toordinal()
        self._chunks: dict[int, np.ndarray] = {}

    def _load(self, first: int, stop: int):
        """Chunks first..stop-1 in one call: a row depends only on its index."""
        size = self.CHUNK
        block = self.streams.child_uniform_rows(self.source, first * size, (stop - first) * size)
        for c in range(first, stop):
            self._chunks[c] = block[(c - first) * size:(c - first + 1) * size]

    def _row(self, index: int) -> list[float]:
        c, r = divmod(index, self.CHUNK)
        if c not in self._chunks:
            self._load(c, c + 1)
        return self._chunks[c][r].tolist()

    def rows(self, indices: np.ndarray) -> np.ndarray:
        """First blocks of several children (indices ascending), for vectorised attribute draws."""
        out = np.empty((len(indices), UNIFORMS_PER_CHILD))
        if not len(indices):
            return out
        first, last = int(indices[0]) // self.CHUNK, int(indices[-1]) // self.CHUNK
        missing = [c for c in range(first, last + 1) if c not in self._chunks]
        if missing:
            self._load(missing[0], missing[-1] + 1)
        bounds = np.searchsorted(indices, np.arange(first, last + 2) * self.CHUNK)
        for c, a, b in zip(range(first, last + 1), bounds[:-1].tolist(), bounds[1:].tolist()):
            if b > a:
                out[a:b] = self._chunks[c][indices[a:b] - c * self.CHUNK]
        return out

    def make(self, index: int) -> Child:
        return Child(self.offset + index, self._row(index), Overflow(self.streams, self.source, index))

    def birthdays_18(self, dob_days: np.ndarray) -> np.ndarray:
        return eighteenth_birthdays(dob_days, self.start_ordinal)


def eighteenth_birthdays(dob_days: np.ndarray, start_ordinal: int) -> np.ndarray:
    """Day (from the run's start) of each 18th birthday on the calendar (29 Feb -> 1 Mar)."""
    return birthdays(dob_days, 18, start_ordinal)

