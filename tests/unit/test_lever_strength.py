"""A lever's time profile and the hooks built on it, against hand-computed answers.

strength(t) is 0 before the start, (t - start) / ramp during the ramp, exactly 1 after
it and 0 from the end date; strength_array must agree with it. The hooks then scale each
lever's effect by that strength: a unit_cost price multiplier moves from 1 to the effect,
placement_stability lengthens the time to a move, and entry_reduction diverts only the
lever's cohort.
"""

from __future__ import annotations

import datetime as dt
import math
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carejourney.levers import (
    MONTH_DAYS,
    ActiveLever,
    Lever,
    LeverModifiers,
    monthly_steps,
)
from carejourney.model.demand import Cohort
from carejourney.vocab import NEEDS, PARENTAL_FACTORS, PLACEMENT_TYPES

RUN_START = dt.date(2015, 4, 1)
DAY = 365.25


def _lever(kind="entry_reduction", start_day=100, ramp=50.0, end_day=None, effect=0.5, cohort=None, **kw):
    spec = Lever(kind=kind, evidence="evidence", start_date=RUN_START + dt.timedelta(days=start_day),
                 ramp_up_days=ramp,
                 end_date=None if end_day is None else RUN_START + dt.timedelta(days=end_day),
                 effect={"dist": "fixed", "value": effect}, cohort=cohort or {}, **kw)
    return ActiveLever("lv", spec, effect, RUN_START)


# ---------------------------------------------------------------- strength
def test_strength_known_values_over_the_ramp():
    lv = _lever(start_day=100, ramp=50.0, end_day=300)
    assert lv.strength(0.0) == 0.0
    assert lv.strength(99.999) == 0.0
    assert lv.strength(100.0) == 0.0  # the ramp starts from nothing
    assert lv.strength(110.0) == pytest.approx(0.2)
    assert lv.strength(125.0) == pytest.approx(0.5)
    assert lv.strength(149.0) == pytest.approx(0.98)
    assert lv.strength(150.0) == 1.0
    for t in (150.5, 151.0, 200.0, 299.999):  # after the ramp: capped at exactly 1
        assert lv.strength(t) == 1.0
    assert lv.strength(300.0) == 0.0  # the end date: off
    assert lv.strength(1000.0) == 0.0


def test_strength_without_ramp_is_a_step():
    lv = _lever(start_day=100, ramp=0.0)
    assert lv.strength(99.5) == 0.0
    assert lv.strength(100.0) == 1.0
    assert lv.strength(5000.0) == 1.0


def test_strength_array_known_values_over_the_ramp():
    lv = _lever(start_day=100, ramp=50.0, end_day=300)
    t = np.array([0.0, 99.0, 100.0, 110.0, 125.0, 149.0, 150.0, 151.0, 299.0, 300.0, 400.0])
    expected = [0.0, 0.0, 0.0, 0.2, 0.5, 0.98, 1.0, 1.0, 1.0, 0.0, 0.0]
    np.testing.assert_allclose(lv.strength_array(t), expected, rtol=0, atol=1e-12)


@settings(max_examples=150)
@given(start=st.integers(0, 1500), ramp=st.one_of(st.just(0.0), st.floats(0.5, 1000.0)),
       length=st.one_of(st.none(), st.integers(1, 2000)),
       times=st.lists(st.floats(-100.0, 4000.0, allow_nan=False), min_size=1, max_size=40))
def test_strength_follows_its_definition_and_strength_array_agrees(start, ramp, length, times):
    end = None if length is None else start + length
    lv = _lever(start_day=start, ramp=ramp, end_day=end)
    stop = math.inf if end is None else float(end)
    for t in times:
        s = lv.strength(t)
        if t < start or t >= stop:
            assert s == 0.0
        elif ramp == 0 or t >= start + ramp:
            assert s == 1.0
        else:
            assert s == pytest.approx((t - start) / ramp, rel=1e-12, abs=1e-12)
        assert 0.0 <= s <= 1.0
    arr = lv.strength_array(np.array(times))
    np.testing.assert_allclose(arr, [lv.strength(t) for t in times], rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------- unit_cost price multiplier
def _value_at(steps, t):
    """A step function [(from_day, value), ...] (first from_day = -inf) at time t."""
    v = steps[0][1]
    for start, val in steps:
        if start <= t:
            v = val
    return v


def test_unit_cost_price_multiplier_moves_from_one_to_the_effect(small_config):
    effect, start, ramp = 0.8, 366, 120.0
    lv = _lever(kind="unit_cost", start_day=start, ramp=ramp, effect=effect,
                cohort={"placement_types": ["ifa_foster"]})
    out = LeverModifiers(small_config, [lv]).cost_overrides(small_config)
    unit = out["unit_cost_steps"]
    ifa = PLACEMENT_TYPES.index("ifa_foster")
    assert set(unit) == {ifa}  # only the cohort's placement type is repriced
    (steps,) = unit[ifa]
    # before the lever the price is unchanged, after the ramp it is the effect
    for t in (-1e9, 0.0, 200.0, start - 0.5):
        assert _value_at(steps, t) == pytest.approx(1.0)
    for t in (start + ramp, start + ramp + 1, 700.0):
        assert _value_at(steps, t) == pytest.approx(effect)
    # during the ramp: 1 + (effect - 1) x strength, strictly between 1 and the effect
    ramp_steps = [(b, v) for b, v in steps if start <= b < start + ramp]
    assert len(ramp_steps) >= 3
    for b, v in ramp_steps:
        middle = (b + min(b + MONTH_DAYS, start + ramp)) / 2  # of the month, or of the last part-month
        assert v == pytest.approx(1.0 + (effect - 1.0) * lv.strength(middle))
        assert effect < v < 1.0
    values = [v for _, v in steps]
    assert values == sorted(values, reverse=True)  # the price only falls as the lever ramps up


def test_unit_cost_price_multiplier_halfway_through_a_ramp(small_config):
    # a 2x price rise ramped over 60 days: the month centred 15 days after the start is at 1.25
    lv = _lever(kind="unit_cost", start_day=400, ramp=60.0, effect=2.0, cohort={"placement_types": ["other"]})
    (steps,) = LeverModifiers(small_config, [lv]).cost_overrides(small_config)["unit_cost_steps"][
        PLACEMENT_TYPES.index("other")]
    assert _value_at(steps, 399.0) == pytest.approx(1.0)
    assert _value_at(steps, 400.0) == pytest.approx(1.0 + 15.2 / 60)  # strength at the month's middle
    assert _value_at(steps, 500.0) == pytest.approx(2.0)


def test_an_end_date_inside_the_ramp_keeps_the_last_part_month():
    # ramp of a year from day 100, ended on day 200: the part-month from 191.2 to 200 runs at
    # the strength in its own middle (about 0.26), not at nothing
    lv = _lever(kind="unit_cost", start_day=100, ramp=365.0, end_day=200, effect=0.5)
    steps = monthly_steps(lv, 2000.0, lambda s: s)
    assert [b for b, _ in steps] == [-math.inf, 100.0, 130.4, 160.8, pytest.approx(191.2), 200.0]
    assert steps[-2][1] == pytest.approx(lv.strength((191.2 + 200.0) / 2))
    assert steps[-2][1] > 0.25
    assert steps[-1][1] == 0.0


# ---------------------------------------------------------------- placement_stability
def _child(age_years=8.0, t=0.0, need=0, factors=0, uasc=False, ptype=4):
    return SimpleNamespace(dob=t - age_years * DAY, need=need, factors=factors, uasc=uasc, ptype=ptype)


@pytest.mark.parametrize("effect", [0.05, 0.25, 0.4, 0.6, 0.9])
def test_preventing_moves_slows_the_move_clock(small_config, effect):
    lv = _lever(kind="placement_stability", start_day=100, ramp=0.0, effect=effect)
    mods = LeverModifiers(small_config, [lv])
    warp = mods.move_warp(300.0, _child(t=300.0), "ifa_foster")
    # preventing a share `effect` of moves thins the move process to (1 - effect) of its
    # rate: from the start, the time to a move is 1 / (1 - effect) times as long
    assert warp.advance(300.0, 10.0) == pytest.approx(300.0 + 10.0 / (1.0 - effect))
    # a clock drawn before the start runs at the old speed until the start, then slower
    early = mods.move_warp(50.0, _child(t=50.0), "ifa_foster")
    assert early.advance(50.0, 30.0) == pytest.approx(80.0)
    assert early.advance(50.0, 80.0) == pytest.approx(100.0 + 30.0 / (1.0 - effect))


def test_preventing_moves_ramps_up_month_by_month(small_config):
    # over a 120-day ramp each month runs at the strength in its middle: 15.2/120 in the first
    lv = _lever(kind="placement_stability", start_day=100, ramp=120.0, effect=0.5)
    warp = LeverModifiers(small_config, [lv]).move_warp(0.0, _child(t=0.0), "ifa_foster")
    first_month = 1.0 / (1.0 - 0.5 * 15.2 / 120.0)
    assert warp.advance(0.0, 100.0 + 10.0) == pytest.approx(100.0 + 10.0 * first_month)
    assert warp.advance(300.0, 10.0) == pytest.approx(320.0)  # full strength after the ramp


def test_placement_stability_acts_only_on_its_cohort(small_config):
    lv = _lever(kind="placement_stability", start_day=0, ramp=0.0, effect=0.5, cohort={"age_years": (10, 15)})
    mods = LeverModifiers(small_config, [lv])
    assert mods.move_warp(10.0, _child(age_years=12, t=10.0), "ifa_foster").advance(10.0, 5.0) == pytest.approx(20.0)
    assert mods.move_warp(10.0, _child(age_years=5, t=10.0), "ifa_foster") is None


def test_a_clock_drawn_after_the_end_date_is_untouched(small_config):
    lv = _lever(kind="exit_speed", start_day=100, ramp=0.0, end_day=200, effect=0.5, route="returned_home")
    mods = LeverModifiers(small_config, [lv])
    assert mods.exit_warp(250.0, _child(t=250.0), "returned_home") is None
    # drawn before the end: quicker until the end, then ordinary days again
    warp = mods.exit_warp(150.0, _child(t=150.0), "returned_home")
    assert warp.advance(150.0, 150.0) == pytest.approx(250.0)  # 100 drawn days by the end, 50 after
    assert mods.exit_warp(150.0, _child(t=150.0), "adopted") is None  # another route


# ---------------------------------------------------------------- entry_reduction cohort
def _cohort(ages, t, need=None, factors=None, uasc=False):
    n = len(ages)
    time = np.full(n, float(t))
    return Cohort(index=np.arange(n), time=time, band=np.zeros(n, dtype=int),
                  dob=time - np.asarray(ages, dtype=float) * DAY, t18=time + 18 * DAY,
                  male=np.zeros(n, dtype=bool),
                  need=np.zeros(n, dtype=int) if need is None else np.asarray(need),
                  factors=np.zeros(n, dtype=int) if factors is None else np.asarray(factors),
                  sibling=np.zeros(n, dtype=bool), uasc=uasc, rows=np.zeros((n, 1)))


def test_diversion_only_for_children_in_the_lever_age_cohort(small_config):
    lv = _lever(start_day=100, ramp=100.0, effect=0.4, cohort={"age_years": (0, 4)})
    mods = LeverModifiers(small_config, [lv])
    ages = [0.5, 2.0, 4.9, 5.5, 10.0, 16.0]
    inside = np.array([True, True, True, False, False, False])
    full = mods.diversion_probability(_cohort(ages, 300.0), "edge_of_care")
    np.testing.assert_allclose(full, np.where(inside, 0.4, 0.0), rtol=0, atol=1e-12)
    half = mods.diversion_probability(_cohort(ages, 150.0), "edge_of_care")  # strength 0.5
    np.testing.assert_allclose(half, np.where(inside, 0.2, 0.0), rtol=0, atol=1e-12)
    before = mods.diversion_probability(_cohort(ages, 50.0), "edge_of_care")
    np.testing.assert_allclose(before, 0.0, rtol=0, atol=0)


def test_diversion_only_for_the_lever_needs_and_parental_factors(small_config):
    n2 = NEEDS.index("N2_disability")
    abuse = 1 << PARENTAL_FACTORS.index("domestic_abuse")
    drugs = 1 << PARENTAL_FACTORS.index("substance_misuse")
    mods = LeverModifiers(small_config, [
        _lever(start_day=0, ramp=0.0, effect=0.3, cohort={"needs": ["N2_disability"]})])
    p = mods.diversion_probability(_cohort([5, 5, 5], 10.0, need=[n2, 0, 4]), "edge_of_care")
    np.testing.assert_allclose(p, [0.3, 0.0, 0.0], rtol=0, atol=1e-12)
    mods = LeverModifiers(small_config, [
        _lever(start_day=0, ramp=0.0, effect=0.6, cohort={"parental_factors": ["domestic_abuse"]})])
    p = mods.diversion_probability(_cohort([5, 5, 5, 5], 10.0, factors=[abuse, drugs, abuse | drugs, 0]),
                                   "edge_of_care")
    np.testing.assert_allclose(p, [0.6, 0.0, 0.6, 0.0], rtol=0, atol=1e-12)


def test_diversion_of_uasc_only_by_a_uasc_lever(small_config):
    everyone = _lever(start_day=0, ramp=0.0, effect=0.5)
    uasc_only = _lever(start_day=0, ramp=0.0, effect=0.25, cohort={"uasc": True, "age_years": (16, 17)})
    mods = LeverModifiers(small_config, [everyone, uasc_only])
    uasc = _cohort([15.5, 16.5, 17.5], 10.0, uasc=True)
    np.testing.assert_allclose(mods.diversion_probability(uasc, "uasc"), [0.0, 0.25, 0.25], rtol=0, atol=1e-12)
    edge = _cohort([15.5, 16.5], 10.0)
    np.testing.assert_allclose(mods.diversion_probability(edge, "edge_of_care"), [0.5, 0.5], rtol=0, atol=1e-12)


def test_two_entry_levers_combine_as_independent_chances(small_config):
    a = _lever(start_day=0, ramp=0.0, effect=0.5, cohort={"age_years": (0, 9)})
    b = _lever(start_day=0, ramp=0.0, effect=0.2, cohort={"age_years": (5, 17)})
    mods = LeverModifiers(small_config, [a, b])
    p = mods.diversion_probability(_cohort([2, 7, 12], 10.0), "edge_of_care")
    np.testing.assert_allclose(p, [0.5, 1 - 0.5 * 0.8, 0.2], rtol=0, atol=1e-12)
