"""`write_report`: read a results folder, build every output in memory, then publish atomically.

Order of work: (1) read and check all inputs, (2) draw the charts, build the tables, the
workbook and the HTML in memory, (3) write them into a temporary folder beside `out_dir` and
rename it into place. A failure at (1) or (2) touches nothing on disk; a failure at (3)
removes the temporary folder and leaves any previous report as it was.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable
from pathlib import Path

import pandas as pd
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from ..results import atomic_dir
from . import charts, html, tables
from .errors import ReportError
from .inputs import Results, load_actuals, load_results

REPORT_HTML = "report.html"
WORKBOOK = "summary.xlsx"
# the monthly counts a report was given (--actuals), as it read them: rewriting the report
# after an experiment is resumed or extended keeps checking them (cmd_experiment)
ACTUALS_COPY = "actuals.csv"
REPORT_FOLDER = "report"  # a results folder's report, unless `report --out` puts it elsewhere
CHART_FILES = ("lac_fan.png", "spend_fan.png", "lever_ranking.png", "placement_mix.png", "monitoring.png")
# everything a report writes: a folder holding anything else is not a report to replace
REPORT_FILES = frozenset((REPORT_HTML, WORKBOOK, ACTUALS_COPY, *CHART_FILES))
SHEETS = ("about", "headline", "lac_31_march", "spend", "savings", "targets", "placements_52_week", "monitoring")


def build_sheets(res: Results, plan: str | None, mon: pd.DataFrame) -> dict[str, pd.DataFrame]:
    return {
        "about": tables.about_sheet(res, plan),
        "headline": tables.headline_sheet(res),
        "lac_31_march": tables.lac_31_march_sheet(res),
        "spend": tables.spend_sheet(res),
        "savings": tables.savings_sheet(res),
        "targets": tables.targets_sheet(res),
        "placements_52_week": tables.placements_sheet(res),
        "monitoring": tables.monitoring_sheet(mon, res),
    }


def _number_format(header: str) -> str | tuple[str, str] | None:
    h = header.lower()
    if "(date)" in h or h.endswith("date"):
        return "yyyy-mm-dd"
    if "(share)" in h:
        return "0.0%"
    if "(£m" in h:
        return "#,##0.00"
    if "unit in column" in h:
        return UNIT_COLUMN
    if "(children)" in h or "52-week placements" in h:
        return "#,##0.0"
    if h == "threshold":
        return THRESHOLD_FORMAT
    return None


UNIT_COLUMN = "by the row's unit"  # money to the £10k, as elsewhere; counts to a tenth


def _unit_format(unit) -> str:
    return "#,##0.00" if str(unit).startswith("£m") else "#,##0.0"


# a target's threshold as written: 535 or 4,596,000 (not "535."), or 0.55
THRESHOLD_FORMAT = ("#,##0", "#,##0.######")


def _whole_or_not(value, formats: tuple[str, str]) -> str:
    whole, decimal = formats
    return whole if isinstance(value, (int, float)) and float(value).is_integer() else decimal


def workbook_bytes(sheets: dict[str, pd.DataFrame]) -> bytes:
    """The workbook, one sheet per table: bold wrapped headers, frozen header row, number formats."""
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl", date_format="yyyy-mm-dd", datetime_format="yyyy-mm-dd") as xw:
        for name, df in sheets.items():
            df.to_excel(xw, sheet_name=name, index=False)
            ws = xw.sheets[name]
            ws.freeze_panes = "A2"
            units = list(df["unit"]) if "unit" in df.columns else None
            for j, header in enumerate(df.columns, start=1):
                cell = ws.cell(row=1, column=j)
                cell.font = Font(bold=True)
                cell.alignment = Alignment(wrap_text=True, vertical="top")
                # over every row: a long id or label further down was cut off (QA15)
                width = max([min(len(str(header)), 28)] + [len(str(v)) for v in df.iloc[:, j - 1]])
                ws.column_dimensions[get_column_letter(j)].width = min(max(width + 2, 10), 80)
                fmt = _number_format(str(header))
                if fmt == UNIT_COLUMN:
                    for row, unit in zip(ws.iter_rows(min_row=2, min_col=j, max_col=j), units or []):
                        row[0].number_format = _unit_format(unit)
                elif fmt:
                    for row in ws.iter_rows(min_row=2, min_col=j, max_col=j):
                        row[0].number_format = fmt if isinstance(fmt, str) else _whole_or_not(row[0].value, fmt)
            ws.row_dimensions[1].height = 48
    return buf.getvalue()


def build_outputs(results_dir: str | Path, actuals: str | Path | None = None,
                  warn: Callable[[str], None] | None = None) -> dict[str, bytes]:
    """Every output file's bytes, keyed by file name. Reads only; writes nothing.

    `warn` receives each warning about the inputs (e.g. actual counts dated outside the
    run's months, which cannot be compared); default: `warnings.warn`."""
    res = load_results(results_dir)
    act = load_actuals(actuals, warn=warn) if actuals is not None else None
    plan = tables.choose_plan(res)
    outside = tables.actuals_outside_run(res, plan, act)
    if outside:
        months = tables.month_ranges(tables.monitoring_frame(res, plan, None)["date"])
        (warn or _warn)(f"{actuals}: {len(outside)} actual count(s) dated outside the run's months "
                        f"({months}) are not compared with the plan: {tables.month_ranges(outside)}")
    mon = tables.monitoring_frame(res, plan, act)
    head = tables.headline(res)
    pngs = {
        "lac_fan.png": charts.lac_fan(res, plan),
        "spend_fan.png": charts.spend_fan(res, plan),
        "lever_ranking.png": charts.lever_ranking(res),
        "placement_mix.png": charts.placement_mix(res, plan),
        "monitoring.png": charts.monitoring(res, plan, mon),
    }
    files = dict(pngs)
    files[WORKBOOK] = workbook_bytes(build_sheets(res, plan, mon))
    files[REPORT_HTML] = html.render(res, plan, head, pngs, mon, outside).encode("utf-8")
    if act is not None:
        copy = act.assign(lac_children=act["lac_children"].astype("int64"))
        files[ACTUALS_COPY] = copy.to_csv(index=False, date_format="%Y-%m-%d").encode("utf-8")
    return files


def _warn(msg: str):
    warnings.warn(msg, stacklevel=3)


def report_dir(results_dir: str | Path, out_dir: str | Path | None = None) -> Path:
    """The folder a report of `results_dir` goes to, checked before anything is built or run.

    A new report replaces the folder whole, so an existing one must be empty or an earlier
    report exactly: a file someone added (commentary, a copy of a chart they edited) would
    be deleted with it."""
    results_dir = Path(results_dir)
    out_dir = Path(out_dir) if out_dir is not None else results_dir / REPORT_FOLDER
    r, o = results_dir.resolve(), out_dir.resolve()
    if o == r or o in r.parents:
        raise ReportError(f"{out_dir}: the report folder must not be the results folder or contain it")
    if out_dir.exists():
        if not out_dir.is_dir():
            raise ReportError(f"{out_dir}: exists and is not a folder")
        held = sorted(out_dir.iterdir())
        # (only the actuals' copy left: a report withdrawn when its tables changed, withdraw_report)
        if held and not (out_dir / REPORT_HTML).is_file() and [p.name for p in held] != [ACTUALS_COPY]:
            raise ReportError(f"{out_dir}: exists, is not empty and holds no {REPORT_HTML}; "
                              "refusing to replace a folder that is not a previous report")
        added = [p.name + ("/" if p.is_dir() else "") for p in held if p.name not in REPORT_FILES or not p.is_file()]
        if added:
            more = f" and {len(added) - 5} more" if len(added) > 5 else ""
            raise ReportError(f"{out_dir}: holds {', '.join(added[:5])}{more} besides an earlier report; a new report "
                              "replaces the whole folder, so move them out first or give the report another --out")
    return out_dir


def withdraw_report(results_dir: str | Path) -> None:
    """Remove the report of `results_dir` whose tables are about to change, keeping only its copy of
    the actuals (rewriting the report reads them again): interrupted before the new report was
    written, the folder showed the old one beside tables of more replications (QA22)."""
    out_dir = Path(results_dir) / REPORT_FOLDER
    for name in (REPORT_HTML, WORKBOOK, *CHART_FILES):
        (out_dir / name).unlink(missing_ok=True)


def _publish(files: dict[str, bytes], out_dir: Path):
    """Write `files` into a temporary folder beside `out_dir`, then swap it into place."""
    with atomic_dir(out_dir) as tmp:
        for name, data in files.items():
            (tmp / name).write_bytes(data)


def write_report(results_dir: str | Path, out_dir: str | Path | None = None, *,
                 actuals: str | Path | None = None, warn: Callable[[str], None] | None = None) -> Path:
    """Write report.html, the PNG charts and summary.xlsx for an experiment's results folder.

    results_dir: folder written by the experiment runner (manifest.json, summary.parquet,
        savings.parquet, targets.parquet, monthly_bands.parquet).
    out_dir: where to put the report; default ``results_dir/report``. Replaced as a whole.
    actuals: optional CSV of the council's monthly counts (columns date, lac_children),
        compared with the plan's monthly range; months outside it are flagged as triggers.
        Counts dated outside the run's months are not compared: they are listed in a warning
        (passed to `warn`, default `warnings.warn`) and in the report.

    Returns the path of report.html. Raises ReportError naming the file when an input is
    missing or malformed; nothing is written in that case.
    """
    out_dir = report_dir(results_dir, out_dir)
    files = build_outputs(results_dir, actuals, warn=warn)
    _publish(files, out_dir)
    return out_dir / REPORT_HTML
