"""What an aggregate fit found (FitResult), and the rounding used to show its numbers."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..validate.compare import coverage
from .aggregate_params import FreeParameter


@dataclass
class FitResult:
    """What a fit found. `config` is the fitted config dict (original horizon, fitted
    values substituted, `uncertainty:` entries added)."""

    parameters: list[FreeParameter]
    fitted: dict[str, float]
    intervals: pd.DataFrame
    history: pd.DataFrame
    fit_table: pd.DataFrame
    targets: pd.DataFrame
    excluded: pd.DataFrame
    bootstrap: pd.DataFrame
    config: dict
    base_config: dict
    comparison: pd.DataFrame
    geography: str
    notes: list[str]
    settings: dict
    discrepancy_start: float
    discrepancy_fit: float
    sources: pd.DataFrame
    discrepancy_optimum: float = float("nan")

    def summary(self) -> str:
        lines = [f"Fitted {len(self.parameters)} parameter(s) to {len(self.targets)} published figure(s) of "
                 f"{self.geography} ({', '.join(sorted(set(map(str, self.targets['period']))))}); "
                 f"discrepancy {self.discrepancy_start:.1f} at the start values, {self.discrepancy_optimum:.1f} at "
                 f"the optimiser's best ({len(self.history)} evaluations), {self.discrepancy_fit:.1f} at the fitted "
                 f"values (local metamodel)."]
        w = max(len(p.path) for p in self.parameters)
        lines.append(f"{'parameter':<{w}} {'config':>10} {'start':>10} {'fitted':>10} {'5%':>10} {'95%':>10}   "
                     "(90% interval; the start is the config's value, 2% inside the bounds if at one)")
        for r in self.intervals.itertuples():
            lines.append(f"{r.path:<{w}} {config_value(r):>10.4g} {r.start:>10.4g} {r.fitted:>10.4g} {r.q05:>10.4g} {r.q95:>10.4g}"
                         + ("" if r.identified else "  (weakly identified: whole range)"))
        inside, n = coverage(self.fit_table)
        lines.append(f"{inside} of {n} fitted figures inside the 90% posterior predictive interval.")
        return "\n".join(lines)


def config_value(r) -> float:
    """A fitted parameter's value in the config (an older fit's intervals recorded only the start)."""
    return getattr(r, "config_value", r.start)


def round_sig(x: float, sig: int = 4) -> float:
    """x rounded to `sig` significant figures."""
    if not np.isfinite(x) or x == 0:
        return float(x)
    return float(round(x, sig - 1 - int(math.floor(math.log10(abs(x))))))
