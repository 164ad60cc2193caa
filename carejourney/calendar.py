"""Financial years and snapshot dates, in model days from the config's start date."""

from __future__ import annotations

import datetime as dt

import numpy as np


def fy_label(start_year: int) -> str:
    """'2015-16' for the year 1 April 2015 - 31 March 2016."""
    return f"{start_year}-{(start_year + 1) % 100:02d}"


def financial_years(start: dt.date, end: dt.date) -> list[tuple[str, int, float, float]]:
    """(label, start year, first day, day after last) for each FY overlapping [start, end]."""
    y = start.year if start.month >= 4 else start.year - 1
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


def count_covering(starts: np.ndarray, ends: np.ndarray, at: np.ndarray) -> np.ndarray:
    """How many spells are open at each time in `at`: start < t <= end (NaN end = open).

    With this convention stock(b) - stock(a) = starts in [a, b) - ends in [a, b) exactly,
    and a child leaving at midnight after 31 March was looked after on 31 March.
    """
    s = np.sort(starts)
    e = np.sort(np.where(np.isnan(ends), np.inf, ends))
    return np.searchsorted(s, at, side="left") - np.searchsorted(e, at, side="left")


def days_in_windows(starts: np.ndarray, ends: np.ndarray, windows: list[tuple[float, float]]) -> np.ndarray:
    """Days each spell spends in each window: shape (spells, windows)."""
    e = np.where(np.isnan(ends), np.inf, ends)
    lo = np.array([w[0] for w in windows])
    hi = np.array([w[1] for w in windows])
    return np.clip(np.minimum(e[:, None], hi[None, :]) - np.maximum(starts[:, None], lo[None, :]), 0, None)
