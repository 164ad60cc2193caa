"""The fitted parameters' uncertainty: bootstrap intervals and the config's `uncertainty:` entries.

Parametric bootstrap of the metamodel's residuals with one-step refits (cf. the k-step
bootstrap of Andrews 2002): z_b = z_fit + c G r_b for each residual vector r_b, with
c = sqrt((1 + (p + 1)/B) phi B / (B - p - 1)). The 5%, 50% and 95% quantiles of x(z_b) are the
intervals; the Laplace interval z_fit +- 1.645 sd is a check. Each fitted parameter gets an
`uncertainty:` entry: normal (mean = bootstrap median, sd = 90% interval width / 3.29,
truncated to the bounds), or uniform on the bounds if weakly identified.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pandas as pd

from ..config import parse_config
from .aggregate_metamodel import Metamodel
from .aggregate_params import FreeParameter
from .aggregate_result import round_sig


def bootstrap_intervals(params: list[FreeParameter], mm: Metamodel, x_star: dict[str, float],
                        x_fit: dict[str, float]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(intervals: a row per parameter, bootstrap draws: a row per draw). `x_star`: the
    optimiser's best point (`optimum`); `x_fit`: the fitted values, at mm.z_fit."""
    z_fit = mm.z_fit
    lap_sd = mm.sd_noise * math.sqrt(mm.phi)
    c = math.sqrt(mm.k * mm.phi * mm.runs / mm.dof)
    Zb = z_fit[None, :] + c * mm.resid @ mm.G.T
    Xb = np.array([[q.to_x(z) for q, z in zip(params, row)] for row in Zb])
    interval_rows = []
    for jj, q in enumerate(params):
        if mm.identified[jj]:
            q05, q50, q95 = (float(v) for v in np.quantile(Xb[:, jj], (0.05, 0.5, 0.95)))
        else:
            q05, q50, q95 = q.low, x_fit[q.path], q.high
        interval_rows.append({
            "path": q.path, "low": q.low, "high": q.high, "start": q.start, "config_value": q.was, "optimum": x_star[q.path],
            "fitted": x_fit[q.path], "q05": q05, "median": q50, "q95": q95,
            "laplace_q05": q.to_x(z_fit[jj] - 1.645 * lap_sd[jj]), "laplace_q95": q.to_x(z_fit[jj] + 1.645 * lap_sd[jj]),
            "sd_logit": float(lap_sd[jj]), "identified": bool(mm.identified[jj]), "integer": q.integer})
    intervals = pd.DataFrame(interval_rows)
    bootstrap_df = pd.DataFrame(Xb, columns=[q.path for q in params])
    bootstrap_df.insert(0, "draw", np.arange(len(bootstrap_df)))
    return intervals, bootstrap_df


def fitted_config(base_cfg: dict, params: list[FreeParameter], x_fit: dict[str, float], intervals: pd.DataFrame,
                  targets: list[dict], geography: str, notes: list[str]) -> dict:
    """`base_cfg` with the fitted values substituted and an `uncertainty:` entry per parameter
    (replacing any it had for them), validated; notes on whole-number parameters go to `notes`."""
    fitted_paths = {p.path for p in params}
    shares = {p.path for p in params if p.rescale_others}

    def share_flag(path: str) -> dict:
        return {"rescale_others": True} if path in shares else {}

    fitted_cfg = copy.deepcopy(base_cfg)
    for q in params:
        q.set(fitted_cfg, x_fit[q.path])
    unc = [u for u in fitted_cfg.get("uncertainty") or [] if u.get("path") not in fitted_paths]
    years = sorted({str(t["period"]) for t in targets})
    for r in intervals.itertuples():
        if r.integer:
            notes.append(f"{r.path} is a whole number: fitted value substituted, no uncertainty entry.")
            continue
        where = f"carejourney fit to {geography} published figures {', '.join(years)}"
        if not r.identified:
            unc.append({"path": r.path, "prior": {"dist": "uniform", "low": r.low, "high": r.high},
                        **share_flag(r.path),
                        "source": where + " (weakly identified: the whole search range)"})
            continue
        sd = (r.q95 - r.q05) / (2 * 1.645)
        if not np.isfinite(sd) or sd <= 0:
            continue
        unc.append({"path": r.path,
                    "prior": {"dist": "normal", "mean": round_sig(r.median), "sd": round_sig(sd),
                              "low": r.low, "high": r.high},
                    **share_flag(r.path),
                    "source": where + f" (bootstrap 90% interval {round_sig(r.q05)}-{round_sig(r.q95)})"})
    fitted_cfg["uncertainty"] = unc
    parse_config(fitted_cfg, "fitted config")
    return fitted_cfg
