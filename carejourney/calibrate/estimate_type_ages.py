"""Placement types by age: who the opening stock holds where, and the ages new placements take.

Returns from before 2021 often hold under-16s in semi-independent living (H5), UASC especially;
with the template's 16+ limit such an opening stock could not be drawn at all (QA21: "216 in
supported_accommodation (ages 16-17) but only 150 children of those ages", naming no row). Two
estimates (the first in estimate_opening), kept apart because the model's placement mixes are not by single year of age, so an
age a type takes is an age any child may be sent there (QA22: one 3-year-old in a children's home
gave 3-7-year-olds external homes):

- `opening.placement_type_age_weights`: each type's share of the opening stock by age band, as
  the data hold it. The opening draw rakes these to the margins (reproducing the data's table)
  and allows a band given a positive weight even outside the type's ages, so a child looked
  after on the start date is where the data have it without opening the type to new placements.
- each type's min_age_years / max_age_years for new placements: the template's, widened (never
  narrowed) to any age (whole years, as DfE counts) at which at least MIN_MIX children began a
  placement of the type inside the window (fewer may be recording errors). An in-house pool is
  widened only as far as its overflow type takes children (the config requires it, and widening
  the overflow type unasked would send every unplaced child of those ages there).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..ssda903.codes import age_in_years
from ..vocab import YEARS_OF_AGE
from .estimate_recorder import MIN_MIX, EstimateRecorder
from .estimate_report import fmt_count


def estimate_type_ages(est: EstimateRecorder):
    types = est.out["placements"]["types"]
    limits = {name: (int(t.get("min_age_years", 0) or 0), int(t.get("max_age_years", YEARS_OF_AGE - 1)))
              for name, t in types.items()}
    wanted = {name: _widened(est, name, lo, hi) for name, (lo, hi) in limits.items()}
    changed = False
    for name, (lo, hi) in limits.items():
        new_lo, new_hi, why = wanted[name]
        other = ((est.out["placements"].get("capacity") or {}).get(name) or {}).get("overflow_to")
        if other in wanted:  # no further than the overflow type takes children, as (possibly) widened itself
            o_lo, o_hi, _ = wanted[other]
            if new_lo < o_lo or new_hi > o_hi:
                est.note(f"{MIN_MIX} or more children began placements in {name} at ages outside the template's "
                         f"{lo}-{hi}, but its overflow type {other} takes {o_lo}-{o_hi} and the data give no reason "
                         f"to widen it: {name} takes {max(new_lo, o_lo)}-{min(new_hi, o_hi)}, and a child of another "
                         "age wanting it is placed by the mixes (the config sends a child with no free in-house "
                         "place to the overflow type).")
                new_lo, new_hi = max(new_lo, o_lo), min(new_hi, o_hi)
        for field, before, after in (("min_age_years", lo, new_lo), ("max_age_years", hi, new_hi)):
            if after != before:
                changed = True
                est.set(f"placements.types.{name}.{field}", after,
                        method=f"widened from the template's {before}: {why[field]}")
    est.keep("placements.types.*.min_age_years / max_age_years",
             "structural (widened above where the data place children outside them)" if changed else
             f"structural (no age outside them holds {MIN_MIX} or more children beginning a placement in the data)")


def _widened(est: EstimateRecorder, name: str, lo: int, hi: int) -> tuple[int, int, dict[str, str]]:
    """(youngest, oldest, why by field): the template's ages widened to every age at which MIN_MIX
    or more children began a placement of type `name` inside the window."""
    began = _placements(est)
    began = began[(began["placement_type"] == name) & (began["start"] >= est.window.start)
                  & (began["start"] < est.window.end)]
    ages = _age(est, began, began["start"])
    children = began.assign(age=ages).dropna(subset=["age"]).groupby("age")["child_id"].nunique()
    common = children[children >= MIN_MIX]
    new_lo, new_hi = min(lo, *common.index) if len(common) else lo, max(hi, *common.index) if len(common) else hi
    why = {field: (f"the {end} age at which {MIN_MIX} or more children began a placement in it inside the window "
                   f"({fmt_count(int(children.get(age, 0)))} children at {int(age)})")
           for field, end, age in (("min_age_years", "youngest", new_lo), ("max_age_years", "oldest", new_hi))}
    return int(new_lo), int(new_hi), why


def _placements(est: EstimateRecorder) -> pd.DataFrame:
    pl = est.cleaned.placements
    return pl.assign(start=pd.to_datetime(pl["start"]), end=pd.to_datetime(pl["end"]))


def _age(est: EstimateRecorder, rows: pd.DataFrame, on: pd.Series) -> np.ndarray:
    """Whole years on `on` of each row's child (NaN where the date of birth is unknown or the age outside 0-17)."""
    dob = pd.Series(pd.to_datetime(est.d.children["dob"].reindex(rows["child_id"]).to_numpy()), index=rows.index)
    ages = age_in_years(dob, on).astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    return np.where((ages >= 0) & (ages < YEARS_OF_AGE), ages, np.nan)
