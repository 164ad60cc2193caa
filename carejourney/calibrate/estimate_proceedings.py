"""Interim care orders: proceedings length and outcomes, split from the return-home hazard by EM.

An exit home while on an interim care order can be the proceedings' outcome or the
return-home hazard; SSDA903 records only the exit. The EM here weights each such exit
between the two, refitting the return-home hazard (estimate_exit_hazards) and the lognormal
proceedings length in turn, then writes every exit route and the proceedings' length and
outcome mix.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..vocab import AGE_BANDS
from .estimate_exit_hazards import exposure_cells, fit_route, route_rate, write_route
from .estimate_fit import FitError, _r, fit_lognormal
from .estimate_plots import survival_curve
from .estimate_recorder import NB, EstimateRecorder, checked_fit
from .estimate_report import fmt_count

PROCEEDINGS_WHAT = "proceedings (length of interim care orders)"
PROCEEDINGS_OUTCOMES = ("care_order", "placement_order", "sgo", "child_arrangements_order", "returned_home")


def estimate_proceedings_and_exit_routes(est: EstimateRecorder):
    """Interim care orders: proceedings (lognormal) and the return-home hazard, split by EM.

    An ICO spell can end in a return home two ways in the model: the proceedings end with
    outcome 'returned_home' (probability pi_b, at a lognormal time) or the return-home
    hazard fires first. SSDA903 records only the exit. EM: the weight that an observed
    return home at t was the hazard is w = lam S_P(t) / (lam S_P(t) + pi f_P(t)); the hazard
    regression counts w events, the proceedings fit and outcome mix count 1 - w.
    """
    lg = est.d.legal
    ico = lg[(lg["legal_status"] == "interim_care_order") & ~lg["left_truncated"]].copy()
    known = pd.Series(None, index=ico.index, dtype=object)
    nxt = ico["next_status"]
    known[ico["ended"] & nxt.isin(["care_order", "placement_order"])] = nxt
    last_exit = ico["is_last"] & ico["ended"]
    for cls in ("sgo", "child_arrangements_order"):
        known[last_exit & ico["exit_class"].eq(cls)] = cls
    rh = last_exit & ico["exit_class"].eq("returned_home")
    t = ico["days"].clip(lower=0.5).to_numpy()
    bands = ico["band"].to_numpy()
    w = pd.Series(0.5, index=ico.index[rh.to_numpy()])
    proc = None
    pi = np.zeros((NB, len(PROCEEDINGS_OUTCOMES)))
    res = None
    failed = ""  # why the proceedings length could not be fitted (estimate_fit.FitError)
    for _it in range(200):
        res = fit_route(est, "returned_home", exposure_cells(est, "returned_home", w))
        weights_rh = np.zeros(len(ico))
        weights_rh[rh.to_numpy()] = 1 - w.to_numpy()
        proc_event = known.notna().to_numpy().astype(float) + weights_rh
        if proc_event.sum() == 0:
            break
        try:
            fitted = checked_fit(fit_lognormal, t, proc_event, x0=None if proc is None else proc.extra["x"])
        except FitError as err:
            # too few or degenerate proceedings ends: the EM stops with the last fit, if any
            failed = str(err)
            break
        proc = fitted
        proc_fitted_events = proc_event
        pi = np.zeros((NB, len(PROCEEDINGS_OUTCOMES)))
        for k, o in enumerate(PROCEEDINGS_OUTCOMES[:-1]):
            pi[:, k] = np.bincount(bands[known.eq(o).to_numpy()], minlength=NB)
        pi[:, -1] = np.bincount(bands, weights=weights_rh, minlength=NB)
        if not rh.any():
            break
        share = pi / np.maximum(pi.sum(1, keepdims=True), 1e-12)
        lam = np.array([route_rate(res, "interim_care_order", b) for b in bands[rh.to_numpy()]])
        tr = t[rh.to_numpy()]
        sp = proc.survival(tr)
        z = (np.log(tr) - proc.params["mu"]) / proc.params["sigma"]
        fp = np.exp(-0.5 * z**2) / (np.sqrt(2 * np.pi) * proc.params["sigma"] * tr)
        num = lam * sp
        den = num + share[bands[rh.to_numpy()], -1] * fp
        new = pd.Series(np.divide(num, den, out=np.zeros_like(num), where=den > 0), index=w.index)
        done = float(np.max(np.abs(new - w))) < 5e-4 if len(w) else True
        w = new
        if done:
            break
    if res is not None and len(w) and "interim_care_order" in res["status"]:
        # the EM split is uncertain too: add the variance of the number of hazard exits
        # among the ambiguous ones (sum of w (1 - w)) to the status effect's variance
        v, se = res["status"]["interim_care_order"]
        total = float(w.sum())
        if np.isfinite(se) and total > 0:
            extra = float((w * (1 - w)).sum()) / total**2
            res["status"]["interim_care_order"] = (v, math.sqrt(se**2 + extra))
    write_route(est, "returned_home", res)
    for route in ("sgo", "child_arrangements_order", "independent_living", "other"):
        write_route(est, route, fit_route(est, route, exposure_cells(est, route)))
    est.note("Exit routes: cause-specific hazards, constant within a legal-status spell, with main effects "
             "for legal status and age band (Poisson regression of events on days at risk: the "
             "piecewise-exponential survival model). Days at risk run from the spell's start (or the "
             "window's start, or the route's from_age_years) to its end, the window's end or the 18th "
             "birthday. The config multiplies times, so multiplier = reference rate / rate. The reference "
             "status and age band (those the template gives multiplier 1, else the most days at risk) keep "
             "their template multipliers, so mean_days stays comparable with the template. A status with no events for a route is left out of "
             "multiplier_by_status (route closed). Police protection is left out (its exits are "
             "after_police_protection decisions); interim care orders count only spells begun inside the "
             "window, and their SGO / child arrangements exits are proceedings outcomes. Uncertainty "
             "entries give each mean and multiplier its own SE; their correlation is not kept, which "
             "overstates the spread of rates away from the reference cell.")
    est.note("Returned home while on an interim care order: EM splits these exits between the "
             "proceedings' outcome and the return-home hazard (by how their timing fits the lognormal "
             "proceedings length vs a constant hazard).")
    if proc is None:
        why = (f"{PROCEEDINGS_WHAT}: {failed}; the template's value is kept" if failed else
               "no interim care order began and ended in the window")
        est.report.fit_data["proceedings_duration"] = why
        est.keep("legal.proceedings_days", why)
        est.keep("legal.proceedings_outcome_by_age_band", why)
        return
    if failed:
        est.note(f"{PROCEEDINGS_WHAT}: the EM split stopped early ({failed}); the last fit is used.")
    p = proc.params
    curve = survival_curve(t, proc_fitted_events, proc.survival, "interim care orders begun in the window",
                           f"lognormal (mean {p['mean_days']:,.0f}, sd {p['sd_days']:,.0f} days)")
    est.report.fit_data["proceedings_duration"] = (
        {"curves": [curve], "detail": "An order ends when proceedings end (care, placement, SGO or child "
                                      "arrangements order, or the part of the returns home EM attributes to "
                                      "proceedings); the rest of the returns home and open orders are censored."}
        if curve is not None else
        f"fewer than 5 interim care orders began in the window ({fmt_count(len(ico))})")
    lo, hi = proc.interval("mean_days")
    est.set("legal.proceedings_days", {"kind": "lognormal", "mean_days": _r(p["mean_days"]), "sd_days": _r(p["sd_days"])},
            low=lo, high=hi, events=proc.events, n=proc.n, exposure=proc.exposure_days,
            method="lognormal length of interim care orders begun in the window, censored MLE (EM-weighted return-home exits)",
            note=f"median {math.exp(p['mu']):.0f} days, sigma {p['sigma']:.3f}")
    est.add_prior("legal.proceedings_days.mean_days", p["mean_days"], proc.se_log["mean_days"], "proceedings length (mean)")
    for i, band in enumerate(AGE_BANDS):
        counts = {o: float(pi[i, k]) for k, o in enumerate(PROCEEDINGS_OUTCOMES) if pi[i, k] > 0}
        est.set_mix(f"legal.proceedings_outcome_by_age_band.{band}", counts,
                    f"ended proceedings begun aged {band}")
    est.report.checks.append(("Interim care orders ending in a return home (EM split)", pd.DataFrame([{
        "ICO spells begun in window": fmt_count(len(ico)),
        "ended by proceedings (known outcome)": fmt_count(int(known.notna().sum())),
        "returned home": fmt_count(int(rh.sum())),
        "of which attributed to the hazard": f"{float(w.sum()):.1f}" if len(w) else "0",
    }])))
