"""Survival and count estimators recover known parameters from synthetic samples."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from carejourney.calibrate.estimate_demand import (
    conversion_kernel,
    expected_entries,
    solve_arrivals,
)
from carejourney.calibrate.estimate_fit import (
    FitError,
    beta_from_mean_se,
    fit_cure_exponential,
    fit_exponential,
    fit_lognormal,
    fit_weibull,
    fit_weibull_groups,
    kaplan_meier,
    poisson_regression,
    safe_inverse,
)
from carejourney.calibrate.estimate_recorder import (
    EstimateRecorder,
    distribution_problem,
)
from carejourney.config import parse_config
from carejourney.vocab import AGE_BANDS
from tests.conftest import with_changes


def censored(rng, times, follow_up):
    c = rng.uniform(0, follow_up, len(times))
    return np.minimum(times, c), (times <= c).astype(float)


def test_exponential_mle_is_exposure_over_events_with_a_poisson_standard_error():
    rng = np.random.default_rng(1)
    t, d = censored(rng, rng.exponential(400, 5000), 1500)
    f = fit_exponential(t, d)
    assert f.params["mean_days"] == pytest.approx(t.sum() / d.sum(), rel=1e-4)  # (spells floored at half a day)
    assert f.params["mean_days"] == pytest.approx(400, rel=0.06)
    assert f.se_log["mean_days"] == pytest.approx(1 / math.sqrt(d.sum()))


def test_weibull_mle_recovers_shape_and_scale_with_censoring_and_delayed_entry():
    rng = np.random.default_rng(2)
    x = 900 * rng.weibull(0.8, 6000)
    t, d = censored(rng, x, 2500)
    f = fit_weibull(t, d)
    assert f.params["shape"] == pytest.approx(0.8, rel=0.05)
    assert f.params["scale_days"] == pytest.approx(900, rel=0.08)
    lo, hi = f.interval("scale_days")
    assert lo < f.params["scale_days"] < hi
    # delayed entry: only spells that survived to their entry time are seen
    a = rng.uniform(0, 400, len(x))
    seen = x > a
    t2, d2 = censored(rng, x[seen] - 0, 2500)
    t2 = np.maximum(t2, a[seen])
    d2 = np.where(t2 == a[seen], 0.0, d2)
    g = fit_weibull(t2, d2, entry=a[seen])
    assert g.params["shape"] == pytest.approx(0.8, rel=0.08)
    assert g.params["scale_days"] == pytest.approx(900, rel=0.12)
    # a Weibull fits better than an exponential by AIC when the shape is far from 1
    assert f.aic < fit_exponential(t, d).aic


def test_lognormal_mle_recovers_mean_and_sd_and_fractional_events_interpolate():
    rng = np.random.default_rng(3)
    mean, sd = 270.0, 120.0
    s2 = math.log(1 + (sd / mean) ** 2)
    x = rng.lognormal(math.log(mean) - s2 / 2, math.sqrt(s2), 5000)
    t, d = censored(rng, x, 900)
    f = fit_lognormal(t, d)
    assert f.params["mean_days"] == pytest.approx(mean, rel=0.04)
    assert f.params["sd_days"] == pytest.approx(sd, rel=0.08)
    # an event weight of 1 is an event, 0 a censoring
    half = fit_lognormal(np.r_[t, t], np.r_[d, d] * 1.0)
    assert half.params["mean_days"] == pytest.approx(f.params["mean_days"], rel=1e-4)


def test_kaplan_meier_by_hand():
    # deaths at 1 (4 at risk), censored at 2, deaths at 3 (2 at risk) and 4 (1 at risk)
    s = kaplan_meier([1, 2, 3, 4], [1, 0, 1, 1], [0.5, 1, 2.5, 3, 10])
    assert s == pytest.approx([1.0, 0.75, 0.75, 0.375, 0.0])


def test_poisson_regression_recovers_rate_ratios():
    rng = np.random.default_rng(4)
    # cells: status (s20 / care order) x band (young / old); log rate = a + b_status + c_band
    X = np.array([[1, 0, 0], [1, 1, 0], [1, 0, 1], [1, 1, 1]], dtype=float)
    true = np.array([math.log(1 / 1100), math.log(1 / 6), math.log(1 / 2.5)])
    exposure = np.array([4e5, 8e5, 3e5, 6e5])
    events = rng.poisson(np.exp(X @ true) * exposure)
    fit = poisson_regression(events, exposure, X)
    assert np.exp(-fit.coef[0]) == pytest.approx(1100, rel=0.12)
    assert np.exp(-fit.coef[1]) == pytest.approx(6, rel=0.2)
    assert np.exp(-fit.coef[2]) == pytest.approx(2.5, rel=0.2)
    # a single cell: the MLE is events / exposure and SE(log rate) = 1 / sqrt(events)
    one = poisson_regression([50], [1e4], np.ones((1, 1)))
    assert math.exp(one.coef[0]) == pytest.approx(50 / 1e4)
    assert one.se()[0] == pytest.approx(1 / math.sqrt(50), rel=1e-6)


def test_cure_model_recovers_probabilities_and_delay():
    rng = np.random.default_rng(5)
    n = 6000
    group = rng.integers(0, 2, n)
    p = np.array([0.6, 0.3])
    has = rng.random(n) < p[group]
    x = np.where(has, rng.exponential(120, n), np.inf)
    t, d = censored(rng, x, 700)
    f = fit_cure_exponential(t, d, group, 3)
    assert f.p[:2] == pytest.approx(p, abs=0.03)
    assert math.isnan(f.p[2])  # no data for group 2
    assert f.mean_days == pytest.approx(120, rel=0.08)
    a, b = beta_from_mean_se(f.p[0], f.p_se[0])
    assert a / (a + b) == pytest.approx(f.p[0])


def test_weibull_groups_recover_a_shared_age_multiplier():
    rng = np.random.default_rng(6)
    n = 8000
    g = rng.integers(0, 2, n)
    b = rng.integers(0, 3, n)
    shape, scale, mult = np.array([0.8, 1.0]), np.array([900.0, 400.0]), np.array([1.5, 1.0, 0.8])
    x = scale[g] * mult[b] * rng.weibull(1, n) ** (1 / shape[g])
    t, d = censored(rng, x, 2000)
    fit = fit_weibull_groups(t, d, g, 2, b, 3, ref_band=1, ref_log_mult=0.0, exponential_groups=[1])
    assert fit.shape[0] == pytest.approx(0.8, rel=0.06) and fit.shape[1] == 1.0
    assert fit.scale == pytest.approx(scale, rel=0.1)
    assert np.exp(fit.band_log_mult) == pytest.approx(mult, rel=0.1)


def test_conversion_without_services_or_delay_is_the_entry_probability(default_dict):
    d = with_changes(default_dict, {
        "edge_of_care.services": [],
        "edge_of_care.days_to_entry": {"kind": "fixed", "days": 0},
        "edge_of_care.entry_probability_without_service": 0.6,
    })
    cfg = parse_config(d)
    K = conversion_kernel(cfg, cfg.horizon.start_date)
    assert K == pytest.approx(np.diag([0.6] * len(AGE_BANDS)), abs=1e-9)
    # the emergency share of arrivals from the emergency share of entries: e = q c / (1 - q + q c)
    rate, q, c = np.array([50.0, 40, 45, 80, 45]), 0.07, 0.6
    a, e = solve_arrivals(rate * q, rate * (1 - q), K)
    assert e == pytest.approx(np.full(5, q * c / (1 - q + q * c)))
    assert expected_entries(cfg, cfg.horizon.start_date, a, e, K) == pytest.approx(rate)


def test_conversion_delays_carry_children_into_the_next_band_and_past_18(default_dict):
    cfg = parse_config(with_changes(default_dict, {"edge_of_care.services": []}))
    K = conversion_kernel(cfg, cfg.horizon.start_date)
    mean_delay_years = cfg.edge_of_care.days_to_entry.mean() / 365.25
    p0 = cfg.edge_of_care.entry_probability_without_service
    # a year-wide band loses about mean delay / width of its entries to the next band
    assert K[0, 1] == pytest.approx(p0 * mean_delay_years, rel=0.15)
    # 16-17s (up to 17.98) who would enter after the day before their 18th birthday do not
    assert K[4].sum() == pytest.approx(p0 * (1 - mean_delay_years / 1.98), rel=0.05)


# ------------------------------------------------------------------ degenerate data
# QA: `calibrate` on a very small council stopped with "error: SVD did not converge" (numpy's
# LinAlgError from a single family-finding event), and fit_lognormal([82, 30], [1, 0]) returned
# sigma = 0 without complaint. A fit the data cannot identify now raises FitError, which the
# estimation turns into "kept from the template" with the estimate named.
DEGENERATE = {
    "a single event": ([82.0], [1]),
    "all events at one duration": ([82.0, 82.0, 82.0], [1, 1, 1]),
    "one event plus earlier censoring": ([82.0, 30.0], [1, 0]),
    "one event plus later censoring": ([82.0, 100.0, 200.0], [1, 0, 0]),
    "equal events plus censoring": ([82.0, 82.0, 30.0, 10.0], [1, 1, 0, 0]),
    "same-day spells (floored to half a day)": ([0.0, 0.2, 0.5], [1, 1, 1]),
}


@pytest.mark.parametrize("fit", [fit_lognormal, fit_weibull], ids=["lognormal", "weibull"])
@pytest.mark.parametrize("case", list(DEGENERATE))
def test_degenerate_events_raise_a_fit_error_without_numpy_warnings(fit, case):
    t, d = DEGENERATE[case]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the degenerate case used to overflow (RuntimeWarning) first
        with pytest.raises(FitError, match="needs events at 2 or more different durations"):
            fit(np.array(t), np.array(d))
    assert issubclass(FitError, ValueError)  # callers that caught ValueError still do


@pytest.mark.parametrize("fit", [fit_lognormal, fit_weibull], ids=["lognormal", "weibull"])
def test_no_events_is_a_fit_error_too(fit):
    with pytest.raises(FitError, match="no events"):
        fit(np.array([82.0, 30.0]), np.array([0, 0]))


def test_two_different_event_durations_are_enough_and_never_give_a_zero_spread():
    f = fit_lognormal(np.array([82.0, 90.0, 30.0]), np.array([1, 1, 0]))
    assert 0 < f.params["sigma"] < 1 and f.params["sd_days"] > 0
    assert distribution_problem(f.distribution()) == ""
    assert np.isfinite(f.se_log["mean_days"])
    w = fit_weibull(np.array([60.0, 82.0, 300.0, 400.0]), np.array([1, 1, 0, 1]))
    assert w.params["shape"] > 0 and np.all(np.isfinite(w.extra["cov_log"]))


def test_a_config_distribution_with_no_spread_is_refused_before_it_is_written():
    assert "greater than 0" in distribution_problem({"kind": "lognormal", "mean_days": 82.0, "sd_days": 0.0})
    assert "less than or equal to 20" in distribution_problem({"kind": "weibull", "shape": 26.0, "scale_days": 88.0})
    assert distribution_problem({"kind": "exponential", "mean_days": 120.0}) == ""


def test_a_covariance_that_cannot_be_computed_is_a_fit_error_not_svd_did_not_converge():
    with pytest.raises(FitError, match="not finite"):
        safe_inverse(np.array([[np.nan, 1.0], [1.0, 2.0]]))
    assert safe_inverse(np.array([[4.0, 0.0], [0.0, 0.0]]))[0, 0] == pytest.approx(0.25)  # singular: pinv


def test_poisson_regression_without_a_finite_maximum_names_the_cells():
    # status x band main effects with three cells: the event-free reference cell's rate runs off
    # to 0 while the other two fit exactly (it used to return a mean of ~1e15 days)
    X = np.array([[1, 0, 0], [1, 0, 1], [1, 1, 0]], dtype=float)
    with pytest.raises(FitError, match="no finite maximum") as err:
        poisson_regression([0.0, 1.0, 2.0], [165.0, 644.0, 510.0], X)
    assert err.value.params == ("row:0",)
    # a full 2 x 2 table with one empty cell has a maximum
    X4 = np.array([[1, 0, 0], [1, 1, 0], [1, 0, 1], [1, 1, 1]], dtype=float)
    fit = poisson_regression([0.0, 3.0, 4.0, 5.0], [100.0] * 4, X4)
    assert np.all(np.isfinite(fit.coef)) and np.all(fit.se() < 10)


def test_weibull_groups_with_an_event_free_band_keep_its_given_multiplier():
    # band 0 has spells but no move: its multiplier would run off to infinity
    t = np.array([100.0, 200.0, 300.0, 150.0, 50.0, 400.0])
    d = np.array([1, 1, 1, 1, 0, 0])
    g = np.zeros(6, dtype=int)
    b = np.array([1, 1, 1, 1, 0, 0])
    with pytest.raises(FitError, match="flat") as err:
        fit_weibull_groups(t, d, g, 1, b, 2, ref_band=1, exponential_groups=[0])
    assert err.value.params == ("band:0",)
    fit = fit_weibull_groups(t, d, g, 1, b, 2, ref_band=1, exponential_groups=[0], fixed_log_mult={0: math.log(2.0)})
    assert fit.band_log_mult[0] == pytest.approx(math.log(2.0)) and np.isfinite(fit.scale[0])


class _Recorder:
    """What EstimateRecorder.fit needs of the recorder: keep()."""

    def __init__(self):
        self.kept = []

    def keep(self, path, why):
        self.kept.append((path, why))


def test_the_estimation_keeps_the_template_and_names_the_estimate():
    rec = _Recorder()
    what = "family finding (days from placement order to match)"
    path = "exits.adoption.days_family_finding"
    assert EstimateRecorder.fit(rec, path, what, fit_lognormal, np.array([82.0]), np.array([1])) is None
    [(kept, why)] = rec.kept
    assert kept == path and why.startswith(what + ": a single event") and "template" in why
    # where no template value can stand in, the error names the estimate (not "SVD did not converge")
    with pytest.raises(FitError, match=r"^family finding \(days from placement order to match\): a single event"):
        EstimateRecorder.fit(rec, path, what, fit_lognormal, np.array([82.0]), np.array([1]), fallback=False)
    # a fit that works is returned as it is
    f = EstimateRecorder.fit(rec, path, what, fit_lognormal, np.array([82.0, 90.0]), np.array([1, 1]))
    assert f.params["sd_days"] > 0 and len(rec.kept) == 1


def test_poisson_regression_without_time_at_risk_is_a_fit_error_not_a_numpy_warning():
    """QA21: periods that all ended the day they began gave a divide-by-zero RuntimeWarning and a
    rate from nothing; callers keep the template on a FitError."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(FitError, match="no time at risk"):
            poisson_regression(np.array([3.0, 2.0]), np.zeros(2), np.eye(2))
