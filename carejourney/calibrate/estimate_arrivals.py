"""Arrivals: UASC, and demand (referrals) from first entries.

- UASC first entries: ages, sex, placement by age and the 18+ age assessment (a cure model).
- Demand: first entries a year by age band (log-linear Poisson with a trend), turned into
  referrals through the template's own edge-of-care conversion (estimate_demand holds the
  formulas); the police protection share of entries gives the edge of care's emergency share.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..uncertainty import get_path, set_path
from ..vocab import AGE_BANDS
from . import estimate_demand as dem
from .estimate_data import days_between
from .estimate_fit import _r, beta_from_mean_se, beta_interval, fit_cure_exponential
from .estimate_plots import EntryCounts
from .estimate_recorder import MIN_MIX, NB, EstimateRecorder, counts_of, mix
from .estimate_report import Estimate, fmt_count

UASC_ARRIVALS_PATH = "demand.uasc.periods"


def estimate_uasc(est: EstimateRecorder):
    pe = est.d.periods
    u = pe[pe["in_window_start"] & pe["first_period"] & pe["uasc"].astype(bool)]
    est.report.data_summary["uasc_first_entries"] = len(u)
    if len(u) < MIN_MIX:
        est.keep("demand.uasc", f"fewer than {MIN_MIX} UASC entries in the window")
        return
    ages = u["age_at_entry_years"].clip(0, 17).astype(int)
    est.set("demand.uasc.age_years_distribution", mix(counts_of(ages)), n=len(u),
            method="empirical ages (whole years) of UASC at first entry (point estimate)")
    est.set_share("demand.uasc.male_share", int(u["male"].sum()), int((~u["male"].astype(bool)).sum()))
    table = {}
    for age, grp in u.groupby(ages):
        if len(grp) >= MIN_MIX:
            table[int(age)] = mix(counts_of(grp["placement_type_at_entry"]))
    if table:
        est.set("demand.uasc.placement_by_age_years", table, n=len(u),
                method=f"placement at entry of UASC by age (ages with at least {MIN_MIX})")
    ev = u["exit_class"].eq("age_assessment")
    t = days_between(u["start"], u["end"].where(u["ended"], est.window.end)).clip(lower=0.5)
    cf = est.fit("demand.uasc.age_assessment_18_plus_probability", "UASC 18+ age assessments (cure model)",
                 fit_cure_exponential, t.to_numpy(), ev.to_numpy(), np.zeros(len(u), dtype=int), 1)
    if cf is None:
        return  # kept from the template, the reason in the report
    if cf.events[0] > 0:
        a, b = beta_from_mean_se(float(cf.p[0]), float(cf.p_se[0]))
        lo, hi = beta_interval(a, b)
        est.set("demand.uasc.age_assessment_18_plus_probability", _r(float(cf.p[0])), low=lo, high=hi,
                events=cf.events[0], n=len(u), method="cure model on UASC first periods (E15 exits)",
                prior={"dist": "beta", "alpha": _r(a, 6), "beta": _r(b, 6)})
        set_path(est.out, "demand.uasc.age_assessment_days", {"kind": "exponential", "mean_days": _r(cf.mean_days)})
        est.set_lognormal("demand.uasc.age_assessment_days.mean_days", cf.mean_days, cf.se_log_mean,
                          events=cf.events[0], method="cure model: exponential time to an 18+ age assessment")
    else:
        est.keep("demand.uasc.age_assessment_18_plus_probability", "no E15 exit of a UASC in the window")


def estimate_uasc_arrivals(est: EstimateRecorder):
    """The UASC input series over the run (needs the horizon: call after it is set). Where the
    data cover the run, each collection year's observed UASC first entries; before and after
    them, the window's mean rate: an assumption to replace with the council's own projection
    (arrivals follow national schemes and waves, which no return foretells). The template's
    periods were dated for its own run, so a run from another start had none."""
    pe = est.d.periods
    u = pe[pe["in_window_start"] & pe["first_period"] & pe["uasc"].astype(bool)]
    if len(u) < MIN_MIX:
        est.keep(UASC_ARRIVALS_PATH, f"fewer than {MIN_MIX} UASC first entries in the window")
        return
    h = est.out["horizon"]
    run_from = pd.Timestamp(h["start_date"]) - pd.Timedelta(days=float(h.get("warmup_days", 0) or 0))
    run_to = pd.Timestamp(h["end_date"]) + pd.Timedelta(days=1)
    w = est.window
    years = range(w.first_year, w.last_year + 1)
    counts = {y: int(((u["start"] >= pd.Timestamp(y - 1, 4, 1)) & (u["start"] < pd.Timestamp(y, 4, 1))).sum())
              for y in years}
    rate = sum(counts.values()) / len(counts)  # a year
    # (from, to, arrivals in the whole span): observed years, the mean rate outside them
    spans = [(pd.Timestamp(y - 1, 4, 1), pd.Timestamp(y, 4, 1), float(counts[y])) for y in years]
    if run_from < w.start:
        spans.insert(0, (run_from, w.start, rate * (w.start - run_from).days / 365.25))
    if run_to > w.end:
        spans.append((w.end, run_to, rate * (run_to - w.end).days / 365.25))
    periods = []
    for a, b, arrivals in spans:
        lo, hi = max(a, run_from), min(b, run_to)
        if hi > lo:  # the part inside the run, pro rata
            periods.append({"from_date": lo.date(), "to_date": hi.date(),
                            "arrivals": _r(arrivals * (hi - lo).days / (b - a).days, 4)})
    observed = ", ".join(f"{y - 1}-{str(y)[2:]} {c}" for y, c in counts.items())
    shown = "; ".join(f"{p['from_date']} to {p['to_date']}: {p['arrivals']:g}" for p in periods)
    est.set("demand.uasc.periods", periods, n=len(u), display=shown,
            method=f"UASC first entries by collection year where the data cover the run ({observed}); "
                   f"[ASSUME] their mean, {rate:.1f} a year, before and after the data: replace with the "
                   "council's own projection")


def estimate_demand_from_entries(est: EstimateRecorder):
    pe = est.d.periods
    first = pe[pe["in_window_start"] & pe["first_period"] & ~pe["uasc"].astype(bool)].copy()
    est.report.data_summary["first_entries"] = len(first)
    # need mix and sex of the children entering
    need_mix = {}
    for i, band in enumerate(AGE_BANDS):
        sel = first[first["band_at_entry"] == i]
        est.set_mix(f"demand.children.need_by_age_band.{band}", counts_of(sel["need_at_entry"]),
                    f"first entries aged {band}")
        need_mix[band] = get_path(est.out, f"demand.children.need_by_age_band.{band}")
    est.set_share("demand.children.male_share", int(first["male"].sum()), int((~first["male"].astype(bool)).sum()),
                  note="non-UASC children at first entry")
    if first.empty:
        est.keep("demand.referrals", "no first entry in the window")
        est.report.fit_data["entries"] = "no first entry in the window"
        return
    reg = dem.starts_regression(first.rename(columns={"band_at_entry": "band"}), est.window, est.start)
    est.report.fit_data["entries"] = EntryCounts(list(reg["years"]), np.asarray(reg["counts"], dtype=float),
                                                 np.asarray(reg["fitted_counts"], dtype=float),
                                                 bool(reg["trend_estimated"]))
    rate = reg["rate_per_year"]
    pp = first["legal_status_at_entry"].eq("police_protection")
    n_b = np.bincount(first["band_at_entry"], minlength=NB).astype(float)
    pp_b = np.bincount(first.loc[pp, "band_at_entry"], minlength=NB).astype(float)
    q = np.divide(pp_b, n_b, out=np.zeros(NB), where=n_b > 0)
    tcfg = est.tcfg
    K = dem.conversion_kernel(tcfg, est.start, need_by_band=need_mix)
    A, e = dem.solve_arrivals(rate * q, rate * (1 - q), K)
    p_edge = dem.edge_probability(tcfg)
    t_ref = est.template["demand"]["referrals"]["per_year_by_age_band"]
    t_em = est.template["edge_of_care"]["emergency_share_by_age_band"]
    ref, em = {}, {}
    for i, band in enumerate(AGE_BANDS):
        if n_b[i] == 0:
            ref[band], em[band] = 0.0, float(t_em[band])
            est.note(f"No first entry aged {band} in the window: referrals for that band set to 0.")
            continue
        ref[band] = _r(A[i] / p_edge) if p_edge > 0 else float(t_ref[band])
        em[band] = _r(min(max(e[i], 0.0), 1.0))
    years = len(reg["years"])
    est.set("demand.referrals.per_year_by_age_band", ref, n=float(n_b.sum()),
            method="first entries a year at the start date (log-linear Poisson regression by band with a "
                    "trend) / the template's conversion referral -> edge of care -> entry")
    for i, band in enumerate(AGE_BANDS):
        if n_b[i] > 0 and np.isfinite(reg["se_log"][i]) and ref[band] > 0:
            est.add_prior(f"demand.referrals.per_year_by_age_band.{band}", ref[band], reg["se_log"][i],
                          "referrals (from first entries a year)", record=True)
            est.report.estimates[-1].events = n_b[i]
    est.set("edge_of_care.emergency_share_by_age_band", em, n=float(n_b.sum()), events=float(pp_b.sum()),
            method="police protection share of first entries, converted to a share of edge-of-care arrivals")
    for i, band in enumerate(AGE_BANDS):
        if pp_b[i] > 0 and 0 < em[band] < 1:
            a = pp_b[i] + 1.0
            b = a * (1 - em[band]) / em[band]
            lo, hi = beta_interval(a, b)
            prior = {"dist": "beta", "alpha": _r(a, 6), "beta": _r(b, 6)}
            est.report.estimates.append(Estimate(f"edge_of_care.emergency_share_by_age_band.{band}", em[band],
                                                 lo, hi, events=pp_b[i], n=n_b[i],
                                                 method="emergency share of arrivals; prior Beta with its mean "
                                                         "and (police protection entries + 1) as alpha", prior=prior))
            est.out["uncertainty"].append({"path": f"edge_of_care.emergency_share_by_age_band.{band}",
                                           "prior": prior, "source": "carejourney calibrate: emergency share"})
    if reg["trend_estimated"]:
        g, se = reg["trend"], reg["trend_se"]
        g_c = float(min(max(g, -0.5), 0.5))
        est.set("demand.referrals.trend_per_year", _r(g_c), low=g - 1.645 * se, high=g + 1.645 * se,
                n=float(n_b.sum()), method=f"log-linear Poisson regression of first entries over {years} years",
                note="clipped to +-0.5 (the schema's range)" if g_c != g else "",
                prior={"dist": "normal", "mean": _r(g_c, 6), "sd": _r(se, 4), "low": -0.5, "high": 0.5}
                if np.isfinite(se) and se > 0 else None)
    else:
        est.keep("demand.referrals.trend_per_year", "one year of data: no trend can be estimated")
    est.keep("demand.referrals.steps", "step changes are kept from the template (not estimated)")
    counts_tbl = pd.DataFrame(reg["counts"], columns=list(AGE_BANDS), index=[str(y) for y in reg["years"]])
    tbl = counts_tbl.map(fmt_count).reset_index().rename(columns={"index": "collection year"})
    est.report.checks.append(("First entries (not UASC) by collection year and age band", tbl))
    conv = pd.DataFrame({
        "age band": list(AGE_BANDS),
        "first entries a year at start (fitted)": [round(x, 1) for x in rate],
        "police protection share of entries": [round(x, 3) for x in q],
        "P(entry given a non-emergency arrival)": [round(x, 3) for x in K.sum(1)],
        "arrivals a year": [round(x, 1) for x in A],
        "emergency share of arrivals": [round(x, 3) for x in e],
        "referrals a year": [ref[b] for b in AGE_BANDS],
        "expected entries a year (check)": [round(x, 1) for x in dem.expected_entries(tcfg, est.start, A, e, K)],
    })
    est.report.checks.append(("Demand: from entries to referrals", conv))
    est.note(f"Demand: the template's referral -> edge-of-care probability ({p_edge:.4f}) and edge-of-care "
             "services are kept; referrals are set so that the model's expected first entries equal the "
             "fitted entry rate at the start date (see estimate_demand for the formula: it ignores waiting "
             "lists for services). First entries are periods begun in the window that are a child's first "
             "in the data, UASC left out (they arrive separately).")
    for k in ("early_help_share", "edge_of_care_probability_without_early_help", "edge_of_care_probability_with_early_help"):
        est.keep(f"demand.referrals.{k}", "referrals and early help are not in SSDA903")
