"""Action-plan levers: named, documented changes to the model with a start date, a
linear ramp-up, an optional end date, a target cohort and an uncertain effect size.

A scenario is a list of levers. Each replication draws every lever's effect once (from a
stream keyed by the lever's name, so the same lever has the same effect wherever it
appears), and `LeverModifiers` answers the model's hooks (model/modifiers.py) with the
combined, time-varying effect. Impact types follow the action plan: Number (fewer enter),
Time (shorter stays), Cost (cheaper placements).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Literal

import numpy as np
from pydantic import ConfigDict, Field, ValidationInfo, field_validator, model_validator

from .config.schema import MAX_CASELOAD, MAX_HORIZON_DAYS, Service, check_known
from .model.modifiers import Modifiers
from .model.warp import TimeWarp, combine
from .strict import NumbersOnly
from .uncertainty import (
    BetaPrior,
    FixedValue,
    LogNormalPrior,
    NormalPrior,
    Prior,
    draw_prior,
    prior_extremes,
)
from .vocab import INHOUSE_TYPES, NEEDS, PARENTAL_FACTORS, PLACEMENT_TYPES

KINDS = {
    "entry_reduction": "Number: fewer children in the cohort enter care (share diverted at the edge of care)",
    "early_help": "Number: the share of referrals with a Family CAF rises to the effect (a share)",
    "edge_service": "Number: an edge-of-care service is added or resized; the effect is its success probability",
    "placement_stability": "Cost: fewer breakdowns (effect = share of moves prevented: time to a move x 1/(1 - effect), at most x20) and fewer escalations",
    "step_down": "Cost: moves out of residential go to family placements (effect = share redirected)",
    "high_cost_review": "Time/Cost: children in the dearest placements go home or move on sooner (effect = time multiplier)",
    "inhouse_recruitment": "Cost: extra in-house places a year, net of attrition (effect = places a year)",
    "recruitment_funnel": "Cost: enquiries x conversion (effect) x places per household become in-house places",
    "unit_cost": "Cost: the weekly price of the cohort's placement types is multiplied by the effect",
    "occupancy": "Cost: in-house places are matched more often (effect = match probability per vacancy)",
    "uasc_pathway": "Cost: a share (effect) of UASC go to the pathway placement instead of the usual mix",
    "parental_contribution": "Cost: parents contribute the effect (GBP a week) for a share of non-UASC children",
    "exit_speed": "Time: from the start, time to an exit route runs at the effect times its length, also for children already in care (adoption: family finding and placement to order)",
    "concurrency": "Time: a share (effect) of entering babies go to concurrent (foster-to-adopt) carers",
    "allowance": "Cost: a post-order allowance's weekly amount is multiplied by the effect",
    "staying_put": "Cost: the Staying Put share from foster care becomes the effect",
}
# What each kind's effect is and the values it can take: (what, low, high, low_included).
# Every value the effect prior can draw must lie in the range (checked when the file loads).
_SHARE = (0.0, 1.0, True)
# Upper bounds on counts catch a typo of several orders of magnitude (1e9 places a year
# never finishes a run). England has ~45,000 fostering households in all, so one council
# adding more than 10,000 places a year is a typo.
MAX_PLACES_A_YEAR = 10_000
# A parental contribution cannot exceed what the council would pay a foster carer (a few
# hundred GBP a week), so more than 1,000 GBP a week is a typo.
MAX_CONTRIBUTION_GBP_A_WEEK = 1_000
# England as a whole receives of the order of 100,000+ fostering enquiries a year.
MAX_ENQUIRIES_PER_YEAR = 200_000
# A price or allowance multiplied tenfold is beyond any action plan: a typo, as 1000 for 1.000
# (QA15: 1e300 printed a saving of -inf, and a wide prior dropped the saving rows unseen).
MAX_PRICE_MULTIPLIER = 10.0
# A journey a hundred times slower or faster is a typo too (a time lever shortens it a little).
MAX_TIME_MULTIPLIER = 100.0
# Multipliers whose upper bound is a plausibility cap, not a limit of the quantity: an open-ended
# normal or lognormal prior (a natural "range for a multiplier") is held to the cap by its
# one-in-a-million upper quantile (`prior_extremes`), not refused for a tail it never draws.
CAPPED_MULTIPLIERS = frozenset({"high_cost_review", "unit_cost", "exit_speed", "allowance"})
# A household fosters up to 3 children under the usual fostering limit; exemptions allow a few more.
MAX_PLACES_PER_HOUSEHOLD = 10
EFFECT_RANGE = {
    "entry_reduction": ("a share of entries diverted", *_SHARE),
    "early_help": ("a Family CAF share", *_SHARE),
    "edge_service": ("a success probability", *_SHARE),
    "placement_stability": ("a share of moves prevented", *_SHARE),
    "step_down": ("a share of moves redirected", *_SHARE),
    "high_cost_review": ("a time multiplier", 0.0, MAX_TIME_MULTIPLIER, False),
    "inhouse_recruitment": ("a number of places a year", 0.0, MAX_PLACES_A_YEAR, True),
    "recruitment_funnel": ("a conversion rate", *_SHARE),
    "unit_cost": ("a price multiplier", 0.0, MAX_PRICE_MULTIPLIER, False),
    "occupancy": ("a match probability", *_SHARE),
    "uasc_pathway": ("a share of UASC", *_SHARE),
    "parental_contribution": ("a weekly contribution in GBP", 0.0, MAX_CONTRIBUTION_GBP_A_WEEK, True),
    "exit_speed": ("a time multiplier", 0.0, MAX_TIME_MULTIPLIER, False),
    "concurrency": ("a share of entering babies", *_SHARE),
    "allowance": ("an allowance multiplier (0 stops the allowance)", 0.0, MAX_PRICE_MULTIPLIER, True),
    "staying_put": ("a Staying Put share", *_SHARE),
}
assert EFFECT_RANGE.keys() == KINDS.keys()


def prior_support(p) -> tuple[float, float, bool]:
    """(lowest, highest, lowest is drawn) for the values a prior can draw."""
    if isinstance(p, BetaPrior):
        return 0.0, p.scale, False
    if isinstance(p, LogNormalPrior):
        return (p.median, p.median, True) if p.sigma == 0 else (p.low, p.high, p.low > 0)
    if isinstance(p, NormalPrior):
        if p.sd == 0:
            x = min(max(p.mean, p.low), p.high)
            return x, x, True
        return p.low, p.high, True
    if isinstance(p, FixedValue):
        return p.value, p.value, True
    return p.low, p.high, True  # uniform, triangular


def _default_bound(p, k: str, v: float) -> bool:
    """An untruncated lognormal's low bound, left out of its description as before bounds
    existed (open ends, infinite, are left out of every prior's dump)."""
    return isinstance(p, LogNormalPrior) and (k, v) == ("low", 0.0)


def check_effect(kind: str | None, p) -> None:
    """Refuse an effect prior with a non-finite parameter or a draw the lever kind cannot use."""
    params = {k: v for k, v in p.model_dump().items() if k != "dist"}
    shown = f"{p.dist}({', '.join(f'{v:g}' for k, v in params.items() if not _default_bound(p, k, v))})"
    for k, v in params.items():
        if not math.isfinite(v):
            raise ValueError(f"{shown}: {k} must be a finite number")
    if kind not in EFFECT_RANGE:
        return
    what, low, high, low_included = EFFECT_RANGE[kind]
    rule = (f"lie in {'[' if low_included else '('}{low:g}, {high:g}]" if high < math.inf
            else f"be {'at least' if low_included else 'greater than'} {low:g}")
    lo, hi, lo_drawn = prior_support(p)
    tail = kind in CAPPED_MULTIPLIERS and math.isinf(hi)
    if tail:
        hi = prior_extremes(p)[-1]
    too_low = lo < low or (lo == low and lo_drawn and not low_included)
    if too_low or hi > high:
        bad = lo if too_low else hi
        hint = ("; a normal or lognormal prior is unbounded, so give a normal prior low and high inside the range "
                "or use a beta or triangular prior" if math.isinf(bad) else "")
        once = " once in a million draws" if tail and not too_low else ""
        raise ValueError(f"{what} must {rule}; {shown} reaches {bad:g}{once}{hint}")


# Kinds that change only what care costs, never a child's journey: a scenario made of
# these alone is priced on the baseline's simulation (runner.run_repriced).
PRICE_ONLY_KINDS = frozenset({"unit_cost", "allowance", "parental_contribution"})
ROUTES = ("returned_home", "sgo", "child_arrangements_order", "independent_living", "other", "adopted")
RESIDENTIAL = ("inhouse_childrens_home", "external_childrens_home", "residential_school", "secure_disability_residential")
FAMILY = ("kinship_foster", "inhouse_foster", "ifa_foster")


class NewService(Service):
    """An edge_service lever's new service: its success probability is the lever's effect
    (an uncertain prior), so the service itself gives none."""

    success_probability: float | None = Field(None, ge=0, le=1)


class Cohort(NumbersOnly):
    """Who a lever acts on. Empty fields mean everyone."""

    model_config = ConfigDict(extra="forbid")
    # whole years, both included: [16, 17] is 16th birthday to 18th (QA15: 0.5 meant 0.5 to 1.5)
    age_years: tuple[int, int] = (0, 17)
    needs: list[str] = []
    parental_factors: list[str] = Field([], description="any of these")
    uasc: bool | None = None
    placement_types: list[str] = []

    @field_validator("needs", "parental_factors", "placement_types", mode="before")
    @classmethod
    def _named(cls, v, info: ValidationInfo):
        # an empty list names nobody; read as "everyone" it acted on every child (QA18: a
        # parental-factor lever with [] saved 2.5 times as much, without a word)
        if isinstance(v, list) and not v:
            raise ValueError(f"an empty list names nobody: leave {info.field_name} out for everyone, or name who")
        return v

    @field_validator("needs")
    @classmethod
    def _needs(cls, v):
        check_known(v, NEEDS, "need")
        return v

    @field_validator("parental_factors")
    @classmethod
    def _factors(cls, v):
        check_known(v, PARENTAL_FACTORS, "parental factor")
        return v

    @field_validator("placement_types")
    @classmethod
    def _types(cls, v):
        check_known(v, PLACEMENT_TYPES, "placement type")
        return v

    @model_validator(mode="after")
    def _ages(self):
        lo, hi = self.age_years
        if not 0 <= lo <= hi <= 17:
            raise ValueError(f"age_years {self.age_years} must be 0 <= lo <= hi <= 17")
        return self


# The kind-specific settings each kind reads; any other given is refused, not ignored.
KIND_FIELDS = {
    "entry_reduction": (), "early_help": (), "placement_stability": (), "unit_cost": (), "staying_put": (),
    "edge_service": ("service", "new_service", "caseload_capacity", "referral_share"),
    "step_down": ("to_types",), "high_cost_review": ("to_types", "share"), "uasc_pathway": ("to_types",),
    "concurrency": ("to_types",), "inhouse_recruitment": ("pool", "external_only_on_overflow"), "occupancy": ("pool",),
    "recruitment_funnel": ("pool", "enquiries_per_year", "places_per_household", "external_only_on_overflow"),
    "parental_contribution": ("share",), "exit_speed": ("route",), "allowance": ("allowance",),
}
SPECIFIC_FIELDS = frozenset(f for fields in KIND_FIELDS.values() for f in fields)
# The cohort fields each kind reads (a child's placement is known only once in care; a
# system-wide setting such as a pool's recruitment or a price acts on everyone).
_ALL_COHORT = ("age_years", "needs", "parental_factors", "uasc", "placement_types")
COHORT_FIELDS = {
    **{k: _ALL_COHORT for k in ("placement_stability", "step_down", "high_cost_review", "exit_speed")},
    **{k: _ALL_COHORT[:4] for k in ("entry_reduction", "concurrency", "uasc_pathway")},
    "unit_cost": ("placement_types",),
    **{k: () for k in ("early_help", "edge_service", "inhouse_recruitment", "recruitment_funnel", "occupancy",
                       "parental_contribution", "allowance", "staying_put")},
}
assert KIND_FIELDS.keys() == COHORT_FIELDS.keys() == KINDS.keys()


def with_article(kind: str) -> str:
    return ("an " if kind[0] in "aeio" else "a ") + kind  # a unit_cost, an exit_speed


class Lever(NumbersOnly):
    model_config = ConfigDict(extra="forbid")
    kind: str
    workstream: str = ""
    label: str = ""
    source: str = Field("", description="where the effect size comes from")
    evidence: Literal["evidence", "plan-implied"]
    start_date: dt.date
    ramp_up_days: float = Field(0.0, ge=0, le=MAX_HORIZON_DAYS)
    end_date: dt.date | None = None
    cohort: Cohort = Cohort()
    effect: Prior
    part_of: str | None = Field(None, description="counted inside this lever in a combined scenario")
    # kind-specific settings
    service: str | None = None
    new_service: NewService | None = None
    caseload_capacity: int | None = Field(None, ge=0, le=MAX_CASELOAD)
    referral_share: float | None = Field(None, ge=0, le=1, description="edge_service: new share referred")
    pool: str | None = None
    to_types: list[str] = []
    route: str | None = None
    allowance: Literal["sgo_allowance", "adoption_allowance"] | None = None
    share: float | None = Field(None, ge=0, le=1)
    enquiries_per_year: float | None = Field(None, ge=0, le=MAX_ENQUIRIES_PER_YEAR)
    places_per_household: float = Field(1.0, gt=0, le=MAX_PLACES_PER_HOUSEHOLD)
    external_only_on_overflow: bool = Field(False, description=(
        "recruitment: from start_date to the end of the run, a child the placement policy would place with the "
        "pool's overflow type (IFA for in-house fostering) is offered a free, matching in-house place first"))

    @field_validator("kind")
    @classmethod
    def _kind(cls, v):
        if v not in KINDS:
            raise ValueError(f"unknown lever kind {v!r}; expected one of {sorted(KINDS)}")
        return v

    @field_validator("effect")
    @classmethod
    def _effect(cls, v, info: ValidationInfo):
        check_effect(info.data.get("kind"), v)
        return v

    @field_validator("to_types")
    @classmethod
    def _to(cls, v):
        check_known(v, PLACEMENT_TYPES, "placement type")
        return v

    @model_validator(mode="after")
    def _kind_fields(self):
        k = self.kind
        need = {
            "edge_service": lambda: self.service or self.new_service,
            "inhouse_recruitment": lambda: self.pool,
            "recruitment_funnel": lambda: self.pool and self.enquiries_per_year is not None,
            "occupancy": lambda: self.pool,
            "uasc_pathway": lambda: self.to_types,
            "step_down": lambda: self.to_types,
            "exit_speed": lambda: self.route,
            "allowance": lambda: self.allowance,
            "parental_contribution": lambda: self.share is not None,
        }.get(k)
        if need is not None and not need():
            fields = {"edge_service": "service or new_service", "inhouse_recruitment": "pool",
                      "recruitment_funnel": "pool and enquiries_per_year", "occupancy": "pool",
                      "uasc_pathway": "to_types", "step_down": "to_types", "exit_speed": "route",
                      "allowance": "allowance", "parental_contribution": "share"}[k]
            raise ValueError(f"a {k} lever needs {fields}")
        unused = sorted((self.model_fields_set & SPECIFIC_FIELDS) - set(KIND_FIELDS[k]))
        if unused:
            raise ValueError(f"{', '.join(unused)}: not used by {with_article(k)} lever (it reads "
                             f"{', '.join(KIND_FIELDS[k]) or 'no kind-specific setting'}); remove "
                             f"{'them' if len(unused) > 1 else 'it'}")
        cohort_unused = sorted(self.cohort.model_fields_set - set(COHORT_FIELDS[k]))
        if cohort_unused:
            reads = COHORT_FIELDS[k]
            raise ValueError(f"cohort.{', cohort.'.join(cohort_unused)}: not used by {with_article(k)} lever "
                             + (f"(its cohort is {', '.join(reads)})" if reads else "(it acts on everyone)")
                             + ": remove it, or the lever would act on more children than its cohort says")
        if self.service is not None and self.new_service is not None:
            raise ValueError("service and new_service: a lever changes an existing service or adds a new one, not both")
        if self.new_service is not None and {"caseload_capacity", "referral_share"} & self.model_fields_set:
            raise ValueError("caseload_capacity and referral_share resize an existing service; a new_service "
                             "gives its own in new_service")
        if self.pool is not None and self.pool not in INHOUSE_TYPES:
            raise ValueError(f"pool {self.pool!r} must be one of {list(INHOUSE_TYPES)}")
        if self.route is not None and self.route not in ROUTES:
            raise ValueError(f"route {self.route!r} must be one of {list(ROUTES)}")
        if self.end_date is not None and self.end_date <= self.start_date:
            raise ValueError(f"end_date {self.end_date} must be after start_date {self.start_date}")
        if self.new_service is not None and (self.new_service.start_date or self.new_service.end_date):
            # extra_services dates the service by the lever: its own dates would be ignored
            raise ValueError("new_service.start_date and end_date are not used: a lever's service runs from the "
                             "lever's start_date to its end_date; give the dates there")
        if self.new_service is not None and self.new_service.success_probability is not None:
            # extra_services sets it from the lever's effect: a figure here would be ignored
            raise ValueError("new_service.success_probability is not used: the lever's effect is the new "
                             "service's success probability; give it (with its uncertainty) as effect")
        if "placed_for_adoption" in self.to_types:
            raise ValueError("to_types: placed_for_adoption comes only from a match with adopters after a placement "
                             "order, never from a placement mix (a lever sending children there would place none)")
        if k == "step_down" and (up := sorted(set(self.to_types) & set(RESIDENTIAL))):
            raise ValueError(f"to_types: {up} is residential care; a step_down moves children out of it (to fostering "
                             "or family): use placement_stability or high_cost_review for other moves")
        if self.caseload_capacity is not None and self.caseload_capacity < 0:
            raise ValueError("caseload_capacity must be at least 0")
        if k == "recruitment_funnel":  # the places a year it adds, bounded like inhouse_recruitment's
            places = self.enquiries_per_year * prior_support(self.effect)[1] * self.places_per_household
            if places > MAX_PLACES_A_YEAR:
                raise ValueError(f"enquiries_per_year x effect x places_per_household reaches {places:g} places a "
                                 f"year; must be at most {MAX_PLACES_A_YEAR}")
        return self

    def check_against(self, cfg):
        """Checks that need the council config: horizon, service and pool names. A problem is
        a ValueError "field: message", the field named from the lever."""
        h = cfg.horizon
        if self.start_date >= h.end_date:
            raise ValueError(f"start_date: {self.start_date} is on or after the run's last day "
                             f"({h.end_date}): the lever would never act")
        if self.end_date is not None and self.end_date <= h.start_date:
            raise ValueError(f"end_date: {self.end_date} is on or before the run's first day "
                             f"({h.start_date}): the lever would never act")
        ramp_end = self.start_date + dt.timedelta(days=self.ramp_up_days)
        if ramp_end > h.end_date + dt.timedelta(days=1):
            raise ValueError(f"ramp_up_days: {self.ramp_up_days:g} runs past the horizon "
                             f"(ramp ends {ramp_end}, run ends {h.end_date})")
        names = [s.name for s in cfg.edge_of_care.services]
        if self.kind == "edge_service" and self.service and self.service not in names:
            raise ValueError(f"service: {self.service!r} is not in the config; services are {names}")
        if self.new_service is not None and self.new_service.name in names:
            raise ValueError(f"new_service.name: {self.new_service.name!r} is already a service in "
                             f"the config; name the new service differently, or use service: to change that one")
        if self.pool and self.pool not in cfg.placements.capacity:
            raise ValueError(f"pool: {self.pool!r} has no capacity in the config")


    def warnings_against(self, cfg) -> list[str]:
        """What is valid but probably not meant, one message a field (named from the lever)."""
        out, first = [], cfg.horizon.simulated_from
        if self.start_date < first:
            out.append(f"start_date: {self.start_date} is before the run starts ({first}): the lever acts from the "
                       "run's first day as if already in place (at the strength its ramp has reached by then), "
                       "so its effect is not a change made during the run")
        full = self.start_date + dt.timedelta(days=self.ramp_up_days)
        if self.end_date is not None and self.ramp_up_days > 0 and self.end_date < full:
            reached = (self.end_date - self.start_date).days / self.ramp_up_days
            out.append(f"ramp_up_days: {self.ramp_up_days:g} days, longer than the lever runs ({self.start_date} to "
                       f"{self.end_date}): the effect reaches only {reached:.0%} of its size before it ends")
        out += self._type_age_warnings(cfg)
        if self.kind == "concurrency" and (other := [t for t in self.to_types if t != "concurrent_foster_to_adopt"]):
            out.append(f"to_types: {other}: a concurrency lever places babies with concurrent (foster-to-adopt) carers; "
                       "a shift to other types is an entry_reduction or placement mix change")
        base = cfg.demand.referrals.early_help_share
        if self.kind == "early_help" and (low := prior_support(self.effect)[0]) < base:
            # the effect is the share the lever brings referrals to, not a change in it
            out.append(f"effect: can draw a Family CAF share of {low:g}, below the config's early_help_share "
                       f"{base:g}: such a draw gives fewer referrals a Family CAF and raises entries")
        return out

    def _type_age_warnings(self, cfg) -> list[str]:
        """to_types that no child of the cohort's ages can have (the config's age limits):
        the placement policy would send each of them elsewhere (QA15)."""
        lo, hi = self.cohort.age_years
        if self.kind == "uasc_pathway":  # the ages UASC arrive at, within the cohort's
            arrive = cfg.demand.uasc.arrival_ages
            ages = [a for a in arrive if lo <= a <= hi]
            if not ages:
                return [f"cohort.age_years: UASC arrive aged {_ages(arrive[0], arrive[-1])} "
                        f"(demand.uasc.age_years_distribution), none of them aged {_ages(lo, hi)}: the lever acts on "
                        "no one"] if arrive else []
            lo, hi = min(ages), max(ages)
        out = []
        for t in self.to_types:
            spec = cfg.placements.types[t]
            if spec.max_age_years < lo or spec.min_age_years > hi:
                out.append(f"to_types: {t} takes children aged {_ages(spec.min_age_years, spec.max_age_years)} "
                           f"(placements.types.{t}), and none of this lever's, aged {_ages(lo, hi)}: the placement "
                           "policy sends them elsewhere")
        return out


def _ages(lo: float, hi: float) -> str:
    return f"{lo:g}" if lo == hi else f"{lo:g}-{hi:g}"


class ActiveLever:
    """A lever in one replication: its drawn effect and its time profile in model days."""

    __slots__ = ("name", "spec", "effect", "start", "ramp", "end", "lo", "hi", "needs", "factors", "types")

    def __init__(self, name: str, spec: Lever, effect: float, start_date: dt.date):
        self.name, self.spec, self.effect = name, spec, effect
        self.start = float((spec.start_date - start_date).days)
        self.ramp = float(spec.ramp_up_days)
        self.end = float((spec.end_date - start_date).days) if spec.end_date else math.inf
        c = spec.cohort
        self.lo, self.hi = c.age_years[0] * 365.25, (c.age_years[1] + 1) * 365.25
        self.needs = {NEEDS.index(n) for n in c.needs} or None
        self.factors = sum(1 << PARENTAL_FACTORS.index(f) for f in c.parental_factors)
        self.types = {PLACEMENT_TYPES.index(t) for t in c.placement_types} or None

    def strength(self, t: float) -> float:
        """0 before the start and after the end; rises linearly to 1 over the ramp."""
        if t < self.start or t >= self.end:
            return 0.0
        if self.ramp <= 0:
            return 1.0
        return min((t - self.start) / self.ramp, 1.0)

    def strength_array(self, t: np.ndarray) -> np.ndarray:
        s = np.clip((t - self.start) / self.ramp, 0, 1) if self.ramp > 0 else (t >= self.start).astype(float)
        return np.where((t >= self.start) & (t < self.end), s, 0.0)

    def includes(self, child, t: float) -> bool:
        c = self.spec.cohort
        age = t - child.dob
        if not (self.lo <= age < self.hi):
            return False
        if self.needs is not None and child.need not in self.needs:
            return False
        if self.factors and not (child.factors & self.factors):
            return False
        if c.uasc is not None and child.uasc != c.uasc:
            return False
        return self.types is None or child.ptype in self.types

    def includes_cohort(self, cohort) -> np.ndarray:
        c = self.spec.cohort
        age = cohort.time - cohort.dob
        ok = (age >= self.lo) & (age < self.hi)
        if self.needs is not None:
            ok &= np.isin(cohort.need, list(self.needs))
        if self.factors:
            ok &= (cohort.factors & self.factors) > 0
        if c.uasc is not None:
            ok &= np.full(len(ok), cohort.uasc == c.uasc)
        return ok


def shift_weights(weights: dict, to_types: list[str], share: float) -> dict:
    """Move `share` of the probability to `to_types` (equally), keeping a valid mix."""
    if share <= 0:
        return weights
    out = {k: v * (1 - share) for k, v in weights.items()}
    for t in to_types:
        out[t] = out.get(t, 0.0) + share / len(to_types)
    return out


MONTH_DAYS = 30.4  # a ramp moves in steps of a month: 365.25 / 12, rounded


def towards(effect: float):
    """A multiplier moving from 1 (strength 0) to `effect` (strength 1), as a function of strength."""
    return lambda s: 1.0 + (effect - 1.0) * s


def monthly_steps(lever: ActiveLever, t_end: float, value_at) -> list[tuple[float, float]]:
    """A ramped effect as monthly steps [(from_day, value), ...], the first from -inf:
    value_at(0) before the start and from the end date, value_at of the strength in the
    middle of each month (or of the part-month cut short by the ramp's end or the end date)
    over the ramp, value_at(1) after it. Used for prices split by days, recruitment and the
    clocks of time levers."""
    steps = [(-math.inf, value_at(0.0))]
    full = lever.start + lever.ramp
    stop = min(full, t_end, lever.end)
    t = lever.start
    while t < stop:
        steps.append((t, value_at(lever.strength((t + min(t + MONTH_DAYS, stop)) / 2))))
        t += MONTH_DAYS
    if full < lever.end:
        steps.append((min(full, t_end) if lever.ramp else lever.start, value_at(1.0)))
    if lever.end < math.inf:
        steps.append((lever.end, value_at(0.0)))
    return steps


class LeverModifiers(Modifiers):
    """The model's hooks, answered by a scenario's levers for one replication."""

    active = True

    def __init__(self, cfg, levers: list[ActiveLever]):
        self.cfg = cfg
        self.levers = levers
        self.t_end = float((cfg.horizon.end_date - cfg.horizon.start_date).days + 1)
        by = {}
        for lv in levers:
            by.setdefault(lv.spec.kind, []).append(lv)
        self.by_kind = {k: tuple(v) for k, v in by.items()}
        if "early_help" in by:
            self.early_help_share_at = self._early_help_share_at
        # hot-path hooks: the levers each one needs, looked up once
        k = self._kind
        self._exit_levers = {r: tuple(lv for lv in k("exit_speed") if lv.spec.route == r) for r in ROUTES}
        self._exit_levers["returned_home"] += k("high_cost_review")
        self._move_levers = k("placement_stability") + k("high_cost_review")
        self._next_levers = bool(self._move_levers or k("step_down"))
        self._entry_levers = k("concurrency") + k("uasc_pathway")
        self._warps = {}

    # How each time lever's strength s (0 to 1) multiplies the durations it acts on.
    # Preventing a share e of moves thins the move process to (1 - e) of its rate (kept
    # above 5%, so a clock never stops); a time multiplier e moves from 1 to e.
    _duration_multiplier = {
        "placement_stability": lambda lv: (lambda s, e=lv.effect: 1.0 / max(1.0 - e * s, 0.05)),
        "high_cost_review": lambda lv: towards(lv.effect),
        "exit_speed": lambda lv: towards(lv.effect),
    }

    def _kind(self, k):
        return self.by_kind.get(k, ())

    def affects(self, hook: str) -> bool:
        if hook.startswith("exit:"):
            return bool(self._exit_levers.get(hook[5:]))
        return bool({"move": self._move_levers, "next_placement": self._next_levers,
                     "entry_placement": self._entry_levers, "pool_match": self._kind("occupancy"),
                     "staying_put": self._kind("staying_put")}[hook])

    # ---------------------------------------------------------------- Number
    def diversion_probability(self, cohort, route):
        keep = np.ones(len(cohort))
        for lv in self._kind("entry_reduction"):
            c = lv.spec.cohort
            if route == "uasc" and c.uasc is not True:
                continue
            if route == "edge_of_care" and c.uasc is True:
                continue
            keep *= 1.0 - lv.effect * lv.strength_array(cohort.time) * lv.includes_cohort(cohort)
        return 1.0 - keep

    def _early_help_share_at(self, times):
        base = self.cfg.demand.referrals.early_help_share
        share = np.full(len(np.atleast_1d(times)), base, dtype=float)
        for lv in self._kind("early_help"):
            share = share + (max(lv.effect, 0.0) - share) * lv.strength_array(np.atleast_1d(times))
        return np.clip(share, 0, 1)

    def service_success(self, name, t, base):
        for lv in self._kind("edge_service"):
            target = lv.spec.service or lv.spec.new_service.name
            if target == name and lv.strength(t) > 0:
                base = base + (lv.effect - base) * lv.strength(t)
        return min(max(base, 0.0), 1.0)

    def extra_services(self):
        out = []
        for lv in self._kind("edge_service"):
            if lv.spec.new_service is not None:
                out.append(lv.spec.new_service.model_copy(update={
                    "start_date": lv.spec.start_date, "end_date": lv.spec.end_date,
                    "success_probability": min(max(lv.effect, 0.0), 1.0)}))
        return out

    def service_referral_share(self, name, times, base):
        share = np.full(len(times), base, dtype=float)
        for lv in self._kind("edge_service"):
            if lv.spec.service == name and lv.spec.referral_share is not None:
                share += (lv.spec.referral_share - share) * lv.strength_array(times)
        return share

    def service_resizes(self):
        """(service name, from_day, to_day, caseload) for resized existing services: the
        caseload holds from the lever's start to its end (inf: the horizon)."""
        return [(lv.spec.service, lv.start, lv.end, lv.spec.caseload_capacity) for lv in self._kind("edge_service")
                if lv.spec.service and lv.spec.caseload_capacity is not None]

    # ---------------------------------------------------------------- placements
    def move_warp(self, t, child, ptype):
        if not self._move_levers:
            return None
        return self._warp([lv for lv in self._move_levers if t < lv.end and lv.includes(child, t)])

    def _warp(self, levers: list[ActiveLever]) -> TimeWarp | None:
        """The clock of a child that the given levers include, from their time profiles
        (built once per set of levers and replication)."""
        if not levers:
            return None
        key = tuple(id(lv) for lv in levers)
        try:
            return self._warps[key]
        except KeyError:
            w = self._warps[key] = combine([monthly_steps(lv, math.inf, self._duration_multiplier[lv.spec.kind](lv))
                                            for lv in levers])
            return w

    def next_placement_weights(self, t, child, ptype, weights):
        if not self._next_levers:
            return weights
        for lv in self._kind("placement_stability"):
            s = lv.strength(t)
            if s and lv.includes(child, t):
                # escalations prevented: residential destinations shrink by the same share
                cut = lv.effect * s
                weights = {k: (v * (1 - cut) if k in RESIDENTIAL else v) for k, v in weights.items()}
                total = sum(weights.values())
                weights = {k: v / total for k, v in weights.items()}
        for lv in self._kind("step_down") + self._kind("high_cost_review"):
            s = lv.strength(t)
            if s and lv.includes(child, t) and lv.spec.to_types:
                share = lv.effect * s if lv.spec.kind == "step_down" else (lv.spec.share or 0.0) * s
                weights = shift_weights(weights, lv.spec.to_types, share)
        return weights

    def entry_placement_weights(self, t, child, weights):
        for lv in self._entry_levers:
            s = lv.strength(t)
            if s and lv.includes(child, t):
                to = lv.spec.to_types or ["concurrent_foster_to_adopt"]
                weights = shift_weights(weights, to, lv.effect * s)
        return weights

    def capacity_recruitment(self, pool):
        out = []
        for lv in self._kind("inhouse_recruitment") + self._kind("recruitment_funnel"):
            if lv.spec.pool != pool:
                continue
            per_year = lv.effect
            if lv.spec.kind == "recruitment_funnel":
                per_year = lv.spec.enquiries_per_year * lv.effect * lv.spec.places_per_household
            prev = 0.0
            for start, value in monthly_steps(lv, self.t_end, lambda s, v=per_year: v * s)[1:]:
                out.append((start, value - prev))  # increments, summed by the capacity process
                prev = value
        return out

    def pools_offered_first(self):
        pools = {}
        for lv in self._kind("inhouse_recruitment") + self._kind("recruitment_funnel"):
            if lv.spec.external_only_on_overflow:
                pools[lv.spec.pool] = min(pools.get(lv.spec.pool, math.inf), lv.start)
        return pools

    def pool_match_probability(self, pool, t, base):
        for lv in self._kind("occupancy"):
            if lv.spec.pool == pool:
                base = base + (lv.effect - base) * lv.strength(t)
        return min(max(base, 0.0), 1.0)

    # ---------------------------------------------------------------- Time
    def exit_warp(self, t, child, route):
        levers = self._exit_levers.get(route)
        if not levers:
            return None
        return self._warp([lv for lv in levers if t < lv.end and lv.includes(child, t)])

    def staying_put_share(self, t, base):
        for lv in self._kind("staying_put"):
            base = base + (lv.effect - base) * lv.strength(t)
        return min(max(base, 0.0), 1.0)

    # ---------------------------------------------------------------- Cost
    def cost_overrides(self, cfg):
        """Time-varying price changes for the metrics: (from_day, multiplier) steps."""
        unit = {}
        for lv in self._kind("unit_cost"):
            for t in (lv.spec.cohort.placement_types or PLACEMENT_TYPES):
                unit.setdefault(PLACEMENT_TYPES.index(t), []).append(
                    monthly_steps(lv, self.t_end, towards(lv.effect)))
        allowance = {}
        for lv in self._kind("allowance"):
            allowance.setdefault(lv.spec.allowance, []).append(
                monthly_steps(lv, self.t_end, towards(lv.effect)))
        contributions = [(lv.spec.share, monthly_steps(lv, self.t_end, lambda s, e=lv.effect: e * s))
                         for lv in self._kind("parental_contribution")]
        out = {}
        if unit:
            out["unit_cost_steps"] = unit
        if allowance:
            out["allowance_steps"] = allowance
        if contributions:
            out["contribution_steps"] = contributions
        return out


def prices_only(levers: dict[str, Lever], names: list[str]) -> bool:
    """Whether a scenario made of the named levers changes prices and nothing else."""
    return bool(names) and all(levers[n].kind in PRICE_ONLY_KINDS for n in names)


def applied_levers(levers: dict[str, Lever], names: list[str]) -> list[str]:
    """The named levers a scenario applies: a lever part of another one there is counted
    inside it, not again."""
    return [n for n in names if not (levers[n].part_of and levers[n].part_of in names)]


def activate(cfg, levers: dict[str, Lever], names: list[str], seed: int, replication: int) -> LeverModifiers:
    """The modifiers for one replication of a scenario made of the named levers."""
    chosen = applied_levers(levers, names)
    active = [ActiveLever(n, levers[n], draw_prior(levers[n].effect, seed, replication, "lever:" + n),
                          cfg.horizon.start_date) for n in chosen]
    return LeverModifiers(cfg, active)

