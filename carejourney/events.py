"""The append-only event log of one replication.

The model appends one fixed-field tuple when something ends (a period of care, a
placement, a legal status, an intervention, an allowance): each record is a spell with
its start and end, so stock on any day and days in any year follow with numpy, and no
monitor process has to watch the system. Spells still open at the end of the run are
closed at the horizon with end = NaN (right-censored).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from operator import itemgetter

import numpy as np
import pandas as pd

from .streams import CHILD_SOURCES
from .vocab import EXIT_ROUTES, LEGAL_STATUSES, NEEDS, PLACEMENT_TYPES

PLACEMENT_END_REASONS = ("move", "step_down", "escalation", "adoption_match", "exit", "censored")
END_REASON_CODE = {r: i for i, r in enumerate(PLACEMENT_END_REASONS)}
POST_CARE_KINDS = ("sgo_allowance", "adoption_allowance", "care_leaver", "staying_put")
POST_CARE_CODE = {k: i for i, k in enumerate(POST_CARE_KINDS)}
SERVICE_OUTCOMES = ("success", "failure", "entered_while_waiting", "gave_up_waiting", "censored")
SERVICE_OUTCOME_CODE = {k: i for i, k in enumerate(SERVICE_OUTCOMES)}
EDGE_OUTCOMES = ("emergency_entry", "referred_to_service", "entry_without_service", "stayed_home", "diverted")
EDGE_OUTCOME_CODE = {k: i for i, k in enumerate(EDGE_OUTCOMES)}

# The fields of each log's tuples, in order, with their types (see EventLog).
LOG_FIELDS = {
    "children": (("child", int), ("dob", float), ("male", bool), ("need", int), ("uasc", bool), ("sibling", bool),
                 ("source", int)),
    "periods": (("child", int), ("period", int), ("start", float), ("end", float), ("entry_status", int),
                ("exit_route", int)),
    "placements": (("child", int), ("period", int), ("start", float), ("end", float), ("type", int),
                   ("in_house", bool), ("in_area", bool), ("end_reason", int)),
    "legal": (("child", int), ("period", int), ("start", float), ("end", float), ("status", int)),
    "services": (("child", int), ("service", int), ("requested", float), ("start", float), ("end", float),
                 ("outcome", int)),
    "edge": (("child", int), ("time", float), ("age_band", int), ("outcome", int)),
    "post_care": (("child", int), ("kind", int), ("start", float), ("end", float)),
    "capacity": (("time", float), ("pool", int), ("occupied", int), ("places", int)),
    "queues": (("time", float), ("service", int), ("waiting", int), ("in_service", int)),
}
_NUMPY_TYPE = {int: np.int64, float: np.float64, bool: np.bool_}


@dataclass
class EventLog:
    """Lists of tuples while the model runs; DataFrames afterwards (see `tables`)."""

    children: list = field(default_factory=list)  # (child, dob, male, need, uasc, sibling, source)
    periods: list = field(default_factory=list)  # (child, period, start, end, entry_status, exit_route)
    placements: list = field(default_factory=list)  # (child, period, start, end, type, in_house, in_area, end_reason)
    legal: list = field(default_factory=list)  # (child, period, start, end, status)
    services: list = field(default_factory=list)  # (child, service, requested, start, end, outcome)
    edge: list = field(default_factory=list)  # (child, time, age_band, outcome)
    post_care: list = field(default_factory=list)  # (child, kind, start, end)
    capacity: list = field(default_factory=list)  # (time, pool, occupied, places)
    queues: list = field(default_factory=list)  # (time, service, waiting, in_service)
    referrals: np.ndarray | None = None  # monthly counts: (month, age band, referrals, early help)

    _columns: dict = field(default_factory=dict, repr=False, compare=False)

    def columns(self, name: str) -> LogColumns:
        """One log's fields as numpy arrays, by field name. Read once the run is over, and
        kept: a log priced several times (runner.run_repriced) converts each field once."""
        cols = self._columns.get(name)
        rows = getattr(self, name)
        if cols is None or cols._rows is not rows or cols._n != len(rows):
            cols = self._columns[name] = LogColumns(rows, LOG_FIELDS[name])
        return cols


class LogColumns:
    """The fields of a list of log tuples as numpy arrays, each read on first use: a
    measure reads only the fields it needs."""

    def __init__(self, rows: list, fields: tuple[tuple[str, type], ...]):
        self._rows = rows
        self._n = len(rows)
        self._fields = {f: (k, t) for k, (f, t) in enumerate(fields)}

    def __getattr__(self, field: str) -> np.ndarray:
        if field.startswith("_") or field not in self._fields:
            raise AttributeError(field)
        k, t = self._fields[field]
        # numpy reads Python ints and bools into int64 and bool far faster than into float
        column = np.fromiter(map(itemgetter(k), self._rows), _NUMPY_TYPE[t], len(self._rows))
        setattr(self, field, column)
        return column


def _frame(rows, columns, dtypes):
    if rows:
        arr = pd.DataFrame.from_records(rows, columns=columns)
    else:
        arr = pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(columns, dtypes)})
    return arr


def _codes_to_names(series: pd.Series, names: tuple[str, ...]) -> pd.Categorical:
    return pd.Categorical.from_codes(series.to_numpy(dtype=np.int64), categories=list(names))


def tables(log: EventLog, start_date, service_names: list[str], pool_names: list[str]) -> dict[str, pd.DataFrame]:
    """The event log as tidy DataFrames with calendar dates (start_date = day 0)."""
    origin = np.datetime64(start_date, "D")

    def to_date(days: pd.Series) -> pd.Series:
        # floor to the day; NaN (still open at the horizon) becomes NaT
        d = np.floor(days.to_numpy(dtype=float))
        out = np.full(d.shape, np.datetime64("NaT"), dtype="datetime64[D]")
        ok = ~np.isnan(d)
        out[ok] = origin + d[ok].astype(np.int64)
        return pd.Series(out, index=days.index)

    children = _frame(log.children, ["child_id", "dob_day", "male", "need", "uasc", "sibling_group", "source"],
                      ["int64", "float64", "bool", "int64", "bool", "bool", "int64"])
    children["dob"] = to_date(children["dob_day"])
    children["need"] = _codes_to_names(children["need"], NEEDS)
    children["source"] = _codes_to_names(children["source"], CHILD_SOURCES)

    periods = _frame(log.periods, ["child_id", "period", "start_day", "end_day", "entry_status", "exit_route"],
                     ["int64", "int64", "float64", "float64", "int64", "int64"])
    periods["entry_status"] = _codes_to_names(periods["entry_status"], LEGAL_STATUSES)
    periods["exit_route"] = _codes_to_names(periods["exit_route"], EXIT_ROUTES)

    placements = _frame(log.placements, ["child_id", "period", "start_day", "end_day", "placement_type",
                                         "in_house", "in_area", "end_reason"],
                        ["int64", "int64", "float64", "float64", "int64", "bool", "bool", "int64"])
    placements["placement_type"] = _codes_to_names(placements["placement_type"], PLACEMENT_TYPES)
    placements["end_reason"] = _codes_to_names(placements["end_reason"], PLACEMENT_END_REASONS)

    legal = _frame(log.legal, ["child_id", "period", "start_day", "end_day", "legal_status"],
                   ["int64", "int64", "float64", "float64", "int64"])
    legal["legal_status"] = _codes_to_names(legal["legal_status"], LEGAL_STATUSES)

    services = _frame(log.services, ["child_id", "service", "requested_day", "start_day", "end_day", "outcome"],
                      ["int64", "int64", "float64", "float64", "float64", "int64"])
    services["service"] = _codes_to_names(services["service"], tuple(service_names))
    services["outcome"] = _codes_to_names(services["outcome"], SERVICE_OUTCOMES)

    edge = _frame(log.edge, ["child_id", "day", "age_band", "outcome"], ["int64", "float64", "int64", "int64"])
    edge["outcome"] = _codes_to_names(edge["outcome"], EDGE_OUTCOMES)

    post = _frame(log.post_care, ["child_id", "kind", "start_day", "end_day"], ["int64", "int64", "float64", "float64"])
    post["kind"] = _codes_to_names(post["kind"], POST_CARE_KINDS)

    capacity = _frame(log.capacity, ["day", "pool", "occupied", "places"], ["float64", "int64", "int64", "int64"])
    capacity["pool"] = _codes_to_names(capacity["pool"], tuple(pool_names))
    queues = _frame(log.queues, ["day", "service", "waiting", "in_service"], ["float64", "int64", "int64", "int64"])
    queues["service"] = _codes_to_names(queues["service"], tuple(service_names))

    for df in (periods, placements, legal, post):
        df["start"] = to_date(df["start_day"])
        df["end"] = to_date(df["end_day"])
    return {
        "children": children, "care_periods": periods, "placements": placements,
        "legal_statuses": legal, "services": services, "edge_of_care": edge,
        "post_care": post, "capacity": capacity, "queues": queues,
    }
