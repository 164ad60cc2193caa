"""How a scenario's levers reach the model: hooks the model asks at each decision.

The baseline uses `NO_CHANGE`, whose answers are all neutral. The levers module builds a
`Modifiers` with time-varying effects; the model never needs to know which lever it was.
"""

from __future__ import annotations


class Modifiers:
    active = False

    def affects(self, hook: str) -> bool:
        """Whether any lever changes what a hook answers: the model skips the others on
        its hot paths. Hooks: "move", "next_placement", "entry_placement", "pool_match",
        "staying_put", and "exit:ROUTE" per exit route."""
        return False

    def diversion_probability(self, cohort, route: str):
        """Per child of an arriving cohort (arrays), the chance it goes no further.

        `route` is "edge_of_care" or "uasc". Returns an array, or 0.0 for none.
        """
        return 0.0

    def service_success(self, name: str, t: float, base: float) -> float:
        return base

    def extra_services(self) -> list:
        return []

    def move_warp(self, t: float, child, ptype: str):
        """The clock (model/warp.TimeWarp) of a time to a placement move drawn at t, or
        None when no lever touches it (slower = more stable)."""
        return None

    def next_placement_weights(self, t: float, child, ptype: str, weights: dict) -> dict:
        return weights

    def exit_warp(self, t: float, child, route: str):
        """The clock of a time to an exit route starting at t, or None (faster = quicker exits)."""
        return None

    def entry_placement_weights(self, t: float, child, weights: dict) -> dict:
        return weights

    def capacity_recruitment(self, pool: str) -> list[tuple[float, float]]:
        """Extra recruitment for an in-house pool: (from_day, change in places a year)."""
        return []

    def pools_offered_first(self) -> dict[str, float]:
        """{pool: from_day}: from that day a child the placement policy would place with the
        pool's overflow type (an agency) is offered a free, matching place in the pool first."""
        return {}

    def pool_match_probability(self, pool: str, t: float, base: float) -> float:
        return base

    def service_referral_share(self, name: str, times, base: float):
        """Per arrival (array of times), the share referred to a service."""
        return base

    def service_resizes(self) -> list[tuple[str, float, int]]:
        """(service, from_day, new caseload) for existing services resized."""
        return []

    def staying_put_share(self, t: float, base: float) -> float:
        return base


NO_CHANGE = Modifiers()
