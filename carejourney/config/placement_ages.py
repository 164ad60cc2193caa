"""Placement mixes that name a placement type no child of those ages can have.

The model keeps every placement within its type's min_age_years and max_age_years: a
child drawn a type too young or too old for it is placed by its age band's entry mix
instead (placements.PlacementPolicy.wanted). A mix that gives weight to such a type is
valid, but that share quietly goes elsewhere, so it is warned about, naming the mix.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..vocab import AGE_BAND_AGES, DAYS_PER_YEAR, PLACEMENT_TYPES, YEARS_OF_AGE

if TYPE_CHECKING:
    from .schema import Config


def placement_age_warnings(cfg: Config) -> list[str]:
    """One message for each mix entry that no child of the mix's ages can be placed in."""
    types = cfg.placements.types
    ages = {name: (t.min_age_years, t.max_age_years) for name, t in types.items()}
    out = []

    def check(field: str, mix: dict[str, float], first: int, last: int, whose: str):
        for name, weight in mix.items():
            lo, hi = ages.get(name, (0, YEARS_OF_AGE - 1))
            if weight > 0 and (hi < first or lo > last):
                out.append(f"{field}.{name}: {name} takes children aged {lo}-{hi}, and none of {whose} are: "
                           f"this share ({weight:g}) goes to other placements (each child is kept within its "
                           "placement's ages)")

    for band, mix in cfg.placements.at_entry_by_age_band.items():
        first, last = AGE_BAND_AGES[band]
        check(f"placements.at_entry_by_age_band.{band}", mix, first, last, f"the {band} band ({first}-{last})")
    for age, mix in cfg.demand.uasc.placement_by_age_years.items():
        check(f"demand.uasc.placement_by_age_years.{age}", mix, age, age, f"these UASC (aged {age})")
    for source, mix in cfg.placements.next_placement.items():
        first, last = ages.get(source, (0, YEARS_OF_AGE - 1))
        check(f"placements.next_placement.{source}", mix, first, last,
              f"the children leaving {source} (aged {first}-{last})")
    return out


def opening_age_warnings(cfg: Config) -> list[str]:
    """The opening stock's placement types by age, as drawn: its two published margins (types,
    age bands) and the types' age limits cannot always be met together (QA: weights asking for
    255 IFA 16-17s among 110 put 4-15s in supported accommodation, 16+). One draw with a fixed
    seed shows whether some child is left outside its type's ages (but in a band the config's
    placement_type_age_weights give its type, where the data held children at the start)."""
    from ..model.opening import (  # the model's own draw and limits
        draw_opening,
        placement_age_limits,
        weighted_bands,
    )

    o = draw_opening(cfg, np.random.default_rng(0))
    lo, hi = placement_age_limits(cfg)  # years; hi exclusive, as the draw keeps ages within them
    k, age = o["placement"], o["age_days"] / DAYS_PER_YEAR
    meant = weighted_bands(cfg.opening.placement_type_age_weights)
    stray = ((age < lo[k]) | (age >= hi[k])) & ~meant[k, o["band"]]
    counts = np.bincount(k[stray], minlength=len(PLACEMENT_TYPES))
    outside = {PLACEMENT_TYPES[i]: int(n) for i, n in enumerate(counts.tolist()) if n}
    types = cfg.placements.types
    if not outside:
        return []
    listed = ", ".join(f"{n} in {name} (ages {types[name].min_age_years}-{types[name].max_age_years})"
                       for name, n in sorted(outside.items(), key=lambda x: -x[1]))
    return [f"opening: the published counts by placement type and by age band cannot both be met within the types' "
            f"ages (with placement_type_age_weights, if given): a draw puts {listed} at ages the type does not "
            "take; check the counts, the types' min_age_years/max_age_years and the weights"]
