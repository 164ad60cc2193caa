"""Finding the SSDA903 files under a folder and the collection year each belongs to."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from .errors import Problem

# kind -> the word its file name contains (case-insensitive)
KIND_WORDS = {"header": "header", "episodes": "episode", "uasc": "uasc"}

# 2015-16; an en or em dash (Word's autocorrect) or a minus sign is a hyphen too (QA17)
_YEAR_SPAN = re.compile(r"(?<!\d)(20\d{2})\s*[-_ \u2010-\u2015\u2212]\s*(\d{2}|20\d{2})(?!\d)")
_YEAR = re.compile(r"(?<!\d)(20\d{2})(?!\d)")
_COMPACT_SPAN = re.compile(r"(?<!\d)(20\d{2})(\d{2})(?!\d)")  # 201516


@dataclass(frozen=True)
class SourceFile:
    path: Path
    label: str  # path relative to the folder read, used in messages and the report
    kind: str  # header, episodes or uasc
    named_year: int | None  # from the file name, else the folder name; None: infer from dates


def year_from_name(name: str) -> int | None:
    """Collection year written in a name: '2016' -> 2016, '2015-16' or '201516' -> 2016, else None."""
    span = _YEAR_SPAN.search(name)
    if span:
        first, second = int(span.group(1)), span.group(2)
        end = int(second) if len(second) == 4 else 2000 + int(second)
        if end == first + 1:
            return end
    compact = _COMPACT_SPAN.search(name)
    if compact and int(compact.group(2)) == (int(compact.group(1)) + 1) % 100:
        return int(compact.group(1)) + 1
    years = set(_YEAR.findall(name))
    return int(years.pop()) if len(years) == 1 else None


# Other SSDA903 tables whose names contain a kind's word: social workers' episodes (SWEpisodes)
# were read as a second episodes file (QA17)
OTHER_TABLES = ("swepisode", "sw_episode", "sw-episode", "socialworkerepisode")


def kind_of(name: str) -> list[str]:
    lower = name.lower()
    if any(word in lower.replace(" ", "") for word in OTHER_TABLES):
        return []
    return [kind for kind, word in KIND_WORDS.items() if word in lower]


def printable(text: str) -> str:
    """A file name as text that can be printed and written: bytes that are not UTF-8 (a Windows
    zip unpacked on Linux) read as Windows-1252, not kept as lone surrogates, which made
    every later write fail with a traceback (QA17)."""
    raw = os.fsencode(text)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def all_files(root: Path) -> list[Path]:
    """Every file under `root`, through linked folders too (a year folder linked in from
    elsewhere was skipped: QA17). Real folders first, so a link such as latest -> 2016-17 never
    takes a folder's files from it; then each linked folder not seen yet, except one holding
    `root` (a loop, or a link to a parent)."""
    out, seen, links = [], set(), []
    root_real = os.path.realpath(root)

    def walk(top):
        for folder, subfolders, files in os.walk(top):  # links are listed, not followed
            real = os.path.realpath(folder)
            if real in seen:
                subfolders[:] = []
                continue
            seen.add(real)
            out.extend(Path(folder) / name for name in files)
            links.extend(Path(folder) / name for name in subfolders if os.path.islink(os.path.join(folder, name)))

    walk(root)
    while links:
        link = links.pop(0)
        real = os.path.realpath(link)
        if real not in seen and os.path.isdir(real) and not (root_real + os.sep).startswith(real + os.sep):
            walk(link)
    return sorted(p for p in out if p.is_file())


def _is_cleaning_report(path: Path) -> bool:
    """calibrate's `<config>.cleaning.csv` (its name may contain 'episode'), by name and header."""
    from .report import CLEANING_CSV_HEADER

    if not path.name.endswith(".cleaning.csv"):
        return False
    try:
        with path.open("rb") as f:
            first = f.readline(200).decode("utf-8", "replace").strip()
    except OSError:
        return False  # the reader reports it
    return first.lstrip("\ufeff") == CLEANING_CSV_HEADER


# Files other programs leave beside a CSV: Excel's lock file while it is open (~$name) and
# macOS's metadata on shared drives and in zips (._name). They were read as binary returns.
BY_PRODUCT_PREFIXES = ("~$", "._")
NOT_CSV_SUFFIXES = {".xlsx", ".xls", ".xlsm", ".ods", ".txt", ".tsv", ".dat"}


def not_csv_files(root: Path, kinds, year: int | None = None) -> list[str]:
    """Labels of files named like one of `kinds` (and `year`, where given) that are not CSV, so
    not read: named in the message about a missing file, which would otherwise look wrong."""
    kinds = list(kinds)
    out = []
    for path in (p for p in all_files(root) if p.suffix.lower() in NOT_CSV_SUFFIXES):
        label = printable(path.relative_to(root).as_posix())
        found = kind_of(path.stem)
        if len(found) == 1 and found[0] in kinds and (year is None or year_from_name(label) in (year, None)):
            out.append((kinds.index(found[0]), label))
    return [label for _, label in sorted(out)]  # in the order of `kinds`


def not_read_hint(labels: list[str]) -> str:
    return f" ({', '.join(labels[:3])}{' ...' if len(labels) > 3 else ''} not read: save as CSV)" if labels else ""


def missing_file_hint(root: Path, beside: Path, kind: str) -> str:
    """Why a folder's `kind` file was not found, from what is in the folder of file `beside`: an
    entry with the right name that is not a readable file, or CSVs whose names were not
    recognised (the message named only the file beside it: QA17)."""
    folder = beside.parent
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        return ""
    word = KIND_WORDS[kind]
    for entry in entries:
        if word in entry.name.lower() and not entry.is_file():
            what = ("a folder" if entry.is_dir() else "a broken link" if entry.is_symlink() else "not a file")
            return f" ({printable(entry.relative_to(root).as_posix())} is {what})"
    strays = [printable(e.relative_to(root).as_posix()) for e in entries
              if e.is_file() and e.suffix.lower() == ".csv" and not kind_of(e.stem) and not _is_cleaning_report(e)]
    if strays:
        return (f" (CSV files here whose names were not recognised: {', '.join(strays[:3])}"
                f"{' ...' if len(strays) > 3 else ''}; an {kind} file's name contains '{word}')")
    return ""


def find_files(root: Path) -> tuple[list[SourceFile], list[Problem]]:
    """All CSV files under `root` whose names say header, episode or uasc."""
    problems: list[Problem] = []
    if not root.exists():  # QA18: a mistyped path was called "not a folder of SSDA903 CSV files"
        return [], [Problem(str(root), None, None, "does not exist")]
    if not root.is_dir():
        return [], [Problem(str(root), None, None, "is not a folder of SSDA903 CSV files")]
    found: list[SourceFile] = []
    for path in (p for p in all_files(root) if p.suffix.lower() == ".csv"):
        label = printable(path.relative_to(root).as_posix())
        if path.name.startswith(BY_PRODUCT_PREFIXES):
            continue  # not data: the file's real copy sits beside it
        kinds = kind_of(path.stem)
        if len(kinds) > 1:
            problems.append(Problem(label, None, None, f"name matches more than one file kind {kinds}"))
            continue
        if not kinds:
            continue  # other SSDA903 modules (OC2, AD1, missing...) are not read
        if _is_cleaning_report(path):
            continue  # calibrate's own report, written beside a config saved in this folder
        year = year_from_name(printable(path.stem))
        if year is None:
            rel_dir = path.parent.relative_to(root)
            # the nearest folder with a year in its name, else the root folder's own name
            for part in map(printable, [*reversed(rel_dir.parts), root.resolve().name]):
                year = year_from_name(part)
                if year is not None:
                    break
        found.append(SourceFile(path, label, kinds[0], year))
    if not found and not problems:
        problems.append(Problem(str(root), None, None, "no CSV file whose name contains header, episode or uasc"
                                + not_read_hint(not_csv_files(root, KIND_WORDS))))
    return found, problems
