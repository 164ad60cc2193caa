"""Reading one CSV file into a table of strings, keeping each record's row number."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .errors import Problem

# utf-8-sig is tried where a byte-order mark says so: plain utf-8 would keep the mark in the
# first column name. cp1252 is what Excel on Windows writes for "CSV"; it comes last, as almost
# any bytes decode as cp1252, rightly or not: the cleaning report names every file read so.
FALLBACK_ENCODING = "cp1252"
ENCODINGS = ("utf-8", "utf-8-sig", FALLBACK_ENCODING)


@dataclass
class ReadNotes:
    """What reading a file did to it without a problem, for the cleaning report to tell."""

    encoding: str | None = None  # None: not decoded
    spaces_removed: Counter[str] = field(default_factory=Counter)  # column -> cells stripped


# the first bytes of spreadsheet files renamed .csv: they decode as nonsense, not as a table
WORKBOOK_SIGNATURES = ((b"PK\x03\x04", "an Excel workbook (.xlsx) or another zip file"),
                       (b"\xd0\xcf\x11\xe0", "an Excel 97-2003 workbook (.xls)"))
HEADER_SEARCH_ROWS = 20  # how far down a column header is looked for under title lines


def decode(raw: bytes, label: str) -> tuple[str | None, str | None, Problem | None]:
    """(text, the encoding it was read as, problem)."""
    for signature, what in WORKBOOK_SIGNATURES:
        if raw.startswith(signature):
            return None, None, Problem(label, None, None, f"is not CSV but {what} (renamed?): open it in a "
                                                          "spreadsheet and save it as CSV (UTF-8)")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in raw[:4096]:
        return None, None, Problem(label, None, None, "file is UTF-16 or binary; save it as CSV (UTF-8)")
    bom = raw.startswith(b"\xef\xbb\xbf")
    order = ("utf-8-sig", "utf-8", FALLBACK_ENCODING) if bom else ENCODINGS
    for encoding in order:
        try:
            # a UTF-8 file later saved with a cp1252 character keeps its UTF-8 mark, which cp1252 reads
            # as three letters stuck to the first column's name (QA21: "CHILD is missing")
            body = raw[3:] if bom and encoding == FALLBACK_ENCODING else raw
            return body.decode(encoding), encoding, None
        except UnicodeDecodeError:
            continue
    tried = ", ".join(ENCODINGS)
    return None, None, Problem(label, None, None, f"unreadable text encoding (tried {tried})")


def read_csv_strings(
    path: Path, label: str, raw: bytes | None = None, kind: str = "SSDA903 files",
    expected: Sequence[str] = (),
) -> tuple[pd.DataFrame | None, list[Problem]]:
    """Columns upper-cased and stripped, cells stripped strings ('' when blank), plus source_row.

    Row numbers count records as a spreadsheet shows them: the column header is row 1.
    Blank records are skipped but still counted. `raw`: the file's bytes, if already read.
    `kind` names the files in messages ("SSDA903 files"). `expected`: column names the
    header must have, looked for further down when the first row lacks them (title lines).
    Also used for the report's actuals and the published figures, which share every quirk
    of a spreadsheet's CSV.
    """
    table, problems, _ = read_csv_noting(path, label, raw, kind, expected)
    return table, problems


def read_csv_noting(
    path: Path, label: str, raw: bytes | None = None, kind: str = "SSDA903 files",
    expected: Sequence[str] = (),
) -> tuple[pd.DataFrame | None, list[Problem], ReadNotes]:
    """read_csv_strings, and what reading did: the encoding, and the cells stripped per column."""
    text, encoding, problem = decode(path.read_bytes() if raw is None else raw, label)
    notes = ReadNotes(encoding)
    if problem:
        return None, [problem], notes
    records: list[list[str]] = []
    try:
        records.extend(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as err:  # e.g. a cell over the csv module's 128 KiB limit: an unclosed quote
        return None, [Problem(label, len(records) + 1, None,
                              f"cannot be read as CSV ({err}): an unclosed quote or a runaway cell?")], notes
    declared = _declared_separator(records)
    if declared is not None:
        # Excel's 'sep=,' line: Excel reads it as a setting and hides it, so the header is
        # still row 1 as a spreadsheet shows it
        if declared != ",":
            return None, [Problem(label, 1, None, f"its first line declares the separator {declared!r} "
                                                  f"(sep={declared}); {kind} are comma-separated")], notes
        records = records[1:]
    if not records or not any(cell.strip() for cell in records[0]):
        return None, [Problem(label, None, None, "file is empty or has no column header")], notes
    for sep, name in ((";", "semicolon"), ("\t", "tab")):  # else: every required column "missing"
        if len(records[0]) == 1 and sep in records[0][0]:
            return None, [Problem(label, None, None, f"looks {name}-separated; {kind} are comma-separated")], notes
    below = _header_below(records, expected)
    if below:
        return None, [Problem(label, below, None, f"the column header is on row {below}, not row 1: delete the "
                                                  f"{below - 1} line(s) above it (a title or notes?)")], notes
    columns = [column_name(c) for c in records[0]]
    problems: list[Problem] = []
    seen: set[str] = set()
    for c in columns:
        if c in seen and c:
            problems.append(Problem(label, 1, c, "column appears more than once"))
        seen.add(c)
    rows: list[list[str]] = []
    row_numbers: list[int] = []
    data = [record for record in records[1:] if any(cell.strip() for cell in record)]
    # trailing empty cells on every row are an export quirk (a blank column after the last);
    # on some rows only, they are cells shifted by a comma inside a cell that is not quoted
    quirk = bool(data) and all(len(record) > len(columns) for record in data)
    for number, record in enumerate(records[1:], start=2):
        if not any(cell.strip() for cell in record):
            continue
        if len(record) != len(columns):
            if quirk and not any(c.strip() for c in record[len(columns) :]):
                record = record[: len(columns)]
            elif len(record) < len(columns) and not any(columns[len(record):]):
                record = record + [""] * (len(columns) - len(record))  # a trailing comma on the header only
            else:
                shifted = len(record) > len(columns) and not quirk
                runaway = any("\n" in cell for cell in record)  # a quote left open swallows the lines after it
                problems.append(Problem(label, number, None, f"has {len(record)} cells, the header has {len(columns)}"
                                        + (": a quote (\") that is not closed runs on into the next lines" if runaway
                                           else ": a comma inside a cell that is not in quotes?" if shifted else "")))
                continue
        cells = [cell.strip() for cell in record]
        # the first cell first: most rows are not the header, and this runs on every row
        if column_name(cells[0]) == columns[0] and [column_name(c) for c in cells] == columns:
            problems.append(Problem(label, number, None, "repeats the column header (files pasted together?): "
                                                         "delete the row"))
            continue
        if cells != record:  # cheap: strip returns the very same string when there is nothing to strip
            _count_stripped(notes.spaces_removed, columns, record, cells)
        rows.append(cells)
        row_numbers.append(number)
    if problems:
        return None, problems, notes
    table = pd.DataFrame(rows, columns=columns, dtype=object)
    table = table.loc[:, [c != "" for c in columns]]  # unnamed (trailing comma) columns
    table["source_row"] = pd.Series(row_numbers, dtype="int64")
    return table, [], notes


def column_name(cell: str) -> str:
    """A header cell as a column name: upper case, without spaces or byte-order marks (a second
    BOM, or a file with one pasted below another, hid CHILD: QA17)."""
    return cell.strip().lstrip("\ufeff").strip().upper()


def _header_below(records: list[list[str]], expected: Sequence[str]) -> int | None:
    """The row number of a column header under title lines: the first row with every
    expected column, when the first row has not got them (None: no such row, or no need)."""
    want = {c.upper() for c in expected}
    if not want or want <= {column_name(c) for c in records[0]}:
        return None
    for number, record in enumerate(records[1:HEADER_SEARCH_ROWS], start=2):
        if want <= {column_name(c) for c in record}:
            return number
    return None


def _declared_separator(records: list[list[str]]) -> str | None:
    """The separator an Excel 'sep=' first line declares ('sep=,' reads as ['sep=', ''])."""
    if not records or not records[0]:
        return None
    line = ",".join(records[0]).strip(" ")
    if not line.lower().startswith("sep=") or line[5:].strip():
        return None
    return line[4:5] or None


def _count_stripped(counts: Counter[str], columns: list[str], record: list[str], cells: list[str]) -> None:
    for column, cell, stripped in zip(columns, record, cells):
        if column and cell != stripped:
            counts[column] += 1
