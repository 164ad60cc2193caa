"""Cleaned SSDA903 tables -> spells at risk inside an observation window.

The window is whole collection years: from 1 April of the first to 31 March of the last.
A spell is observed from `risk_start` = max(start, window start) (delayed entry: spells
that began earlier are left-truncated) to `obs_end` = its end if that is inside the window
(`ended`), else the window's end (right-censored). Ages are whole years as DfE counts them;
a spell's age band is the band on `risk_start`, which is what the model uses: it draws a
status's exit times, and a placement's time to move, when the status or placement starts,
with the age band of that day (and children already in care restart their clocks on the
start date).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..calendar import fy_label
from ..ssda903.codes import add_years, age_in_years
from ..vocab import AGE_BAND_LOWER_YEARS, AGE_BANDS, DAYS_PER_YEAR

KEY = ["child_id", "period"]
DAY = pd.Timedelta(days=1)

# What ended a period, for the model's mechanisms (see `exit_class`).
RETURNED_HOME = ("returned_home_planned", "returned_home_unplanned", "lives_with_relatives_no_pr")
SGO = ("sgo_former_foster_carer", "sgo_other_carer")
INDEPENDENT_LIVING = ("independent_living_supported", "independent_living_unsupported")
AT_18_ROUTES = ("staying_put_18", "turned_18_other")
FOSTER = ("kinship_foster", "inhouse_foster", "concurrent_foster_to_adopt", "ifa_foster")
HAZARD_ROUTES = ("returned_home", "sgo", "child_arrangements_order", "independent_living", "other")


@dataclass(frozen=True)
class Window:
    first_year: int  # collection years, named by the year they end (2016 = 2015-16)
    last_year: int

    @property
    def start(self) -> pd.Timestamp:
        return pd.Timestamp(self.first_year - 1, 4, 1)

    @property
    def end(self) -> pd.Timestamp:
        """Exclusive: 1 April after the last year (a child in care on 31 March is observed all day)."""
        return pd.Timestamp(self.last_year, 4, 1)

    @property
    def days(self) -> float:
        return float((self.end - self.start).days)

    def label(self) -> str:
        return f"{self.start.date()} to {(self.end - DAY).date()} (collection years {self.first_year}-{self.last_year})"


def parse_years(years) -> tuple[int, int] | None:
    """None, (first, last), [years...], 2016 or '2014-2016' / '2016' / '2015-16' -> (first, last)."""
    if years is None:
        return None
    if isinstance(years, int):
        return years, years
    if isinstance(years, str):
        s = years.strip()
        m = re.fullmatch(r"(\d{4})\s*(?:-|to|\.\.)\s*(\d{2}|\d{4})", s)
        if m:
            a, b = int(m.group(1)), m.group(2)
            if len(b) == 2:  # 2015-16 is the single collection year 2016
                if int(b) != (a + 1) % 100:
                    raise ValueError(f"years {years!r}: a two-digit end names one financial year ({a}-{(a + 1) % 100:02d}); "
                                     f"for several collection years write them in full, e.g. {a}-{a + 3}")
                return a + 1, a + 1
            return a, int(b)
        if re.fullmatch(r"\d{4}", s):
            return int(s), int(s)
        raise ValueError(f"years {years!r}: expected e.g. 2014-2016 (collection years, each ending 31 March)")
    ys = sorted(int(y) for y in years)
    if not ys:
        raise ValueError("years is empty")
    return ys[0], ys[-1]


def missing_years(cleaned, years) -> list[int]:
    """The collection years in `years` (as parse_years takes them) that the data has no
    return for; [] when `years` is None. The window leaves out those before the data's first
    year and after its last, and keeps any gap between them."""
    parsed = parse_years(years)
    if parsed is None:
        return []
    have = {int(y) for y in cleaned.years or ()}
    return [y for y in range(parsed[0], parsed[1] + 1) if y not in have]


def make_window(cleaned, years=None) -> Window:
    parsed = parse_years(years)
    have = sorted(int(y) for y in cleaned.years) if cleaned.years else []
    if parsed is None:
        if not have:
            raise ValueError("the SSDA903 data has no collection years")
        _check_no_gap(have, have[0], have[-1])
        return Window(have[0], have[-1])
    first, last = parsed
    if last < first:
        raise ValueError(f"years {years!r}: the last year is before the first")
    if have and (last < have[0] or first > have[-1]):
        raise ValueError(f"years {first}-{last} do not overlap the data's collection years {have[0]}-{have[-1]}")
    if have:  # years without a return would look like years without children
        first, last = max(first, have[0]), min(last, have[-1])
    _check_no_gap(have, first, last)
    return Window(first, last)


def _check_no_gap(have: list[int], first: int, last: int):
    """A collection year missing inside the window would make the children in care through it
    look as if they had stayed, and its entries and exits as if none happened."""
    gaps = [y for y in range(first, last + 1) if y not in set(have)]
    if gaps:
        names = ", ".join(fy_label(y - 1) for y in gaps)
        before = [y for y in have if first <= y < gaps[0]]
        after = [y for y in have if gaps[-1] < y <= last]
        options = " or ".join(f"--years {a[0]}" + (f"-{a[-1]}" if a[-1] != a[0] else "") for a in (before, after) if a)
        raise ValueError(f"no return for collection year(s) {names} inside the years used ({first}-{last}): "
                         f"the data must run without a gap; add the missing return"
                         + (f", or use {options}" if options else ""))


def band_index(ages) -> np.ndarray:
    a = np.asarray(pd.to_numeric(pd.Series(ages), errors="coerce").astype(float))
    idx = np.searchsorted(AGE_BAND_LOWER_YEARS, np.nan_to_num(a, nan=0.0), side="right") - 1
    return np.clip(idx, 0, len(AGE_BANDS) - 1)


def _ts(s: pd.Series) -> pd.Series:
    return pd.to_datetime(s).astype("datetime64[ns]")


@dataclass
class Prepared:
    window: Window
    children: pd.DataFrame  # child_id (index), dob, t18, t16_days, uasc, male, need
    periods: pd.DataFrame
    legal: pd.DataFrame
    placements: pd.DataFrame


def prepare(cleaned, window: Window) -> Prepared:
    w0, w1 = window.start, window.end
    ch = cleaned.children.copy()
    ch["dob"] = _ts(ch["dob"])
    ch["t18"] = add_years(ch["dob"], 18)
    ch["t16"] = ch["dob"] + pd.to_timedelta(16 * DAYS_PER_YEAR, unit="D")  # the model's from_age_years
    ch["male"] = ch["sex"].eq("M")
    ch = ch.set_index("child_id")

    # ---------------------------------------------------------------- placements
    pl = cleaned.placements.copy()
    pl = _spells(pl, ch, w0, w1)
    g = pl.groupby(KEY, sort=False)
    pl["next_type"] = g["placement_type"].shift(-1)
    pl["is_last"] = pl["next_type"].isna()
    pl = pl[pl["touches"]].copy()

    # ---------------------------------------------------------------- periods
    pe = cleaned.periods.copy()
    pe["start"], pe["end"] = _ts(pe["start"]), _ts(pe["end"])
    pe = pe[(pe["start"] < w1) & (pe["end"].isna() | (pe["end"] >= w0))].copy()
    pe = pe.join(ch[["dob", "t18", "uasc", "male", "need"]], on="child_id")
    pe["ended"] = pe["end"].notna() & (pe["end"] < w1)
    pe["in_window_start"] = pe["start"] >= w0
    first_ep = cleaned.episodes.sort_values([*KEY, "episode"]).drop_duplicates(KEY)
    pe = pe.merge(first_ep[[*KEY, "need"]].rename(columns={"need": "need_at_entry"}), on=KEY, how="left")
    last_pl = cleaned.placements.sort_values([*KEY, "start"]).drop_duplicates(KEY, keep="last")
    pe = pe.merge(last_pl[[*KEY, "placement_type"]].rename(columns={"placement_type": "last_placement"}),
                  on=KEY, how="left")
    last_lg = cleaned.legal_statuses.sort_values([*KEY, "start"]).drop_duplicates(KEY, keep="last")
    pe = pe.merge(last_lg[[*KEY, "legal_status"]].rename(columns={"legal_status": "last_status"}),
                  on=KEY, how="left")
    pe["exit_class"] = exit_class(pe)
    pe["age_at_entry_years"] = age_in_years(pe["dob"], pe["start"]).astype(float)
    pe["band_at_entry"] = band_index(pe["age_at_entry_years"])
    pe["first_period"] = pe["period"].eq(1)

    # ---------------------------------------------------------------- legal statuses
    lg = _spells(cleaned.legal_statuses.copy(), ch, w0, w1)
    g = lg.groupby(KEY, sort=False)
    lg["next_status"] = g["legal_status"].shift(-1)
    lg["is_last"] = lg["next_status"].isna()
    lg = lg[lg["touches"]].copy()
    lg = lg.merge(pe[[*KEY, "exit_class", "exit_route", "last_placement"]], on=KEY, how="left")
    lg.loc[~(lg["is_last"] & lg["ended"]), ["exit_class", "exit_route"]] = None
    return Prepared(window, ch, pe.reset_index(drop=True), lg.reset_index(drop=True), pl.reset_index(drop=True))


def _spells(df: pd.DataFrame, ch: pd.DataFrame, w0, w1) -> pd.DataFrame:
    df["start"], df["end"] = _ts(df["start"]), _ts(df["end"])
    df = df.sort_values([*KEY, "start"], kind="stable")
    # keep whole periods that touch the window (the next spell is needed even when outside it)
    touches = (df["start"] < w1) & (df["end"].isna() | (df["end"] >= w0))
    df = df.assign(touches=touches)
    df = df.join(ch[["dob", "t18", "t16", "uasc", "need"]], on="child_id")
    df["ended"] = df["end"].notna() & (df["end"] < w1)
    df["risk_start"] = df["start"].where(df["start"] >= w0, w0)
    df["obs_end"] = df["end"].where(df["ended"], w1)
    df["left_truncated"] = df["start"] < w0
    df["band"] = band_index(age_in_years(df["dob"], df["risk_start"]).astype(float))
    df["days"] = (df["obs_end"] - df["start"]).dt.days.astype(float)
    df["days_at_risk"] = (df["obs_end"] - df["risk_start"]).dt.days.clip(lower=0).astype(float)
    return df


def exit_class(pe: pd.DataFrame) -> pd.Series:
    """The model mechanism a period's exit belongs to.

    at_18 (on or after the 18th birthday: the model's at_18 step), adopted, returned_home,
    sgo, child_arrangements_order, independent_living, age_assessment (UASC only),
    remand_ended (from remand), other (transfers, custody, deaths, anything else before 18),
    censored (not ended inside the window).
    """
    route = pe["exit_route"].astype(object)
    out = pd.Series("other", index=pe.index, dtype=object)
    out[route.isin(RETURNED_HOME)] = "returned_home"
    out[route.isin(SGO)] = "sgo"
    out[route.eq("child_arrangements_order")] = "child_arrangements_order"
    out[route.isin(INDEPENDENT_LIVING)] = "independent_living"
    out[route.eq("adopted")] = "adopted"
    out[route.eq("age_assessment_18_plus") & pe["uasc"].astype(bool)] = "age_assessment"
    out[route.eq("remand_ended") & pe["last_status"].eq("remand")] = "remand_ended"
    at_18 = route.isin(AT_18_ROUTES) | (pe["end"].notna() & (pe["end"] >= pe["t18"]))
    out[at_18 & ~route.eq("adopted")] = "at_18"
    out[~pe["ended"]] = "censored"
    return out


def to_date(value) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def tmin(a: pd.Series, b: pd.Series) -> pd.Series:
    """Elementwise earlier of two date Series (NaT in b is ignored)."""
    return a.where(b.isna() | (a <= b), b)


def tmax(a: pd.Series, b: pd.Series) -> pd.Series:
    """Elementwise later of two date Series (NaT in b is ignored)."""
    return a.where(b.isna() | (a >= b), b)


def days_between(a, b) -> pd.Series:
    """Days from a to b (fractional, at least 0)."""
    return ((pd.Series(b) - pd.Series(a)).dt.total_seconds() / 86400.0).clip(lower=0)
