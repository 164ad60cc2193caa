"""Named duration distributions, validated from config and sampled by inverse CDF.

Every draw in the model takes one uniform number from the child's own stream and maps it
through the inverse CDF. One uniform per draw, whatever the distribution, is what keeps a
child's later draws unchanged when a lever alters an earlier one (common random numbers).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from itertools import accumulate
from statistics import NormalDist
from typing import Annotated, Literal, Union

from pydantic import ConfigDict, Field, model_validator
from scipy.special import gammaincc, gammaincinv

from .strict import NumbersOnly

_STD_NORMAL = NormalDist()
_STD_NORMAL_INV = _STD_NORMAL.inv_cdf


MAX_DAYS = 1e6  # ~2,700 years: a longer duration is a typo (use null for 'never')


class _Dist(NumbersOnly):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)  # inf/NaN pass bound checks

    def sampler(self, scale: float = 1.0):
        """A function u -> duration in days, with every duration multiplied by scale."""
        raise NotImplementedError

    def mean(self) -> float:
        raise NotImplementedError

    def survival(self, days: float) -> float:
        """The chance a duration is longer than `days` (unscaled)."""
        raise NotImplementedError

    def length_biased(self, scale: float = 1.0):
        """A function u -> a duration drawn in proportion to its length (density t f(t) / mean):
        the length of a spell found running on a given day. A uniform share of it is the time
        that spell has left (the equilibrium residual life), what a spell already running at the
        start has to go; a share of a fresh duration is too short whenever long spells are
        likelier to be found running, 2.6 times for a Weibull of shape 0.8 (QA17)."""
        raise NotImplementedError


class Fixed(_Dist):
    """Always the same duration: for deterministic tests and statutory time limits."""

    kind: Literal["fixed"]
    days: float = Field(ge=0, le=MAX_DAYS)

    def sampler(self, scale=1.0):
        d = self.days * scale
        return lambda u: d

    def mean(self):
        return self.days

    def length_biased(self, scale=1.0):
        return self.sampler(scale)

    def survival(self, days):
        return 1.0 if days < self.days else 0.0


class Exponential(_Dist):
    """Constant hazard: memoryless time to an event."""

    kind: Literal["exponential"]
    mean_days: float = Field(gt=0, le=MAX_DAYS)

    def sampler(self, scale=1.0):
        m = self.mean_days * scale
        log = math.log
        return lambda u: -m * log(1.0 - u)

    def mean(self):
        return self.mean_days

    def length_biased(self, scale=1.0):
        m = self.mean_days * scale
        return lambda u: float(gammaincinv(2.0, u)) * m  # a Gamma(2): u times it is exponential again

    def survival(self, days):
        return 1.0 if days <= 0 else math.exp(-days / self.mean_days)


class LogNormal(_Dist):
    """Right-skewed durations (placements, proceedings), given by mean and sd in days."""

    kind: Literal["lognormal"]
    mean_days: float = Field(gt=0, le=MAX_DAYS)
    sd_days: float = Field(gt=0, le=MAX_DAYS)

    @model_validator(mode="after")
    def _spread(self):
        _check_spread(self.mean_days, self.sd_days)
        return self

    def _params(self):
        s2 = math.log(1.0 + (self.sd_days / self.mean_days) ** 2)
        return math.log(self.mean_days) - s2 / 2.0, math.sqrt(s2)

    def sampler(self, scale=1.0):
        mu, sigma = self._params()
        mu += math.log(scale) if scale > 0 else 0.0
        exp, inv = math.exp, _STD_NORMAL_INV
        if scale <= 0:
            return lambda u: 0.0
        return lambda u: exp(mu + sigma * inv(min(max(u, 1e-12), 1 - 1e-12)))

    def mean(self):
        return self.mean_days

    def length_biased(self, scale=1.0):
        if scale <= 0:
            return lambda u: 0.0
        mu, sigma = self._params()
        mu += math.log(scale) + sigma * sigma  # the length-biased lognormal: mu + sigma^2
        exp, inv = math.exp, _STD_NORMAL_INV
        return lambda u: exp(mu + sigma * inv(min(max(u, 1e-12), 1 - 1e-12)))

    def survival(self, days):
        mu, sigma = self._params()
        return 1.0 if days <= 0 else 1.0 - _STD_NORMAL.cdf((math.log(days) - mu) / sigma)


class Gamma(_Dist):
    """Gamma durations given by mean and sd in days."""

    kind: Literal["gamma"]
    mean_days: float = Field(gt=0, le=MAX_DAYS)
    sd_days: float = Field(gt=0, le=MAX_DAYS)

    @model_validator(mode="after")
    def _spread(self):
        _check_spread(self.mean_days, self.sd_days)
        return self

    def sampler(self, scale=1.0):
        shape = (self.mean_days / self.sd_days) ** 2
        theta = self.sd_days**2 / self.mean_days * scale
        return lambda u: float(gammaincinv(shape, u)) * theta

    def mean(self):
        return self.mean_days

    def length_biased(self, scale=1.0):
        shape = (self.mean_days / self.sd_days) ** 2 + 1.0  # the length-biased gamma: shape + 1
        theta = self.sd_days**2 / self.mean_days * scale
        return lambda u: float(gammaincinv(shape, u)) * theta

    def survival(self, days):
        shape, theta = (self.mean_days / self.sd_days) ** 2, self.sd_days**2 / self.mean_days
        return 1.0 if days <= 0 else float(gammaincc(shape, days / theta))


class Weibull(_Dist):
    """Weibull durations: shape < 1 gives a falling hazard (early breakdowns most likely)."""

    kind: Literal["weibull"]
    # Below 0.1 the draws overflow a float (u near 1 raised to the 1/shape) and the mean is
    # Gamma(1 + 1/shape) = 10^6+ times the scale; above 20 it is a fixed duration in all but name.
    shape: float = Field(ge=0.1, le=20)
    scale_days: float = Field(gt=0, le=MAX_DAYS)

    @model_validator(mode="after")
    def _mean(self):
        if self.mean() > MAX_DAYS:
            raise ValueError(f"mean scale_days x Gamma(1 + 1/shape) = {self.mean():.3g} days is more than "
                             f"{MAX_DAYS:g}: lower scale_days or raise shape")
        return self

    def sampler(self, scale=1.0):
        k, lam = 1.0 / self.shape, self.scale_days * scale
        log = math.log
        return lambda u: lam * (-log(1.0 - u)) ** k

    def mean(self):
        return self.scale_days * math.gamma(1.0 + 1.0 / self.shape)

    def length_biased(self, scale=1.0):
        # (D / scale)^shape is Exp(1); weighted by D it is Gamma(1 + 1/shape)
        k, lam, a = 1.0 / self.shape, self.scale_days * scale, 1.0 + 1.0 / self.shape
        return lambda u: lam * float(gammaincinv(a, u)) ** k

    def survival(self, days):
        return 1.0 if days <= 0 else math.exp(-((days / self.scale_days) ** self.shape))


MAX_SPREAD = 100  # sd / mean: a lognormal sigma of 3, a gamma shape of 1/10,000


def _check_spread(mean_days: float, sd_days: float):
    """An sd a hundred times the mean is a typo (or a unit slip); beyond it the parameters
    overflow or the draws are all 0 but a few astronomically long ones."""
    if sd_days > MAX_SPREAD * mean_days:
        raise ValueError(f"sd_days {sd_days:g} is more than {MAX_SPREAD} times mean_days {mean_days:g}")
    if sd_days < mean_days / MAX_SPREAD**2:  # the gamma's shape (mean/sd)^2 overflows; use kind: fixed
        raise ValueError(f"sd_days {sd_days:g} is less than mean_days / {MAX_SPREAD**2:g}: "
                         "for a duration that does not vary, use kind: fixed")


class Empirical(_Dist):
    """Durations from a table: pick a bin by weight, then uniformly within [lower, upper).

    `bounds_days` has one more entry than `weights`; a point mass is a bin of zero width.
    """

    kind: Literal["empirical"]
    # durations cannot be negative: a negative bound used to pass and break the metrics
    bounds_days: list[Annotated[float, Field(ge=0, le=MAX_DAYS)]] = Field(min_length=2)
    weights: list[float] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self):
        if len(self.bounds_days) != len(self.weights) + 1:
            raise ValueError("bounds_days must have exactly one more entry than weights")
        if any(b > a for a, b in zip(self.bounds_days[1:], self.bounds_days)):
            raise ValueError("bounds_days must be non-decreasing")
        if any(w < 0 for w in self.weights) or sum(self.weights) <= 0:
            raise ValueError("weights must be non-negative and not all zero")
        return self

    @staticmethod
    def _bins(weights):
        """u -> (bin, share of the way through it), bins picked by weight with one uniform."""
        total = sum(weights)
        cum = list(accumulate(w / total for w in weights))
        cum[-1] = 1.0
        starts = [0.0] + cum[:-1]
        last = len(cum) - 1

        def pick(u):
            i = min(bisect_right(cum, u), last)
            width = cum[i] - starts[i]
            return i, ((u - starts[i]) / width if width > 0 else 0.0)

        return pick

    def sampler(self, scale=1.0):
        pick = self._bins(self.weights)
        lo = [b * scale for b in self.bounds_days[:-1]]
        hi = [b * scale for b in self.bounds_days[1:]]

        def draw(u):
            i, frac = pick(u)
            return lo[i] + frac * (hi[i] - lo[i])

        return draw

    def mean(self):
        total = sum(self.weights)
        return sum(
            w / total * (a + b) / 2
            for w, a, b in zip(self.weights, self.bounds_days, self.bounds_days[1:])
        )

    def length_biased(self, scale=1.0):
        # a bin's weight times its mean length; within it the density rises with t (t^2 uniform)
        mass = [w * (a + b) / 2 for w, a, b in zip(self.weights, self.bounds_days, self.bounds_days[1:])]
        if sum(mass) <= 0:
            return self.sampler(scale)  # every duration is 0
        pick = self._bins(mass)
        lo2 = [a * a for a in self.bounds_days[:-1]]
        hi2 = [b * b for b in self.bounds_days[1:]]

        def draw(u):
            i, frac = pick(u)
            return math.sqrt(lo2[i] + frac * (hi2[i] - lo2[i])) * scale

        return draw

    def survival(self, days):
        total, above = sum(self.weights), 0.0
        for w, a, b in zip(self.weights, self.bounds_days, self.bounds_days[1:]):
            above += w if days < a else (w * (b - days) / (b - a) if days < b else 0.0)
        return above / total


Distribution = Annotated[
    Union[Fixed, Exponential, LogNormal, Gamma, Weibull, Empirical], Field(discriminator="kind")
]


def categorical(probabilities: dict[str, float]):
    """A function u -> key, drawing keys by their probabilities with one uniform."""
    keys = [k for k, p in probabilities.items() if p > 0]
    total = sum(probabilities[k] for k in keys)
    cum = list(accumulate(probabilities[k] / total for k in keys))
    cum[-1] = 1.0
    last = len(keys) - 1

    def draw(u):
        i = bisect_right(cum, u)
        return keys[i if i <= last else last]

    return draw
