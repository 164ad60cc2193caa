"""The summary tables a commissioner reads: pure pandas over a checked `Results`.

Each ``*_sheet`` function returns a tidy DataFrame whose column headers carry units; the
same frames feed the Excel workbook and (formatted) the HTML report.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from carejourney.formatting import count_text
from carejourney.vocab import DFE_LEGAL_GROUP, PLACEMENT_TYPES

from .inputs import QUANTILES, TOTAL_PERIOD, Results, fy_end

COMBINED_PLAN = "combined_plan"
GBP_M = 1e6

PLACEMENT_LABELS = {
    "placed_with_parents": "Placed with parents",
    "kinship_foster": "Family and friends (kinship) foster care",
    "inhouse_foster": "Council (in-house) foster care",
    "concurrent_foster_to_adopt": "Concurrent / foster-to-adopt",
    "ifa_foster": "Independent fostering agency (IFA)",
    "supported_accommodation": "Supported / semi-independent (16+)",
    "inhouse_childrens_home": "Council children's home",
    "external_childrens_home": "External children's home",
    "residential_school": "Residential school",
    "secure_disability_residential": "Secure / disability residential",
    "placed_for_adoption": "Placed for adoption",
    "other": "Other placements",
}

# what a (breakdown, category) of the annual tables is, in words, for the workbook: its sheets
# go into budget papers, where `ifa_foster` or `inhouse_fixed` say nothing (QA20)
AGE_LABELS = {"under_1": "aged under 1", "1_to_4": "aged 1 to 4", "5_to_9": "aged 5 to 9",
              "10_to_15": "aged 10 to 15", "16_to_17": "aged 16 and 17"}
SPEND_ITEM_LABELS = {
    ("inhouse_fixed", "inhouse_foster"): "in-house fixed cost: council foster carers' fees and allowances",
    ("inhouse_fixed", "inhouse_childrens_home"): "in-house fixed cost: running the council's children's homes",
    ("income", "uasc_grant"): "income: UASC grant (negative: money received)",
    ("income", "parental_contribution"): "income: parental contributions (negative: money received)",
    ("post_care", "sgo_allowance"): "after care: special guardianship allowances",
    ("post_care", "adoption_allowance"): "after care: adoption allowances",
    ("post_care", "care_leaver"): "after care: care-leaver support",
    ("post_care", "staying_put"): "after care: Staying Put",
    ("social_work", "social_work"): "social work",
    ("total", "placements"): "total: placements and in-house carers and homes",
    ("total", "all"): "total spend, net of income",
}


def category_text(measure: str, breakdown: str, category: str) -> str:
    """A breakdown's category of the annual tables in words ('Independent fostering agency
    (IFA)' for placement_type/ifa_foster); the code itself if it has no words here."""
    if measure != "spend_gbp" and (breakdown, category) == ("total", "all"):
        return "all children" if measure == "lac_children" else "all placements"
    if (breakdown, category) in SPEND_ITEM_LABELS:
        return SPEND_ITEM_LABELS[breakdown, category]
    if breakdown == "placement_type":
        return placement_label(category)
    if breakdown == "placement":  # spend on placements
        return f"placement: {placement_label(category)}"
    if breakdown == "age_band":
        return AGE_LABELS.get(category, category)
    if breakdown == "legal_status":
        return DFE_LEGAL_GROUP.get(category, category)
    if breakdown == "edge_of_care":
        return f"edge-of-care service: {category.replace('_', ' ')}"
    return category.replace("_", " ")


RESIDENTIAL_TYPES = ("inhouse_childrens_home", "external_childrens_home", "residential_school",
                     "secure_disability_residential")

EVIDENCE_TEXT = {
    "evidence": "evidence-based effect size",
    "plan-implied": "plan-implied (the plan's own target, not evidence)",
    "mixed": "mixed: some levers plan-implied",
    "none": "no effect assumed",
}

# measure in savings.parquet -> (plain description, unit, divisor)
# (every measure experiment.paired_savings writes: tests/unit/test_report.py checks)
SAVING_MEASURES = {
    "spend_gbp_saving": ("saving in spend (baseline minus scenario)", "£m", GBP_M),
    "placements_spend_gbp_saving": ("saving in placement spend (baseline minus scenario)", "£m", GBP_M),
    "lac_reduction_children": ("fewer children looked after at 31 March", "children", 1.0),
    "starts_reduction_children": ("fewer children starting to be looked after", "children", 1.0),
    "placements_52_week_reduction": ("fewer 52-week placements", "52-week placements", 1.0),
}

# how every percentile in the results is taken (pandas' and numpy's default): an analyst
# checking in Excel gets the same figures only with PERCENTILE.INC (QA15)
PERCENTILE_METHOD = ("interpolated linearly between the replications' values (pandas' and numpy's default; "
                     "Excel's PERCENTILE.INC gives the same, PERCENTILE.EXC does not)")
FEW_REPLICATIONS = 200  # below this the 5th and 95th percentiles are rough; the report says so


def few_replications(res: Results) -> bool:
    reps = res.meta("replications")
    return reps.isdigit() and int(reps) < FEW_REPLICATIONS

Q_NAMES = {"q05": "5th percentile", "q25": "25th percentile", "q50": "median",
           "q75": "75th percentile", "q95": "95th percentile"}


def _q_headers(unit: str, with_mean: bool = True) -> dict:
    h = {"mean": f"mean ({unit})"} if with_mean else {}
    h.update({q: f"{Q_NAMES[q]} ({unit})" for q in QUANTILES})
    return h


def money_m(millions: float) -> str:
    """£ millions to one decimal, a loss as '−£0.5m' (not '£-0.5m'), and no '−£0.0m'."""
    r = round(float(millions), 1)
    return f"{'−' if r < 0 else ''}£{abs(r):,.1f}m"


def whole(value: float) -> str:
    """A count: a whole number with thousands separators, a median at a half as '442.5'."""
    return count_text(value)


def placement_label(category: str) -> str:
    return PLACEMENT_LABELS.get(category, category.replace("_", " ").capitalize())


def placement_order(categories) -> list[str]:
    """Vocabulary order (roughly cheapest to dearest), unknown categories last."""
    order = {c: i for i, c in enumerate(PLACEMENT_TYPES)}
    return sorted(set(categories), key=lambda c: (order.get(c, len(order)), c))


# --------------------------------------------------------------------------- selections
def annual(res: Results, scenario: str, measure: str, breakdown: str = "total",
           category: str = "all") -> pd.DataFrame:
    """One annual series: period, date (31 March), mean and quantiles, in year order."""
    s = res.summary
    df = s[(s["table"] == "annual") & (s["scenario"] == scenario) & (s["measure"] == measure)
           & (s["breakdown"] == breakdown) & (s["category"] == category)]
    df = df[["period", "mean", *QUANTILES]].sort_values("period").reset_index(drop=True)
    df.insert(1, "date", df["period"].map(fy_end))
    return df


def final_year(res: Results) -> str:
    """The last financial year with a 31 March in the run: a run ending mid-year has flows
    (spend, starts) for its part-year but no stock at its end (QA: the report crashed)."""
    a = res.summary
    stock = set(a[(a["table"] == "annual") & (a["measure"] == "lac_children")]["period"])
    whole = [fy for fy in res.fiscal_years if fy in stock]
    return (whole or res.fiscal_years)[-1]


def years_label(res: Results) -> str:
    fys = res.fiscal_years
    return fys[0] if len(fys) == 1 else f"{fys[0]} to {fys[-1]}"


def final_lac_reduction(res: Results) -> pd.Series:
    """Mean fewer children looked after at the final 31 March, per non-baseline scenario."""
    fy = final_year(res)
    sv = res.savings
    out = {}
    base = annual(res, res.baseline, "lac_children").set_index("period")
    for name in res.others:
        row = sv[(sv["scenario"] == name) & (sv["measure"] == "lac_reduction_children") & (sv["period"] == fy)]
        if len(row):
            out[name] = float(row["mean"].iloc[0])
        else:  # mean of a difference is the difference of the means
            own = annual(res, name, "lac_children").set_index("period")
            ok = fy in own.index and fy in base.index
            out[name] = float(base.loc[fy, "mean"] - own.loc[fy, "mean"]) if ok else np.nan
    return pd.Series(out, dtype=float)


def choose_plan(res: Results) -> str | None:
    """"combined_plan" if run, else the scenario with the largest mean LAC reduction."""
    others = res.others
    if not others:
        return None
    if COMBINED_PLAN in others:
        return COMBINED_PLAN
    red = final_lac_reduction(res)
    return str(red.idxmax()) if red.notna().any() else others[0]


def cumulative_savings(res: Results) -> pd.DataFrame:
    """Saving in spend summed over all years, per non-baseline scenario (in £).

    Uses the runner's paired "total" rows when present (an exact 90% interval and the
    probability of a positive saving). Otherwise sums the yearly means (exact) and the
    yearly 5th/95th percentiles (approximate: usually wider than the true interval); failing
    that, the difference of mean spend from summary.parquet, with no interval.
    """
    sv = res.savings
    sv = sv[sv["measure"] == "spend_gbp_saving"]
    rows = []
    for name in res.others:
        mine = sv[sv["scenario"] == name]
        tot = mine[mine["period"] == TOTAL_PERIOD]
        yearly = mine[mine["period"] != TOTAL_PERIOD]
        if len(tot):
            r = tot.iloc[0]
            rows.append((name, r["mean"], r["q05"], r["q95"], r["p_positive"], "paired total over all years"))
        elif len(yearly):
            rows.append((name, yearly["mean"].sum(), yearly["q05"].sum(), yearly["q95"].sum(), np.nan,
                         "sum of yearly figures (interval approximate)"))
        else:
            b = annual(res, res.baseline, "spend_gbp")["mean"].sum()
            s = annual(res, name, "spend_gbp")["mean"].sum()
            rows.append((name, b - s, np.nan, np.nan, np.nan, "difference of mean spend (no interval)"))
    df = pd.DataFrame(rows, columns=["scenario", "mean", "q05", "q95", "p_positive", "basis"])
    return df.set_index("scenario")


def total_targets(t: pd.DataFrame, measure: str) -> pd.DataFrame:
    """The targets on `measure`'s total, not on one of its categories (the under-1s' LAC): the ones
    the total's fan chart and headline can show (QA22: an under-1s target sat on the LAC chart)."""
    return t[(t["measure"] == measure) & (t["breakdown"] == "total")]


def final_lac_target(res: Results, scenario: str) -> pd.Series | None:
    """The target on the total LAC with the latest date evaluated for `scenario` (the first by name
    if there are several that day), or None."""
    t = total_targets(res.targets, "lac_children")
    t = t[t["scenario"] == scenario]
    if t.empty:
        return None
    return t.sort_values(["date", "target"], ascending=[False, True]).iloc[0]


# --------------------------------------------------------------------------- sheets
def headline(res: Results) -> pd.DataFrame:
    """One row per scenario, internal column names (see HEADLINE_HEADERS)."""
    fy = final_year(res)
    cum = cumulative_savings(res)
    red = final_lac_reduction(res)
    rows = []
    for s in res.scenarios:
        lac = annual(res, s.name, "lac_children").set_index("period")
        at = lac.loc[fy] if fy in lac.index else pd.Series(np.nan, index=lac.columns)
        tgt = final_lac_target(res, s.name)
        c = cum.loc[s.name] if s.name in cum.index else None
        rows.append({
            "scenario": s.name, "label": s.label, "evidence": s.evidence,
            "final_date": fy_end(fy),
            "lac_q50": at["q50"], "lac_q05": at["q05"], "lac_q95": at["q95"],
            "lac_reduction_mean": red.get(s.name, np.nan),
            "saving_mean_m": c["mean"] / GBP_M if c is not None else np.nan,
            "saving_q05_m": c["q05"] / GBP_M if c is not None else np.nan,
            "saving_q95_m": c["q95"] / GBP_M if c is not None else np.nan,
            "saving_p_positive": c["p_positive"] if c is not None else np.nan,
            "saving_basis": c["basis"] if c is not None else "not applicable (baseline)",
            "final_target": tgt["target"] if tgt is not None else "",
            "final_target_probability": tgt["probability"] if tgt is not None else np.nan,
        })
    return pd.DataFrame(rows)


def _joined(a: str, b: str, pattern: str) -> str:
    """Two manifest fields in one cell, or whichever is there (an older manifest lacks some)."""
    return pattern.format(a, b) if a and b else (a or b or "not recorded")


def about_sheet(res: Results, plan: str | None) -> pd.DataFrame:
    """What the workbook's figures are: the run, the prices, how percentiles and savings are
    taken. The sheets go into budget papers without the HTML around them (QA15)."""
    reps = res.meta("replications")
    rows = [
        ("experiment", res.meta("experiment")),
        ("experiment file", res.meta("experiment_file")),
        # the config's name and file name: its path is the machine's that ran it (QA15 review)
        ("config", _joined(res.meta("config_name", ""), Path(res.meta("config", "")).name, "{} ({})")),
        ("simulated period", _joined(res.meta("start_date", ""), res.meta("end_date", ""), "{} to {}")),
        ("replications per scenario", reps),
        ("seed", res.meta("seed")),
        ("money", f"every £ figure is at {res.price_note}" if res.manifest.get("price_note") else "not recorded"),
        ("percentiles", f"across replications, {PERCENTILE_METHOD}"
         + (f"; with only {reps} replications the 5th and 95th percentiles are rough: rerun with --reps 1000 "
            "before quoting them" if few_replications(res) else "")),
        ("savings", "baseline minus scenario, paired replication by replication (both use the same random "
                    "numbers), then the mean and percentiles of those differences"),
        ("scenario monitored", f"{res.label(plan)} ({plan})" if plan else "none: only the baseline was run"),
        ("produced by", f"carejourney {res.meta('carejourney_version')}, from the results folder {res.folder.name}"),
    ]
    return pd.DataFrame(rows, columns=["item", "value"])


def headline_sheet(res: Results) -> pd.DataFrame:
    yl = years_label(res)
    return headline(res).rename(columns={
        "scenario": "scenario", "label": "label", "evidence": "evidence for effect sizes",
        "final_date": "final 31 March (date)",
        "lac_q50": "LAC at final 31 March, median (children)",
        "lac_q05": "LAC at final 31 March, 5th percentile (children)",
        "lac_q95": "LAC at final 31 March, 95th percentile (children)",
        "lac_reduction_mean": "fewer LAC than baseline at final 31 March, mean (children)",
        "saving_mean_m": f"cumulative saving {yl}, mean (£m, {res.price_note})",
        "saving_q05_m": f"cumulative saving {yl}, 5th percentile (£m, {res.price_note})",
        "saving_q95_m": f"cumulative saving {yl}, 95th percentile (£m, {res.price_note})",
        "saving_p_positive": "probability cumulative saving > 0 (share)",
        "saving_basis": "how the cumulative saving was computed",
        "final_target": "final LAC target",
        "final_target_probability": "probability of meeting final LAC target (share)",
    })


def _annual_measure_sheet(res: Results, measure: str, unit: str, divisor: float = 1.0) -> pd.DataFrame:
    s = res.summary
    df = s[(s["table"] == "annual") & (s["measure"] == measure)].copy()
    cols = ["mean", *QUANTILES]
    df[cols] = df[cols] / divisor
    # scenarios in manifest order; totals first; breakdowns and categories in the runner's order
    order = {n: i for i, n in enumerate(res.names)}
    first_b = {b: i for i, b in enumerate(pd.unique(df["breakdown"]))}
    first_c = {c: i for i, c in enumerate(pd.unique(df["category"]))}
    df["_o"] = df["scenario"].map(order)
    df["_b"] = df["breakdown"].map(lambda b: -1 if b == "total" else first_b[b])
    df["_c"] = df["category"].map(first_c)
    df = df.sort_values(["_o", "_b", "_c", "period"], kind="stable")
    out = pd.DataFrame({
        "scenario": df["scenario"], "label": df["scenario"].map(res.label),
        "financial year": df["period"], "31 March (date)": df["period"].map(fy_end),
        "breakdown": df["breakdown"], "category": df["category"],
        "what it is": [category_text(measure, b, c) for b, c in zip(df["breakdown"], df["category"])],
    })
    for c in cols:
        out[c] = df[c]
    return out.rename(columns=_q_headers(unit)).reset_index(drop=True)


def lac_31_march_sheet(res: Results) -> pd.DataFrame:
    return _annual_measure_sheet(res, "lac_children", "children")


def spend_sheet(res: Results) -> pd.DataFrame:
    df = _annual_measure_sheet(res, "spend_gbp", f"£m, {res.price_note}", GBP_M)
    return df.drop(columns=["31 March (date)"])


def placements_sheet(res: Results) -> pd.DataFrame:
    df = _annual_measure_sheet(res, "placements_52_week", "52-week placements")
    return df.drop(columns=["31 March (date)"])


def savings_sheet(res: Results) -> pd.DataFrame:
    sv = res.savings.copy()
    order = {n: i for i, n in enumerate(res.names)}
    rows = []
    for _, r in sv.iterrows():
        desc, unit, div = SAVING_MEASURES.get(r["measure"], (r["measure"], "", 1.0))
        unit = _priced(unit, res)
        rows.append({
            "scenario": r["scenario"], "label": res.label(r["scenario"]),
            "evidence for effect sizes": res.scenario(r["scenario"]).evidence,
            "period": r["period"],  # "total": summed over the run, as in savings.csv
            "measure": r["measure"], "what it means": desc, "unit": unit,
            **{k: r[k] / div for k in ("mean", *QUANTILES)},
            "probability > 0 (share)": r["p_positive"],
            "basis": "paired total over all years" if r["period"] == TOTAL_PERIOD else "paired, per year",
            "_o": order[r["scenario"]], "_p": r["period"] == TOTAL_PERIOD,
        })
    # cumulative spend saving when the runner gave no "total" rows
    cum = cumulative_savings(res)
    for name, c in cum.iterrows():
        if c["basis"].startswith("paired"):
            continue
        rows.append({
            "scenario": name, "label": res.label(name), "evidence for effect sizes": res.scenario(name).evidence,
            "period": TOTAL_PERIOD, "measure": "spend_gbp_saving",
            "what it means": SAVING_MEASURES["spend_gbp_saving"][0], "unit": _priced("£m", res),
            "mean": c["mean"] / GBP_M, "q05": c["q05"] / GBP_M, "q25": np.nan, "q50": np.nan,
            "q75": np.nan, "q95": c["q95"] / GBP_M, "probability > 0 (share)": np.nan,
            "basis": c["basis"], "_o": order[name], "_p": True,
        })
    cols = ["scenario", "label", "evidence for effect sizes", "period", "measure", "what it means", "unit",
            "mean", *QUANTILES, "probability > 0 (share)", "basis"]
    if not rows:
        return pd.DataFrame(columns=cols).rename(columns=_q_headers("unit in column 'unit'"))
    m_order = {m: i for i, m in enumerate(SAVING_MEASURES)}
    df = pd.DataFrame(rows)
    df["_m"] = df["measure"].map(lambda m: m_order.get(m, len(m_order)))
    df = df.sort_values(["_o", "_m", "measure", "_p", "period"])[cols]
    return df.rename(columns=_q_headers("unit in column 'unit'")).reset_index(drop=True)


def _priced(unit: str, res: Results) -> str:
    """A money unit with the price basis, on every sheet that holds money (QA15: only the
    spend sheet said "real", while the plan's saving targets may be cash)."""
    return f"{unit}, {res.price_note}" if unit.startswith("£") else unit


def _measure_unit(measure: str) -> str:
    if measure.endswith("_gbp") or "_gbp_" in measure:  # spend_gbp, spend_gbp_saving
        return "£"
    if measure.endswith("_children"):
        return "children"
    if measure.startswith("placements_52_week"):
        return "52-week placements"
    if measure.endswith("_per_10000"):
        return "per 10,000 children"
    return ""


def targets_sheet(res: Results) -> pd.DataFrame:
    t = res.targets
    order = {n: i for i, n in enumerate(res.names)}
    t = t.assign(_o=t["scenario"].map(order)).sort_values(["_o", "date", "target"])
    return pd.DataFrame({
        "scenario": t["scenario"], "label": t["scenario"].map(res.label),
        "evidence for effect sizes": t["scenario"].map(lambda n: res.scenario(n).evidence),
        "target": t["target"], "period": t["period"], "target date": t["date"],
        "measure": t["measure"], "breakdown": t["breakdown"], "category": t["category"],
        "direction": t["direction"].str.replace("_", " "),
        "threshold": t["threshold"], "threshold unit": t["measure"].map(lambda m: _priced(_measure_unit(m), res)),
        "probability of meeting target (share)": t["probability"], "source": t["source"],
    }).reset_index(drop=True)


# --------------------------------------------------------------------------- monitoring
ON_TRACK = "on track (within the plan's 25-75% range)"
WATCH = "watch (outside 25-75% but within 5-95%: tolerance)"
TRIGGER_HIGH = "TRIGGER: above the plan's 95th percentile"
TRIGGER_LOW = "TRIGGER: below the plan's 5th percentile"
NO_BAND = "no plan range for this month"


def classify(actual: float, q05: float, q25: float, q75: float, q95: float) -> str:
    """Monitoring status of one month's actual count against the plan's range."""
    if any(isinstance(v, float) and math.isnan(v) for v in (q05, q25, q75, q95)):
        return NO_BAND
    if actual > q95:
        return TRIGGER_HIGH
    if actual < q05:
        return TRIGGER_LOW
    if q25 <= actual <= q75:
        return ON_TRACK
    return WATCH


def whole_children_between(low: float, high: float) -> str:
    """The whole numbers of children inside a band of fractional quantiles, as the status
    counts them (a count of 598 is above a 75th percentile of 597.75): rounded inwards, so a
    printed limit is never rated the other way (QA)."""
    if is_missing(low) or is_missing(high):
        return "–"
    lo, hi = math.ceil(low), math.floor(high)
    return f"{lo:,} to {hi:,}" if lo <= hi else f"none (between {low:,.2f} and {high:,.2f})"


def is_missing(v) -> bool:
    """None, NaN or pandas' NA: a value the tables print as a dash."""
    return v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA


def is_trigger(status: str) -> bool:
    return status.startswith("TRIGGER")


def _plan_band(res: Results, scen: str) -> pd.DataFrame:
    """The run's months (month ends) with the scenario's range of LAC, in date order."""
    b = res.monthly_bands
    if scen in set(b["scenario"]):
        df = b[b["scenario"] == scen][["date", *QUANTILES]].copy()
    else:  # fall back to the summary's monthly rows
        s = res.summary
        s = s[(s["table"] == "monthly") & (s["scenario"] == scen) & (s["measure"] == "lac_children")
              & (s["breakdown"] == "total") & (s["category"] == "all")]
        df = pd.DataFrame({"date": pd.to_datetime(s["period"]), **{q: s[q] for q in QUANTILES}})
    return df.sort_values("date").reset_index(drop=True)


def actuals_outside_run(res: Results, plan: str | None, actuals: pd.DataFrame | None) -> list[pd.Timestamp]:
    """Month ends of the actual counts that are not among the run's months: they cannot be
    compared, and `monitoring_frame` leaves them out."""
    if actuals is None:
        return []
    months = set(_plan_band(res, plan or res.baseline)["date"])
    return [d for d in actuals["date"] if d not in months]


def month_ranges(dates) -> str:
    """Month ends as text, consecutive months joined: "March 2010 to February 2011, May 2021"."""
    periods = sorted({pd.Timestamp(d).to_period("M") for d in dates})
    runs: list[list] = []
    for p in periods:
        if runs and p == runs[-1][1] + 1:
            runs[-1][1] = p
        else:
            runs.append([p, p])
    return ", ".join(f"{a:%B %Y}" if a == b else f"{a:%B %Y} to {b:%B %Y}" for a, b in runs)


def monitoring_frame(res: Results, plan: str | None, actuals: pd.DataFrame | None) -> pd.DataFrame:
    """Per month of the run: the plan's range of LAC, the baseline median, and any actual with
    its status. Actuals for months outside the run are left out (see `actuals_outside_run`)."""
    scen = plan or res.baseline
    b = res.monthly_bands
    df = _plan_band(res, scen)
    base = b[b["scenario"] == res.baseline][["date", "q50"]].rename(columns={"q50": "baseline_q50"})
    df = df.merge(base, on="date", how="left") if scen != res.baseline else df.assign(baseline_q50=df["q50"])
    df.insert(0, "scenario", scen)
    if actuals is not None:
        df = df.merge(actuals.rename(columns={"lac_children": "actual"}), on="date", how="left")
        df["scenario"] = scen
        df = df.sort_values("date").reset_index(drop=True)
        df["status"] = [
            classify(a, q05, q25, q75, q95) if not pd.isna(a) else ""
            for a, q05, q25, q75, q95 in zip(df["actual"], df["q05"], df["q25"], df["q75"], df["q95"])
        ]
    return df


def monitoring_sheet(mon: pd.DataFrame, res: Results) -> pd.DataFrame:
    out = pd.DataFrame({
        "month end (date)": mon["date"], "scenario monitored": mon["scenario"],
        "label": mon["scenario"].map(res.label),
        "trigger: lower limit, plan 5th percentile (children)": mon["q05"],
        "on track from: plan 25th percentile (children)": mon["q25"],
        "plan median (children)": mon["q50"],
        "on track to: plan 75th percentile (children)": mon["q75"],
        "trigger: upper limit, plan 95th percentile (children)": mon["q95"],
        "baseline median, no plan (children)": mon["baseline_q50"],
    })
    if "actual" in mon.columns:
        out["actual LAC (children)"] = mon["actual"]
        out["status"] = mon["status"]
    return out
