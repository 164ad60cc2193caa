"""Rebasing a run's start on a published stock, for back-tests of years before the config starts."""

from __future__ import annotations

import copy
import datetime as dt

import numpy as np
import pandas as pd

from ..validate.compare import match_figures
from .aggregate_params import FitError

START_YEARS = range(1900, 2201)  # years a run can start in; outside them a year is a typo


def rebase_start(cfg_dict: dict, figs: pd.DataFrame, year: int) -> tuple[dict, list[str]]:
    """Start the run on 1 April `year` from the published stock at 31 March `year`.

    For back-tests when the config starts after the years to be fitted. The total (revised
    series preferred) and the UASC count come from the figures; the age, legal-status and
    placement mix of the config's own opening stock is kept and scaled [ASSUME]. If the
    config's UASC arrival series starts later, the gap gets the published rise in the UASC
    stock as arrivals [ASSUME: a lower bound; no UASC leave]. Rates (referrals, their trend)
    apply from the new start date as written.
    """
    d = copy.deepcopy(cfg_dict)
    start = as_date(d["horizon"]["start_date"])
    if year not in START_YEARS:
        raise FitError(f"--rebase-start {year}: not a year to start a run in")
    new_start = dt.date(year, 4, 1)
    if new_start >= start:
        raise FitError(f"--rebase-start {year}: the config already starts on {start}; a rebase only moves the start back")
    if new_start >= as_date(d["horizon"]["end_date"]):
        raise FitError(f"--rebase-start {year}: after the config's end date")
    stock = published_stock(figs, year)
    if stock is None:
        raise FitError(f"--rebase-start {year}: no published 'CLA at 31 March' for {year} to start from")
    op = d["opening"]
    old_total = sum(op["age_band_counts"].values())
    notes = [f"Run starts on {new_start} (config: {start}) from the published stock of {stock:.0f} at 31 March {year}; "
             f"its age, legal-status and placement mix is the config's opening mix scaled from {old_total} [ASSUME]."]
    for key in ("age_band_counts", "legal_status_counts", "placement_type_counts"):
        op[key] = _scale_counts(op[key], int(round(stock)))
    pfa = op["placement_type_counts"].get("placed_for_adoption", 0)
    if op["legal_status_counts"].get("placement_order", 0) < pfa:
        notes.append("placement orders raised to the number placed for adoption")
        _move(op["legal_status_counts"], "placement_order", pfa)
    uasc = _published(figs, "lac_children", "uasc", ("uasc",), year)
    if uasc is not None:
        op["uasc_count"] = int(min(round(uasc), stock))
        notes.append(f"UASC at the start: {op['uasc_count']} (published, 31 March {year}).")
    else:
        op["uasc_count"] = int(round(op.get("uasc_count", 0) * stock / max(old_total, 1)))
        notes.append(f"UASC at the start: {op['uasc_count']}, the config's share of its opening stock scaled to "
                     f"{stock:.0f}: no UASC stock is published for 31 March {year} [ASSUME].")
    d["horizon"]["start_date"] = new_start
    periods = d.get("demand", {}).get("uasc", {}).get("periods") or []
    first = min((as_date(p["from_date"]) for p in periods), default=None)
    if first is not None and first > new_start:
        last_day = first - dt.timedelta(days=1)
        stock_year = last_day.year if (last_day.month, last_day.day) >= (3, 31) else last_day.year - 1
        later = _published(figs, "lac_children", "uasc", ("uasc",), stock_year)
        known = later is not None and uasc is not None
        arrivals = max(0.0, later - uasc) if known else 0.0
        d["demand"]["uasc"]["periods"] = [{"from_date": new_start, "to_date": first, "arrivals": float(arrivals)}] + periods
        if known:
            notes.append(f"UASC arrivals {new_start} to {first}: {arrivals:.0f}, the published rise in the UASC stock "
                         "[ASSUME: a lower bound, as UASC who leave are not counted].")
        else:
            notes.append(f"UASC arrivals {new_start} to {first}: none simulated, as no UASC stock is published for "
                         f"31 March {year if uasc is None else stock_year} to take the rise from [ASSUME: an undercount].")
    notes.append("Referral rates and their trend apply from the new start date as written in the config [ASSUME].")
    return d, notes


def published_stock(figs: pd.DataFrame, year: int) -> float | None:
    """The published number looked after at 31 March `year` (revised series preferred), or None."""
    return _published(figs, "lac_children", "total", ("all",), year) if year in START_YEARS else None


def as_date(v) -> dt.date:
    return v if isinstance(v, dt.date) else dt.date.fromisoformat(str(v))


def _published(figs: pd.DataFrame, measure, breakdown, categories, year) -> float | None:
    targets, _ = match_figures(figs)
    best = None
    for t in targets:
        r = t["row"]
        if (r.measure, r.breakdown, tuple(r.categories)) == (measure, breakdown, tuple(categories)) and \
                t["year"] is not None and not pd.isna(t["year"]) and int(t["year"]) == year and np.isfinite(t["observed"]):
            if best is None or t["series"] == "revised":
                best = t["observed"]
    return best


def _scale_counts(counts: dict, total: int) -> dict:
    keys = list(counts)
    old = np.array([counts[k] for k in keys], dtype=float)
    if old.sum() == 0:
        return dict(counts)
    exact = old / old.sum() * total
    base = np.floor(exact).astype(int)
    for i in np.argsort(-(exact - base))[: total - base.sum()]:
        base[i] += 1
    return {k: int(v) for k, v in zip(keys, base)}


def _move(counts: dict, key: str, at_least: int):
    need = at_least - counts.get(key, 0)
    for k in sorted(counts, key=lambda k: -counts[k]):
        if need <= 0:
            break
        if k == key:
            continue
        take = min(need, counts[k])
        counts[k] -= take
        counts[key] = counts.get(key, 0) + take
        need -= take
