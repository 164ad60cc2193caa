"""The 0-17 population, which SSDA903 does not hold: the template's, unless the council's
demand does not fit in it."""

from __future__ import annotations

import math

from ..calendar import year_ending_31_march
from ..config.plausibility import (
    BAND_YEARS,
    ENGLAND_LAC_PER_10000,
    YEARS_OF_AGE,
    children_of_bands,
)
from ..config.schema import Population
from .estimate_recorder import EstimateRecorder

POPULATION_PATH = "population.children_0_17_by_year"
REFERRAL_HEADROOM = 2.0  # children of a band per referral a year, at least, if the stock gives fewer


def estimate_population(est: EstimateRecorder):
    """Keep the template's population (the report lists it), unless the council's estimated
    referrals outnumber the template's children of some age band: a council larger than the
    template's, whose config would be refused as impossible. Then the population is the
    council's own opening stock at England's rate of children looked after [ASSUME], raised
    if need be until every band has twice as many children as referrals (room for the
    referral rates' priors; the config's warnings then say that the rates are implausible)."""
    year = year_ending_31_march(est.start)
    template = Population(**est.out["population"]).children_in(year)
    referrals = est.out["demand"]["referrals"]["per_year_by_age_band"]
    children = children_of_bands(template)
    if all(n <= children[band] for band, n in referrals.items()):
        return
    stock = sum(est.out["opening"]["age_band_counts"].values())
    by_stock = stock / ENGLAND_LAC_PER_10000 * 1e4
    by_referrals = max(REFERRAL_HEADROOM * n * YEARS_OF_AGE / BAND_YEARS[band] for band, n in referrals.items())
    total = math.ceil(max(by_stock, by_referrals) / 100) * 100  # up: rounding down could undo the fit
    raised = ", raised to twice as many children of each age band as its referrals" if by_referrals > by_stock else ""
    est.set(POPULATION_PATH, {year: total}, display=f"{total:,.0f} in {year}",
            method=f"opening stock {stock} at England's {ENGLAND_LAC_PER_10000} looked after per 10,000 "
                   f"(2015, 2016){raised}",
            note=f"[ASSUME] the template's {template:,.0f} children aged 0-17 are fewer than this council's "
                 "estimated referrals need; replace with the council's ONS mid-year estimates")
    est.note(f"Population: the template's 0-17 population ({template:,.0f} in {year}) is too small for the "
             f"council's estimated referrals (a council larger than the template's), so it is estimated as "
             f"{total:,.0f} [ASSUME]: replace it with the council's ONS mid-year estimates, which set the rate "
             "per 10,000.")
