"""What we do not know about a parameter: a prior, drawn once per replication.

Used for lever effect sizes ("43% success from 60 cases" is Beta(26, 34), not 0.43) and
for calibrated parameters with their estimation uncertainty. Each uncertain quantity has a
key; its draw in replication r comes from a stream keyed by (seed, r, key), so the same
lever has the same effect in its own scenario and in the combined plan, and adding a
parameter never changes another's draw.
"""

from __future__ import annotations

import math
import zlib
from statistics import NormalDist
from typing import Annotated, Literal, Union

import numpy as np
from pydantic import (
    ConfigDict,
    Field,
    ValidationError,
    model_serializer,
    model_validator,
)

from .streams import SHARED, SHARED_STREAMS
from .strict import NumbersOnly


class _Prior(NumbersOnly):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)  # inf/NaN pass bound checks

    @model_serializer(mode="wrap")
    def _open_ends_left_out(self, handler):
        """A low of -inf or a high of inf is an open end, the default, which a config may not
        write: a dump leaves it out, so a dumped config validates again (QA20:
        simulate(load_config(p)) failed on every config with a prior)."""
        return {k: v for k, v in handler(self).items() if (k, v) not in (("low", -math.inf), ("high", math.inf))}

    def draw(self, rng: np.random.Generator) -> float:
        raise NotImplementedError

    def central(self) -> float:
        raise NotImplementedError


class FixedValue(_Prior):
    dist: Literal["fixed"]
    value: float

    def draw(self, rng):
        return self.value

    def central(self):
        return self.value


class BetaPrior(_Prior):
    """A proportion estimated from cases: Beta(successes + 1, failures + 1) or given."""

    dist: Literal["beta"]
    alpha: float = Field(gt=0)
    beta: float = Field(gt=0)
    scale: float = Field(1.0, gt=0, description="multiply the draw, e.g. to turn a rate into a share")

    def draw(self, rng):
        return float(rng.beta(self.alpha, self.beta)) * self.scale

    def central(self):
        return self.alpha / (self.alpha + self.beta) * self.scale


class UniformPrior(_Prior):
    dist: Literal["uniform"]
    low: float
    high: float

    @model_validator(mode="after")
    def _order(self):
        if self.high < self.low:
            raise ValueError("high must be at least low")
        return self

    def draw(self, rng):
        return float(rng.uniform(self.low, self.high))

    def central(self):
        return (self.low + self.high) / 2


class TriangularPrior(_Prior):
    """The plan's own figure as the mode, from `low` (no effect) to `high`."""

    dist: Literal["triangular"]
    low: float
    mode: float
    high: float

    @model_validator(mode="after")
    def _order(self):
        if not self.low <= self.mode <= self.high or self.low == self.high:
            raise ValueError(f"need low <= mode <= high and low < high (got low {self.low:g}, mode {self.mode:g}, "
                             f"high {self.high:g})")
        return self

    def draw(self, rng):
        return float(rng.triangular(self.low, self.mode, self.high))

    def central(self):
        return (self.low + self.mode + self.high) / 3


class NormalPrior(_Prior):
    """An estimate with a standard error, optionally truncated to [low, high]."""

    dist: Literal["normal"]
    mean: float
    sd: float = Field(ge=0)
    low: float = -math.inf
    high: float = math.inf

    @model_validator(mode="after")
    def _truncation(self):
        if self.low > self.high:
            raise ValueError(f"low {self.low:g} is above high {self.high:g}")
        if self.sd > 0:
            d = NormalDist(self.mean, self.sd)
            mass = d.cdf(self.high) - d.cdf(self.low)
            if mass < 1e-3:  # draws would fall back to the clipped mean: a point mass at a bound
                raise ValueError(f"[{self.low:g}, {self.high:g}] holds {mass:.2g} of normal({self.mean:g}, "
                                 f"{self.sd:g}): almost every draw would fall outside it")
        return self

    def draw(self, rng):
        for _ in range(1000):
            x = float(rng.normal(self.mean, self.sd))
            if self.low <= x <= self.high:
                return x
        return float(min(max(self.mean, self.low), self.high))

    def central(self):
        return self.mean


class LogNormalPrior(_Prior):
    """A positive quantity (a duration, a rate) known to within a factor, optionally truncated
    to [low, high] (what the field can take: calibrate truncates wide priors so)."""

    dist: Literal["lognormal"]
    median: float = Field(gt=0)
    sigma: float = Field(ge=0)
    low: float = Field(0.0, ge=0)
    high: float = Field(math.inf, gt=0)

    @model_validator(mode="after")
    def _order(self):
        if not self.low <= self.median <= self.high:
            raise ValueError(f"median {self.median:g} must lie between low {self.low:g} and high {self.high:g}")
        return self

    def draw(self, rng):
        for _ in range(1000):  # the first draw is the untruncated prior's: same numbers as without bounds
            x = float(self.median * math.exp(rng.normal(0.0, self.sigma)))
            if self.low <= x <= self.high:
                return x
        return float(min(max(self.median, self.low), self.high))

    def central(self):
        return self.median * math.exp(self.sigma**2 / 2)


Prior = Annotated[Union[FixedValue, BetaPrior, UniformPrior, TriangularPrior, NormalPrior, LogNormalPrior],
                  Field(discriminator="dist")]


def prior_rng(seed: int, replication: int, key: str) -> np.random.Generator:
    """The stream for one uncertain quantity in one replication."""
    k = zlib.crc32(key.encode("utf-8"))
    seq = np.random.SeedSequence(entropy=seed, spawn_key=(replication, SHARED, SHARED_STREAMS.index("parameters"), k))
    return np.random.Generator(np.random.PCG64(seq))


def draw_prior(prior, seed: int, replication: int, key: str) -> float:
    return prior.draw(prior_rng(seed, replication, key))


class UncertainParameter(NumbersOnly):
    """A config number replaced, in each replication, by a draw from its prior."""

    model_config = ConfigDict(extra="forbid")
    path: str = Field(description="dotted path into the config, e.g. exits.returned_home.days.mean_days")
    prior: Prior
    rescale_others: bool = Field(False, description=(
        "the path is one share of a set that sums to 1 (e.g. legal.proceedings_outcome_by_age_band.under_1."
        "placement_order): the set's other shares are scaled in proportion so that it still sums to 1"))
    source: str = ""


def get_path(data: dict, path: str):
    node = data
    for key in path.split("."):
        if isinstance(node, list):
            node = node[int(key)]
        elif isinstance(node, dict) and key in node:
            node = node[key]
        else:
            raise KeyError(path)
    return node


def set_path(data: dict, path: str, value):
    keys = path.split(".")
    node = data
    for key in keys[:-1]:
        node = node[int(key)] if isinstance(node, list) else node[key]
    last = keys[-1]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value


def set_share(data: dict, path: str, value: float):
    """Set one share of a set of shares that sums to 1 (a mapping such as an outcome mix) and
    scale the set's other shares in proportion, so that it still sums to 1."""
    parent, _, key = path.rpartition(".")
    shares = get_path(data, parent) if parent else None
    if not isinstance(shares, dict) or key not in shares:
        raise KeyError(path)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{path}: a share must be between 0 and 1, got {value:g}")
    rest = sum(v for k, v in shares.items() if k != key)
    if rest <= 0 and value < 1.0:
        raise ValueError(f"{path}: the other shares of {parent} are all 0, so none can make up the rest")
    for k in shares:
        if k != key:
            shares[k] = shares[k] * (1.0 - value) / rest
    shares[key] = value


def set_param(data: dict, path: str, value, rescale_others: bool = False):
    """`set_path`, or `set_share` for a share whose set must still sum to 1."""
    if rescale_others:
        set_share(data, path, value)
    else:
        set_path(data, path, value)


def share_set_problem(data: dict, path: str) -> str | None:
    """Why `path` cannot be a share whose others are rescaled, or None if it can."""
    parent, _, key = path.rpartition(".")
    try:
        shares = get_path(data, parent) if parent else None
    except (KeyError, IndexError, ValueError):
        shares = None
    if not isinstance(shares, dict) or key not in shares or len(shares) < 2 or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in shares.values()):
        return "rescale_others needs a path into a mapping of two or more shares"
    if abs(sum(shares.values()) - 1.0) > 1e-6:
        return f"rescale_others needs shares that sum to 1 ({parent} sums to {sum(shares.values()):.6g})"
    return None


def prior_support(prior) -> tuple[float, float]:
    """The smallest and largest value a prior can draw."""
    if isinstance(prior, FixedValue):
        return prior.value, prior.value
    if isinstance(prior, BetaPrior):
        return 0.0, prior.scale
    # uniform, triangular; normal and lognormal as truncated (unbounded: infinite ends)
    return prior.low, prior.high


ONE_IN_A_MILLION = 1e-6  # a prior's "extremes": drawn once in a million replications
_STANDARD = NormalDist()


def _truncated_tails(centre: float, spread: float, low: float, high: float) -> tuple[float, float]:
    """The one-in-a-million quantiles of a normal(centre, spread) truncated to [low, high]
    (untruncated: 4.75 standard deviations). A truncation pushes draws into the other tail:
    normal(1, 1.89) above 6.8 passes 10 once in 2,000 draws, not once in a million (QA15)."""
    if spread == 0:
        x = min(max(centre, low), high)
        return x, x
    a = _STANDARD.cdf((low - centre) / spread) if math.isfinite(low) else 0.0
    b = _STANDARD.cdf((high - centre) / spread) if math.isfinite(high) else 1.0
    if b <= a:  # truncated beyond what floating point resolves: its bounds
        return low, high
    def quantile(p):
        return centre + spread * _STANDARD.inv_cdf(min(max(p, 1e-300), 1 - 2 ** -53))
    return max(low, quantile(a + ONE_IN_A_MILLION * (b - a))), min(high, quantile(b - ONE_IN_A_MILLION * (b - a)))


def prior_extremes(prior) -> list[float]:
    """The smallest and largest values a prior draws in practice: its support's ends, or where
    it is unbounded its one-in-a-million quantiles, after any truncation."""
    if isinstance(prior, NormalPrior):
        return list(_truncated_tails(prior.mean, prior.sd, prior.low, prior.high))
    if isinstance(prior, LogNormalPrior):
        log = (lambda x: math.log(x) if x > 0 else -math.inf)
        lo, hi = _truncated_tails(math.log(prior.median), prior.sigma, log(prior.low), math.log(prior.high))
        return [math.exp(lo), math.exp(hi)]
    lo, hi = prior_support(prior)
    return [lo] if lo == hi else [lo, hi]


def truncated_to_field(entry: dict, is_valid) -> dict:
    """`entry` (an uncertainty entry as a mapping) with a normal or lognormal prior truncated
    where its extremes would make the config invalid: `is_valid(x)` says whether the config
    with the path set to x validates. For writers (calibrate) whose priors come from
    standard errors: a weakly estimated duration can reach past what the field takes."""
    prior = entry["prior"]
    if prior.get("dist") not in ("normal", "lognormal"):
        return entry
    parsed = UncertainParameter.model_validate(entry).prior
    centre = parsed.median if isinstance(parsed, LogNormalPrior) else parsed.mean
    if not is_valid(centre):
        return entry  # nothing to truncate towards: the config check reports it
    lo, hi = prior_extremes(parsed)
    bounds = {}
    for key, end in (("low", lo), ("high", hi)):
        if is_valid(end):
            continue
        good, bad = centre, end
        for _ in range(60):  # bisection to the last valid value (relative precision ~1e-9)
            mid = (good + bad) / 2
            good, bad = (mid, bad) if is_valid(mid) else (good, mid)
        bounds[key] = float(f"{good:.6g}") if is_valid(float(f"{good:.6g}")) else good
    return {**entry, "prior": {**prior, **bounds}} if bounds else entry


def with_parameter_draws(cfg, seed: int, replication: int):
    """The config for one replication: each uncertain parameter replaced by its draw."""
    if not cfg.uncertainty:
        return cfg
    data = cfg.model_dump(mode="python")
    drawn = []
    for p in cfg.uncertainty:
        x = draw_prior(p.prior, seed, replication, "param:" + p.path)
        set_param(data, p.path, x, p.rescale_others)
        drawn.append((p.path, x))
    data["uncertainty"] = []
    try:
        return type(cfg).model_validate(data)
    except ValidationError as err:  # beyond the one-in-a-million extremes the config was checked at
        from .config.loader import ConfigError

        values = "; ".join(f"{path} = {x:g}" for path, x in drawn)
        raise ConfigError(f"{cfg.meta.name}: replication {replication}: the parameters drawn from its "
                          f"uncertainty priors ({values}) make an invalid config: "
                          f"{err.errors()[0]['msg']}: narrow or truncate the priors") from None
