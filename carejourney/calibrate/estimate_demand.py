"""Demand: from observed first entries to the config's referrals and emergency shares.

The model makes entries as referrals x P(edge of care) x P(entry | edge of care):
edge-of-care arrivals in age band b come at rate A_b = referrals_b x p_edge, where
p_edge = (1 - early_help_share) x P(edge | no early help) + early_help_share x P(edge | early
help). A share e_b of arrivals are emergencies (police protection) and enter at once; the
rest enter with a probability and a delay set by the edge-of-care services and
`entry_probability_without_service`, and only before the day before their 18th birthday.
A delay can also carry a child into the next age band before entry.

`conversion_kernel` computes K[b, b'] = expected non-emergency entries in entry band b'
per non-emergency arrival in band b, from the config (ages uniform within the band, as the
model draws them; services take a referred child at once, i.e. no waiting list). With
p0 = entry_probability_without_service (the child "would enter" without help):

    P(entry | non-emergency arrival, age a) = sum over paths of P(path) x P(delay < time to 18 - 1 day)
    paths: referred to service S (probability: its referral_share among the services the
           child is eligible for, in the config's order, the shares together at most 1):
               p0 (1 - success_S) after intervention_days (failure), and
               p0 success_S relapse_probability after intervention_days + days_to_relapse
           not referred: p0 after days_to_entry

A referred child who waits longer than max_wait_days goes on as without a service, so when a
service has a waiting list this overstates its effect a little (at most referral_share x
success of the eligible entries).

Given observed entry rates at the start date, PP_b (police protection at entry) and NE_b
(other entries), `solve_arrivals` finds X_b = A_b e_b = PP_b and Y_b = A_b (1 - e_b) from
sum_b' Y_b' K[b', b] = NE_b (non-negative least squares), so A_b = X_b + Y_b and
e_b = X_b / A_b. Without band drift (K diagonal, K[b, b] = c_b) this is the familiar
e_b = q_b c_b / (1 - q_b + q_b c_b), with q_b = PP_b / (PP_b + NE_b) the emergency share of
entries. Referrals are then A_b / p_edge.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
from scipy.optimize import nnls

from ..vocab import AGE_BAND_LOWER_YEARS, AGE_BANDS, DAYS_PER_YEAR
from .estimate_fit import FitError, poisson_regression

BAND_UPPER_YEARS = (1, 5, 10, 16, 17.98)  # as the model draws ages within a band (demand.py)


def edge_probability(cfg) -> float:
    ref = cfg.demand.referrals
    return ((1 - ref.early_help_share) * ref.edge_of_care_probability_without_early_help
            + ref.early_help_share * ref.edge_of_care_probability_with_early_help)


def _quantiles(dist, n: int) -> np.ndarray:
    draw = dist.sampler()
    u = (np.arange(n) + 0.5) / n
    return np.array([draw(x) for x in u], dtype=float)


def _active_services(cfg, start: dt.date):
    out = []
    for s in cfg.edge_of_care.services:
        if s.caseload_capacity <= 0:
            continue
        if s.start_date is not None and s.start_date > start:
            continue
        if s.end_date is not None and s.end_date <= start:
            continue
        out.append(s)
    return out


def conversion_kernel(cfg, start: dt.date, need_by_band: dict | None = None,
                      n_age: int = 60, n_u: int = 40) -> np.ndarray:
    """K[b, b']: expected non-emergency entries in entry band b' per non-emergency arrival in b."""
    eoc = cfg.edge_of_care
    need_by_band = need_by_band or cfg.demand.children.need_by_age_band
    services = _active_services(cfg, start)
    d_entry = _quantiles(eoc.days_to_entry, n_u)
    d_relapse = _quantiles(eoc.days_to_relapse, n_u)
    lower = np.array(AGE_BAND_LOWER_YEARS, dtype=float)
    cutoff = 18.0 - 1.0 / DAYS_PER_YEAR
    nb = len(AGE_BANDS)
    K = np.zeros((nb, nb))
    p0 = eoc.entry_probability_without_service

    def land(ages: np.ndarray, delays: np.ndarray, weight: np.ndarray) -> np.ndarray:
        """Entries by band for children of these ages (with weights) after each delay."""
        at = ages[:, None] + delays[None, :] / DAYS_PER_YEAR
        ok = at < cutoff
        band = np.clip(np.searchsorted(lower, at, side="right") - 1, 0, nb - 1)
        w = np.broadcast_to(weight[:, None] / len(delays), at.shape)
        return np.bincount(band[ok], weights=w[ok], minlength=nb)

    for b in range(nb):
        lo, hi = AGE_BAND_LOWER_YEARS[b], BAND_UPPER_YEARS[b]
        ages = lo + (np.arange(n_age) + 0.5) / n_age * (hi - lo)
        age_days = ages * DAYS_PER_YEAR
        mix = need_by_band[AGE_BANDS[b]]
        for need, p_need in mix.items():
            if p_need <= 0:
                continue
            # referral shares partition the eligible children, in the config's order
            p_ref = np.zeros((len(services), n_age))
            taken = np.zeros(n_age)
            for i, s in enumerate(services):
                lo_d, hi_d = s.eligible_age_years[0] * 365.25, (s.eligible_age_years[1] + 1) * 365.25
                ok = (age_days >= lo_d) & (age_days < hi_d)
                if s.eligible_needs is not None:
                    ok &= need in s.eligible_needs
                share = np.where(ok, np.minimum(s.referral_share, 1.0 - taken), 0.0)
                p_ref[i] = share
                taken = taken + share
            w_age = np.full(n_age, p_need / n_age) * p0
            # not referred: enter without a service
            K[b] += land(ages, d_entry, w_age * (1 - taken))
            for i, s in enumerate(services):
                sel = p_ref[i] > 0
                if not sel.any():
                    continue
                d_int = _quantiles(s.intervention_days, n_u)
                w = w_age[sel] * p_ref[i][sel]
                K[b] += land(ages[sel], d_int, w * (1 - s.success_probability))
                both = (d_int[:, None] + d_relapse[None, :]).ravel()
                K[b] += land(ages[sel], both, w * s.success_probability * eoc.relapse_probability)
    return K


def expected_entries(cfg, start: dt.date, arrivals_per_year: np.ndarray, emergency: np.ndarray,
                     K: np.ndarray | None = None) -> np.ndarray:
    """Expected entries a year by entry band for edge-of-care arrivals a year by arrival band."""
    K = conversion_kernel(cfg, start) if K is None else K
    a = np.asarray(arrivals_per_year, dtype=float)
    e = np.asarray(emergency, dtype=float)
    return a * e + (a * (1 - e)) @ K


def solve_arrivals(pp: np.ndarray, ne: np.ndarray, K: np.ndarray):
    """(arrivals a year A_b, emergency share e_b) that reproduce entry rates pp_b and ne_b."""
    pp = np.asarray(pp, dtype=float)
    y, _ = nnls(K.T, np.asarray(ne, dtype=float))
    a = pp + y
    e = np.divide(pp, a, out=np.zeros_like(a), where=a > 0)
    return a, e


# ------------------------------------------------------------------ starts by year
def collection_year_of(dates: pd.Series) -> pd.Series:
    return dates.dt.year + (dates.dt.month >= 4).astype(int)


def starts_regression(entries: pd.DataFrame, window, start: dt.date, estimate_trend: bool = True) -> dict:
    """Poisson log-linear regression of yearly entries: log rate = a_band + beta x years from start.

    `entries` has columns start (date) and band (index). Returns per-year rates at the start
    date by band with the SE of their logs, the trend (exp(beta) - 1) and its SE, the
    counts table and the fitted (expected) counts. Bands without entries get rate 0.
    """
    years = list(range(window.first_year, window.last_year + 1))
    nb = len(AGE_BANDS)
    cy = collection_year_of(entries["start"]) if len(entries) else pd.Series(dtype=int)
    counts = np.zeros((len(years), nb))
    for (y, b), n in pd.Series(1, index=pd.MultiIndex.from_arrays([cy, entries["band"]])).groupby(level=[0, 1]).sum().items():
        if y in years:
            counts[years.index(y), int(b)] = n
    start_ts = pd.Timestamp(start)
    expo = np.array([(pd.Timestamp(y, 4, 1) - pd.Timestamp(y - 1, 4, 1)).days for y in years], dtype=float)
    mid = np.array([((pd.Timestamp(y - 1, 4, 1) - start_ts).days + e / 2) / 365.25 for y, e in zip(years, expo)])
    fitted_bands = [b for b in range(nb) if counts[:, b].sum() > 0]
    # a trend needs entries in every year (a year without any would send it to -infinity)
    trend = estimate_trend and len(years) >= 2 and len(fitted_bands) > 0 and bool((counts.sum(1) > 0).all())
    rows, ev, ex = [], [], []
    for yi in range(len(years)):
        for j, b in enumerate(fitted_bands):
            x = np.zeros(len(fitted_bands) + int(trend))
            x[j] = 1
            if trend:
                x[-1] = mid[yi]
            rows.append(x)
            ev.append(counts[yi, b])
            ex.append(expo[yi])
    rate = np.zeros(nb)
    se_log = np.full(nb, math.nan)
    beta, se_beta = 0.0, math.nan
    fitted = np.zeros_like(counts)
    if fitted_bands:
        try:
            fit = poisson_regression(np.array(ev), np.array(ex), np.array(rows))
        except FitError:
            if trend:  # the trend the data cannot identify: none (each band's rate alone always can be)
                return starts_regression(entries, window, start, estimate_trend=False)
            raise
        se = fit.se()
        for j, b in enumerate(fitted_bands):
            rate[b] = math.exp(fit.coef[j]) * 365.25
            se_log[b] = se[j]
        if trend:
            beta, se_beta = float(fit.coef[-1]), float(se[-1])
            if not (np.isfinite(se_beta) and se_beta < 1.0):  # not informative: no trend
                return starts_regression(entries, window, start, estimate_trend=False)
        for j, b in enumerate(fitted_bands):
            fitted[:, b] = np.exp(fit.coef[j] + beta * mid) * expo
    return {
        "years": years,
        "counts": counts,
        "fitted_counts": fitted,  # expected entries by year and band under the fitted model
        "rate_per_year": rate,
        "se_log": se_log,
        "trend": math.expm1(beta),
        "trend_se": math.exp(beta) * se_beta if np.isfinite(se_beta) else math.nan,
        "trend_estimated": trend,
    }
