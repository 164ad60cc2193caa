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

import pandas as pd

from ..ssda903.codes import age_in_years
from ..vocab import YEARS_OF_AGE
from .estimate_recorder import MIN_MIX, EstimateRecorder
from .estimate_report import fmt_count


def estimate_type_ages(est: EstimateRecorder):
    types = est.out["placements"]["types"]
    limits = {name: (int(t.get("min_age_years", 0) or 0), int(t.get("max_age_years", YEARS_OF_AGE - 1)))
              for name, t in types.items()}
    children = _children_beginning(est)
    wanted = {name: _widened(children.get(name), lo, hi) for name, (lo, hi) in limits.items()}
    changed = False
    for name, (lo, hi) in limits.items():
        new_lo, new_hi = wanted[name]
        held_to = ""
        other = ((est.out["placements"].get("capacity") or {}).get(name) or {}).get("overflow_to")
        if other in wanted:  # no further than the overflow type takes children, as (possibly) widened itself
            o_lo, o_hi = wanted[other]
            if new_lo < o_lo or new_hi > o_hi:
                new_lo, new_hi = max(new_lo, o_lo), min(new_hi, o_hi)
                held_to = f"; held to the ages its overflow type {other} takes"
                est.note(f"{MIN_MIX} or more children began placements in {name} at ages outside the template's "
                         f"{lo}-{hi}, but its overflow type {other} takes {o_lo}-{o_hi} and the data give no reason "
                         f"to widen it: {name} takes {new_lo}-{new_hi}, and a child of another age wanting it is "
                         "placed by the mixes (the config sends a child with no free in-house place to the overflow "
                         "type).")
        for field, end, before, after in (("min_age_years", "youngest", lo, new_lo),
                                          ("max_age_years", "oldest", hi, new_hi)):
            if after != before:
                changed = True
                n = int(children[name].get(after, 0)) if name in children else 0
                est.set(f"placements.types.{name}.{field}", after, method=(
                    f"widened from the template's {before}: the {end} age at which {MIN_MIX} or more children began "
                    f"a placement in it inside the window ({fmt_count(n)} children at {after}){held_to}"))
    est.keep("placements.types.*.min_age_years / max_age_years",
             "structural (widened above where the data place children outside them)" if changed else
             f"structural (no age outside them holds {MIN_MIX} or more children beginning a placement in the data)")


def _widened(children: pd.Series | None, lo: int, hi: int) -> tuple[int, int]:
    """The template's ages (youngest, oldest) widened to every age at which MIN_MIX or more children
    began a placement of the type inside the window (`children`: how many, by age)."""
    common = [] if children is None else [int(a) for a in children.index[children >= MIN_MIX]]
    return min([lo, *common]), max([hi, *common])


def _children_beginning(est: EstimateRecorder) -> dict[str, pd.Series]:
    """For each placement type, how many children began a placement of it inside the window, by age
    (whole years, as DfE counts; rows whose date of birth is unknown or age outside 0-17 left out)."""
    pl = est.cleaned.placements
    start = pd.to_datetime(pl["start"])
    began = pl[(start >= est.window.start) & (start < est.window.end)]
    dob = pd.to_datetime(est.d.children["dob"].reindex(began["child_id"]).to_numpy())
    ages = age_in_years(pd.Series(dob, index=began.index), start[began.index]).astype("Float64")
    began = began.assign(age=ages)[ages.notna() & (ages >= 0) & (ages < YEARS_OF_AGE)]
    counts = began.assign(age=began["age"].astype(int)).groupby(["placement_type", "age"])["child_id"].nunique()
    return {name: counts.xs(name) for name in counts.index.get_level_values(0).unique()}
