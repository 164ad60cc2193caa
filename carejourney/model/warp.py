"""Clocks that run faster or slower from a date: how a time lever reaches a child already in care.

A time lever (reunification 25% quicker from November 2015, say) changes the speed at which
a child's clock runs from the day the lever starts, not only the clocks drawn after it: a
child who came into care in 2014 and would have gone home in 2017 goes home sooner too, as
the plan counts on ("existing LAC reduced by 36"). A duration is drawn in ordinary days, as
the baseline draws it, and the warp turns it into a date: on a stretch of time where the
lever multiplies durations by m, each day of the drawn duration takes m days of the
calendar. Before a lever starts and after it ends, m = 1; over a ramp, m moves month by
month. The random numbers are the baseline's, so a lever's effect stays a paired difference,
and nothing changes before a lever starts: a clock due before the start is due on the same
day, and one due after it is still after it (tests/functional/test_time_levers.py).
"""

from __future__ import annotations

import math
from bisect import bisect_right


class TimeWarp:
    """A step function of duration multipliers: `multipliers[i]` holds from `starts[i]`
    (the first start is -inf) until the next start."""

    __slots__ = ("starts", "multipliers")

    def __init__(self, starts: list[float], multipliers: list[float]):
        if not starts or starts[0] != -math.inf or len(starts) != len(multipliers):
            raise ValueError("a warp starts at -inf with one multiplier per step")
        if any(m <= 0 for m in multipliers):
            raise ValueError(f"duration multipliers must be positive: {multipliers}")
        self.starts = starts
        self.multipliers = multipliers

    def advance(self, origin: float, days: float) -> float:
        """The date on which a clock started at `origin` has run `days` of drawn duration."""
        starts, mult = self.starts, self.multipliers
        i = bisect_right(starts, origin) - 1
        pos, last = origin, len(starts) - 1
        while i < last:
            nxt = starts[i + 1]
            room = (nxt - pos) / mult[i]  # drawn days this step holds
            if days <= room:
                break
            days -= room
            pos, i = nxt, i + 1
        return pos + days * mult[i]


# Several levers on one clock multiply; their product is kept within a millionfold either
# way, so extreme (valid) effects cannot stop a clock or overflow it.
MIN_MULTIPLIER, MAX_MULTIPLIER = 1e-6, 1e6


def combine(profiles: list[list[tuple[float, float]]]) -> TimeWarp | None:
    """The product of several levers' step profiles [(from_day, multiplier), ...], each
    beginning at -inf; None when every multiplier is exactly 1 (the clock is untouched,
    and draws stay bit-for-bit the baseline's)."""
    starts = sorted({s for p in profiles for s, _ in p})
    mults = []
    for s in starts:
        m = 1.0
        for p in profiles:
            m *= p[bisect_right([b for b, _ in p], s) - 1][1]
        mults.append(min(max(m, MIN_MULTIPLIER), MAX_MULTIPLIER))
    if all(m == 1.0 for m in mults):
        return None
    return TimeWarp(starts, mults)
