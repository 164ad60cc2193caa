"""Checks across returns that no single file shows: children missing from the return before
the one they first appear in, or from a return between two they are in, and header children
with no episode in their own return.

A return lists every child looked after at any time in its year, with their episodes. So a
child in care at the start of return Y must be in return Y-1 if it was read, and a child in
a return's header must have an episode in the same return. Both fail in clean-looking files
when CHILD ids changed between returns (Excel dropping leading zeros, a new case system) or
a return was cut short; cleaning would then count the same children twice (as leaving on
1 April and as already in care) or lose them. Each child is flagged in the cleaning report,
and each pair of returns that disagrees gets a warning naming the likely causes.
"""

from __future__ import annotations

import pandas as pd

from .report import ReportBuilder
from .validate import year_bounds


def flag_disagreeing_returns(header: pd.DataFrame, episodes: pd.DataFrame, report: ReportBuilder) -> list[str]:
    """Flag each case in `report` (rows of the validated, uncleaned returns); return warnings."""
    return (_absent_from_previous_return(episodes, report) + _absent_from_middle_return(episodes, report)
            + _header_without_episode(header, episodes, report))


def _absent_from_previous_return(episodes: pd.DataFrame, report: ReportBuilder) -> list[str]:
    years = set(int(y) for y in episodes["year"].unique())
    first_rows = episodes.sort_values(["year", "DECOM", "source_row"]).drop_duplicates("child_id")
    first_year = first_rows["year"].astype(int)
    year_start = first_year.map(lambda y: year_bounds(y)[0])
    absent = (first_rows["DECOM"] < year_start) & (first_year - 1).isin(years)
    if not absent.any():
        return []
    rows = first_rows[absent]
    why = ("in care from " + rows["DECOM"].dt.strftime("%Y-%m-%d") + ", before the " + rows["year"].astype(str)
           + " return's year, but not in the " + (rows["year"] - 1).astype(str) + " return: CHILD changed "
           "between returns, or the child left out of the earlier one?")
    report.add(rows, "flagged", "absent_from_previous_return", why)
    # the earlier return's open episodes of children absent from this one (missing_from_next_return)
    open_at_end = episodes[episodes["DEC"].isna()]
    out = []
    for year, n in rows["year"].astype(int).value_counts().sort_index().items():
        later = set(episodes.loc[episodes["year"] == year, "child_id"])
        left = open_at_end.loc[(open_at_end["year"] == year - 1) & ~open_at_end["child_id"].isin(later), "child_id"]
        head = f"{n} child(ren) in care before the {year} return's year are not in the {year - 1} return"
        if left.nunique():
            out.append(f"{head}, and {left.nunique()} open at the end of the {year - 1} return are not in the {year} "
                       "return: if CHILD ids changed between these returns (leading zeros lost in Excel, a new case "
                       "system), each of them is counted twice, as leaving on 1 April and as already in care; see the "
                       "cleaning report (rules absent_from_previous_return, missing_from_next_return)")
        else:
            out.append(f"{head}: was the {year - 1} return cut short, or were they left out of it? Their time in "
                       f"care before {year_bounds(year)[0]:%Y-%m-%d} is as the {year} return gives it; see the "
                       "cleaning report (rule absent_from_previous_return)")
    return out


def _absent_from_middle_return(episodes: pd.DataFrame, report: ReportBuilder) -> list[str]:
    """Children open at the end of return Y-1, in none of return Y's episodes, yet in a later
    return: return Y left them out (QA18: nothing said so; the later return fills the gap)."""
    years = episodes["year"].astype(int)
    seen = episodes.assign(year=years).groupby("child_id")["year"].agg(set)
    open_rows = episodes[episodes["DEC"].isna() & (years + 1).isin(set(years))]
    gone = [y + 1 not in seen[c] and max(seen[c]) > y + 1 for c, y in zip(open_rows["child_id"], open_rows["year"].astype(int))]
    rows = open_rows[pd.Series(gone, index=open_rows.index, dtype=bool)]
    if rows.empty:
        return []
    why = ("open at the end of the " + rows["year"].astype(str) + " return, not in the " + (rows["year"] + 1).astype(str)
           + " return, but in a later one: left out of the " + (rows["year"] + 1).astype(str) + " return?")
    report.add(rows, "flagged", "absent_from_middle_return", why)
    return [f"{n} child(ren) open at the end of the {year} return are not in the {year + 1} return but are in a later "
            f"one: was the {year + 1} return cut short, or were they left out of it? Their time in care is as the later "
            "return gives it; see the cleaning report (rule absent_from_middle_return)"
            for year, n in rows["year"].astype(int).value_counts().sort_index().items()]


def _header_without_episode(header: pd.DataFrame, episodes: pd.DataFrame, report: ReportBuilder) -> list[str]:
    """Header rows whose child has no episode in the same return but has one in another (a
    child in no return's episodes is `child_without_episodes`, reported by cleaning)."""
    with_episodes = set(zip(episodes["child_id"], episodes["year"].astype(int)))
    anywhere = set(episodes["child_id"])
    pairs = zip(header["child_id"], header["year"].astype(int))
    lonely = pd.Series([(c, y) not in with_episodes and c in anywhere for c, y in pairs], index=header.index,
                       dtype=bool)
    if not lonely.any():
        return []
    rows = header[lonely]
    report.add(rows, "flagged", "header_without_episode_that_year",
               "in this return's header but with no episode in its episodes file (a return cut short?)")
    return [f"{file}: {n} child(ren) with no episode in the same return's episodes file but episodes in other "
            "returns: was the episodes file cut short, or CHILD written differently in the two files?"
            for file, n in rows["source_file"].value_counts().sort_index().items()]
