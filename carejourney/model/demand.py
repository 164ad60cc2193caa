"""Demand: referrals (counted), children reaching the edge of care, and UASC arrivals.

Edge-of-care arrivals are a non-homogeneous Poisson process by age band, drawn by
thinning: candidates come at ENVELOPE times the baseline rate from the shared arrivals
stream, each with its own acceptance number. A scenario that lowers demand accepts a
subset of the same candidates, so every other child keeps its identity and its numbers.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np

from ..vocab import (
    AGE_BAND_LOWER_YEARS,
    AGE_BANDS,
    DAYS_PER_YEAR,
    NEEDS,
    PARENTAL_FACTORS,
)

ENVELOPE = 1.5  # levers may raise demand by up to 50% and keep exact common random numbers
BLOCK_DAYS = 365.25  # arrivals are drawn a year at a time (see edge_candidates)


def _day(date: dt.date, start: dt.date) -> float:
    return float((date - start).days)


def demand_multiplier(cfg, start: dt.date, t: np.ndarray) -> np.ndarray:
    """Trend and step changes in referrals, as a multiplier of the start-date rate."""
    ref = cfg.demand.referrals
    m = (1.0 + ref.trend_per_year) ** (t / 365.25)
    for step in ref.steps:
        m = np.where(t >= _day(step.from_date, start), m * step.multiplier, m)
    return m


def edge_probability(ref, early_help_share):
    return ((1 - early_help_share) * ref.edge_of_care_probability_without_early_help
            + early_help_share * ref.edge_of_care_probability_with_early_help)


def edge_rate_per_day(cfg, band: int) -> float:
    """Baseline edge-of-care arrivals a day for an age band, at the start date."""
    ref = cfg.demand.referrals
    return ref.per_year_by_age_band[AGE_BANDS[band]] / 365.25 * edge_probability(ref, ref.early_help_share)


def _block_peak(cfg, start: dt.date, a: float, b: float) -> float:
    """The largest demand multiplier over [a, b]: on a grid, and where a step begins."""
    steps = [x for x in (_day(st.from_date, start) for st in cfg.demand.referrals.steps) if a <= x <= b]
    return float(demand_multiplier(cfg, start, np.concatenate([np.linspace(a, b, 64), steps])).max())


def edge_candidates(cfg, block_rng, t0: float, t1: float):
    """Candidate arrivals over [t0, t1): times, age band, acceptance number, envelope rate.

    Drawn a year (BLOCK_DAYS) at a time, each year from its own generator `block_rng(k)`
    and under its own envelope, and the last year cut at t1: a year's candidates do not
    depend on how long the run is, so a shorter horizon gives the first years of a
    longer one exactly. A candidate's index (its child's row of uniforms) is its place
    in time order, which the cut leaves unchanged."""
    start = cfg.horizon.start_date
    ref = cfg.demand.referrals
    if ref.envelope_per_year_by_age_band is not None:
        # a fixed bound, whatever the rates and early-help share: the same candidates for
        # every parameter value (common random numbers for fitting)
        p_max = max(ref.edge_of_care_probability_without_early_help, ref.edge_of_care_probability_with_early_help)
        base = [ref.envelope_per_year_by_age_band[band] / 365.25 * p_max for band in AGE_BANDS]
    else:
        base = [edge_rate_per_day(cfg, b) for b in range(len(AGE_BANDS))]
    times, bands, accept_u, envelope = [], [], [], []
    for k in range(math.ceil((t1 - t0) / BLOCK_DAYS)):
        a = t0 + k * BLOCK_DAYS
        rng = block_rng(k)
        peak = _block_peak(cfg, start, a, a + BLOCK_DAYS)
        for band, rate in enumerate(base):
            lam = rate * peak * ENVELOPE
            n = rng.poisson(lam * BLOCK_DAYS)
            times.append(rng.uniform(a, a + BLOCK_DAYS, n))
            bands.append(np.full(n, band))
            accept_u.append(rng.random(n))
            envelope.append(np.full(n, lam))
    t = np.concatenate(times)
    order = np.argsort(t, kind="stable")  # the years do not overlap: year by year, then by time
    order = order[t[order] < t1]
    return t[order], np.concatenate(bands)[order], np.concatenate(accept_u)[order], np.concatenate(envelope)[order]


def accepted(cfg, times, bands, accept_u, envelope, early_help_share_at=None):
    """Which candidates are real arrivals under this scenario's demand."""
    ref = cfg.demand.referrals
    start = cfg.horizon.start_date
    share = ref.early_help_share if early_help_share_at is None else early_help_share_at(times)
    per_band = np.array([ref.per_year_by_age_band[b] / 365.25 for b in AGE_BANDS])
    rate = per_band[bands] * demand_multiplier(cfg, start, times) * edge_probability(ref, share)
    return accept_u < rate / envelope


def _month_bounds(cfg, n_months: int | None = None) -> np.ndarray:
    """Days (from the start) on which each calendar month of the horizon (or the first
    `n_months` months from the start month) begins, and the day after the last one ends."""
    h = cfg.horizon
    first = np.datetime64(h.start_date, "M")
    last = np.datetime64(h.end_date, "M") + 1 if n_months is None else first + n_months
    months = np.arange(first, last + 1)
    return (months.astype("datetime64[D]") - np.datetime64(h.start_date, "D")).astype(float)


def referral_counts(cfg, block_rng, early_help_share_at=None) -> np.ndarray:
    """Monthly referrals by age band: rows (month index, age band, referrals, with early help).

    Drawn twelve months at a time, each year from its own generator `block_rng(k)`, so a
    month's count does not depend on how long the run is."""
    ref = cfg.demand.referrals
    n_months = len(_month_bounds(cfg)) - 1
    n_blocks = math.ceil(n_months / 12)
    bounds = _month_bounds(cfg, 12 * n_blocks)
    mid = (bounds[:-1] + bounds[1:]) / 2
    length = bounds[1:] - bounds[:-1]
    mult = demand_multiplier(cfg, cfg.horizon.start_date, mid)
    share = np.full(len(mid), ref.early_help_share) if early_help_share_at is None else early_help_share_at(mid)
    share = np.clip(share, 0, 1)
    per_day = np.array([ref.per_year_by_age_band[band] / 365.25 for band in AGE_BANDS])
    counts = np.empty((len(AGE_BANDS), len(mid)), dtype=np.int64)
    helped = np.empty_like(counts)
    for k in range(n_blocks):
        rng = block_rng(k)
        year = slice(12 * k, 12 * k + 12)
        counts[:, year] = n = rng.poisson(per_day[:, None] * length[year] * mult[year])
        helped[:, year] = rng.binomial(n, share[year])
    out = np.empty((len(AGE_BANDS), n_months, 4), dtype=np.int64)
    out[:, :, 0] = np.arange(n_months)
    out[:, :, 1] = np.arange(len(AGE_BANDS))[:, None]
    out[:, :, 2] = counts[:, :n_months]
    out[:, :, 3] = helped[:, :n_months]
    return out.reshape(-1, 4)


def month_starts(cfg) -> list[dt.date]:
    h = cfg.horizon
    out, d = [], dt.date(h.start_date.year, h.start_date.month, 1)
    while d <= h.end_date:
        out.append(d)
        d = dt.date(d.year + (d.month == 12), d.month % 12 + 1, 1)
    return out


def uasc_arrival_times(cfg, rng: np.random.Generator, t0: float, t1: float) -> np.ndarray:
    """UASC arrivals over [t0, t1): Poisson counts per input period, uniform within it.
    Every period is drawn to its end and then cut at t1, so the draws do not depend on
    how long the run is."""
    start = cfg.horizon.start_date
    out = []
    for p in cfg.demand.uasc.periods:
        a, b = max(_day(p.from_date, start), t0), _day(p.to_date, start)
        if b <= a:
            continue
        full = _day(p.to_date, start) - _day(p.from_date, start)
        n = rng.poisson(p.arrivals * (b - a) / full)
        out.append(rng.uniform(a, b, n))
    times = np.sort(np.concatenate(out)) if out else np.zeros(0)
    return times[times < t1]


@dataclass
class Cohort:
    """A batch of arriving children as arrays (one entry per child), drawn vectorised
    from each child's reserved uniforms."""

    index: np.ndarray  # row in the source's uniform matrix
    time: np.ndarray
    band: np.ndarray
    dob: np.ndarray
    t18: np.ndarray
    male: np.ndarray
    need: np.ndarray
    factors: np.ndarray
    sibling: np.ndarray
    uasc: bool
    rows: np.ndarray

    def __len__(self):
        return len(self.index)

    def age_years(self) -> np.ndarray:
        return (self.time - self.dob) / DAYS_PER_YEAR


def _categorical_codes(u: np.ndarray, mix: dict[str, float], names: tuple[str, ...]) -> np.ndarray:
    keys = list(mix)
    cum = np.cumsum([mix[k] for k in keys])
    cum[-1] = 1.0
    pick = np.minimum(np.searchsorted(cum, u, side="right"), len(keys) - 1)
    return np.array([names.index(k) for k in keys])[pick]


def edge_cohort(cfg, factory, idx: np.ndarray, times: np.ndarray, bands: np.ndarray) -> Cohort:
    """Attributes of the children reaching the edge of care: age, sex, need, factors."""
    from .children import U_AGE, U_FACTORS, U_NEED, U_SEX, U_SIBLING

    attrs = cfg.demand.children
    rows = factory.rows(idx)
    t, b = times[idx], bands[idx]
    dob = t - age_in_band_days(b, rows[:, U_AGE])
    need = np.empty(len(idx), dtype=np.int64)
    for k, band in enumerate(AGE_BANDS):
        sel = b == k
        need[sel] = _categorical_codes(rows[sel, U_NEED], attrs.need_by_age_band[band], NEEDS)
    factors = np.zeros(len(idx), dtype=np.int64)
    for k, name in enumerate(PARENTAL_FACTORS):
        factors |= (rows[:, U_FACTORS + k] < attrs.parental_factor_prevalence.get(name, 0.0)).astype(np.int64) << k
    return Cohort(idx, t, b, dob, factory.birthdays_18(dob), rows[:, U_SEX] < attrs.male_share, need, factors,
                  rows[:, U_SIBLING] < attrs.sibling_group_share, False, rows)


def uasc_cohort(cfg, factory, times: np.ndarray) -> Cohort:
    """UASC arrivals: age from the input distribution, need N8 (absent parenting)."""
    from .children import U_AGE, U_AGE_FRACTION, U_SEX

    u = cfg.demand.uasc
    idx = np.arange(len(times))
    rows = factory.rows(idx)
    ages = np.array(sorted(u.age_years_distribution))
    cum = np.cumsum([u.age_years_distribution[a] for a in ages])
    cum[-1] = 1.0
    age = ages[np.minimum(np.searchsorted(cum, rows[:, U_AGE], side="right"), len(ages) - 1)]
    dob = times - (age + rows[:, U_AGE_FRACTION] * 0.98) * DAYS_PER_YEAR
    n = len(times)
    return Cohort(idx, times, np.where(age >= 16, 4, 3), dob, factory.birthdays_18(dob),
                  rows[:, U_SEX] < u.male_share, np.full(n, NEEDS.index("N8_absent_parenting")),
                  np.zeros(n, dtype=np.int64), np.zeros(n, dtype=bool), True, rows)


BAND_LOWER_YEARS = np.array(AGE_BAND_LOWER_YEARS, dtype=float)
BAND_UPPER_YEARS = np.array([1, 5, 10, 16, 17.98])  # 16-17s arrive before their 18th birthday


def age_in_band_days(band: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Ages (days) uniformly within age bands, before the 18th birthday."""
    lo, hi = BAND_LOWER_YEARS[band], BAND_UPPER_YEARS[band]
    return (lo + u * (hi - lo)) * DAYS_PER_YEAR
