"""The validated shape of a council config. Units are in the field names.

A config describes one council's system: who arrives (demand, UASC), what happens at the
edge of care, how legal status evolves, where children are placed and for how long, how
they leave, what it all costs, and who is already in care on the start date.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from typing import Literal

from pydantic import (
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from ..distributions import MAX_DAYS, Distribution
from ..events import POST_CARE_KINDS
from ..strict import NumbersOnly
from ..uncertainty import (
    FixedValue,
    UncertainParameter,
    get_path,
    prior_extremes,
    prior_support,
    set_param,
    share_set_problem,
)
from ..vocab import (
    AGE_BAND_AGES,
    AGE_BAND_LOWER_YEARS,
    AGE_BANDS,
    LEGAL_STATUSES,
    NEEDS,
    PARENTAL_FACTORS,
    PLACEMENT_TYPES,
)
from .plausibility import demand_errors

PROBABILITY_TOLERANCE = 1e-6
Probability = float  # documented alias; bounds are checked with Field(ge=0, le=1)


class Strict(NumbersOnly):
    # inf and NaN pass every bound check (NaN compares false) and then poison sums: refuse them
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


# Upper bounds on inputs no council comes near, so that a typo (an extra zero or three, or
# 1e308) is an error here rather than an overflow or a NaN spend later.
MAX_WEEKLY_COST_GBP = 100_000.0  # secure places cost ~£6,000-£10,000 a week
MAX_REFERRALS_PER_YEAR = 5_000_000.0  # England had ~650,000 referrals a year
# Sizes the simulation loops over or allocates in proportion to: a typo here (an end date
# in 3000, a million places) passes every other check and then exhausts memory or never ends.
MAX_HORIZON_YEARS = 50  # a council plans 5-10 years ahead; 50 years of England (~12 GB a replication) is warned about (loader)
MAX_HORIZON_DAYS = int(MAX_HORIZON_YEARS * 365.25)
MAX_PLACES = 100_000  # England pooled (configs/england-2015.yaml) has 31,500 in-house foster places
# England has ~80,000 children looked after in all; pooled England's services hold ~1,000 cases
# (configs/england-2015.yaml): one service holding more than 10,000 at once is a typo. The
# same limit applies to a service in a config and to one a lever adds or resizes.
MAX_CASELOAD = 10_000
MAX_CHILDREN = 1_000_000  # England had ~70,000 looked after in 2015 (~84,000 in 2024)
MAX_POPULATION = 50_000_000  # England has ~12 million children aged 0-17; the UK ~14 million
MAX_ADOPTERS = 100_000  # England approves ~4,000-5,000 adopter households a year
MAX_UASC_PER_YEAR = 100_000.0  # England's UASC arrivals peaked at ~5,000-7,000 a year
MAX_RATE_MULTIPLIER = 1_000.0  # a thousandfold step change in demand is a typo
MAX_DURATION_MULTIPLIER = 1_000.0  # a time a thousand times longer is a typo (1e308 overflowed a lognormal draw: QA15)
CRIMINAL_RESPONSIBILITY_AGE = 10  # in England: no one younger is remanded
MAX_INFLATION_INDEX = 100.0  # prices a hundred times the price year's: a typo (1e305 made spend NaN)
# Events a child can repeat without end (a placement move, a return home and back) must be at
# least this far apart on average: a mean of 1e-9 days passed every check and then never
# finished (QA). Real placements last months and returns home weeks or more; a day is a floor.
MIN_MEAN_DAYS_BETWEEN_REPEATS = 1.0


def is_plain_name(v: str) -> bool:
    """Whether a name can become a file or folder name as it is: letters, digits, '.', '_'
    and '-', starting with a letter or digit (never a path)."""
    return re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}", v) is not None


def check_known(names, allowed: tuple[str, ...], what: str):
    """Raise a ValueError naming any of `names` (keys or list items) not in `allowed`."""
    unknown = [k for k in names if k not in allowed]
    if unknown:
        raise ValueError(f"unknown {what} {unknown}; expected one of {list(allowed)}")



KIND_OF = {}  # filled below: which vocabulary a tuple of names is


def _require(mapping: dict, ok, rule: str):
    """Refuse `mapping` if any value is not `ok`, naming those entries after `rule`, so that one
    bad value in a long mapping is found without a search (QA15)."""
    bad = {k: v for k, v in mapping.items() if not ok(v)}
    if bad:
        raise ValueError(f"{rule}: {bad}")


def _check_multipliers(v: dict[str, float], rule: str = "multipliers must be positive") -> dict[str, float]:
    _require(v, lambda m: m > 0, rule)
    _require(v, lambda m: m <= MAX_DURATION_MULTIPLIER,
             f"multipliers above {MAX_DURATION_MULTIPLIER:,.0f} are not plausible (a typo?)")
    return v


def _check_distribution(mapping: dict[str, float], allowed: tuple[str, ...], what: str):
    kind = KIND_OF.get(allowed, "key")
    unknown = [k for k in mapping if k not in allowed]
    if unknown:
        raise ValueError(f"unknown {kind} {unknown} in {what}; expected one of {list(allowed)}")
    _require(mapping, lambda v: v >= 0, f"{what} probabilities must be non-negative")
    total = sum(mapping.values())
    if abs(total - 1.0) > PROBABILITY_TOLERANCE:
        raise ValueError(f"{what} probabilities must sum to 1 (they sum to {total:.6g})")


def _full_age_map(mapping: dict, what: str):
    check_known(mapping, AGE_BANDS, "age band")
    missing = [a for a in AGE_BANDS if a not in mapping]
    if missing:
        raise ValueError(f"{what}: missing age bands {missing}")


KIND_OF.update({PLACEMENT_TYPES: "placement type", NEEDS: "need", LEGAL_STATUSES: "legal status"})


# ---------------------------------------------------------------- run and population
class Horizon(Strict):
    start_date: dt.date
    end_date: dt.date
    warmup_days: int = Field(0, ge=0, le=MAX_HORIZON_DAYS, description="simulated before start_date, then discarded")

    @property
    def simulated_from(self) -> dt.date:
        """The first day simulated: the warm-up is simulated too."""
        return self.start_date - dt.timedelta(days=self.warmup_days)

    @model_validator(mode="after")
    def _order(self):
        if self.end_date <= self.start_date:
            raise ValueError(f"end_date {self.end_date} must be after start_date {self.start_date}")
        if (self.end_date - self.start_date).days > MAX_HORIZON_DAYS:
            raise ValueError(f"end_date {self.end_date} is more than {MAX_HORIZON_YEARS} years after start_date "
                             f"{self.start_date}: not a plausible planning horizon (a typo in the year?)")
        # the tables are by financial year (1 April - 31 March) and the stock is counted on
        # 31 March: a run holding no whole year has no 31 March count and only part-years
        first = dt.date(self.start_date.year, 4, 1)  # the first 1 April on or after the start
        if first < self.start_date:
            first = dt.date(first.year + 1, 4, 1)
        if dt.date(first.year + 1, 3, 31) > self.end_date:
            raise ValueError(f"{self.start_date} to {self.end_date} holds no whole financial year (1 April to "
                             f"31 March): the yearly tables would be empty or part-years; end on {first.year + 1}-03-31 "
                             "or later")
        return self


class Population(Strict):
    """Children aged 0-17, by year ending 31 March: the denominator of the rate per 10,000."""

    children_0_17_by_year: dict[int, float] = Field(min_length=1)

    @field_validator("children_0_17_by_year")
    @classmethod
    def _positive(cls, v):
        bad = [y for y, n in v.items() if n <= 0]
        if bad:
            raise ValueError(f"the child population must be positive (years {bad})")
        huge = [y for y, n in v.items() if n > MAX_POPULATION]
        if huge:
            raise ValueError(f"more than {MAX_POPULATION:,} children (years {huge}): England has about 12 million "
                             "aged 0-17; a typo or a unit slip?")
        return v
    growth_per_year: float = Field(0.0, ge=-0.5, le=0.5, description="beyond the last year")

    def children_in(self, year_ending: int) -> float:
        """Children aged 0-17 in a year ending 31 March: the given figure, else the nearest
        given year's grown (or shrunk) by growth_per_year a year; a year between two given
        years, at the steady growth between them (it was the first year's grown by
        growth_per_year, so 2015, 2016 and 2021 given made 2020 a year's step below 2021: QA20)."""
        given = self.children_0_17_by_year
        if year_ending in given:
            return given[year_ending]
        before = [y for y in given if y < year_ending]
        after = [y for y in given if y > year_ending]
        if before and after:
            lo, hi = max(before), min(after)
            return given[lo] * (given[hi] / given[lo]) ** ((year_ending - lo) / (hi - lo))
        nearest = max(before) if before else min(after)
        return given[nearest] * (1 + self.growth_per_year) ** (year_ending - nearest)


# ---------------------------------------------------------------- demand
class RateChange(Strict):
    """A multiplier on a rate from a date: trend and step changes in demand."""

    from_date: dt.date
    multiplier: float = Field(ge=0, le=MAX_RATE_MULTIPLIER)


class Referrals(Strict):
    """Referrals to children's social care: counted by month and age band, not simulated."""

    per_year_by_age_band: dict[str, float]
    early_help_share: float = Field(ge=0, le=1, description="share with a Family CAF")
    edge_of_care_probability_without_early_help: float = Field(ge=0, le=1)
    edge_of_care_probability_with_early_help: float = Field(ge=0, le=1)
    trend_per_year: float = Field(0.0, ge=-0.5, le=0.5, description="proportional change a year")
    steps: list[RateChange] = []
    envelope_per_year_by_age_band: dict[str, float] | None = Field(
        None, description="fixed upper bound for drawing candidate arrivals; `fit` sets it so that "
                          "runs at different referral rates share their random numbers")

    @field_validator("envelope_per_year_by_age_band")
    @classmethod
    def _env(cls, v):
        if v is not None:
            _full_age_map(v, "envelope_per_year_by_age_band")
            _require(v, lambda x: x > 0, "envelope rates must be positive")
            if any(x > MAX_REFERRALS_PER_YEAR for x in v.values()):  # candidates are drawn at this rate
                raise ValueError(f"envelope rates above {MAX_REFERRALS_PER_YEAR:,.0f} a year are not plausible for any council")
        return v

    @model_validator(mode="after")
    def _env_covers(self):
        env = self.envelope_per_year_by_age_band
        if env is not None:
            low = [b for b in AGE_BANDS if env[b] < self.per_year_by_age_band[b]]
            if low:
                raise ValueError(f"envelope_per_year_by_age_band is below per_year_by_age_band for {low}")
        return self

    @field_validator("per_year_by_age_band")
    @classmethod
    def _ages(cls, v):
        _full_age_map(v, "per_year_by_age_band")
        _require(v, lambda x: x >= 0, "referral rates must be non-negative")
        if any(x > MAX_REFERRALS_PER_YEAR for x in v.values()):
            raise ValueError(f"referral rates above {MAX_REFERRALS_PER_YEAR:,.0f} a year are not plausible for any council")
        return v


class ChildAttributes(Strict):
    """Who the children at the edge of care are."""

    male_share: float = Field(ge=0, le=1)
    need_by_age_band: dict[str, dict[str, float]]
    parental_factor_prevalence: dict[str, float]
    sibling_group_share: float = Field(ge=0, le=1)

    @field_validator("need_by_age_band")
    @classmethod
    def _needs(cls, v):
        _full_age_map(v, "need_by_age_band")
        for band, mix in v.items():
            _check_distribution(mix, NEEDS, f"need mix for {band}")
        return v

    @field_validator("parental_factor_prevalence")
    @classmethod
    def _factors(cls, v):
        check_known(v, PARENTAL_FACTORS, "parental factor")
        _require(v, lambda p: 0 <= p <= 1, "prevalences must be between 0 and 1")
        return v


class UascArrivals(Strict):
    """Unaccompanied asylum-seeking children: an input series, arriving in waves."""

    class Period(Strict):
        from_date: dt.date
        to_date: dt.date
        arrivals: float = Field(ge=0, description="expected arrivals in the period")

        @model_validator(mode="after")
        def _order(self):
            if self.to_date <= self.from_date:
                raise ValueError(f"to_date {self.to_date} must be after from_date {self.from_date}")
            # a year at least: a wave of arrivals within a month is plausible, its yearly rate not
            years = max(1.0, (self.to_date - self.from_date).days / 365.25)
            if self.arrivals / years > MAX_UASC_PER_YEAR:
                raise ValueError(f"arrivals {self.arrivals:,.0f} in {self.from_date} to {self.to_date} is over "
                                 f"{MAX_UASC_PER_YEAR:,.0f} a year: not plausible for any council")
            return self

    periods: list[Period] = []
    age_years_distribution: dict[int, float] = Field(default_factory=lambda: {16: 1.0})
    male_share: float = Field(0.9, ge=0, le=1)
    age_assessment_18_plus_probability: float = Field(0.0, ge=0, le=1)
    age_assessment_days: Distribution | None = None
    placement_by_age_years: dict[int, dict[str, float]] = Field(default_factory=dict)

    @property
    def arrival_ages(self) -> list[int]:
        """The ages UASC arrive at (a positive share), youngest first."""
        return sorted(a for a, w in self.age_years_distribution.items() if w > 0)

    @field_validator("age_years_distribution")
    @classmethod
    def _ages(cls, v):
        if any(not 0 <= a <= 17 for a in v):
            raise ValueError("UASC ages must be 0-17")
        total = sum(v.values())
        if abs(total - 1) > PROBABILITY_TOLERANCE:
            raise ValueError(f"age probabilities must sum to 1 (they sum to {total:.6g})")
        return v

    @field_validator("placement_by_age_years")
    @classmethod
    def _placements(cls, v):
        for age, mix in v.items():
            _check_distribution(mix, PLACEMENT_TYPES, f"UASC placement mix at age {age}")
        return v

    @model_validator(mode="after")
    def _periods(self):
        for a, b in zip(self.periods, self.periods[1:]):
            if b.from_date < a.to_date:
                raise ValueError(f"UASC periods overlap or are out of order at {b.from_date}")
        return self


class Demand(Strict):
    referrals: Referrals
    children: ChildAttributes
    uasc: UascArrivals = UascArrivals()


# ---------------------------------------------------------------- edge of care
class Service(Strict):
    """An edge-of-care intervention with a caseload limit (a SimPy resource)."""

    name: str
    eligible_age_years: tuple[int, int] = (0, 17)
    eligible_needs: list[str] | None = None
    referral_share: float = Field(1.0, ge=0, le=1, description="of eligible children, referred")
    would_be_entrants_only: bool = Field(
        False, description="a crisis service: only children who would enter care without help are eligible, "
                           "so every case is a would-be entrant (as seed 002 counts Alternatives to Care); "
                           "referral_share is then a share of those would-be entrants")
    caseload_capacity: int = Field(ge=0, le=MAX_CASELOAD)
    intervention_days: Distribution
    success_probability: float = Field(ge=0, le=1)
    cost_per_case_gbp: float = Field(ge=0, le=10_000_000)  # bound: see MAX_WEEKLY_COST_GBP
    max_wait_days: float = Field(90.0, ge=0)
    start_date: dt.date | None = None
    end_date: dt.date | None = None

    @field_validator("name")
    @classmethod
    def _named(cls, v):
        if not v.strip():  # QA15: "" was accepted
            raise ValueError("is blank: a service's name labels its rows in the tables; give one")
        return v

    @field_validator("eligible_needs")
    @classmethod
    def _needs(cls, v):
        if v is not None:
            check_known(dict.fromkeys(v), NEEDS, "need")
        return v

    @model_validator(mode="after")
    def _ages(self):
        lo, hi = self.eligible_age_years
        if not 0 <= lo <= hi <= 17:
            raise ValueError(f"eligible_age_years {self.eligible_age_years} must be 0 <= lo <= hi <= 17")
        if self.start_date and self.end_date and self.end_date <= self.start_date:
            raise ValueError("end_date must be after start_date")
        return self


class EdgeOfCare(Strict):
    emergency_share_by_age_band: dict[str, float]
    entry_probability_without_service: float = Field(ge=0, le=1)
    days_to_entry: Distribution
    relapse_probability: float = Field(ge=0, le=1, description="after a successful intervention")
    days_to_relapse: Distribution
    services: list[Service] = []

    @field_validator("emergency_share_by_age_band")
    @classmethod
    def _em(cls, v):
        _full_age_map(v, "emergency_share_by_age_band")
        _require(v, lambda p: 0 <= p <= 1, "shares must be between 0 and 1")
        return v

    @model_validator(mode="after")
    def _unique(self):
        names = [s.name for s in self.services]
        if len(names) != len(set(names)):
            raise ValueError(f"service names must be unique: {names}")
        return self


# ---------------------------------------------------------------- legal status
class Legal(Strict):
    entry_status_by_age_band: dict[str, dict[str, float]]
    police_protection_days: Distribution
    after_police_protection: dict[str, float]
    s20_proceedings_probability_by_age_band: dict[str, float]
    days_s20_to_proceedings: Distribution
    proceedings_days: Distribution
    proceedings_outcome_by_age_band: dict[str, dict[str, float]]
    remand_days: Distribution

    @field_validator("entry_status_by_age_band")
    @classmethod
    def _entry(cls, v):
        _full_age_map(v, "entry_status_by_age_band")
        # police protection is how emergency entries arrive (edge_of_care.emergency_share)
        allowed = ("s20", "interim_care_order", "remand")
        for band, mix in v.items():
            _check_distribution(mix, allowed, f"entry legal status for {band}")
            if mix.get("remand", 0) > 0 and AGE_BAND_LOWER_YEARS[AGE_BANDS.index(band)] < CRIMINAL_RESPONSIBILITY_AGE:
                raise ValueError(f"remand for {band}: no child under {CRIMINAL_RESPONSIBILITY_AGE} can be remanded")
        return v

    @field_validator("after_police_protection")
    @classmethod
    def _after(cls, v):
        _check_distribution(v, ("s20", "interim_care_order", "returned_home"), "after police protection")
        return v

    @field_validator("s20_proceedings_probability_by_age_band")
    @classmethod
    def _s20(cls, v):
        _full_age_map(v, "s20_proceedings_probability_by_age_band")
        bad = {k: p for k, p in v.items() if not 0 <= p <= 1}
        if bad:
            raise ValueError(f"probabilities must be between 0 and 1: {bad}")
        return v

    @field_validator("proceedings_outcome_by_age_band")
    @classmethod
    def _outcome(cls, v):
        _full_age_map(v, "proceedings_outcome_by_age_band")
        allowed = ("care_order", "placement_order", "sgo", "child_arrangements_order", "returned_home")
        for band, mix in v.items():
            _check_distribution(mix, allowed, f"proceedings outcome for {band}")
        return v


# ---------------------------------------------------------------- placements
class PlacementType(Strict):
    weekly_cost_gbp: float = Field(ge=0, le=MAX_WEEKLY_COST_GBP, description="variable cost per child-week")
    in_area_probability: float = Field(ge=0, le=1)
    days_to_move: Distribution | None = Field(None, description="time to breakdown/planned move; null: no moves")
    min_age_years: int = Field(0, ge=0, le=17)
    max_age_years: int = Field(17, ge=0, le=17)

    @model_validator(mode="after")
    def _ages(self):
        if self.min_age_years > self.max_age_years:
            raise ValueError(f"min_age_years {self.min_age_years} is above max_age_years {self.max_age_years}")
        return self

    @field_validator("days_to_move")
    @classmethod
    def _moves_take_time(cls, v):
        # always 0 would move a child again at the same instant, for ever (null: no moves)
        if v is not None and not v.mean() > 0:
            raise ValueError("a time to the next move that is always 0 would move a child for ever at one "
                             "instant: give a positive duration, or null for no moves")
        return v

    def moves_too_often(self, multipliers: dict[str, float]) -> str | None:
        """Why this type's placements would end too soon to simulate, with the age bands'
        multipliers (None if they do not)."""
        if self.days_to_move is None:
            return None
        mean = self.days_to_move.mean() * min([1.0, *multipliers.values()])
        if mean < MIN_MEAN_DAYS_BETWEEN_REPEATS:
            return (f"placements last {mean:.3g} days on average (for the age band with the smallest "
                    f"days_to_move_multiplier_by_age_band): a child would move thousands of times a year, which "
                    f"no council records and the run cannot finish; at least {MIN_MEAN_DAYS_BETWEEN_REPEATS:g} day")
        return None


class Capacity(Strict):
    """A council-run provision with finite places, changed by recruitment and attrition."""

    initial_places: int = Field(ge=0, le=MAX_PLACES)
    recruited_places_per_year: float = Field(0.0, ge=0, le=MAX_PLACES)
    attrition_per_year: float = Field(0.0, ge=0, le=1, description="share of places lost a year")
    fixed_weekly_cost_gbp_per_place: float = Field(0.0, ge=0, le=MAX_WEEKLY_COST_GBP, description="paid occupied or not")
    match_probability_per_vacancy: float = Field(ge=0, le=1, description="a child is matched with 1 - (1 - p) ** vacancies")
    sibling_match_factor: float = Field(1.0, ge=0, le=1, description="a sibling group's chance of a match is this "
                                        "times a single child's, so at most this however many places are free")
    overflow_to: str

    @field_validator("overflow_to")
    @classmethod
    def _ovf(cls, v):
        check_known({v: 0}, PLACEMENT_TYPES, "placement type")
        return v


class Placements(Strict):
    types: dict[str, PlacementType]
    capacity: dict[str, Capacity] = Field({}, description="the capacity-limited types: inhouse_foster and "
                                                          "inhouse_childrens_home only (others are bought as needed)")
    at_entry_by_age_band: dict[str, dict[str, float]]
    at_entry_disability: dict[str, float] | None = None
    days_to_move_multiplier_by_age_band: dict[str, float] = Field(default_factory=dict)
    next_placement: dict[str, dict[str, float]] = Field(
        description="mix of the next placement after a move from each type; a type with no row moves to a "
                    "placement drawn as at entry (age band, disability or UASC mix)")

    @field_validator("types")
    @classmethod
    def _types(cls, v):
        check_known(v, PLACEMENT_TYPES, "placement type")
        missing = [p for p in PLACEMENT_TYPES if p not in v]
        if missing:
            raise ValueError(f"every placement type needs an entry; missing {missing}")
        return v

    @field_validator("capacity")
    @classmethod
    def _cap(cls, v):
        check_known(v, ("inhouse_foster", "inhouse_childrens_home"), "capacity-limited placement type")
        for name, pool in v.items():
            if pool.overflow_to == name:
                raise ValueError(f"{name}.overflow_to is {name} itself: overflow must go to another placement type")
            if pool.overflow_to in v:
                # a child overflowed is placed without taking a place: the other pool would hold more
                # children than it has places (QA)
                raise ValueError(f"{name}.overflow_to is {pool.overflow_to}, itself capacity-limited: overflow goes "
                                 "to provision without a capacity limit (e.g. ifa_foster, external_childrens_home)")
        return v

    @model_validator(mode="after")
    def _overflow_ages(self):
        """A child the pool cannot take goes to its overflow type at the same age, so that type
        must take every age the pool's type does (a baby is not overflowed into supported
        accommodation)."""
        for name, pool in self.capacity.items():
            own, other = self.types[name], self.types.get(pool.overflow_to)
            if other is not None and (other.min_age_years > own.min_age_years or
                                      other.max_age_years < own.max_age_years):
                raise ValueError(
                    f"capacity.{name}.overflow_to: {pool.overflow_to} takes ages {other.min_age_years}-"
                    f"{other.max_age_years}, {name} ages {own.min_age_years}-{own.max_age_years}: the overflow "
                    "type must take every age the pool does")
        return self

    @field_validator("at_entry_by_age_band")
    @classmethod
    def _entry(cls, v):
        _full_age_map(v, "at_entry_by_age_band")
        for band, mix in v.items():
            _check_distribution(mix, PLACEMENT_TYPES, f"placement at entry for {band}")
        return v

    @field_validator("at_entry_disability")
    @classmethod
    def _dis(cls, v):
        if v is not None:
            _check_distribution(v, PLACEMENT_TYPES, "placement at entry for disability")
        return v

    @model_validator(mode="after")
    def _moves_not_too_often(self):
        for name, t in self.types.items():
            why = t.moves_too_often(self.days_to_move_multiplier_by_age_band)
            if why:
                raise ValueError(f"types.{name}.days_to_move: {why}")
        return self

    @field_validator("days_to_move_multiplier_by_age_band")
    @classmethod
    def _mult(cls, v):
        check_known(v, AGE_BANDS, "age band")
        # 0 would move a child again at the same instant, for ever; below 0 goes back in time
        return _check_multipliers(v)

    @field_validator("next_placement")
    @classmethod
    def _next(cls, v):
        check_known(v, PLACEMENT_TYPES, "placement type")
        for src, mix in v.items():
            _check_distribution(mix, PLACEMENT_TYPES, f"next placement after {src}")
        return v


# ---------------------------------------------------------------- exits
class ExitRoute(Strict):
    """Time to an exit while holding a legal status: one competing risk.

    The time drawn from `days` is multiplied by the status and age-band multipliers; a
    status absent from `multiplier_by_status` cannot leave by this route.
    """

    days: Distribution
    multiplier_by_status: dict[str, float]
    multiplier_by_age_band: dict[str, float] = Field(default_factory=dict)
    from_age_years: float = Field(0.0, ge=0, le=18)

    @field_validator("multiplier_by_status")
    @classmethod
    def _st(cls, v):
        check_known(v, LEGAL_STATUSES, "legal status")
        return _check_multipliers(v, "multipliers must be positive (omit a status to close the route)")

    @field_validator("multiplier_by_age_band")
    @classmethod
    def _ab(cls, v):
        check_known(v, AGE_BANDS, "age band")
        return _check_multipliers(v)


class Reentry(Strict):
    probability: float = Field(ge=0, le=1)
    days: Distribution

    @field_validator("days")
    @classmethod
    def _reentry_takes_time(cls, v):
        # always 0 is no time at home at all, and with an exit that is always 0 an endless loop
        if not v.mean() > 0:
            raise ValueError("a time to re-entry that is always 0 is not a return home: give a positive duration")
        if v.mean() < MIN_MEAN_DAYS_BETWEEN_REPEATS:
            raise ValueError(f"a time to re-entry of {v.mean():.3g} days on average is not a return home, and with "
                             f"quick exits the run cannot finish: at least {MIN_MEAN_DAYS_BETWEEN_REPEATS:g} day")
        return v


class Adoption(Strict):
    initial_adopters: int = Field(ge=0, le=MAX_ADOPTERS)
    adopter_approvals_per_year: float = Field(ge=0, le=MAX_ADOPTERS)
    # without it the pool only grows: adopters approved here are matched by other councils too
    adopter_mean_days_waiting: float | None = Field(None, gt=0, le=MAX_DAYS, description=(
        "approved adopters not matched here leave the pool (matched elsewhere, or withdrawn) after this "
        "mean wait (a constant hazard); null: they wait until matched here"))
    days_family_finding: Distribution = Field(description="placement order to ready for matching")
    max_days_to_match: float = Field(gt=0, description="then the plan changes to long-term care")
    days_placed_to_order: Distribution
    concurrent_share: float = Field(0.0, ge=0, le=1, description="not used (older configs load): concurrency is the "
                                    "entry placement mix's concurrent_foster_to_adopt share")


class AtEighteen(Strict):
    staying_put_share_from_foster: float = Field(ge=0, le=1)
    staying_put_days: Distribution
    adult_social_care_share_disability: float = Field(ge=0, le=1)
    supported_living_share: float = Field(ge=0, le=1, description="E5 rather than E8 at 18")


class Exits(Strict):
    returned_home: ExitRoute
    returned_home_planned_share: float = Field(ge=0, le=1)
    lives_with_relatives_no_pr_share: float = Field(0.0, ge=0, le=1)
    sgo: ExitRoute
    sgo_former_foster_carer_share: float = Field(ge=0, le=1, description="share of SGOs from a foster placement made to the former foster carers; SGOs from other placements go to other carers")
    child_arrangements_order: ExitRoute
    independent_living: ExitRoute
    independent_living_supported_share: float = Field(ge=0, le=1)
    other: ExitRoute
    adoption: Adoption
    at_18: AtEighteen
    reentry_after_return_home: Reentry
    reentry_after_order: Reentry


# ---------------------------------------------------------------- costs
class Allowance(Strict):
    share: float = Field(ge=0, le=1)
    weekly_gbp: float = Field(ge=0, le=MAX_WEEKLY_COST_GBP)


class Costs(Strict):
    price_year: int = Field(description="financial year (starting April) the costs are priced in")
    inflation_index_by_year: dict[int, float]
    report_prices: Literal["real", "cash"] = "real"
    # all_lac adds social work for every day looked after; both count services, post-care and income
    spend_scope: Literal["placements", "all_lac"]
    spend_scope_note: str = ""
    social_work_weekly_gbp_per_child: float = Field(0.0, ge=0, le=MAX_WEEKLY_COST_GBP, description="only in all_lac scope")
    sgo_allowance: Allowance
    adoption_allowance: Allowance
    care_leaver_weekly_gbp: float = Field(ge=0, le=MAX_WEEKLY_COST_GBP)
    care_leaver_to_age_years: float = Field(21.0, ge=18, le=25)
    staying_put_weekly_gbp: float = Field(ge=0, le=MAX_WEEKLY_COST_GBP)
    parental_contribution: Allowance = Allowance(share=0, weekly_gbp=0)
    uasc_grant_weekly_gbp: float = Field(0.0, ge=0, le=MAX_WEEKLY_COST_GBP,
                                         description="income per week for each UASC looked after, at any age")

    @model_validator(mode="after")
    def _index(self):
        if self.price_year not in self.inflation_index_by_year:
            raise ValueError(f"inflation_index_by_year has no entry for price_year {self.price_year}")
        if any(not 0 < v <= MAX_INFLATION_INDEX for v in self.inflation_index_by_year.values()):
            # relative to the price year: a hundredfold change in prices is a typo
            raise ValueError(f"inflation index values must be positive and at most {MAX_INFLATION_INDEX:g}")
        years = sorted(self.inflation_index_by_year)
        gaps = sorted(set(range(years[0], years[-1] + 1)) - set(years))
        if gaps:  # a year between two others has no price level to convert with
            raise ValueError(f"inflation_index_by_year has no entry for {', '.join(map(str, gaps))} "
                             f"(it must give every year from {years[0]} to {years[-1]})")
        return self


# ---------------------------------------------------------------- opening stock
class OpeningPostCare(Strict):
    """People receiving one kind of post-care payment on the first day simulated: care leavers,
    Staying Put, SGO and adoption allowances from exits before the run, which the run pays on."""

    # a ratio, not a count, so a config that extends another scales with its own opening stock
    per_child_looked_after: float = Field(ge=0, le=10, description=(
        "people in payment per child in the opening stock (opening.age_band_counts' sum)"))
    remaining_days: Distribution = Field(description="time left in payment from the first day simulated")


class Opening(Strict):
    """Children already looked after on the day before the first day simulated: start_date, or
    with a warm-up, the warm-up's first day (the stock on start_date is then simulated)."""

    age_band_counts: dict[str, int]
    legal_status_counts: dict[str, int]
    placement_type_counts: dict[str, int]
    uasc_count: int = Field(0, ge=0)
    male_share: float = Field(ge=0, le=1)
    days_in_care_so_far: Distribution
    need_mix: dict[str, float]
    legal_status_age_weights: dict[str, list[float]] = Field({}, description=(
        "relative plausibility of a legal status at each age band (5 numbers: under_1 to 16_to_17) for drawing "
        "the opening stock's age x legal status table, raked to the two published margins; replaces the built-in "
        "weights (carejourney/model/opening.py) for the statuses named"))
    placement_type_age_weights: dict[str, list[float]] = Field({}, description=(
        "as legal_status_age_weights, for placement types; multiplied by what the types' age limits allow, "
        "except that a band given a positive weight here is allowed at the start even outside the type's ages "
        "(a council's data can hold under-16s in semi-independent living: calibrate writes these weights from "
        "the data's opening stock); new placements keep within the type's ages"))
    # without it, post-care spend counts only exits made during the run and ramps up from zero
    post_care: dict[str, OpeningPostCare] = Field({}, description=(
        "post-care payments already running, by kind (sgo_allowance, adoption_allowance, care_leaver, "
        "staying_put): how many per child looked after and how long each has left"))

    @property
    def children(self) -> int:
        """How many are looked after at the start (the age bands' sum; the other margins match it)."""
        return sum(self.age_band_counts.values())

    @field_validator("legal_status_age_weights", "placement_type_age_weights")
    @classmethod
    def _age_weights(cls, v, info):
        names = LEGAL_STATUSES if info.field_name == "legal_status_age_weights" else PLACEMENT_TYPES
        check_known(v, names, "legal status" if names is LEGAL_STATUSES else "placement type")
        for k, w in v.items():
            if len(w) != len(AGE_BANDS) or any(x < 0 for x in w) or not any(x > 0 for x in w):
                raise ValueError(f"{k}: give {len(AGE_BANDS)} non-negative weights, one per age band "
                                 f"({', '.join(AGE_BANDS)}), not all 0; got {w}")
        return v

    @field_validator("age_band_counts")
    @classmethod
    def _ab(cls, v):
        check_known(v, AGE_BANDS, "age band")
        return v

    @field_validator("legal_status_counts")
    @classmethod
    def _ls(cls, v):
        check_known(v, LEGAL_STATUSES, "legal status")
        return v

    @field_validator("placement_type_counts")
    @classmethod
    def _pt(cls, v):
        check_known(v, PLACEMENT_TYPES, "placement type")
        return v

    @field_validator("post_care")
    @classmethod
    def _post_care(cls, v):
        check_known(v, POST_CARE_KINDS, "post-care kind")
        return v

    @field_validator("need_mix")
    @classmethod
    def _nm(cls, v):
        _check_distribution(v, NEEDS, "opening need mix")
        return v

    @model_validator(mode="after")
    def _totals(self):
        for name, counts in (("age_band_counts", self.age_band_counts), ("legal_status_counts", self.legal_status_counts),
                             ("placement_type_counts", self.placement_type_counts)):
            _require(counts, lambda c: c >= 0, f"{name} must be non-negative")
        n = sum(self.age_band_counts.values())
        if n > MAX_CHILDREN:  # one simulated child each
            raise ValueError(f"age_band_counts sum to {n:,}: over {MAX_CHILDREN:,} looked after is not plausible")
        for name, counts in (("legal_status_counts", self.legal_status_counts),
                             ("placement_type_counts", self.placement_type_counts)):
            if sum(counts.values()) != n:
                raise ValueError(f"{name} sum to {sum(counts.values())}, age_band_counts to {n}: they must agree")
        if self.uasc_count > n:
            raise ValueError("uasc_count exceeds the opening stock")
        return self


class Meta(Strict):
    # the name becomes a folder under results/: a plain name, never a path
    name: str

    @field_validator("name")
    @classmethod
    def _plain(cls, v):
        if not is_plain_name(v):
            raise ValueError(f"{v!r} is not a plain name: use letters, digits, '.', '_' and '-' (it names "
                             "the results folder), starting with a letter or digit")
        return v
    description: str = ""
    geography: str | None = Field(None, description="as named in published figures, e.g. Cambridgeshire")


class Config(Strict):
    """A council's system. `uncertainty` lists parameters drawn afresh in each replication
    (e.g. fitted values with their standard errors), so intervals carry parameter
    uncertainty as well as the system's randomness."""

    meta: Meta
    horizon: Horizon
    population: Population
    demand: Demand
    edge_of_care: EdgeOfCare
    legal: Legal
    placements: Placements
    exits: Exits
    costs: Costs
    opening: Opening
    uncertainty: list[UncertainParameter] = []

    @model_validator(mode="after")
    def _peak_referrals(self):
        # trend and steps compound: 0.5 a year for 50 years multiplies the rate 600-million-fold,
        # and edge-of-care candidates are drawn in proportion to the peak
        ref, h = self.demand.referrals, self.horizon
        start, end = -h.warmup_days, (h.end_date - h.start_date).days
        steps = [(st.from_date - h.start_date).days for st in ref.steps]
        times = [start, end] + [min(max(x, start), end) for d in steps for x in (d - 1, d)]

        def multiplier(t):
            m = (1.0 + ref.trend_per_year) ** (t / 365.25)
            for st, day in zip(ref.steps, steps):
                m *= st.multiplier if t >= day else 1.0
            return m

        peak = max(multiplier(t) for t in times)
        rates = {**ref.per_year_by_age_band, **(ref.envelope_per_year_by_age_band or {})}
        band, rate = max(rates.items(), key=lambda kv: kv[1])
        if not rate * peak <= MAX_REFERRALS_PER_YEAR:
            raise ValueError(f"demand.referrals: with trend_per_year and steps, referrals for {band} reach "
                             f"{rate * peak:,.0f} a year within the horizon, over {MAX_REFERRALS_PER_YEAR:,.0f}: "
                             "not plausible for any council")
        return self

    @model_validator(mode="after")
    def _plausible_demand(self):
        problems = demand_errors(self)  # against the config's own population (plausibility.py)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @model_validator(mode="after")
    def _opening_fits_ages(self):
        """The opening stock's margins must allow a child of a fitting age for every place with
        an age limit (535 16-17-year-olds with 24 placed for adoption gave adopted adults)."""
        op, ages = self.opening, self.opening.age_band_counts
        for name, count in op.placement_type_counts.items():
            t = self.placements.types[name]
            weights = op.placement_type_age_weights.get(name, [0] * len(AGE_BAND_AGES))
            fit = sum(ages.get(b, 0) for (b, (first, last)), w in zip(AGE_BAND_AGES.items(), weights)
                      if first <= t.max_age_years and last >= t.min_age_years or w > 0)
            if count > fit:
                given = " or the bands placement_type_age_weights gives it" if name in op.placement_type_age_weights else ""
                raise ValueError(f"opening: {count} in {name} (ages {t.min_age_years}-{t.max_age_years}) but only {fit} "
                                 f"children of those ages{given} in age_band_counts")
        remand = op.legal_status_counts.get("remand", 0)
        old_enough = sum(ages.get(b, 0) for b, lo in zip(AGE_BANDS, AGE_BAND_LOWER_YEARS)
                         if lo >= CRIMINAL_RESPONSIBILITY_AGE)
        if remand > old_enough:
            raise ValueError(f"opening: {remand} on remand but only {old_enough} children aged "
                             f"{CRIMINAL_RESPONSIBILITY_AGE} or over in age_band_counts")
        return self

    @model_validator(mode="after")
    def _paths(self):
        if self.uncertainty:
            data = self.model_dump(mode="python")
            share_sets: dict[str, str] = {}
            first_of: dict[str, int] = {}
            for i, p in enumerate(self.uncertainty):
                if p.path in first_of:  # the later draw would overwrite the earlier one: which was meant?
                    raise ValueError(f"uncertainty[{i}].path {p.path!r} is already drawn by "
                                     f"uncertainty[{first_of[p.path]}]: keep one")
                first_of[p.path] = i
                try:
                    value = get_path(data, p.path)
                except (KeyError, IndexError, ValueError):
                    raise ValueError(f"uncertainty[{i}].path {p.path!r} is not a field of this config") from None
                if not isinstance(value, (int, float)) or isinstance(value, bool):
                    raise ValueError(f"uncertainty[{i}].path {p.path!r} is not a number")
                if p.rescale_others:
                    why = share_set_problem(data, p.path)
                    lo, hi = prior_support(p.prior)
                    if why is None and not (0.0 <= lo and hi <= 1.0):
                        why = f"rescale_others needs a prior that draws shares between 0 and 1 (this one can draw {lo:g} to {hi:g})"
                    parent = p.path.rpartition(".")[0]
                    if why is None and parent in share_sets:
                        why = (f"{share_sets[parent]} is a share of the same set: only one share of a set can be "
                               "drawn (the others are rescaled to it)")
                    if why:
                        raise ValueError(f"uncertainty[{i}] ({p.path}): {why}")
                    share_sets[parent] = p.path
                elif isinstance(value, int) and not isinstance(p.prior, FixedValue):
                    raise ValueError(f"uncertainty[{i}] ({p.path}): a whole number (a count, a year, a caseload); "
                                     "priors draw fractional values: fix it or leave it out")
                elif share_set_problem(data, p.path) is None and draw_refused(data, p.path, value / 2 or 0.5):
                    # a mapping that happens to sum to 1 (probabilities by age band) is not a mix:
                    # only one the config refuses to see change alone needs its others rescaled
                    raise ValueError(f"uncertainty[{i}] ({p.path}): a share of a mix that must sum to 1: add "
                                     "rescale_others: true so the other shares are scaled to each draw")
                # each replication sets the field to a draw and validates the config again: a draw
                # it refuses (a probability above 1) would stop a run part-way, so try the extremes
                extremes = prior_extremes(p.prior)
                for x in extremes:
                    why = draw_refused(data, p.path, x, p.rescale_others)
                    if why:
                        raise ValueError(f"uncertainty[{i}] ({p.path}): its prior can draw {x:g} (it draws "
                                         f"{extremes[0]:g} to {extremes[-1]:g}), which the config refuses ({why}); "
                                         "narrow or truncate the prior")
        return self


def draw_refused(data: dict, path: str, x: float, rescale_others: bool = False) -> str | None:
    """Why the config `data` (a dump, its uncertainty entries ignored) is invalid with `path` set
    to `x`, or None if it is valid: the check behind every uncertainty entry's prior."""
    trial = copy.deepcopy({k: v for k, v in data.items() if k != "uncertainty"})
    set_param(trial, path, x, rescale_others)
    try:
        Config.model_validate(trial)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(k) for k in first["loc"])
        return (where + ": " if where else "") + first["msg"].removeprefix("Value error, ")
    return None
