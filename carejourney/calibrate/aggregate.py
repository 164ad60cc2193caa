"""Aggregate calibration: fit free config parameters to published figures.

When no child-level (SSDA903) data is available, the published counts are what there is:
starts, ceased by reason, the stock at 31 March and its placement mix. `fit_aggregate`
finds values of a few free parameters (dotted config paths with bounds) that make the
simulated figures match the published ones, and says how well they are pinned down.

Method (also written into every report):

1. Targets. Published figures of one geography, mapped to model cells by
   validate/mapping.py; by default the groups "starts", "ceased_reason", "stock" and
   "placement" (the params file can name quantities or other groups). Periods <= `until`
   only; a figure published both first and in a revised series is fitted once (revised).
2. Discrepancy. D(theta) = sum_i w_i (m_i(theta) - y_i)^2 / v_i: m_i is the mean of the
   simulated figure over R replications, y_i the published value, w_i a weight (1 unless
   the params file says otherwise) and v_i = max(y_i, 1) + r_i^2 (Poisson-like variance of
   a count, plus the publication rounding r_i); non-counts use (0.1 y_i)^2. Each term is
   roughly a squared z-score, so D is chi-square-like.
3. Common random numbers. Every evaluation runs replications 0..R-1 from the same seed,
   so differences between parameter values are not swamped by simulation noise. The run
   is cut to end at the last fitted 31 March.
4. Optimisation on a transformed scale: z = logit((x - low) / (high - low)), so the search
   is unbounded and every x stays inside its bounds: Nelder-Mead for one or two
   parameters, a trust-region least-squares solver (scipy.optimize.least_squares on the
   residuals sqrt(w_i / v_i)(m_i - y_i), central differences of 0.25 in z) for more
   ("auto"; either can be chosen). A budget caps the evaluations.
5. Local metamodel at the optimiser's best point z*: B single replications at parameter
   values z* + u_b (u_b ~ N(0, 0.3^2) per parameter, clipped at 2 sd), each with its own
   seed, and a linear regression of every simulated figure on u: its intercept is the mean
   at z* (estimated from B replications rather than R), its slopes the Jacobian J, its
   residuals samples of the figures' joint noise. CRN are not needed here, and a model
   whose random numbers shift when a rate changes (as arrivals do) is handled the same way.
   G = (J'AJ)^-1 J'A with A = diag(w_i / v_i) is the estimator's linearisation, and one
   Gauss-Newton step on the metamodel, z_fit = z* - G (mean - y), clipped to the design's
   range, corrects the optimiser's noise ("winner's curse"); z_fit gives the fitted values.
6. Parametric bootstrap of the residuals with one-step refits (cf. the k-step bootstrap of
   Andrews 2002): z_b = z_fit + c G r_b for each residual vector r_b (a simulated data set
   minus its expected value), c = sqrt((1 + (p + 1)/B) phi B / (B - p - 1)): the
   metamodel's own estimation noise, and the overdispersion phi = max(1, D / (n - p)) when
   the model fits worse than count noise allows (D at z_fit, from the metamodel). The 5%,
   50% and 95% quantiles of x(z_b) are the intervals; the residuals keep the correlations
   between figures (starts in total and by age share their noise). The Laplace interval
   z_fit +- 1.645 sd, sd from G diag(S) G' (figures treated as independent), is a check.
   A parameter whose sd in z from the data's noise alone (before phi) is above 1 is
   flagged weakly identified: its interval is its whole search range and it is not moved
   by the step.
7. Output. The config with the optimum substituted and an `uncertainty:` entry per
   parameter (normal, mean = bootstrap median, sd = 90% interval width / 3.29, truncated
   to the bounds; uniform on the bounds if weakly identified), so `carejourney run`
   samples it; a posterior predictive check (the fitted config with its uncertainty,
   `check_reps` replications) gives the fit table.

Modules: aggregate_params (the params file, free parameters, settings), aggregate_targets
(1, 2), aggregate_optimiser (3, 4), aggregate_metamodel (5), aggregate_uncertainty (6, 7),
aggregate_result (FitResult), aggregate_write (the fitted config file), aggregate_rebase
(rebase_start) and aggregate_backtest (backtest). This module runs them in order.
"""

from __future__ import annotations

import copy
import datetime as dt
import math

import numpy as np
import pandas as pd

from ..config import parse_config
from ..runner import run_replications
from ..validate.compare import compare_annual
from ..validate.figures import FiguresError, ensure_figures, select_geography
from .aggregate_metamodel import fit_metamodel, metamodel_notes
from .aggregate_optimiser import Evaluator, fix_arrival_envelope, optimise
from .aggregate_params import (
    FitError,
    ParamsError,
    fit_settings,
    free_parameters,
    parse_params,
)
from .aggregate_rebase import as_date, published_stock, rebase_start
from .aggregate_result import FitResult
from .aggregate_targets import (
    check_names,
    keep_simulated,
    select_targets,
    target_scale,
    target_sources,
    target_weight,
    targets_table,
)
from .aggregate_uncertainty import bootstrap_intervals, fitted_config

CHECK_SEED_OFFSET = 1

__all__ = ["FitError", "ParamsError", "fit_aggregate"]  # the errors are also imported from here


def fit_aggregate(cfg_dict: dict, figures: pd.DataFrame, params, geography: str | None = None,
                  until: int | None = None, reps: int | None = None, seed: int | None = None,
                  max_evaluations: int | None = None, bootstrap: int | None = None,
                  check_reps: int | None = None, method: str | None = None, workers: int = 1,
                  rebase: int | None = None, progress=None, source: str = "<figures>",
                  params_source: str = "<params>") -> FitResult:
    """Fit the free parameters in `params` (a FitSpec, a params mapping or {path: (low, high)})
    to the published `figures`; see the module docstring for the method.

    Keyword settings override the params file's `settings:`; defaults are reps 8, seed 1,
    max_evaluations 150, bootstrap 200, check_reps 20, method auto (Nelder-Mead for one or two
    parameters, least-squares for more).
    `rebase=YEAR` starts the run on 1 April YEAR from the published stock (rebase_start).
    """
    spec = parse_params(params, params_source)
    st = fit_settings(spec, dict(reps=reps, seed=seed, max_evaluations=max_evaluations, bootstrap=bootstrap,
                                 check_reps=check_reps, method=method), params_source)
    check_names(spec, params_source)
    say = progress or (lambda msg: None)

    base_cfg = copy.deepcopy(cfg_dict)
    geography = geography or (base_cfg.get("meta") or {}).get("geography")
    if not geography:
        raise FiguresError(f"{source}: no geography given and the config's meta.geography is empty")
    figs = select_geography(ensure_figures(figures, source), geography, source)
    parse_config(base_cfg, "config")  # a config error is reported before anything runs
    notes: list[str] = []
    if rebase is not None:
        base_cfg, rb_notes = rebase_start(base_cfg, figs, rebase)
        notes += rb_notes
    params_list = free_parameters(base_cfg, spec, params_source)
    targets, left = select_targets(figs, spec, until)
    start = as_date(base_cfg["horizon"]["start_date"])
    end = as_date(base_cfg["horizon"]["end_date"])
    targets = keep_simulated(targets, left, start, end)
    if not targets:
        hint = ""
        if until is not None and dt.date(until, 3, 31) < start:
            hint = f"; the run starts on {start}, after the fitted years"
            hint += (f": start it earlier with --rebase-start {until - 1} (from the published stock at 31 March "
                     f"{until - 1})" if published_stock(figs, until - 1) is not None else
                     f", and no stock is published for 31 March {until - 1} to start an earlier run from")
        raise FitError(f"{source}: no published figure of {geography} to fit"
                       f"{' up to ' + str(until) if until else ''} inside the run{hint}")
    last_year = max(int(t["year"]) for t in targets)
    fit_end = min(dt.date(last_year, 3, 31), end)
    run_base = copy.deepcopy(base_cfg)
    run_base["horizon"]["end_date"] = fit_end
    fitted_paths = {p.path for p in params_list}
    run_base["uncertainty"] = [u for u in run_base.get("uncertainty") or [] if u.get("path") not in fitted_paths]
    fix_arrival_envelope(run_base, params_list)

    obs = np.array([t["observed"] for t in targets])
    scale = np.array([target_scale(t) for t in targets])
    weight = np.array([target_weight(t, spec.weights) for t in targets])
    R, seed0 = st["reps"], st["seed"]
    ev = Evaluator(run_base, params_list, targets, R, seed0, obs, scale, weight, say, st["max_evaluations"])
    p = len(params_list)
    z0 = np.array([q.to_z(q.start) for q in params_list])
    say(f"fitting {p} parameter(s) to {len(targets)} figure(s), {R} replications per evaluation, "
        f"run {start} to {fit_end}")
    d_start = ev(z0)
    z_star, x_star, d_fit = optimise(ev, z0, params_list, st, notes)

    # local linear metamodel around the optimum, bootstrap intervals, the fitted config
    ev.budget, ev.phase = None, "design"
    mm = fit_metamodel(run_base, params_list, targets, z_star, obs, scale, weight, st["bootstrap"], seed0, workers,
                       say)
    x_fit = {q.path: q.to_x(z) for q, z in zip(params_list, mm.z_fit)}
    intervals, bootstrap_df = bootstrap_intervals(params_list, mm, x_star, x_fit)
    notes += metamodel_notes(mm, params_list, len(targets), d_fit, R)
    fitted_cfg = fitted_config(base_cfg, params_list, x_fit, intervals, targets, geography, notes)

    # posterior predictive check
    check_cfg_dict = copy.deepcopy(fitted_cfg)
    check_cfg_dict["horizon"]["end_date"] = fit_end
    check_cfg = parse_config(check_cfg_dict, "fitted config")
    say(f"posterior predictive check: {st['check_reps']} replications")
    res = run_replications(check_cfg, st["check_reps"], seed0 + CHECK_SEED_OFFSET, workers=workers)
    comparison = compare_annual(res.annual, figs, geography, start, fit_end, source)
    comparison.attrs.update(config=(base_cfg.get("meta") or {}).get("name", ""), seed=seed0 + CHECK_SEED_OFFSET,
                            reps=st["check_reps"])
    labels = {(t["quantity"], str(t["period"])) for t in targets}
    fit_table = comparison[[(q, str(pr)) in labels for q, pr in zip(comparison["quantity"], comparison["period"])]].copy()
    crn = {(t["quantity"], str(t["period"])): (m, s_, w) for t, m, s_, w in zip(targets, mm.pred, scale, weight)}
    fit_table["weight"] = [crn[(q, str(pr))][2] for q, pr in zip(fit_table["quantity"], fit_table["period"])]
    fit_table["mean_at_fit"] = [crn[(q, str(pr))][0] for q, pr in zip(fit_table["quantity"], fit_table["period"])]
    fit_table["pearson_residual"] = [(crn[(q, str(pr))][0] - o) / math.sqrt(crn[(q, str(pr))][1])
                                     for q, pr, o in zip(fit_table["quantity"], fit_table["period"], fit_table["observed"])]
    fit_table["contribution"] = fit_table["weight"] * fit_table["pearson_residual"] ** 2
    fit_table = fit_table.reset_index(drop=True)
    fit_table.attrs.update(comparison.attrs)

    hist = pd.DataFrame(ev.history)
    st.update(until=until, rebase=rebase, geography=geography, fit_start=str(start), fit_end=str(fit_end),
              workers=workers)
    return FitResult(params_list, x_fit, intervals, hist, fit_table, targets_table(targets, weight, scale),
                     pd.DataFrame(left, columns=["quantity", "period", "observed", "reason"]), bootstrap_df, fitted_cfg,
                     copy.deepcopy(cfg_dict), comparison, geography, notes, st, d_start, mm.d_model,
                     target_sources(figs, targets), d_fit)
