"""Compare a simulated config with published figures, quantity by quantity and year by year.

    table = compare(cfg, read_figures("published_figures.csv"), reps=20, seed=1)

For every published figure of the geography (default: the config's `meta.geography`):
  - mapped (validate/mapping.py) and inside the simulated years: the observed value, the
    median and 5% / 95% quantiles across replications (a 90% interval of what the model
    says that figure could have been, system randomness plus any `uncertainty:` priors)
    and whether the observed value is inside;
  - otherwise a "not compared" row with the reason (no model measure, a percentage, a
    cost, a period outside the run, a suppressed value, part of a derived sum).
Published period 2016 is the model period '2015-16' (stock at 31 March 2016).

DfE national counts are rounded to the nearest 10 and rates per 10,000 to whole numbers:
for those, `inside` allows the interval to be widened by the rounding half-width (5 or
0.5), and the note says so.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd

from ..calendar import financial_years
from .figures import FiguresError, ensure_figures, read_figures, select_geography
from .mapping import (
    MAPPING,
    MappedQuantity,
    derived_rows_using,
    reason_not_compared,
    row_for,
    unit_of_measure,
)

__all__ = ["compare", "compare_annual", "read_figures", "match_figures", "format_comparison", "coverage",
           "simulated_figures", "FiguresError", "OUTPUT_COLUMNS"]

OUTPUT_COLUMNS = ["quantity", "period", "observed", "sim_median", "sim_q05", "sim_q95", "inside", "measure", "note",
                  "status", "model_period", "group", "series", "sim_mean", "rounding", "source_title"]
STOCK_MEASURES = {"lac_children", "lac_rate_per_10000"}
REVISED = " (revised series)"


# ---------------------------------------------------------------- published side
def match_figures(figures: pd.DataFrame) -> tuple[list[dict], list[dict]]:
    """One geography's figures -> (targets, not_compared).

    A target is a dict: row (MappedQuantity), quantity (label as output), period, year,
    model_period, observed, rounding, series, notes (list), source_title. `not_compared`
    rows carry quantity, period, observed and the reason.
    """
    f = figures.drop_duplicates(subset=["quantity", "period", "value_text"]).copy()
    targets, skipped = [], []
    derived: dict[tuple, dict] = {}
    for r in f.to_dict("records"):
        label = r["quantity"]
        row = row_for(r["base_quantity"])
        if row is not None and row.compared:
            targets.append(_target(row, label, r, [r]))
        else:
            skipped.append(_skip(r, reason_not_compared(r["base_quantity"], r["unit"])))
        parent = derived_rows_using(r["base_quantity"])
        if parent is not None:
            derived.setdefault((parent.quantity, r["series"], r["period"]), {"row": parent, "figs": []})["figs"].append(r)
    for (_, series, _), d in derived.items():
        row, figs = d["row"], d["figs"]
        label = row.quantity + (REVISED if series == "revised" else "")
        t = _target(row, label, figs[0], figs)
        have = {f_["base_quantity"].lower() for f_ in figs}
        missing = [p for p in row.parts if p.lower() not in have]
        if missing:
            t["notes"].append("partial: not published for this year: " + "; ".join(m.split(": ", 1)[-1] for m in missing))
        targets.append(t)
    return targets, skipped


def _target(row: MappedQuantity, label: str, first: dict, figs: list[dict]) -> dict:
    values = [f_["value"] for f_ in figs]
    problems = [f_["value_problem"] for f_ in figs if f_["value_problem"]]
    observed = float(np.sum(values)) if not problems and not np.any(np.isnan(values)) else np.nan
    notes = [row.note] if row.note else []
    rounding = float(np.sqrt(np.sum(np.square([f_["rounding"] for f_ in figs])))) if len(figs) > 1 else first["rounding"]
    return {"row": row, "quantity": label, "period": first["period"], "year": first["year"],
            "model_period": first["model_period"], "observed": observed, "rounding": rounding,
            "series": first["series"], "notes": notes, "problem": "; ".join(problems),
            "source_title": first["source_title"], "unit": first["unit"]}


def _skip(r: dict, reason: str) -> dict:
    return {"quantity": r["quantity"], "period": r["period"], "observed": r["value"], "note": "not compared: " + reason,
            "status": "not compared", "model_period": r["model_period"], "series": r["series"],
            "source_title": r["source_title"], "rounding": r["rounding"]}


# ---------------------------------------------------------------- simulated side
def simulated_years(start: dt.date, end: dt.date) -> tuple[set[str], set[str]]:
    """(periods whose 31 March is simulated, periods simulated from 1 April to 31 March)."""
    stock, full = set(), set()
    for label, y, _, _ in financial_years(start, end):
        if start <= dt.date(y + 1, 3, 31) <= end:
            stock.add(label)
        if start <= dt.date(y, 4, 1) and dt.date(y + 1, 3, 31) <= end:
            full.add(label)
    return stock, full


class _Cells:
    """Per-replication values of the annual table's cells, for quick sums."""

    def __init__(self, annual: pd.DataFrame, measures: set[str]):
        a = annual[annual["measure"].isin(measures)]
        self.reps = np.sort(annual["replication"].unique()) if len(annual) else np.array([])
        if len(a):
            wide = a.pivot_table(index=["period", "measure", "breakdown", "category"], columns="replication",
                                 values="value", aggfunc="sum", fill_value=0.0, observed=True)
            wide = wide.reindex(columns=self.reps, fill_value=0.0)
            self.index = {k: i for i, k in enumerate(wide.index)}
            self.values = wide.to_numpy(dtype=float)
        else:
            self.index, self.values = {}, np.zeros((0, len(self.reps)))
        self.present = {(k[1], k[2]) for k in self.index}

    def draws(self, row: MappedQuantity, period: str) -> np.ndarray | None:
        rows = [self.index[k] for c in row.categories if (k := (period, row.measure, row.breakdown, c)) in self.index]
        if not rows:
            return None
        return self.values[rows].sum(axis=0)


def _sim_stats(draws: np.ndarray) -> dict:
    return {"sim_median": float(np.quantile(draws, 0.5)), "sim_q05": float(np.quantile(draws, 0.05)),
            "sim_q95": float(np.quantile(draws, 0.95)), "sim_mean": float(np.mean(draws))}


def compare_annual(annual: pd.DataFrame, figures: pd.DataFrame, geography: str, start: dt.date, end: dt.date,
                   source: str = "<figures>") -> pd.DataFrame:
    """The comparison for an already simulated annual table (see `compare`)."""
    figs = select_geography(ensure_figures(figures, source), geography, source)
    targets, skipped = match_figures(figs)
    stock_years, full_years = simulated_years(start, end)
    cells = _Cells(annual, {t["row"].measure for t in targets})
    out = list(skipped)
    for t in targets:
        row = t["row"]
        base = {"quantity": t["quantity"], "period": t["period"], "observed": t["observed"],
                "measure": row.describe(), "model_period": t["model_period"], "group": row.group,
                "series": t["series"], "rounding": t["rounding"], "source_title": t["source_title"]}
        reason = _period_problem(t, row, stock_years, full_years, start, end)
        if t["problem"]:
            reason = t["problem"]
        elif np.isnan(t["observed"]) and not reason:
            reason = "no numeric value"
        draws = None if reason else cells.draws(row, t["model_period"])
        if draws is None and not reason:
            reason = f"measure {row.describe()} is not in the run's output for {t['model_period']}"
        if reason:
            out.append({**base, "note": "not compared: " + reason, "status": "not compared"})
            continue
        stats = _sim_stats(draws)
        tol = t["rounding"]
        inside = bool(stats["sim_q05"] - tol - 1e-9 <= t["observed"] <= stats["sim_q95"] + tol + 1e-9)
        notes = list(t["notes"])
        if tol == 5:
            notes.append("DfE national count rounded to the nearest 10: inside if within the 90% interval ±5")
        elif tol == 0.5:
            notes.append("published as a whole number: inside if within the 90% interval ±0.5")
        elif tol > 0:
            notes.append(f"sum of rounded counts: inside if within the 90% interval ±{tol:.1f}")
        out.append({**base, **stats, "inside": inside, "note": "; ".join(notes), "status": "compared"})
    df = pd.DataFrame(out).reindex(columns=OUTPUT_COLUMNS)
    df["inside"] = df["inside"].astype("boolean")
    df["status"] = pd.Categorical(df["status"], ["compared", "not compared"])
    group_order = {g: i for i, g in enumerate(dict.fromkeys(r.group for r in MAPPING if r.compared))}
    df["_g"] = df["group"].map(group_order).fillna(len(group_order))
    df["_y"] = pd.to_numeric(df["period"], errors="coerce")
    df = df.sort_values(["status", "_g", "quantity", "_y", "period"], kind="stable").drop(columns=["_g", "_y"])
    df["status"] = df["status"].astype(str)
    df.attrs.update(geography=figs["geography"].iloc[0], start=str(start), end=str(end),
                    reps=int(annual["replication"].nunique()) if len(annual) else 0)
    return df.reset_index(drop=True)


def _period_problem(t, row, stock_years, full_years, start, end) -> str:
    if t["year"] is None or pd.isna(t["year"]):
        return f"period {t['period']!r} is not a year ending 31 March"
    mp = t["model_period"]
    year = int(t["year"])
    if row.measure in STOCK_MEASURES:
        if mp in stock_years:
            return ""
        when = dt.date(year, 3, 31)
        if when < start:
            extra = " (the opening stock is an input)" if when == start - dt.timedelta(1) else ""
            return f"31 March {year} is before the run starts on {start}{extra}"
        return f"31 March {year} is after the run ends on {end}"
    if mp in full_years:
        return ""
    if dt.date(year, 3, 31) < start:
        return f"the year {mp} is before the run starts on {start}"
    if dt.date(year - 1, 4, 1) > end:
        return f"the year {mp} is after the run ends on {end}"
    return f"the run covers only part of the year {mp} ({start} to {end})"


def last_mapped_year(figures: pd.DataFrame) -> int | None:
    """The latest year with a figure the mapping can compare (to cut the horizon)."""
    targets, _ = match_figures(figures)
    years = [int(t["year"]) for t in targets if t["year"] is not None and not pd.isna(t["year"])]
    return max(years) if years else None


def compare(cfg, figures: pd.DataFrame, reps: int, seed: int, geography: str | None = None, workers: int = 1,
            cut_horizon: bool = True, source: str = "<figures>") -> pd.DataFrame:
    """Simulate `cfg` (reps replications from `seed`) and compare with published figures.

    Returns one row per published figure of the geography: quantity, period, observed,
    sim_median, sim_q05, sim_q95 (90% interval), inside, measure, note, and status
    ('compared' / 'not compared'), model_period, group, series, sim_mean, rounding,
    source_title. With cut_horizon the run stops at the last 31 March with a comparable
    figure (later years would not be compared anyway).
    """
    from ..runner import run_replications

    geography = geography or cfg.meta.geography
    if not geography:
        raise FiguresError(f"{source}: no geography given and the config's meta.geography is empty "
                           "(pass --geography NAME)")
    figs = select_geography(ensure_figures(figures, source), geography, source)
    run_cfg = cfg
    if cut_horizon:
        last = last_mapped_year(figs)
        if last is not None:
            end = dt.date(last, 3, 31)
            if cfg.horizon.start_date < end < cfg.horizon.end_date:
                run_cfg = cfg.model_copy(update={"horizon": cfg.horizon.model_copy(update={"end_date": end})})
    result = run_replications(run_cfg, reps, seed, workers=workers)
    df = compare_annual(result.annual, figs, geography, run_cfg.horizon.start_date, run_cfg.horizon.end_date, source)
    df.attrs.update(config=cfg.meta.name, seed=seed, reps=reps)
    return df


# ---------------------------------------------------------------- summaries and output
def coverage(table: pd.DataFrame) -> tuple[int, int]:
    """(inside, compared) over the compared rows."""
    c = table[table["status"] == "compared"]
    return int(c["inside"].fillna(False).sum()), len(c)


def _fmt(x) -> str:
    if x is None or (isinstance(x, float) and np.isnan(x)) or x is pd.NA:
        return ""
    x = float(x)
    if x.is_integer():
        return f"{x:,.0f}"
    if abs(x) < 100 or (2 * x).is_integer():
        # a median of an even number of replications is often a half: 182.5 shown, not 182
        return f"{x:,.1f}"
    return f"{math.floor(x + 0.5):,.0f}"  # halves up (format() rounds them to even)


def _shown(text: str) -> float:
    """The value a formatted number reads as (nan for a blank)."""
    return float(text.replace(",", "")) if text else math.nan


def _cut(s: str, n: int) -> str:
    """Shorten from the middle, keeping the end (where labels differ: '... (combined)')."""
    if len(s) <= n:
        return s
    tail = min(14, n // 3)
    return s[: n - tail - 1] + "…" + s[-tail:]


_PERIOD_REASONS = ("before the run starts", "after the run ends", "only part of the year", "is not a year ending")


def format_comparison(table: pd.DataFrame, width: int = 78) -> str:
    """The comparison as text: compared rows, coverage, then what was not compared and why."""
    a = table.attrs
    lines = []
    head = f"{a.get('geography', '')}: {a.get('reps', '?')} replication(s)"
    if a.get("config"):
        head += f" of {a['config']} (seed {a.get('seed')})"
    lines.append(head + f", run {a.get('start', '?')} to {a.get('end', '?')}; 90% interval = 5% to 95% quantiles")
    c = table[table["status"] == "compared"]
    if len(c):
        lines.append("")
        lines.append(f"{'quantity':<{width}} {'period':>6} {'observed':>9} {'sim 5%':>8} {'median':>8} "
                     f"{'sim 95%':>8}  inside")
        for r in c.itertuples():
            mark = "yes" if r.inside else "NO"
            lo, hi = _fmt(r.sim_q05), _fmt(r.sim_q95)
            if not r.inside and _shown(lo) <= float(r.observed) <= _shown(hi):
                # rounded, the ends would put an outside figure inside: show them as they are
                lo, hi = f"{float(r.sim_q05):,.2f}", f"{float(r.sim_q95):,.2f}"
            lines.append(f"{_cut(r.quantity, width):<{width}} {str(r.period):>6} {_fmt(r.observed):>9} "
                         f"{lo:>8} {_fmt(r.sim_median):>8} {hi:>8}  {mark}")
        inside, n = coverage(table)
        lines.append("")
        by_year = ""
        periods = sorted(set(map(str, c["period"])))
        if len(periods) > 1:
            by_year = " By period: " + "; ".join(
                "{}: {} of {}".format(p, *coverage(c[c["period"].astype(str) == p])) for p in periods) + "."
        lines.append(f"{inside} of {n} compared figures inside the 90% interval ({inside / n:.0%}).{by_year}")
        notes = c[c["note"].fillna("") != ""].drop_duplicates("note")
        if len(notes):
            lines.append("Notes:")
            for r in notes.itertuples():
                lines.append(f"  - {_cut(r.quantity, 60)}: {r.note}")
    else:
        lines.append("No figure could be compared.")
    nc = table[table["status"] != "compared"]
    if len(nc):
        lines.append("")
        lines.append(f"Not compared ({len(nc)} figures; the table saved with --out lists every one with its "
                     "reason):")
        by_period = nc["note"].fillna("").str.contains("|".join(_PERIOD_REASONS))
        for kind in _PERIOD_REASONS:
            g = nc[by_period & nc["note"].fillna("").str.contains(kind)]
            if len(g):
                periods = ", ".join(sorted(dict.fromkeys(map(str, g["period"]))))
                example = g["note"].iloc[0].removeprefix("not compared: ")
                lines.append(f"  - {len(g)} figure(s) for periods {periods}: {kind} (e.g. {example})")
        for (q, note), g in nc[~by_period].groupby(["quantity", "note"], sort=False):
            periods = ", ".join(dict.fromkeys(map(str, g["period"])))
            lines.append(f"  - {_cut(q, 70)} [{periods}]: {note.removeprefix('not compared: ')}")
    return "\n".join(lines)


def simulated_figures(annual: pd.DataFrame, geography: str = "Synthetic", stat: str = "median",
                      quantities=None, years=None) -> pd.DataFrame:
    """Published-style figures made from a simulation (for synthetic calibration checks).

    One row per directly mapped quantity (not the derived sums) and simulated year, with
    the median (or mean) across replications, rounded to a whole number.
    """
    reps_fn = {"median": np.median, "mean": np.mean}[stat]
    cells = _Cells(annual, {r.measure for r in MAPPING if r.compared})
    periods = sorted({k[0] for k in cells.index})
    rows, seen = [], set()
    for row in MAPPING:
        if not row.compared or row.parts or (quantities is not None and row.quantity not in quantities):
            continue
        key = (row.measure, row.breakdown, row.categories)
        if key in seen:  # aliases of the same cells
            continue
        seen.add(key)
        for p in periods:
            year = int(p[:4]) + 1
            if years is not None and year not in years:
                continue
            d = cells.draws(row, p)
            if d is None:
                continue
            unit = unit_of_measure(row.measure)
            rows.append({"quantity": row.quantity, "geography": geography, "period": str(year),
                         "value": str(int(round(float(reps_fn(d))))), "unit": unit,
                         "source_title": "carejourney simulation", "source_address": "", "note": "synthetic"})
    return pd.DataFrame(rows, columns=["quantity", "geography", "period", "value", "unit", "source_title",
                                       "source_address", "note"])
