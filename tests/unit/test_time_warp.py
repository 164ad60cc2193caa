"""Clocks warped by time levers (model/warp.py): known answers and properties.

A warp turns a drawn duration into a date, spending each drawn day as `multiplier`
calendar days on each step.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carejourney.model.warp import TimeWarp, combine

INF = math.inf


def test_known_answers_for_one_step():
    w = TimeWarp([-INF, 100.0], [1.0, 0.5])  # durations halve from day 100
    assert w.advance(0.0, 50.0) == 50.0  # over before the step
    assert w.advance(0.0, 200.0) == 150.0  # 100 ordinary days, then 100 drawn days in 50
    assert w.advance(120.0, 40.0) == 140.0  # drawn after the step: all at half


def test_a_lever_that_ends_gives_ordinary_days_back():
    w = TimeWarp([-INF, 100.0, 200.0], [1.0, 2.0, 1.0])  # durations double on days 100-200
    assert w.advance(0.0, 150.0) == 100.0 + 50.0 + 50.0  # 50 drawn days fill the step, 50 after
    assert w.advance(250.0, 10.0) == 260.0


def test_two_levers_multiply():
    a = [(-INF, 1.0), (100.0, 0.5)]
    b = [(-INF, 1.0), (50.0, 0.8), (300.0, 1.0)]
    w = combine([a, b])
    assert w.starts == [-INF, 50.0, 100.0, 300.0]
    assert w.multipliers == pytest.approx([1.0, 0.8, 0.4, 0.5])


def test_no_change_is_no_warp():
    # a lever whose effect is nothing leaves the clock alone, so draws stay bit-for-bit
    assert combine([[(-INF, 1.0), (100.0, 1.0)]]) is None


def test_bad_warps_are_refused():
    with pytest.raises(ValueError):
        TimeWarp([0.0, 1.0], [1.0, 1.0])
    with pytest.raises(ValueError):
        TimeWarp([-INF, 1.0], [1.0, 0.0])


steps = st.lists(st.tuples(st.floats(-500, 3000), st.floats(0.05, 20.0)), min_size=1, max_size=8)


def _warp(pairs):
    starts = sorted({s for s, _ in pairs})
    return TimeWarp([-INF, *starts], [1.0, *[dict(pairs)[s] for s in starts]])


@settings(max_examples=200, deadline=None)
@given(steps, st.floats(-600, 3000), st.floats(0, 5000), st.floats(0, 5000))
def test_advance_is_increasing_and_can_be_taken_in_two_goes(pairs, origin, d1, d2):
    w = _warp(pairs)
    a, b = w.advance(origin, min(d1, d2)), w.advance(origin, max(d1, d2))
    assert origin <= a <= b
    # running d1 then d2 more drawn days ends where running d1 + d2 does
    assert w.advance(w.advance(origin, d1), d2) == pytest.approx(w.advance(origin, d1 + d2), rel=1e-9, abs=1e-6)
    lo, hi = min(w.multipliers), max(w.multipliers)
    # the calendar time lies between the slowest and fastest speeds applied throughout
    assert origin + d1 * lo - 1e-6 <= w.advance(origin, d1) <= origin + d1 * hi + 1e-6


def test_an_infinite_duration_stays_infinite():
    assert TimeWarp([-INF, 10.0], [1.0, 0.5]).advance(0.0, INF) == INF


def test_extreme_levers_on_one_clock_neither_stop_nor_overflow_it():
    # two valid but absurd multipliers would underflow to 0 (a clock that never runs) or
    # overflow to inf; their product is kept within a millionfold either way
    tiny = [(-INF, 1.0), (10.0, 1e-200)]
    huge = [(-INF, 1.0), (10.0, 1e200)]
    assert combine([tiny, tiny]).multipliers == [1.0, 1e-6]
    assert combine([huge, huge]).multipliers == [1.0, 1e6]
    assert combine([tiny, tiny]).advance(0.0, 20.0) == pytest.approx(10.0 + 10.0 * 1e-6)
