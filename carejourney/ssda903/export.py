"""export_903: simulated journeys (the model's tidy output tables) -> SSDA903 CSV returns.

A new episode starts whenever the placement or the legal status changes; each collection
year's files hold the episodes open at any time from 1 April to 31 March, with DEC and REC
blank for an episode still open on 31 March. Child ids are synthetic ('SIM000123').
Written files read back with read_ssda903 and clean to the same periods, placements, legal
statuses and exit routes, except where a code cannot say it: concurrent_foster_to_adopt
reads back as in-house / IFA fostering, in_area is not written (the files carry no postcodes),
and an exit code not yet valid in its year is written as its fallback (E17 -> E8, ...).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from . import codes
from .validate import collection_year, year_bounds

HEADER_COLUMNS = ["CHILD", "SEX", "DOB", "ETHNIC", "UPN", "MOTHER", "MC_DOB"]
EPISODE_COLUMNS = [
    "CHILD", "DECOM", "RNE", "LS", "CIN", "PLACE", "PLACE_PROVIDER", "DEC", "REC",
    "REASON_PLACE_CHANGE", "HOME_POST", "PL_POST", "URN",
]  # fmt: skip
UASC_COLUMNS = ["CHILD", "SEX", "DOB", "DUC"]
DATE_FORMAT = "%d/%m/%Y"
ETHNIC_NOT_OBTAINED = "NOBT"  # the model has no ethnicity: "information not yet obtained"
SYNTHETIC_ID_FORMAT = "SIM{:06d}"
UASC_CEASES_AT_AGE = 18  # DUC written as the 18th birthday once it has passed

INPUT_COLUMNS = {
    "children": ["child_id", "sex", "dob", "need", "uasc"],
    "care_periods": ["child_id", "period", "start", "end", "exit_route"],
    "placements": ["child_id", "period", "start", "end", "placement_type", "in_house"],
    "legal_statuses": ["child_id", "period", "start", "end", "legal_status"],
}
KEY = ["child_id", "period"]


def export_903(tables: Mapping[str, pd.DataFrame] | Any, out_dir: str | Path, years=None) -> dict[int, Path]:
    """Write `out_dir/<year>/header.csv, episodes.csv, uasc.csv` for each collection year.

    `tables` maps (or has attributes) children, care_periods, placements, legal_statuses with
    the columns in INPUT_COLUMNS (children may have the event log's boolean `male` instead of
    `sex`). `years` defaults to the collection years from the first placement or legal-status
    start (not before 2014-15, the first the code lists cover) to the latest date.
    Returns {year: folder written}.
    """
    frames = _input_frames(tables)
    episodes = episodes_from_tables(frames)
    if years is None:
        years = _default_years(frames)
    out = Path(out_dir)
    written: dict[int, Path] = {}
    for year in sorted(int(y) for y in years):
        folder = out / str(year)
        folder.mkdir(parents=True, exist_ok=True)
        header, eps, uasc = _year_files(frames["children"], episodes, year)
        header.to_csv(folder / "header.csv", index=False)
        eps.to_csv(folder / "episodes.csv", index=False)
        uasc.to_csv(folder / "uasc.csv", index=False)
        written[year] = folder
    return written


def _input_frames(tables: Mapping[str, pd.DataFrame] | Any) -> dict[str, pd.DataFrame]:
    frames = {}
    for name, columns in INPUT_COLUMNS.items():
        frame = tables[name] if isinstance(tables, Mapping) else getattr(tables, name)
        if name == "children" and "sex" not in frame and "male" in frame:  # the event log's form
            frame = frame.assign(sex=frame["male"].map({True: "M", False: "F"}))
        missing = [c for c in columns if c not in frame]
        if missing:
            raise ValueError(f"{name} lacks columns {missing}")
        frame = frame[columns].copy()
        for col in columns:
            if isinstance(frame[col].dtype, pd.CategoricalDtype):
                frame[col] = frame[col].astype(object)
        for col in ("start", "end", "dob"):
            if col in frame:
                frame[col] = pd.to_datetime(frame[col]).astype("datetime64[ns]")
        frames[name] = frame
    return frames


def _from_period_start(spells: pd.DataFrame, periods: pd.DataFrame) -> pd.DataFrame:
    """Start each period's first spell at the period's start.

    Children already in care when a run starts have periods that began before it but spells
    recorded from the run's first day; SSDA903 needs an episode from the day the period began,
    so the first spell is assumed to have lasted since then.
    """
    spells = spells.sort_values([*KEY, "start"], kind="stable").reset_index(drop=True)
    period_start = spells[KEY].merge(periods[[*KEY, "start"]], on=KEY, how="left")["start"]
    first = ~spells.duplicated(KEY, keep="first")
    later = first & (spells["start"] > period_start)
    spells.loc[later, "start"] = period_start[later]
    return spells


def _default_years(frames: dict[str, pd.DataFrame]) -> list[int]:
    """From the year of the first recorded spell (a run's first day: periods of children
    already in care start earlier) to the year of the latest date, and not before 2014-15."""
    dates = pd.concat([frames[n][c] for n in ("placements", "legal_statuses") for c in ("start", "end")])
    dates = pd.concat([dates, frames["care_periods"]["end"]]).dropna()
    if dates.empty:
        return []
    first = max(collection_year(dates.min()), codes.FIRST_YEAR)
    return list(range(first, collection_year(dates.max()) + 1))


def _same(a: pd.Series, b: pd.Series) -> pd.Series:
    """Equal dates, counting two NaT (still open) as equal."""
    return (a == b) | (a.isna() & b.isna())


def _check_tiling(spells: pd.DataFrame, periods: pd.DataFrame, name: str) -> None:
    """Spells of a period must start at its start, follow on without gaps, end at its end."""
    spells = spells.sort_values([*KEY, "start"])
    merged = spells.merge(periods[[*KEY, "start", "end"]], on=KEY, suffixes=("", "_period"), how="left")
    if merged["start_period"].isna().any():
        raise ValueError(f"{name} has rows for periods not in care_periods")
    grouped = merged.groupby(KEY)
    first = grouped.cumcount() == 0
    last = grouped.cumcount(ascending=False) == 0
    next_start = grouped["start"].shift(-1)
    bad = (
        (first & ~_same(merged["start"], merged["start_period"]))
        | (~last & ~_same(merged["end"], next_start))
        | (last & ~_same(merged["end"], merged["end_period"]))
    )
    if bad.any():
        where = merged.loc[bad, KEY].drop_duplicates().head(5).to_records(index=False).tolist()
        raise ValueError(
            f"{name} do not cover their periods without gaps or overlaps, e.g. (child_id, period) {where}"
        )
    covered = set(map(tuple, spells[KEY].to_numpy().tolist()))
    uncovered = [k for k in map(tuple, periods[KEY].to_numpy().tolist()) if k not in covered]
    if uncovered:
        raise ValueError(f"periods without {name}, e.g. (child_id, period) {uncovered[:5]}")


def episodes_from_tables(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per SSDA903 episode with its codes: CHILD, DECOM, DEC, RNE, LS, CIN, PLACE,
    PLACE_PROVIDER, REC (REC of the whole episode; years blank it when open at 31 March)."""
    periods = frames["care_periods"]
    placements = _from_period_start(frames["placements"], periods)
    legal = _from_period_start(frames["legal_statuses"], periods)
    _check_tiling(placements, periods, "placements")
    _check_tiling(legal, periods, "legal_statuses")

    breaks = pd.concat([placements[[*KEY, "start"]], legal[[*KEY, "start"]]]).drop_duplicates()
    breaks = breaks.merge(
        periods.rename(columns={"start": "period_start", "end": "period_end"}), on=KEY, how="inner"
    )
    # a spell starting on the day its period ends would be an episode of no length: skip it
    keep = (
        breaks["start"].eq(breaks["period_start"])
        | breaks["period_end"].isna()
        | (breaks["start"] < breaks["period_end"])
    )
    breaks = breaks[keep].sort_values("start", kind="stable")
    # spells starting the same day (a same-day move) collapse into the one that lasts longest:
    # two SSDA903 episodes of a child cannot start on the same day
    pl = (
        placements.sort_values(["start", "end"], na_position="last", kind="stable")
        .rename(columns={"start": "placement_start"})
        .drop(columns="end")
    )
    lg = (
        legal.sort_values(["start", "end"], na_position="last", kind="stable")
        .rename(columns={"start": "legal_start"})
        .drop(columns="end")
    )
    ep = pd.merge_asof(breaks, pl, left_on="start", right_on="placement_start", by=KEY, direction="backward")
    ep = pd.merge_asof(
        ep.sort_values("start"), lg, left_on="start", right_on="legal_start", by=KEY, direction="backward"
    )
    ep = ep.sort_values([*KEY, "start"]).reset_index(drop=True)

    grouped = ep.groupby(KEY)
    ep["end"] = grouped["start"].shift(-1).fillna(ep["period_end"]).astype("datetime64[ns]")
    ep.loc[grouped.cumcount(ascending=False) == 0, "end"] = ep["period_end"]
    first = grouped.cumcount() == 0
    placement_changed = ep["start"].eq(ep["placement_start"])
    legal_changed = ep["start"].eq(ep["legal_start"])
    ep["RNE"] = codes.RNE_BOTH
    ep.loc[placement_changed & ~legal_changed, "RNE"] = codes.RNE_PLACEMENT
    ep.loc[~placement_changed & legal_changed, "RNE"] = codes.RNE_LEGAL
    ep.loc[first, "RNE"] = codes.RNE_START

    unknown_types = set(ep["placement_type"]) - set(codes.EXPORT_PLACEMENT)
    unknown_legal = set(ep["legal_status"]) - set(codes.EXPORT_LS)
    if unknown_types or unknown_legal:
        raise ValueError(
            f"no SSDA903 code for placement types {unknown_types} / legal statuses {unknown_legal}"
        )
    choice = ep["placement_type"].map(codes.EXPORT_PLACEMENT)
    ep["PLACE"] = choice.str[0]
    adoption_order = ep["placement_type"].eq("placed_for_adoption") & ep["legal_status"].eq("placement_order")
    ep.loc[adoption_order, "PLACE"] = codes.EXPORT_ADOPTION_UNDER_PLACEMENT_ORDER
    ep["PLACE_PROVIDER"] = choice.str[1].where(ep["in_house"].astype(bool), choice.str[2])
    ep["LS"] = ep["legal_status"].map(codes.EXPORT_LS)

    last = grouped.cumcount(ascending=False) == 0
    closed = ep["period_end"].notna()
    ep["REC"] = pd.Series(codes.CONTINUES_PERIOD_REC, index=ep.index, dtype=object)
    ep.loc[last & closed, "REC"] = ep.loc[last & closed, "exit_route"].map(codes.EXPORT_REC)
    ep.loc[last & ~closed, "REC"] = pd.NA
    if ep.loc[last & closed, "REC"].isna().any():
        bad = set(ep.loc[last & closed & ep["REC"].isna(), "exit_route"])
        raise ValueError(f"closed periods with exit routes that have no SSDA903 code: {bad}")

    needs = frames["children"].set_index("child_id")["need"]
    ep["CIN"] = ep["child_id"].map(needs).str.split("_").str[0]
    if ep["CIN"].isna().any():
        raise ValueError("children with episodes but no need (CIN) in the children table")
    ep["CHILD"] = ep["child_id"].map(SYNTHETIC_ID_FORMAT.format)
    return ep.rename(columns={"start": "DECOM", "end": "DEC"})


def _year_files(children: pd.DataFrame, episodes: pd.DataFrame, year: int):
    first_day, last_day = year_bounds(year)
    valid = codes.valid_codes(year)
    in_year = episodes[
        (episodes["DECOM"] <= last_day) & (episodes["DEC"].isna() | (episodes["DEC"] >= first_day))
    ]
    eps = in_year.copy()
    open_at_year_end = eps["DEC"].isna() | (eps["DEC"] > last_day)
    eps.loc[open_at_year_end, "DEC"] = pd.NaT
    eps["REC"] = eps["REC"].astype(object).where(~open_at_year_end)
    not_valid = eps["REC"].notna() & ~eps["REC"].isin(valid["REC"])
    eps.loc[not_valid, "REC"] = eps.loc[not_valid, "REC"].map(codes.EXPORT_REC_FALLBACK)
    eps = eps.sort_values(["child_id", "DECOM"])
    out_eps = pd.DataFrame({c: eps.get(c, "") for c in EPISODE_COLUMNS})
    for col in ("DECOM", "DEC"):
        out_eps[col] = eps[col].dt.strftime(DATE_FORMAT).fillna("")
    out_eps["REC"] = out_eps["REC"].fillna("")

    kids = children[children["child_id"].isin(set(eps["child_id"]))].sort_values("child_id")
    ids = kids["child_id"].map(SYNTHETIC_ID_FORMAT.format)
    sex = kids["sex"].map(codes.EXPORT_SEX)
    dob = kids["dob"].dt.strftime(DATE_FORMAT)
    header = pd.DataFrame({c: "" for c in HEADER_COLUMNS}, index=kids.index)
    header["CHILD"], header["SEX"], header["DOB"], header["ETHNIC"] = ids, sex, dob, ETHNIC_NOT_OBTAINED

    uasc_kids = kids[kids["uasc"].astype(bool)]
    duc = codes.add_years(uasc_kids["dob"], UASC_CEASES_AT_AGE)
    uasc = pd.DataFrame(
        {
            "CHILD": ids[uasc_kids.index],
            "SEX": sex[uasc_kids.index],
            "DOB": dob[uasc_kids.index],
            "DUC": duc.where(duc <= last_day).dt.strftime(DATE_FORMAT).fillna(""),
        },
        columns=UASC_COLUMNS,
    )
    return header, out_eps, uasc
