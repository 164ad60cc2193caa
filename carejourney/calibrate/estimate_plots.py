"""Fit plots for the estimation report: what the data show beside what the fitted model says.

    curves = survival_curve(days, events, fitted_survival, "ifa_foster", "Weibull ...")
    plots = draw_fit_plots(report.fit_data, folder)   # PNGs in folder, one FitPlot each

The estimator (estimate.py and the estimate_* parts it runs) keeps in `EstimationReport.fit_data`
only aggregates: Kaplan-Meier curves on a weekly grid, drawn only while at least 5 spells remain
at risk (so no single child's time shows), events and days at risk by legal status x age band,
yearly entry counts and the opening stock's counts. Counts of 1-4 are never drawn as numbers or
bar heights: they are marked "<5" (zero is shown). `draw_fit_plots` turns them into PNGs with matplotlib's
object API on Agg canvases (no pyplot, no global state); a plot without enough data is not
drawn and its FitPlot says why.

The plots:

1. placement_duration.png: time to a move per placement type, Kaplan-Meier (censoring at
   exits, moves into adoption and the window's end) with a 90% band vs the fitted
   exponential / Weibull survival averaged over the spells' age bands.
2. proceedings_duration.png: interim care orders, Kaplan-Meier vs the fitted lognormal.
3. exit_hazard_<route>.png: events / days at risk with exact 90% Poisson intervals vs the
   log-linear (Poisson regression) model's rate, by legal status x age band.
4. entries_by_year.png: first entries a year by age band vs the fitted log-linear trend.
5. opening_stock.png: the opening stock by age band, legal status and placement type.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import stats

from ..vocab import AGE_BANDS, LEGAL_STATUSES
from .estimate_fit import MIN_DAYS, Z90
from .estimate_report import SMALL, FitPlot, fmt_count

MIN_PLOT_EVENTS = 10  # a placement type's KM panel, or an exit route's hazard chart, needs this many events
MIN_CELL_EXPOSURE_DAYS = 365.0  # a legal status x age band cell is drawn with at least a child-year at risk
GRID_DAYS = 7.0  # Kaplan-Meier curves are evaluated weekly
DPI = 110
DAYS_PER_YEAR = 365.25

DATA_COLOUR = "#1f4e79"
BAND_COLOUR = "#9ecae1"
FIT_COLOUR = "#D55E00"
SUPPRESSED_COLOUR = "#888888"
BAND_COLOURS = ("#E69F00", "#56B4E9", "#009E73", "#CC79A7", "#0072B2")


# ====================================================================== aggregates
@dataclass
class SurvivalCurve:
    """A Kaplan-Meier curve on a weekly grid with its 90% band, and the fitted survival on it."""

    label: str
    model: str  # e.g. "Weibull (shape 0.8, scale 900 days)"
    days: np.ndarray
    km: np.ndarray
    low: np.ndarray
    high: np.ndarray
    fitted: np.ndarray
    n: int  # spells
    events: float
    at_risk: dict = field(default_factory=dict)  # day -> spells still at risk (each >= SMALL)

    @property
    def censored(self) -> float:
        return self.n - self.events


@dataclass
class HazardCells:
    """One exit route: events, days at risk and the fitted rate (per day) by legal status x age band."""

    route: str
    exposure: np.ndarray  # legal status x age band, days
    events: np.ndarray
    fitted: np.ndarray  # per day; 0 where the route is closed for the status
    note: str = ""

    @property
    def total_events(self) -> float:
        return float(self.events.sum())


@dataclass
class EntryCounts:
    years: list  # collection years
    counts: np.ndarray  # year x age band
    fitted: np.ndarray  # year x age band, expected counts under the fitted log-linear model
    trend: bool  # whether a trend was fitted (else constant rates by band)


@dataclass
class OpeningCounts:
    day: str
    age_band: dict
    legal_status: dict
    placement_type: dict

    @property
    def total(self) -> int:
        return int(sum(self.age_band.values()))


def survival_curve(durations, events, fitted, label: str, model: str,
                   min_at_risk: int = SMALL, step: float = GRID_DAYS) -> SurvivalCurve | None:
    """Kaplan-Meier (events may be fractional) with a 90% Greenwood band (log scale) on a grid.

    `fitted`: a function of days (array) giving the fitted survival. The grid runs from 0 in
    steps of `step` days while at least `min_at_risk` spells are still at risk; None when
    fewer spells than that.
    """
    t = np.maximum(np.asarray(durations, dtype=float), MIN_DAYS)
    d = np.asarray(events, dtype=float)
    n = len(t)
    if n < min_at_risk:
        return None
    order = np.argsort(t, kind="stable")
    t, d = t[order], d[order]
    uniq, first = np.unique(t, return_index=True)
    deaths = np.add.reduceat(d, first)
    at_risk = (n - first).astype(float)
    surv = np.cumprod(1 - deaths / at_risk)
    left = at_risk - deaths
    green = np.cumsum(np.divide(deaths, at_risk * left, out=np.full(len(uniq), np.inf), where=left > 0))
    horizon = t[n - min_at_risk]  # up to here at least min_at_risk spells are at risk
    grid = np.arange(0.0, math.floor(horizon / step) * step + step / 2, step)
    i = np.searchsorted(uniq, grid, side="right") - 1
    km = np.where(i < 0, 1.0, surv[np.maximum(i, 0)])
    var = np.where(i < 0, 0.0, green[np.maximum(i, 0)])
    # Greenwood on the log scale (fine with the fractional events of an EM split, where the
    # log-log band blows up at tiny steps)
    width = np.exp(Z90 * np.sqrt(np.where(np.isfinite(var), var, 0.0)))
    low, high = km / width, np.minimum(km * width, 1.0)
    low[~np.isfinite(var)] = 0.0
    risk = {}
    for x in (0, 365, 730, 1095):
        if x <= grid[-1]:
            risk[x] = int(np.sum(t >= max(x, MIN_DAYS)))
    return SurvivalCurve(label, model, grid, km, low, high, np.asarray(fitted(grid), dtype=float),
                         n, float(d.sum()), risk)


def poisson_interval(events, exposure, level: float = 0.90) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Garwood) interval for a rate events / exposure (events may be fractional)."""
    k = np.asarray(events, dtype=float)
    e = np.asarray(exposure, dtype=float)
    a = (1 - level) / 2
    lo = np.where(k > 0, stats.chi2.ppf(a, 2 * np.maximum(k, 1e-12)) / 2, 0.0)
    hi = stats.chi2.ppf(1 - a, 2 * (k + 1)) / 2
    return lo / e, hi / e


# ====================================================================== drawing helpers
LABEL_WORDS = {"ifa": "IFA", "sgo": "SGO", "inhouse": "in-house", "childrens": "children's"}


def _label(name: str, capital: bool = True) -> str:
    words = [LABEL_WORDS.get(w, w) for w in str(name).split("_")]
    text = " ".join(words)
    return text if not capital or text.startswith("s20") else text[:1].upper() + text[1:]


def _figure(w: float, h: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(w, h), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path: Path) -> None:
    # layouts leave room for titles and legends themselves: no bbox_inches="tight" (a second draw)
    fig.savefig(path, format="png", dpi=DPI, metadata={"Software": None})


def _style(ax):
    ax.grid(color="#e3e3e3", linewidth=0.7)
    ax.set_axisbelow(True)
    ax.spines[["top", "right"]].set_visible(False)


def _grid_shape(n: int, max_cols: int = 3) -> tuple[int, int]:
    cols = min(max_cols, n)
    return math.ceil(n / cols), cols


# ====================================================================== the plots
def plot_survival(curves: list[SurvivalCurve], path: Path, title: str, xlabel: str, ylabel: str,
                  event_word: str, max_cols: int = 3) -> None:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    rows, cols = _grid_shape(len(curves), max_cols)
    fig = _figure(8.0, 5.0) if len(curves) == 1 else _figure(4.3 * cols, 3.3 * rows + 1.1)
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax in axes.flat[len(curves):]:
        ax.set_axis_off()
    for ax, c in zip(axes.flat, curves):
        ax.fill_between(c.days, c.low, c.high, step="post", color=BAND_COLOUR, alpha=0.55, linewidth=0)
        ax.step(c.days, c.km, where="post", color=DATA_COLOUR, linewidth=1.8)
        ax.plot(c.days, c.fitted, color=FIT_COLOUR, linewidth=1.8, linestyle="--")
        ax.set_ylim(0, 1.02)
        ax.set_xlim(0, max(float(c.days[-1]), GRID_DAYS))
        ax.set_title(f"{_label(c.label)}\n{fmt_count(c.n)} spells, {fmt_count(c.events)} {event_word}, "
                     f"{fmt_count(c.censored)} censored", fontsize=9.5)
        risk = ", ".join(f"{x} d: {fmt_count(v)}" for x, v in c.at_risk.items())
        ax.text(0.98, 0.96, f"{c.model}\nat risk {risk}", transform=ax.transAxes, ha="right", va="top",
                fontsize=7, color="#333333", bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none"})
        ax.set_xlabel(xlabel, fontsize=8.5)
        ax.set_ylabel(ylabel, fontsize=8.5)
        ax.tick_params(labelsize=8)
        _style(ax)
    handles = [Line2D([], [], color=DATA_COLOUR, linewidth=1.8, label="Kaplan-Meier (observed, with censoring)"),
               Patch(facecolor=BAND_COLOUR, alpha=0.55, label="Kaplan-Meier 90% interval (Greenwood)"),
               Line2D([], [], color=FIT_COLOUR, linewidth=1.8, linestyle="--", label="fitted model")]
    fig.suptitle(title, fontsize=12.5, x=0.01, ha="left")
    fig.legend(handles=handles, loc="lower center", ncol=3, fontsize=8.5, frameon=False, bbox_to_anchor=(0.5, -0.01))
    fig.tight_layout(rect=(0, 0.05, 1, 0.95))
    _save(fig, path)


def plot_hazards(h: HazardCells, path: Path) -> None:
    from matplotlib.lines import Line2D

    per_year = DAYS_PER_YEAR
    statuses = [i for i in range(len(LEGAL_STATUSES)) if (h.exposure[i] >= MIN_CELL_EXPOSURE_DAYS).any()]
    rows, cols = _grid_shape(len(statuses))
    fig = _figure(4.3 * cols, 3.3 * rows + 1.2)
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax in axes.flat[len(statuses):]:
        ax.set_axis_off()
    x = np.arange(len(AGE_BANDS))
    suppressed_any = False
    for ax, i in zip(axes.flat, statuses):
        ex, ev, fit = h.exposure[i], h.events[i], h.fitted[i]
        show = ex >= MIN_CELL_EXPOSURE_DAYS
        lo, hi = poisson_interval(ev, np.where(ex > 0, ex, 1.0))
        rate = np.divide(ev, ex, out=np.zeros_like(ev), where=ex > 0)
        small = (ev > 0) & (ev < SMALL) & show
        drawn = show & ~small
        for j in np.flatnonzero(drawn):
            ax.plot([x[j], x[j]], [lo[j] * per_year, hi[j] * per_year], color=DATA_COLOUR, linewidth=1.6)
            ax.plot([x[j]], [rate[j] * per_year], "o", color=DATA_COLOUR, markersize=5)
        for j in np.flatnonzero(small):
            suppressed_any = True
            ax.annotate("<5", (x[j], 0), xytext=(0, 3), textcoords="offset points", ha="center", fontsize=8,
                        color=SUPPRESSED_COLOUR)
        ax.plot(x[show], fit[show] * per_year, "D", color=FIT_COLOUR, markersize=6, markerfacecolor="white",
                markeredgewidth=1.6)
        closed = bool(fit[show].sum() == 0)
        ax.set_title(f"{_label(LEGAL_STATUSES[i])}: {fmt_count(ev.sum())} exits, "
                     f"{ex.sum() / per_year:,.0f} child-years" + ("\n(route closed: no exits)" if closed else ""),
                     fontsize=9.5)
        ax.set_xticks(x)
        ax.set_xticklabels([_label(b) for b in AGE_BANDS], fontsize=8)
        ax.set_xlim(-0.5, len(AGE_BANDS) - 0.5)
        ax.set_ylim(bottom=0)
        ax.set_xlabel("Age band (at the spell's start in the window)", fontsize=8.5)
        ax.set_ylabel("Exits per child-year at risk", fontsize=8.5)
        ax.tick_params(axis="y", labelsize=8)
        _style(ax)
    handles = [Line2D([], [], color=DATA_COLOUR, marker="o", markersize=5, linewidth=1.6,
                      label="observed rate (events / days at risk) with exact 90% Poisson interval"),
               Line2D([], [], color=FIT_COLOUR, marker="D", markerfacecolor="white", markeredgewidth=1.6,
                      linestyle="none", label="fitted log-linear model (status + age band)")]
    if suppressed_any:
        handles.append(Line2D([], [], linestyle="none", marker="$<5$", color=SUPPRESSED_COLOUR, markersize=11,
                              label="1-4 exits: observed rate not shown"))
    fig.suptitle(f"Exit hazard, {_label(h.route, False)}: observed vs fitted rate by legal status and age band",
                 fontsize=12.5, x=0.01, ha="left")
    fig.legend(handles=handles, loc="lower center", ncol=min(3, len(handles)), fontsize=8.5, frameon=False,
               bbox_to_anchor=(0.5, -0.01))
    fig.tight_layout(rect=(0, 0.06, 1, 0.95))
    _save(fig, path)


def plot_entries(e: EntryCounts, path: Path) -> None:
    from matplotlib.lines import Line2D

    fig = _figure(10.0, 5.4)
    ax = fig.add_subplot(1, 1, 1)
    years = np.asarray(e.years, dtype=float)
    suppressed_any = False
    for b, band in enumerate(AGE_BANDS):
        if e.counts[:, b].sum() == 0 and e.fitted[:, b].sum() == 0:
            continue
        colour = BAND_COLOURS[b % len(BAND_COLOURS)]
        offset = (b - (len(AGE_BANDS) - 1) / 2) * 0.06  # keep the bands' markers apart
        if len(years) > 1:
            ax.plot(years, e.fitted[:, b], color=colour, linewidth=1.8)
        else:
            ax.plot(years, e.fitted[:, b], color=colour, marker="_", markersize=28, markeredgewidth=2,
                    linestyle="none")
        c = e.counts[:, b]
        small = (c > 0) & (c < SMALL)
        ax.plot(years[~small] + offset, c[~small], "o", color=colour, markersize=6)
        if small.any():
            suppressed_any = True
            for y in years[small]:
                ax.plot([y + offset, y + offset], [1, SMALL - 1], color=colour, linewidth=3, alpha=0.45)
    handles = [Line2D([], [], color=BAND_COLOURS[b % len(BAND_COLOURS)], marker="o", linewidth=1.8,
                      label=_label(band)) for b, band in enumerate(AGE_BANDS)
               if e.counts[:, b].sum() > 0 or e.fitted[:, b].sum() > 0]
    handles += [Line2D([], [], color="#444444", marker="o", linestyle="none", label="observed count"),
                Line2D([], [], color="#444444", linewidth=1.8,
                       label="fitted (log-linear Poisson" + (", trend)" if e.trend else ", no trend: one year)"))]
    if suppressed_any:
        handles.append(Line2D([], [], color="#444444", linewidth=3, alpha=0.45, label="1-4 entries (shown as <5)"))
    ax.set_xticks(years)
    ax.set_xticklabels([f"{int(y) - 1}-{str(int(y))[2:]}" for y in years])
    ax.set_xlim(years.min() - 0.5, years.max() + 0.5)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("Collection year (1 April to 31 March)")
    ax.set_ylabel("First entries in the year (children, UASC left out)")
    ax.set_title("First entries a year by age band: observed vs fitted log-linear trend", fontsize=12.5, loc="left")
    _style(ax)
    fig.legend(handles=handles, loc="upper right", bbox_to_anchor=(0.995, 0.93), fontsize=8.5, frameon=False,
               title="Age band at entry", title_fontsize=9)
    fig.tight_layout(rect=(0, 0, 0.74, 1))
    _save(fig, path)


def plot_opening(o: OpeningCounts, path: Path) -> None:
    from matplotlib.patches import Patch

    parts = [("Age band", [(_label(k), v) for k, v in o.age_band.items()]),
             ("Legal status", [(_label(k), v) for k, v in o.legal_status.items()]),
             ("Placement type", [(_label(k), v) for k, v in o.placement_type.items()])]
    heights = [len(p[1]) for p in parts]
    fig = _figure(9.0, 0.3 * sum(heights) + 3.2)
    axes = fig.subplots(3, 1, gridspec_kw={"height_ratios": heights})
    top = max([v for _, items in parts for _, v in items] + [SMALL])
    for ax, (name, items) in zip(axes, parts):
        y = np.arange(len(items))[::-1]
        for yi, (_, v) in zip(y, items):
            if v >= SMALL:
                ax.barh(yi, v, color=DATA_COLOUR, height=0.65)
                ax.annotate(f"{v:,}", (v, yi), xytext=(3, 0), textcoords="offset points", va="center", fontsize=8)
            else:  # 1-4 suppressed (no bar: its length would show the count); 0 is shown
                ax.annotate("<5" if v > 0 else "0", (0, yi), xytext=(3, 0), textcoords="offset points",
                            va="center", fontsize=8, color=SUPPRESSED_COLOUR if v > 0 else "#333333")
        ax.set_yticks(y)
        ax.set_yticklabels([k for k, _ in items], fontsize=8.5)
        ax.set_xlim(0, top * 1.12)
        ax.set_ylim(-0.6, len(items) - 0.4)
        ax.set_ylabel(name, fontsize=9.5)
        ax.tick_params(axis="x", labelsize=8)
        _style(ax)
        ax.grid(axis="y", visible=False)
    axes[-1].set_xlabel(f"Children looked after on {o.day} (count)")
    fig.legend(handles=[Patch(facecolor=DATA_COLOUR, label="children (count at the bar's end)"),
                        Patch(facecolor="white", edgecolor="none", label="<5: 1-4 children, no bar drawn")],
               loc="lower center", bbox_to_anchor=(0.5, 0.0), ncol=2, fontsize=8.5, frameon=False)
    fig.suptitle(f"Opening stock: {fmt_count(o.total)} children looked after on {o.day} (the day before the start)",
                 fontsize=12.5, x=0.01, ha="left")
    fig.tight_layout(rect=(0, 0.04, 1, 0.96))
    _save(fig, path)


# ====================================================================== all of them
LOOK_FOR = {
    "placement": ("Look for the dashed fitted curve staying inside the shaded Kaplan-Meier band in each panel; "
                  "a curve that starts too low and ends too high (or the reverse) means the exponential or "
                  "Weibull shape misses how moves bunch early or late in a placement."),
    "proceedings": ("Look for the dashed lognormal curve inside the Kaplan-Meier band, above all around the "
                    "median (where half the orders have ended) and in the tail of long proceedings."),
    "hazard": ("Look for the fitted rates (open diamonds) inside most of the observed 90% intervals; misses "
               "that cluster in one legal status or one age band mean the main-effects model (no status x age "
               "interaction) does not hold there."),
    "entries": ("Look for the observed counts scattered around each band's fitted line with no run of years "
                "on one side; a bend or a step means a constant log-linear trend fits poorly and the rate at "
                "the start date (which sets the referrals) may be off."),
    "opening": ("Look for a stock that matches the published 31 March figures for the council (totals by age, "
                "legal status and placement): the simulation starts from exactly these children."),
}


def draw_fit_plots(fit_data: dict, folder: Path) -> list[FitPlot]:
    """Draw every fit plot the data allow into `folder`; one FitPlot per plot (drawn or not, and why).

    `fit_data` maps a plot's key to its aggregates, or to a string saying why there are none.
    A PNG that cannot be written (OSError) raises; a plot whose data cannot be drawn is
    reported as not drawn, with the error, and the rest go on.
    """
    folder = Path(folder)
    out: list[FitPlot] = []

    def attempt(item, title: str, look_for: str, file: str, draw):
        if item is None or isinstance(item, str):
            out.append(FitPlot(title, None, look_for, reason=item or "nothing was estimated for it"))
            return
        try:
            draw(item, folder / file)
        except OSError:
            raise  # cannot write: the whole write fails and leaves nothing
        except Exception as err:  # noqa: BLE001  (odd data must not cost the config and the report)
            warnings.warn(f"fit plot {file} could not be drawn: {err}", RuntimeWarning, stacklevel=3)
            out.append(FitPlot(title, None, look_for, reason=f"could not be drawn ({type(err).__name__}: {err})"))
            return
        detail = item.get("detail", "") if isinstance(item, dict) else getattr(item, "note", "")
        out.append(FitPlot(title, file, look_for, detail=detail))

    attempt(fit_data.get("placement_duration"), "Placement duration: Kaplan-Meier vs fitted time to move",
            LOOK_FOR["placement"], "placement_duration.png",
            lambda d, p: plot_survival(d["curves"], p, "Time to a placement move: Kaplan-Meier vs fitted survival",
                                       "Days since the placement began", "Share not yet moved", "moves"))
    attempt(fit_data.get("proceedings_duration"),
            "Proceedings: Kaplan-Meier vs fitted lognormal length of interim care orders",
            LOOK_FOR["proceedings"], "proceedings_duration.png",
            lambda d, p: plot_survival(d["curves"], p, "Length of proceedings (interim care orders): "
                                       "Kaplan-Meier vs fitted lognormal", "Days since the interim care order began",
                                       "Share of orders still open", "ended", max_cols=1))
    hz = fit_data.get("exit_hazards")
    if not isinstance(hz, dict) or not hz:
        out.append(FitPlot("Exit hazards: observed vs fitted rates", None, LOOK_FOR["hazard"],
                           reason=hz if isinstance(hz, str) else "no exit route was estimated"))
    else:
        for route, h in hz.items():
            attempt(h, f"Exit hazards, {_label(route, False)}: observed vs fitted rate by legal status and age band",
                    LOOK_FOR["hazard"], f"exit_hazard_{route}.png", plot_hazards)
    attempt(fit_data.get("entries"), "Entries per year by age band: observed vs fitted log-linear trend",
            LOOK_FOR["entries"], "entries_by_year.png", plot_entries)
    attempt(fit_data.get("opening"), "Opening stock by age band, legal status and placement type",
            LOOK_FOR["opening"], "opening_stock.png", plot_opening)
    return out
