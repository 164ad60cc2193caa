"""target_probabilities on a hand-made annual results frame: the share of replications
meeting each target, counted by hand.

at_most means value <= threshold and at_least value >= threshold (a value exactly on
the threshold meets both). Paired measures (savings, reductions) are baseline minus
scenario within each replication, so a positive value is a saving.
"""

from __future__ import annotations

import pandas as pd
import pytest

from carejourney.experiment import BASELINE, Target, target_probabilities

FY1, FY2 = "2015-16", "2016-17"


def _rows(scenario, measure, breakdown, category, period, values):
    return [{"scenario": scenario, "replication": r, "table": "annual", "period": period, "measure": measure,
             "breakdown": breakdown, "category": category, "value": float(v)} for r, v in enumerate(values)]


def _annual() -> pd.DataFrame:
    rows = []
    # looked-after children at 31 March 2017, four replications
    rows += _rows(BASELINE, "lac_children", "total", "all", FY2, [100, 100, 100, 100])
    rows += _rows("plan", "lac_children", "total", "all", FY2, [90, 95, 105, 110])
    # another year and another breakdown of the same measure: not the target's rows
    rows += _rows(BASELINE, "lac_children", "total", "all", FY1, [500, 500, 500, 500])
    rows += _rows("plan", "lac_children", "total", "all", FY1, [0, 0, 0, 0])
    rows += _rows("plan", "lac_children", "placement_type", "ifa_foster", FY2, [1, 1, 1, 1])
    # spend: the baseline differs between replications, so pairing matters
    rows += _rows(BASELINE, "spend_gbp", "total", "all", FY1, [1000, 1200, 1000, 1200])
    rows += _rows("plan", "spend_gbp", "total", "all", FY1, [990, 1205, 995, 1190])  # savings 10, -5, 5, 10
    rows += _rows(BASELINE, "spend_gbp", "total", "all", FY2, [1000, 1000, 1000, 1000])
    rows += _rows("plan", "spend_gbp", "total", "all", FY2, [1030, 1000, 980, 1001])  # savings -30, 0, 20, -1
    return pd.DataFrame(rows)


def _probabilities(targets) -> dict[tuple[str, str], float]:
    annual = _annual()
    out = target_probabilities(annual[annual.table == "annual"], pd.DataFrame(), targets)
    return {(r.target, r.scenario): r.probability for r in out.itertuples()}


@pytest.mark.parametrize("threshold,plan,baseline", [
    (89, 0.0, 0.0), (90, 0.25, 0.0), (95, 0.5, 0.0), (99, 0.5, 0.0), (100, 0.5, 1.0),
    (105, 0.75, 1.0), (110, 1.0, 1.0), (200, 1.0, 1.0),
])
def test_lac_at_most(threshold, plan, baseline):
    p = _probabilities([Target(name="t", measure="lac_children", period=FY2, at_most=threshold)])
    assert p == {("t", BASELINE): baseline, ("t", "plan"): plan}


@pytest.mark.parametrize("threshold,plan,baseline", [
    (89, 1.0, 1.0), (90, 1.0, 1.0), (95, 0.75, 1.0), (100, 0.5, 1.0), (101, 0.5, 0.0),
    (105, 0.5, 0.0), (110, 0.25, 0.0), (111, 0.0, 0.0),
])
def test_lac_at_least(threshold, plan, baseline):
    p = _probabilities([Target(name="t", measure="lac_children", period=FY2, at_least=threshold)])
    assert p == {("t", BASELINE): baseline, ("t", "plan"): plan}


def test_target_rows_record_threshold_direction_and_median():
    annual = _annual()
    out = target_probabilities(annual, pd.DataFrame(), [
        Target(name="fewer", measure="lac_children", period=FY2, at_most=95, source="plan p.3")])
    row = out[out.scenario == "plan"].iloc[0]
    assert (row["threshold"], row["direction"], row["probability"], row["median"], row["source"]) == (
        95, "at_most", 0.5, 100.0, "plan p.3")


# savings in FY1, replication by replication: 10, -5, 5, 10 (baseline minus scenario)
@pytest.mark.parametrize("at_least,expected", [(-5, 1.0), (-4, 0.75), (5, 0.75), (6, 0.5), (10, 0.5), (11, 0.0)])
def test_saving_at_least_in_a_year(at_least, expected):
    p = _probabilities([Target(name="s", measure="spend_gbp_saving", period=FY1, at_least=at_least)])
    assert p == {("s", "plan"): expected}  # the baseline is not compared with itself


@pytest.mark.parametrize("at_most,expected", [(-6, 0.0), (-5, 0.25), (0, 0.25), (5, 0.5), (9, 0.5), (10, 1.0)])
def test_saving_at_most_in_a_year(at_most, expected):
    p = _probabilities([Target(name="s", measure="spend_gbp_saving", period=FY1, at_most=at_most)])
    assert p == {("s", "plan"): expected}


# over the run, replication by replication: 10 - 30 = -20, -5 + 0 = -5, 5 + 20 = 25, 10 - 1 = 9
@pytest.mark.parametrize("target,expected", [
    ({"at_least": 0}, 0.5), ({"at_least": 9}, 0.5), ({"at_least": 10}, 0.25), ({"at_least": 25}, 0.25),
    ({"at_least": -5}, 0.75), ({"at_most": -20}, 0.25), ({"at_most": -5}, 0.5), ({"at_most": 9}, 0.75),
])
def test_saving_over_the_run(target, expected):
    p = _probabilities([Target(name="s", measure="spend_gbp_saving", period="total", **target)])
    assert p == {("s", "plan"): expected}


def test_saving_median_is_baseline_minus_scenario():
    annual = _annual()
    out = target_probabilities(annual, pd.DataFrame(), [
        Target(name="y", measure="spend_gbp_saving", period=FY1, at_least=0),
        Target(name="run", measure="spend_gbp_saving", period="total", at_least=0),
        Target(name="lac", measure="lac_reduction_children", period=FY2, at_least=0)])
    median = dict(zip(out.target, out["median"]))
    assert median == {"y": 7.5, "run": 2.0, "lac": 0.0}
    prob = dict(zip(out.target, out.probability))
    assert prob["lac"] == 0.5  # reductions 10, 5, -5, -10


# reductions in FY2: 10, 5, -5, -10; in FY1 the plan has none looked after: 500 each time
@pytest.mark.parametrize("period,at_least,expected", [
    (FY2, 5, 0.5), (FY2, 10, 0.25), (FY2, -5, 0.75), (FY2, -10, 1.0), (FY1, 500, 1.0), (FY1, 501, 0.0),
])
def test_lac_reduction_is_baseline_minus_scenario(period, at_least, expected):
    p = _probabilities([Target(name="r", measure="lac_reduction_children", period=period, at_least=at_least)])
    assert p == {("r", "plan"): expected}
