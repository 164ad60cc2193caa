"""The discrepancy D(theta) under common random numbers, and its minimisation.

An Evaluator runs R replications (0..R-1, the same seed every time) of the config at
parameter values z (the logit-in-bounds scale) and returns
D = sum_i w_i (m_i - y_i)^2 / v_i, caching every evaluation in its history. `optimise`
minimises it: Nelder-Mead for one or two parameters, a trust-region least-squares solver
on the residuals sqrt(w_i / v_i)(m_i - y_i) for more, within a budget of evaluations.
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
from scipy import optimize

from ..config import ConfigError, parse_config
from ..runner import run_replication, run_replications
from .aggregate_params import FreeParameter
from .aggregate_targets import target_values


class Evaluator:
    """Simulated means of the targets at parameter values, with common random numbers."""

    def __init__(self, base: dict, params: list[FreeParameter], targets: list[dict], reps: int, seed: int,
                 obs: np.ndarray, scale: np.ndarray, weight: np.ndarray, progress=None, budget: int | None = None):
        self.base, self.params, self.targets = base, params, targets
        self.reps, self.seed = reps, seed
        self.obs, self.scale, self.weight = obs, scale, weight
        self.history: list[dict] = []
        self.z_list: list[np.ndarray] = []
        self.cache: dict[tuple, tuple[float, np.ndarray]] = {}
        self.progress, self.budget = progress, budget
        self.phase = "optimise"

    def config_at(self, x: dict[str, float]):
        d = copy.deepcopy(self.base)
        for p in self.params:
            p.set(d, x[p.path])
        return parse_config(d, "fit")

    def xs(self, z) -> dict[str, float]:
        return {p.path: p.to_x(zi) for p, zi in zip(self.params, np.atleast_1d(z))}

    def draws(self, z, reps=None, seed=None, replications=None) -> np.ndarray | None:
        """Per-replication simulated values of the targets: array (targets, reps)."""
        try:
            cfg = self.config_at(self.xs(z))
        except ConfigError:
            return None
        if replications is not None:
            annual = pd.concat([run_replication(cfg, seed, r).annual for r in replications], ignore_index=True)
        else:
            annual = run_replications(cfg, reps or self.reps, self.seed if seed is None else seed).annual
        return target_values(annual, self.targets)

    def __call__(self, z) -> float:
        key = tuple(np.round(np.atleast_1d(z), 10))
        if key in self.cache:
            return self.cache[key][0]
        if self.budget is not None and len(self.history) >= self.budget:
            raise BudgetSpent()
        sims = self.draws(z)
        if sims is None:
            d, mean = 1e12, np.full(len(self.targets), np.nan)
        else:
            mean = sims.mean(axis=1)
            d = float(np.sum(self.weight * (mean - self.obs) ** 2 / self.scale))
        self.cache[key] = (d, mean)
        self.z_list.append(np.array(np.atleast_1d(z), dtype=float))
        self.history.append({"evaluation": len(self.history) + 1, "phase": self.phase, "discrepancy": d,
                             **self.xs(z)})
        if self.progress:
            best = min(h["discrepancy"] for h in self.history)
            self.progress(f"evaluation {len(self.history)}: discrepancy {d:.2f} (best {best:.2f})")
        return d

    def residuals(self, z) -> np.ndarray:
        self(z)
        mean = self.cache[tuple(np.round(np.atleast_1d(z), 10))][1]
        if np.any(np.isnan(mean)):
            return np.full(len(self.targets), 1e6)
        return np.sqrt(self.weight / self.scale) * (mean - self.obs)


class BudgetSpent(Exception):
    """The optimiser used its budget of evaluations."""


def optimise(ev: Evaluator, z0: np.ndarray, params: list[FreeParameter], st: dict, notes: list[str]):
    """Minimise ev from z0 by st["method"] ("auto" is resolved, in st) within st["max_evaluations"]
    evaluations; (z, x, discrepancy) of the best evaluation."""
    p = len(params)
    try:
        if st["method"] == "auto":
            st["method"] = "nelder-mead" if p <= 2 else "least-squares"
        if st["method"] == "nelder-mead":
            # first simplex: each parameter moved by 15% of its range (inwards near a bound)
            simplex = [z0]
            for j, q in enumerate(params):
                step = 0.15 * (q.high - q.low)
                x = q.start + step if q.start + step < q.high - 0.01 * (q.high - q.low) else q.start - step
                v = z0.copy()
                v[j] = q.to_z(x)
                simplex.append(v)
            optimize.minimize(ev, z0, method="Nelder-Mead",
                              options={"initial_simplex": np.array(simplex), "xatol": 0.02, "fatol": 0.05,
                                       "maxfev": st["max_evaluations"]})
        else:
            optimize.least_squares(ev.residuals, z0, method="trf", diff_step=None, x_scale=1.0,
                                   jac=lambda z: _jac(ev.residuals, z, 0.25), max_nfev=st["max_evaluations"])
    except BudgetSpent:
        notes.append(f"The optimiser stopped at its budget of {st['max_evaluations']} evaluations.")
    hist = pd.DataFrame(ev.history)
    best = int(hist["discrepancy"].idxmin())
    z_star = ev.z_list[best]
    x_star = {q.path: float(hist.loc[best, q.path]) for q in params}
    d_fit = float(hist.loc[best, "discrepancy"])
    return z_star, x_star, d_fit


def _jac(fun, z, h):
    f0 = fun(z)
    J = np.zeros((len(f0), len(z)))
    for j in range(len(z)):
        e = np.eye(len(z))[j] * h
        J[:, j] = (fun(z + e) - fun(z - e)) / (2 * h)
    return J


def fix_arrival_envelope(cfg_dict: dict, params) -> None:
    """Fitted referral rates: bound the candidate arrivals by each rate's upper search
    bound, so every evaluation sees the same candidates (exact common random numbers)."""
    prefix = "demand.referrals.per_year_by_age_band."
    bounds = {p.path[len(prefix):]: p.high for p in params if p.path.startswith(prefix)}
    if not bounds:
        return
    ref = cfg_dict["demand"]["referrals"]
    env = dict(ref.get("envelope_per_year_by_age_band") or ref["per_year_by_age_band"])
    for band, high in bounds.items():
        env[band] = max(float(env.get(band, 0.0)), float(high))
    ref["envelope_per_year_by_age_band"] = env
