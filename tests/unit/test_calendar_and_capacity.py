import datetime as dt

import numpy as np
import pytest
import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

from carejourney.calendar import count_covering, days_in_windows, financial_years
from carejourney.config.schema import Capacity
from carejourney.events import EventLog
from carejourney.model.placements import CapacityPool, capacity_process


def test_financial_years_split_at_1_april():
    fys = financial_years(dt.date(2015, 4, 1), dt.date(2017, 3, 31))
    assert [f[0] for f in fys] == ["2015-16", "2016-17"]
    assert fys[0][2:] == (0.0, 366.0)  # 2016 is a leap year: 1 Apr 2015 - 31 Mar 2016
    assert fys[1][2:] == (366.0, 731.0)


def test_a_spell_over_31_march_is_split_by_days():
    days = days_in_windows(np.array([300.0]), np.array([400.0]), [(0, 366), (366, 731)])
    assert days.tolist() == [[66.0, 34.0]]


@given(st.lists(st.tuples(st.floats(0, 100), st.floats(0, 50)), min_size=1, max_size=40),
       st.floats(0, 100), st.floats(0, 100))
@settings(max_examples=100, deadline=None)
def test_stock_changes_by_starts_minus_ends(spells, a, b):
    a, b = sorted((a, b))
    s = np.array([x for x, _ in spells])
    e = s + np.array([d for _, d in spells])
    stock = count_covering(s, e, np.array([a, b]))
    starts = ((s >= a) & (s < b)).sum()
    ends = ((e >= a) & (e < b)).sum()
    assert stock[1] - stock[0] == starts - ends


@given(st.lists(st.tuples(st.sampled_from(["place", "release", "gain", "lose"]), st.floats(0, 1)), max_size=200))
@settings(max_examples=100, deadline=None)
def test_capacity_pool_never_over_occupied(ops):
    cfg = Capacity(initial_places=3, match_probability_per_vacancy=0.5, overflow_to="ifa_foster")
    pool = CapacityPool("inhouse_foster", 0, cfg, EventLog())
    placed = 0
    for t, (op, u) in enumerate(ops):
        if op == "place":
            placed += pool.try_place(float(t), u, sibling=False)
        elif op == "release" and placed:
            pool.release(float(t))
            placed -= 1
        elif op == "gain":
            pool.gain(float(t))
        elif op == "lose":
            pool.lose(float(t))
        assert 0 <= pool.occupied <= pool.places
        assert pool.occupied == placed


def test_a_lost_carer_who_is_caring_leaves_when_the_child_does():
    pool = CapacityPool("inhouse_foster", 0, Capacity(initial_places=2, match_probability_per_vacancy=1.0,
                                                      overflow_to="ifa_foster"), EventLog())
    assert pool.try_place(0.0, 0.0, sibling=False) and pool.try_place(0.0, 0.0, sibling=False)
    pool.lose(1.0)
    assert (pool.places, pool.occupied) == (2, 2)  # both carers still caring
    pool.release(2.0)
    assert (pool.places, pool.occupied) == (1, 1)  # the lost carer goes with the child
    pool.release(3.0)
    assert (pool.places, pool.occupied) == (1, 0)


@pytest.mark.parametrize("recruited,attrition,direction", [(20.0, 0.0, 1), (0.0, 0.3, -1)])
def test_recruitment_only_adds_places_and_attrition_only_removes_them(recruited, attrition, direction):
    cfg = Capacity(initial_places=50, match_probability_per_vacancy=0.5, overflow_to="ifa_foster",
                   recruited_places_per_year=recruited, attrition_per_year=attrition)
    log = EventLog()
    pool = CapacityPool("inhouse_foster", 0, cfg, log)
    env = simpy.Environment()
    env.process(capacity_process(env, pool, np.random.default_rng(3), 0.0))
    env.run(until=3 * 365.25)
    places = [50] + [p for *_, p in log.capacity]
    steps = np.diff(places)
    assert len(steps) > 5 and (steps * direction > 0).all()


def test_the_population_between_two_given_years_is_their_steady_growth_and_beyond_them_growth_per_year():
    """QA20: with 2015, 2016 and 2021 given, 2017-2020 were 2015's grown by growth_per_year,
    so the rate per 10,000 jumped at 2021."""
    from carejourney.config.schema import Population
    pop = Population(children_0_17_by_year={2015: 100_000, 2016: 110_000, 2021: 110_000 * 1.1 ** 5}, growth_per_year=0.02)
    assert pop.children_in(2016) == 110_000
    for year, expected in ((2017, 121_000), (2018, 133_100), (2020, 161_051)):  # 10% a year from 2016 to 2021
        assert pop.children_in(year) == pytest.approx(expected)
    assert pop.children_in(2022) == pytest.approx(110_000 * 1.1 ** 5 * 1.02)
    assert pop.children_in(2013) == pytest.approx(100_000 / 1.02 ** 2)
