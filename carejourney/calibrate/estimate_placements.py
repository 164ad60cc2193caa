"""Placements: the mixes at entry and of the next placement, and the time to a move.

Time to move is Weibull (or exponential, by AIC) per placement type with a shared age-band
multiplier (an accelerated failure time model), a censored MLE over placement spells begun
inside the window; types with fewer than MIN_WEIBULL_EVENTS moves (or moves all at one
duration) are exponential, and age bands with spells but no move keep the template's
multiplier. When the data still cannot identify the fit (estimate_fit.FitError), the template's
times to move are kept. The report's check table and fit plot set Kaplan-Meier beside the
fitted survival.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..vocab import AGE_BANDS, PLACEMENT_TYPES
from .estimate_fit import (
    MIN_DAYS,
    MIN_EVENT_DURATIONS,
    FitError,
    _r,
    fit_weibull_groups,
    kaplan_meier,
    lognormal_interval,
)
from .estimate_plots import MIN_PLOT_EVENTS, survival_curve
from .estimate_recorder import NB, EstimateRecorder, counts_of, distribution_problem
from .estimate_report import fmt_count

MIN_WEIBULL_EVENTS = 10  # fewer move events: exponential (a Weibull shape needs more)
TIME_TO_MOVE = "time to move (placement types x age bands)"
KM_DAYS = (90, 365, 730)


def estimate_placements(est: EstimateRecorder):
    d, pe = est.d, est.d.periods
    entries = pe[pe["in_window_start"]]
    entries = entries[~entries["uasc"].astype(bool)]
    pfa = entries["placement_type_at_entry"].eq("placed_for_adoption")
    if pfa.any():
        est.note(f"{fmt_count(int(pfa.sum()))} periods began placed for adoption: the model cannot start "
                 "there, so they are left out of the entry placement mix.")
    entries = entries[~pfa]
    disability_mix = est.template["placements"].get("at_entry_disability") is not None
    dis = entries["need_at_entry"].eq("N2_disability") if disability_mix else pd.Series(False, index=entries.index)
    for i, band in enumerate(AGE_BANDS):
        sel = entries[(entries["band_at_entry"] == i) & ~dis]
        est.set_mix(f"placements.at_entry_by_age_band.{band}", counts_of(sel["placement_type_at_entry"]),
                    f"entries aged {band}")
    if disability_mix:
        est.set_mix("placements.at_entry_disability", counts_of(entries.loc[dis, "placement_type_at_entry"]),
                    "entries with disability (N2) as need")
    est.note("Placement mixes (at entry, next placement) are the placements children got. The model "
             "treats them as wanted placements and then applies in-house capacity, so where in-house "
             "places ran out in the data the mixes already hold the overflow to agencies. "
             "concurrent_foster_to_adopt cannot be told apart in SSDA903 (U5 reads as fostering). "
             "UASC (own placement table) are left out of the entry mix; children with disability (N2) "
             "form at_entry_disability when the template has one.")

    pl = d.placements
    moves = pl[pl["ended"] & ~pl["is_last"]]
    to_pfa = moves["next_type"].eq("placed_for_adoption")
    moves = moves[~to_pfa]
    for src in PLACEMENT_TYPES:
        sel = moves[moves["placement_type"] == src]
        if len(sel) == 0:
            continue
        est.set_mix(f"placements.next_placement.{src}", counts_of(sel["next_type"]),
                    f"moves from {src}")
    est.note("next_placement: consecutive placements within a period of care, moves dated inside the "
             "window; a move into placed_for_adoption is the adoption match, not a breakdown, and is "
             "left out (and censors the time to move).")
    _days_to_move(est)


def _days_to_move(est: EstimateRecorder):
    pl = est.d.placements
    sp = pl[~pl["left_truncated"]].copy()
    if sp.empty:
        est.keep("placements.types.*.days_to_move", "no placement began inside the window")
        est.report.fit_data["placement_duration"] = "no placement began inside the window"
        return
    sp["event"] = (sp["ended"] & ~sp["is_last"] & sp["next_type"].ne("placed_for_adoption")).astype(float)
    sp["dur"] = sp["days"].clip(lower=0)
    tcode = {p: i for i, p in enumerate(PLACEMENT_TYPES)}
    sp["g"] = sp["placement_type"].map(tcode)
    ev = sp.groupby("g")["event"].sum()
    n = sp.groupby("g").size()
    with_events = [int(g) for g in ev.index if ev[g] > 0]
    for g in n.index:
        name = PLACEMENT_TYPES[int(g)]
        if ev.get(g, 0) == 0:
            est.set(f"placements.types.{name}.days_to_move", None, n=int(n[g]), events=0,
                    method="no moves observed: null (no moves)")
    for name in PLACEMENT_TYPES:
        if tcode[name] not in n.index:
            est.keep(f"placements.types.{name}.days_to_move", "no spell of this type began inside the window")
    if not with_events:
        est.report.fit_data["placement_duration"] = "no placement move was observed"
        return
    fit_sp = sp[sp["g"].isin(with_events)]
    # reference: the band with most days observed among bands with moves (not the most moves:
    # choosing by the outcome would pick a band whose rate came out high by chance)
    by_band = fit_sp.groupby("band").agg(ev=("event", "sum"), days=("dur", "sum"))
    ref_band = int(by_band[by_band["ev"] > 0]["days"].idxmax())
    tmult = est.template["placements"].get("days_to_move_multiplier_by_age_band", {}) or {}
    ref_log = math.log(float(tmult.get(AGE_BANDS[ref_band], 1.0)))
    t, e, g, b = (fit_sp["dur"].to_numpy(), fit_sp["event"].to_numpy(), fit_sp["g"].to_numpy(),
                  fit_sp["band"].to_numpy())
    # a band with spells but no move: its multiplier would run off to infinity; the template's stays
    no_moves = {int(k): math.log(float(tmult.get(AGE_BANDS[int(k)], 1.0)))
                for k in by_band.index[by_band["ev"] <= 0]}
    # too few moves, or moves all at one duration (no spread for a shape): exponential
    forced = [k for k in with_events if ev[k] < MIN_WEIBULL_EVENTS
              or len(np.unique(np.maximum(t[(g == k) & (e > 0)], MIN_DAYS))) < MIN_EVENT_DURATIONS]

    def fit(exponential_groups):
        return fit_weibull_groups(t, e, g, len(PLACEMENT_TYPES), b, NB, ref_band, ref_log,
                                  exponential_groups=exponential_groups, fixed_log_mult=no_moves)

    try:
        ex = fit(with_events)
    except FitError as err:
        _keep_time_to_move(est, with_events, err)
        return
    for k in sorted(no_moves):
        est.keep(f"placements.days_to_move_multiplier_by_age_band.{AGE_BANDS[k]}",
                 "no move at this age (its multiplier would run off to infinity): the template's value")
    try:
        wb = fit(forced)
    except FitError as err:  # a Weibull shape the data cannot identify: exponential for all, as with few moves
        wb = None
        est.note(f"{TIME_TO_MOVE}: the Weibull fit failed ({_fit_error_text(err)}): every type is exponential.")
    choose_exp = list(forced) if wb is not None else list(with_events)
    comparison = []
    for k in with_events:
        aic_w = -2 * wb.loglik_by_group[k] + 2 * (1 if k in forced else 2) if wb is not None else math.nan
        aic_e = -2 * ex.loglik_by_group[k] + 2
        if wb is not None and k not in forced and aic_e <= aic_w:
            choose_exp.append(k)
        comparison.append((k, aic_w, aic_e))
    try:
        final = ex if set(choose_exp) == set(with_events) else fit(choose_exp)
    except FitError as err:
        est.note(f"{TIME_TO_MOVE}: the chosen Weibull / exponential mix failed ({_fit_error_text(err)}): "
                 "every type is exponential.")
        final, choose_exp = ex, list(with_events)
    km_rows, curves, few = [], [], []
    for k, aic_w, aic_e in comparison:
        name = PLACEMENT_TYPES[k]
        path = f"placements.types.{name}.days_to_move"
        se_scale = final.se(f"log_scale:{k}")
        sel = g == k
        note = ((f"Weibull shape {wb.shape[k]:.3g} scale {wb.scale[k]:.4g} (AIC {aic_w:.1f}) vs exponential "
                 f"mean {ex.scale[k]:.4g} (AIC {aic_e:.1f})" if wb is not None else
                 f"exponential mean {ex.scale[k]:.4g} (the Weibull fit failed)")
                + (f"; fewer than {MIN_WEIBULL_EVENTS} moves (or all at one duration): exponential"
                   if k in forced else ""))
        kw = {"events": float(e[sel].sum()), "n": int(sel.sum()), "exposure": float(t[sel].sum())}
        dist = ({"kind": "exponential", "mean_days": _r(final.scale[k])} if k in choose_exp else
                {"kind": "weibull", "shape": _r(final.shape[k]), "scale_days": _r(final.scale[k])})
        bad = distribution_problem(dist)
        if bad:
            est.keep(path, f"{TIME_TO_MOVE}: the fitted {dist['kind']} ({note}) {bad}; the template's value is kept")
        elif k in choose_exp:
            mean = float(final.scale[k])
            est.set(path, dist, **kw,
                    method="exponential time to move, censored MLE with age-band multipliers; chosen by AIC",
                    note=note, low=lognormal_interval(mean, se_scale)[0], high=lognormal_interval(mean, se_scale)[1])
            est.add_prior(f"{path}.mean_days", mean, se_scale, "time to move (exponential mean)")
        else:
            shape, scale = float(final.shape[k]), float(final.scale[k])
            est.set(path, dist, **kw,
                    method="Weibull time to move, censored MLE with age-band multipliers; chosen by AIC",
                    note=note, low=lognormal_interval(scale, se_scale)[0], high=lognormal_interval(scale, se_scale)[1])
            est.add_prior(f"{path}.scale_days", scale, se_scale, "Weibull scale of time to move")
            est.add_prior(f"{path}.shape", shape, final.se(f"log_shape:{k}"), "Weibull shape of time to move")
        # Kaplan-Meier vs the fitted model (averaged over the spells' age bands)
        km = kaplan_meier(t[sel], e[sel], KM_DAYS)
        scales = final.scale[k] * np.exp(final.band_log_mult[b[sel]])
        fitted = [float(np.mean(np.exp(-((x / scales) ** final.shape[k])))) for x in KM_DAYS]
        km_rows.append({"placement_type": name, "spells": fmt_count(int(sel.sum())),
                        "moves": fmt_count(float(e[sel].sum())),
                        "model": "exponential" if k in choose_exp else "weibull",
                        **{f"KM S({x}d)": round(float(v), 3) for x, v in zip(KM_DAYS, km)},
                        **{f"fitted S({x}d)": round(v, 3) for x, v in zip(KM_DAYS, fitted)}})
        if e[sel].sum() >= MIN_PLOT_EVENTS:
            model = (f"exponential (mean {final.scale[k]:,.0f} days)" if k in choose_exp else
                     f"Weibull (shape {final.shape[k]:.2f}, scale {final.scale[k]:,.0f} days)")
            curve = survival_curve(t[sel], e[sel], _mixture_survival(scales, final.shape[k]), name,
                                   model + "\nx age-band multipliers")
            if curve is not None:
                curves.append(curve)
                continue
        few.append(f"{name.replace('_', ' ')} ({fmt_count(float(e[sel].sum()))})")
    if curves:
        detail = (f"One panel per placement type with at least {MIN_PLOT_EVENTS} moves; the fitted curve "
                  "averages the fitted survival over the spells' age bands (as the check table below does).")
        if few:
            detail += f" Left out, fewer moves: {', '.join(few)}."
        est.report.fit_data["placement_duration"] = {"curves": curves, "detail": detail}
    else:
        est.report.fit_data["placement_duration"] = f"no placement type had at least {MIN_PLOT_EVENTS} moves"
    est.report.checks.append(("Kaplan-Meier vs fitted time to move (share not yet moved)", pd.DataFrame(km_rows)))
    mult = {}
    for i, band in enumerate(AGE_BANDS):
        if np.isfinite(final.band_log_mult[i]):
            mult[band] = _r(math.exp(final.band_log_mult[i]))
        else:
            mult[band] = float(tmult.get(band, 1.0))
    est.set("placements.days_to_move_multiplier_by_age_band", mult,
            method=f"shared age-band multiplier of time to move (AFT); {AGE_BANDS[ref_band]} fixed at the "
                    "template value (the reference: multipliers are identified only up to a common factor)")
    for i, band in enumerate(AGE_BANDS):
        if i != ref_band and i not in no_moves and np.isfinite(final.band_log_mult[i]):
            est.add_prior(f"placements.days_to_move_multiplier_by_age_band.{band}", math.exp(final.band_log_mult[i]),
                          final.se(f"band:{i}"), "age-band multiplier of time to move", record=True)
    est.note("Time to move: placement spells begun inside the window (left-truncated spells are left "
             "out because the model restarts every placement clock on the start date). Event: the "
             "placement ended and another followed in the same period; censored: exit from care "
             "(including the 18th birthday), a move into adoption, or still open at the window's end. "
             f"Types with fewer than {MIN_WEIBULL_EVENTS} moves (or all at one duration) are exponential; "
             "others are Weibull or exponential by AIC; an age band with spells but no move keeps the "
             "template's multiplier. Types with spells but no moves get days_to_move null.")


def _fit_error_text(err: FitError) -> str:
    """A FitError from fit_weibull_groups, its parameters named as the config names them."""
    names = []
    for p in err.params:
        kind, k = p.split(":")
        if kind == "band":
            names.append(f"the multiplier at {AGE_BANDS[int(k)]}")
        else:
            names.append(f"the {'time to move' if kind == 'log_scale' else 'Weibull shape'} of "
                         f"{PLACEMENT_TYPES[int(k)]}")
    return f"{err}: {', '.join(names)}" if names else str(err)


def _keep_time_to_move(est: EstimateRecorder, with_events, err: FitError):
    """The fit failed: every type with moves, and the age-band multipliers, stay as in the template."""
    why = f"{TIME_TO_MOVE}: {_fit_error_text(err)}; the template's value is kept"
    for k in with_events:
        est.keep(f"placements.types.{PLACEMENT_TYPES[k]}.days_to_move", why)
    est.keep("placements.days_to_move_multiplier_by_age_band", why)
    est.report.fit_data["placement_duration"] = why


def _mixture_survival(scales: np.ndarray, shape: float):
    """The fitted survival averaged over spells with these Weibull scales (one per spell)."""
    u, w = np.unique(np.asarray(scales, dtype=float), return_counts=True)
    w = w / w.sum()

    def survival(days):
        x = np.asarray(days, dtype=float)[:, None]
        return np.exp(-((x / u[None, :]) ** shape)) @ w

    return survival
