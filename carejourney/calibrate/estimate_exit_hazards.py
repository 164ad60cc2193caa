"""Exit routes as cause-specific constant hazards, by Poisson regression.

For each route (returned_home, sgo, child_arrangements_order, independent_living, other):
events and days at risk in legal status x age band cells (`exposure_cells`), a Poisson
regression with status and age-band main effects (`fit_route`: the piecewise-exponential
survival model), written as the config's mean days and multipliers with their uncertainty
entries (`write_route`) and kept for the observed vs fitted exit-rate plots.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..config.schema import MAX_DURATION_MULTIPLIER
from ..uncertainty import set_path
from ..vocab import AGE_BANDS, LEGAL_STATUSES
from .estimate_data import days_between, tmax, tmin
from .estimate_fit import (
    NEGLIGIBLE_EVENTS,
    FitError,
    _r,
    lognormal_interval,
    poisson_regression,
)
from .estimate_plots import MIN_CELL_EXPOSURE_DAYS, MIN_PLOT_EVENTS, HazardCells
from .estimate_recorder import MAX_SIGMA, NB, EstimateRecorder, distribution_problem
from .estimate_report import Estimate, fmt_count

MAX_MULTIPLIER = MAX_DURATION_MULTIPLIER  # what a config accepts: a fit past it would write one `check` refuses
MIN_REF_EVENTS = 1.0  # a reference status or age band needs this many (EM-weighted) events (or the most)


def exposure_cells(est: EstimateRecorder, route: str, weights_ico: pd.Series | None = None):
    """(status, band) cells of days at risk and events for one exit route."""
    cache = est.exposure_cells_cache
    if route not in cache:
        lg = est.d.legal
        use = lg["legal_status"].ne("police_protection") & ~(
            lg["legal_status"].eq("interim_care_order") & lg["left_truncated"])
        s = lg[use]
        from_age = float(est.template["exits"][route].get("from_age_years", 0) or 0)
        risk_from = s["risk_start"]
        if from_age > 0:
            risk_from = tmax(risk_from, s["dob"] + pd.to_timedelta(from_age * 365.25, unit="D"))
        expo = days_between(risk_from, tmin(s["obs_end"], s["t18"])).to_numpy()
        ev = (s["is_last"] & s["ended"] & s["exit_class"].eq(route)).to_numpy(dtype=float)
        ico = s["legal_status"].eq("interim_care_order").to_numpy()
        if route in ("sgo", "child_arrangements_order"):
            ev[ico] = 0.0  # proceedings outcomes, see estimate_proceedings
        status = s["legal_status"].map({x: i for i, x in enumerate(LEGAL_STATUSES)}).to_numpy(dtype=int)
        cell = status * NB + s["band"].to_numpy(dtype=int)
        cache[route] = (s.index, cell, expo, ev, ico)
    index, cell, expo, ev, ico = cache[route]
    if route == "returned_home" and weights_ico is not None:
        ev = ev.copy()
        ev[ico] = weights_ico.reindex(index[ico]).fillna(0.0).to_numpy()
    n = len(LEGAL_STATUSES) * NB
    ex_c = np.bincount(cell, weights=expo, minlength=n).reshape(len(LEGAL_STATUSES), NB)
    ev_c = np.bincount(cell, weights=ev, minlength=n).reshape(len(LEGAL_STATUSES), NB)
    return ex_c, ev_c


def fit_route(est: EstimateRecorder, route: str, cells):
    """Poisson regression with status and band main effects -> config route values.

    `cells` = (exposure, events), arrays of legal status x age band. When the data cannot
    identify the regression (estimate_fit.FitError: a coefficient runs off to infinity, e.g. an
    event-free reference cell whose status and band have events only elsewhere), the template's
    route (template_route), which write_route keeps."""
    EX, EV = cells
    t_route = est.template["exits"][route]
    t_status = t_route.get("multiplier_by_status", {}) or {}
    t_band = t_route.get("multiplier_by_age_band", {}) or {}
    ev_s, ex_s = EV.sum(1), EX.sum(1)
    # levels with events (EM weights below NEGLIGIBLE_EVENTS, decayed towards 0, are none)
    si = [i for i in range(len(LEGAL_STATUSES)) if ev_s[i] > NEGLIGIBLE_EVENTS]
    if not si:
        return None
    ev_b, ex_b = EV[si].sum(0), EX[si].sum(0)
    bi = [b for b in range(NB) if ev_b[b] > NEGLIGIBLE_EVENTS]
    # references: the levels the template gives multiplier 1 (so mean_days keeps its meaning),
    # else the most days at risk among levels with events (choosing by events would pick a
    # level whose rate came out high by chance, biasing mean_days down); never a level with next
    # to no events (an EM weight decaying to 0) when another has one: its rate, near 0, would put
    # mean_days near infinity
    sure_s = [i for i in si if ev_s[i] >= min(MIN_REF_EVENTS, max(ev_s[si]))]
    sure_b = [b for b in bi if ev_b[b] >= min(MIN_REF_EVENTS, max(ev_b[bi]))]
    ones_s = [i for i in sure_s if float(t_status.get(LEGAL_STATUSES[i], 0.0)) == 1.0]
    ones_b = [b for b in sure_b if float(t_band.get(AGE_BANDS[b], 1.0)) == 1.0]
    ref_s = max(ones_s or sure_s, key=lambda i: ex_s[i])
    ref_b = max(ones_b or sure_b, key=lambda b: ex_b[b])
    s_cols = [i for i in si if i != ref_s]
    b_cols = [b for b in bi if b != ref_b]
    rows = [(i, b) for i in si for b in bi if EX[i, b] > 0]
    X = np.zeros((len(rows), 1 + len(s_cols) + len(b_cols)))
    X[:, 0] = 1
    for r, (i, b) in enumerate(rows):
        if i in s_cols:
            X[r, 1 + s_cols.index(i)] = 1
        if b in b_cols:
            X[r, 1 + len(s_cols) + b_cols.index(b)] = 1
    try:
        fit = poisson_regression(np.array([EV[i, b] for i, b in rows]), np.array([EX[i, b] for i, b in rows]), X)
    except FitError as err:
        coefs = [f"the rate of {LEGAL_STATUSES[ref_s]} aged {AGE_BANDS[ref_b]} (the reference)",
                 *(f"the {LEGAL_STATUSES[i]} multiplier" for i in s_cols),
                 *(f"the {AGE_BANDS[b]} multiplier" for b in b_cols)]
        cells = [f"{LEGAL_STATUSES[i]} aged {AGE_BANDS[b]}" for i, b in rows]
        which = ", ".join(coefs[int(j)] if kind == "coef" else cells[int(j)]
                          for kind, j in (x.split(":") for x in err.params))
        return template_route(est, route, f"{err}{': ' + which if which else ''}")
    se = fit.se()
    T_s = float(t_status.get(LEGAL_STATUSES[ref_s], 1.0))
    T_b = float(t_band.get(AGE_BANDS[ref_b], 1.0))
    alpha = fit.coef[0]
    beta = {i: (fit.coef[1 + s_cols.index(i)] if i in s_cols else 0.0) for i in si}
    mean_days = math.exp(min(-alpha, 700.0)) / (T_s * T_b)  # (beyond: invalid below anyway)
    bad = distribution_problem({"kind": "exponential", "mean_days": _r(mean_days)})
    if bad:
        return template_route(est, route, f"the fitted exponential {bad}")
    res = {"ref_status": LEGAL_STATUSES[ref_s], "ref_band": AGE_BANDS[ref_b], "T_s": T_s, "T_b": T_b,
           "mean_days": mean_days, "se_log_mean": float(se[0]),
           "status": {}, "band": {}, "events": float(EV[si].sum()), "exposure": float(EX[si].sum()),
           "ev_status": {LEGAL_STATUSES[i]: float(ev_s[i]) for i in si},
           "ex_status": {LEGAL_STATUSES[i]: float(ex_s[i]) for i in si},
           "ev_band": {AGE_BANDS[b]: float(ev_b[b]) for b in range(NB)},
           "ex_band": {AGE_BANDS[b]: float(ex_b[b]) for b in range(NB)},
           "closed": [LEGAL_STATUSES[i] for i in range(len(LEGAL_STATUSES))
                      if LEGAL_STATUSES[i] != "police_protection" and i not in si and ex_s[i] > 0]}
    for i in si:
        name = LEGAL_STATUSES[i]
        if i == ref_s:
            res["status"][name] = (T_s, math.nan)
        else:
            j = 1 + s_cols.index(i)
            res["status"][name] = (min(T_s * math.exp(-fit.coef[j]), MAX_MULTIPLIER), float(se[j]))
    for b in range(NB):
        name = AGE_BANDS[b]
        if b == ref_b:
            res["band"][name] = (T_b, math.nan, "reference")
        elif b in bi:
            j = 1 + len(s_cols) + b_cols.index(b)
            res["band"][name] = (min(T_b * math.exp(-fit.coef[j]), MAX_MULTIPLIER), float(se[j]), "")
        elif ex_b[b] > 0:
            # no events at this age: the rate that would give half an event over the exposure
            expected = float(sum(math.exp(alpha + beta[i]) * EX[i, b] for i in si))
            m = min(T_b * expected / 0.5, MAX_MULTIPLIER) if expected > 0 else MAX_MULTIPLIER
            res["band"][name] = (max(m, 1e-3), math.nan,
                                 "no events at this age: rate set to half an event over its exposure")
        else:
            res["band"][name] = (float(t_band.get(name, 1.0)), math.nan, "no exposure at this age: template value")
    res["fit"] = fit
    res["cells"] = (EX, EV)
    return res


def template_route(est: EstimateRecorder, route: str, why: str) -> dict:
    """The template's route in fit_route's form, for when the data cannot identify it: the
    EM (estimate_proceedings) goes on with the template's hazard, and write_route keeps it."""
    r = getattr(est.tcfg.exits, route)
    why = f"exit hazard {route} (Poisson regression by legal status x age band): {why}; the template's value is kept"
    return {"kept": why, "mean_days": r.days.mean(),
            "status": {s: (float(m), math.nan) for s, m in r.multiplier_by_status.items()},
            "band": {b: (float(r.multiplier_by_age_band.get(b, 1.0)), math.nan, "template") for b in AGE_BANDS}}


def route_rate(res, status: str, band: int) -> float:
    if res is None or status not in res["status"]:
        return 0.0
    m_s = res["status"][status][0]
    m_b = res["band"][AGE_BANDS[band]][0]
    return 1.0 / (res["mean_days"] * m_s * m_b)


def write_route(est: EstimateRecorder, route: str, res):
    base = f"exits.{route}"
    _hazard_plot_data(est, route, res)
    if res is None:
        set_path(est.out, f"{base}.multiplier_by_status", {})
        est.set(f"{base}.multiplier_by_status", {}, events=0,
                method="no exits by this route before 18 in the window: route closed for every status")
        return
    if "kept" in res:
        est.keep(base, res["kept"])
        return
    mean = res["mean_days"]
    lo, hi = lognormal_interval(mean, res["se_log_mean"])
    set_path(est.out, f"{base}.days", {"kind": "exponential", "mean_days": _r(mean)})
    est.set_lognormal(f"{base}.days.mean_days", mean, res["se_log_mean"], events=res["events"],
                      exposure=res["exposure"],
                      method=f"Poisson regression: 1 / rate for {res['ref_status']} aged {res['ref_band']} "
                              f"x its template multipliers ({res['T_s']:g}, {res['T_b']:g})")
    est.set(f"{base}.multiplier_by_status", {s: _r(v[0]) for s, v in res["status"].items()},
            events=res["events"], method="status main effects (reference rate / rate)",
            note=("closed (no events): " + ", ".join(res["closed"])) if res["closed"] else "")
    for s, (v, se) in res["status"].items():
        if np.isfinite(se) and se <= MAX_SIGMA:
            lo, hi = lognormal_interval(v, se)
            prior = {"dist": "lognormal", "median": _r(v, 6), "sigma": _r(se, 4)}
            est.report.estimates.append(Estimate(f"{base}.multiplier_by_status.{s}", _r(v), lo, hi,
                                                 events=res["ev_status"][s], exposure_days=res["ex_status"].get(s),
                                                 method="status main effect", prior=prior))
            est.out["uncertainty"].append({"path": f"{base}.multiplier_by_status.{s}", "prior": prior,
                                           "source": "carejourney calibrate: exit hazard status effect"})
    est.set(f"{base}.multiplier_by_age_band", {b: _r(v[0]) for b, v in res["band"].items()},
            events=res["events"], method="age-band main effects (band at the spell's start in the window)")
    for b, (v, se, why) in res["band"].items():
        if np.isfinite(se) and se <= MAX_SIGMA:
            lo, hi = lognormal_interval(v, se)
            prior = {"dist": "lognormal", "median": _r(v, 6), "sigma": _r(se, 4)}
            est.report.estimates.append(Estimate(f"{base}.multiplier_by_age_band.{b}", _r(v), lo, hi,
                                                 events=res["ev_band"][b], exposure_days=res["ex_band"][b],
                                                 method="age-band main effect", prior=prior))
            est.out["uncertainty"].append({"path": f"{base}.multiplier_by_age_band.{b}", "prior": prior,
                                           "source": "carejourney calibrate: exit hazard age effect"})
        elif why and why != "reference":
            est.note(f"{base}.multiplier_by_age_band.{b}: {why}.")


def _hazard_plot_data(est: EstimateRecorder, route: str, res):
    plots = est.report.fit_data.setdefault("exit_hazards", {})
    if res is None:
        plots[route] = "no exits by this route before 18 in the window"
        return
    if "kept" in res:
        plots[route] = res["kept"]
        return
    if route != "returned_home" and res["events"] < MIN_PLOT_EVENTS:
        plots[route] = f"fewer than {MIN_PLOT_EVENTS} exits by this route ({fmt_count(res['events'])})"
        return
    EX, EV = res["cells"]
    if not (EX >= MIN_CELL_EXPOSURE_DAYS).any():
        plots[route] = "no legal status x age band cell had a child-year at risk"
        return
    fitted = np.array([[route_rate(res, s, b) for b in range(NB)] for s in LEGAL_STATUSES])
    note = ("Cells with less than a child-year at risk are not drawn; police protection is left out (its "
            "exits are after_police_protection decisions).")
    if route in ("sgo", "child_arrangements_order"):
        note += (" Exits by this route from interim care orders are proceedings outcomes (see the proceedings "
                 "outcome mix), so they count as no event here and the route is closed for them.")
    if route == "returned_home":
        note += (" Returns home from interim care orders count with the EM weight of the hazard (the rest "
                 "are proceedings outcomes), so their events can be fractional.")
    plots[route] = HazardCells(route, EX.copy(), EV.copy(), fitted, note)
