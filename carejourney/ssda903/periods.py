"""Joining a child's cleaned episodes into periods of care, placements and legal spells.

A period ends at an episode whose REC is an exit (not X1), or where the next episode does not
start on the day this one ends. Within a period, RNE says whether the placement, the legal
status or both changed at the start of each episode.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from carejourney import vocab

from . import codes
from .report import ReportBuilder

CENSORED = "censored"
CLOSED_AFTER_X1 = "transferred_or_other"  # an X1 episode with nothing after it: exit unknown


def build_periods(
    ep: pd.DataFrame, header: pd.DataFrame, report: ReportBuilder
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(episodes with period and episode numbers, periods). `ep` must have no overlaps."""
    ep = ep.sort_values(["child_id", "DECOM"], kind="stable").reset_index(drop=True)
    by_child = ep.groupby("child_id")
    prev_rec, prev_dec = by_child["REC"].shift(1), by_child["DEC"].shift(1)
    first_of_child = ep["child_id"].ne(ep["child_id"].shift(1))
    new_period = first_of_child | prev_rec.ne(codes.CONTINUES_PERIOD_REC) | (prev_dec < ep["DECOM"])
    # an exit, then an episode the same day whose RNE says care went on: the codes disagree. A
    # period ends at the exit, as the DfE counts it, and the row is flagged (QA18: an E11 so
    # followed became an adoption and a re-entry the same day, without a word)
    rne = ep["RNE"].astype(object)
    contradicts = (~first_of_child & prev_rec.notna() & prev_rec.ne(codes.CONTINUES_PERIOD_REC)
                   & prev_dec.eq(ep["DECOM"]) & rne.notna() & rne.ne(codes.RNE_START))
    report.add(ep[contradicts], "flagged", "continues_after_exit",
               ("RNE " + rne + " (care continues) on the day the episode before ended with REC " + prev_rec
                + " (an exit): read as leaving care and starting again; is the REC (X1?) or the RNE (S?) wrong?")[contradicts])
    ep["period"] = new_period.astype(int).groupby(ep["child_id"]).cumsum().astype("int64")
    ep["episode"] = ep.groupby(["child_id", "period"]).cumcount().astype("int64") + 1

    key = ["child_id", "period"]
    firsts = ep.drop_duplicates(key, keep="first").set_index(key)
    lasts = ep.drop_duplicates(key, keep="last").set_index(key)
    is_open = lasts["DEC"].isna()
    after_x1 = ~is_open & lasts["REC"].eq(codes.CONTINUES_PERIOD_REC)
    exit_route = lasts["exit_route"].astype(object).copy()
    exit_route[is_open] = CENSORED
    exit_route[after_x1] = CLOSED_AFTER_X1
    report.add(
        lasts[after_x1].reset_index(),
        "flagged",
        "period_closed_after_x1",
        "REC is X1 but no episode starts on its DEC; period closed with exit route " + CLOSED_AFTER_X1,
    )

    first_ids = pd.Series(firsts.index.get_level_values("child_id"), index=firsts.index)
    dob = header.set_index("child_id")["DOB"].reindex(first_ids.to_numpy())
    dob = pd.Series(dob.to_numpy(), index=firsts.index, dtype="datetime64[ns]")
    age = codes.age_in_years(dob, firsts["DECOM"].astype("datetime64[ns]"))
    band_index = np.searchsorted(vocab.AGE_BAND_LOWER_YEARS, age.to_numpy(dtype=float), side="right") - 1
    periods = pd.DataFrame(
        {
            "start": firsts["DECOM"],
            "end": lasts["DEC"],
            "exit_route": exit_route,
            "legal_status_at_entry": firsts["legal_status"],
            "placement_type_at_entry": firsts["placement_type"],
            "age_at_entry": age.astype("int64"),
            "age_band_at_entry": pd.Series(
                [vocab.AGE_BANDS[max(i, 0)] for i in band_index], index=firsts.index, dtype=object
            ),
            "n_episodes": ep.groupby(key).size(),
        }
    ).reset_index()

    episodes = ep.rename(columns={"DECOM": "start", "DEC": "end"})
    front = ["child_id", "period", "episode", "start", "end", "placement_type", "in_house", "legal_status"]
    front += ["need", "exit_route", "PLACE", "PLACE_PROVIDER", "LS", "CIN", "RNE", "REC"]
    back = [c for c in ("REASON_PLACE_CHANGE",) if c in episodes and episodes[c].notna().any()]
    episodes = episodes[front + back + ["year", "source_file", "source_row"]]
    return episodes, periods


def _spells(episodes: pd.DataFrame, changes: pd.Series, value_cols: list[str]) -> pd.DataFrame:
    """Join consecutive episodes of a period into spells; `changes` marks an episode starting one.

    `episodes` must be sorted; a spell's last episode is the one before the next spell starts.
    (Not groupby().last(): that skips NaT and would close an open spell.)
    """
    changes = changes.to_numpy(dtype=bool)
    ends = np.append(changes[1:], True)[: len(changes)]
    out = episodes.loc[changes, ["child_id", "period", "start", *value_cols]].reset_index(drop=True)
    out.insert(3, "end", episodes.loc[ends, "end"].to_numpy())
    return out


def _value_changed(episodes: pd.DataFrame, cols: list[str]) -> pd.Series:
    prev = episodes.groupby(["child_id", "period"])[cols].shift(1)
    return (episodes[cols].ne(prev)).any(axis=1)


def build_placements(episodes: pd.DataFrame) -> pd.DataFrame:
    """child_id, period, start, end, placement_type, in_house: one row per placement."""
    episodes = episodes.sort_values(["child_id", "period", "episode"])
    starts = (
        episodes["episode"].eq(1)
        | episodes["RNE"].isin(codes.RNE_PLACEMENT_CHANGE)
        | _value_changed(episodes, ["placement_type", "in_house"])
    )
    return _spells(episodes, starts, ["placement_type", "in_house"])


def build_legal_statuses(episodes: pd.DataFrame) -> pd.DataFrame:
    """child_id, period, start, end, legal_status: one row per legal-status spell."""
    episodes = episodes.sort_values(["child_id", "period", "episode"])
    starts = (
        episodes["episode"].eq(1)
        | episodes["RNE"].isin(codes.RNE_LEGAL_CHANGE)
        | _value_changed(episodes, ["legal_status"])
    )
    return _spells(episodes, starts, ["legal_status"])
