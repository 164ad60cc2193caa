"""Placement mixes that name a placement type no child of those ages can have.

The model keeps every placement within its type's min_age_years and max_age_years: a
child drawn a type too young or too old for it is placed by its age band's entry mix
instead (placements.PlacementPolicy.wanted). A mix that gives weight to such a type is
valid, but that share quietly goes elsewhere, so it is warned about, naming the mix.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..vocab import AGE_BAND_AGES, YEARS_OF_AGE

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
