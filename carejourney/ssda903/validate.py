"""Checks on one file's table of strings: columns, dates, codes for its year, dates in order.

Every check returns Problems instead of raising, so that a file's problems are all reported
together. Values are echoed in messages except identifiers and dates of birth.
"""

from __future__ import annotations

import re

import pandas as pd

from ..calendar import fy_label, year_ending_31_march
from . import codes
from .errors import Problem

# Columns the pipeline needs, per file kind; a missing one is a problem.
REQUIRED_COLUMNS = {
    "header": ("CHILD", "SEX", "DOB"),
    "episodes": ("CHILD", "DECOM", "RNE", "LS", "CIN", "PLACE", "PLACE_PROVIDER", "DEC", "REC"),
    "uasc": ("CHILD", "DUC"),
}
# Columns kept when present; every other column (identifiers, postcodes, unknown) is dropped.
OPTIONAL_COLUMNS = {"header": ("ETHNIC",), "episodes": ("REASON_PLACE_CHANGE",), "uasc": ("SEX", "DOB")}
# Optional coded fields the pipeline keeps but does not check against a code list: upper-cased
# all the same, so that 'carpl' and 'CARPL' in two returns are one episode, not two.
FREE_CODE_FIELDS = ("ETHNIC", "REASON_PLACE_CHANGE")
DATE_FIELDS = {"header": ("DOB",), "episodes": ("DECOM", "DEC"), "uasc": ("DOB", "DUC")}
NOT_ECHOED = ("CHILD", "DOB")  # never quoted in a message
DATE_FORMATS = ("%d/%m/%Y", "%Y-%m-%d")
# '14/10/2015 00:00', '2015-10-14T00:00:00.000', and at UTC midnight '...T00:00:00Z' (QA17: refused)
MIDNIGHT = r"(?<=\d)[ Tt]00:00(?::00(?:\.0+)?)?(?:Z|[+-]00:?00)?$"
DATE_DTYPE = "datetime64[ns]"
FIRST_DATE_YEAR, LAST_DATE_YEAR = 1900, 2099  # dates outside are typos


def year_bounds(year: int) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First and last day of a collection year (1 April to 31 March)."""
    return pd.Timestamp(year - 1, 4, 1), pd.Timestamp(year, 3, 31)


def collection_year(date: pd.Timestamp) -> int:
    """The collection year (a return's year ending 31 March) that holds `date`."""
    return year_ending_31_march(date)


def parse_dates(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(dates, bad): dd/mm/yyyy or yyyy-mm-dd (optionally at midnight, 00:00 or 00:00:00) from
    FIRST_DATE_YEAR to LAST_DATE_YEAR; blank gives NaT;
    `bad` marks non-blank values that are not such dates (01/01/9999 is a typo, and outside
    what a nanosecond timestamp holds)."""
    parsed = pd.Series(pd.NaT, index=values.index, dtype=DATE_DTYPE)
    # SQL and spreadsheet exports write dates as midnight date-times: the date is what counts
    dates_only = values.str.replace(MIDNIGHT, "", regex=True)
    for fmt in DATE_FORMATS:
        todo = parsed.isna()
        found = pd.to_datetime(dates_only[todo], format=fmt, errors="coerce")
        years = found.dt.year
        parsed[todo] = found.where((years >= FIRST_DATE_YEAR) & (years <= LAST_DATE_YEAR)).astype(DATE_DTYPE)
    bad = parsed.isna() & values.ne("")
    return parsed, bad


def check_columns(table: pd.DataFrame, kind: str, label: str) -> list[Problem]:
    return [
        Problem(label, 1, col, f"required column {col} is missing from the {kind} file")
        for col in REQUIRED_COLUMNS[kind]
        if col not in table.columns
    ]


def _rows(label: str, table: pd.DataFrame, mask: pd.Series, field: str, message) -> list[Problem]:
    """One Problem per row where mask is True; message is a str or a function of the value."""
    hits = table.loc[mask.fillna(False).astype(bool)]
    out = []
    for row, value in zip(hits["source_row"], hits[field] if field in hits else [""] * len(hits)):
        text = message(value) if callable(message) else message
        out.append(Problem(label, int(row), field, text))
    return out


def _describe(field: str, value: object) -> str:
    return "" if field in NOT_ECHOED else f" '{value}'"


def check_dates(table: pd.DataFrame, kind: str, label: str) -> tuple[dict[str, pd.Series], list[Problem]]:
    dates: dict[str, pd.Series] = {}
    problems: list[Problem] = []
    for field in DATE_FIELDS[kind]:
        if field not in table:
            continue
        parsed, bad = parse_dates(table[field])
        dates[field] = parsed
        problems += _rows(
            label,
            table,
            bad,
            field,
            lambda v, f=field: (
                f"{_describe(f, v).strip() or 'value'} is not a date (dd/mm/yyyy or yyyy-mm-dd, "
                f"{FIRST_DATE_YEAR} to {LAST_DATE_YEAR}){_date_hint(v)}"
            ),
        )
    return dates, problems


def _date_hint(value: str) -> str:
    """What a spreadsheet probably did to a date, for the message (never echoes the value)."""
    if re.fullmatch(r"\d{5}(\.\d+)?", value):
        return ": an Excel date serial number? Format the column as a date (dd/mm/yyyy) before saving"
    us = re.fullmatch(r"(\d{1,2})/(\d{1,2})/\d{4}", value)
    if us and int(us.group(1)) <= 12 < int(us.group(2)) <= 31:  # QA18: no word on the order
        return (": month/day/year (US order)? Dates are read day/month/year; a file in US order reads its "
                "other dates wrongly too")
    if re.search(r"[Tt ]00:00(:00(\.0+)?)?\s*[+-]\d{2}:?\d{2}$", value):  # QA18: blamed on the time
        return ": a time-zone offset (other than Z or +00:00) is not read; save the column as dates only"
    if re.search(r"\d[ Tt]\d{1,2}:\d{2}", value):
        return ": a time of day other than midnight (00:00) is not read; save the column as dates only"
    return ""


def upper_case_codes(table: pd.DataFrame, year: int) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    """(table, codes changed): a code in lower case ('c2', 'u4': hand-typed or from a
    spreadsheet) is read as the valid code it spells. A value that is no valid code even in
    upper case is left as written, so the check refuses it quoting the file's own value.
    Codes changed: one frame per field with any, of source_row, CHILD, field, value (as written)."""
    valid = codes.valid_codes(year)
    table = table.copy()
    changed = []
    for field in (f for f in codes.CODED_FIELDS + FREE_CODE_FIELDS if f in table):
        upper = table[field].str.upper()
        fixed = upper.ne(table[field])
        if field in valid:
            fixed &= upper.isin(valid[field])
        if fixed.any():
            changed.append(table.loc[fixed, ["source_row", "CHILD"]].assign(field=field, value=table.loc[fixed, field]))
            table.loc[fixed, field] = upper[fixed]
    return table, changed


def _check_code(table, label, field, valid, year, required_mask) -> list[Problem]:
    values = table[field]
    blank = values.eq("")
    problems = _rows(label, table, blank & required_mask, field, f"{field} is blank")
    invalid = ~blank & ~values.isin(valid)
    return problems + _rows(
        label,
        table,
        invalid,
        field,
        lambda v: f"'{v}' is not a valid {field} code in {fy_label(year - 1)}",
    )


def check_header(table: pd.DataFrame, label: str, year: int) -> tuple[dict[str, pd.Series], list[Problem]]:
    valid = codes.valid_codes(year)
    dates, problems = check_dates(table, "header", label)
    everyone = pd.Series(True, index=table.index)
    problems += _rows(label, table, table["CHILD"].eq(""), "CHILD", "CHILD is blank")
    problems += _check_code(table, label, "SEX", valid["SEX"], year, everyone)
    problems += _rows(label, table, table["DOB"].eq(""), "DOB", "DOB is blank")
    problems += _born_after(label, table, dates["DOB"], year)
    # one child, one header row: identical repeats are cleaned later, conflicting ones are errors
    key = table[["CHILD", "DOB"]].assign(SEX=table["SEX"].map(codes.SEX_CANONICAL).fillna(table["SEX"]))
    repeated_child = table["CHILD"].duplicated(keep=False) & table["CHILD"].ne("")
    conflicting = repeated_child & ~key.duplicated(keep=False)
    problems += _rows(
        label,
        table,
        conflicting,
        "CHILD",
        "the same CHILD appears on another row with a different SEX or DOB",
    )
    return dates, problems


def check_episodes(table: pd.DataFrame, label: str, year: int) -> tuple[dict[str, pd.Series], list[Problem]]:
    valid = codes.valid_codes(year)
    dates, problems = check_dates(table, "episodes", label)
    everyone = pd.Series(True, index=table.index)
    problems += _rows(label, table, table["CHILD"].eq(""), "CHILD", "CHILD is blank")
    problems += _rows(label, table, table["DECOM"].eq(""), "DECOM", "DECOM is blank")
    for field in ("RNE", "LS", "CIN", "PLACE"):
        problems += _check_code(table, label, field, valid[field], year, everyone)
    needs_provider = table["PLACE"].isin(codes.PROVIDER_DEPENDENT_PLACES)
    problems += _check_code(table, label, "PLACE_PROVIDER", valid["PLACE_PROVIDER"], year, needs_provider)
    has_dec = table["DEC"].ne("")
    problems += _check_code(table, label, "REC", valid["REC"], year, has_dec)
    problems += _rows(label, table, ~has_dec & table["REC"].ne(""), "DEC", "REC is given but DEC is blank")

    decom, dec = dates["DECOM"], dates["DEC"]
    start, end = year_bounds(year)
    span = fy_label(year - 1)
    problems += _rows(label, table, dec < decom, "DEC", lambda v: f"episode ends ({v}) before it starts")
    problems += _rows(
        label, table, decom > end, "DECOM", lambda v: f"episode starts ({v}) after the {span} collection year"
    )
    problems += _rows(
        label, table, dec > end, "DEC", lambda v: f"episode ends ({v}) after the {span} collection year"
    )
    problems += _rows(
        label, table, dec < start, "DEC", lambda v: f"episode ended ({v}) before the {span} collection year"
    )
    late = (decom > end) | (dec > end)
    next_end = year_bounds(year + 1)[1]
    if late.mean() > 0.5 and not ((decom > next_end) | (dec > next_end)).any():
        # a name giving the year a return begins ('2015_episodes' for 2015-16) reads as the year before
        problems.append(_misnamed(label, "fall in", year + 1, year))
    closed = dec.notna()
    if (closed.any() and (dec[closed] < start).mean() > 0.5 and not late.any()
            and not (dec < year_bounds(year - 1)[0]).any()):
        # the other way round (QA21): a return named a year too late, every closed episode reported alone
        problems.append(_misnamed(label, "ended in", year - 1, year))
    return dates, problems


def _misnamed(label: str, happened: str, actual: int, named: int) -> Problem:
    """The hint for a return whose episodes belong to the collection year `actual`, not the `named` one."""
    return Problem(label, None, None, f"most episodes {happened} {fy_label(actual - 1)}, not in {fy_label(named - 1)} as the file "
                                      f"or folder name says (a year alone is the year a return ends): name it "
                                      f"{fy_label(actual - 1)}")


def check_uasc(table: pd.DataFrame, label: str, year: int) -> tuple[dict[str, pd.Series], list[Problem]]:
    valid = codes.valid_codes(year)
    dates, problems = check_dates(table, "uasc", label)
    problems += _rows(label, table, table["CHILD"].eq(""), "CHILD", "CHILD is blank")
    if "SEX" in table:
        problems += _check_code(table, label, "SEX", valid["SEX"], year, pd.Series(False, index=table.index))
    if "DOB" in dates:
        problems += _born_after(label, table, dates["DOB"], year)
        problems += _rows(label, table, dates["DUC"] < dates["DOB"], "DUC",
                          lambda v: f"UASC status ceased ({v}) before the child's DOB")
    return dates, problems


def _born_after(label: str, table: pd.DataFrame, dob: pd.Series, year: int) -> list[Problem]:
    """A child in a year's return was looked after in it, so was born by its end."""
    _, end = year_bounds(year)
    return _rows(label, table, dob > end, "DOB",
                 f"DOB is after the {fy_label(year - 1)} collection year")


CHECKS = {"header": check_header, "episodes": check_episodes, "uasc": check_uasc}


def _dec_years(table: pd.DataFrame) -> pd.Series:
    """The collection year of each DEC date an episodes table gives."""
    if "DEC" not in table:
        return pd.Series(dtype="int64")
    return parse_dates(table["DEC"])[0].dropna().map(collection_year)


def years_spanned(table: pd.DataFrame, share: float = 0.05, rows: int = 10) -> list[int]:
    """The collection years holding at least `share` of an episodes table's DEC dates and at
    least `rows` of them: more than one means several years' returns in one file, not a few
    mistyped dates (which are reported row by row)."""
    years = _dec_years(table)
    counts = years.value_counts()
    return sorted(int(y) for y, n in counts.items() if n >= max(share * len(years), rows))


def inferred_year(table: pd.DataFrame) -> int | None:
    """The collection year of an episodes table whose name gives none: the year most of its
    DEC dates fall in (each must fall in it), else that of its latest DECOM. The most common
    year, not the latest date's: one mistyped date (2091 for 2019) must not move every other
    row out of its year; that row is then reported as outside the year."""
    years = _dec_years(table)
    if len(years):
        return int(years.mode().max())
    decom = parse_dates(table["DECOM"])[0].dropna() if "DECOM" in table else pd.Series(dtype=DATE_DTYPE)
    return collection_year(decom.max()) if len(decom) else None
