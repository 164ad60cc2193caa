"""The report's charts, drawn with matplotlib's object API onto Agg canvases.

No pyplot: each chart is its own `Figure`, so drawing touches no global state and works
in any thread or server. Every function returns PNG bytes.
"""

from __future__ import annotations

import io
import textwrap

import matplotlib.dates as mdates  # also registers matplotlib's date converters
import matplotlib.ticker as mticker
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from ..formatting import percent_text
from .inputs import Results
from .tables import (
    GBP_M,
    TRIGGER_HIGH,
    WATCH,
    annual,
    cumulative_savings,
    is_trigger,
    money_m,
    placement_label,
    placement_order,
    total_targets,
    whole,
    years_label,
)

DPI = 110
BASE_COLOUR = "#6e6e6e"
PLAN_COLOUR = "#0072B2"
TARGET_COLOUR = "#D55E00"
WATCH_COLOUR = "#E6B800"  # yellow, as the HTML table's "watch" rows
EVIDENCE_STYLE = {  # colour, hatch, legend text
    "evidence": ("#0072B2", "", "Effect size from evidence"),
    "mixed": ("#56B4E9", "..", "Mixed: some effect sizes plan-implied"),
    "plan-implied": ("#E69F00", "//", "Plan-implied effect size (the plan's own target, not evidence)"),
    "none": ("#bbbbbb", "", "No effect assumed"),
}
# Placement families: greens = with family, blues = fostering, yellow = 16+,
# reds/purples = residential, teal = adoption, grey = other.
PLACEMENT_COLOURS = {
    "placed_with_parents": "#b7e4a8",
    "kinship_foster": "#4daf4a",
    "inhouse_foster": "#9ecae1",
    "concurrent_foster_to_adopt": "#4292c6",
    "ifa_foster": "#08519c",
    "supported_accommodation": "#fed976",
    "inhouse_childrens_home": "#fc9272",
    "external_childrens_home": "#de2d26",
    "residential_school": "#a50f15",
    "secure_disability_residential": "#6a51a3",
    "placed_for_adoption": "#1b9e77",
    "other": "#bdbdbd",
}


def _figure(w: float = 9.5, h: float = 5.6) -> Figure:
    fig = Figure(figsize=(w, h), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    # tight bounding box: long scenario labels must never be cut off
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None}, bbox_inches="tight", pad_inches=0.15)
    return buf.getvalue()


def _note(fig: Figure, text: str):
    fig.text(0.01, 0.01, text, fontsize=8, color="#444444", ha="left", va="bottom")


def _source_note(res: Results, extra: str = "") -> str:
    n = res.meta("replications")
    bits = [f"Experiment {res.meta('experiment')}", f"{n} replications", f"seed {res.meta('seed')}"]
    if extra:
        bits.append(extra)
    return ". ".join(bits) + "."


def _empty(fig: Figure, ax, message: str):
    ax.set_axis_off()
    ax.text(0.5, 0.5, message, ha="center", va="center", fontsize=12, color="#444444", transform=ax.transAxes,
            wrap=True)


def _march_axis(ax, dates: list[pd.Timestamp], flows: bool = False):
    """Ticks at each 31 March; for a year's flows (spend), labelled with the financial year
    that ends there, so "2016" is never read as 2016-17 (QA15)."""
    ax.set_xticks([d.to_pydatetime() for d in dates])
    ax.set_xticklabels([f"{d.year - 1}-{d.year % 100:02d}" if flows else f"31 Mar\n{d.year}" for d in dates])
    pad = pd.Timedelta(days=100)
    ax.set_xlim((min(dates) - pad).to_pydatetime(), (max(dates) + pad).to_pydatetime())


def _fan(ax, df: pd.DataFrame, colour: str, name: str, scale: float = 1.0) -> list:
    x = [d.to_pydatetime() for d in df["date"]]
    ax.fill_between(x, df["q05"] / scale, df["q95"] / scale, color=colour, alpha=0.15, linewidth=0)
    ax.fill_between(x, df["q25"] / scale, df["q75"] / scale, color=colour, alpha=0.32, linewidth=0)
    ax.plot(x, df["q50"] / scale, color=colour, linewidth=2.2, marker="o", markersize=4)
    return [
        Line2D([], [], color=colour, linewidth=2.2, marker="o", markersize=4, label=f"{name}: median"),
        Patch(facecolor=colour, alpha=0.32, label=f"{name}: middle 50% of runs (25-75%)"),
        Patch(facecolor=colour, alpha=0.15, label=f"{name}: 90% of runs (5-95%)"),
    ]


def _target_markers(ax, res: Results, scenario: str, measure: str, scale: float = 1.0) -> list:
    t = total_targets(res.targets, measure)
    t = t[(t["scenario"] == scenario) & t["date"].notna()]  # not one over the run
    if t.empty:
        return []
    for _, r in t.iterrows():
        marker = "v" if r["direction"] == "at_most" else "^"
        x = r["date"].to_pydatetime()
        y = r["threshold"] / scale
        ax.plot([x], [y], linestyle="none", marker=marker, markersize=10, color=TARGET_COLOUR,
                markeredgecolor="black", zorder=5)
        sign = "≤" if r["direction"] == "at_most" else "≥"
        val = money_m(y) if scale != 1.0 else whole(y)
        # centred under the marker, so labels a year apart never overlap; the last one
        # ends at its marker, inside the plot
        last = r["date"] >= t["date"].max() and len(t["date"].unique()) > 1
        # on a pale box: a label can fall across a fan
        ax.annotate(f"target {sign} {val}\n{percent_text(r['probability'])} chance", (x, y), xytext=(8 if last else 0, -9),
                    textcoords="offset points", fontsize=8, color=TARGET_COLOUR, va="top",
                    ha="right" if last else "center", zorder=6,
                    bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.8})
    # whose chance it is: the chart shows two scenarios (QA15)
    return [Line2D([], [], linestyle="none", marker="v", markersize=9, color=TARGET_COLOUR, markeredgecolor="black",
                   label=f"Plan target (▼ at most, ▲ at least), with the chance {res.label(scenario)} meets it")]


def _targets_with_room(ax, res: Results, scenario: str, measure: str, scale: float = 1.0) -> list:
    """Target markers, with room below the lowest for its label (labels hang under them)."""
    targets = _target_markers(ax, res, scenario, measure, scale)
    ax.margins(y=0.12)
    if targets:
        lo, hi = ax.get_ylim()
        ax.set_ylim(lo - 0.1 * (hi - lo), hi)
    return targets


def fan_chart(res: Results, plan: str | None, measure: str, title: str, ylabel: str,
              scale: float = 1.0, note: str = "", opening: float | None = None, flows: bool = False) -> bytes:
    """`opening`: the stock the run starts from, drawn on the day before the start date.
    `flows`: the measure is a financial year's total, plotted at the 31 March ending it."""
    fig = _figure(9.5, 6.0)
    ax = fig.add_axes([0.09, 0.34, 0.88, 0.57])
    dates = list(annual(res, res.baseline, measure)["date"])
    handles = []
    start = pd.Timestamp(str(res.manifest.get("start_date", "NaT"))) - pd.Timedelta(days=1)
    # drawn on the 31 March axis only when the run starts on 1 April, as the bundled configs do
    if opening is not None and dates and (start.month, start.day) == (3, 31) and start < dates[0]:
        dates = [start] + dates
        ax.plot([start.to_pydatetime()], [opening / scale], linestyle="none", marker="D", markersize=6,
                color="black", zorder=5)
        ax.annotate(f"{whole(opening)} at the start", (start.to_pydatetime(), opening / scale), xytext=(8, 0),
                    textcoords="offset points", fontsize=8, ha="left", va="center")
        handles.append(Line2D([], [], linestyle="none", marker="D", markersize=6, color="black",
                              label="Looked after when the run starts"))
    handles = _fan(ax, annual(res, res.baseline, measure), BASE_COLOUR, res.label(res.baseline), scale) + handles
    target_scen = res.baseline
    if plan is not None:
        handles += _fan(ax, annual(res, plan, measure), PLAN_COLOUR, res.label(plan), scale)
        target_scen = plan
    handles += _targets_with_room(ax, res, target_scen, measure, scale)
    _march_axis(ax, dates, flows)
    ax.set_title(title, fontsize=13, loc="left")
    ax.set_ylabel(ylabel)
    ax.set_xlabel("Financial year" if flows else "Date (31 March, end of each financial year)")
    ax.yaxis.set_major_formatter(mticker.FuncFormatter(
        (lambda v, _: f"£{v:,.0f}m") if scale != 1.0 else (lambda v, _: f"{v:,.0f}")))
    ax.grid(axis="y", color="#dddddd")
    ax.spines[["top", "right"]].set_visible(False)
    fig.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 0.04), ncol=2, fontsize=8.5, frameon=False)
    _note(fig, _source_note(res, note))
    return _png(fig)


def lac_fan(res: Results, plan: str | None) -> bytes:
    return fan_chart(
        res, plan, "lac_children",
        "Children looked after at 31 March: range of simulated outcomes",
        "Looked-after children at 31 March", note="Shaded bands show the spread across replications",
        opening=res.opening_lac)


def spend_fan(res: Results, plan: str | None) -> bytes:
    return fan_chart(
        res, plan, "spend_gbp",
        "Spending per financial year: range of simulated outcomes",
        f"Spend in the financial year (£m, {res.price_note})", scale=GBP_M,
        note=f"Spend at {res.price_note}", flows=True)


def lever_ranking(res: Results) -> bytes:
    cum = cumulative_savings(res)
    h = max(4.2, 2.4 + 0.6 * max(len(cum), 1))
    fig = _figure(9.5, h)
    bottom = 1.55 / h  # room for the x label, legend and note, in inches
    ax = fig.add_axes([0.27, bottom, 0.68, 1 - bottom - 0.55 / h])
    title = f"Which actions save most? Total saving against the baseline, {years_label(res)}"
    if cum.empty:
        _empty(fig, ax, "No action-plan scenarios were run: only the baseline.")
        fig.suptitle(title, fontsize=13, x=0.01, ha="left")
        return _png(fig)
    cum = cum.assign(m=cum["mean"] / GBP_M).sort_values("m")  # largest at the top
    y = np.arange(len(cum))
    approx = False
    for i, (name, r) in enumerate(cum.iterrows()):
        colour, hatch, _ = EVIDENCE_STYLE[res.scenario(name).evidence]
        ax.barh(i, r["m"], color=colour, hatch=hatch, edgecolor="#333333", linewidth=0.6, height=0.6)
        if not np.isnan(r["q05"]):
            lo, hi = r["q05"] / GBP_M, r["q95"] / GBP_M
            ax.errorbar(r["m"], i, xerr=[[max(r["m"] - lo, 0)], [max(hi - r["m"], 0)]], color="black",
                        capsize=4, linewidth=1.2)
            approx = approx or not r["basis"].startswith("paired")
        # a saving beyond its bar's end; a loss just right of the zero line, as left of its bar
        # the label would run into the axis and the scenario names (QA15)
        ax.annotate(money_m(r["m"]), (max(r["m"], 0.0), i), xytext=(4, 7), textcoords="offset points",
                    fontsize=8.5, ha="left")
    if cum["m"].max() <= 0:  # losses only: room right of zero for their labels (QA15 review)
        lo, hi = ax.get_xlim()
        ax.set_xlim(lo, max(hi, 0.0) + 0.2 * (max(hi, 0.0) - lo))
    ax.set_yticks(y)
    # two lines, not one cut at 48 characters ('1.1 Family CAF (also 1.5-1.8, 2.2, 3.2-3.3:...')
    ax.set_yticklabels(["\n".join(textwrap.wrap(res.label(n), 40, max_lines=2, placeholder="...")) for n in cum.index],
                       fontsize=8.5)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlabel(f"Cumulative saving, mean across replications (£m, {res.price_note})")
    fig.suptitle(title, fontsize=12.5, x=0.01, ha="left")
    ax.grid(axis="x", color="#dddddd")
    ax.set_axisbelow(True)
    ax.spines[["top", "right"]].set_visible(False)
    kinds = [k for k in EVIDENCE_STYLE if k in {res.scenario(n).evidence for n in cum.index}]
    handles = [Patch(facecolor=EVIDENCE_STYLE[k][0], hatch=EVIDENCE_STYLE[k][1], edgecolor="#333333",
                     label=EVIDENCE_STYLE[k][2]) for k in kinds]
    handles.append(Line2D([], [], color="black", marker="|", markersize=10, linewidth=1.2,
                          label="90% interval (5-95%)" + (" - approximate" if approx else "")))
    fig.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 0.3 / h), ncol=2, fontsize=8.5,
               frameon=False)
    _note(fig, _source_note(res, "Saving = baseline spend minus scenario spend, paired by replication"))
    return _png(fig)


def placement_mix(res: Results, plan: str | None) -> bytes:
    s = res.summary
    sel = s[(s["table"] == "annual") & (s["measure"] == "lac_children") & (s["breakdown"] == "placement_type")]
    scen = [res.baseline] + ([plan] if plan else [])
    sel = sel[sel["scenario"].isin(scen)]
    fig = _figure(11, 6.2)
    title = "Where children live: looked-after children by placement type at 31 March (median)"
    if sel.empty:
        ax = fig.add_subplot(1, 1, 1)
        _empty(fig, ax, "No placement-type breakdown in summary.parquet.")
        fig.suptitle(title, fontsize=13, x=0.01, ha="left")
        return _png(fig)
    nonzero = sel.groupby("category")["q50"].max()
    cats = placement_order(nonzero[nonzero > 0].index) or placement_order(nonzero.index)
    wide = sel.pivot_table(index=["scenario", "period"], columns="category", values="q50", aggfunc="first")
    wide = wide.reindex(columns=cats).fillna(0.0)
    top = float(wide.sum(axis=1).max()) * 1.08 or 1.0
    axes = [fig.add_axes([0.07 + i * 0.47, 0.33, 0.42, 0.56]) for i in range(len(scen))]
    for ax, name in zip(axes, scen):
        w = wide.loc[name].sort_index() if name in wide.index.get_level_values(0) else wide.iloc[0:0]
        dates = [pd.Timestamp(int(p[:4]) + 1, 3, 31) for p in w.index]
        if not dates:
            _empty(fig, ax, f"No placement data for {res.label(name)}")
            continue
        x = [d.to_pydatetime() for d in dates]
        ax.stackplot(x, *[w[c].to_numpy() for c in cats], colors=[PLACEMENT_COLOURS.get(c, "#999999") for c in cats],
                     edgecolor="white", linewidth=0.4)
        ax.set_title(res.label(name), fontsize=11)
        ax.set_ylim(0, top)
        ax.set_xticks(x)
        ax.set_xticklabels([f"{d.year}" for d in dates])
        ax.set_xlabel("31 March of year")
        ax.grid(axis="y", color="#dddddd")
        ax.spines[["top", "right"]].set_visible(False)
    axes[0].set_ylabel("Looked-after children at 31 March (median)")
    handles = [Patch(facecolor=PLACEMENT_COLOURS.get(c, "#999999"), label=placement_label(c)) for c in cats]
    fig.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 0.045), ncol=4, fontsize=8,
               frameon=False, title="Placement type (layers from the bottom up in the order listed, down each column)",
               title_fontsize=8.5)
    fig.suptitle(title, fontsize=13, x=0.01, ha="left")
    _note(fig, _source_note(res, "Each layer is the median for that placement type, so the stack can differ "
                                 "slightly from the median total"))
    return _png(fig)


def _runs(trig: pd.DataFrame) -> list[tuple[pd.Timestamp, pd.Timestamp, float, bool]]:
    """Runs of consecutive trigger months on the same side of the band: (first month, last
    month, first actual, above). A month above followed by one below is two signals, not one
    run (QA15)."""
    runs = []
    for d, v, status in zip(trig["date"], trig["actual"], trig["status"]):
        above = status == TRIGGER_HIGH
        if runs and runs[-1][3] == above and d.to_period("M") == runs[-1][1].to_period("M") + 1:
            runs[-1] = (runs[-1][0], d, runs[-1][2], above)
        else:
            runs.append((d, d, v, above))
    return runs


def monitoring(res: Results, plan: str | None, mon: pd.DataFrame) -> bytes:
    fig = _figure(11, 6.2)
    ax = fig.add_axes([0.08, 0.30, 0.89, 0.60])
    band = mon.dropna(subset=["q50"])
    name = res.label(plan or res.baseline)
    x = [d.to_pydatetime() for d in band["date"]]
    ax.fill_between(x, band["q05"], band["q95"], color=PLAN_COLOUR, alpha=0.15, linewidth=0, step="mid")
    ax.fill_between(x, band["q25"], band["q75"], color=PLAN_COLOUR, alpha=0.32, linewidth=0, step="mid")
    ax.plot(x, band["q50"], color=PLAN_COLOUR, linewidth=1.8)
    handles = [
        Patch(facecolor=PLAN_COLOUR, alpha=0.32, label="Plan's middle 50% (25-75%): on track"),
        Patch(facecolor=PLAN_COLOUR, alpha=0.15, label="Plan's 90% range (5-95%): tolerance; outside it, trigger"),
        Line2D([], [], color=PLAN_COLOUR, linewidth=1.8, label=f"{name}: median"),
    ]
    if plan is not None and band["baseline_q50"].notna().any():
        ax.plot(x, band["baseline_q50"], color=BASE_COLOUR, linewidth=1.3, linestyle="--")
        handles.append(Line2D([], [], color=BASE_COLOUR, linestyle="--", label=f"{res.label(res.baseline)}: median"))
    # the plan's own targets, so a month "on track" is not read as a plan that meets them
    handles += _targets_with_room(ax, res, plan or res.baseline, "lac_children")
    if "actual" in mon.columns and mon["actual"].notna().any():
        act = mon.dropna(subset=["actual"])
        out = act["status"].map(is_trigger)
        # over every month of the run, so a month without a count breaks the line (NaN) rather
        # than a line joining two counts months apart implying the months between
        ax.plot([d.to_pydatetime() for d in mon["date"]], mon["actual"].astype(float), color="black", linewidth=1.0,
                marker="o", markersize=3.5)
        handles.append(Line2D([], [], color="black", marker="o", markersize=3.5, label="Actual monthly count"))
        watch = act["status"] == WATCH
        if watch.any():  # a month in tolerance must not look on track (QA15: a dot on the band's edge)
            w = act[watch]
            ax.plot([d.to_pydatetime() for d in w["date"]], w["actual"], linestyle="none", marker="o", markersize=7,
                    markerfacecolor=WATCH_COLOUR, markeredgecolor="black", zorder=6)
            handles.append(Line2D([], [], linestyle="none", marker="o", markersize=7, markerfacecolor=WATCH_COLOUR,
                                  markeredgecolor="black", label="Actual outside 25-75% but inside 5-95%: watch"))
        if out.any():
            a = act[out]
            ax.plot([d.to_pydatetime() for d in a["date"]], a["actual"], linestyle="none", marker="X",
                    markersize=11, color="#CC0000", markeredgecolor="black", zorder=6)
            _label_runs(fig, ax, _runs(a))
            handles.append(Line2D([], [], linestyle="none", marker="X", markersize=10, color="#CC0000",
                                  markeredgecolor="black", label="Actual outside the 90% range: trigger"))
    ax.xaxis.set_major_locator(mdates.MonthLocator(bymonth=(4, 10)))
    ax.xaxis.set_minor_locator(mdates.MonthLocator())
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%b\n%Y"))
    ax.set_xlabel("Month end")
    ax.set_ylabel("Looked-after children at month end")
    ax.set_title(f"Monthly monitoring: the number of looked-after children consistent with {name}",
                 fontsize=12.5, loc="left")
    ax.grid(axis="y", color="#dddddd")
    ax.spines[["top", "right"]].set_visible(False)
    fig.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 0.045), ncol=2, fontsize=8.5, frameon=False)
    _note(fig, _source_note(res, "Compare each month's Key Activity Data count with the bands"))
    return _png(fig)


def _label_runs(fig, ax, runs) -> list:
    """A label at the first month of each run of trigger months, except where labels would
    print over each other (QA15: runs a month or two apart, alternating sides): those runs get
    one label for them all, with how many months were above and below the band."""
    if not runs:
        return []
    fig.draw_without_rendering()  # the axes' limits, which label positions depend on, are set lazily
    renderer = fig.canvas.get_renderer()
    clusters: list[tuple[list, object]] = []  # (runs, their label)
    for run in runs:
        group, ann = [run], _run_label(ax, [run])
        while True:
            box = ann.get_window_extent(renderer)
            hit = next((k for k, (_, a) in enumerate(clusters) if a.get_window_extent(renderer).overlaps(box)), None)
            if hit is None:
                break
            # from the first label it hits on, one label for every run since (they are in time order)
            for _, earlier_ann in clusters[hit:]:
                earlier_ann.remove()
            ann.remove()
            group = [r for g, _ in clusters[hit:] for r in g] + group
            del clusters[hit:]
            ann = _run_label(ax, group)
        clusters.append((group, ann))
    return [ann for _, ann in clusters]


def _run_label(ax, group):
    """A run's months (`Mar 2016`, `Mar 2016 to May 2016`), or a cluster's span and counts,
    above the band's highest marker if any month was above it, else beneath the lowest."""
    first, last = group[0][0], group[-1][1]
    above = any(up for *_, up in group)
    v = max(val for _, _, val, up in group if up) if above else min(val for _, _, val, _ in group)
    if len(group) == 1:
        text = f"{first:%b %Y}" if first == last else f"{first:%b %Y} to {last:%b %Y}"
    else:
        months = {up: sum((b.to_period("M") - a.to_period("M")).n + 1 for a, b, _, u in group if u == up)
                  for up in (True, False)}
        text = (f"{first:%b %Y} to {last:%b %Y}: {months[True]} month(s) above, "
                f"{months[False]} below")
    # above the band: label above the marker; below: beneath it, away from the targets' labels
    return ax.annotate(text, (first.to_pydatetime(), v), xytext=(6, 6 if above else -6),
                       textcoords="offset points", fontsize=8, color="#CC0000", zorder=7,
                       va="bottom" if above else "top",
                       bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.85})
