import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from carejourney.distributions import Distribution, categorical

ADAPTER = TypeAdapter(Distribution)
GRID = (np.arange(200_000) + 0.5) / 200_000  # midpoints: a quadrature of the inverse CDF


def dist(**kw):
    return ADAPTER.validate_python(kw)


# one of each kind, with a rising hazard too and a point mass (a bin of zero width)
EVERY_KIND = [
    {"kind": "exponential", "mean_days": 120},
    {"kind": "lognormal", "mean_days": 300, "sd_days": 200},
    {"kind": "gamma", "mean_days": 90, "sd_days": 30},
    {"kind": "weibull", "shape": 0.8, "scale_days": 500},
    {"kind": "weibull", "shape": 3.0, "scale_days": 500},
    {"kind": "empirical", "bounds_days": [0, 10, 10, 100, 1000], "weights": [1, 1, 2, 1]},
    {"kind": "fixed", "days": 42},
]


@pytest.mark.parametrize("spec", [
    {"kind": "exponential", "mean_days": 120},
    {"kind": "lognormal", "mean_days": 300, "sd_days": 200},
    {"kind": "gamma", "mean_days": 90, "sd_days": 30},
    {"kind": "weibull", "shape": 0.8, "scale_days": 500},
    {"kind": "empirical", "bounds_days": [0, 10, 100, 1000], "weights": [1, 2, 1]},
    {"kind": "fixed", "days": 42},
])
def test_inverse_cdf_integrates_to_the_stated_mean(spec):
    d = dist(**spec)
    draw = d.sampler()
    sample_mean = float(np.mean([draw(u) for u in GRID]))
    assert sample_mean == pytest.approx(d.mean(), rel=0.01)


@pytest.mark.parametrize("spec", EVERY_KIND)
def test_a_length_biased_draw_has_the_mean_of_spells_found_running(spec):
    """A spell found running on a given day is drawn in proportion to its length: its mean is
    E[D^2] / E[D], and half of it is the mean time left (what the opening stock is given), as
    exponential's time left is a fresh draw again. Scale multiplies it like a fresh draw."""
    d = dist(**spec)
    fresh = np.array([d.sampler()(u) for u in GRID])
    running = np.array([d.length_biased(3.0)(u) for u in GRID]) / 3.0
    assert running.mean() == pytest.approx((fresh**2).mean() / fresh.mean(), rel=2e-3)
    assert np.all(np.diff(running) >= -1e-9)  # an inverse CDF: one uniform, monotone (common random numbers)
    if spec["kind"] == "exponential":
        assert running.mean() / 2 == pytest.approx(fresh.mean(), rel=2e-3)


def test_scale_multiplies_every_draw():
    d = dist(kind="lognormal", mean_days=300, sd_days=200)
    a, b = d.sampler(), d.sampler(2.5)
    for u in (0.01, 0.3, 0.5, 0.99):
        assert b(u) == pytest.approx(2.5 * a(u))


@given(u=st.floats(0.0, 0.999999), v=st.floats(0.0, 0.999999),
       kind=st.sampled_from(["exponential", "lognormal", "gamma", "weibull", "empirical"]))
@settings(max_examples=200, deadline=None)
def test_draws_are_non_negative_and_monotone_in_u(u, v, kind):
    spec = {"exponential": dict(mean_days=50), "lognormal": dict(mean_days=50, sd_days=80),
            "gamma": dict(mean_days=50, sd_days=20), "weibull": dict(shape=1.7, scale_days=40),
            "empirical": dict(bounds_days=[0, 5, 5, 60], weights=[1, 1, 3])}[kind]
    draw = dist(kind=kind, **spec).sampler()
    lo, hi = sorted((u, v))
    assert 0 <= draw(lo) <= draw(hi) + 1e-9


@pytest.mark.parametrize("bad", [
    {"kind": "exponential", "mean_days": -1},
    {"kind": "lognormal", "mean_days": 10},
    {"kind": "empirical", "bounds_days": [0, 1], "weights": [1, 1]},
    {"kind": "weibull", "shape": 1, "scale": 3},
    {"kind": "poisson", "mean_days": 3},
])
def test_invalid_distributions_are_rejected(bad):
    with pytest.raises(ValidationError):
        dist(**bad)


def test_categorical_follows_probabilities():
    draw = categorical({"a": 0.2, "b": 0.0, "c": 0.8})
    picks = [draw(u) for u in GRID[::100]]
    assert "b" not in picks
    assert picks.count("a") / len(picks) == pytest.approx(0.2, abs=0.001)
    assert math.isclose(len(picks), 2000)


@pytest.mark.parametrize("spec", EVERY_KIND)
def test_survival_is_the_share_of_draws_longer_than_a_time(spec):
    d = dist(**spec)
    draws = np.array([d.sampler()(u) for u in GRID])
    for days in (0.5, 5.0, 41.0, 43.0, 95.0, 300.0, 2000.0):
        assert d.survival(days) == pytest.approx((draws > days).mean(), abs=2e-4), days
