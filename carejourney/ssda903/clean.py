"""clean: validated SSDA903 rows -> model-vocabulary episodes, periods of care and children.

Order matters: episodes starting on or after the 18th birthday go first, then duplicates (so
they cannot be mistaken for overlaps), then the same episode across years is merged, short
breaks are dropped (so they cannot trim a looked-after episode), episodes a later return
corrected are dropped, overlaps are trimmed, episodes of children missing from the next
return end, episodes still running at 18 end there, and only then are episodes joined into
periods.
Every row removed or changed is written to the report with the rule that did it, and so is
what reading did unasked: files read as cp1252, spaces removed around cells, codes upper-cased.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from . import codes
from .periods import build_legal_statuses, build_periods, build_placements
from .read import Ssda903Data, in_file_order
from .report import ReportBuilder, summarise
from .returns import flag_disagreeing_returns

# The episode fields that make two rows "the same episode" when all are equal.
EPISODE_FIELDS = (
    "child_id", "DECOM", "RNE", "LS", "CIN", "PLACE", "PLACE_PROVIDER", "DEC", "REC", "REASON_PLACE_CHANGE",
)  # fmt: skip


@dataclass
class Cleaned:
    """Cleaned SSDA903 data in model vocabulary. `child_id` is the pseudonym from read time.

    episodes:       child_id, period, episode, start, end, placement_type, in_house,
                    legal_status, need, exit_route, PLACE, PLACE_PROVIDER, LS, CIN, RNE, REC,
                    year, source_file, source_row
    periods:        child_id, period, start, end (NaT if open), exit_route ('censored' if
                    open), legal_status_at_entry, placement_type_at_entry, age_at_entry,
                    age_band_at_entry, n_episodes
    placements:     child_id, period, start, end, placement_type, in_house
    legal_statuses: child_id, period, start, end, legal_status
    children:       child_id, sex ('M'/'F'), dob, uasc (bool), need (at first entry)
    report:         file, row, field, child_id, action (removed/changed/flagged), rule, why
                    (row and child_id blank for a whole file; field where a rule acted on one)
    """

    episodes: pd.DataFrame
    periods: pd.DataFrame
    placements: pd.DataFrame
    legal_statuses: pd.DataFrame
    children: pd.DataFrame
    report: pd.DataFrame
    rows_read: int = 0
    years: tuple[int, ...] = ()
    warnings: tuple[str, ...] = ()  # e.g. a year whose episodes file has no rows

    def summary(self, warnings: bool = True) -> str:
        """What cleaning did; `warnings=False` leaves out the `warning:` lines (calibrate prints
        them to stderr, with every other warning)."""
        years = f"{min(self.years)}-{max(self.years)}" if self.years else "none"
        lines = [
            *(f"warning: {w}" for w in self.warnings if warnings),
            f"SSDA903 cleaning: {self.rows_read} episode rows read (collection years {years}).",
            (
                f"Kept {len(self.episodes)} episodes in {len(self.periods)} periods of care "
                f"for {len(self.children)} children."
            ),
            *summarise(self.report),
        ]
        return "\n".join(lines)


def clean(data: Ssda903Data) -> Cleaned:
    report = ReportBuilder()
    _report_reading(data, report)
    warnings = flag_disagreeing_returns(data.header, data.episodes, report)
    header = _one_header_row_per_child(data.header, report)
    episodes = data.episodes.copy()
    for column in EPISODE_FIELDS:
        if column not in episodes:
            episodes[column] = pd.Series(pd.NA, index=episodes.index, dtype=object)
    episodes = _drop_aged_18_or_over(episodes, header, report)
    episodes = _drop_exact_duplicates(episodes, report)
    episodes = _drop_same_start_in_return(episodes, report)
    episodes = _merge_across_years(episodes, report)
    episodes, short_break_children = _drop_short_breaks(episodes, report)
    episodes = _drop_superseded(episodes, report)
    episodes = _trim_overlaps(episodes, report)
    episodes = _close_missing_from_next_return(episodes, report)
    episodes = _end_at_18(episodes, header, report)
    episodes = _map_codes(episodes, header)
    episodes, periods = build_periods(episodes, header, report)
    children = _children(header, data.uasc, episodes, short_break_children, report)
    very_young = report.count("uasc_very_young")
    if very_young:
        warnings.append(f"{very_young} UASC row(s) are of children under {UASC_YOUNG_YEARS} when first looked after "
                           "(unaccompanied asylum seekers are almost all 14-17): does a UASC file list other "
                           "children? See the cleaning report (rule uasc_very_young)")
    ceased_before = report.count("uasc_ceased_before_care")
    if ceased_before:
        warnings.append(f"{ceased_before} UASC row(s) give a DUC before the child was first looked after (still "
                        "counted as UASC): see the cleaning report (rule uasc_ceased_before_care)")
    ceased_after = report.count("uasc_ceased_after_return")
    if ceased_after:
        warnings.append(f"{ceased_after} UASC row(s) give a DUC after the end of their return's year (still counted "
                        "as UASC): see the cleaning report (rule uasc_ceased_after_return)")
    contradictions = report.count("continues_after_exit")
    if contradictions:
        warnings.append(f"{contradictions} episode(s) start the day an exit (REC other than X1) ended the one "
                           "before, with an RNE saying care continued: each is read as that exit and a new period "
                           "of care; see the cleaning report (rule continues_after_exit)")
    return Cleaned(
        episodes=episodes,
        periods=periods,
        placements=build_placements(episodes),
        legal_statuses=build_legal_statuses(episodes),
        children=children,
        report=report.frame(),
        rows_read=len(data.episodes),
        years=tuple(data.years),
        warnings=(*data.warnings, *warnings),
    )


def lookup(table: pd.DataFrame, column: str, child_ids: pd.Series) -> pd.Series:
    """table[column] for each child id (table has one row per child), aligned to child_ids.
    (Series.map with an empty datetime mapper fails in pandas 3, hence reindex.)"""
    values = table.set_index("child_id")[column].reindex(child_ids.to_numpy())
    return pd.Series(values.to_numpy(), index=child_ids.index, dtype=table[column].dtype)


def _report_reading(data: Ssda903Data, report: ReportBuilder) -> None:
    """What reading changed or guessed without a problem: one row per file read as cp1252,
    per file and column with cells stripped of spaces (a count, not a row per cell), and per
    code upper-cased (which can be thousands: summaries count them per field)."""
    files = pd.DataFrame({"source_file": data.read_as_cp1252, "source_row": pd.NA, "child_id": None})
    report.add(files, "flagged", "read_as_cp1252", "read as cp1252 (Windows text), not UTF-8")
    spaces = pd.DataFrame(list(data.spaces_removed), columns=["source_file", "field", "cells"])
    why = pd.Series([f"{n} cell{'s' if n != 1 else ''} in {field} had surrounding spaces removed"
                     for _, field, n in data.spaces_removed], dtype=object)
    report.add(spaces.assign(source_row=pd.NA, child_id=None), "changed", "spaces_removed", why, spaces["field"])
    upper = data.upper_cased
    if upper is not None:
        why = upper["field"] + " '" + upper["value"] + "' read as '" + upper["value"].str.upper() + "'"
        report.add(upper, "changed", "code_upper_cased", why, upper["field"])


def _one_header_row_per_child(header: pd.DataFrame, report: ReportBuilder) -> pd.DataFrame:
    """The latest return's header row per child; earlier rows that disagree are reported."""
    header = in_file_order(header)
    exact = header.duplicated(["child_id", "SEX", "DOB", "year"], keep="first")
    report.add(header[exact], "removed", "duplicate_header_row", "exact repeat of an earlier header row")
    header = header[~exact]
    latest = header.drop_duplicates("child_id", keep="last").set_index("child_id")
    compared = header.merge(
        latest[["SEX", "DOB", "year"]], left_on="child_id", right_index=True, suffixes=("", "_kept")
    )
    differs = (compared["year"] != compared["year_kept"]) & (
        (compared["SEX"] != compared["SEX_kept"]) | (compared["DOB"] != compared["DOB_kept"])
    )
    why = "SEX or DOB differs from the " + compared["year_kept"].astype(str) + " return; kept the latest"
    report.add(compared[differs], "removed", "header_superseded", why[differs])
    return latest.reset_index()


def _drop_aged_18_or_over(ep: pd.DataFrame, header: pd.DataFrame, report: ReportBuilder) -> pd.DataFrame:
    """An episode starting on or after the 18th birthday is not a child's: a wrong DOB or DECOM."""
    dob = lookup(header, "DOB", ep["child_id"])
    adult = ep["DECOM"] >= codes.add_years(dob, 18)
    age = codes.age_in_years(dob, ep["DECOM"]).astype(str)
    why = "child aged " + age + " at DECOM (an episode must start before the 18th birthday; check DOB and DECOM)"
    report.add(ep[adult], "removed", "aged_18_or_over", why[adult])
    return ep[~adult]


def _drop_exact_duplicates(ep: pd.DataFrame, report: ReportBuilder) -> pd.DataFrame:
    ep = in_file_order(ep)
    key = [*EPISODE_FIELDS, "year"]
    dup = ep.duplicated(key, keep="first")
    first_row = ep.groupby(key, dropna=False)["source_row"].transform("first")
    report.add(ep[dup], "removed", "exact_duplicate", "exact duplicate of row " + first_row[dup].astype(str))
    return ep[~dup]


def _drop_same_start_in_return(ep: pd.DataFrame, report: ReportBuilder) -> pd.DataFrame:
    key = ["child_id", "year", "DECOM"]
    dup = ep.duplicated(key, keep="last")
    kept_row = ep.groupby(key)["source_row"].transform("last")
    why = (
        "another episode of this child starts the same day (row "
        + kept_row[dup].astype(str)
        + "); kept that one"
    )
    report.add(ep[dup], "removed", "same_start_in_return", why)
    return ep[~dup]


# Fields a later return may fill in (an episode open at one year end closes in the next) ...
FILLED_LATER = ("DEC", "REC")
# ... and fields it should repeat as they were: a difference is a correction, or an error
REPEATED = ("RNE", "LS", "CIN", "PLACE", "PLACE_PROVIDER")


def _merge_across_years(ep: pd.DataFrame, report: ReportBuilder) -> pd.DataFrame:
    """An episode (same child, same DECOM) in several returns is one episode: the latest wins.
    Where the returns disagree (not just a DEC filled in later), it is reported apart
    (`changed_in_later_return`), with what changed, so conflicts can be found among the
    thousands of routine repeats."""
    key = ["child_id", "DECOM"]
    dup = ep.duplicated(key, keep="last")
    fields = [*FILLED_LATER, *REPEATED]
    kept = ep.loc[~dup, [*key, "year", "source_row", *fields]]
    kept = ep[key].merge(kept, on=key, how="left", suffixes=("_", "")).set_axis(ep.index)
    where = "same episode in the " + kept["year"].astype(str) + " return (row " + kept["source_row"].astype(str) + ")"
    changes = pd.Series("", index=ep.index, dtype=object)
    for field in fields:
        before, after = ep[field], kept[field]
        differ = ~((before == after) | (before.isna() & after.isna()))
        if field in FILLED_LATER:
            differ &= before.notna()  # blank then filled is the routine close of an open episode
        text = before.astype(object).where(before.notna(), "blank").astype(str).str.replace(" 00:00:00", "")
        later = after.astype(object).where(after.notna(), "blank").astype(str).str.replace(" 00:00:00", "")
        changes = changes.where(~differ, changes + ", " + field + " " + text + " -> " + later)
    changed = dup & changes.ne("")
    routine = dup & ~changed
    why = where + "; kept the latest return's version" + (ep["DEC"].isna() & kept["DEC"].notna()).map(
        {True: ", which has DEC filled", False: ""})
    report.add(ep[routine], "removed", "repeated_in_later_return", why[routine])
    why = where + ", which differs (" + changes.str.removeprefix(", ") + "); kept the latest return's version"
    report.add(ep[changed], "removed", "changed_in_later_return", why[changed])
    return ep[~dup]


def _drop_short_breaks(ep: pd.DataFrame, report: ReportBuilder) -> tuple[pd.DataFrame, set[str]]:
    short = ep["LS"].isin(codes.SHORT_BREAK_LS)
    only_short = short.groupby(ep["child_id"]).transform("all")
    report.add(
        ep[only_short], "removed", "short_breaks_only", "every episode of this child is a short break (V3/V4)"
    )
    report.add(
        ep[short & ~only_short], "removed", "short_break_episode", "short break (LS V3/V4): not looked after"
    )
    return ep[~short], set(ep.loc[only_short, "child_id"])


def _drop_superseded(ep: pd.DataFrame, report: ReportBuilder) -> pd.DataFrame:
    """An episode starting inside an episode of a later return is superseded by it: the later
    return corrected the dates (e.g. DECOM moved a day), so its version wins. Trimming would
    instead cut the corrected episode short at the stale one's start, keeping its exit."""
    if ep.empty:
        return ep
    cols = ["child_id", "year", "DECOM", "DEC", "source_file", "source_row"]
    pairs = ep[cols].reset_index().merge(ep[cols], on="child_id", suffixes=("", "_later"))
    inside = (
        (pairs["year_later"] > pairs["year"])
        & (pairs["DECOM_later"] <= pairs["DECOM"])
        & (pairs["DEC_later"].isna() | (pairs["DEC_later"] > pairs["DECOM"]))
    )
    hit = pairs[inside].drop_duplicates("index")
    if hit.empty:
        return ep
    why = (
        "starts inside an episode of the later "
        + hit["year_later"].astype(str)
        + " return ("
        + hit["source_file_later"]
        + " row "
        + hit["source_row_later"].astype(str)
        + ", which starts "
        + hit["DECOM_later"].dt.strftime("%Y-%m-%d")
        + "); kept the later return's version"
    )
    superseded = ep.loc[hit["index"].to_numpy()]
    report.add(superseded, "removed", "superseded_by_later_return", pd.Series(why.to_numpy(), index=superseded.index))
    return ep.drop(index=superseded.index)


def _trim_overlaps(ep: pd.DataFrame, report: ReportBuilder) -> pd.DataFrame:
    """An episode that runs past the start of the child's next one ends where the next starts."""
    ep = ep.sort_values(["child_id", "DECOM"], kind="stable").copy()
    by_child = ep.groupby("child_id")
    next_start = by_child["DECOM"].shift(-1)
    next_where = (
        by_child["source_file"].shift(-1)
        + " row "
        + by_child["source_row"].shift(-1).astype("Int64").astype(str)
    )
    over = next_start.notna() & (ep["DEC"].isna() | (ep["DEC"] > next_start))
    rec_blank = ep["REC"].isna()
    old_dec = ep["DEC"].dt.strftime("%Y-%m-%d").fillna("blank")
    why = (
        "DEC "
        + old_dec
        + " set to "
        + next_start.dt.strftime("%Y-%m-%d")
        + ": overlaps the next episode ("
        + next_where
        + ")"
        + rec_blank.map({True: "; REC set to X1", False: ""})
    )
    report.add(ep[over], "changed", "overlap_trimmed", why[over])
    ep.loc[over, "DEC"] = next_start[over]
    ep.loc[over & rec_blank, "REC"] = codes.CONTINUES_PERIOD_REC
    return ep


def _end_at_18(ep: pd.DataFrame, header: pd.DataFrame, report: ReportBuilder) -> pd.DataFrame:
    """Nobody is looked after past the 18th birthday: an episode ending after it, or still open
    at the end of a return that runs past it, ends on it (a wrong DOB or a missing DEC), with
    E8 (ceased for any other reason, as at 18) where REC was blank or X1."""
    ep = ep.copy()
    b18 = codes.add_years(lookup(header, "DOB", ep["child_id"]), 18)
    year_end = pd.to_datetime(ep["year"].astype(int).astype(str) + "-03-31").astype("datetime64[ns]")
    late = (ep["DEC"] > b18) | (ep["DEC"].isna() & (year_end >= b18))
    late = late.fillna(False).astype(bool)
    new_rec = ep["REC"].isna() | ep["REC"].eq(codes.CONTINUES_PERIOD_REC).fillna(False)
    old_dec = ep["DEC"].dt.strftime("%Y-%m-%d").fillna("blank")
    why = ("DEC " + old_dec + " set to the 18th birthday " + b18.dt.strftime("%Y-%m-%d")
           + ": nobody is looked after past 18 (check DOB and DEC)" + new_rec.map({True: "; REC set to E8", False: ""}))
    report.add(ep[late], "changed", "ended_at_18", why[late])
    ep.loc[late, "DEC"] = b18[late]
    ep.loc[late & new_rec, "REC"] = "E8"
    return ep


def _close_missing_from_next_return(ep: pd.DataFrame, report: ReportBuilder) -> pd.DataFrame:
    """An episode open at 31 March whose child is in no later episode although the next
    year's return was read: a return lists everyone looked after at any time in its year, so
    the child had left by 1 April. It ends then with E8 (any other reason, the exit being
    unknown), instead of staying in care to the end of the data and in every later stock."""
    ep = ep.copy()
    years = set(ep["year"].unique())
    missing = ep["DEC"].isna() & (ep["year"] + 1).isin(years)
    if not missing.any():
        return ep
    april = pd.to_datetime(ep["year"].astype(int).astype(str) + "-04-01").astype("datetime64[ns]")
    why = (
        "open at 31 March "
        + ep["year"].astype(str)
        + " but the child is not in the "
        + (ep["year"] + 1).astype(str)
        + " return: DEC set to "
        + april.dt.strftime("%Y-%m-%d")
        + ", REC to E8 (exit unknown)"
    )
    report.add(ep[missing], "changed", "missing_from_next_return", why[missing])
    ep.loc[missing, "DEC"] = april[missing]
    ep.loc[missing, "REC"] = "E8"
    return ep


def _map_codes(ep: pd.DataFrame, header: pd.DataFrame) -> pd.DataFrame:
    ep = ep.copy()
    dob = lookup(header, "DOB", ep["child_id"])
    ep["placement_type"] = codes.placement_type(ep["PLACE"], ep["PLACE_PROVIDER"])
    ep["in_house"] = codes.in_house(ep["PLACE_PROVIDER"]).astype(bool)
    ep["legal_status"] = codes.legal_status(ep["LS"])
    ep["need"] = codes.need(ep["CIN"])
    ep["exit_route"] = codes.exit_route(ep["REC"], ep["DEC"], dob)
    return ep


UASC_YOUNG_YEARS = 10  # unaccompanied asylum seekers are almost all 14-17 (QA18: a file of every child passed)


def _children(
    header: pd.DataFrame,
    uasc: pd.DataFrame,
    episodes: pd.DataFrame,
    short_break_children: set[str],
    report: ReportBuilder,
) -> pd.DataFrame:
    in_care = set(episodes["child_id"])
    without = header[~header["child_id"].isin(in_care)]
    short = without["child_id"].isin(short_break_children)
    # its own rule: counted with the episodes' rows, a child's header row read as another episode (QA22)
    report.add(without[short], "removed", "short_breaks_only_header", "child only ever on short breaks (V3/V4)")
    report.add(
        without[~short], "removed", "child_without_episodes", "no episode for this child in any return"
    )
    uasc_out = uasc[~uasc["child_id"].isin(in_care)]
    report.add(uasc_out, "removed", "uasc_child_without_episodes", "no looked-after episode for this child")
    first = episodes.sort_values(["child_id", "start"]).drop_duplicates("child_id")  # each child's first episode
    young = uasc["child_id"].isin(in_care) & (codes.age_in_years(lookup(header, "DOB", uasc["child_id"]),
                                                                  lookup(first, "start", uasc["child_id"]))
                                             < UASC_YOUNG_YEARS)
    report.add(uasc[young], "flagged", "uasc_very_young",
               f"in a UASC file but under {UASC_YOUNG_YEARS} when first looked after: is the file listing other children?")
    # DUC is when UASC status ceased: before the child was first looked after is a typo or another
    # child's date (the child is still counted as UASC: the file lists it; nothing else reads DUC)
    ceased_before = uasc["child_id"].isin(in_care) & (uasc["DUC"] < lookup(first, "start", uasc["child_id"]))
    report.add(uasc[ceased_before], "flagged", "uasc_ceased_before_care",
               "DUC (UASC status ceased) is before the child was first looked after: a mistyped date?", field="DUC")
    # or after the year the return covers: a date still to come when it was made (QA22: 01/01/2030)
    year_end = pd.to_datetime(uasc["year"].astype(int).astype(str) + "-03-31")
    report.add(uasc[uasc["DUC"] > year_end], "flagged", "uasc_ceased_after_return",
               "DUC (UASC status ceased) is after the end of the return's year (31 March): a mistyped date?",
               field="DUC")

    kids = header[header["child_id"].isin(in_care)]
    children = pd.DataFrame(
        {
            "child_id": kids["child_id"].to_numpy(),
            "sex": kids["SEX"].map(codes.SEX_BY_CODE).to_numpy(),
            "dob": kids["DOB"].to_numpy(),
            "uasc": kids["child_id"].isin(set(uasc["child_id"])).to_numpy(),
            "need": lookup(first, "need", kids["child_id"]).to_numpy(),
        }
    )
    return children.sort_values("child_id").reset_index(drop=True)
