"""Reading and checking an experiment's results folder: the runner's contract.

Everything the report draws on is read and checked here, before anything is written, so a
bad folder fails with a `ReportError` that names the file and what is wrong with it.

Files (all required; the tables may have no rows, e.g. no targets):

- ``manifest.json``         what was run: experiment, seed, replications, scenarios, baseline
- ``summary.parquet``       quantiles of every measure per scenario and period (annual/monthly)
- ``savings.parquet``       paired scenario-minus-baseline differences, summarised
- ``targets.parquet``       probability of meeting each of the plan's targets
- ``monthly_bands.parquet`` quantiles of the monthly LAC count, for monitoring
"""

from __future__ import annotations

import json
import os
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..results import manifest_command
from ..ssda903.csvfile import read_csv_strings
from .errors import ReportError

QUANTILES: tuple[str, ...] = ("q05", "q25", "q50", "q75", "q95")
EVIDENCE_KINDS: tuple[str, ...] = ("evidence", "plan-implied", "mixed", "none")
DIRECTIONS: tuple[str, ...] = ("at_most", "at_least")
TOTAL_PERIOD = "total"  # savings rows summed over all years, replication by replication

MANIFEST = "manifest.json"
SUMMARY = "summary.parquet"
SAVINGS = "savings.parquet"
TARGETS = "targets.parquet"
MONTHLY_BANDS = "monthly_bands.parquet"
REQUIRED_FILES: tuple[str, ...] = (MANIFEST, SUMMARY, SAVINGS, TARGETS, MONTHLY_BANDS)

_MANIFEST_REQUIRED = ("experiment", "seed", "replications", "scenarios", "baseline")
_FY = re.compile(r"^(\d{4})-(\d{2})$")
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")


# --------------------------------------------------------------------------- periods
def is_fy_label(period: str) -> bool:
    """True for a financial-year label such as "2015-16" (the second part is year + 1)."""
    m = _FY.match(str(period))
    return bool(m) and (int(m.group(1)) + 1) % 100 == int(m.group(2))


def fy_end(period: str) -> pd.Timestamp:
    """31 March ending the financial year "2015-16" -> 2016-03-31."""
    if not is_fy_label(period):
        raise ValueError(f"not a financial-year label: {period!r}")
    return pd.Timestamp(int(str(period)[:4]) + 1, 3, 31)


def period_date(period: str) -> pd.Timestamp:
    """The date a period stands for: 31 March for a financial year, else the ISO date."""
    if is_fy_label(period):
        return fy_end(period)
    if _ISO.match(str(period)):
        return pd.Timestamp(str(period))
    raise ValueError(f"not a financial year or ISO date: {period!r}")


def _period_strings(s: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(s):
        return s.dt.strftime("%Y-%m-%d")
    return s.map(lambda v: v.strftime("%Y-%m-%d") if hasattr(v, "strftime") else str(v))


# --------------------------------------------------------------------------- records
@dataclass(frozen=True)
class Scenario:
    name: str
    label: str
    description: str = ""
    levers: tuple[str, ...] = ()
    evidence: str = "none"


@dataclass
class Results:
    """A checked results folder. Tables keep the contract's column names."""

    folder: Path
    manifest: dict
    scenarios: list[Scenario]  # manifest order, baseline first
    baseline: str
    summary: pd.DataFrame
    savings: pd.DataFrame
    targets: pd.DataFrame
    monthly_bands: pd.DataFrame
    _by_name: dict = field(default_factory=dict, repr=False)

    def __post_init__(self):
        self._by_name = {s.name: s for s in self.scenarios}

    def scenario(self, name: str) -> Scenario:
        return self._by_name[name]

    def label(self, name: str) -> str:
        return self._by_name[name].label if name in self._by_name else name

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.scenarios]

    @property
    def others(self) -> list[str]:
        """Every scenario except the baseline."""
        return [s.name for s in self.scenarios if s.name != self.baseline]

    @property
    def opening_lac(self) -> float | None:
        """Children looked after when the run starts (None in results from before 0.1.0's last changes)."""
        v = self.manifest.get("opening_lac_children")
        return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None

    @property
    def price_note(self) -> str:
        return str(self.manifest.get("price_note") or "prices not recorded")

    def meta(self, key: str, default: str = "not recorded") -> str:
        v = self.manifest.get(key)
        return default if v is None or v == "" else str(v)

    @property
    def fiscal_years(self) -> list[str]:
        a = self.summary[self.summary["table"] == "annual"]["period"]
        return sorted(p for p in a.unique() if is_fy_label(p))


# --------------------------------------------------------------------------- reading
def _need(path: Path) -> Path:
    if not path.is_file():
        raise ReportError(f"{path.name}: required file is missing from {path.parent}")
    return path


def _read_parquet(path: Path, columns: tuple[str, ...], numeric: tuple[str, ...],
                  may_be_empty: bool = False, complete: tuple[str, ...] = ()) -> pd.DataFrame:
    """The table, checked: its columns there, `numeric` ones numbers and never infinite, and
    the `complete` ones never missing (the experiment writes none there: QA19's edited and
    damaged tables were drawn, or failed with a traceback)."""
    _need(path)
    try:
        df = pd.read_parquet(path)
    except Exception as e:  # pyarrow raises several kinds
        raise ReportError(f"{path.name}: could not be read as Parquet ({e})") from e
    if df.empty and may_be_empty:  # e.g. no targets: the runner may write a table without columns
        df = pd.DataFrame({c: pd.Series(dtype=float if c in numeric else object) for c in columns})
    elif df.empty:
        raise ReportError(f"{path.name}: has no rows")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ReportError(f"{path.name}: missing column(s) {', '.join(missing)}")
    df = df.reset_index(drop=True).copy()
    for c in numeric:
        try:
            df[c] = pd.to_numeric(df[c], errors="raise").astype(float)
        except (ValueError, TypeError) as e:
            raise ReportError(f"{path.name}: column {c} is not numeric ({e})") from e
        bad = np.isinf(df[c].to_numpy()) | (df[c].isna().to_numpy() if c in complete else False)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            what = "a missing" if pd.isna(df[c].iloc[row]) else "an infinite"
            raise ReportError(f"{path.name}: column {c} has {what} value (row {row + 1} of the table), which "
                              "an experiment never writes: was the file edited or damaged? Rerun the same "
                              "`carejourney experiment` command to summarise its chunks again")
    for c in columns:
        if c in numeric:
            continue
        if df[c].isna().any() and c not in ("source",):
            raise ReportError(f"{path.name}: column {c} has missing values")
        df[c] = _period_strings(df[c]) if c == "period" else df[c].astype(str)
    return df


def _read_manifest(folder: Path) -> dict:
    path = _need(folder / MANIFEST)
    try:
        m = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ReportError(f"{MANIFEST}: not valid JSON ({e})") from e
    if not isinstance(m, dict):
        raise ReportError(f"{MANIFEST}: expected a JSON object at the top level")
    missing = [k for k in _MANIFEST_REQUIRED if k not in m]
    if missing:
        raise ReportError(f"{MANIFEST}: missing key(s) {', '.join(missing)}")
    if not isinstance(m["scenarios"], list) or not m["scenarios"]:
        raise ReportError(f"{MANIFEST}: 'scenarios' must be a non-empty list")
    if m.get("complete", True) is False:  # its tables are an earlier batch's, or none
        raise ReportError(f"{folder}: the batch is not finished (interrupted?): rerun the same experiment "
                          "command to complete it, then report")
    return m


def _scenarios(m: dict) -> tuple[list[Scenario], str]:
    out: list[Scenario] = []
    for i, s in enumerate(m["scenarios"]):
        if isinstance(s, str):
            s = {"name": s}
        if not isinstance(s, dict) or not s.get("name"):
            raise ReportError(f"{MANIFEST}: scenarios[{i}] has no 'name'")
        ev = s.get("evidence") or "none"
        if ev not in EVIDENCE_KINDS:
            raise ReportError(
                f"{MANIFEST}: scenario {s['name']!r} has evidence {ev!r}; expected one of {', '.join(EVIDENCE_KINDS)}"
            )
        levers = s.get("levers") or ()
        if isinstance(levers, str):
            levers = (levers,)
        out.append(Scenario(
            name=str(s["name"]), label=str(s.get("label") or s["name"]),
            description=str(s.get("description") or ""), levers=tuple(str(x) for x in levers),
            evidence=ev,
        ))
    names = [s.name for s in out]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ReportError(f"{MANIFEST}: scenario name(s) listed twice: {', '.join(dup)}")
    baseline = str(m["baseline"])
    if baseline not in names:  # the runner may list only the action-plan scenarios
        out.insert(0, Scenario(name=baseline, label="Baseline (no action plan)", evidence="none"))
    else:
        out.sort(key=lambda s: s.name != baseline)  # stable: baseline first
    return out, baseline


def _check_scenarios(df: pd.DataFrame, fname: str, known: list[str]):
    unknown = sorted(set(df["scenario"]) - set(known))
    if unknown:
        raise ReportError(f"{fname}: scenario(s) not listed in {MANIFEST}: {', '.join(unknown)}")


def _read_summary(folder: Path, names: list[str], baseline: str) -> pd.DataFrame:
    cols = ("scenario", "period", "measure", "breakdown", "category", "mean") + QUANTILES
    df = _read_parquet(folder / SUMMARY, cols, ("mean",) + QUANTILES)
    if "table" not in df.columns:  # infer from the period's form
        df["table"] = df["period"].map(lambda p: "annual" if is_fy_label(p) else "monthly" if _ISO.match(p) else "?")
    df["table"] = df["table"].astype(str)
    bad = sorted(set(df["table"]) - {"annual", "monthly"})
    if bad:
        raise ReportError(f"{SUMMARY}: column table has value(s) {', '.join(bad)}; expected annual or monthly")
    ann = df["table"] == "annual"
    bad_p = sorted(set(df.loc[ann, "period"][~df.loc[ann, "period"].map(is_fy_label)]))
    if bad_p:
        raise ReportError(f"{SUMMARY}: annual period(s) not financial-year labels like 2015-16: {', '.join(bad_p[:5])}")
    bad_m = sorted(set(df.loc[~ann, "period"][~df.loc[~ann, "period"].str.match(_ISO.pattern)]))
    if bad_m:
        raise ReportError(f"{SUMMARY}: monthly period(s) not ISO dates like 2015-04-30: {', '.join(bad_m[:5])}")
    key = ["table", "scenario", "period", "measure", "breakdown", "category"]
    if df.duplicated(key).any():
        ex = df[df.duplicated(key)].iloc[0]
        raise ReportError(f"{SUMMARY}: duplicate rows, e.g. {ex['scenario']} {ex['period']} {ex['measure']} "
                          f"{ex['breakdown']}/{ex['category']}")
    _check_scenarios(df, SUMMARY, names)
    absent = [n for n in names if n not in set(df["scenario"])]
    if absent:
        raise ReportError(f"{SUMMARY}: no rows for scenario(s) listed in {MANIFEST}: {', '.join(absent)}")
    for measure, category in (("lac_children", "all"), ("spend_gbp", "all")):
        sel = df[ann & (df["measure"] == measure) & (df["breakdown"] == "total") & (df["category"] == category)]
        lacking = [n for n in names if n not in set(sel["scenario"])]
        if lacking:
            raise ReportError(f"{SUMMARY}: no annual {measure} total/{category} rows for scenario(s) "
                              f"{', '.join(lacking)}")
    return df


def _read_savings(folder: Path, names: list[str], baseline: str) -> pd.DataFrame:
    cols = ("scenario", "period", "measure", "mean") + QUANTILES + ("p_positive",)
    df = _read_parquet(folder / SAVINGS, cols, ("mean",) + QUANTILES + ("p_positive",), may_be_empty=True,
                       complete=("mean",) + QUANTILES + ("p_positive",))
    _check_scenarios(df, SAVINGS, names)
    bad = sorted({p for p in df["period"] if p != TOTAL_PERIOD and not is_fy_label(p)})
    if bad:
        raise ReportError(f"{SAVINGS}: period(s) neither financial-year labels nor 'total': {', '.join(bad[:5])}")
    return df[df["scenario"] != baseline].reset_index(drop=True)  # baseline - baseline = 0


def _read_targets(folder: Path, names: list[str]) -> pd.DataFrame:
    cols = ("scenario", "target", "period", "measure", "threshold", "direction", "probability")
    df = _read_parquet(folder / TARGETS, cols, ("threshold", "probability"), may_be_empty=True,
                       complete=("threshold", "probability"))
    df["source"] = df["source"].fillna("").astype(str) if "source" in df.columns else ""
    # results written before targets kept their breakdown (QA22) held only totals' targets... or did not say
    for col, default in (("breakdown", "total"), ("category", "all")):
        df[col] = df[col].fillna(default).astype(str) if col in df.columns else default
    _check_scenarios(df, TARGETS, names)
    bad = sorted(set(df["direction"]) - set(DIRECTIONS))
    if bad:
        raise ReportError(f"{TARGETS}: direction value(s) {', '.join(bad)}; expected at_most or at_least")
    if ((df["probability"] < 0) | (df["probability"] > 1)).any():
        raise ReportError(f"{TARGETS}: probability must lie between 0 and 1")
    try:
        # a saving target may be over the whole run ("total"), which has no one date (QA14: it broke the report)
        df["date"] = df["period"].map(lambda p: pd.NaT if p == TOTAL_PERIOD else period_date(p))
    except ValueError as e:
        raise ReportError(f"{TARGETS}: {e}") from e
    return df


def _read_bands(folder: Path, names: list[str]) -> pd.DataFrame:
    df = _read_parquet(folder / MONTHLY_BANDS, ("scenario", "period") + QUANTILES, QUANTILES, complete=QUANTILES)
    _check_scenarios(df, MONTHLY_BANDS, names)
    try:
        df["date"] = pd.to_datetime(df["period"], format="%Y-%m-%d")
    except (ValueError, TypeError) as e:
        raise ReportError(f"{MONTHLY_BANDS}: period must be ISO dates like 2015-04-30 ({e})") from e
    if df.duplicated(["scenario", "date"]).any():
        raise ReportError(f"{MONTHLY_BANDS}: more than one row for the same scenario and month")
    return df.sort_values(["scenario", "date"]).reset_index(drop=True)


def load_results(results_dir: str | Path) -> Results:
    """Read and check every file the report needs; raise ReportError on the first problem."""
    folder = Path(results_dir)
    if folder.is_file():
        raise ReportError(f"{folder}: is a file; give the folder an experiment wrote its results to")
    if not folder.is_dir():
        raise ReportError(f"{folder}: results folder does not exist")
    other = manifest_command(folder)
    if other not in (None, "experiment"):  # QA: said only "summary.parquet: required file is missing"
        raise ReportError(f"{folder}: holds the results of `carejourney {other}`, not of an experiment; `report` "
                          "reads the folder `carejourney experiment` writes")
    try:
        # first: an interrupted batch has no tables yet, and is named so, not by
        # "summary.parquet: required file is missing" (QA19)
        m = _read_manifest(folder) if (folder / MANIFEST).is_file() else None
    except ReportError as err:
        raise _in_folder(err, folder) from None
    for name in REQUIRED_FILES:  # report every absent file by name, before parsing any
        _need(folder / name)
    try:
        scenarios, baseline = _scenarios(m)
        names = [s.name for s in scenarios]
        return Results(
            folder=folder, manifest=m, scenarios=scenarios, baseline=baseline,
            summary=_read_summary(folder, names, baseline),
            savings=_read_savings(folder, names, baseline),
            targets=_read_targets(folder, names),
            monthly_bands=_read_bands(folder, names),
        )
    except ReportError as err:
        raise _in_folder(err, folder) from None


def _in_folder(err: ReportError, folder: Path) -> ReportError:
    """'summary.parquet: ...' names the file; say in which folder (QA)."""
    text = str(err)
    return ReportError(f"{folder}{os.sep}{text}") if text.split(":", 1)[0] in REQUIRED_FILES else err


# --------------------------------------------------------------------------- actuals
def _first_bad(path: Path, raw: pd.Series, parsed: pd.Series, column: str, expected: str):
    """Raise a one-line ReportError naming the file, the row and the field of the first
    value that did not parse (`parsed` is NaN/NaT there although `raw` is not blank)."""
    bad = parsed.isna() & raw.notna()
    if not bad.any():
        return
    i = bad[bad].index[0]
    more = int(bad.sum()) - 1
    also = f" (and {more} more row(s) like it)" if more else ""
    value = str(raw[i]).strip()
    shown = repr(value) if len(value) <= 40 else f"{value[:40]!r}... ({len(value):,} characters)"
    raise ReportError(f"{path}: {_where(i, column)}: {shown} is not {expected}{also}")


def _row(index: int) -> int:
    """The row of the file a data row came from, as a spreadsheet shows it (the header is row 1,
    blank rows count), as the published figures' and the SSDA903 returns' messages name rows."""
    return int(index) + 2


def _where(index: int, column: str) -> str:
    return f"row {_row(index)}, field {column!r}"


MAX_ACTUAL = 1_000_000  # more children than any council has looked after: a typo or a unit slip


def load_actuals(path: str | Path, warn: Callable[[str], None] | None = None) -> pd.DataFrame:
    """A council's monthly counts: CSV with columns date, lac_children.

    Counts must be whole numbers from 0 to 1,000,000. A date that is not a month end is
    taken as the end of its month (the report's bands are month ends), and `warn` is told.
    A bad value raises a ReportError naming the file, its row as a spreadsheet shows it (the
    header is row 1) and the field."""
    path = Path(path)
    if path.is_dir():
        raise ReportError(f"{path}: is a folder, not an actuals CSV file")
    if not path.is_file():
        raise ReportError(f"{path}: actuals file is missing")
    df = _read_table(path)
    missing = [c for c in ("date", "lac_children") if c not in df.columns]
    if missing:
        raise ReportError(f"{path}: missing column(s) {', '.join(missing)}")
    df = df[["date", "lac_children"]].apply(lambda c: c.str.strip()).replace("", None).dropna(how="all")
    if df.empty:
        raise ReportError(f"{path}: no rows (expected a header date,lac_children and one row per month)")
    for column in ("date", "lac_children"):
        blank = df[column].isna()
        if blank.any():
            raise ReportError(f"{path}: {_where(blank[blank].index[0], column)}: blank value")
    dates = df["date"].map(_parse_date)
    _first_bad(path, df["date"], dates, "date", "a date (expected YYYY-MM-DD or DD/MM/YYYY)")
    # '1,000' (a spreadsheet's thousands separator, the cell quoted) is a thousand; '1,0,00' is not
    counts = df["lac_children"].where(~df["lac_children"].str.fullmatch(r"\d{1,3}(,\d{3})+"),
                                      df["lac_children"].str.replace(",", "", regex=False))
    lac = pd.to_numeric(counts, errors="coerce").astype(float)
    _first_bad(path, df["lac_children"], lac, "lac_children", "a number")
    count = lac.between(0, MAX_ACTUAL) & (lac % 1 == 0)
    _first_bad(path, df["lac_children"], lac.where(count), "lac_children",
               f"a count of children (a whole number from 0 to {MAX_ACTUAL:,})")
    given = pd.DatetimeIndex(dates.to_list()).normalize()
    month_end = given.to_period("M").to_timestamp(how="end").normalize()
    moved = month_end != given
    if moved.any():
        i = int(moved.argmax())
        (warn or _warn)(f"{path}: {int(moved.sum())} date(s) are not month ends and were taken as the end "
                        f"of their month, e.g. row {_row(df.index[i])}: {df['date'].iloc[i]} -> "
                        f"{month_end[i]:%Y-%m-%d} (the report's bands are month ends)")
    out = pd.DataFrame({"date": month_end, "lac_children": lac.to_numpy()}, index=df.index)
    twice = out["date"].duplicated(keep=False)
    if twice.any():
        d = out.loc[twice, "date"].iloc[0]
        first, second = out.index[twice & (out["date"] == d)][:2]
        raise ReportError(f"{path}: rows {_row(first)} and {_row(second)}: more than one count for the "
                          f"month ending {d:%Y-%m-%d}")
    return out.sort_values("date").reset_index(drop=True)


def _read_table(path: Path) -> pd.DataFrame:
    """The file's cells as strings, columns lower-cased, index i being row i + 2 (the header
    is row 1). Read as the SSDA903 returns are (csvfile.read_csv_strings), not with pandas,
    which takes a trailing comma on every data row as an index column and a repeated column
    as two; a byte-order mark or Windows-1252 is read too."""
    table, problems = read_csv_strings(path, str(path), kind="actuals files")
    if problems:
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        raise ReportError(f"{_problem_text(problems[0])}{more}")
    table.index = table.pop("source_row") - 2
    table.columns = [c.lower() for c in table.columns]
    return table


def _problem_text(p) -> str:
    """A csvfile Problem written as this module writes its own: 'a.csv: row 3, field 'date': ...'."""
    where = [f"row {p.row}"] if p.row is not None else []
    if p.field is not None:
        where.append(f"field {p.field.lower()!r}")
    return f"{p.file}: {', '.join(where) + ': ' if where else ''}{p.message}"


def _warn(msg: str):
    warnings.warn(msg, stacklevel=3)


_UK_DATE = re.compile(r"^\d{1,2}/\d{1,2}/\d{4}$")


def _parse_date(text: str) -> pd.Timestamp:
    """One ISO 8601 date, or DD/MM/YYYY as in SSDA903 returns and UK spreadsheets; NaT if
    it is neither."""
    try:
        if _UK_DATE.match(text):
            return pd.to_datetime(text, format="%d/%m/%Y")
        ts = pd.to_datetime(text, format="ISO8601")
    except (ValueError, TypeError, OverflowError):
        return pd.NaT
    return ts.tz_localize(None) if ts.tzinfo is not None else ts
