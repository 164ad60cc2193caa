"""Exits besides the hazards: route shares, the 18th birthday, re-entry and adoption.

- shares within a route (planned return home, SGO by a former foster carer, supported
  independent living) and at 18 (staying put, adult social care, supported living), Beta priors;
- re-entry after a return home or an order: cure models (a probability, then an exponential delay);
- adoption: lognormal time from placed for adoption to the order, and the time from placement
  order to placed for adoption as an upper bound on family finding.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..uncertainty import set_path
from .estimate_data import FOSTER, KEY, days_between
from .estimate_fit import (
    Fit,
    _r,
    beta_from_mean_se,
    beta_interval,
    fit_cure_exponential,
    fit_lognormal,
)
from .estimate_recorder import EstimateRecorder
from .estimate_report import fmt_count


def estimate_exit_shares_and_at_18(est: EstimateRecorder):
    pe = est.d.periods
    ex = pe[pe["ended"]]
    rh = ex[ex["exit_class"] == "returned_home"]
    planned = int(rh["exit_route"].eq("returned_home_planned").sum())
    unplanned = int(rh["exit_route"].eq("returned_home_unplanned").sum())
    no_pr = int(rh["exit_route"].eq("lives_with_relatives_no_pr").sum())
    est.set_share("exits.returned_home_planned_share", planned, unplanned)
    est.set_share("exits.lives_with_relatives_no_pr_share", no_pr, planned + unplanned)
    sgo = ex[(ex["exit_class"] == "sgo") & ex["last_placement"].isin(FOSTER)]
    est.set_share("exits.sgo_former_foster_carer_share", int(sgo["exit_route"].eq("sgo_former_foster_carer").sum()),
                  int(sgo["exit_route"].eq("sgo_other_carer").sum()),
                  note="SGOs from foster placements (the model applies the share only to them)")
    il = ex[ex["exit_class"] == "independent_living"]
    est.set_share("exits.independent_living_supported_share",
                  int(il["exit_route"].eq("independent_living_supported").sum()),
                  int(il["exit_route"].eq("independent_living_unsupported").sum()))
    at18 = ex[ex["exit_class"] == "at_18"]
    # Staying Put (E17) exists from 2016-17; before it, those who stayed are hidden in E8,
    # which would bias every at-18 share: use 2016-17 on when there is any
    e17_valid = at18["end"] >= pd.Timestamp(2016, 4, 1)
    if e17_valid.any():
        at18 = at18[e17_valid]
    else:
        est.note("No 18th-birthday exit from 2016-17 on (when E17, Staying Put, began): the at-18 shares "
                 "use earlier exits, where staying put is hidden in E8.")
    foster = at18[at18["last_placement"].isin(FOSTER)]
    sp = int(foster["exit_route"].eq("staying_put_18").sum())
    est.set_share("exits.at_18.staying_put_share_from_foster", sp, len(foster) - sp,
                  note="18th-birthday exits from foster placements")
    rest = at18[~at18["exit_route"].eq("staying_put_18")]
    disabled = rest["need"].eq("N2_disability")
    asc = int(rest.loc[disabled, "exit_route"].eq("adult_social_care").sum())
    est.set_share("exits.at_18.adult_social_care_share_disability", asc, int(disabled.sum()) - asc)
    nd = rest[~disabled]
    e5 = int(nd["exit_route"].eq("independent_living_supported").sum())
    est.set_share("exits.at_18.supported_living_share", e5, len(nd) - e5,
                  note="18th-birthday exits without disability, not staying put")
    est.keep("exits.at_18.staying_put_days", "Staying Put after 18 is not in SSDA903")


def estimate_reentry(est: EstimateRecorder):
    pe = est.cleaned.periods.sort_values(KEY).copy()
    pe["start"], pe["end"] = pd.to_datetime(pe["start"]), pd.to_datetime(pe["end"])
    pe["next_start"] = pe.groupby("child_id")["start"].shift(-1)
    d = est.d.periods.merge(pe[[*KEY, "next_start"]], on=KEY, how="left")
    w1 = est.window.end
    for name, classes in (("reentry_after_return_home", ("returned_home",)),
                          ("reentry_after_order", ("sgo", "child_arrangements_order"))):
        ex = d[d["ended"] & d["exit_class"].isin(classes) & (d["end"] >= est.window.start)]
        limit = (ex["t18"] - pd.Timedelta(days=1)).clip(upper=w1)
        event = ex["next_start"].notna() & (ex["next_start"] < limit)
        until = ex["next_start"].where(event, limit)
        t = days_between(ex["end"], until).clip(lower=0.5)
        path = f"exits.{name}"
        if len(ex) == 0:
            est.keep(path, "no such exit in the window")
            continue
        cf = est.fit(path, f"{name.replace('_', ' ')} (cure model)", fit_cure_exponential,
                     t.to_numpy(), event.to_numpy(), np.zeros(len(ex), dtype=int), 1)
        if cf is None:
            continue
        p = float(cf.p[0])
        if cf.events[0] > 0:
            a, b = beta_from_mean_se(p, float(cf.p_se[0]))
        else:
            a, b = 1.0, float(len(ex)) + 1.0
        lo, hi = beta_interval(a, b)
        est.set(f"{path}.probability", _r(p), low=lo, high=hi, events=cf.events[0], n=len(ex),
                method="cure model (probability x exponential delay), censored at the window's end and the day before 18",
                prior={"dist": "beta", "alpha": _r(a, 6), "beta": _r(b, 6)})
        if cf.events[0] > 0:
            set_path(est.out, f"{path}.days", {"kind": "exponential", "mean_days": _r(cf.mean_days)})
            est.set_lognormal(f"{path}.days.mean_days", cf.mean_days, cf.se_log_mean, events=cf.events[0],
                              n=len(ex), method="cure model: exponential delay to re-entry")
        else:
            est.keep(f"{path}.days", "no re-entry observed")
    est.note("Re-entry: exits in the window followed up to the child's next period of care, censored at "
             "the window's end and the day before the 18th birthday (the model's limit). A re-entry of a "
             "child whose earlier period ended before the window cannot be seen: it counts as a first entry.")


def estimate_adoption(est: EstimateRecorder):
    pl, d = est.d.placements, est.d
    pfa = pl[(pl["placement_type"] == "placed_for_adoption") & ~pl["left_truncated"]]
    pfa = pfa.merge(d.periods[[*KEY, "exit_class"]], on=KEY, how="left")
    event = pfa["ended"] & pfa["is_last"] & pfa["exit_class"].eq("adopted")
    if event.sum() > 0:
        f = est.fit("exits.adoption.days_placed_to_order", "adoption (days from placed for adoption to the order)",
                    fit_lognormal, pfa["days"].to_numpy(), event.to_numpy())
        if f is not None:
            _set_lognormal_dist(est, "exits.adoption.days_placed_to_order", f,
                                "lognormal, placed for adoption (spells begun in the window) to the adoption order; "
                                "censored MLE")
    else:
        est.keep("exits.adoption.days_placed_to_order", "no adoption from a placement begun in the window")
    # placement order -> placed for adoption: an upper bound on family finding
    lg = d.legal
    po = lg[(lg["legal_status"] == "placement_order") & ~lg["left_truncated"]]
    placed = est.cleaned.placements[est.cleaned.placements["placement_type"] == "placed_for_adoption"]
    placed = placed.assign(pstart=pd.to_datetime(placed["start"]))[[*KEY, "pstart"]]
    m = po[[*KEY, "start", "obs_end", "ended"]].reset_index().merge(placed, on=KEY, how="left")
    m = m[m["pstart"].isna() | (m["pstart"] >= m["start"])]
    m = m.sort_values("pstart").drop_duplicates("index").set_index("index")
    already = po.index.difference(m.index)
    t_place = days_between(m["start"], m["pstart"])
    event = m["pstart"].notna() & (m["pstart"] <= m["obs_end"]) & (m["pstart"] < est.window.end)
    same_day = event & (t_place <= 0)
    dur = t_place.where(event, days_between(m["start"], m["obs_end"]))
    keep = ~same_day
    t_mean = est.tcfg.exits.adoption.days_family_finding.mean()
    placed = event[keep].sum()
    f = None
    if placed > 0:
        f = est.fit("exits.adoption.days_family_finding", "family finding (days from placement order to match)",
                    fit_lognormal, dur[keep].to_numpy(), event[keep].to_numpy())
    if f is not None:
        note = (f"placement order to placed: lognormal mean {f.params['mean_days']:.0f} days "
                f"(90% {f.interval('mean_days')[0]:.0f}-{f.interval('mean_days')[1]:.0f}), "
                f"{fmt_count(f.events)} placed of {fmt_count(f.n)}; {fmt_count(int(same_day.sum()))} placed the same day "
                f"(concurrent, left out); {fmt_count(len(already))} already placed when the order was made")
        if f.params["mean_days"] < t_mean:
            _set_lognormal_dist(est, "exits.adoption.days_family_finding", f,
                                "upper bound: time from placement order to placed for adoption "
                                "(includes waiting for adopters), lognormal censored MLE", note=note)
            est.note("days_family_finding is set to the observed time from placement order to placement "
                     "for adoption, which also holds any wait for adopters (adopter supply is not in "
                     "SSDA903): with the template's adopter supply the model may take longer than the data.")
        else:
            est.keep("exits.adoption.days_family_finding",
                     f"the template's mean ({t_mean:.0f} days) is below the observed upper bound; {note}")
    elif placed <= 0:
        est.keep("exits.adoption.days_family_finding", "no placement for adoption after an order in the window")
    for k in ("initial_adopters", "adopter_approvals_per_year", "adopter_mean_days_waiting", "max_days_to_match"):
        est.keep(f"exits.adoption.{k}", "adopters and matching are not in SSDA903")


def _set_lognormal_dist(est: EstimateRecorder, path: str, f: Fit, method: str, note: str = ""):
    lo, hi = f.interval("mean_days")
    est.set(path, {"kind": "lognormal", "mean_days": _r(f.params["mean_days"]), "sd_days": _r(f.params["sd_days"])},
            low=lo, high=hi, events=f.events, n=f.n, exposure=f.exposure_days, method=method,
            note=note or f"median {math.exp(f.params['mu']):.0f} days, sigma {f.params['sigma']:.3f}")
    est.add_prior(f"{path}.mean_days", f.params["mean_days"], f.se_log["mean_days"], method.split(",")[0])
