"""One share of a set that sums to 1 (an outcome mix) as an uncertain or fitted parameter:
the set's other shares are rescaled so it still sums to 1."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carejourney.calibrate.aggregate_params import (
    ParamsError,
    free_parameters,
    parse_params,
)
from carejourney.config import ConfigError, parse_config
from carejourney.uncertainty import get_path, set_share, with_parameter_draws
from tests.conftest import load_default_dict, small_dict

MIX = "legal.proceedings_outcome_by_age_band.under_1"
PO = MIX + ".placement_order"


@given(st.floats(0.0, 1.0))
def test_a_share_set_keeps_its_sum_and_the_others_keep_their_ratios(value):
    d = load_default_dict()
    before = dict(get_path(d, MIX))
    set_share(d, PO, value)
    after = get_path(d, MIX)
    assert after["placement_order"] == value
    assert sum(after.values()) == pytest.approx(1.0, abs=1e-12)
    if value < 1:
        # the others shrink or grow together: care order to SGO stays 0.25 : 0.15
        assert after["care_order"] / after["sgo"] == pytest.approx(before["care_order"] / before["sgo"])


def test_a_share_outside_0_1_or_with_nothing_to_rescale_is_refused():
    d = load_default_dict()
    with pytest.raises(ValueError, match="between 0 and 1"):
        set_share(d, PO, 1.2)
    d["legal"]["proceedings_outcome_by_age_band"]["16_to_17"] = {"care_order": 1.0, "returned_home": 0.0}
    with pytest.raises(ValueError, match="all 0"):
        set_share(d, "legal.proceedings_outcome_by_age_band.16_to_17.care_order", 0.3)


def test_each_replication_draws_the_share_and_rescales_the_rest():
    d = small_dict()
    d["uncertainty"] = [{"path": PO, "rescale_others": True, "prior": {"dist": "uniform", "low": 0.2, "high": 0.9}}]
    cfg = parse_config(d)
    draws = []
    for r in range(5):
        mix = with_parameter_draws(cfg, 3, r).legal.proceedings_outcome_by_age_band["under_1"]
        assert 0.2 <= mix["placement_order"] <= 0.9
        assert sum(mix.values()) == pytest.approx(1.0, abs=1e-9)
        draws.append(mix["placement_order"])
    assert len(set(draws)) == 5


@pytest.mark.parametrize("entry, message", [
    ({"path": "legal.proceedings_days.mean_days", "prior": {"dist": "uniform", "low": 200, "high": 300}},
     "mapping of two or more shares"),
    ({"path": PO, "prior": {"dist": "normal", "mean": 0.5, "sd": 0.1}}, "between 0 and 1"),
    ({"path": PO, "prior": {"dist": "lognormal", "median": 0.5, "sigma": 0.1}}, "between 0 and 1"),
])
def test_a_rescaled_share_that_is_not_a_share_or_can_leave_0_1_is_refused(entry, message):
    d = small_dict()
    d["uncertainty"] = [{**entry, "rescale_others": True}]
    with pytest.raises(ConfigError, match=message):
        parse_config(d, "c.yaml")


def test_two_rescaled_shares_of_one_set_are_refused():
    d = small_dict()
    d["uncertainty"] = [{"path": PO, "rescale_others": True, "prior": {"dist": "uniform", "low": 0.2, "high": 0.6}},
                        {"path": MIX + ".care_order", "rescale_others": True,
                         "prior": {"dist": "uniform", "low": 0.1, "high": 0.3}}]
    with pytest.raises(ConfigError, match="same set"):
        parse_config(d, "c.yaml")


def test_a_fit_sets_a_share_and_rescales_the_rest():
    spec = parse_params({"parameters": {PO: {"low": 0.2, "high": 0.9, "rescale_others": True}}}, "p.yaml")
    (q,) = free_parameters(load_default_dict(), spec, "p.yaml")
    assert q.rescale_others and not q.integer
    d = load_default_dict()
    q.set(d, 0.7)
    mix = get_path(d, MIX)
    assert mix["placement_order"] == 0.7 and sum(mix.values()) == pytest.approx(1.0)
    parse_config(d)  # still a valid config


@pytest.mark.parametrize("params, message", [
    ({PO: {"low": 0.2, "high": 1.5, "rescale_others": True}}, "between 0 and 1"),
    ({"legal.proceedings_days.mean_days": {"low": 100, "high": 300, "rescale_others": True}}, "mapping of two or more"),
    ({PO: {"low": 0.2, "high": 0.9, "rescale_others": "yes"}}, "true or false"),
    ({PO: {"low": 0.2, "high": 0.9, "rescale": True}}, "unknown field"),
    ({PO: {"low": 0.2, "high": 0.9, "rescale_others": True},
      MIX + ".sgo": {"low": 0.0, "high": 0.3, "rescale_others": True}}, "same set"),
])
def test_bad_share_parameters_in_a_params_file_name_the_parameter(params, message):
    with pytest.raises(ParamsError, match=message) as err:
        free_parameters(load_default_dict(), parse_params({"parameters": params}, "p.yaml"), "p.yaml")
    assert "p.yaml: parameters." in str(err.value)


def test_without_rescaling_a_share_bound_breaks_the_sum_and_is_refused():
    spec = parse_params({"parameters": {PO: [0.2, 0.9]}}, "p.yaml")
    with pytest.raises(ParamsError, match="sum to 1"):
        free_parameters(load_default_dict(), spec, "p.yaml")


def test_a_wide_estimate_is_truncated_to_what_its_field_takes():
    """calibrate's lognormal for a rarely seen duration (sigma 1.5 around 100,000 days) could
    draw past the 1,000,000-day limit: it is truncated there, and the config is accepted."""
    import copy

    from carejourney.config import ConfigError, parse_config
    from carejourney.uncertainty import set_param, truncated_to_field

    d = load_default_dict()
    entry = {"path": "exits.other.days.mean_days", "prior": {"dist": "lognormal", "median": 100000, "sigma": 1.5}}

    def ok(x):
        trial = copy.deepcopy(d)
        set_param(trial, entry["path"], x)
        try:
            parse_config(trial)
        except ConfigError:
            return False
        return True

    with pytest.raises(ConfigError, match="narrow or truncate"):
        parse_config({**copy.deepcopy(d), "uncertainty": [entry]})
    fixed = truncated_to_field(entry, ok)
    assert 0.99e6 <= fixed["prior"]["high"] <= 1e6 and "low" not in fixed["prior"]
    cfg = parse_config({**copy.deepcopy(d), "uncertainty": [fixed]})
    from carejourney.uncertainty import with_parameter_draws
    assert all(with_parameter_draws(cfg, 1, r).exits.other.days.mean_days <= 1e6 for r in range(50))


def test_a_fit_records_the_configs_own_value_not_the_start_moved_inside_the_bounds():
    """QA15: the fitted config said a share 'was 0.012' where the config had 0.0: the optimiser's
    start, moved 2% inside the search bounds, not the config's value."""
    import pandas as pd

    from carejourney.calibrate.aggregate_result import config_value as _was

    path = "demand.referrals.per_year_by_age_band.under_1"
    value = load_default_dict()["demand"]["referrals"]["per_year_by_age_band"]["under_1"]
    spec = parse_params({"parameters": {path: {"low": value, "high": 2 * value}}}, "p.yaml")
    (q,) = free_parameters(load_default_dict(), spec, "p.yaml")
    assert q.start == pytest.approx(1.02 * value) and q.was == value
    (row,) = pd.DataFrame([{"path": path, "start": q.start, "config_value": q.was}]).itertuples()
    assert _was(row) == value
    (old,) = pd.DataFrame([{"path": path, "start": q.start}]).itertuples()  # a fit saved before it was recorded
    assert _was(old) == q.start
