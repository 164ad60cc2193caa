"""Whether a config's demand is plausible for its own population and looked-after stock.

The schema's MAX_* bounds refuse values no council comes near; these checks compare demand
with the council the config describes:

- errors (`demand_errors`, refused by the schema wherever a config is validated): more
  referrals a year in an age band than children of that age; UASC arriving at rates that
  would put more of them in care than the council has children;
- warnings (`demand_warnings`, printed by `load_config` as `warning:` lines): a referral
  rate per 10,000 children over IMPLAUSIBLE_MULTIPLE times the reference below; UASC
  arriving at rates that would put more of them in care than the whole looked-after stock
  at the start; a population that changes by over a fifth a year between two given years
  or by its growth_per_year; a trend, step or shrinking population that makes more referrals
  than children in a later year of the run.

Children in an age band are the 0-17 population times the band's share of the 18 years of
age (the single years of age are about equally many), in the run's first year ending 31 March.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import numpy as np

from ..calendar import year_ending_31_march
from ..vocab import AGE_BAND_AGES, AGE_BAND_LABEL, YEARS_OF_AGE

if TYPE_CHECKING:
    from .schema import Config

BAND_YEARS = {band: last - first + 1 for band, (first, last) in AGE_BAND_AGES.items()}
# No referral or children-in-need rate is in ../shared/data (published_figures.csv, README),
# so the reference is the bundled national config, configs/england-2015.yaml: its referrals
# per 10,000 children of each band in 2015-16 (checked in tests/unit/test_plausibility.py).
# Like every config's, its referral levels are calibrated with the edge-of-care
# probabilities to give the published starts, not DfE referral counts; the bundled councils
# are at 0.35-1.0 times it. Several times it is an extra zero more often than a real council.
REFERENCE_REFERRALS_PER_10000 = {"under_1": 3420, "1_to_4": 610, "5_to_9": 530, "10_to_15": 580,
                                 "16_to_17": 1310}
IMPLAUSIBLE_MULTIPLE = 3.0
# England's children looked after per 10,000 children under 18 at 31 March 2015 and 2016
# (../shared/data/published_figures.csv, DfE revised series): 60 both years. A council's
# opening stock beyond IMPLAUSIBLE_MULTIPLE times it either way suggests another council's
# population (the bundled councils are at 37-46).
ENGLAND_LAC_PER_10000 = 60
# England's children aged 0-17 grew ~1% a year in 2015-16 (configs: growth_per_year 0.011); a
# change of over a fifth a year between two given years is two sources mixed, not growth.
POPULATION_JUMP_PER_YEAR = 0.2


def demand_errors(cfg: Config) -> list[str]:
    """Demand no council can have, one message a field (named from the top of the config)."""
    out = []
    year, children = first_year(cfg), children_by_band(cfg)
    for band, n in cfg.demand.referrals.per_year_by_age_band.items():
        if n > children[band]:
            out.append(f"demand.referrals.per_year_by_age_band.{band}: {n:,.0f} referrals a year, more than the "
                       f"{children[band]:,.0f} children aged {AGE_BAND_LABEL[band]} the council has "
                       f"({_share(band)} of population.children_0_17_by_year in {year}): not possible (a typo?)")
    peak = uasc_peak(cfg)
    if peak:
        count, day, i = peak
        year = year_ending_31_march(day)
        population = cfg.population.children_in(year)
        if count > population:
            out.append(f"demand.uasc.periods[{i}]: {_uasc_text(cfg, count, day, i)}, more than the {population:,.0f} "
                       f"children aged 0-17 the council has (population.children_0_17_by_year in {year}): not "
                       "possible (a typo?)")
    return out


def demand_warnings(cfg: Config) -> list[str]:
    """Demand a council could have but probably does not mean, one message a field (for a config
    that validated: demand_errors found nothing)."""
    out = []
    year, children = first_year(cfg), children_by_band(cfg)
    for band, n in cfg.demand.referrals.per_year_by_age_band.items():
        rate, reference = n / children[band] * 1e4, REFERENCE_REFERRALS_PER_10000[band]
        if rate > IMPLAUSIBLE_MULTIPLE * reference:
            out.append(f"demand.referrals.per_year_by_age_band.{band}: {n:,.0f} a year is {rate:,.0f} per 10,000 "
                       f"children aged {AGE_BAND_LABEL[band]} ({_share(band)} of population.children_0_17_by_year "
                       f"in {year}), over {IMPLAUSIBLE_MULTIPLE:g} times the {reference:,} of "
                       "configs/england-2015.yaml: an extra zero?")
    stock = cfg.opening.children
    rate, england = stock / cfg.population.children_in(year) * 1e4, ENGLAND_LAC_PER_10000
    if stock and not england / IMPLAUSIBLE_MULTIPLE <= rate <= england * IMPLAUSIBLE_MULTIPLE:
        out.append(f"population.children_0_17_by_year: the {stock:,} looked after at the start are {rate:,.0f} per "
                   f"10,000 children aged 0-17 in {year}, against England's {ENGLAND_LAC_PER_10000} (2015): is the "
                   "population another council's?")
    out += later_demand_warnings(cfg)
    growth = cfg.population.growth_per_year
    if abs(growth) > POPULATION_JUMP_PER_YEAR:
        out.append(f"population.growth_per_year: {growth:+.0%} a year: a child population changes by a few per "
                   "cent a year (England's grew ~1%)")
    by_year = sorted(cfg.population.children_0_17_by_year.items())
    for (y0, n0), (y1, n1) in zip(by_year, by_year[1:]):
        change = (n1 / n0) ** (1 / (y1 - y0)) - 1 if n0 > 0 else 0.0
        if abs(change) > POPULATION_JUMP_PER_YEAR:
            out.append(f"population.children_0_17_by_year: {n0:,.0f} in {y0} then {n1:,.0f} in {y1} ({change:+.0%} a "
                       "year): a child population changes by a few per cent a year; are the years from different "
                       "councils or sources (`extends:` merges them year by year)?")
    peak = uasc_peak(cfg)
    if peak and 0 < stock < peak[0]:  # a config with no one in care at the start has no stock to compare with
        count, day, i = peak
        out.append(f"demand.uasc.periods[{i}]: {_uasc_text(cfg, count, day, i)}, more than the whole looked-after "
                   f"stock at the start ({stock:,}, opening.age_band_counts): more arrivals than meant?")
    return out


def later_demand_warnings(cfg: Config) -> list[str]:
    """Referrals the trend and steps make, against the children the population has, in each
    later year of the run: the first year is checked as an error (demand_errors), but a trend
    or a shrinking population can pass it years later (QA: 906,823 referrals a year in 2027
    for ~150k children). One message, naming each age band at the first year it happens."""
    from ..model.demand import demand_multiplier  # the model's own trend and steps

    start, end = cfg.horizon.start_date, cfg.horizon.end_date
    first: dict[str, str] = {}
    for year in range(first_year(cfg) + 1, year_ending_31_march(end) + 1):
        a = max((dt.date(year - 1, 4, 1) - start).days, 0)
        b = (min(dt.date(year, 3, 31), end) - start).days
        steps = [d for d in ((st.from_date - start).days for st in cfg.demand.referrals.steps) if a <= d <= b]
        peak = float(np.max(demand_multiplier(cfg, start, np.array([a, b, *steps], dtype=float))))
        children = children_of_bands(cfg.population.children_in(year))
        for band, n in cfg.demand.referrals.per_year_by_age_band.items():
            if band not in first and n * peak > children[band]:
                first[band] = (f"aged {AGE_BAND_LABEL[band]} from the year ending 31 March {year} ({n * peak:,.0f} "
                               f"referrals a year, {children[band]:,.0f} children)")
    if not first:
        return []
    return [f"demand.referrals: trend_per_year and steps make more referrals a year than the population has "
            f"children (population.children_0_17_by_year, growth_per_year), not possible: {'; '.join(first.values())}. "
            "Is the trend, a step or the population's growth meant?"]


def first_year(cfg: Config) -> int:
    """The year ending 31 March that holds the run's start."""
    return year_ending_31_march(cfg.horizon.start_date)


def children_by_band(cfg: Config) -> dict[str, float]:
    """Children of each age band in the run's first year."""
    return children_of_bands(cfg.population.children_in(first_year(cfg)))


def children_of_bands(children_0_17: float) -> dict[str, float]:
    """Children of each age band among `children_0_17`: a band's share of the 18 years of age."""
    return {band: children_0_17 * years / YEARS_OF_AGE for band, years in BAND_YEARS.items()}


def uasc_peak(cfg: Config) -> tuple[float, dt.date, int] | None:
    """(the most UASC expected in care at once from the arrival periods, the day, the period
    arriving then or last), or None without periods. Each stays until 18, from the middle of
    their year of age, unless assessed as an adult (counted as leaving at once)."""
    u = cfg.demand.uasc
    if not u.periods:
        return None
    staying = 1 - u.age_assessment_18_plus_probability
    stays = {age: (YEARS_OF_AGE - age - 0.5) * 365.25 for age in u.age_years_distribution}
    spans = [(p.from_date.toordinal(), p.to_date.toordinal(), p.arrivals) for p in u.periods]

    # only arrivals in the run are simulated (those before it are in the opening stock)
    h = cfg.horizon
    first, last = h.simulated_from.toordinal(), h.end_date.toordinal()

    def in_care(t: float) -> float:
        return staying * sum(n / (b - a) * share * max(0.0, min(b, t) - max(a, first, t - stays[age]))
                             for a, b, n in spans for age, share in u.age_years_distribution.items())

    # in_care is piecewise linear: its highest point in the run is where a period or a stay
    # starts or ends, or at the run's start or end
    turns = {t + s for t in (first, *(x for a, b, _ in spans for x in (a, b))) for s in (0.0, *stays.values())}
    t = max(sorted({first, last} | {x for x in turns if first <= x <= last}), key=in_care)
    if in_care(t) == 0:
        return None
    i = max((j for j, (a, _, _) in enumerate(spans) if a < t), default=0)  # at a boundary: the period ending
    return in_care(t), dt.date.fromordinal(int(t)), i


def _uasc_text(cfg: Config, count: float, day: dt.date, i: int) -> str:
    p = cfg.demand.uasc.periods[i]
    per_year = p.arrivals / ((p.to_date - p.from_date).days / 365.25)
    return (f"with {p.arrivals:,.0f} arrivals from {p.from_date} to {p.to_date} ({per_year:,.0f} a year) and those "
            f"before, about {count:,.0f} UASC would be in care on {day} (each until 18 unless assessed as an adult)")


def _share(band: str) -> str:
    return f"{BAND_YEARS[band]}/{YEARS_OF_AGE}"
