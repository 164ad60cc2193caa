"""Placement types' ages: the template's, widened to the ages at which the data place children.

The model keeps every placement within its type's min_age_years and max_age_years, and the
opening stock must be drawable within them. Returns from before 2021 often hold under-16s
in semi-independent living (H5), UASC especially; with the template's 16+ limit such an
opening stock cannot be drawn at all (QA21: "216 in supported_accommodation (ages 16-17) but
only 150 children of those ages", naming no return or row). So a type's limits are widened,
never narrowed, to take:

- every child looked after on the day before the start, at its age then, in the placement it
  had (each must be placeable where the data place it); and
- any age (whole years, as DfE counts) at which at least MIN_MIX placements of the type
  began inside the window (fewer may be recording errors, and a mix needs MIN_MIX cases anyway).

An in-house pool's overflow type is widened with it, as the config requires it to take every
age its pool takes. Each widened limit is a report row saying how many children set it.
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
    seen = _ages_seen(est)
    changed: dict[str, dict[str, tuple[int, int, str]]] = {}  # type -> field -> (old, new, why)
    for name, (lo, hi) in limits.items():
        own = seen[seen["placement_type"] == name]
        opening = own[own["opening"]]["age"]
        started = own[~own["opening"]]["age"].value_counts()
        common = started[started >= MIN_MIX].index
        young = [a for a in (opening.min() if len(opening) else None, min(common, default=None)) if a is not None]
        old = [a for a in (opening.max() if len(opening) else None, max(common, default=None)) if a is not None]
        if young and min(young) < lo:
            new = int(min(young))
            changed.setdefault(name, {})["min_age_years"] = (lo, new, _why(own, new, "youngest"))
        if old and max(old) > hi:
            new = int(max(old))
            changed.setdefault(name, {})["max_age_years"] = (hi, new, _why(own, new, "oldest"))
    _widen_overflow(est, limits, changed)
    for name, fields in changed.items():
        for field, (before, after, why) in fields.items():
            est.set(f"placements.types.{name}.{field}", after, method=f"widened from the template's {before}: {why}")
    est.keep("placements.types.*.min_age_years / max_age_years",
             "structural (widened above where the data place children outside them)" if changed else
             "structural (the data place no child outside them)")


def _ages_seen(est: EstimateRecorder) -> pd.DataFrame:
    """placement_type, age (whole years) and whether the row is the opening stock (the placement
    held on the day before the start) or a placement begun inside the window."""
    day = est.start_ts - pd.Timedelta(days=1)
    pl = est.cleaned.placements.copy()
    pl["start"], pl["end"] = pd.to_datetime(pl["start"]), pd.to_datetime(pl["end"])
    dob = pd.to_datetime(est.d.children["dob"].reindex(pl["child_id"]).to_numpy())
    held = (pl["start"] <= day) & (pl["end"].isna() | (pl["end"] > day))
    began = (pl["start"] >= est.window.start) & (pl["start"] < est.window.end)
    rows = []
    for mask, on, opening in ((held, pd.Series(day, index=pl.index), True), (began, pl["start"], False)):
        ages = age_in_years(pd.Series(dob, index=pl.index)[mask], on[mask])
        rows.append(pd.DataFrame({"placement_type": pl.loc[mask, "placement_type"], "age": ages,
                                  "opening": opening}))
    out = pd.concat(rows, ignore_index=True)
    return out[out["age"].notna() & out["age"].between(0, YEARS_OF_AGE - 1)]


def _why(own: pd.DataFrame, age: int, end: str) -> str:
    at = own[own["age"] == age]
    n_open, n_began = int(at["opening"].sum()), int((~at["opening"]).sum())
    parts = ([f"{fmt_count(n_open)} looked after on the day before the start"] if n_open else []) + \
            ([f"{fmt_count(n_began)} placements begun in the window"] if n_began else [])
    return f"the {end} age the data place children in it ({' and '.join(parts)} at {age})"


def _widen_overflow(est: EstimateRecorder, limits: dict, changed: dict):
    """An overflow type must take every age its in-house pool takes (schema: capacity.*.overflow_to)."""
    def now(name, field, i):
        return changed.get(name, {}).get(field, (None, limits[name][i], ""))[1]

    for pool, spec in (est.out["placements"].get("capacity") or {}).items():
        other = (spec or {}).get("overflow_to")
        if other not in limits or pool not in limits:
            continue
        for field, i, wider in (("min_age_years", 0, min), ("max_age_years", 1, max)):
            need = wider(now(pool, field, i), now(other, field, i))
            if need != now(other, field, i):
                changed.setdefault(other, {})[field] = (
                    limits[other][i], need, f"the overflow type of {pool}, which takes children aged {need}")
