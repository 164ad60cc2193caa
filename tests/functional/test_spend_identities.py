"""Spend and rates on a real run add up as their definitions say (mutation QA, round 13:
each of these was checked only by the stored back-test's exact numbers, or not at all)."""

from __future__ import annotations

import pytest

from carejourney.config import parse_config
from carejourney.runner import run_replication
from tests.conftest import small_dict, with_changes


def _values(annual, measure, breakdown, category):
    sel = annual[(annual.measure == measure) & (annual.breakdown == breakdown) & (annual.category == category)]
    return sel.set_index("period")["value"]


@pytest.fixture(scope="module")
def run():
    cfg = parse_config(with_changes(small_dict(), {"costs.report_prices": "real"}), "small")
    return cfg, run_replication(cfg, 3, 0).annual


def test_cash_prices_are_real_prices_times_the_index_relative_to_the_price_year():
    """No config, test or back-test used cash prices: the factor could be inverted unseen."""
    index = {"costs.price_year": 2015, "costs.inflation_index_by_year": {2015: 1.0, 2016: 1.1}}
    real = parse_config(with_changes(small_dict(), {**index, "costs.report_prices": "real"}), "real")
    cash = parse_config(with_changes(small_dict(), {**index, "costs.report_prices": "cash"}), "cash")
    r, c = (_values(run_replication(x, 3, 0).annual, "spend_gbp", "total", "all") for x in (real, cash))
    assert c["2015-16"] == pytest.approx(r["2015-16"], rel=1e-12)
    assert c["2016-17"] == pytest.approx(1.1 * r["2016-17"], rel=1e-12)


def test_the_rate_per_10000_is_the_stock_over_that_years_population(run):
    cfg, annual = run
    lac, rate = _values(annual, "lac_children", "total", "all"), _values(annual, "lac_rate_per_10000", "total", "all")
    for fy in lac.index:
        children = cfg.population.children_in(int(fy[:4]) + 1)  # the year ending that 31 March
        assert rate[fy] == pytest.approx(lac[fy] / children * 1e4, rel=1e-12)


def test_in_house_fixed_costs_are_paid_on_every_place_occupied_or_not(run):
    cfg, annual = run
    for pool, c in cfg.placements.capacity.items():
        place_days = _values(annual, "inhouse_place_days", "pool", pool)
        occupied = _values(annual, "inhouse_occupied_days", "pool", pool)
        assert (occupied < place_days).all()  # some places stand empty: the two bases differ
        fixed = _values(annual, "spend_gbp", "inhouse_fixed", pool)
        assert fixed.to_numpy() == pytest.approx((place_days * c.fixed_weekly_cost_gbp_per_place / 7).to_numpy())


def test_the_placements_total_is_placements_and_in_house_fixed_costs(run):
    _, annual = run
    spend = annual[annual.measure == "spend_gbp"]
    parts = spend[spend.breakdown.isin(["placement", "inhouse_fixed"])].groupby("period")["value"].sum()
    total = _values(annual, "spend_gbp", "total", "placements")
    assert total.to_numpy() == pytest.approx(parts[total.index].to_numpy(), rel=1e-12)
    everything = spend[spend.breakdown != "total"].groupby("period")["value"].sum()
    assert _values(annual, "spend_gbp", "total", "all").to_numpy() == pytest.approx(
        everything[total.index].to_numpy(), rel=1e-12)


def test_an_edge_of_care_service_costs_its_price_for_every_case_started(run):
    cfg, annual = run
    for s in cfg.edge_of_care.services:
        cases = _values(annual, "service_cases_started", "service", s.name)
        successes = _values(annual, "service_successes", "service", s.name)
        assert (successes < cases).all()  # a failure is paid for too: the two bases differ
        spend = _values(annual, "spend_gbp", "edge_of_care", s.name)
        assert spend.to_numpy() == pytest.approx((cases * s.cost_per_case_gbp).to_numpy())


def test_post_care_payments_running_at_the_start_are_paid_until_they_end_and_change_nothing_else():
    """An opening post-care cohort of round(ratio x opening stock) people, each paid for its
    remaining days from the first day; it draws from its own stream, so the children's
    journeys, and every other figure, are those of a run without it."""
    weekly = 70.0
    base = with_changes(small_dict(), {"costs.care_leaver_weekly_gbp": weekly, "opening.post_care": {}})
    opened = with_changes(base, {"opening.post_care": {"care_leaver": {
        "per_child_looked_after": 0.2, "remaining_days": {"kind": "fixed", "days": 200}}}})
    without, with_ = (run_replication(parse_config(d, "t"), 3, 0, keep_events=True) for d in (base, opened))
    people = round(0.2 * parse_config(base, "t").opening.children)
    post = with_.events["post_care"]
    opening = post[post.child_id == -1]
    assert len(opening) == people and (opening.start_day == 0).all() and (opening.end_day == 200).all()
    assert post[post.child_id >= 0].reset_index(drop=True).equals(without.events["post_care"])
    a, b = without.annual.set_index(["period", "measure", "breakdown", "category"])["value"], \
        with_.annual.set_index(["period", "measure", "breakdown", "category"])["value"]
    diff = (b - a)[(b - a) != 0]
    assert diff.to_dict() == pytest.approx({
        ("2015-16", "post_care_days", "kind", "care_leaver"): people * 200,
        ("2015-16", "spend_gbp", "post_care", "care_leaver"): people * 200 * weekly / 7,
        ("2015-16", "spend_gbp", "total", "all"): people * 200 * weekly / 7})
