"""The self-contained HTML report: inline CSS, charts as base64 data URIs, no scripts."""

from __future__ import annotations

import base64
import html
from pathlib import PurePath

import pandas as pd

from ..formatting import percent_text
from ..summary import spend_total_items
from .inputs import TOTAL_PERIOD, Results
from .tables import (
    EVIDENCE_TEXT,
    GBP_M,
    PERCENTILE_METHOD,
    RESIDENTIAL_TYPES,
    annual,
    few_replications,
    final_year,
    is_missing,
    is_trigger,
    money_m,
    month_ranges,
    total_targets,
    whole,
    whole_children_between,
    years_label,
)

CSS = """
body { font-family: "Segoe UI", Arial, Helvetica, sans-serif; color: #1a1a1a; max-width: 1080px;
       margin: 0 auto; padding: 24px 28px 60px; line-height: 1.45; }
h1 { font-size: 1.7em; margin-bottom: 0.1em; }
h2 { font-size: 1.3em; border-bottom: 2px solid #0072B2; padding-bottom: 4px; margin-top: 2em; }
h3 { font-size: 1.08em; margin-top: 1.6em; }
.subtitle { color: #444; margin-top: 0; }
table { border-collapse: collapse; margin: 0.8em 0 1.2em; font-size: 0.92em; }
th, td { border: 1px solid #c8c8c8; padding: 5px 8px; text-align: left; vertical-align: top; }
th { background: #eef3f8; }
td.num { text-align: right; white-space: nowrap; }
tr.trigger td { background: #fde2e1; font-weight: 600; }
tr.watch td { background: #fff6d6; }
.warning { border: 2px solid #b35900; background: #fff1e0; padding: 10px 16px; margin: 1.2em 0;
           border-radius: 4px; }
.warning h2 { border: none; margin-top: 0.3em; color: #8a4500; }
.alert { border-left: 4px solid #CC0000; background: #fde2e1; padding: 8px 14px; margin: 1em 0; }
.note { border-left: 4px solid #0072B2; background: #f3f7fb; padding: 8px 14px; margin: 1em 0; }
figure { margin: 1em 0 0.4em; }
figure img { max-width: 100%; height: auto; border: 1px solid #e2e2e2; }
figcaption { font-size: 0.92em; color: #333; }
.small { font-size: 0.85em; color: #555; }
"""


# --------------------------------------------------------------------------- formatting
def e(x) -> str:
    return html.escape(str(x), quote=True)


def n0(v) -> str:
    return "–" if is_missing(v) else whole(v)


def gbp_m(v) -> str:
    return "–" if is_missing(v) else money_m(v)


def pct(v) -> str:
    return "–" if is_missing(v) else percent_text(v)


def _range(lo, hi, fmt) -> str:
    return "" if is_missing(lo) or is_missing(hi) else f" [{fmt(lo)} to {fmt(hi)}]"


def _table(header: list[str], rows: list[list[str]], numeric: set[int] = frozenset(),
           row_class: list[str] | None = None) -> str:
    out = ["<table>", "<thead><tr>" + "".join(f"<th>{e(h)}</th>" for h in header) + "</tr></thead>", "<tbody>"]
    for i, r in enumerate(rows):
        cls = f' class="{row_class[i]}"' if row_class and row_class[i] else ""
        cells = "".join(f'<td class="num">{e(c)}</td>' if j in numeric else f"<td>{e(c)}</td>"
                        for j, c in enumerate(r))
        out.append(f"<tr{cls}>{cells}</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


def _figure(png: bytes, alt: str, caption: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return (f'<figure><img src="data:image/png;base64,{data}" alt="{e(alt)}">'
            f"<figcaption>{caption}</figcaption></figure>")


# --------------------------------------------------------------------------- sections
def _what_was_run(res: Results) -> str:
    m = res.meta
    rows = [
        ["Experiment", m("experiment")], ["Experiment file", m("experiment_file")],
        # the config's file name, as the workbook gives it: its path is the machine's that ran it (QA20)
        ["Configuration", f"{m('config_name')} ({PurePath(str(m('config'))).name})"],
        ["Simulated period", f"{m('start_date')} to {m('end_date')}"],
        ["Replications per scenario", m("replications")], ["Random seed", m("seed")],
        ["carejourney version", m("carejourney_version")], ["Prices", res.price_note],
        ["Baseline scenario", f"{res.label(res.baseline)} ({res.baseline})"],
    ]
    scen_rows = [[s.label, s.name, s.description or "–", lever_list(res, s.levers) or "–", EVIDENCE_TEXT[s.evidence]]
                 for s in res.scenarios]
    return (
        "<h2 id=\"run\">1. What was run</h2>"
        "<p>Each scenario was simulated many times (replications) with the same random children arriving in "
        "each, so that differences between scenarios come from the actions, not from chance. The figures "
        "below are spreads across those replications.</p>"
        + _table(["", "value"], rows)
        + "<h3>Scenarios</h3>"
        + _table(["scenario", "name", "description", "levers (actions modelled)", "effect sizes"], scen_rows)
    )


def lever_list(res: Results, names: list[str]) -> str:
    """A scenario's levers; one that is part of another lever in the list is counted inside
    it, not again (levers.applied_levers), and says so."""
    info = res.manifest.get("levers") or {}
    part_of = {n: (info.get(n) or {}).get("part_of") for n in names}
    return ", ".join(f"{n} (counted within {part_of[n]})" if part_of[n] in names else n for n in names)


def _few_note(res: Results, text: str) -> str:
    """`text` (with {n}: the replications) when a scenario has too few replications for its
    5th and 95th percentiles to be more than rough (QA15: 26 of 30 runs inside a "90%" range)."""
    return text.format(n=e(res.meta("replications"))) if few_replications(res) else ""


def _warning(res: Results) -> str:
    implied = [s for s in res.scenarios if s.evidence == "plan-implied"]
    mixed = [s for s in res.scenarios if s.evidence == "mixed"]
    if not implied and not mixed:
        return ""
    def item(s) -> str:
        levers = ": " + e(lever_list(res, s.levers)) if s.levers else ""
        return f"<li><b>{e(s.label)}</b> ({e(s.name)}){levers}</li>"

    items = "".join(item(s) for s in implied)
    mixed_items = "".join(item(s) for s in mixed)
    body = ['<div class="warning" id="plan-implied-warning">',
            "<h2>Warning: some results rest on plan-implied effect sizes</h2>",
            ("<p>For the scenarios below, how much an action changes things was set to what the action plan "
             "itself targets, <b>not</b> to evidence of what such actions have achieved elsewhere. Their "
             "savings and reductions in children looked after show what would follow <i>if</i> the plan's "
             "targets were met; they are not an independent forecast that they will be.</p>")]
    if implied:
        body.append(f"<p>Resting on plan-implied effect sizes:</p><ul>{items}</ul>")
    if mixed:
        body.append("<p>Partly resting on plan-implied effect sizes (some levers evidence-based, some "
                    f"plan-implied):</p><ul>{mixed_items}</ul>")
    body.append("<p>In the lever-ranking chart these scenarios are drawn with hatched bars.</p></div>")
    return "\n".join(body)


def _headline(res: Results, head: pd.DataFrame) -> str:
    fy = final_year(res)
    date = f"31 March {int(fy[:4]) + 1}"
    yl = years_label(res)
    rows, classes = [], []
    for _, r in head.iterrows():
        is_base = r["scenario"] == res.baseline
        rows.append([
            f"{r['label']} ({r['scenario']})",
            EVIDENCE_TEXT[r["evidence"]],
            n0(r["lac_q50"]) + _range(r["lac_q05"], r["lac_q95"], n0),
            "baseline" if is_base else n0(r["lac_reduction_mean"]),
            "baseline" if is_base else gbp_m(r["saving_mean_m"]) + _range(r["saving_q05_m"], r["saving_q95_m"], gbp_m)
            + (" (approx.)" if str(r["saving_basis"]).startswith("sum") else ""),
            "–" if is_base else pct(r["saving_p_positive"]),
            r["final_target"] or "no target",
            pct(r["final_target_probability"]),
        ])
        classes.append("")
    header = ["scenario", "effect sizes", f"children looked after at {date}: median [90% range]",
              f"fewer children than baseline at {date} (mean)",
              f"cumulative saving {yl}: mean [90% range]", "chance the saving is above zero",
              "final target for children looked after", "chance of meeting it"]
    approx = any(str(b).startswith("sum") for b in head["saving_basis"])
    foot = ("<p class=\"small\">Savings are baseline spend minus scenario spend at "
            f"{e(res.price_note)}, paired replication by replication. \"Fewer children\" is likewise the mean of "
            "the paired differences, so it need not equal the difference of the two medians beside it. "
            + ("“approx.”: the results folder had no all-years totals, so the 90% range is the sum of "
               "each year's 5th and 95th percentiles, which is usually wider than the true range. " if approx else "")
            + "A dash means not available.</p>")
    return ("<h2 id=\"headline\">2. Headline results</h2>"
            + _table(header, rows, numeric={2, 3, 4, 5, 7}, row_class=classes) + foot)


def _lac_text(res: Results, plan: str | None) -> str:
    fy = final_year(res)
    b = annual(res, res.baseline, "lac_children").set_index("period").loc[fy]
    txt = (f"The chart shows how many children are looked after at each 31 March. Without the action plan "
           f"(baseline), the median at 31 March {int(fy[:4]) + 1} is {n0(b['q50'])} children, and the 90% range "
           f"(5th to 95th percentile across replications) is {n0(b['q05'])} to {n0(b['q95'])}.")
    if plan is not None:
        p = annual(res, plan, "lac_children").set_index("period").loc[fy]
        txt += (f" With {e(res.label(plan))} the median is {n0(p['q50'])} ({n0(p['q05'])} to {n0(p['q95'])}). "
                f"Where the two fans overlap, a single year's count cannot by itself show whether the plan is "
                f"working.")
    if not total_targets(res.targets, "lac_children").empty:
        txt += (" Triangles mark the plan's targets; the percentage beside each is the share of replications "
                "that meet it.")
    return txt


def _spend_text(res: Results, plan: str | None) -> str:
    fy = final_year(res)
    b = annual(res, res.baseline, "spend_gbp").set_index("period").loc[fy]
    items = spend_total_items(res.manifest.get("spend_scope"))
    txt = (f"Total spend in each financial year ({e(items)}), at {e(res.price_note)}. "
           f"In {fy} the baseline's median is "
           f"{gbp_m(b['q50'] / GBP_M)} (90% range {gbp_m(b['q05'] / GBP_M)} to {gbp_m(b['q95'] / GBP_M)}).")
    if plan is not None:
        p = annual(res, plan, "spend_gbp").set_index("period").loc[fy]
        txt += (f" With {e(res.label(plan))} it is {gbp_m(p['q50'] / GBP_M)} ({gbp_m(p['q05'] / GBP_M)} to "
                f"{gbp_m(p['q95'] / GBP_M)}).")
    txt += " Spend is plotted at the 31 March that ends each financial year."
    return txt


def _ranking_text(res: Results, head: pd.DataFrame) -> str:
    others = head[head["scenario"] != res.baseline].sort_values("saving_mean_m", ascending=False)
    if others.empty:
        return "Only the baseline was run, so there is nothing to rank."
    top = others.iloc[0]
    txt = (f"Each bar is the average total saving over {years_label(res)} from one scenario compared with the "
           f"baseline, at {e(res.price_note)}. The black whisker is the range 90% of replications fall in: a "
           f"whisker that crosses zero means the action may not save money at all. The largest average saving "
           f"is from {e(top['label'])} ({gbp_m(top['saving_mean_m'])}).")
    if (others["evidence"] == "plan-implied").any() or (others["evidence"] == "mixed").any():
        txt += (" Hatched bars rest wholly (diagonal lines) or partly (dots) on effect sizes taken from the "
                "plan's own targets rather than evidence: read them as what the plan needs to achieve, not a "
                "forecast.")
    if others["saving_basis"].astype(str).str.startswith("sum").any():
        txt += " The whiskers are approximate (sums of yearly percentiles)."
    return txt


def _mix_text(res: Results, plan: str | None) -> str:
    fy = final_year(res)
    s = res.summary
    sel = s[(s["table"] == "annual") & (s["measure"] == "lac_children") & (s["breakdown"] == "placement_type")
            & (s["period"] == fy)]
    txt = ("Each coloured layer is the median number of children in one type of placement at 31 March, "
           "with family-based placements at the bottom, supported accommodation and residential care above them, "
           "and children placed for adoption (and any other placements) on top.")
    if not sel.empty:
        def count(scen, cats):
            return sel[(sel["scenario"] == scen) & sel["category"].isin(cats)]["q50"].sum()
        res_b, ifa_b = count(res.baseline, RESIDENTIAL_TYPES), count(res.baseline, ("ifa_foster",))
        txt += (f" At 31 March {int(fy[:4]) + 1} the baseline has about {n0(res_b)} children in children's homes "
                f"and other residential placements and {n0(ifa_b)} with independent fostering agencies")
        if plan is not None:
            txt += (f"; with {e(res.label(plan))}, about {n0(count(plan, RESIDENTIAL_TYPES))} and "
                    f"{n0(count(plan, ('ifa_foster',)))}")
        txt += "."
    return txt


def _monitoring(res: Results, plan: str | None, png: bytes, mon: pd.DataFrame, outside=()) -> str:
    name = res.label(plan or res.baseline)
    text = (
        f"The bands show, month by month, the number of looked-after children that is consistent with "
        f"{e(name)} being delivered as modelled. This turns Internal Audit's request for tolerances and "
        f"trigger points into numbers: each month, compare the Key Activity Data count with the bands.</p>"
        "<ul><li><b>Inside the darker band</b> (25th to 75th percentile): on track.</li>"
        "<li><b>Between the darker and lighter bands</b>: within tolerance; watch the next months.</li>"
        "<li><b>Outside the lighter band</b> (above the 95th or below the 5th percentile): the trigger for "
        "investigation and corrective action. Above means more children in care than the plan allows for; "
        "below means fewer, so check the data and whether the plan is doing better than assumed.</li></ul>"
        "<p class=\"small\">Even when the plan is working exactly as modelled, about 1 month in 10 falls outside "
        "the 90% range by chance" + _few_note(res, " (more often with only {n} replications: the band's edges are "
                                              "estimated from few runs; rerun with --reps 1000 before using it to "
                                              "monitor)") +
        ", so two or more consecutive months outside, or a steady drift towards one "
        "edge, is stronger evidence than a single month.")
    out = ["<h2 id=\"monitoring\">4. Monthly monitoring: tolerances and trigger points</h2>",
           _figure(png, "Monthly range of looked-after children consistent with the plan", f"<p>{text}</p>")]
    if outside:
        out.append(f'<p class="note"><b>Warning, not compared: {len(outside)} actual count(s) dated outside the run '
                   f"({e(month_ranges(mon['date']))}):</b> {e(month_ranges(outside))}.</p>")
    if "actual" in mon.columns:
        act = mon.dropna(subset=["actual"])
        trig = act[act["status"].map(is_trigger)]
        if act.empty:
            out.append("<p><b>Actual counts:</b> none of the months supplied falls within the run.</p>")
        elif trig.empty:
            out.append(f"<p><b>Actual counts:</b> none of the {len(act)} months supplied within the run falls "
                       f"outside the plan's 90% range.</p>")
        else:
            months = ", ".join(f"{d:%B %Y}" for d in trig["date"])
            out.append(f'<p class="alert"><b>Trigger: {len(trig)} of {len(act)} months with actual counts fall '
                       f"outside the plan's 90% range:</b> {e(months)}.</p>")
        rows, cls = [], []
        for _, r in act.iterrows():
            rows.append([f"{r['date']:%Y-%m-%d}", n0(r["actual"]), n0(r["q50"]),
                         whole_children_between(r["q25"], r["q75"]),
                         whole_children_between(r["q05"], r["q95"]), r["status"]])
            cls.append("trigger" if is_trigger(r["status"]) else "watch" if r["status"].startswith("watch") else "")
        out.append(_table(["month end", "actual children looked after", "plan median", "on track (25-75%)",
                           "within the trigger limits (5-95%)", "status"], rows, numeric={1, 2, 3, 4},
                          row_class=cls))
        out.append('<p class="small">The ranges are the whole numbers of children inside the plan\'s percentiles '
                   "(the workbook's monitoring sheet gives the percentiles themselves).</p>")
    return "\n".join(out)


def _targets(res: Results) -> str:
    t = res.targets
    head = "<h2 id=\"targets\">5. The plan's targets: chance of meeting each</h2>"
    if t.empty:
        return head + "<p>No targets were evaluated in this experiment.</p>"
    names = [n for n in res.names if n in set(t["scenario"])]
    keys = t.drop_duplicates(["target"]).sort_values(["date", "target"])
    rows = []
    for _, k in keys.iterrows():
        # a count of children is at 31 March; spend, savings and other flows are the year's
        stock = str(k["measure"]).startswith("lac_") and k["measure"] != "lac_days"
        when = (f"{k['date']:%d %B %Y}" if stock else "over the whole run" if k["period"] == TOTAL_PERIOD
                else f"financial year {k['period']}")
        row = [k["target"], when, k["source"] or "–"]
        for n in names:
            p = t[(t["target"] == k["target"]) & (t["scenario"] == n)]["probability"]
            row.append(pct(p.iloc[0]) if len(p) else "–")
        rows.append(row)
    header = ["target", "when", "source"] + [f"{res.label(n)}" for n in names]
    money = ""
    if t["measure"].astype(str).str.contains("gbp").any():
        money = (f" A saving target is met by the scenario's saving against the baseline in that financial year, "
                 f"paired replication by replication, in {e(res.price_note)}, compared with the target as the "
                 "experiment file gives it: if the plan's figures are cash, or cumulative budget reductions, "
                 "restate them before reading these chances.")
    return (head + "<p>The share of replications in which each target is met (a result equal to the target "
            "meets it). 50% means the target is as likely to be missed as met; a plan whose targets sit below "
            "20% relies on things going better than expected." + money + "</p>"
            + _table(header, rows, numeric=set(range(3, 3 + len(names)))))


FAN_NOTE = """
<h2 id="fan">6. How to read a fan chart</h2>
<div class="note">
<p>The simulation is run many times with different, equally likely, random events (which children are referred,
how long they stay, which placements break down). A fan chart shows the spread of the results rather than a
single number:</p>
<ul>
<li>The <b>line</b> is the median: half of the runs are above it and half below.</li>
<li>The <b>darker band</b> holds the middle half of runs (25th to 75th percentile).</li>
<li>The <b>lighter band</b> holds 90% of runs (5th to 95th percentile): a result outside it happens in about
1 run in 10 (1 in 20 above, 1 in 20 below).</li>
</ul>
<p>Percentiles are taken across replications, {method}. They are estimates: the fewer the replications,
the rougher the 5th and 95th percentiles.</p>
<p>The bands show uncertainty from chance and, where effect sizes were given as ranges, from not knowing how well
each action works. They do not include uncertainty the model leaves out, such as a change in national policy.
A wider fan means a less certain outcome, not a worse one.</p>
</div>
"""


def render(res: Results, plan: str | None, head: pd.DataFrame, pngs: dict[str, bytes],
           mon: pd.DataFrame, outside: list | tuple = ()) -> str:
    """The report's HTML. `outside`: month ends of actual counts outside the run's months."""
    exp = res.meta("experiment")
    plan_txt = (f"The action plan is represented by <b>{e(res.label(plan))}</b> ({e(plan)})."
                if plan else "Only the baseline was run.")
    parts = [
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(exp)}: children in care simulation report</title>", f"<style>{CSS}</style>", "</head>",
        "<body>",
        f"<h1>{e(exp)}: children in care under the action plan</h1>",
        (f'<p class="subtitle">Simulation of {e(res.meta("config_name"))}, {e(res.meta("start_date"))} to '
         f"{e(res.meta('end_date'))}; {e(res.meta('replications'))} replications per scenario; money at "
         f"{e(res.price_note)}. {plan_txt}</p>"),
        _warning(res),
        _what_was_run(res),
        _headline(res, head),
        '<h2 id="charts">3. Charts</h2>',
        "<h3>Children looked after at 31 March</h3>",
        _figure(pngs["lac_fan.png"], "Fan chart of children looked after at 31 March",
                f"<p>{_lac_text(res, plan)}</p>"),
        "<h3>Spending per financial year</h3>",
        _figure(pngs["spend_fan.png"], "Fan chart of spend per financial year", f"<p>{_spend_text(res, plan)}</p>"),
        "<h3>Which actions save most</h3>",
        _figure(pngs["lever_ranking.png"], "Scenarios ranked by cumulative saving",
                f"<p>{_ranking_text(res, head)}</p>"),
        "<h3>Where children live</h3>",
        _figure(pngs["placement_mix.png"], "Placement mix at 31 March", f"<p>{_mix_text(res, plan)}</p>"),
        _monitoring(res, plan, pngs["monitoring.png"], mon, outside),
        _targets(res),
        FAN_NOTE.replace("{method}", e(PERCENTILE_METHOD)),
        (f'<p class="small">Produced by carejourney {e(res.meta("carejourney_version"))} from the results folder '
         f"“{e(res.folder.name)}”. Tables are also in summary.xlsx; charts are also saved as PNG files.</p>"),
        "</body>", "</html>",
    ]
    return "\n".join(p for p in parts if p)
