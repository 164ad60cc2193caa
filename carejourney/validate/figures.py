"""Read a CSV of published figures (the shape of ../shared/data/published_figures.csv).

Columns: quantity, geography, period, value, unit, source_title, source_address, note. The
first four are required; the others are filled with "" when absent.

What the reader does, so that nothing downstream has to guess:

- `period` is the year ending 31 March ("2016" = the 2015-16 year, or the stock at 31
  March 2016). "2015-16", "2015/16" and "2016-03-31" are read as the same year. A period
  written as something else on purpose ("c.2016", "2009-2011", "2006/07 cohort",
  "2019/20-ish (CMA interim 2021)", "2015-18 (3-yr average)") keeps `year` empty and is
  reported as "not compared" by `compare`, with the reason. Anything else ("20x6",
  "2016-17a", "2016-15", an empty cell, a year before 1900 or after 2100) is a typo: refused.
- `model_period` is the simulation's label for that year ('2015-16' for 2016).
- A quantity ending " (revised series)" is the DfE's revised time series of a later
  release; `base_quantity` drops the suffix and `series` says "revised" or
  "first published", so both vintages of the same year can be told apart.
- Composite values ("639 / 547 / 487") are split. When the period splits into as many
  parts ("2012 / 2014 / 2015") the row becomes one row per part; otherwise the value is
  not used as a number (`value` empty, `value_text` kept) and the note says why.
- Numbers may contain thousands separators ("1,500"). DfE suppression markers
  (x, c, z, :, .., -, empty) give an empty value with the reason in `value_problem`.
- DfE national counts are rounded to the nearest 10 (data README); `rounding` is the
  half-width of that rounding (5 for England counts of children, 0.5 for rates per
  10,000, which are published as whole numbers, else 0).
- `row` is the row of the CSV file the figure came from as a spreadsheet shows it (the
  header is row 1, blank rows count); every message names rows this way.
- Refused, naming the row and the field: a period as above; a value that is neither a
  number nor a suppression marker (each part of a composite value is checked); a negative
  or infinite value; a count of children over 1,000,000; a unit that contradicts the unit
  the mapping compares the quantity in (e.g. "percent" on "CLA at 31 March", compared in
  "children"; an empty unit is not checked); the same quantity, geography and year given
  twice with different values (both rows).
- With a `geography`, only the rows of that geography (and rows naming none) must be
  usable: a bad row of another council must not stop this one's comparison. Those rows are
  left out and their problems added to `elsewhere` if the caller passes a list. Without
  one (`fit`, the Python API) every row must be usable.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..ssda903.csvfile import read_csv_strings
from .mapping import expected_unit

REQUIRED_COLUMNS = ("quantity", "geography", "period", "value")
OPTIONAL_COLUMNS = ("unit", "source_title", "source_address", "note")
REVISED_SUFFIX = " (revised series)"
# not available or suppressed, as the DfE and ONS write it (with or without brackets: [c], [low])
SUPPRESSED = {"", "x", "c", "z", "u", "low", ":", "..", "-", "—", "n/a", "n.a.", "na", "nan", "<5"}
NATIONAL = "england"
MAX_COUNT = 1_000_000  # more children than England has ever looked after, started or ceased in a year
# a period typed or pasted with an en dash, em dash or minus sign ('2015–16') means 2015-16
DASHES = str.maketrans({"\u2013": "-", "\u2014": "-", "\u2212": "-"})
# the published series start in the 1990s: a year outside these is a typo (0216, 2106)
FIRST_YEAR, LAST_YEAR = 1900, 2100
# a period that is not one year, written so on purpose: an approximate year (c.2016), a span
# (2009-2011, 2015-18), or a year followed by words ("2006/07 cohort", "2019/20-ish (...)")
_DESCRIBED = re.compile(r"(?:c\.\s?)?(\d{4})(?:[-/](\d{4}|\d{2}))?(?:\s+.*[a-z].*|-[a-z].*)?", re.IGNORECASE)


class FiguresError(ValueError):
    """A figures file that cannot be used; the message names the file, row and field."""


def financial_year_label(year_ending: int) -> str:
    """'2015-16' for the year ending 31 March 2016 (the model's `period` label)."""
    return f"{year_ending - 1}-{year_ending % 100:02d}"


def parse_period(text) -> int | None:
    """The year ending 31 March a published period refers to, or None if it is not one."""
    s = str(text).strip().translate(DASHES)
    m = re.fullmatch(r"(\d{4})(?:\.0)?", s)
    if m:
        return int(m.group(1))
    m = re.fullmatch(r"(\d{4})[-/](\d{2}|\d{4})", s)
    if m:
        first = int(m.group(1))
        nxt = _second_year(first, m.group(2))
        if nxt == first + 1:
            return nxt
        return None
    m = re.fullmatch(r"(\d{4})-03-31", s)
    if m:
        return int(m.group(1))
    return None


def _second_year(first: int, second: str) -> int:
    """The second year of '2015-16' or '2015-2016' (2016): two digits are in the century of first + 1."""
    return int(second) if len(second) == 4 else (first + 1) // 100 * 100 + int(second)


def period_problem(text) -> str:
    """Why a published period is a typo rather than a year or a described period, or ""."""
    s = str(text).strip().translate(DASHES)
    if not s:
        return "empty (write the year ending 31 March, e.g. 2016 or 2015-16)"
    parts = split_composite(s)
    if len(parts) > 1:  # '2012 / 2014' left whole (its value is not split over it): each part must read
        return next((why for why in map(period_problem, parts) if why), "")
    year = parse_period(s)
    if year is not None:
        first = last = year
    else:
        m = _DESCRIBED.fullmatch(s)
        if m is None:
            return (f"{s!r} is not a year ending 31 March (write 2016, 2015-16, 2015/16 or 2016-03-31; a period "
                    "that is not one year must read as one, e.g. c.2016, 2009-2011 or 2015-18 (3-yr average))")
        first = last = int(m.group(1))
        if m.group(2):
            last = _second_year(first, m.group(2))
            if last <= first:
                return f"{s!r} does not end after it starts (the year ending 31 March 2016 is written 2015-16)"
    if not (FIRST_YEAR <= first and last <= LAST_YEAR):
        return f"{s!r} is not a year from {FIRST_YEAR} to {LAST_YEAR} (a typo?)"
    return ""


# a number as published: digits, commas only between thousands, a decimal part, a £ or a sign
_NUMBER = re.compile(r"[-+]?£?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?|[-+]?£?\.\d+")


def _suppressed(text: str) -> bool:
    return text.strip().strip("[]").lower() in SUPPRESSED


def _number(text: str) -> float:
    """A published number ('1,607', '£3,538', '0.45'); '1,6,07' or '1_000' is a typo, not a number."""
    s = text.strip()
    if not _NUMBER.fullmatch(s):
        raise ValueError(s)
    return float(s.replace(",", "").replace("£", ""))


def split_composite(text: str) -> list[str]:
    """'639 / 547 / 487' -> ['639', '547', '487']; a plain value -> [value]."""
    return [p.strip() for p in str(text).split(" / ")] if " / " in str(text) else [str(text).strip()]


def _rounding(geography: str, unit: str) -> float:
    unit = unit.lower()
    if "per 10,000" in unit or "per 10000" in unit:
        return 0.5
    if geography.strip().lower() == NATIONAL and unit.startswith("children"):
        return 5.0
    return 0.0


def _value_problem(value: float, quantity: str, unit: str) -> str:
    """What is wrong with a published number ('value': ... or 'unit': ...), or ""."""
    if not math.isfinite(value) or value < 0:
        return f"'value': {value:g} is not a published figure (expected a number, 0 or more)"
    expected = expected_unit(quantity[: -len(REVISED_SUFFIX)] if quantity.lower().endswith(REVISED_SUFFIX)
                             else quantity)
    if expected and unit and not unit.lower().replace(",", "").startswith(expected.replace(",", "")):
        return (f"'unit': {unit!r} does not fit {quantity!r}, which the model compares in {expected!r} "
                f"(validate/mapping.py)")
    if expected == "children" and value > MAX_COUNT:
        return f"'value': {value:g} children is not a plausible count (more than {MAX_COUNT:,})"
    return ""


def _conflicting_duplicates(rows: list[dict]) -> list[tuple[dict, str]]:
    """(the later row, the problem) per quantity, geography and year given more than once with
    different values."""
    seen: dict[tuple, dict] = {}
    problems = []
    for r in rows:
        if r["year"] is None or np.isnan(r["value"]):
            continue
        key = (" ".join(r["quantity"].lower().split()), _geography_key(r["geography"]), r["year"])
        first = seen.setdefault(key, r)
        if first is not r and first["value"] != r["value"]:
            problems.append((r, f"rows {first['row']} and {r['row']}: {r['quantity']!r} for {r['geography']} in "
                                f"{r['year']} is given twice with different values ({first['value']:g} and "
                                f"{r['value']:g}); keep one"))
    return problems


def read_figures(path: str | Path, geography: str | None = None,
                 elsewhere: list[str] | None = None) -> pd.DataFrame:
    """Read and check a published-figures CSV; see the module docstring for the columns added
    and for `geography` and `elsewhere`."""
    path = Path(path)
    if not path.exists():
        raise FiguresError(f"{path}: no such file")
    if path.is_dir():
        raise FiguresError(f"{path}: is a folder, not a figures CSV file")
    # read as SSDA903 returns are (csvfile.read_csv_strings), not with pandas, which drops
    # blank lines (misnumbering every later row), takes trailing commas as an index column
    # and keeps a repeated column twice
    try:
        raw, problems = read_csv_strings(path, path.name, kind="figures files")
    except OSError as err:
        raise FiguresError(f"{path}: cannot be read ({err.strerror or err})") from None
    if problems:
        raise FiguresError(f"{path}: not a readable figures CSV:\n  - {_listed([str(p) for p in problems])}")
    return figures_from_frame(raw, str(path), geography, elsewhere)


def _listed(problems: list[str]) -> str:
    """The first 20 problems, one a line, and how many more."""
    more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
    return "\n  - ".join(problems[:20]) + more


def figures_from_frame(raw: pd.DataFrame, source: str = "<figures>", geography: str | None = None,
                       elsewhere: list[str] | None = None) -> pd.DataFrame:
    """Check a raw figures table (all columns as text) and add the derived columns."""
    raw = raw.rename(columns=lambda c: str(c).strip().lower())
    missing = [c for c in REQUIRED_COLUMNS if c not in raw.columns]
    if missing:
        raise FiguresError(f"{source}: missing column(s) {', '.join(repr(c) for c in missing)}; "
                           f"the header must name {', '.join(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)} "
                           f"(found {', '.join(str(c) for c in raw.columns if c != 'source_row') or 'none'})")
    raw = raw.copy()
    for c in OPTIONAL_COLUMNS:
        if c not in raw.columns:
            raw[c] = ""
    lines = raw.pop("source_row").tolist() if "source_row" in raw.columns else range(2, len(raw) + 2)
    raw = raw.fillna("").astype(str)
    problems, rows = [], []  # problems: (geography, message)
    for line, r in zip(lines, raw.to_dict("records")):
        quantity, geography_of_row = r["quantity"].strip(), r["geography"].strip()
        bad = _row_problem(r, quantity, geography_of_row)
        if bad:
            problems.append((geography_of_row, f"row {line}, field {bad}"))
            continue
        rows += _figure_rows(r, quantity, geography_of_row, line)
    problems += [(r["geography"], msg) for r, msg in _conflicting_duplicates(rows)]
    ours = [msg for g, msg in problems if _is_ours(g, geography)]
    if ours:
        raise FiguresError(f"{source}: {len(ours)} problem(s):\n  - {_listed(ours)}")
    if elsewhere is not None:
        elsewhere += [f"{msg} ({g})" for g, msg in problems if not _is_ours(g, geography)]
    out = pd.DataFrame(rows, columns=["quantity", "geography", "period", "value", "unit", "source_title",
                                      "source_address", "note", "base_quantity", "series", "year",
                                      "model_period", "value_text", "value_problem", "rounding", "row"])
    out["year"] = out["year"].astype("Int64")
    out["value"] = out["value"].astype(float)
    return out


def _is_ours(geography_of_row: str, geography: str | None) -> bool:
    """Whether a row's problem stops this reading: every row's when no geography is compared,
    else the compared geography's and a row naming none (it may be meant for it)."""
    row = _geography_key(geography_of_row)
    return geography is None or not row or row == _geography_key(geography)


def _split(r: dict) -> tuple[list[str], list[str], bool]:
    """A row's value and period split where they are composite ('45 / 52'), and whether the
    parts pair up one value to one period."""
    values, periods = split_composite(r["value"]), split_composite(r["period"])
    return values, periods, len(values) > 1 and len(periods) == len(values)


def _row_problem(r: dict, quantity: str, geography: str) -> str:
    """What makes a row unusable ("'field': why"), or "": checked before any figure is made of it."""
    if not quantity:
        return "'quantity': empty"
    if not geography:
        return "'geography': empty"
    values, periods, paired = _split(r)
    for period in periods if paired else [r["period"]]:
        why = period_problem(period)
        if why:
            return f"'period': {why}"
    for value_text in values:
        if _suppressed(value_text):
            continue
        try:
            value = _number(value_text)
        except ValueError:
            part = f" (in {r['value']!r})" if len(values) > 1 else ""
            return (f"'value': {value_text!r}{part} is not a number "
                    "(use a plain number, or x for a suppressed figure)")
        if len(values) == 1 or paired:  # an unpaired composite is not used as a number
            bad = _value_problem(value, quantity, r["unit"].strip())
            if bad:
                return bad
    return ""


def _figure_rows(r: dict, quantity: str, geography: str, line: int) -> list[dict]:
    """The figures of one checked row: one, or one per part of a composite value split over periods."""
    values, periods, paired = _split(r)
    if paired:
        pairs = list(zip(values, periods))
        composite = "split from composite value " + repr(r["value"]) + " over periods " + repr(r["period"])
    elif len(values) > 1:
        pairs = [(None, r["period"].strip())]
        composite = (f"composite value {r['value']!r} does not pair with period {r['period']!r}: "
                     "not used as a number")
    else:
        pairs = [(values[0], periods[0] if len(periods) == 1 else r["period"].strip())]
        composite = ""
    out = []
    for value_text, period in pairs:
        value, value_problem = np.nan, composite if value_text is None else ""
        if value_text is not None:
            if _suppressed(value_text):
                value_problem = f"value {value_text!r} is suppressed or not available"
            else:
                value = _number(value_text)
        base = quantity
        series = "first published"
        if base.lower().endswith(REVISED_SUFFIX):
            base, series = base[: -len(REVISED_SUFFIX)].strip(), "revised"
        year = parse_period(period)
        out.append({
            "quantity": quantity, "geography": geography, "period": period,
            "value": value, "unit": r["unit"].strip(), "source_title": r["source_title"].strip(),
            "source_address": r["source_address"].strip(),
            "note": "; ".join(x for x in (r["note"].strip(), composite if value_text is not None else "") if x),
            "base_quantity": base, "series": series,
            "year": year, "model_period": financial_year_label(year) if year else None,
            "value_text": r["value"], "value_problem": value_problem,
            "rounding": _rounding(geography, r["unit"]), "row": line,
        })
    return out


def ensure_figures(figures: pd.DataFrame, source: str = "<figures>") -> pd.DataFrame:
    """Accept either read_figures' output or a raw table with the published columns."""
    needed = {"base_quantity", "series", "year", "model_period", "rounding", "row", "value_problem"}
    if needed <= set(figures.columns):
        return figures
    raw = figures.copy()
    for c in raw.columns:
        raw[c] = raw[c].map(lambda v: "" if v is None or (isinstance(v, float) and np.isnan(v)) else
                            (str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)))
    return figures_from_frame(raw, source)


def select_geography(figures: pd.DataFrame, geography: str, source: str = "<figures>") -> pd.DataFrame:
    """The figures of one geography (case-insensitive); an unknown name is an error listing the known."""
    known = sorted(figures["geography"].unique())
    wanted = _geography_key(geography)
    keys = figures["geography"].map(_geography_key)
    if not (keys == wanted).any():
        raise FiguresError(f"{source}: no figures for geography {geography!r} "
                           f"(field 'geography'; the file has {', '.join(known) or 'none'})")
    return figures[keys == wanted].copy()


def _geography_key(name) -> str:
    """A geography as compared: case and runs of spaces do not matter ('cambridgeshire ' is
    Cambridgeshire), as for duplicates and for which rows' problems stop a reading."""
    return " ".join(str(name).lower().split())
