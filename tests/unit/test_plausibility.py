"""`check` and `run` judge demand against the config's own council (config/plausibility.py).

Impossible demand (more referrals a year in an age band than children of that age; UASC that
would outnumber all the council's children) is an error naming the file and the field.
Possible but implausible demand (a referral rate over 3 times configs/england-2015.yaml's;
UASC that would outnumber the whole looked-after stock at the start) is a `warning:` line.
"""

from __future__ import annotations

import pytest
import yaml

from carejourney.cli import main
from carejourney.config import ConfigError, load_config, parse_config
from tests.conftest import ROOT, load_default_dict, small_dict, with_changes

REFERRALS = "demand.referrals.per_year_by_age_band"
# Cambridgeshire's 2016 population: 131,957 children, so 7,331 under 1 and 36,655 aged 5 to 9
TYPO = {f"{REFERRALS}.under_1": 18700}  # an extra zero on 1,870
IMPLAUSIBLE = {f"{REFERRALS}.5_to_9": 14000}  # 3,819 per 10,000, over 3 x 530
MANY_UASC = {"demand.uasc.periods": [{"from_date": "2016-04-01", "to_date": "2017-04-01", "arrivals": 2000}]}
# 100,000 14-year-olds a year for four years, each in care until 18: more than all 139,376 children
# (the 2016 population grown 1.1% a year to 2021)
UASC_BEYOND_POPULATION = {"demand.uasc.age_years_distribution": {14: 1.0},
                          "demand.uasc.age_assessment_18_plus_probability": 0.0,
                          "demand.uasc.periods": [{"from_date": "2017-04-01", "to_date": "2021-04-01",
                                                   "arrivals": 400000}]}


def config_file(tmp_path, changes, name="c.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(with_changes(load_default_dict(), changes)))
    return path


@pytest.mark.parametrize("changes, field, message", [
    (TYPO, f"{REFERRALS}.under_1", "18,700 referrals a year, more than the 7,331 children aged under 1"),
    (UASC_BEYOND_POPULATION, "demand.uasc.periods[0]", "more than the 139,376 children aged 0-17"),
])
def test_impossible_demand_is_an_error_naming_file_and_field(tmp_path, capsys, changes, field, message):
    path = config_file(tmp_path, changes)
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}: 1 problem(s) in the config:")
    assert f"\n  - {field}: " in err and message in err and "not possible" in err  # QA: was "(top level): {field}"


def test_impossible_demand_is_refused_wherever_a_config_is_validated():
    # fit, the API and each replication's drawn parameters validate with parse_config / the schema
    with pytest.raises(ConfigError, match=rf"{REFERRALS}.under_1: 18,700 referrals a year"):
        parse_config(with_changes(load_default_dict(), TYPO), "fitted config")


@pytest.mark.parametrize("changes, field, message", [
    (IMPLAUSIBLE, f"{REFERRALS}.5_to_9", "14,000 a year is 3,819 per 10,000 children aged 5 to 9"),
    (MANY_UASC, "demand.uasc.periods[0]", "more than the whole looked-after stock at the start (535"),
    # QA: only the first year was checked; a 50% trend makes more referrals than babies by 2019
    ({"demand.referrals.trend_per_year": 0.5, "horizon.end_date": "2027-03-31"}, "demand.referrals",
     "trend_per_year and steps make more referrals a year than the population has children"),
])
def test_implausible_demand_is_a_warning_that_check_prints(tmp_path, capsys, changes, field, message):
    path = config_file(tmp_path, changes)
    assert main(["check", str(path)]) == 0
    err = capsys.readouterr().err
    assert f"warning: {path}: {field}: " in err and message in err
    seen = []
    load_config(path, warn=seen.append)
    assert len(seen) == 1 and seen[0].startswith(f"{path}: {field}: ")


def test_run_prints_the_warning_too(tmp_path, capsys):
    path = config_file(tmp_path, {**IMPLAUSIBLE, "horizon.end_date": "2016-03-31"})
    assert main(["run", str(path), "--reps", "1", "--out", str(tmp_path / "out")]) == 0
    assert f"warning: {path}: {REFERRALS}.5_to_9: " in capsys.readouterr().err


@pytest.mark.parametrize("changes, message", [
    ({f"{REFERRALS}.1_to_4": -5}, "referral rates must be non-negative: {'1_to_4': -5"),
    ({"demand.uasc.periods": [{"from_date": "2016-04-01", "to_date": "2017-04-01", "arrivals": -1}]},
     "greater than or equal to 0"),
])
def test_a_negative_rate_is_an_error(changes, message):
    with pytest.raises(ConfigError, match=message):
        parse_config(with_changes(load_default_dict(), changes), "c.yaml")


def test_demand_just_below_the_limits_is_accepted_quietly(tmp_path, capsys):
    # 5,500 a year is 1,500 per 10,000 5-9s, 2.8 times England's 530; 780 UASC in a year leave
    # about 530 in care at its end (some have turned 18, 20% are assessed as adults): under 535
    path = config_file(tmp_path, {f"{REFERRALS}.5_to_9": 5500, "demand.uasc.periods": [
        {"from_date": "2016-04-01", "to_date": "2017-04-01", "arrivals": 780}]})
    assert main(["check", str(path)]) == 0
    assert "warning" not in capsys.readouterr().err


def test_the_reference_rates_are_the_england_config_s():
    from carejourney.config.plausibility import (
        REFERENCE_REFERRALS_PER_10000,
        children_by_band,
    )

    england = load_config(ROOT / "configs" / "england-2015.yaml")
    children = children_by_band(england)
    for band, n in england.demand.referrals.per_year_by_age_band.items():
        assert n / children[band] * 1e4 == pytest.approx(REFERENCE_REFERRALS_PER_10000[band], rel=0.01)


def test_a_stock_far_from_englands_rate_suggests_another_councils_population(tmp_path, capsys):
    # Cambridgeshire's 535 over 20,000 children are 268 per 10,000, over three times England's 60
    small_council = {"population.children_0_17_by_year": {2015: 20000, 2016: 20000},
                     REFERRALS: {"under_1": 500, "1_to_4": 500, "5_to_9": 500, "10_to_15": 600, "16_to_17": 400}}
    path = config_file(tmp_path, small_council)
    assert main(["check", str(path)]) == 0
    assert (f"warning: {path}: population.children_0_17_by_year: the 535 looked after at the start are 268 per "
            "10,000 children aged 0-17 in 2016, against England's 60") in capsys.readouterr().err
    assert main(["check", str(ROOT / "configs" / "cambridgeshire-2015.yaml")]) == 0  # 41 per 10,000
    assert "warning" not in capsys.readouterr().err


def test_uasc_arriving_outside_the_run_are_no_concern(tmp_path, capsys):
    # arrivals after the run ends are never simulated; a one-year run must not warn about them
    later = {"horizon.end_date": "2016-03-31", **{k: v for k, v in MANY_UASC.items()}}
    path = config_file(tmp_path, later)
    assert main(["check", str(path)]) == 0
    assert "more than the whole looked-after stock" not in capsys.readouterr().err


def test_a_shrinking_population_is_warned_about_and_so_are_the_referrals_it_cannot_supply(tmp_path):
    """QA: growth_per_year -0.5 passed quietly; by 2021 there were 11,166 referrals a year for 4,124 children."""
    path = config_file(tmp_path, {"population.growth_per_year": -0.5})
    seen = []
    load_config(path, warn=seen.append)
    assert any(m.startswith(f"{path}: population.growth_per_year: -50% a year") for m in seen), seen
    later = [m for m in seen if m.startswith(f"{path}: demand.referrals: ")]
    assert len(later) == 1 and "aged under 1 from the year ending 31 March 2018" in later[0], later


def test_a_field_the_model_does_not_read_is_warned_about():
    """QA14: exits.adoption.concurrent_share was accepted and written by calibrate, but nothing
    read it: 0 and 1 gave identical runs."""
    from carejourney.config.loader import config_warnings
    assert not [w for w in config_warnings(parse_config(small_dict(), "x")) if "concurrent_share" in w]
    cfg = parse_config(with_changes(small_dict(), {"exits.adoption.concurrent_share": 0.4}), "x")
    assert [w for w in config_warnings(cfg) if w.startswith("exits.adoption.concurrent_share: 0.4 is not used")]
