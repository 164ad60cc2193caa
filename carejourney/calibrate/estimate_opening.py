"""The opening stock: the children looked after on the day before the start, counted exactly.

Counts by age band, legal status and placement type, the UASC count, the male share, the
need mix and the time in care so far (an `empirical` distribution with bounds rounded to
weeks, so no single child's dates appear).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..ssda903.codes import age_in_years
from ..vocab import AGE_BANDS, LEGAL_STATUSES, NEEDS, PLACEMENT_TYPES
from .estimate_data import KEY, band_index
from .estimate_plots import OpeningCounts
from .estimate_recorder import EstimateRecorder
from .estimate_report import fmt_counts


def estimate_opening(est: EstimateRecorder):
    day = est.start_ts - pd.Timedelta(days=1)
    w = est.window
    if not (w.start - pd.Timedelta(days=1) <= day < w.end):
        # the eve of the window counts too: who was looked after then is known from the
        # episodes open on its first day
        first, last = (w.start - pd.Timedelta(days=1)).date(), (w.end - pd.Timedelta(days=1)).date()
        raise ValueError(f"start {est.start}: the day before it must be from {first} to {last} to count the "
                         f"children looked after then (the data's window: {w.label()})")
    pe = est.cleaned.periods.copy()
    pe["start"], pe["end"] = pd.to_datetime(pe["start"]), pd.to_datetime(pe["end"])
    open_ = pe[(pe["start"] <= day) & (pe["end"].isna() | (pe["end"] > day))]
    ch = est.d.children
    n = len(open_)
    est.report.data_summary["opening_stock"] = n
    if n == 0:
        est.note("No child was looked after on the day before the start: the opening stock is empty.")
    dob = ch["dob"].reindex(open_["child_id"]).to_numpy()
    ages = age_in_years(pd.Series(dob, dtype="datetime64[ns]"), pd.Series([day] * n, dtype="datetime64[ns]"))
    bands = band_index(ages.astype(float)) if n else np.zeros(0, dtype=int)
    counts = {b: int((bands == i).sum()) for i, b in enumerate(AGE_BANDS)}
    keys = open_[KEY]
    status = _covering(est.cleaned.legal_statuses, keys, day, "legal_status")
    place = _covering(est.cleaned.placements, keys, day, "placement_type")
    m = "exact count of children looked after on the day before the start (1-4 shown as <5 here only)"
    legal = {s: int((status == s).sum()) for s in LEGAL_STATUSES if (status == s).sum() > 0}
    places = {p: int((place == p).sum()) for p in PLACEMENT_TYPES if (place == p).sum() > 0}
    uasc = ch["uasc"].reindex(open_["child_id"]).fillna(False).astype(bool).to_numpy()
    male = ch["male"].reindex(open_["child_id"]).fillna(False).astype(bool).to_numpy()
    if n:
        est.report.fit_data["opening"] = OpeningCounts(
            str(day.date()), counts, {s: int((status == s).sum()) for s in LEGAL_STATUSES},
            {p: int((place == p).sum()) for p in PLACEMENT_TYPES})
    else:
        est.report.fit_data["opening"] = "no child was looked after on the day before the start"
    for path, value in (("opening.age_band_counts", counts), ("opening.legal_status_counts", legal),
                        ("opening.placement_type_counts", places), ("opening.uasc_count", int(uasc.sum()))):
        est.set(path, value, n=n, method=m, display=fmt_counts(value))
    if n:
        _placement_age_weights(est, place, bands)
    else:
        est.keep("opening.placement_type_age_weights", "no opening stock")
    if n:
        est.set_share("opening.male_share", int(male.sum()), int(n - male.sum()), with_prior=False,
                      method="share of the opening stock (exact: no uncertainty entry)")
        needs = ch["need"].reindex(open_["child_id"])
        nc = {k: int((needs == k).sum()) for k in NEEDS if (needs == k).sum() > 0}
        est.set_mix("opening.need_mix", nc, "children in the opening stock with a need code", min_n=1)
        days = (est.start_ts - open_["start"]).dt.days.to_numpy(dtype=float)
        est.set("opening.days_in_care_so_far", empirical(days), n=n,
                method="empirical quantiles of time in care so far (bounds rounded to weeks)")
    else:
        est.keep("opening.days_in_care_so_far", "no opening stock")
        est.keep("opening.need_mix", "no opening stock")
        est.keep("opening.male_share", "no opening stock")
    # a ratio, so it scales with the opening stock counted above; the payments are not in the return
    est.keep("opening.post_care", "post-care payments are not in SSDA903 (kept per child looked after)")


def _placement_age_weights(est: EstimateRecorder, place: np.ndarray, bands: np.ndarray):
    """Each placement type's share of the opening stock by age band, as the data hold it: the opening
    draw rakes them to the margins (so reproduces this table) and allows these bands even outside a
    type's ages (under-16s in semi-independent living: estimate_type_ages). Shares, not counts, so no
    cell of 1-4 children is shown."""
    weights = {}
    for p in PLACEMENT_TYPES:
        by_band = np.bincount(bands[place == p], minlength=len(AGE_BANDS))
        if by_band.sum():
            weights[p] = [round(float(x), 4) for x in (by_band / by_band.sum()).tolist()]
    est.set("opening.placement_type_age_weights", weights, n=len(place),
            method="each placement type's share of the opening stock by age band (under_1 to 16_to_17); the "
                   "opening draw rakes them to the margins and allows these bands even outside a type's ages")


def empirical(days: np.ndarray, max_bins: int = 20) -> dict:
    """An `empirical` distribution from quantiles of days, bounds rounded to weeks (no single child's value)."""
    days = np.sort(np.asarray(days, dtype=float))
    n_bins = int(max(1, min(max_bins, len(days) // 5)))
    q = np.quantile(days, np.linspace(0, 1, n_bins + 1))
    bounds = np.round(q / 7) * 7
    bounds[0] = 0.0
    bounds[-1] = max(math.ceil(q[-1] / 28) * 28, bounds[-2] if len(bounds) > 1 else 0, 1.0)
    bounds = np.maximum.accumulate(bounds)
    return {"kind": "empirical", "bounds_days": [float(b) for b in bounds], "weights": [1.0] * n_bins}


def _covering(spells: pd.DataFrame, keys: pd.DataFrame, day: pd.Timestamp, col: str) -> np.ndarray:
    """The value of `col` of the spell covering `day` in each (child, period) of keys."""
    s = spells.copy()
    s["start"] = pd.to_datetime(s["start"])
    s = s[s["start"] <= day].sort_values([*KEY, "start"]).drop_duplicates(KEY, keep="last")
    out = keys.merge(s[[*KEY, col]], on=KEY, how="left")[col]
    return out.fillna("other" if col == "placement_type" else "s20").to_numpy()
