"""Financial years and snapshot dates, in model days from the config's start date."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache

import numpy as np


def fy_label(start_year: int) -> str:
    """'2015-16' for the year 1 April 2015 - 31 March 2016."""
    return f"{start_year}-{(start_year + 1) % 100:02d}"


def fy_start_year(day: dt.date) -> int:
    """The year the financial year holding `day` starts in (1 April): 2015 for 31 March 2016."""
    return day.year - (day.month < 4)


def year_ending_31_march(day: dt.date) -> int:
    """The year ending 31 March that holds `day`, as population and published figures are
    dated: 2016 for 1 April 2015."""
    return fy_start_year(day) + 1


def financial_years(start: dt.date, end: dt.date) -> list[tuple[str, int, float, float]]:
    """(label, start year, first day, day after last) for each FY overlapping [start, end]."""
    y = fy_start_year(start)
    out = []
    while dt.date(y, 4, 1) <= end:
        a, b = dt.date(y, 4, 1), dt.date(y + 1, 4, 1)
        out.append((fy_label(y), y, float((max(a, start) - start).days), float((min(b, end + dt.timedelta(1)) - start).days)))
        y += 1
    return out


def march_31_snapshots(start: dt.date, end: dt.date) -> list[tuple[dt.date, float]]:
    """Each 31 March in the run, with the model time at the end of that day."""
    out = []
    y = start.year
    while True:
        d = dt.date(y, 3, 31)
        if d > end:
            break
        if d >= start:
            out.append((d, float((d - start).days + 1)))
        y += 1
    return out


def month_end_snapshots(start: dt.date, end: dt.date) -> list[tuple[dt.date, float]]:
    out = []
    d = start
    while d <= end:
        nxt = dt.date(d.year + (d.month == 12), d.month % 12 + 1, 1)
        last = min(nxt - dt.timedelta(1), end)
        out.append((last, float((last - start).days + 1)))
        d = nxt
    return out


def birthdays(dob_days: np.ndarray, years: int, start_ordinal: int) -> np.ndarray:
    """Day (from the run's start) of each `years`-th birthday on the calendar (29 Feb -> 1 Mar)."""
    origin = np.datetime64(dt.date.fromordinal(start_ordinal), "D")
    dob = origin + np.floor(np.asarray(dob_days, dtype=float)).astype(np.int64)
    month = dob.astype("datetime64[M]")
    day_of_month = dob - month.astype("datetime64[D]")
    # 12 x years months later, the same day of the month; 29 February rolls on to 1 March
    b = (month + 12 * years).astype("datetime64[D]") + day_of_month
    return (b - origin).astype(np.int64).astype(float)


@dataclass(frozen=True, eq=False)
class RunCalendar:
    """A horizon's financial years and snapshots, worked out once: every replication
    of a run shares them."""

    fy_labels: tuple[str, ...]
    fy_years: tuple[int, ...]  # the year each FY starts in
    fy_windows: tuple[tuple[float, float], ...]  # (first day, day after last)
    fy_bounds: np.ndarray  # FY k is [fy_bounds[k], fy_bounds[k + 1]): the FYs are contiguous
    march_labels: tuple[str, ...]  # the FY each 31 March ends
    march_years: tuple[int, ...]
    march_times: np.ndarray
    month_labels: tuple[str, ...]  # ISO month-end dates
    month_times: np.ndarray

    def fy_index(self, days: np.ndarray) -> np.ndarray:
        """The FY each day falls in: -1 before the first, len(fy_labels) after the last or NaN."""
        return np.searchsorted(self.fy_bounds, days, side="right") - 1


@lru_cache(maxsize=16)
def run_calendar(start: dt.date, end: dt.date) -> RunCalendar:
    fys = financial_years(start, end)
    march = march_31_snapshots(start, end)
    months = month_end_snapshots(start, end)
    return RunCalendar(
        fy_labels=tuple(label for label, _, _, _ in fys),
        fy_years=tuple(y for _, y, _, _ in fys),
        fy_windows=tuple((a, b) for _, _, a, b in fys),
        fy_bounds=_read_only([a for _, _, a, _ in fys[:1]] + [b for _, _, _, b in fys]),
        march_labels=tuple(fy_label(d.year - 1) for d, _ in march),
        march_years=tuple(d.year for d, _ in march),
        march_times=_read_only([t for _, t in march]),
        month_labels=tuple(d.isoformat() for d, _ in months),
        month_times=_read_only([t for _, t in months]),
    )


def _read_only(values) -> np.ndarray:
    """A float array that cached results can share safely."""
    out = np.array(values, dtype=float)
    out.flags.writeable = False
    return out


def count_covering(starts: np.ndarray, ends: np.ndarray, at: np.ndarray) -> np.ndarray:
    """How many spells are open at each time in `at` (ascending): start < t <= end (NaN end = open).

    With this convention stock(b) - stock(a) = starts in [a, b) - ends in [a, b) exactly,
    and a child leaving at midnight after 31 March was looked after on 31 March.
    """
    return count_open(*covering_span(starts, ends, at), len(at))[0]


def covering_span(starts: np.ndarray, ends: np.ndarray, at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(first, stop) for each spell: it is open at at[first:stop] (see count_covering)."""
    first = np.searchsorted(at, starts, side="right")
    stop = np.searchsorted(at, np.where(np.isnan(ends), np.inf, ends), side="right")
    return first, stop


def count_open(first: np.ndarray, stop: np.ndarray, n_times: int, groups=None, n_groups: int = 1) -> np.ndarray:
    """Spells open at each time, per group (codes 0..n_groups-1): shape (n_groups, n_times).
    Each spell adds one from its first time and takes it back from its stop."""
    width = n_times + 1
    base = 0 if groups is None else groups * width
    size = n_groups * width
    net = np.bincount(base + first, minlength=size) - np.bincount(base + stop, minlength=size)
    return net.reshape(n_groups, width).cumsum(axis=1)[:, :n_times]


def days_in_windows(starts: np.ndarray, ends: np.ndarray, windows: list[tuple[float, float]]) -> np.ndarray:
    """Days each spell spends in each window: shape (spells, windows)."""
    e = np.where(np.isnan(ends), np.inf, ends)
    lo, hi = np.asarray(windows, dtype=float).reshape(-1, 2).T
    # worked out window by window (long rows are faster), returned spell by spell
    return np.ascontiguousarray(np.clip(np.minimum(e, hi[:, None]) - np.maximum(starts, lo[:, None]), 0, None).T)
