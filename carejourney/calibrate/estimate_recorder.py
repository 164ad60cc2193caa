"""The estimation in progress: its inputs, the config being written and the report.

Every part of the estimation (estimate_opening, estimate_placements, estimate_legal,
estimate_proceedings, estimate_exit_hazards, estimate_exits, estimate_arrivals) reads the
prepared episodes from an EstimateRecorder and writes through it, so that the config and
the report never disagree: `set` puts a value in the config and its row (interval, events,
exposure, method) in the report, with an `uncertainty:` entry when it has a prior; `keep`
records what stays as in the template and why; `note` adds a note on the method; `fit` runs a
fit from estimate_fit and, when the data cannot identify it (FitError: too few events, no
spread, a failed optimiser or covariance), keeps the template's value with the reason.
"""

from __future__ import annotations

import copy
import datetime as dt
import math

import numpy as np
import pandas as pd
from pydantic import TypeAdapter, ValidationError

from ..config import parse_config
from ..distributions import Distribution
from ..uncertainty import set_path
from ..vocab import AGE_BANDS
from .estimate_data import Prepared, Window, make_window, prepare
from .estimate_fit import (
    FitError,
    _r,
    beta_from_counts,
    beta_interval,
    lognormal_interval,
)
from .estimate_report import Estimate, EstimationReport, fmt_count

MIN_MIX = 5  # a mix (by age band, by placement) is replaced only with at least this many cases
MAX_SIGMA = 3.0  # a log-scale standard error above this is no information: no uncertainty entry
NB = len(AGE_BANDS)
_DISTRIBUTION = TypeAdapter(Distribution)


class EstimateRecorder:
    """Inputs (cleaned episodes, window, prepared spells, template), the config being
    estimated (`out`) and its report, with the methods that write to both."""

    def __init__(self, cleaned, start: dt.date, template: dict, years, sources):
        self.cleaned = cleaned
        self.start = start
        self.template = template
        self.tcfg = parse_config(copy.deepcopy(template), "template")
        self.window: Window = make_window(cleaned, years)
        self.d: Prepared = prepare(cleaned, self.window)
        self.out = copy.deepcopy(template)
        self.out["uncertainty"] = []
        if sources is None and "source_file" in cleaned.episodes:
            sources = sorted(set(cleaned.episodes["source_file"].dropna().astype(str)))
        self.report = EstimationReport(
            start=str(start), window=self.window.label(),
            template=str(template.get("meta", {}).get("name", "template")), sources=list(sources or []))
        self.start_ts = pd.Timestamp(start)
        self.exposure_cells_cache: dict = {}  # exit route -> its spells' cells (estimate_exit_hazards)

    def set(self, path: str, value, *, low=None, high=None, events=None, n=None, exposure=None,
            method="", note="", prior=None, display=None):
        set_path(self.out, path, value) if _exists_parent(self.out, path) else _set_creating(self.out, path, value)
        self.report.estimates.append(Estimate(path, value, _f(low), _f(high), _f(events), _f(n), _f(exposure),
                                              method, note, prior, display))
        if prior is not None:
            self.out["uncertainty"].append({"path": path, "prior": prior, "source": f"carejourney calibrate: {method}"})

    def keep(self, path: str, why: str):
        self.report.from_template.append((path, why))

    def note(self, text: str):
        self.report.notes.append(text)

    def fit(self, path: str, what: str, fit, *args, fallback: bool = True, **kw):
        """`fit(*args, **kw)`, or None when the data cannot identify it (FitError): then `path`
        is kept from the template, the report saying why. `what` names the estimate (as in
        "family finding (days from placement order to match)"). With `fallback=False` (no
        template value can stand in) the FitError is raised again, naming the estimate."""
        try:
            f = checked_fit(fit, *args, **kw)
        except FitError as err:
            if not fallback:
                raise FitError(f"{what}: {err}") from err
            self.keep(path, f"{what}: {err}; the template's value is kept")
            return None
        return f

    def set_lognormal(self, path, value, se_log, **kw):
        lo, hi = lognormal_interval(value, se_log) if np.isfinite(se_log) else (None, None)
        prior = ({"dist": "lognormal", "median": _r(value, 6), "sigma": _r(se_log, 4)}
                 if np.isfinite(se_log) and 0 < se_log <= MAX_SIGMA else None)
        self.set(path, _r(value), low=lo, high=hi, prior=prior, **kw)

    def set_share(self, path, successes, failures, with_prior=True, **kw):
        n = successes + failures
        if n <= 0:
            self.keep(path, "no cases in the data")
            return
        a, b = beta_from_counts(successes, failures)
        lo, hi = beta_interval(a, b) if with_prior else (None, None)
        self.set(path, _r(successes / n), low=lo, high=hi, events=successes, n=n,
                 prior={"dist": "beta", "alpha": _r(a, 6), "beta": _r(b, 6)} if with_prior else None,
                 method=kw.pop("method", "proportion; prior Beta(successes + 1, failures + 1)"), **kw)

    def set_mix(self, path, counts: dict, what: str, min_n: int = MIN_MIX, fallback_note=True) -> bool:
        n = float(sum(counts.values()))
        if n < min_n:
            if fallback_note:
                self.keep(path, f"fewer than {min_n} {what} in the data ({fmt_count(n)})")
            return False
        self.set(path, mix(counts), n=n, method=f"empirical mix of {what} (point estimate)")
        return True

    def add_prior(self, path, value, se_log, what, record=False):
        """A lognormal `uncertainty:` entry for `path` (skipped without a usable SE); with
        `record` also a report row, else the prior is attached to the value's existing row."""
        if not (np.isfinite(se_log) and 0 < se_log <= MAX_SIGMA and value > 0):
            if record:
                self.report.estimates.append(Estimate(path, _r(value), method=what + " (no usable standard error)"))
            return
        prior = {"dist": "lognormal", "median": _r(value, 6), "sigma": _r(se_log, 4)}
        self.out["uncertainty"].append({"path": path, "prior": prior, "source": f"carejourney calibrate: {what}"})
        if record:
            lo, hi = lognormal_interval(value, se_log)
            self.report.estimates.append(Estimate(path, _r(value), lo, hi, method=what, prior=prior))
        else:
            e = self.report.get(path.rsplit(".", 1)[0]) or self.report.get(path)
            if e is not None and e.prior is None:
                e.prior = prior


def checked_fit(fit, *args, **kw):
    """`fit(*args, **kw)`, raising FitError also when the fitted distribution (if it gives one)
    is one no config accepts."""
    f = fit(*args, **kw)
    bad = distribution_problem(f.distribution()) if hasattr(f, "distribution") else ""
    if bad:
        raise FitError(f"the fitted {f.family} {bad}")
    return f


def distribution_problem(dist: dict) -> str:
    """Why a fitted distribution (a config Distribution dict) cannot go into a config, or "".

    The config's own bounds (carejourney.distributions): e.g. a zero or negligible sd, a spread
    over MAX_SPREAD times the mean, a Weibull shape outside 0.1-20, a mean over MAX_DAYS."""
    try:
        _DISTRIBUTION.validate_python(dist)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(x) for x in first["loc"][1:])
        return f"is not a valid config distribution ({where + ': ' if where else ''}{first['msg']})"
    return ""


def counts_of(s: pd.Series) -> dict:
    """Value counts of a Series (missing values left out) as {value: count}, largest first.

    Equal counts are in value order, not in order of first appearance, so a mix built from
    them (its key order, and which share absorbs the rounding) depends on the counts alone,
    not on the order of the rows.
    """
    vc = pd.Series(s).dropna().value_counts(sort=False).sort_index(kind="stable")
    vc = vc.sort_values(ascending=False, kind="stable")
    return {k: float(v) for k, v in vc.items() if v > 0}


def mix(counts: dict, digits: int = 4) -> dict:
    """Counts -> probabilities rounded to `digits`, summing to exactly 1 (largest absorbs rounding)."""
    total = float(sum(counts.values()))
    if total <= 0:
        raise ValueError("an empty mix")
    keys = [k for k, v in counts.items() if v > 0]
    out = {k: round(counts[k] / total, digits) for k in keys}
    out = {k: v for k, v in out.items() if v > 0} or {max(counts, key=counts.get): 1.0}
    big = max(out, key=out.get)
    out[big] = round(1.0 - sum(v for k, v in out.items() if k != big), 10)
    return {(int(k) if isinstance(k, (np.integer,)) else k): float(v) for k, v in out.items()}


def plain(x):
    """numpy scalars -> Python numbers, recursively (YAML- and pydantic-friendly)."""
    if isinstance(x, dict):
        return {plain(k): plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [plain(v) for v in x]
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.floating):
        return float(x)
    if isinstance(x, np.bool_):
        return bool(x)
    return x


def _f(x):
    if x is None:
        return None
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _exists_parent(d: dict, path: str) -> bool:
    node = d
    for k in path.split(".")[:-1]:
        if isinstance(node, dict) and k in node and isinstance(node[k], (dict, list)):
            node = node[k]
        else:
            return False
    return True


def _set_creating(d: dict, path: str, value):
    node = d
    keys = path.split(".")
    for k in keys[:-1]:
        if not isinstance(node.get(k), dict):
            node[k] = {}
        node = node[k]
    node[keys[-1]] = value
