"""The local linear metamodel at the optimiser's best point z*, and its Gauss-Newton step.

B single replications at z* + u_b (u_b ~ N(0, DESIGN_SD_Z^2) per parameter, clipped at 2 sd),
each with its own seed, and a linear regression of every simulated figure on u: its intercept
is the mean at z*, its slopes the Jacobian J, its residuals samples of the figures' joint noise.
G = (J'AJ)^-1 J'A with A = diag(w_i / v_i) linearises the estimator; one Gauss-Newton step
z_fit = z* - G (mean - y), clipped to the design's range, corrects the optimiser's noise. A
parameter whose sd in z from the data's noise alone is above WEAK_SD_Z is weakly identified
and not moved.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np

from ..runner import chunked, worker_pool
from .aggregate_optimiser import Evaluator
from .aggregate_params import FitError, FreeParameter

BOOTSTRAP_SEED_OFFSET = 100_003
WEAK_SD_Z = 1.0
DESIGN_SD_Z = 0.3


@dataclass
class Metamodel:
    """The metamodel fitted around z* and where its step leads."""

    runs: int  # design runs that gave a valid config
    resid: np.ndarray  # (runs, targets): the figures' joint noise
    G: np.ndarray  # (parameters, targets): the estimator's linearisation
    k: float  # 1 + (p + 1) / runs: the metamodel's own estimation noise
    dof: int
    sd_noise: np.ndarray  # sd in z of each parameter from the data's noise alone (before phi)
    identified: np.ndarray
    z_fit: np.ndarray
    pred: np.ndarray  # the metamodel's means of the targets at z_fit
    d_mu: float  # discrepancy of the metamodel's mean at z*
    d_model: float  # discrepancy at z_fit
    phi: float  # overdispersion max(1, D / (n - p))


def fit_metamodel(run_base: dict, params: list[FreeParameter], targets: list[dict], z_star: np.ndarray,
                  obs: np.ndarray, scale: np.ndarray, weight: np.ndarray, B: int, seed0: int, workers: int,
                  say) -> Metamodel:
    n, p = len(targets), len(params)
    say(f"local design: {B} single replications around the optimum (fresh seeds)")
    rng = np.random.default_rng([seed0, 11])
    U = np.clip(rng.standard_normal((B, p)), -2, 2) * DESIGN_SD_Z
    Zd = z_star[None, :] + U
    rows = _run_design(run_base, params, targets, Zd, seed0 + BOOTSTRAP_SEED_OFFSET, workers)
    ok = np.array([r is not None for r in rows], dtype=bool)
    Y = np.array([r for r in rows if r is not None]).reshape(-1, n)
    Ud = U[ok]
    if len(Y) < p + 10:
        raise FitError(f"only {len(Y)} of the {B} design runs around the optimum gave a valid config; "
                       "narrow the bounds or raise settings.bootstrap")
    X = np.column_stack([np.ones(len(Ud)), Ud])
    beta, *_ = np.linalg.lstsq(X, Y, rcond=None)
    mu = beta[0]
    J = beta[1:].T  # (targets, parameters): d mean / d z
    resid = Y - X @ beta
    dof = max(len(Y) - p - 1, 1)
    s_var = np.maximum((resid ** 2).sum(axis=0) / dof, 1.0) + np.array([t["rounding"] ** 2 for t in targets])
    A = weight / scale
    H = J.T @ (J * A[:, None])
    G = np.linalg.pinv(H + 1e-9 * np.eye(p) * max(np.trace(H), 1.0)) @ (J.T * A[None, :])
    k = (1 + (p + 1) / len(Y))  # the metamodel's own estimation noise
    sd_noise = np.sqrt(np.maximum(np.diag(G @ (G * s_var[None, :]).T) * k, 0))
    identified = np.array([np.any(np.abs(J[:, jj]) > 0) and sd_noise[jj] <= WEAK_SD_Z for jj in range(p)])
    # one Gauss-Newton step on the metamodel (its mean is estimated from many more
    # replications than the optimiser's), inside the design's range, identified parameters only
    step = -G @ (mu - obs)
    step = np.where(identified, np.clip(step, -2 * DESIGN_SD_Z, 2 * DESIGN_SD_Z), 0.0)
    d_mu = float(np.sum(weight * (mu - obs) ** 2 / scale))
    d_model = float(np.sum(weight * (mu + J @ step - obs) ** 2 / scale))
    if d_model > d_mu:  # a clipped step that does not help is not taken
        step, d_model = np.zeros(p), d_mu
    z_fit = z_star + step
    pred = mu + J @ step
    phi = max(1.0, d_model / (n - p)) if n > p else 1.0
    return Metamodel(len(Y), resid, G, k, dof, sd_noise, identified, z_fit, pred, d_mu, d_model, phi)


def metamodel_notes(mm: Metamodel, params: list[FreeParameter], n: int, d_fit: float, R: int) -> list[str]:
    """What the report says about the design, the step and the overdispersion."""
    p = len(params)
    notes = []
    d_mu, d_model, phi = mm.d_mu, mm.d_model, mm.phi
    notes.append(f"Local design: {mm.runs} single replications around the optimiser's best point, whose discrepancy "
                 f"was {d_fit:.1f} with its {R} replications and is {d_mu:.1f} with the metamodel's mean (the "
                 f"difference is simulation noise: the best of many noisy evaluations looks better than it is); "
                 f"one metamodel step to the fitted values gives {d_model:.1f}.")
    notes.append(f"Overdispersion phi = max(1, D/(n - p)) = {phi:.2f} (D = {d_model:.1f}, n = {n} figures, "
                 f"p = {p} parameters)" + (": the model fits worse than count noise alone allows, so the intervals "
                                           f"are widened by sqrt(phi) = {math.sqrt(phi):.2f}." if phi > 1 else "."))
    weak = [q.path for q, i in zip(params, mm.identified) if not i]
    if weak:
        notes.append("Weakly identified by the fitted figures (reported interval = the whole search range, "
                     "uniform uncertainty entry): " + ", ".join(weak))
    return notes


def _design_chunk(args):
    base, params, targets, z_rows, seed, first = args
    ev = Evaluator(base, params, targets, 1, seed, np.zeros(len(targets)), np.ones(len(targets)),
                   np.ones(len(targets)))
    out = []
    for k, z in enumerate(z_rows):
        s_ = ev.draws(z, seed=seed, replications=[first + k])
        out.append(None if s_ is None else s_[:, 0])
    return out


def _run_design(base, params, targets, Z, seed, workers):
    if workers <= 1 or len(Z) < 2:
        return _design_chunk((base, params, targets, list(Z), seed, 0))
    chunks = chunked(list(range(len(Z))), workers * 2)
    args = [(base, params, targets, [Z[i] for i in c], seed, c[0]) for c in chunks]
    out = []
    with worker_pool(min(workers, os.cpu_count() or 1)) as pool:  # Ctrl-C and SIGTERM stop it at once
        for part in pool.map(_design_chunk, args):
            out.extend(part)
    return out
