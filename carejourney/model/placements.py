"""Placements: in-house capacity, the placement policy, and moves between placements."""

from __future__ import annotations

import math
from functools import lru_cache

from ..distributions import categorical
from ..vocab import (
    AGE_BANDS,
    LEGAL_CODE,
    PLACEMENT_CODE,
    PLACEMENT_LEGAL_STATUSES,
    PLACEMENT_TYPES,
    RESIDENTIAL_TYPES,
)

FOSTER_OR_FAMILY = {PLACEMENT_CODE[t] for t in (
    "placed_with_parents", "kinship_foster", "inhouse_foster", "concurrent_foster_to_adopt",
    "ifa_foster", "placed_for_adoption")}
RESIDENTIAL = {PLACEMENT_CODE[t] for t in RESIDENTIAL_TYPES}
PFA = PLACEMENT_CODE["placed_for_adoption"]
CONCURRENT = PLACEMENT_CODE["concurrent_foster_to_adopt"]
# by placement code: the legal status codes it can be held under, or None for any
LAWFUL_STATUSES = tuple(
    frozenset(LEGAL_CODE[s] for s in PLACEMENT_LEGAL_STATUSES[t]) if t in PLACEMENT_LEGAL_STATUSES else None
    for t in PLACEMENT_TYPES)


def lawful(ptype: int, status: int) -> bool:
    """Whether a placement of type `ptype` can be held under legal status `status`."""
    allowed = LAWFUL_STATUSES[ptype]
    return allowed is None or status in allowed


@lru_cache(maxsize=4096)
def _categorical_of(items: tuple) -> object:
    return categorical(dict(items))


def cached_categorical(weights: dict):
    """A lever-adjusted mix: ramps repeat the same weights, so tables are memoised."""
    return _categorical_of(tuple(weights.items()))


class CapacityPool:
    """Council-run places (carers or beds). Occupancy never exceeds places.

    A vacancy suits a given child only with `match_probability_per_vacancy`, so some places
    stay empty while agency places are bought: occupancy runs below 100%, as it does.
    Attrition of an occupied place waits until that child leaves.
    """

    def __init__(self, name: str, index: int, cfg, log, mods=None):
        self.name, self.index, self.cfg, self.log = name, index, cfg, log
        self.mods = mods if mods is not None and mods.affects("pool_match") else None
        self.places = cfg.initial_places
        self.occupied = 0
        self.pending_loss = 0
        self.grown = None  # an event the capacity process waits on while it has nothing to do
        self.p_match = cfg.match_probability_per_vacancy
        self.sibling_factor = cfg.sibling_match_factor
        self.overflow = PLACEMENT_CODE[cfg.overflow_to]

    def _record(self, t):
        self.log.capacity.append((t, self.index, self.occupied, self.places))

    def try_place(self, t: float, u: float, sibling: bool) -> bool:
        vacant = self.places - self.occupied
        if vacant <= 0:
            return False
        p_match = self.mods.pool_match_probability(self.name, t, self.p_match) if self.mods else self.p_match
        p = 1.0 - (1.0 - p_match) ** vacant
        if sibling:
            p *= self.sibling_factor
        if u >= p:
            return False
        self.occupied += 1
        self._record(t)
        return True

    def force_place(self, t: float):
        """Opening stock: children already in these places, growing places if needed."""
        self.occupied += 1
        if self.occupied > self.places:
            self.places = self.occupied
            self._grew()
        self._record(t)

    def _grew(self):
        """More places: attrition has something to act on again (see capacity_process)."""
        if self.grown is not None and not self.grown.triggered:
            self.grown.succeed()

    def release(self, t: float):
        self.occupied -= 1
        if self.pending_loss:
            self.pending_loss -= 1
            self.places -= 1
        self._record(t)

    def gain(self, t: float, n: int = 1):
        self.places += n
        self._grew()
        self._record(t)

    def lose(self, t: float):
        if self.places > self.occupied:
            self.places -= 1
            self._record(t)
        elif self.places - self.pending_loss > 0:
            self.pending_loss += 1


def capacity_process(env, pool: CapacityPool, rng, start: float):
    """The config's recruitment and attrition as Poisson events, from the shared capacity
    stream, from `start` (the run's start: `initial_places` are the places on that day)."""
    if start > env.now:
        yield env.timeout(start - env.now)
    cfg = pool.cfg
    recruit = cfg.recruited_places_per_year / 365.25
    attr = cfg.attrition_per_year / 365.25
    while True:
        loss = attr * max(pool.places - pool.pending_loss, 0)
        total = recruit + loss
        wait = rng.exponential(1.0 / total) if total > 0 else math.inf
        u = rng.random()
        if wait == math.inf:
            # no recruitment and no places to lose, for now: wait until places are added (the
            # opening stock or a lever), rather than stopping and never losing them (QA)
            pool.grown = env.event()
            yield pool.grown
            pool.grown = None
            continue
        yield env.timeout(wait)
        if u * total < recruit:
            pool.gain(env.now)
        else:
            pool.lose(env.now)


def lever_recruitment_process(env, pool: CapacityPool, rng, increments):
    """A lever's extra recruitment: a Poisson process of its own whose rate (places a year)
    changes by `increments` [(from_day, change)], drawn from its own stream, so the config's
    recruitment and attrition keep their random numbers (common random numbers) and an
    effect of 0 changes nothing."""
    steps, rate = [], 0.0
    for start, change in sorted(increments):
        rate += change
        steps.append((start, rate))
    for (start, rate), end in zip(steps, [s for s, _ in steps[1:]] + [math.inf]):
        if rate <= 0 or end <= env.now:
            continue
        if start > env.now:
            yield env.timeout(start - env.now)
        while True:  # memoryless: a wait cut by the next step starts afresh there
            wait = rng.exponential(365.25 / rate)
            if env.now + wait >= end:
                break
            yield env.timeout(wait)
            pool.gain(env.now)


class PlacementPolicy:
    """Which placement a child gets: wanted type by age and need, then capacity decides."""

    def __init__(self, cfg, pools: dict[str, CapacityPool], mods):
        pc = cfg.placements
        self.mods = mods
        self.next_changed = mods.affects("next_placement")
        self.entry_changed = mods.affects("entry_placement")
        self.move_changed = mods.affects("move")
        self.pools = {PLACEMENT_CODE[name]: pool for name, pool in pools.items()}
        # a lever's "external only on overflow": {overflow type: [(pool, pool's type, from day)]}
        self.offered_first = {}
        for name, day in mods.pools_offered_first().items():
            if name in pools:
                self.offered_first.setdefault(pools[name].overflow, []).append(
                    (pools[name], PLACEMENT_CODE[name], day))
        self.entry_weights = [pc.at_entry_by_age_band[b] for b in AGE_BANDS]
        self.entry = [categorical(w) for w in self.entry_weights]
        self.entry_disability = categorical(pc.at_entry_disability) if pc.at_entry_disability else None
        self.next_weights = {PLACEMENT_CODE[k]: v for k, v in pc.next_placement.items()}
        self.next = {k: categorical(v) for k, v in self.next_weights.items()}
        self.uasc_weights = dict(cfg.demand.uasc.placement_by_age_years)
        self.uasc = {age: categorical(mix) for age, mix in self.uasc_weights.items()}
        types = [pc.types[name] for name in PLACEMENT_TYPES]
        self.min_age = [t.min_age_years for t in types]
        self.max_age = [t.max_age_years for t in types]
        self.in_area = [t.in_area_probability for t in types]
        mult = [pc.days_to_move_multiplier_by_age_band.get(b, 1.0) for b in AGE_BANDS]
        self.move_samplers = [
            [t.days_to_move.sampler(m) if t.days_to_move else None for m in mult] for t in types
        ]
        self.running_move_samplers = [
            [t.days_to_move.length_biased(m) if t.days_to_move else None for m in mult] for t in types
        ]

    def wanted(self, child, t: float, moving_from: int | None) -> int:
        band = child.age_band(t)
        mods = self.mods
        if moving_from is not None and moving_from in self.next:
            base = self.next_weights[moving_from]
            w = mods.next_placement_weights(t, child, PLACEMENT_TYPES[moving_from], base) if self.next_changed else base
            kind = (self.next[moving_from] if w is base else cached_categorical(w))(child.u())
        elif child.uasc and self.uasc:
            age = min(int(child.age_years(t)), 17)
            age = age if age in self.uasc else min(self.uasc, key=lambda a: abs(a - age))
            base = self.uasc_weights[age]
            w = mods.entry_placement_weights(t, child, base) if self.entry_changed else base
            kind = (self.uasc[age] if w is base else cached_categorical(w))(child.u())
        elif child.disabled and self.entry_disability:
            kind = self.entry_disability(child.u())
        else:
            base = self.entry_weights[band]
            w = mods.entry_placement_weights(t, child, base) if self.entry_changed else base
            kind = (self.entry[band] if w is base else cached_categorical(w))(child.u())
        code = PLACEMENT_CODE[kind]
        age = child.age_years(t)
        # at entry the status is the one the child comes in on (set just after the placement)
        status = child.entry_status if child.status is None else child.status
        if not self._suitable(code, age, status, moving_from):
            # not suitable at this age or legal status (or adoption without a match): the age
            # band's entry mix, then an agency foster placement
            code = PLACEMENT_CODE[self.entry[band](child.u())]
            if not self._suitable(code, age, status, moving_from):
                code = PLACEMENT_CODE["ifa_foster"]
        return code

    def _suitable(self, code: int, age: float, status: int, moving_from: int | None) -> bool:
        """A type the child can be placed in: within its ages, allowed under the child's legal
        status (placed with parents only under a court order: PLACEMENT_LEGAL_STATUSES), not
        placed for adoption (that comes with a match), and never concurrent carers for a child
        already in care: that type has no move of its own, so a child on a care order stayed
        there until 18 (QA17)."""
        return (code != PFA and self.min_age[code] <= age < self.max_age[code] + 1
                and lawful(code, status) and not (code == CONCURRENT and moving_from is not None))

    def place(self, child, t: float, code: int) -> int:
        """Take an in-house place if one is free and matches, else overflow to external."""
        pool = self.pools.get(code)
        child.pool = None
        if pool is not None:
            if pool.try_place(t, child.u(), child.sibling):
                child.pool = pool
            else:
                code = pool.overflow
        elif code in self.offered_first:
            age = child.age_years(t)
            for first, first_code, from_day in self.offered_first[code]:
                if (t >= from_day and self.min_age[first_code] <= age < self.max_age[first_code] + 1
                        and first.try_place(t, child.u(), child.sibling)):
                    child.pool, code = first, first_code
                    break
        return code

    def days_to_move(self, child, t: float, code: int) -> float:
        """Drawn days to the next move (as the baseline draws them; see `move_warp`)."""
        sampler = self.move_samplers[code][child.age_band(t)]
        if sampler is None:
            return math.inf
        return sampler(child.u())

    def days_to_move_running(self, child, t: float, code: int) -> float:
        """Drawn length of a placement found running at t (length-biased: distributions.py)."""
        sampler = self.running_move_samplers[code][child.age_band(t)]
        return math.inf if sampler is None else sampler(child.u())

    def move_warp(self, child, t: float, code: int):
        """The lever clock on which a move drawn at t runs, or None (model/warp.py)."""
        return self.mods.move_warp(t, child, PLACEMENT_TYPES[code]) if self.move_changed else None

    @staticmethod
    def move_reason(old: int, new: int) -> str:
        if old in RESIDENTIAL and new in FOSTER_OR_FAMILY:
            return "step_down"
        if old in FOSTER_OR_FAMILY and new in RESIDENTIAL:
            return "escalation"
        return "move"
