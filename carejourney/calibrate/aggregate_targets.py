"""The published figures a fit aims at: which are fitted, their weights and variances.

Targets are published figures of one geography mapped to model cells by validate/mapping.py
(by default the groups in DEFAULT_GROUPS), periods <= `until` only, one per model cell and
year (the revised series preferred). Each has a weight w_i (1 unless the params file says
otherwise) and a variance v_i = max(y_i, 1) + r_i^2 for counts, (0.1 y_i)^2 + r_i^2 otherwise.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from ..validate.compare import _Cells, match_figures, simulated_years
from .aggregate_params import FitSpec, ParamsError

DEFAULT_GROUPS = ("starts", "ceased_reason", "stock", "placement")


def select_targets(figs: pd.DataFrame, spec: FitSpec, until: int | None) -> tuple[list[dict], list[dict]]:
    """(fitted targets, figures left out with the reason)."""
    targets, _ = match_figures(figs)
    wanted_q = {q.lower() for q in spec.quantities} if spec.quantities else None
    wanted_g = set(spec.groups) if spec.groups else (set() if wanted_q else set(DEFAULT_GROUPS))
    chosen, left = [], []
    for t in targets:
        row = t["row"]
        names = {t["quantity"].lower(), row.quantity.lower()}
        if not ((wanted_q and names & wanted_q) or row.group in wanted_g):
            continue
        if t["year"] is None or pd.isna(t["year"]):
            left.append({**_brief(t), "reason": f"period {t['period']!r} is not a year"})
        elif until is not None and int(t["year"]) > until:
            left.append({**_brief(t), "reason": f"after --until {until}"})
        elif not np.isfinite(t["observed"]):
            left.append({**_brief(t), "reason": t["problem"] or "no numeric value"})
        else:
            chosen.append(t)
    # one target per model cell and year: prefer the revised series, then the first listed
    chosen.sort(key=lambda t: t["series"] != "revised")
    seen, out = set(), []
    for t in chosen:
        key = (t["row"].measure, t["row"].breakdown, t["row"].categories, t["model_period"])
        if key in seen:
            left.append({**_brief(t), "reason": "the same figure is fitted from its revised series"})
            continue
        seen.add(key)
        out.append(t)
    return out, left


def check_names(spec: FitSpec, source: str):
    """Quantities, groups and weight keys must name rows or groups of the mapping table."""
    from ..validate.mapping import MAPPING, groups
    known_q = {r.quantity.lower(): r for r in MAPPING}
    known_g = set(groups())

    def is_quantity(q):
        r = known_q.get(q.lower().removesuffix(" (revised series)"))
        return r is not None and r.compared

    for q in spec.quantities or []:
        if not is_quantity(q):
            raise ParamsError(f"{source}: quantities: {q!r} is not a compared quantity of the mapping table "
                              "(carejourney/validate/mapping.py)")
    for g in spec.groups or []:
        if g not in known_g:
            raise ParamsError(f"{source}: groups: unknown group {g!r}; expected one of {sorted(known_g)}")
    for k in spec.weights:
        if k not in known_g and not is_quantity(k):
            raise ParamsError(f"{source}: weights.{k}: not a compared quantity or group of the mapping table")


def _brief(t: dict) -> dict:
    return {"quantity": t["quantity"], "period": t["period"], "observed": t["observed"]}


def target_weight(t: dict, weights: dict[str, float]) -> float:
    for key in (t["quantity"], t["row"].quantity, t["row"].group):
        if key in weights:
            return weights[key]
    return 1.0


def target_scale(t: dict) -> float:
    y, r = t["observed"], t["rounding"]
    if t["row"].measure in ("lac_children", "starts_children", "ceased_children"):
        return max(y, 1.0) + r * r
    return max((0.1 * abs(y)) ** 2, 1e-6) + r * r


def target_values(annual: pd.DataFrame, targets: list[dict]) -> np.ndarray:
    cells = _Cells(annual, {t["row"].measure for t in targets})
    out = np.zeros((len(targets), len(cells.reps)))
    for i, t in enumerate(targets):
        d = cells.draws(t["row"], t["model_period"])
        if d is not None:
            out[i] = d
    return out


def keep_simulated(targets: list[dict], left: list[dict], start: dt.date, end: dt.date) -> list[dict]:
    """The targets whose period the run from `start` to `end` simulates; the others go to `left`."""
    stock_years, full_years = simulated_years(start, end)
    kept = []
    for t in targets:
        ok = t["model_period"] in (stock_years if t["row"].measure in ("lac_children", "lac_rate_per_10000") else full_years)
        (kept if ok else left).append(t if ok else {**_brief(t), "reason": f"not simulated (run {start} to {end})"})
    return kept


def targets_table(targets: list[dict], weight, scale) -> pd.DataFrame:
    return pd.DataFrame([{"quantity": t["quantity"], "period": t["period"], "observed": t["observed"],
                          "group": t["row"].group, "measure": t["row"].describe(), "weight": w, "scale": s_,
                          "series": t["series"], "source_title": t["source_title"]}
                         for t, w, s_ in zip(targets, weight, scale)])


def target_sources(figs: pd.DataFrame, targets: list[dict]) -> pd.DataFrame:
    """The publications (title, address) the fitted figures come from."""
    src_rows = figs[figs["base_quantity"].str.lower().isin({t["row"].quantity.lower() for t in targets} |
                                                           {p_.lower() for t in targets for p_ in t["row"].parts})]
    src_rows = src_rows[src_rows["year"].astype("float").isin([float(t["year"]) for t in targets])]
    return src_rows[["source_title", "source_address"]].drop_duplicates().reset_index(drop=True)
