"""Legal status: the entry status mix, police protection and remand, s20 -> proceedings.

- legal.entry_status_by_age_band: status on the first day of every period begun in the window.
- police protection: its mean length (fixed) and what follows it; remand: an exponential
  length from remands ended (E14).
- s20 -> proceedings: a cure model (a probability by age band, then an exponential delay).

Proceedings themselves (length and outcomes) are in estimate_proceedings.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..uncertainty import set_path
from ..vocab import AGE_BANDS
from .estimate_data import days_between, tmin
from .estimate_fit import (
    _r,
    beta_from_mean_se,
    beta_interval,
    fit_cure_exponential,
    fit_exponential,
    lognormal_interval,
)
from .estimate_recorder import NB, EstimateRecorder, counts_of
from .estimate_report import fmt_count


def estimate_legal_entry(est: EstimateRecorder):
    pe = est.d.periods
    ent = pe[pe["in_window_start"] & ~pe["uasc"].astype(bool)]
    ne = ent[ent["legal_status_at_entry"].ne("police_protection")]
    status = ne["legal_status_at_entry"].map({
        "s20": "s20", "interim_care_order": "interim_care_order", "remand": "remand",
        "care_order": "interim_care_order", "placement_order": "interim_care_order"})
    court = ne["legal_status_at_entry"].isin(["care_order", "placement_order"]).sum()
    if court:
        est.note(f"{fmt_count(int(court))} periods began on a full care or placement order; the model's "
                 "entries are s20, interim care order or remand, so they count as interim care orders.")
    for i, band in enumerate(AGE_BANDS):
        est.set_mix(f"legal.entry_status_by_age_band.{band}", counts_of(status[ne["band_at_entry"] == i]),
                    f"non-emergency entries aged {band}")
    est.note("legal.entry_status_by_age_band: legal status on the first day of every period begun in the "
             "window (re-entries too: the model uses this mix for them), UASC and police protection "
             "(emergency, see demand) left out.")


def estimate_police_protection_and_remand(est: EstimateRecorder):
    lg = est.d.legal
    pp = lg[(lg["legal_status"] == "police_protection") & lg["ended"] & ~lg["left_truncated"]]
    if len(pp):
        mean = float(pp["days"].mean())
        est.set("legal.police_protection_days", {"kind": "fixed", "days": _r(max(mean, 0.5))}, n=len(pp),
                method="mean length of police protection spells (fixed)")
        nxt = pd.Series(np.select(
            [pp["next_status"].eq("s20"),
             pp["next_status"].isin(["interim_care_order", "care_order", "placement_order"]),
             pp["is_last"] & pp["exit_class"].eq("returned_home")],
            ["s20", "interim_care_order", "returned_home"], default=""), index=pp.index)
        est.set_mix("legal.after_police_protection", counts_of(nxt[nxt != ""]), "police protection spells that ended")
    else:
        est.keep("legal.police_protection_days", "no police protection spell began and ended in the window")
        est.keep("legal.after_police_protection", "no police protection spell began and ended in the window")
    rem = lg[lg["legal_status"] == "remand"]
    expo = days_between(rem["risk_start"], tmin(rem["obs_end"], rem["t18"]))
    ev = (rem["is_last"] & rem["ended"] & rem["exit_class"].eq("remand_ended")).astype(float)
    if ev.sum() > 0:
        f = fit_exponential(expo, ev)
        est.set_lognormal("legal.remand_days.mean_days", f.params["mean_days"], f.se_log["mean_days"],
                          events=f.events, exposure=f.exposure_days, n=len(rem),
                          method="exponential: days on remand / remands ended (E14)")
        set_path(est.out, "legal.remand_days", {"kind": "exponential", "mean_days": _r(f.params["mean_days"])})
    else:
        est.keep("legal.remand_days", "no remand ended (E14) in the window")


def estimate_s20_proceedings(est: EstimateRecorder):
    lg = est.d.legal
    s = lg[(lg["legal_status"] == "s20") & ~lg["left_truncated"]]
    if s.empty:
        est.keep("legal.s20_proceedings_probability_by_age_band", "no s20 spell began in the window")
        est.keep("legal.days_s20_to_proceedings", "no s20 spell began in the window")
        return
    event = s["ended"] & s["next_status"].isin(["interim_care_order", "care_order", "placement_order"])
    what = "s20 -> proceedings (cure model)"
    cf = est.fit("legal.s20_proceedings_probability_by_age_band", what, fit_cure_exponential,
                 s["days"].to_numpy(), event.to_numpy(), s["band"].to_numpy(), NB)
    if cf is None:
        est.keep("legal.days_s20_to_proceedings", f"{what}: see s20_proceedings_probability_by_age_band")
        return
    for i, band in enumerate(AGE_BANDS):
        path = f"legal.s20_proceedings_probability_by_age_band.{band}"
        if cf.n[i] == 0:
            est.keep(path, "no s20 spell began at this age")
            continue
        p = float(cf.p[i])
        if cf.events[i] > 0:
            a, b = beta_from_mean_se(p, float(cf.p_se[i]))
        else:
            closed = float(((s["band"] == i) & s["ended"]).sum())
            a, b = 1.0, closed + 1.0
        lo, hi = beta_interval(a, b)
        est.set(path, _r(p), low=lo, high=hi, events=cf.events[i], n=cf.n[i],
                method="cure model (probability x exponential delay), censored MLE; prior Beta matched to mean and SE",
                prior={"dist": "beta", "alpha": _r(a, 6), "beta": _r(b, 6)})
    if np.isfinite(cf.mean_days):
        est.set("legal.days_s20_to_proceedings", {"kind": "exponential", "mean_days": _r(cf.mean_days)},
                low=lognormal_interval(cf.mean_days, cf.se_log_mean)[0],
                high=lognormal_interval(cf.mean_days, cf.se_log_mean)[1], events=float(cf.events.sum()),
                n=float(cf.n.sum()), method="cure model: exponential delay to proceedings")
        est.add_prior("legal.days_s20_to_proceedings.mean_days", cf.mean_days, cf.se_log_mean,
                      "delay from s20 to proceedings")
    est.note("s20 -> proceedings: s20 spells begun in the window; event = the next status is an interim "
             "(or full/placement) order; anything else ending the spell censors it. As the model draws it: "
             "with probability p (by age band at the s20 start) proceedings start after an exponential delay.")
