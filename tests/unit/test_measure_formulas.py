"""carejourney.metrics.measures on hand-built event logs, against answers worked by hand.

Day 0 is 1 April 2015; the financial year 2015-16 is days [0, 366) (2016 is a leap year)
and 2016-17 is days [366, 731). Costs are weekly, so a day costs weekly / 7; a
52-week placement is 52 x 7 = 364 placement days.
"""

from __future__ import annotations

import math

import pytest

from carejourney.config import parse_config
from carejourney.events import POST_CARE_CODE, POST_CARE_KINDS, EventLog
from carejourney.metrics import measures
from carejourney.vocab import EXIT_CODE, LEGAL_CODE, PLACEMENT_CODE, PLACEMENT_TYPES
from tests.conftest import small_dict, with_changes

FY1, FY2 = "2015-16", "2016-17"
DAY = 365.25
S20 = LEGAL_CODE["s20"]


@pytest.fixture(scope="module")
def cfg():
    # real prices, so no inflation factor; a two-year run
    return parse_config(with_changes(small_dict(), {"costs.report_prices": "real"}), "small")


@pytest.fixture(scope="module")
def cfg_contributions():
    return parse_config(with_changes(small_dict(), {"costs.report_prices": "real",
                                                    "costs.parental_contribution": {"share": 0.5,
                                                                                    "weekly_gbp": 70.0}}),
                        "contributions")


def _child(log, child, age_years=8.0, uasc=False, need=0):
    log.children.append((child, -age_years * DAY, True, need, uasc, False, 0))


def _period(log, child, period, start, end, route="returned_home_planned", status=S20):
    log.periods.append((child, period, float(start), float(end), status, EXIT_CODE[route]))


def _annual(cfg, log, **kw):
    pools = list(cfg.placements.capacity)
    annual, _ = measures(cfg, log, [], pools, service_costs=[], **kw)
    return annual


def _value(annual, measure, breakdown, category, period) -> float:
    sel = annual[(annual.measure == measure) & (annual.breakdown == breakdown) & (annual.category == category)
                 & (annual.period == period)]
    assert len(sel) == 1, (measure, breakdown, category, period, len(sel))
    return float(sel.value.iloc[0])


# ---------------------------------------------------------------- starts and ceased
def _two_periods_in_a_year_log():
    log = EventLog()
    for c in (1, 2, 3):
        _child(log, c)
    # child 1: two periods of care in 2015-16, leaving first home, then on an SGO
    _period(log, 1, 1, 10, 50, route="returned_home_planned")
    # child 2: one period, in the log between child 1's periods
    _period(log, 2, 1, 20, 120, route="adopted")
    _period(log, 1, 2, 100, 200, route="sgo_other_carer")
    # child 3: starts in 2015-16 and leaves in 2016-17, twice in that year
    _period(log, 3, 1, 300, 400, route="custody")
    _period(log, 3, 2, 500, 600, route="child_arrangements_order")
    return log


def test_starts_count_children_once_a_year_and_periods_each_time(cfg):
    annual = _annual(cfg, _two_periods_in_a_year_log())
    assert _value(annual, "care_period_starts", "total", "all", FY1) == 4  # 1, 2, 1 again, 3
    assert _value(annual, "starts_children", "total", "all", FY1) == 3  # children 1, 2, 3
    assert _value(annual, "care_period_starts", "total", "all", FY2) == 1
    assert _value(annual, "starts_children", "total", "all", FY2) == 1


def test_a_child_with_two_periods_in_a_year_is_one_child_start(cfg):
    log = EventLog()
    _child(log, 7)
    _period(log, 7, 1, 10, 50, route="returned_home_planned")
    _period(log, 7, 2, 100, 200, route="sgo_other_carer")
    annual = _annual(cfg, log)
    assert _value(annual, "starts_children", "total", "all", FY1) == 1
    assert _value(annual, "care_period_starts", "total", "all", FY1) == 2
    assert _value(annual, "ceased_children", "total", "all", FY1) == 1
    assert _value(annual, "care_period_ends", "total", "all", FY1) == 2
    # counted by the last exit of the year
    assert _value(annual, "ceased_children", "exit_route", "sgo_other_carer", FY1) == 1
    assert _value(annual, "ceased_children", "exit_route", "returned_home_planned", FY1) == 0


def test_ceased_children_counted_once_by_their_last_exit(cfg):
    annual = _annual(cfg, _two_periods_in_a_year_log())
    assert _value(annual, "care_period_ends", "total", "all", FY1) == 3
    assert _value(annual, "ceased_children", "total", "all", FY1) == 2  # children 1 and 2
    by_route = {r: _value(annual, "ceased_children", "exit_route", r, FY1)
                for r in ("returned_home_planned", "sgo_other_carer", "adopted")}
    assert by_route == {"returned_home_planned": 0, "sgo_other_carer": 1, "adopted": 1}
    assert _value(annual, "care_period_ends", "total", "all", FY2) == 2
    assert _value(annual, "ceased_children", "total", "all", FY2) == 1  # child 3
    assert _value(annual, "ceased_children", "exit_route", "child_arrangements_order", FY2) == 1
    assert _value(annual, "ceased_children", "exit_route", "custody", FY2) == 0


# ---------------------------------------------------------------- post-care spend
def _one_child_log():
    log = EventLog()
    _child(log, 1)
    return log


@pytest.mark.parametrize("kind", POST_CARE_KINDS)
def test_post_care_spend_is_days_times_weekly_cost_over_seven(cfg, kind):
    weekly = {"sgo_allowance": cfg.costs.sgo_allowance.weekly_gbp,
              "adoption_allowance": cfg.costs.adoption_allowance.weekly_gbp,
              "care_leaver": cfg.costs.care_leaver_weekly_gbp,
              "staying_put": cfg.costs.staying_put_weekly_gbp}[kind]
    assert weekly > 0
    log = _one_child_log()
    log.post_care.append((1, POST_CARE_CODE[kind], 10.0, 80.0))  # 70 days in 2015-16
    annual = _annual(cfg, log)
    assert _value(annual, "post_care_days", "kind", kind, FY1) == pytest.approx(70.0)
    assert _value(annual, "spend_gbp", "post_care", kind, FY1) == pytest.approx(70.0 * weekly / 7.0)
    assert _value(annual, "spend_gbp", "post_care", kind, FY2) == 0.0
    # ... and adds just that to the total (the rest is the in-house places' fixed cost)
    without = _annual(cfg, _one_child_log())
    assert _value(annual, "spend_gbp", "total", "all", FY1) - _value(without, "spend_gbp", "total", "all", FY1) \
        == pytest.approx(70.0 * weekly / 7.0)


def test_post_care_spend_with_an_allowance_lever_is_days_times_weekly_over_seven(cfg):
    weekly = cfg.costs.sgo_allowance.weekly_gbp
    log = EventLog()
    _child(log, 1)
    log.post_care.append((1, POST_CARE_CODE["sgo_allowance"], 10.0, 80.0))
    # the allowance doubles from day 50: 40 days at the usual amount, 30 at twice it
    steps = {"sgo_allowance": [[(-math.inf, 1.0), (50.0, 2.0)]]}
    annual = _annual(cfg, log, allowance_steps=steps)
    assert _value(annual, "spend_gbp", "post_care", "sgo_allowance", FY1) == pytest.approx(
        (40.0 + 2 * 30.0) * weekly / 7.0)


# ---------------------------------------------------------------- 52-week placements
def test_52_week_placements_are_placement_days_over_364(cfg):
    log = EventLog()
    _child(log, 1)
    _period(log, 1, 1, 0.0, math.nan, route="censored")
    ifa = PLACEMENT_CODE["ifa_foster"]
    # 365 days of IFA in 2015-16 (days 1-365) and a whole year of it in 2016-17 (365 days)
    log.placements.append((1, 1, 1.0, math.nan, ifa, False, True, 5))
    annual = _annual(cfg, log)
    assert _value(annual, "placement_days", "placement_type", "ifa_foster", FY1) == pytest.approx(365.0)
    assert _value(annual, "placements_52_week", "placement_type", "ifa_foster", FY1) == pytest.approx(365 / 364)
    assert _value(annual, "placements_52_week", "placement_type", "ifa_foster", FY2) == pytest.approx(365 / 364)
    weekly = cfg.placements.types["ifa_foster"].weekly_cost_gbp
    # 52 weeks of a placement cost 52 weekly prices
    assert _value(annual, "spend_gbp", "placement", "ifa_foster", FY1) == pytest.approx(365.0 * weekly / 7.0)


def test_a_364_day_placement_is_exactly_one_52_week_placement(cfg):
    log = EventLog()
    _child(log, 1)
    _period(log, 1, 1, 0.0, 364.0)
    res = PLACEMENT_CODE["external_childrens_home"]
    log.placements.append((1, 1, 0.0, 364.0, res, False, False, 4))
    annual = _annual(cfg, log)
    assert _value(annual, "placements_52_week", "placement_type", "external_childrens_home", FY1) == 1.0
    others = [t for t in PLACEMENT_TYPES if t != "external_childrens_home"]
    assert all(_value(annual, "placements_52_week", "placement_type", t, FY1) == 0.0 for t in others)


# ---------------------------------------------------------------- parental contributions
def _uasc_and_other_log():
    log = EventLog()
    _child(log, 1, uasc=False)
    _child(log, 2, age_years=16.0, uasc=True)
    _period(log, 1, 1, 0.0, 70.0)  # 70 days, not UASC
    _period(log, 2, 1, 0.0, 140.0, route="turned_18_other")  # 140 days, UASC
    return log


def test_parental_contributions_only_for_children_who_are_not_uasc(cfg_contributions):
    c = cfg_contributions.costs
    annual = _annual(cfg_contributions, _uasc_and_other_log())
    # 70 non-UASC days x share 0.5 x 70 GBP a week / 7
    assert _value(annual, "spend_gbp", "income", "parental_contribution", FY1) == pytest.approx(-70.0 * 0.5 * 70.0 / 7)
    assert _value(annual, "spend_gbp", "income", "uasc_grant", FY1) == pytest.approx(
        -140.0 * c.uasc_grant_weekly_gbp / 7.0)
    assert _value(annual, "spend_gbp", "income", "parental_contribution", FY2) == 0.0


def test_only_uasc_children_bring_no_contribution(cfg_contributions):
    log = EventLog()
    _child(log, 2, age_years=16.0, uasc=True)
    _period(log, 2, 1, 0.0, 140.0, route="turned_18_other")
    annual = _annual(cfg_contributions, log)
    assert _value(annual, "spend_gbp", "income", "parental_contribution", FY1) == 0.0


def test_a_contribution_lever_charges_only_children_who_are_not_uasc(cfg):
    assert cfg.costs.parental_contribution.share == 0.0  # the bundled config charges nothing
    # a lever: 40% of parents pay 35 GBP a week from day 0
    steps = [(0.4, [(-math.inf, 0.0), (0.0, 35.0)])]
    annual = _annual(cfg, _uasc_and_other_log(), contribution_steps=steps)
    assert _value(annual, "spend_gbp", "income", "parental_contribution", FY1) == pytest.approx(
        -0.4 * 70.0 * 35.0 / 7.0)


def test_social_work_and_uasc_grant_count_every_looked_after_day(cfg):
    c = cfg.costs
    annual = _annual(cfg, _uasc_and_other_log())
    assert _value(annual, "lac_days", "total", "all", FY1) == pytest.approx(210.0)
    assert _value(annual, "spend_gbp", "social_work", "social_work", FY1) == pytest.approx(
        210.0 * c.social_work_weekly_gbp_per_child / 7.0)
    assert _value(annual, "spend_gbp", "income", "parental_contribution", FY1) == 0.0


def test_adoption_wait_pairs_each_placement_with_its_own_period_however_many_periods():
    """QA: periods were keyed child * 1000 + period, so child 1's period 1001 and child 2's
    period 1 had one key and the wait came out negative. Child 1 has 1,000 short periods
    before the one in which it is placed for adoption; child 2 is placed in its first
    (in the third year: waits are given from then)."""
    cfg = parse_config(with_changes(small_dict(3), {"costs.report_prices": "real"}), "three years")
    pfa = PLACEMENT_CODE["placed_for_adoption"]
    log = EventLog()
    for c in (1, 2):
        _child(log, c, age_years=1.0)
    for k in range(1, 1001):
        _period(log, 1, k, 0.01 * k, 0.01 * k + 0.005)
    _period(log, 1, 1001, 800.0, math.nan, route="censored")  # entered day 800, placed day 900: 100 days
    log.placements.append((1, 1001, 900.0, math.nan, pfa, False, True, 5))
    _period(log, 2, 1, 850.0, math.nan, route="censored")  # entered day 850, placed day 880: 30 days
    log.placements.append((2, 1, 880.0, math.nan, pfa, False, True, 5))
    annual = _annual(cfg, log)
    assert _value(annual, "placed_for_adoption_children", "total", "all", "2017-18") == 2
    assert _value(annual, "adoption_entry_to_placed_days_mean", "total", "all", "2017-18") == pytest.approx(65.0)


def test_a_pool_without_places_has_no_occupancy_row_rather_than_an_empty_value():
    """QA: Wiltshire's in-house homes have no places, and each year's occupancy share was NaN
    (an empty cell in the CSVs); a measure with nothing to measure is left out."""
    from carejourney.runner import run_replication

    d = with_changes(small_dict(), {"placements.capacity.inhouse_childrens_home.initial_places": 0,
                                    "placements.capacity.inhouse_childrens_home.recruited_places_per_year": 0})
    counts = d["opening"]["placement_type_counts"]  # the 12 in in-house homes at the start go to external ones
    counts["external_childrens_home"] += counts["inhouse_childrens_home"]
    counts["inhouse_childrens_home"] = 0
    cfg = parse_config(d, "no homes")
    annual = run_replication(cfg, 1, 0).annual
    assert not annual["value"].isna().any()
    share = annual[annual.measure == "inhouse_occupancy_share"]
    assert set(share.category) == {"inhouse_foster"} and len(share) == 2  # two years
    homes = annual[(annual.measure == "inhouse_place_days") & (annual.category == "inhouse_childrens_home")]
    assert list(homes.value) == [0.0, 0.0]  # the place-days are still there: zero


def test_median_time_in_care_of_an_even_count_is_the_mean_of_the_middle_two(cfg):
    log = EventLog()
    for c in (1, 2):
        _child(log, c)
    _period(log, 1, 1, 10.0, 20.0, route="adopted")  # 10 days
    _period(log, 2, 1, 30.0, 50.0, route="adopted")  # 20 days
    annual = _annual(cfg, log)
    assert _value(annual, "duration_in_care_days_median", "exit_route", "adopted", FY1) == 15.0
    assert _value(annual, "duration_in_care_days_mean", "exit_route", "adopted", FY1) == 15.0


def test_placed_for_adoption_within_14_months_means_426_days_of_entering_care():
    """The DfE's 14 months (426 days) from entry to placement with adopters: 400 days is inside,
    430 is not. A child of the opening stock (care begun before the run, at an assumed date) is
    a placement made in the year but has no wait (QA17: in the first year nearly all were), and
    the waits are given only from the third year, once waits of two years can be seen (review:
    year one's were all under a year, 100% within 14 months by construction)."""
    cfg = parse_config(with_changes(small_dict(3), {"costs.report_prices": "real"}), "three years")
    pfa = PLACEMENT_CODE["placed_for_adoption"]
    log = EventLog()
    for c, entered, placed in ((1, 340.0, 400.0), (2, 341.0, 430.0), (3, -300.0, 1100.0), (4, 1.0, 100.0)):
        _child(log, c, age_years=1.0)
        _period(log, c, 1, entered, math.nan, route="censored")
        log.placements.append((c, 1, entered + placed, math.nan, pfa, False, True, 5))
    annual = _annual(cfg, log)
    assert _value(annual, "placed_for_adoption_children", "total", "all", FY1) == 1
    assert _value(annual, "placed_for_adoption_children", "total", "all", "2017-18") == 3
    assert _value(annual, "adoption_within_14_months_share", "total", "all", "2017-18") == 0.5
    assert _value(annual, "adoption_entry_to_placed_days_mean", "total", "all", "2017-18") == pytest.approx(415.0)
    early = annual[annual.period.isin([FY1, FY2]) & (annual.measure == "adoption_entry_to_placed_days_mean")]
    assert early.empty  # placed in those years, but no wait given


def _placement(log, child, period, start, end, ptype="ifa_foster", reason=5):
    log.placements.append((child, period, float(start), float(end), PLACEMENT_CODE[ptype], False, True, reason))


def test_placement_stability_counts_children_at_31_march_with_3_placements_in_the_year(cfg):
    """The DfE measure: looked after at 31 March, with three or more placements during the
    year, one begun the year before counting if it ran into the year (mutation QA: both
    conditions could be loosened, caught only by the back-test)."""
    log = EventLog()
    for c in (1, 2, 3):
        _child(log, c)
    # child 1: three placements in 2015-16, but left on day 300: not counted
    _period(log, 1, 1, 10, 300)
    for a, b in ((10, 100), (100, 200), (200, 300)):
        _placement(log, 1, 1, a, b)
    # child 2: in care from the year before; a placement begun then runs into 2015-16, then two more
    _period(log, 2, 1, -100, math.nan, route="censored")
    for a, b in ((-100, 50), (50, 150), (150, math.nan)):
        _placement(log, 2, 1, a, b)
    # child 3: two placements in 2015-16 and one that ended before it began: not counted
    _period(log, 3, 1, -200, math.nan, route="censored")
    for a, b in ((-200, -10), (-10, 100), (100, math.nan)):
        _placement(log, 3, 1, a, b)
    annual = _annual(cfg, log)
    assert _value(annual, "placement_stability_3plus_children", "total", "all", FY1) == 1  # child 2


def test_ceased_children_by_age_band_take_the_age_at_leaving(cfg):
    log = EventLog()
    _child(log, 1, age_years=15.9)  # 15.9 on day 0: 16 by the day it leaves
    _period(log, 1, 1, 0.0, 0.2 * DAY)
    annual = _annual(cfg, log)
    assert _value(annual, "ceased_children", "age_band", "16_to_17", FY1) == 1
    assert _value(annual, "ceased_children", "age_band", "10_to_15", FY1) == 0


def test_uasc_starts_count_a_child_once_a_year(cfg):
    log = EventLog()
    _child(log, 1, uasc=True)
    _period(log, 1, 1, 10, 50)
    _period(log, 1, 2, 100, 200)
    annual = _annual(cfg, log)
    assert _value(annual, "starts_children", "uasc", "uasc", FY1) == 1


def test_age_bands_change_on_calendar_birthdays_as_the_dfe_counts_age(cfg):
    """QA20: bands were cut at multiples of 365.25 days, so a child born 1 April 2006 counted
    10-15 on 31 March 2016, the day before their 10th birthday, and a child who came into care
    on their first birthday counted under 1."""
    import datetime as dt

    def day(d):
        return float((d - dt.date(2015, 4, 1)).days)
    log = EventLog()
    for child, born in ((1, dt.date(2006, 4, 1)), (2, dt.date(2006, 3, 31)), (3, dt.date(2014, 9, 17))):
        log.children.append((child, day(born), True, 0, False, False, 0))
    _period(log, 1, 1, 0.0, 731.0)  # through 31 March 2017, the run's last day
    _period(log, 2, 1, 0.0, 731.0)
    _period(log, 3, 1, day(dt.date(2015, 9, 17)), day(dt.date(2015, 10, 1)))  # in on their 1st birthday
    annual = _annual(cfg, log)
    assert _value(annual, "lac_children", "age_band", "5_to_9", FY1) == 1  # child 1, 10 tomorrow
    assert _value(annual, "lac_children", "age_band", "10_to_15", FY1) == 1  # child 2, 10 today
    assert _value(annual, "lac_children", "age_band", "10_to_15", FY2) == 2
    assert _value(annual, "starts_children", "age_band", "1_to_4", FY1) == 1
    assert _value(annual, "starts_children", "age_band", "under_1", FY1) == 0
    assert _value(annual, "ceased_children", "age_band", "1_to_4", FY1) == 1
