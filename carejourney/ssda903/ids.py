"""CHILD ids that changed between returns, refused before cleaning.

A return lists every child looked after at any time in its year, so a child still in care at
the end of one return is in the next. When the ids changed between them (a spreadsheet
dropped leading zeros or lower-cased them, an Excel text export kept a leading apostrophe, a
new case system renumbered everyone), cleaning would count each child twice: as leaving on
1 April and as already in care. The opening stock doubles and every rate moves, so these are
errors, not warnings (QA14: zeros; QA18: renumbered, lower-cased and apostrophe ids went
through with exit 0 and a warning on stdout). A few children missing stay warnings
(returns.py): a return cut short or a child left out.
"""

from __future__ import annotations

import pandas as pd

from .errors import Problem
from .validate import year_bounds

MIN_ZEROS_LOST = 5  # ids matching only once their leading zeros go: fewer could be chance
MIN_OPEN = 20  # children open at a return's end before a share of them is judged
MIN_SHARE_MISSING = 0.8  # most of them gone is not a few children left out: the ids changed


def ids_carried_over(tables: dict[str, pd.DataFrame], other_problems: bool = False) -> list[Problem]:
    """Problems for each pair of neighbouring returns whose CHILD ids do not carry over, one per
    pair. `other_problems`: the returns have problems already (a date not read is NaT, which
    would look like an open episode), so only the leading zeros are checked."""
    header, episodes = tables["header"], tables["episodes"]
    zeros = _leading_zeros_kept(header)
    told = {year for year, _ in zeros}  # the later year of each pair
    opened = [] if other_problems else _open_children_carried_over(header, episodes)
    return [p for _, p in zeros] + [p for year, p in opened if year not in told]


def _leading_zeros_kept(header: pd.DataFrame) -> list[tuple[int, Problem]]:
    """(later year of the pair, problem) for CHILD ids of one return that are the previous
    return's with leading zeros removed (or the reverse): a spreadsheet read them as numbers."""
    problems = []
    ids = {int(y): set(g["CHILD"].astype(str)) for y, g in header.groupby("year")}
    for year in sorted(ids):
        if year - 1 not in ids:
            continue
        before, now = ids[year - 1], ids[year]
        for lost, kept, where in ((now - before, before - now, year), (before - now, now - before, year - 1)):
            stripped = _stripped(kept)
            pairs = _zero_pairs(lost, stripped)
            if len(pairs) >= MIN_ZEROS_LOST and len(pairs) >= len(stripped) / 2:
                label = header.loc[header["year"].astype(int) == where, "source_file"].iloc[0]
                problems.append((year, Problem(label, None, "CHILD", (
                    f"{len(pairs)} CHILD ids are the {year - 1 if where == year else year} return's with their "
                    f"leading zeros removed (e.g. {pairs[0][0]} written {pairs[0][1]}): a spreadsheet read them as "
                    "numbers. Restore them (open the file with CHILD as text, or re-export it): read as they are, "
                    "each child would be counted twice, as leaving and as already in care"))))
    return problems


def _stripped(ids: set[str]) -> dict[str, str]:
    """{id without its leading zeros: id} for the ids that have some."""
    return {c.lstrip("0"): c for c in ids if c.startswith("0") and c.lstrip("0")}


def _zero_pairs(lost: set[str], stripped: dict[str, str]) -> list[tuple[str, str]]:
    """(id with leading zeros, the same id without them in `lost`), in `lost`'s order."""
    return [(stripped[c], c) for c in sorted(lost) if c in stripped]


def zeros_differ(unknown: set[str], rows: int, header_ids: set[str], label: str, header_label: str) -> Problem | None:
    """Why `rows` rows of file `label` (CHILD ids `unknown`) are not in their year's header
    (`header_label`), when most of those ids are a header id with leading zeros removed or added:
    one of the two files went through a spreadsheet (QA21), the one that lacks the zeros (QA22:
    the header, when it is the one)."""
    for lost, kept, header_lost in ((unknown, header_ids, False), (header_ids, unknown, True)):
        pairs = _zero_pairs(lost, _stripped(kept))
        if len(pairs) >= min(MIN_ZEROS_LOST, len(unknown)) and len(pairs) >= len(unknown) / 2:
            full, short = pairs[0]
            where, other = (header_label, label) if header_lost else (label, header_label)
            return Problem(where, None, "CHILD", (
                f"{len(pairs)} CHILD ids here are {other}'s with their leading zeros removed (e.g. {full} written "
                f"{short}), so {rows} rows of {label} have no header row: a spreadsheet read CHILD as numbers. "
                "Restore the zeros (open the file with CHILD as text, or re-export it)"))
    return None


def _open_children_carried_over(header: pd.DataFrame, episodes: pd.DataFrame) -> list[tuple[int, Problem]]:
    """(year, problem) where most children open at the end of return Y-1 are absent from return Y
    (header and episodes) and in no later return, while about as many of Y's children in care
    before its year are new to Y-1: renumbered, not left out (a return cut short stays a warning)."""
    if episodes.empty:
        return []
    problems = []
    years = sorted(int(y) for y in episodes["year"].unique())
    year_of = episodes["year"].astype(int)
    for year in years:
        if year - 1 not in years:
            continue
        before = episodes[year_of == year - 1]
        adults = _aged_18_by(header, year - 1)  # open by mistake: cleaning ends them at 18
        still_open = set(before.loc[before["DEC"].isna(), "CHILD"].astype(str)) - adults
        now = episodes[year_of == year]
        present = (set(episodes.loc[year_of >= year, "CHILD"].astype(str))
                   | set(header.loc[header["year"].astype(int) >= year, "CHILD"].astype(str)))
        missing = sorted(still_open - present)
        if len(still_open) < MIN_OPEN or len(missing) < MIN_SHARE_MISSING * len(still_open):
            continue
        carried_in = now.loc[now["DECOM"] < year_bounds(year)[0], "CHILD"].astype(str)
        unknown = sorted(set(carried_in) - set(before["CHILD"].astype(str)))
        if len(unknown) < len(missing) / 2:
            continue  # children gone, none come in their place: cut short (a warning, returns.py)
        label = _file_of(header, year) or now["source_file"].iloc[0]
        message = (f"{len(missing)} of the {len(still_open)} children still in care at the end of the {year - 1} "
                   f"return ({before['source_file'].iloc[0]}) are in no later return, and {len(unknown)} of this "
                   f"return's children in care before its year began are not in the {year - 1} return: the CHILD "
                   "ids changed between the returns. ")
        message += _same_once_tidied(missing, unknown)
        message += ("Read as they are, each child would be counted twice, as leaving on 1 April and as already in "
                    "care: write both returns with the same ids (map the new ones to the old), or calibrate from "
                    "the returns on one side of the change only (move the others out of the folder)")
        problems.append((year, Problem(label, None, "CHILD", message)))
    return problems


def _aged_18_by(header: pd.DataFrame, year: int) -> set[str]:
    """CHILD ids 18 or over on the last day of collection year `year`, by that year's header."""
    rows = header[header["year"].astype(int) == year]
    last = year_bounds(year)[1]
    born = rows["DOB"]
    adult = born.notna() & (born <= pd.Timestamp(last.year - 18, last.month, last.day))
    return set(rows.loc[adult, "CHILD"].astype(str))


def _tidied(child: str) -> str:
    """An id as a spreadsheet may have changed it: case, spaces, a leading apostrophe."""
    return child.strip().lstrip("'").strip().casefold()


def _same_once_tidied(missing: list[str], unknown: list[str]) -> str:
    """A sentence naming the change, when most missing ids come back with case and a leading
    apostrophe ignored; otherwise empty."""
    tidy = {_tidied(c): c for c in unknown}
    pairs = [(c, tidy[_tidied(c)]) for c in missing if _tidied(c) in tidy]
    if not pairs or len(pairs) < len(missing) / 2:
        return ""
    old, new = pairs[0]
    return (f"{len(pairs)} of them match once upper/lower case, spaces and a leading apostrophe are ignored "
            f"(e.g. {old} written {new}): a spreadsheet changed them. ")


def _file_of(header: pd.DataFrame, year: int) -> str | None:
    rows = header.loc[header["year"].astype(int) == year, "source_file"]
    return rows.iloc[0] if len(rows) else None
