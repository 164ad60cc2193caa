"""Bad experiment files and scheduler addresses fail before anything runs or is written."""

from __future__ import annotations

from pathlib import Path

import pytest

from carejourney import experiment
from carejourney.cli import main
from carejourney.experiment import ExperimentError, load_experiment, run_experiment
from carejourney.levers import EFFECT_RANGE, KINDS, check_effect
from carejourney.uncertainty import FixedValue, NormalPrior
from tests.functional.experiment_helpers import LEVERS, write_experiment

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"


def _with_effect(lever: str, effect: dict) -> dict:
    return {"x": {**LEVERS[lever], "effect": effect}}


def _load_error(tmp_path, levers=None, scenarios=None) -> str:
    path = write_experiment(tmp_path, levers=levers,
                            scenarios=scenarios or [{"name": "baseline"}, {"name": "s", "levers": list(levers)}])
    with pytest.raises(ExperimentError) as err:
        load_experiment(path)
    text = str(err.value)
    assert "experiment.yaml" in text
    return text


# ---------------------------------------------------------------- F4a: effect priors
@pytest.mark.parametrize("lever,effect,message", [
    ("atc", {"dist": "fixed", "value": 1.7}, "a success probability must lie in [0, 1]; fixed(1.7) reaches 1.7"),
    ("atc", {"dist": "uniform", "low": 0.5, "high": 1.7}, "uniform(0.5, 1.7) reaches 1.7"),
    ("atc", {"dist": "beta", "alpha": 2, "beta": 3, "scale": 2}, "reaches 2"),
    ("atc", {"dist": "normal", "mean": 0.4, "sd": 0.1}, "unbounded"),
    ("atc", {"dist": "lognormal", "median": 0.4, "sigma": 0.2}, "reaches inf"),
    ("fewer_teens", {"dist": "triangular", "low": -0.1, "mode": 0.2, "high": 0.4}, "reaches -0.1"),
    ("cheaper_ifa", {"dist": "fixed", "value": 0.0}, "a price multiplier must be greater than 0"),
    ("cheaper_ifa", {"dist": "normal", "mean": 0.8, "sd": 0.1, "low": -1, "high": 1.2}, "reaches -1"),
])
def test_an_effect_prior_outside_what_the_kind_accepts_is_refused(tmp_path, lever, effect, message):
    text = _load_error(tmp_path, _with_effect(lever, effect))
    assert "levers.x.effect" in text and message in text


def test_negative_places_a_year_are_refused(tmp_path):
    lever = {"kind": "inhouse_recruitment", "evidence": "plan-implied", "start_date": "2015-06-01",
             "pool": "inhouse_foster", "effect": {"dist": "fixed", "value": -30}}
    text = _load_error(tmp_path, {"x": lever})
    assert "levers.x.effect" in text and "places a year must be at least 0" in text


@pytest.mark.parametrize("effect", [{"dist": "fixed", "value": float("nan")},
                                    {"dist": "uniform", "low": float("nan"), "high": 0.5},
                                    {"dist": "triangular", "low": 0.1, "mode": float("nan"), "high": 0.5}])
def test_a_nan_in_an_effect_prior_is_refused(tmp_path, effect):
    text = _load_error(tmp_path, _with_effect("atc", effect))
    assert "levers.x.effect" in text and "finite" in text


@pytest.mark.parametrize("lever,effect", [
    ("atc", {"dist": "normal", "mean": 0.4, "sd": 0.1, "low": 0, "high": 1}),  # truncated inside the range
    ("atc", {"dist": "fixed", "value": 1.0}),
    ("cheaper_ifa", {"dist": "lognormal", "median": 0.9, "sigma": 0.1}),  # never 0
    ("cheaper_ifa", {"dist": "beta", "alpha": 2, "beta": 2}),  # never exactly 0
])
def test_effect_priors_inside_the_range_load(tmp_path, lever, effect):
    load_experiment(write_experiment(tmp_path, levers=_with_effect(lever, effect),
                                     scenarios=[{"name": "baseline"}, {"name": "s", "levers": ["x"]}]))


def test_check_effect_refuses_non_finite_parameters_itself():
    # the prior models refuse NaN too; the lever check must not rely on it
    nan = FixedValue.model_construct(dist="fixed", value=float("nan"))
    with pytest.raises(ValueError, match="value must be a finite number"):
        check_effect("edge_service", nan)
    open_normal = NormalPrior.model_construct(dist="normal", mean=0.8, sd=0.1, low=0.1, high=float("inf"))
    check_effect("unit_cost", open_normal)  # a normal prior's default infinite bound is allowed


def test_every_lever_kind_has_an_effect_range():
    assert EFFECT_RANGE.keys() == KINDS.keys()


# ---------------------------------------------------------------- F4b: scenarios and services
def test_a_lever_listed_twice_in_a_scenario_is_refused(tmp_path):
    text = _load_error(tmp_path, {"fewer_teens": LEVERS["fewer_teens"]},
                       scenarios=[{"name": "baseline"}, {"name": "twice", "levers": ["fewer_teens", "fewer_teens"]}])
    assert "scenarios[1] (twice)" in text and "more than once" in text and "fewer_teens" in text


@pytest.mark.parametrize("levers", [["fewer_teens"], "all"])
def test_a_baseline_with_levers_is_refused(tmp_path, levers):
    text = _load_error(tmp_path, {"fewer_teens": LEVERS["fewer_teens"]},
                       scenarios=[{"name": "baseline", "levers": levers}, {"name": "s", "levers": ["fewer_teens"]}])
    assert "scenarios[0] (baseline) must have no levers" in text


def test_a_new_service_named_like_a_config_service_is_refused(tmp_path):
    from carejourney.config import load_config
    from tests.conftest import DEFAULT_CONFIG
    existing = load_config(DEFAULT_CONFIG).edge_of_care.services[0].name
    atc = {**LEVERS["atc"], "new_service": {**LEVERS["atc"]["new_service"], "name": existing}}
    text = _load_error(tmp_path, {"x": atc})
    assert "levers.x" in text and repr(existing) in text and "already a service in the config" in text


def test_two_levers_adding_the_same_new_service_are_refused(tmp_path):
    text = _load_error(tmp_path, {"atc": LEVERS["atc"], "atc2": LEVERS["atc"]})
    assert "levers.atc2.new_service.name" in text and "'alternatives_to_care'" in text and "lever atc" in text


# ---------------------------------------------------------------- F6: scheduler
@pytest.mark.parametrize("address", ["notaurl", "tcp://127.0.0.1:1"])
def test_a_bad_scheduler_is_a_clean_error_and_writes_nothing(tmp_path, monkeypatch, capsys, address):
    monkeypatch.setattr(experiment, "CONNECT_TIMEOUT_S", 1)
    path = write_experiment(tmp_path)
    out = tmp_path / "out"
    with pytest.raises(ExperimentError, match="cannot connect to a Dask scheduler"):
        run_experiment(path, reps=1, out=out, scheduler=address, progress=False)
    assert not out.exists()
    assert main(["experiment", str(path), "--reps", "1", "--out", str(out), "--scheduler", address]) == 2
    assert "error: --scheduler" in capsys.readouterr().err
    assert not out.exists()


# ---------------------------------------------------------------- bundled experiments
@pytest.mark.parametrize("path", [p for p in sorted(EXPERIMENTS.glob("*.yaml")) if not p.name.startswith("fit-params-")],
                         ids=lambda p: p.name)
def test_bundled_experiments_still_load(path):
    exp = load_experiment(path)
    assert exp.spec.levers


def test_a_negative_threshold_on_a_count_is_refused(tmp_path):
    """No replication can have fewer than 0 looked after: such a target is a typo."""
    path = write_experiment(tmp_path, extra={"targets": [
        {"name": "LAC <= -700", "measure": "lac_children", "period": "2016-17", "at_most": -700}]})
    with pytest.raises(ExperimentError, match=r"targets\[0\] \(LAC <= -700\)\.at_most: -700 is negative"):
        load_experiment(path)
    # a saving may be negative (a lever that costs money)
    write_experiment(tmp_path / "ok", extra={"targets": [
        {"name": "cost at most 1m", "measure": "spend_gbp_saving", "period": "2016-17", "at_least": -1_000_000}]})
    load_experiment(tmp_path / "ok" / "experiment.yaml")


# ---------------------------------------------------------------- numbers are numbers
@pytest.mark.parametrize("lever,where,message", [
    ({**LEVERS["atc"], "effect": {"dist": "beta", "alpha": "26.8", "beta": 35.2}},
     "levers.x.effect.beta", "alpha: should be a number, not '26.8'"),  # beta: the prior's kind
    ({**LEVERS["atc"], "new_service": {**LEVERS["atc"]["new_service"], "caseload_capacity": True}},
     "levers.x.new_service", "caseload_capacity: should be a number, not True"),
    ({**LEVERS["fewer_teens"], "cohort": {"age_years": [10, "17"]}},
     "levers.x.cohort", "age_years[1]: should be a number, not '17'"),
    ({**LEVERS["fewer_teens"], "ramp_up_days": "90"}, "levers.x", "ramp_up_days: should be a number, not '90'"),
])
def test_text_or_true_for_a_number_is_refused_with_its_path(tmp_path, lever, where, message):
    text = _load_error(tmp_path, {"x": lever})
    assert f"{where}.{message}" in text
