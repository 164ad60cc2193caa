"""Back-test: fit on published periods up to a year, then compare the forecasts of later ones."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from ..config import parse_config
from ..validate.compare import compare, coverage
from ..validate.figures import FiguresError, ensure_figures, select_geography
from .aggregate import fit_aggregate
from .aggregate_params import FitError
from .aggregate_rebase import as_date, published_stock
from .aggregate_result import FitResult


@dataclass
class BacktestResult:
    table: pd.DataFrame
    fit: FitResult
    until: int
    notes: list[str]

    @property
    def coverage(self) -> tuple[int, int]:
        return coverage(self.table)


def backtest(cfg_dict: dict, figures: pd.DataFrame, params, until: int, geography: str | None = None,
             reps: int = 20, seed: int = 1, workers: int = 1, rebase: int | None | str = "auto",
             progress=None, source: str = "<figures>", params_source: str = "<params>", **fit_kwargs) -> BacktestResult:
    """Fit on published periods <= until, then compare the forecasts for periods > until.

    The forecast is the fitted config (with its parameter uncertainty) run on, without
    re-anchoring on any later published stock. With rebase="auto", a config that starts
    after the fitted years is started on 1 April of until - 1 from the published stock at
    31 March until - 1 (rebase_start); an integer chooses the year; None never rebases.
    """
    geography = geography or (cfg_dict.get("meta") or {}).get("geography")
    if not geography:
        raise FiguresError(f"{source}: no geography given and the config's meta.geography is empty")
    figs = select_geography(ensure_figures(figures, source), geography, source)
    # checked before the fit (tens of seconds), not after it
    later = figs[figs["year"].notna() & (figs["year"].astype("float") > until)]
    if later.empty:
        raise FitError(f"{source}: no published figure of {geography} after {until} to forecast")
    start = as_date(cfg_dict["horizon"]["start_date"])
    notes = []
    if rebase == "auto":
        rebase = until - 1 if dt.date(until, 3, 31) < start else None
        if rebase is not None and published_stock(figs, rebase) is None:
            raise FitError(f"--backtest-until {until}: the config starts on {start}, after the years to fit, and "
                           f"{geography} has no published 'CLA at 31 March' for {rebase} to start the back-test from")
        if rebase is not None:
            notes.append(f"The config starts on {start}, after the fitted years: the back-test starts the run on "
                         f"1 April {rebase} from the published stock at 31 March {rebase}.")
            if progress:
                progress(notes[-1])
    fit = fit_aggregate(cfg_dict, figs, params, geography=geography, until=until, workers=workers, rebase=rebase,
                        progress=progress, source=source, params_source=params_source, **fit_kwargs)
    cfg = parse_config(fit.config, "fitted config")
    table = compare(cfg, later, reps, seed + 2, geography=geography, workers=workers, source=source)
    table = table[pd.to_numeric(table["period"], errors="coerce") > until].reset_index(drop=True)
    table.attrs.update(config=cfg.meta.name, backtest_until=until)
    return BacktestResult(table, fit, until, notes + fit.notes)
