"""The commissioner's report: files written, self-contained HTML, workbook, errors, monitoring."""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from carejourney.report import ReportError, html, tables, write_report
from carejourney.report.inputs import load_results

FYS = [f"{y}-{(y + 1) % 100:02d}" for y in range(2015, 2021)]
PLACEMENT_SHARES = {
    "placed_with_parents": 0.04, "kinship_foster": 0.10, "inhouse_foster": 0.25,
    "concurrent_foster_to_adopt": 0.01, "ifa_foster": 0.30, "supported_accommodation": 0.08,
    "inhouse_childrens_home": 0.02, "external_childrens_home": 0.08, "residential_school": 0.02,
    "secure_disability_residential": 0.01, "placed_for_adoption": 0.05, "other": 0.04,
}
Q = ("q05", "q25", "q50", "q75", "q95")
Z = {"q05": -1.645, "q25": -0.674, "q50": 0.0, "q75": 0.674, "q95": 1.645}

SCENARIOS = [
    {"name": "baseline", "label": "Baseline (no plan)", "description": "Current practice", "levers": [],
     "evidence": "none"},
    {"name": "edge_of_care", "label": "Edge-of-care service", "description": "AtC works with 60 a year",
     "levers": ["2.1 edge of care"], "evidence": "evidence"},
    {"name": "combined_plan", "label": "Whole action plan", "description": "All workstreams",
     "levers": ["2.1 edge of care", "4.2 in-house foster carers"], "evidence": "plan-implied"},
]
# mean LAC at each 31 March, and yearly spend in £m, per scenario
LAC = {"baseline": [610, 625, 640, 655, 670, 685], "edge_of_care": [605, 610, 615, 620, 625, 630],
       "combined_plan": [600, 580, 560, 540, 520, 500]}
SPEND_M = {"baseline": [24.0, 25.0, 26.0, 27.0, 28.0, 29.0], "edge_of_care": [23.9, 24.6, 25.3, 26.0, 26.7, 27.4],
           "combined_plan": [23.8, 24.0, 24.2, 24.4, 24.6, 24.8]}


def _q(mean: float, sd: float) -> dict:
    return {"mean": mean, **{q: mean + z * sd for q, z in Z.items()}}


def months() -> list[pd.Timestamp]:
    return list(pd.date_range("2015-04-30", "2021-03-31", freq="ME"))


def monthly_lac(name: str) -> np.ndarray:
    """Monthly means passing through the annual 31 March means (start at 600)."""
    ann = np.array(LAC[name], dtype=float)
    xs = np.arange(1, 73)
    return np.interp(xs, np.concatenate([[0], np.arange(12, 73, 12)]), np.concatenate([[600.0], ann]))


def make_results(folder: Path, scenarios=SCENARIOS, totals: bool = True, targets: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    names = [s["name"] for s in scenarios]
    manifest = {
        "experiment": "test-plan", "experiment_file": "experiments/test.yaml", "config": "configs/x.yaml",
        "config_name": "cambridgeshire-2015", "carejourney_version": "0.1.0", "seed": 7, "replications": 40,
        "scenarios": scenarios, "price_note": "2015-16 prices (real)", "baseline": "baseline",
        "start_date": "2015-04-01", "end_date": "2021-03-31",
    }
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")

    rows = []
    for n in names:
        for i, fy in enumerate(FYS):
            lac, spend = LAC[n][i], SPEND_M[n][i] * 1e6
            base = {"scenario": n, "period": fy, "table": "annual"}
            rows.append({**base, "measure": "lac_children", "breakdown": "total", "category": "all", **_q(lac, 15)})
            rows.append({**base, "measure": "lac_rate_per_10000", "breakdown": "total", "category": "all",
                         **_q(lac / 13.0, 1)})
            rows.append({**base, "measure": "spend_gbp", "breakdown": "total", "category": "all",
                         **_q(spend, 0.6e6)})
            rows.append({**base, "measure": "spend_gbp", "breakdown": "total", "category": "placements",
                         **_q(spend * 0.8, 0.5e6)})
            rows.append({**base, "measure": "starts_children", "breakdown": "total", "category": "all",
                         **_q(280, 12)})
            rows.append({**base, "measure": "ceased_children", "breakdown": "total", "category": "all",
                         **_q(270, 12)})
            for cat, share in PLACEMENT_SHARES.items():
                shift = -0.5 if (n == "combined_plan" and cat in ("ifa_foster", "external_childrens_home")) else 0
                v = lac * share * (1 + shift)
                rows.append({**base, "measure": "lac_children", "breakdown": "placement_type", "category": cat,
                             **_q(v, max(v * 0.08, 0.5))})
                rows.append({**base, "measure": "placements_52_week", "breakdown": "placement_type",
                             "category": cat, **_q(v * 0.95, max(v * 0.08, 0.5))})
                rows.append({**base, "measure": "spend_gbp", "breakdown": "placement", "category": cat,
                             **_q(spend * 0.8 * share, 0.05e6)})
        for d, v in zip(months(), monthly_lac(n)):
            rows.append({"scenario": n, "period": f"{d:%Y-%m-%d}", "table": "monthly", "measure": "lac_children",
                         "breakdown": "total", "category": "all", **_q(float(v), 12)})
    summary = pd.DataFrame(rows)
    summary.to_parquet(folder / "summary.parquet", index=False)

    sv = []
    for n in names[1:]:
        for i, fy in enumerate(FYS):
            saving = (SPEND_M["baseline"][i] - SPEND_M[n][i]) * 1e6
            sv.append({"scenario": n, "period": fy, "measure": "spend_gbp_saving", **_q(saving, 0.3e6),
                       "p_positive": 0.9})
            sv.append({"scenario": n, "period": fy, "measure": "lac_reduction_children",
                       **_q(LAC["baseline"][i] - LAC[n][i], 8), "p_positive": 0.95})
            sv.append({"scenario": n, "period": fy, "measure": "placements_52_week_reduction",
                       **_q((LAC["baseline"][i] - LAC[n][i]) * 0.9, 7), "p_positive": 0.95})
        if totals:
            tot = (sum(SPEND_M["baseline"]) - sum(SPEND_M[n])) * 1e6
            sv.append({"scenario": n, "period": "total", "measure": "spend_gbp_saving", **_q(tot, 1.0e6),
                       "p_positive": 0.99})
    pd.DataFrame(sv).to_parquet(folder / "savings.parquet", index=False)

    tg = []
    if targets:
        for n in names:
            for fy, thr, p in (("2016-17", 600.0, {"baseline": 0.02, "edge_of_care": 0.4, "combined_plan": 0.9}),
                               ("2020-21", 510.0, {"baseline": 0.0, "edge_of_care": 0.01, "combined_plan": 0.74})):
                tg.append({"scenario": n, "target": f"LAC at 31 March {int(fy[:4]) + 1} <= {thr:.0f}",
                           "period": fy, "measure": "lac_children", "threshold": thr, "direction": "at_most",
                           "probability": p.get(n, 0.5), "source": "seed 002"})
    cols = ["scenario", "target", "period", "measure", "threshold", "direction", "probability", "source"]
    pd.DataFrame(tg, columns=cols).astype({"threshold": float, "probability": float}).to_parquet(
        folder / "targets.parquet", index=False)

    mb = summary[(summary["table"] == "monthly")][["scenario", "period", *Q]]
    mb.to_parquet(folder / "monthly_bands.parquet", index=False)
    return folder


def write_actuals(path: Path, bad_month: str = "2017-09-30", over: float = 120.0) -> Path:
    """Actual counts on the plan's median for 2015-04 .. 2018-03, one month far above the band."""
    ms = months()[:36]
    plan = monthly_lac("combined_plan")[:36]
    vals = [round(v) + (over if f"{d:%Y-%m-%d}" == bad_month else 0) for d, v in zip(ms, plan)]
    # dates given as the first of the month, as councils often record them
    pd.DataFrame({"date": [f"{d:%Y-%m}-01" for d in ms], "lac_children": vals}).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    results = make_results(root / "results")
    actuals = write_actuals(root / "actuals.csv")
    html_path = write_report(results, actuals=actuals)
    return results, html_path


# --------------------------------------------------------------------------- files
def test_all_files_are_written(report):
    results, html_path = report
    out = results / "report"
    assert html_path == out / "report.html"
    names = {p.name for p in out.iterdir()}
    assert names == {"report.html", "summary.xlsx", "lac_fan.png", "spend_fan.png", "lever_ranking.png",
                     "placement_mix.png", "monitoring.png", "actuals.csv"}  # the fixture gives actuals
    for png in out.glob("*.png"):
        data = png.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000, png.name
    # nothing left over beside the report (no temporary or backup folders)
    assert sorted(p.name for p in results.iterdir() if p.name.startswith(".")) == []


def test_html_is_self_contained_and_names_every_scenario(report):
    _, html_path = report
    text = html_path.read_text(encoding="utf-8")
    assert 'src="http' not in text and "src='http" not in text
    assert "<script" not in text.lower() and "<link" not in text.lower() and "url(" not in text
    assert not re.search(r'href="(?!#)', text)
    srcs = re.findall(r'<img[^>]*\ssrc="([^"]+)"', text)
    assert len(srcs) == 5
    for src in srcs:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:4] == b"\x89PNG"
    for s in SCENARIOS:
        assert s["name"] in text and s["label"] in text
    for phrase in ("How to read a fan chart", "2015-16 prices (real)", "seed", "LAC at 31 March 2021 &lt;= 510"):
        assert phrase in text


def test_headline_numbers_in_html(report):
    _, html_path = report
    text = html_path.read_text(encoding="utf-8")
    # combined plan: LAC at 31 March 2021 median 500, 90% range 500 +- 1.645*15
    assert "500 [475 to 525]" in text
    # cumulative saving from the paired total row: 159 - 145.8 = 13.2m, +- 1.645m
    assert "£13.2m [£11.6m to £14.8m]" in text
    # chance of meeting the final LAC target
    assert "74%" in text


def test_plan_implied_warning_lists_the_scenario(report):
    _, html_path = report
    text = html_path.read_text(encoding="utf-8")
    box = re.search(r'<div class="warning".*?</div>', text, re.DOTALL)
    assert box is not None
    assert "Whole action plan" in box.group(0)
    assert "Edge-of-care service" not in box.group(0)  # evidence-based: not in the warning


def test_no_warning_without_plan_implied(tmp_path):
    scen = [dict(s, evidence="evidence" if s["name"] != "baseline" else "none") for s in SCENARIOS]
    results = make_results(tmp_path / "results", scenarios=scen, totals=False, targets=False)
    text = write_report(results, tmp_path / "out").read_text(encoding="utf-8")
    assert 'class="warning"' not in text
    assert "plan-implied effect sizes" not in text.lower()
    # without paired totals the cumulative interval is flagged as approximate
    assert "approx." in text
    assert "No targets were evaluated" in text


def test_mixed_evidence_is_warned_as_partly_plan_implied(tmp_path):
    scen = [SCENARIOS[0], dict(SCENARIOS[1]), dict(SCENARIOS[2], evidence="mixed")]
    box = html._warning(load_results(make_results(tmp_path / "r", scenarios=scen)))
    assert "Partly resting" in box and "Whole action plan" in box and "Edge-of-care service" not in box
    only_evidence = [SCENARIOS[0], SCENARIOS[1], dict(SCENARIOS[2], evidence="evidence")]
    assert html._warning(load_results(make_results(tmp_path / "s", scenarios=only_evidence))) == ""


# --------------------------------------------------------------------------- workbook
def test_workbook_has_sheets_with_numbers(report):
    results, _ = report
    wb = load_workbook(results / "report" / "summary.xlsx")
    assert wb.sheetnames == ["about", "headline", "lac_31_march", "spend", "savings", "targets",
                             "placements_52_week", "monitoring"]
    for ws in wb.worksheets:
        assert ws.max_row > 1, ws.title
        headers = [c.value for c in ws[1]]
        assert all(isinstance(h, str) and h for h in headers), ws.title
    head = wb["headline"]
    headers = [c.value for c in head[1]]
    col = headers.index("LAC at final 31 March, median (children)")
    values = {r[0].value: r[col].value for r in head.iter_rows(min_row=2)}
    assert values["combined_plan"] == pytest.approx(500)
    assert isinstance(values["baseline"], (int, float))
    sav = [c.value for c in head[1]].index("cumulative saving 2015-16 to 2020-21, mean (£m, 2015-16 prices (real))")
    cells = {r[0].value: r[sav].value for r in head.iter_rows(min_row=2)}
    assert cells["combined_plan"] == pytest.approx(13.2)
    assert cells["baseline"] is None  # blank, not a string
    # every value cell in a units column is a number
    for ws in wb.worksheets:
        headers = [c.value for c in ws[1]]
        for j, h in enumerate(headers):
            if any(u in h for u in ("(children)", "(£m", "(share)")):
                vals = [r[j].value for r in ws.iter_rows(min_row=2) if r[j].value is not None]
                assert vals and all(isinstance(v, (int, float)) for v in vals), (ws.title, h)


def test_about_sheet_says_what_was_run_and_how_figures_are_taken(report):
    """The sheets go into budget papers without the HTML: the workbook itself says the run,
    the prices and the percentile method (QA15)."""
    results, _ = report
    about = dict(pd.read_excel(results / "report" / "summary.xlsx", sheet_name="about").values)
    assert str(about["replications per scenario"]) == "40" and str(about["seed"]) == "7"
    assert "2015-16 prices (real)" in about["money"]
    assert "PERCENTILE.INC" in about["percentiles"] and "rough" in about["percentiles"]  # 40 < 200
    assert "paired" in about["savings"] and "combined_plan" in about["scenario monitored"]


def test_about_sheet_calls_percentiles_rough_only_with_few_replications(tmp_path):
    folder = make_results(tmp_path / "r")
    m = json.loads((folder / "manifest.json").read_text())
    m["replications"] = tables.FEW_REPLICATIONS
    (folder / "manifest.json").write_text(json.dumps(m))
    res = load_results(folder)
    assert "rough" not in dict(tables.about_sheet(res, "combined_plan").values)["percentiles"]
    assert "more often" not in html.render(res, "combined_plan", tables.headline(res), dict.fromkeys(
        ["lac_fan.png", "spend_fan.png", "lever_ranking.png", "placement_mix.png", "monitoring.png"], b""),
        tables.monitoring_frame(res, "combined_plan", None))


def test_money_carries_its_price_basis_on_every_sheet(report):
    """QA15: only the spend sheet said "real"; a saving target in the plan may be cash."""
    results, _ = report
    wb = load_workbook(results / "report" / "summary.xlsx")
    seen = 0
    for ws in wb.worksheets:
        headers = [c.value for c in ws[1]]
        for h in headers:
            if "£" in h:
                seen += 1
                assert "2015-16 prices (real)" in h, (ws.title, h)
        for name in ("unit", "threshold unit"):
            if name in headers:
                j = headers.index(name)
                units = {r[j].value for r in ws.iter_rows(min_row=2)}
                money = {u for u in units if str(u).startswith("£")}
                seen += len(money)
                assert all("2015-16 prices (real)" in u for u in money), (ws.title, units)
    assert seen >= 5


def test_savings_sheet_formats_each_row_by_its_unit(report):
    """£m to two decimals, as the headline sheet (QA15: a first year's £7k saving read 0.0),
    counts to one."""
    results, _ = report
    ws = load_workbook(results / "report" / "summary.xlsx")["savings"]
    headers = [c.value for c in ws[1]]
    unit, mean = headers.index("unit"), next(j for j, h in enumerate(headers) if h.startswith("mean"))
    formats = {(str(r[unit].value)[:2], r[mean].number_format) for r in ws.iter_rows(min_row=2)}
    assert formats == {("£m", "#,##0.00"), ("ch", "#,##0.0"), ("52", "#,##0.0")}, formats


def test_workbook_columns_fit_their_longest_value(tmp_path):
    """Widths from every row, not the first 200 (QA15: ids further down were cut off)."""
    from carejourney.report.build import workbook_bytes

    df = pd.DataFrame({"scenario": ["a"] * 300 + ["a_rather_long_scenario_name_at_the_end"], "x": range(301)})
    wb = load_workbook(io.BytesIO(workbook_bytes({"s": df})))
    assert wb["s"].column_dimensions["A"].width >= len("a_rather_long_scenario_name_at_the_end")


def test_trigger_runs_split_where_the_side_changes():
    """QA15: a month above the band then one below were labelled as one run."""
    from carejourney.report.charts import _runs

    d = pd.to_datetime(["2015-07-31", "2015-08-31", "2015-09-30", "2015-11-30"])
    trig = pd.DataFrame({"date": d, "actual": [600, 601, 500, 610],
                         "status": [tables.TRIGGER_HIGH, tables.TRIGGER_HIGH, tables.TRIGGER_LOW, tables.TRIGGER_HIGH]})
    runs = [(a.strftime("%Y-%m"), b.strftime("%Y-%m"), above) for a, b, _, above in _runs(trig)]
    assert runs == [("2015-07", "2015-08", True), ("2015-09", "2015-09", False), ("2015-11", "2015-11", True)]


def test_trigger_labels_never_print_over_each_other():
    """QA15: runs a month or two apart (alternating sides) were labelled over each other. Runs
    whose labels would collide share one label with the months above and below; a run far
    from the others keeps its own."""
    from carejourney.report.charts import _figure, _label_runs, _runs

    d = pd.DatetimeIndex([*pd.date_range("2016-01-31", periods=6, freq="ME"), pd.Timestamp("2019-06-30")])
    status = [tables.TRIGGER_HIGH, tables.TRIGGER_LOW] * 3 + [tables.TRIGGER_LOW]
    trig = pd.DataFrame({"date": d, "actual": [600, 540, 601, 541, 600, 539, 450], "status": status})
    fig = _figure(11, 6.2)
    ax = fig.add_axes([0.08, 0.30, 0.89, 0.60])
    ax.plot(pd.date_range("2015-04-30", "2021-03-31", freq="ME"), np.full(72, 570.0))
    runs = _runs(trig)
    labels = _label_runs(fig, ax, runs)
    texts = [a.get_text() for a in labels]
    assert len(runs) == 7 and 2 <= len(labels) < 7, texts
    # the months above (Jan, Mar, May) share one label, above the highest of them
    assert texts[0].startswith("Jan 2016 to May 2016: 3 month(s) above") and labels[0].xy[1] == 601, texts
    assert labels[0].xyann[1] > 0
    assert texts[-1] == "Jun 2019" and labels[-1].xy[1] == 450 and labels[-1].xyann[1] < 0  # beneath its marker
    renderer = fig.canvas.get_renderer()
    boxes = [a.get_window_extent(renderer) for a in labels]
    assert not any(b.overlaps(c) for i, b in enumerate(boxes) for c in boxes[i + 1:]), texts
    assert list(ax.texts) == labels  # the labels merged away are gone from the chart


def test_spend_axis_names_financial_years():
    """Spend is a year's flow: its ticks say 2015-16, not "31 Mar 2016" (QA15)."""
    from matplotlib.figure import Figure

    from carejourney.report.charts import _march_axis

    ax = Figure().add_subplot()
    dates = [pd.Timestamp(2016, 3, 31), pd.Timestamp(2017, 3, 31)]
    _march_axis(ax, dates, flows=True)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2015-16", "2016-17"]
    _march_axis(ax, dates)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["31 Mar\n2016", "31 Mar\n2017"]


def test_every_saving_measure_has_a_description_and_a_unit():
    # the savings sheet divides £ into £m by this table: a measure missing from it would
    # sit in £ beside rows in £m, with a blank unit (QA)
    from carejourney.experiment import PAIRED
    written = set(PAIRED) | {"placements_52_week_reduction"}
    assert written <= set(tables.SAVING_MEASURES)
    for measure, (desc, unit, divisor) in tables.SAVING_MEASURES.items():
        assert desc and unit
        assert (divisor == tables.GBP_M) == ("_gbp_" in measure)


def test_savings_sheet_names_the_whole_run_as_savings_csv_does(report):
    results, _ = report
    df = pd.read_excel(results / "report" / "summary.xlsx", sheet_name="savings")
    written = pd.read_parquet(results / "savings.parquet")
    assert set(df["period"]) == set(written["period"])
    assert "total" in set(df["period"])


def test_spend_sheet_in_million_pounds(report):
    results, _ = report
    df = pd.read_excel(results / "report" / "summary.xlsx", sheet_name="spend")
    mean_col = next(c for c in df.columns if c.startswith("mean (£m"))
    row = df[(df["scenario"] == "baseline") & (df["financial year"] == "2015-16") & (df["breakdown"] == "total")
             & (df["category"] == "all")]
    assert row[mean_col].iloc[0] == pytest.approx(24.0)


def test_monitoring_words_mean_one_thing_everywhere(report):
    """'On track' is the plan's 25-75% range, 'tolerance' between it and the 5-95% range and
    'trigger' outside that, in the chart, the status and the workbook alike (QA: the workbook
    called the 25th and 75th percentiles 'tolerance')."""
    results, _ = report
    df = pd.read_excel(results / "report" / "summary.xlsx", sheet_name="monitoring")
    cols = " ".join(df.columns)
    assert "on track from: plan 25th percentile" in cols and "on track to: plan 75th percentile" in cols
    assert "tolerance" not in cols and "trigger: lower limit, plan 5th percentile" in cols


@pytest.mark.parametrize("measure, unit", [("spend_gbp_saving", "£"), ("spend_gbp", "£"),
                                           ("lac_children", "children"), ("lac_reduction_children", "children")])
def test_every_target_threshold_has_a_unit(measure, unit):
    """The targets sheet gives a saving target's threshold in pounds (QA: it was blank)."""
    from carejourney.report.tables import _measure_unit

    assert _measure_unit(measure) == unit


# --------------------------------------------------------------------------- errors and atomicity
def test_missing_summary_raises_and_writes_nothing(tmp_path):
    results = make_results(tmp_path / "results")
    (results / "summary.parquet").unlink()
    before = sorted(p.name for p in results.iterdir())
    with pytest.raises(ReportError, match="summary.parquet"):
        write_report(results)
    assert not (results / "report").exists()
    assert sorted(p.name for p in results.iterdir()) == before


def _set_first(folder: Path, table: str, column: str, value: float):
    df = pd.read_parquet(folder / f"{table}.parquet")
    df.loc[0, column] = value
    df.to_parquet(folder / f"{table}.parquet")


@pytest.mark.parametrize("breakage, fname, fragment", [
    (lambda f: pd.read_parquet(f / "summary.parquet").drop(columns=["q95"]).to_parquet(f / "summary.parquet"),
     "summary.parquet", "q95"),
    (lambda f: (f / "manifest.json").write_text("{not json"), "manifest.json", "JSON"),
    (lambda f: (f / "manifest.json").write_text(json.dumps({"experiment": "x"})), "manifest.json", "seed"),
    (lambda f: (f / "savings.parquet").write_bytes(b"not parquet"), "savings.parquet", "Parquet"),
    (lambda f: (f / "monthly_bands.parquet").unlink(), "monthly_bands.parquet", "missing"),
    (lambda f: pd.read_parquet(f / "targets.parquet").assign(direction="below").to_parquet(f / "targets.parquet"),
     "targets.parquet", "direction"),
    # QA19: inf in q95 was a traceback (OverflowError), NaN in the others a report drawn from it
    (lambda f: _set_first(f, "summary", "q95", float("inf")), "summary.parquet", "q95 has an infinite value"),
    (lambda f: _set_first(f, "savings", "mean", float("nan")), "savings.parquet", "mean has a missing value"),
    (lambda f: _set_first(f, "targets", "probability", float("nan")), "targets.parquet", "probability has a missing"),
    (lambda f: _set_first(f, "monthly_bands", "q50", float("-inf")), "monthly_bands.parquet", "q50 has an infinite"),
])
def test_malformed_inputs_raise_naming_the_file(tmp_path, breakage, fname, fragment):
    results = make_results(tmp_path / "results")
    breakage(results)
    with pytest.raises(ReportError) as info:
        write_report(results)
    assert fname in str(info.value) and fragment in str(info.value)
    assert str(results) in str(info.value)  # which results folder, not only the file's name (QA)
    assert isinstance(info.value, ValueError)
    assert not (results / "report").exists()


def test_failed_rerun_keeps_previous_report(tmp_path):
    results = make_results(tmp_path / "results", totals=False)
    out = tmp_path / "out"
    html_path = write_report(results, out)
    before = html_path.read_bytes()
    (results / "targets.parquet").write_bytes(b"broken")
    with pytest.raises(ReportError, match="targets.parquet"):
        write_report(results, out)
    assert html_path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "results"]


def test_refuses_to_replace_a_folder_that_is_not_a_report(tmp_path):
    results = make_results(tmp_path / "results")
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    with pytest.raises(ReportError, match="refusing"):
        write_report(results, precious)
    assert (precious / "notes.txt").read_text() == "keep me"
    with pytest.raises(ReportError):
        write_report(results, results)


@pytest.mark.parametrize("added", ["commentary.docx", "charts/edited.png"])
def test_refuses_to_replace_a_report_folder_someone_added_to(tmp_path, added):
    """QA: a folder holding report.html was replaced whole, deleting any file a user had put
    beside the report (rerunning the experiment did the same); only an exact earlier report,
    or an empty folder, is replaced."""
    results = make_results(tmp_path / "results")
    out = tmp_path / "out"
    write_report(results, out)
    write_report(results, out)  # an earlier report alone is replaced
    mine = out / added
    mine.parent.mkdir(exist_ok=True)
    mine.write_text("keep me")
    with pytest.raises(ReportError, match=f"holds {added.split('/')[0]}.* besides an earlier report"):
        write_report(results, out)
    assert mine.read_text() == "keep me"


def test_experiment_checks_its_report_folder_before_running(tmp_path, capsys):
    from carejourney.cli import main
    from tests.conftest import ROOT

    out = tmp_path / "exp"
    argv = ["experiment", str(ROOT / "experiments" / "carers-and-alternatives-to-care.yaml"), "--reps", "1",
            "--out", str(out)]
    assert main(argv) == 0
    (out / "report" / "commentary.docx").write_text("keep me")
    manifest = (out / "manifest.json").read_bytes()
    capsys.readouterr()
    assert main(argv) == 2  # the rerun would replace the report
    assert "commentary.docx besides an earlier report" in capsys.readouterr().err
    assert (out / "manifest.json").read_bytes() == manifest  # refused before anything was written
    assert (out / "report" / "commentary.docx").read_text() == "keep me"


# --------------------------------------------------------------------------- monitoring
def test_monitoring_flags_the_out_of_band_month(report):
    results, html_path = report
    mon = pd.read_excel(results / "report" / "summary.xlsx", sheet_name="monitoring")
    flagged = mon[mon["status"].fillna("").str.startswith("TRIGGER")]
    assert [f"{d:%Y-%m-%d}" for d in flagged["month end (date)"]] == ["2017-09-30"]
    assert flagged["status"].iloc[0] == tables.TRIGGER_HIGH
    on_track = mon[mon["actual LAC (children)"].notna()]
    assert len(on_track) == 36
    text = html_path.read_text(encoding="utf-8")
    assert "1 of 36 months" in text and "September 2017" in text
    assert '<tr class="trigger">' in text


def test_classify_tolerance_and_trigger():
    c = tables.classify
    assert c(100, 80, 90, 110, 120) == tables.ON_TRACK
    assert c(115, 80, 90, 110, 120) == tables.WATCH
    assert c(120, 80, 90, 110, 120) == tables.WATCH  # on the limit is not outside it
    assert c(121, 80, 90, 110, 120) == tables.TRIGGER_HIGH
    assert c(79, 80, 90, 110, 120) == tables.TRIGGER_LOW
    assert c(100, float("nan"), 90, 110, 120) == tables.NO_BAND


def test_actuals_with_two_counts_in_one_month_rejected(tmp_path):
    results = make_results(tmp_path / "results")
    act = tmp_path / "actuals.csv"
    act.write_text("date,lac_children\n2016-01-01,600\n2016-01-31,601\n")
    with pytest.raises(ReportError, match="actuals.csv"):
        write_report(results, actuals=act)
    assert not (results / "report").exists()


# --------------------------------------------------------------------------- choices
def test_plan_is_largest_lac_reduction_without_combined_plan(tmp_path):
    scen = [SCENARIOS[0], SCENARIOS[1], dict(SCENARIOS[2], name="everything", label="Everything")]
    results = make_results(tmp_path / "r", scenarios=[SCENARIOS[0], SCENARIOS[1], SCENARIOS[2]])
    res = load_results(results)
    assert tables.choose_plan(res) == "combined_plan"
    # rename combined_plan -> everything in every file
    for f in ("summary.parquet", "savings.parquet", "targets.parquet", "monthly_bands.parquet"):
        df = pd.read_parquet(results / f)
        df["scenario"] = df["scenario"].replace({"combined_plan": "everything"})
        df.to_parquet(results / f, index=False)
    m = json.loads((results / "manifest.json").read_text())
    m["scenarios"] = scen
    (results / "manifest.json").write_text(json.dumps(m))
    assert tables.choose_plan(load_results(results)) == "everything"


def test_cumulative_saving_uses_totals_else_sums_years(tmp_path):
    with_tot = load_results(make_results(tmp_path / "a", totals=True))
    without = load_results(make_results(tmp_path / "b", totals=False))
    a, b = tables.cumulative_savings(with_tot), tables.cumulative_savings(without)
    expected = (sum(SPEND_M["baseline"]) - sum(SPEND_M["edge_of_care"])) * 1e6
    assert a.loc["edge_of_care", "mean"] == pytest.approx(expected)
    assert b.loc["edge_of_care", "mean"] == pytest.approx(expected)
    # paired total: its own interval; summed years: sum of yearly percentiles (wider)
    assert a.loc["edge_of_care", "q05"] == pytest.approx(expected - 1.645e6)
    assert b.loc["edge_of_care", "q05"] == pytest.approx(expected - 6 * 1.645 * 0.3e6)
    assert a.loc["edge_of_care", "basis"].startswith("paired")
    assert b.loc["edge_of_care", "basis"].startswith("sum")
    assert np.isnan(b.loc["edge_of_care", "p_positive"])


def test_lever_ranking_orders_by_saving(report):
    results, _ = report
    head = tables.headline(load_results(results))
    ranked = head[head["scenario"] != "baseline"].sort_values("saving_mean_m", ascending=False)["scenario"]
    assert list(ranked) == ["combined_plan", "edge_of_care"]


def test_an_unfinished_batch_is_refused(tmp_path):
    """QA: a report on an interrupted rerun with more replications showed the new count over
    the old run's tables; the manifest says the batch is not complete."""
    folder = make_results(tmp_path / "res")
    m = json.loads((folder / "manifest.json").read_text())
    (folder / "manifest.json").write_text(json.dumps({**m, "complete": False}))
    with pytest.raises(ReportError, match="not finished"):
        write_report(folder, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    (folder / "manifest.json").write_text(json.dumps({**m, "complete": True}))
    assert write_report(folder, tmp_path / "out").exists()


def test_a_batch_interrupted_before_its_first_tables_is_named_as_unfinished(tmp_path):
    """QA19: with no tables yet the report said 'summary.parquet: required file is missing'."""
    folder = make_results(tmp_path / "res")
    m = json.loads((folder / "manifest.json").read_text())
    (folder / "manifest.json").write_text(json.dumps({**m, "complete": False}))
    for name in ("summary", "savings", "targets", "monthly_bands"):
        (folder / f"{name}.parquet").unlink()
    with pytest.raises(ReportError, match=f"{folder}: the batch is not finished"):
        write_report(folder, tmp_path / "out")


@pytest.mark.parametrize("millions, text", [(-0.14, "−£0.1m"), (-0.04, "£0.0m"), (61.26, "£61.3m"), (1234.5, "£1,234.5m")])
def test_money_reads_as_a_commissioner_writes_it(millions, text):
    """QA: losses were written '£-0.1m' in the headline table and the lever chart."""
    assert tables.money_m(millions) == text


@pytest.mark.parametrize("value, text", [(-0.3, "0"), (-2.6, "-3"), (1234.4, "1,234")])
def test_whole_numbers_are_never_minus_zero(value, text):
    """QA: a lever that changed nothing showed '-0' fewer children in the headline."""
    assert tables.whole(value) == text


def test_report_of_a_file_or_of_a_run_folder_says_what_it_is(tmp_path):
    """QA: a file was 'results folder does not exist'; a `run` folder, 'summary.parquet:
    required file is missing'."""
    from carejourney.cli import main

    afile = tmp_path / "results.txt"
    afile.write_text("x")
    with pytest.raises(ReportError, match="results.txt: is a file; give the folder an experiment wrote"):
        write_report(afile)
    run_out = tmp_path / "run"
    from tests.conftest import DEFAULT_CONFIG
    assert main(["run", str(DEFAULT_CONFIG), "--reps", "1", "--out", str(run_out)]) == 0
    with pytest.raises(ReportError, match="holds the results of `carejourney run`, not of an experiment"):
        write_report(run_out)
    assert not (run_out / "report").exists()


@pytest.mark.parametrize("scope, social", [("all_lac", True), ("placements", False)])
def test_spend_total_says_in_words_whether_social_work_is_in(scope, social):
    """QA15: the caption read "(and social work in the all_lac scope)", config jargon as a condition."""
    from carejourney.summary import spend_total_items

    text = spend_total_items(scope)
    assert ("social work" in text) == social and "all_lac" not in text and "scope" not in text


def test_workbook_rows_say_in_words_what_each_category_is(report):
    """QA20: the sheets gave only codes (ifa_foster, inhouse_fixed, 16_to_17), and income as
    negative numbers with no word of it."""
    from carejourney.vocab import PLACEMENT_TYPES
    results, _ = report
    for sheet in ("lac_31_march", "spend", "placements_52_week"):
        df = pd.read_excel(results / "report" / "summary.xlsx", sheet_name=sheet)
        words = df["what it is"]
        assert words.notna().all() and (words.str.len() > 2).all(), sheet
        coded = df[df["breakdown"] != "total"]
        assert not (coded["what it is"] == coded["category"]).any(), sheet  # every category has words
    from carejourney.report.tables import category_text
    for item in ("uasc_grant", "parental_contribution"):
        assert "(negative: money received)" in category_text("spend_gbp", "income", item)
    lac = pd.read_excel(results / "report" / "summary.xlsx", sheet_name="lac_31_march")
    ifa = lac[lac["category"] == "ifa_foster"]["what it is"]
    assert set(ifa) == {"Independent fostering agency (IFA)"} and "ifa_foster" in PLACEMENT_TYPES
    assert category_text("lac_children", "age_band", "16_to_17") == "aged 16 and 17"


def test_chances_near_certain_are_not_shown_as_certain(report, tmp_path):
    """QA20: a saving above zero in 199 of 200 replications read '100%'."""
    from carejourney.report.html import pct
    assert pct(0.995) == ">99%" and pct(1.0) == "100%" and pct(0.003) == "<1%" and pct(0.0) == "0%"
