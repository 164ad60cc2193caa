"""Aggregate calibration: fit free config parameters to published figures.

When no child-level (SSDA903) data is available, the published counts are what there is:
starts, ceased by reason, the stock at 31 March and its placement mix. `fit_aggregate`
finds values of a few free parameters (dotted config paths with bounds) that make the
simulated figures match the published ones, and says how well they are pinned down.

Method (also written into every report):

1. Targets. Published figures of one geography, mapped to model cells by
   validate/mapping.py; by default the groups "starts", "ceased_reason", "stock" and
   "placement" (the params file can name quantities or other groups). Periods <= `until`
   only; a figure published both first and in a revised series is fitted once (revised).
2. Discrepancy. D(theta) = sum_i w_i (m_i(theta) - y_i)^2 / v_i: m_i is the mean of the
   simulated figure over R replications, y_i the published value, w_i a weight (1 unless
   the params file says otherwise) and v_i = max(y_i, 1) + r_i^2 (Poisson-like variance of
   a count, plus the publication rounding r_i); non-counts use (0.1 y_i)^2. Each term is
   roughly a squared z-score, so D is chi-square-like.
3. Common random numbers. Every evaluation runs replications 0..R-1 from the same seed,
   so differences between parameter values are not swamped by simulation noise. The run
   is cut to end at the last fitted 31 March.
4. Optimisation on a transformed scale: z = logit((x - low) / (high - low)), so the search
   is unbounded and every x stays inside its bounds: Nelder-Mead for one or two
   parameters, a trust-region least-squares solver (scipy.optimize.least_squares on the
   residuals sqrt(w_i / v_i)(m_i - y_i), central differences of 0.25 in z) for more
   ("auto"; either can be chosen). A budget caps the evaluations.
5. Local metamodel at the optimiser's best point z*: B single replications at parameter
   values z* + u_b (u_b ~ N(0, 0.3^2) per parameter, clipped at 2 sd), each with its own
   seed, and a linear regression of every simulated figure on u: its intercept is the mean
   at z* (estimated from B replications rather than R), its slopes the Jacobian J, its
   residuals samples of the figures' joint noise. CRN are not needed here, and a model
   whose random numbers shift when a rate changes (as arrivals do) is handled the same way.
   G = (J'AJ)^-1 J'A with A = diag(w_i / v_i) is the estimator's linearisation, and one
   Gauss-Newton step on the metamodel, z_fit = z* - G (mean - y), clipped to the design's
   range, corrects the optimiser's noise ("winner's curse"); z_fit gives the fitted values.
6. Parametric bootstrap of the residuals with one-step refits (cf. the k-step bootstrap of
   Andrews 2002): z_b = z_fit + c G r_b for each residual vector r_b (a simulated data set
   minus its expected value), c = sqrt((1 + (p + 1)/B) phi B / (B - p - 1)): the
   metamodel's own estimation noise, and the overdispersion phi = max(1, D / (n - p)) when
   the model fits worse than count noise allows (D at z_fit, from the metamodel). The 5%,
   50% and 95% quantiles of x(z_b) are the intervals; the residuals keep the correlations
   between figures (starts in total and by age share their noise). The Laplace interval
   z_fit +- 1.645 sd, sd from G diag(S) G' (figures treated as independent), is a check.
   A parameter whose sd in z from the data's noise alone (before phi) is above 1 is
   flagged weakly identified: its interval is its whole search range and it is not moved
   by the step.
7. Output. The config with the optimum substituted and an `uncertainty:` entry per
   parameter (normal, mean = bootstrap median, sd = 90% interval width / 3.29, truncated
   to the bounds; uniform on the bounds if weakly identified), so `carejourney run`
   samples it; a posterior predictive check (the fitted config with its uncertainty,
   `check_reps` replications) gives the fit table.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from scipy import optimize
from scipy.special import expit, logit

from ..config import ConfigError, parse_config
from ..runner import chunked, run_replication, run_replications
from ..uncertainty import get_path, set_path
from ..validate.compare import _Cells, compare, compare_annual, coverage, match_figures, simulated_years
from ..validate.figures import FiguresError, ensure_figures, select_geography

DEFAULT_GROUPS = ("starts", "ceased_reason", "stock", "placement")
PRIOR_SD_Z = 2.0
PROPOSAL_INFLATION = 2.0
BOOTSTRAP_SEED_OFFSET = 100_003
WEAK_SD_Z = 1.0
DESIGN_SD_Z = 0.3
CHECK_SEED_OFFSET = 1


class ParamsError(ValueError):
    """A params file that cannot be used; the message names the file and field."""


class FitError(ValueError):
    """A fit that cannot be set up (nothing to fit, bounds, ...); the message says why."""


# ---------------------------------------------------------------- free parameters
@dataclass
class FreeParameter:
    path: str
    low: float
    high: float
    start: float
    integer: bool = False

    def to_z(self, x: float) -> float:
        p = (x - self.low) / (self.high - self.low)
        return float(logit(min(max(p, 1e-4), 1 - 1e-4)))

    def to_x(self, z: float) -> float:
        x = self.low + (self.high - self.low) * float(expit(z))
        return float(round(x)) if self.integer else x


@dataclass
class FitSpec:
    """What a params file says: free parameters, which figures to fit, weights, settings."""

    parameters: list[tuple[str, float, float]]
    quantities: list[str] | None = None
    groups: list[str] | None = None
    weights: dict[str, float] = field(default_factory=dict)
    settings: dict = field(default_factory=dict)


SETTINGS = {"reps": int, "seed": int, "max_evaluations": int, "bootstrap": int,
            "check_reps": int, "method": str}


def parse_params(data, source: str = "<params>") -> FitSpec:
    """Check a params mapping (the YAML of a params file). Accepted shapes:

        parameters: {dotted.path: [low, high], ...}
        quantities: [published quantity, ...]      # optional
        groups: [starts, ceased_reason, ...]       # optional (validate/mapping.py groups)
        weights: {quantity or group: weight}       # optional
        settings: {reps: 8, max_evaluations: 150, bootstrap: 200, check_reps: 20, seed: 1, method: auto}

    or simply {dotted.path: [low, high], ...} at the top level.
    """
    if isinstance(data, FitSpec):
        return data
    if not isinstance(data, dict) or not data:
        raise ParamsError(f"{source}: expected a mapping with 'parameters: {{path: [low, high]}}'")
    known = {"parameters", "quantities", "groups", "weights", "settings"}
    if "parameters" in data:
        unknown = [k for k in data if k not in known]
        if unknown:
            raise ParamsError(f"{source}: unknown field(s) {unknown}; expected {sorted(known)}")
        raw = data["parameters"]
    else:
        raw = {k: v for k, v in data.items() if k not in known}
    if not isinstance(raw, dict) or not raw:
        raise ParamsError(f"{source}: field 'parameters' must map dotted config paths to [low, high]")
    params = []
    for path, b in raw.items():
        if isinstance(b, dict):
            b = [b.get("low"), b.get("high")]
        if not isinstance(b, (list, tuple)) or len(b) != 2:
            raise ParamsError(f"{source}: parameters.{path}: bounds must be [low, high], got {b!r}")
        try:
            lo, hi = float(b[0]), float(b[1])
        except (TypeError, ValueError):
            raise ParamsError(f"{source}: parameters.{path}: bounds must be numbers, got {b!r}") from None
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise ParamsError(f"{source}: parameters.{path}: need finite low < high, got [{lo}, {hi}]")
        params.append((str(path), lo, hi))
    spec = FitSpec(params)
    for key in ("quantities", "groups"):
        v = data.get(key)
        if v is not None:
            if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
                raise ParamsError(f"{source}: field '{key}' must be a list of names")
            setattr(spec, key, v)
    w = data.get("weights") or {}
    if not isinstance(w, dict) or not all(isinstance(x, (int, float)) and x >= 0 for x in w.values()):
        raise ParamsError(f"{source}: field 'weights' must map quantities or groups to non-negative numbers")
    spec.weights = {str(k): float(x) for k, x in w.items()}
    s = data.get("settings") or {}
    if not isinstance(s, dict):
        raise ParamsError(f"{source}: field 'settings' must be a mapping")
    for k, v in s.items():
        if k not in SETTINGS:
            raise ParamsError(f"{source}: settings.{k}: unknown setting; expected one of {sorted(SETTINGS)}")
        try:
            spec.settings[k] = SETTINGS[k](v)
        except (TypeError, ValueError):
            raise ParamsError(f"{source}: settings.{k}: expected {SETTINGS[k].__name__}, got {v!r}") from None
    return spec


def read_params(path: str | Path) -> FitSpec:
    path = Path(path)
    if not path.exists():
        raise ParamsError(f"{path}: no such file")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise ParamsError(f"{path}: YAML syntax error: {err}") from None
    return parse_params(data, str(path))


def free_parameters(cfg_dict: dict, spec: FitSpec, source: str = "<params>") -> list[FreeParameter]:
    out = []
    for path, lo, hi in spec.parameters:
        try:
            value = get_path(cfg_dict, path)
        except (KeyError, IndexError, ValueError, TypeError):
            raise ParamsError(f"{source}: parameters.{path}: not a field of the config") from None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ParamsError(f"{source}: parameters.{path}: the config value {value!r} is not a number")
        start = min(max(float(value), lo + 0.02 * (hi - lo)), hi - 0.02 * (hi - lo))
        out.append(FreeParameter(path, lo, hi, start, integer=isinstance(value, int) and _needs_int(cfg_dict, path, start)))
    return out


def _needs_int(cfg_dict: dict, path: str, value: float) -> bool:
    """Whether the schema only takes whole numbers at `path` (a YAML 1760 may be a float field)."""
    d = copy.deepcopy(cfg_dict)
    set_path(d, path, float(math.floor(value)) + 0.5)
    try:
        parse_config(d, "probe")
    except ConfigError as err:
        return "integer" in str(err)
    return False


# ---------------------------------------------------------------- targets
def select_targets(figs: pd.DataFrame, spec: FitSpec, until: int | None) -> tuple[list[dict], list[dict]]:
    """(fitted targets, figures left out with the reason)."""
    targets, _ = match_figures(figs)
    wanted_q = {q.lower() for q in spec.quantities} if spec.quantities else None
    wanted_g = set(spec.groups) if spec.groups else (set() if wanted_q else set(DEFAULT_GROUPS))
    chosen, left = [], []
    for t in targets:
        row = t["row"]
        names = {t["quantity"].lower(), row.quantity.lower()}
        if not ((wanted_q and names & wanted_q) or row.group in wanted_g):
            continue
        if t["year"] is None or pd.isna(t["year"]):
            left.append({**_brief(t), "reason": f"period {t['period']!r} is not a year"})
        elif until is not None and int(t["year"]) > until:
            left.append({**_brief(t), "reason": f"after --until {until}"})
        elif not np.isfinite(t["observed"]):
            left.append({**_brief(t), "reason": t["problem"] or "no numeric value"})
        else:
            chosen.append(t)
    # one target per model cell and year: prefer the revised series, then the first listed
    chosen.sort(key=lambda t: t["series"] != "revised")
    seen, out = set(), []
    for t in chosen:
        key = (t["row"].measure, t["row"].breakdown, t["row"].categories, t["model_period"])
        if key in seen:
            left.append({**_brief(t), "reason": "the same figure is fitted from its revised series"})
            continue
        seen.add(key)
        out.append(t)
    return out, left


def _check_names(spec: FitSpec, source: str):
    """Quantities, groups and weight keys must name rows or groups of the mapping table."""
    from ..validate.mapping import MAPPING, groups
    known_q = {r.quantity.lower(): r for r in MAPPING}
    known_g = set(groups())

    def is_quantity(q):
        r = known_q.get(q.lower().removesuffix(" (revised series)"))
        return r is not None and r.compared

    for q in spec.quantities or []:
        if not is_quantity(q):
            raise ParamsError(f"{source}: quantities: {q!r} is not a compared quantity of the mapping table "
                              "(carejourney/validate/mapping.py)")
    for g in spec.groups or []:
        if g not in known_g:
            raise ParamsError(f"{source}: groups: unknown group {g!r}; expected one of {sorted(known_g)}")
    for k in spec.weights:
        if k not in known_g and not is_quantity(k):
            raise ParamsError(f"{source}: weights.{k}: not a compared quantity or group of the mapping table")


def _brief(t: dict) -> dict:
    return {"quantity": t["quantity"], "period": t["period"], "observed": t["observed"]}


def _weight(t: dict, weights: dict[str, float]) -> float:
    for key in (t["quantity"], t["row"].quantity, t["row"].group):
        if key in weights:
            return weights[key]
    return 1.0


def _scale(t: dict) -> float:
    y, r = t["observed"], t["rounding"]
    if t["row"].measure in ("lac_children", "starts_children", "ceased_children"):
        return max(y, 1.0) + r * r
    return max((0.1 * abs(y)) ** 2, 1e-6) + r * r


# ---------------------------------------------------------------- rebasing the start
def rebase_start(cfg_dict: dict, figs: pd.DataFrame, year: int) -> tuple[dict, list[str]]:
    """Start the run on 1 April `year` from the published stock at 31 March `year`.

    For back-tests when the config starts after the years to be fitted. The total (revised
    series preferred) and the UASC count come from the figures; the age, legal-status and
    placement mix of the config's own opening stock is kept and scaled [ASSUME]. If the
    config's UASC arrival series starts later, the gap gets the published rise in the UASC
    stock as arrivals [ASSUME: a lower bound; no UASC leave]. Rates (referrals, their trend)
    apply from the new start date as written.
    """
    d = copy.deepcopy(cfg_dict)
    start = _as_date(d["horizon"]["start_date"])
    new_start = dt.date(year, 4, 1)
    if new_start >= start:
        raise FitError(f"--rebase-start {year}: the config already starts on {start}; a rebase only moves the start back")
    if new_start >= _as_date(d["horizon"]["end_date"]):
        raise FitError(f"--rebase-start {year}: after the config's end date")
    stock = _published(figs, "lac_children", "total", ("all",), year)
    if stock is None:
        raise FitError(f"--rebase-start {year}: no published 'CLA at 31 March' for {year} to start from")
    op = d["opening"]
    old_total = sum(op["age_band_counts"].values())
    notes = [f"Run starts on {new_start} (config: {start}) from the published stock of {stock:.0f} at 31 March {year}; "
             f"its age, legal-status and placement mix is the config's opening mix scaled from {old_total} [ASSUME]."]
    for key in ("age_band_counts", "legal_status_counts", "placement_type_counts"):
        op[key] = _scale_counts(op[key], int(round(stock)))
    pfa = op["placement_type_counts"].get("placed_for_adoption", 0)
    if op["legal_status_counts"].get("placement_order", 0) < pfa:
        notes.append("placement orders raised to the number placed for adoption")
        _move(op["legal_status_counts"], "placement_order", pfa)
    uasc = _published(figs, "lac_children", "uasc", ("uasc",), year)
    if uasc is not None:
        op["uasc_count"] = int(min(round(uasc), stock))
        notes.append(f"UASC at the start: {op['uasc_count']} (published, 31 March {year}).")
    else:
        op["uasc_count"] = int(round(op.get("uasc_count", 0) * stock / max(old_total, 1)))
    d["horizon"]["start_date"] = new_start
    periods = d.get("demand", {}).get("uasc", {}).get("periods") or []
    first = min((_as_date(p["from_date"]) for p in periods), default=None)
    if first is not None and first > new_start:
        last_day = first - dt.timedelta(days=1)
        stock_year = last_day.year if (last_day.month, last_day.day) >= (3, 31) else last_day.year - 1
        later = _published(figs, "lac_children", "uasc", ("uasc",), stock_year)
        arrivals = max(0.0, (later or 0) - (uasc or 0)) if later is not None and uasc is not None else 0.0
        d["demand"]["uasc"]["periods"] = [{"from_date": new_start, "to_date": first, "arrivals": float(arrivals)}] + periods
        notes.append(f"UASC arrivals {new_start} to {first}: {arrivals:.0f}, the published rise in the UASC stock "
                     "[ASSUME: a lower bound, as UASC who leave are not counted].")
    notes.append("Referral rates and their trend apply from the new start date as written in the config [ASSUME].")
    return d, notes


def _as_date(v) -> dt.date:
    return v if isinstance(v, dt.date) else dt.date.fromisoformat(str(v))


def _published(figs: pd.DataFrame, measure, breakdown, categories, year) -> float | None:
    targets, _ = match_figures(figs)
    best = None
    for t in targets:
        r = t["row"]
        if (r.measure, r.breakdown, tuple(r.categories)) == (measure, breakdown, tuple(categories)) and \
                t["year"] is not None and not pd.isna(t["year"]) and int(t["year"]) == year and np.isfinite(t["observed"]):
            if best is None or t["series"] == "revised":
                best = t["observed"]
    return best


def _scale_counts(counts: dict, total: int) -> dict:
    keys = list(counts)
    old = np.array([counts[k] for k in keys], dtype=float)
    if old.sum() == 0:
        return dict(counts)
    exact = old / old.sum() * total
    base = np.floor(exact).astype(int)
    for i in np.argsort(-(exact - base))[: total - base.sum()]:
        base[i] += 1
    return {k: int(v) for k, v in zip(keys, base)}


def _move(counts: dict, key: str, at_least: int):
    need = at_least - counts.get(key, 0)
    for k in sorted(counts, key=lambda k: -counts[k]):
        if need <= 0:
            break
        if k == key:
            continue
        take = min(need, counts[k])
        counts[k] -= take
        counts[key] = counts.get(key, 0) + take
        need -= take


# ---------------------------------------------------------------- result
@dataclass
class FitResult:
    """What a fit found. `config` is the fitted config dict (original horizon, fitted
    values substituted, `uncertainty:` entries added)."""

    parameters: list[FreeParameter]
    fitted: dict[str, float]
    intervals: pd.DataFrame
    history: pd.DataFrame
    fit_table: pd.DataFrame
    targets: pd.DataFrame
    excluded: pd.DataFrame
    bootstrap: pd.DataFrame
    config: dict
    base_config: dict
    comparison: pd.DataFrame
    geography: str
    notes: list[str]
    settings: dict
    discrepancy_start: float
    discrepancy_fit: float
    sources: pd.DataFrame
    discrepancy_optimum: float = float("nan")

    def summary(self) -> str:
        lines = [f"Fitted {len(self.parameters)} parameter(s) to {len(self.targets)} published figure(s) of "
                 f"{self.geography} ({', '.join(sorted(set(map(str, self.targets['period']))))}); "
                 f"discrepancy {self.discrepancy_start:.1f} at the config's values, {self.discrepancy_optimum:.1f} at "
                 f"the optimiser's best ({len(self.history)} evaluations), {self.discrepancy_fit:.1f} at the fitted "
                 f"values (local metamodel)."]
        w = max(len(p.path) for p in self.parameters)
        lines.append(f"{'parameter':<{w}} {'start':>10} {'fitted':>10} {'5%':>10} {'95%':>10}   (90% interval)")
        for r in self.intervals.itertuples():
            lines.append(f"{r.path:<{w}} {r.start:>10.4g} {r.fitted:>10.4g} {r.q05:>10.4g} {r.q95:>10.4g}"
                         + ("" if r.identified else "  (weakly identified: whole range)"))
        inside, n = coverage(self.fit_table)
        lines.append(f"{inside} of {n} fitted figures inside the 90% posterior predictive interval.")
        return "\n".join(lines)


# ---------------------------------------------------------------- the fit
class _Evaluator:
    """Simulated means of the targets at parameter values, with common random numbers."""

    def __init__(self, base: dict, params: list[FreeParameter], targets: list[dict], reps: int, seed: int,
                 obs: np.ndarray, scale: np.ndarray, weight: np.ndarray, progress=None, budget: int | None = None):
        self.base, self.params, self.targets = base, params, targets
        self.reps, self.seed = reps, seed
        self.obs, self.scale, self.weight = obs, scale, weight
        self.history: list[dict] = []
        self.z_list: list[np.ndarray] = []
        self.cache: dict[tuple, tuple[float, np.ndarray]] = {}
        self.progress, self.budget = progress, budget
        self.phase = "optimise"

    def config_at(self, x: dict[str, float]):
        d = copy.deepcopy(self.base)
        for p in self.params:
            set_path(d, p.path, int(round(x[p.path])) if p.integer else float(x[p.path]))
        return parse_config(d, "fit")

    def xs(self, z) -> dict[str, float]:
        return {p.path: p.to_x(zi) for p, zi in zip(self.params, np.atleast_1d(z))}

    def draws(self, z, reps=None, seed=None, replications=None) -> np.ndarray | None:
        """Per-replication simulated values of the targets: array (targets, reps)."""
        try:
            cfg = self.config_at(self.xs(z))
        except ConfigError:
            return None
        if replications is not None:
            annual = pd.concat([run_replication(cfg, seed, r).annual for r in replications], ignore_index=True)
        else:
            annual = run_replications(cfg, reps or self.reps, self.seed if seed is None else seed).annual
        return target_values(annual, self.targets)

    def __call__(self, z) -> float:
        key = tuple(np.round(np.atleast_1d(z), 10))
        if key in self.cache:
            return self.cache[key][0]
        if self.budget is not None and len(self.history) >= self.budget:
            raise _Budget()
        sims = self.draws(z)
        if sims is None:
            d, mean = 1e12, np.full(len(self.targets), np.nan)
        else:
            mean = sims.mean(axis=1)
            d = float(np.sum(self.weight * (mean - self.obs) ** 2 / self.scale))
        self.cache[key] = (d, mean)
        self.z_list.append(np.array(np.atleast_1d(z), dtype=float))
        self.history.append({"evaluation": len(self.history) + 1, "phase": self.phase, "discrepancy": d,
                             **self.xs(z)})
        if self.progress:
            best = min(h["discrepancy"] for h in self.history)
            self.progress(f"evaluation {len(self.history)}: discrepancy {d:.2f} (best {best:.2f})")
        return d

    def residuals(self, z) -> np.ndarray:
        self(z)
        mean = self.cache[tuple(np.round(np.atleast_1d(z), 10))][1]
        if np.any(np.isnan(mean)):
            return np.full(len(self.targets), 1e6)
        return np.sqrt(self.weight / self.scale) * (mean - self.obs)


class _Budget(Exception):
    pass


def target_values(annual: pd.DataFrame, targets: list[dict]) -> np.ndarray:
    cells = _Cells(annual, {t["row"].measure for t in targets})
    out = np.zeros((len(targets), len(cells.reps)))
    for i, t in enumerate(targets):
        d = cells.draws(t["row"], t["model_period"])
        if d is not None:
            out[i] = d
    return out


def fit_aggregate(cfg_dict: dict, figures: pd.DataFrame, params, geography: str | None = None,
                  until: int | None = None, reps: int | None = None, seed: int | None = None,
                  max_evaluations: int | None = None, bootstrap: int | None = None,
                  check_reps: int | None = None, method: str | None = None, workers: int = 1,
                  rebase: int | None = None, progress=None, source: str = "<figures>",
                  params_source: str = "<params>") -> FitResult:
    """Fit the free parameters in `params` (a FitSpec, a params mapping or {path: (low, high)})
    to the published `figures`; see the module docstring for the method.

    Keyword settings override the params file's `settings:`; defaults are reps 8, seed 1,
    max_evaluations 150, bootstrap 200, check_reps 20, method auto (Nelder-Mead for one or two
    parameters, least-squares for more).
    `rebase=YEAR` starts the run on 1 April YEAR from the published stock (rebase_start).
    """
    spec = parse_params(params, params_source)
    st = {"reps": 8, "seed": 1, "max_evaluations": 150, "bootstrap": 200, "check_reps": 20, "method": "auto",
          **spec.settings}
    for k, v in dict(reps=reps, seed=seed, max_evaluations=max_evaluations, bootstrap=bootstrap,
                     check_reps=check_reps, method=method).items():
        if v is not None:
            st[k] = v
    if st["method"] not in ("auto", "nelder-mead", "least-squares"):
        raise ParamsError(f"{params_source}: settings.method: expected auto, nelder-mead or least-squares, "
                          f"got {st['method']!r}")
    if st["max_evaluations"] < 1 or st["check_reps"] < 1:
        raise ParamsError(f"{params_source}: settings: max_evaluations and check_reps must be at least 1")
    if st["bootstrap"] < len(spec.parameters) + 10:
        raise ParamsError(f"{params_source}: settings.bootstrap must be at least the number of parameters + 10 "
                          f"({len(spec.parameters) + 10}); 200 is a good default")
    if st["reps"] < 2:
        raise ParamsError(f"{params_source}: settings.reps must be at least 2 (the fit needs a variance)")
    _check_names(spec, params_source)
    say = progress or (lambda msg: None)

    base_cfg = copy.deepcopy(cfg_dict)
    geography = geography or (base_cfg.get("meta") or {}).get("geography")
    if not geography:
        raise FiguresError(f"{source}: no geography given and the config's meta.geography is empty")
    figs = select_geography(ensure_figures(figures, source), geography, source)
    parse_config(base_cfg, "config")  # a config error is reported before anything runs
    notes: list[str] = []
    if rebase is not None:
        base_cfg, rb_notes = rebase_start(base_cfg, figs, rebase)
        notes += rb_notes
    params_list = free_parameters(base_cfg, spec, params_source)
    targets, left = select_targets(figs, spec, until)
    start = _as_date(base_cfg["horizon"]["start_date"])
    end = _as_date(base_cfg["horizon"]["end_date"])
    stock_years, full_years = simulated_years(start, end)
    kept = []
    for t in targets:
        ok = t["model_period"] in (stock_years if t["row"].measure in ("lac_children", "lac_rate_per_10000") else full_years)
        (kept if ok else left).append(t if ok else {**_brief(t), "reason": f"not simulated (run {start} to {end})"})
    targets = kept
    if not targets:
        hint = ""
        if until is not None and dt.date(until, 3, 31) < start:
            hint = (f"; the run starts on {start}, after the fitted years: start it earlier with "
                    f"--rebase-start {until - 1} (from the published stock at 31 March {until - 1})")
        raise FitError(f"{source}: no published figure of {geography} to fit"
                       f"{' up to ' + str(until) if until else ''} inside the run{hint}")
    last_year = max(int(t["year"]) for t in targets)
    fit_end = min(dt.date(last_year, 3, 31), end)
    run_base = copy.deepcopy(base_cfg)
    run_base["horizon"]["end_date"] = fit_end
    fitted_paths = {p.path for p in params_list}
    run_base["uncertainty"] = [u for u in run_base.get("uncertainty") or [] if u.get("path") not in fitted_paths]
    _fix_arrival_envelope(run_base, params_list)

    obs = np.array([t["observed"] for t in targets])
    scale = np.array([_scale(t) for t in targets])
    weight = np.array([_weight(t, spec.weights) for t in targets])
    R, seed0 = st["reps"], st["seed"]
    ev = _Evaluator(run_base, params_list, targets, R, seed0, obs, scale, weight, say, st["max_evaluations"])
    p = len(params_list)
    z0 = np.array([q.to_z(q.start) for q in params_list])
    say(f"fitting {p} parameter(s) to {len(targets)} figure(s), {R} replications per evaluation, "
        f"run {start} to {fit_end}")
    d_start = ev(z0)

    # ---- optimise on the z scale
    try:
        if st["method"] == "auto":
            st["method"] = "nelder-mead" if p <= 2 else "least-squares"
        if st["method"] == "nelder-mead":
            # first simplex: each parameter moved by 15% of its range (inwards near a bound)
            simplex = [z0]
            for j, q in enumerate(params_list):
                step = 0.15 * (q.high - q.low)
                x = q.start + step if q.start + step < q.high - 0.01 * (q.high - q.low) else q.start - step
                v = z0.copy()
                v[j] = q.to_z(x)
                simplex.append(v)
            optimize.minimize(ev, z0, method="Nelder-Mead",
                              options={"initial_simplex": np.array(simplex), "xatol": 0.02, "fatol": 0.05,
                                       "maxfev": st["max_evaluations"]})
        else:
            optimize.least_squares(ev.residuals, z0, method="trf", diff_step=None, x_scale=1.0,
                                   jac=lambda z: _jac(ev.residuals, z, 0.25), max_nfev=st["max_evaluations"])
    except _Budget:
        notes.append(f"The optimiser stopped at its budget of {st['max_evaluations']} evaluations.")
    hist = pd.DataFrame(ev.history)
    best = int(hist["discrepancy"].idxmin())
    z_star = ev.z_list[best]
    x_star = {q.path: float(hist.loc[best, q.path]) for q in params_list}
    d_fit = float(hist.loc[best, "discrepancy"])

    # ---- local linear metamodel around the optimum: a design of single replications
    ev.budget, ev.phase = None, "design"
    n, B = len(targets), st["bootstrap"]
    say(f"local design: {B} single replications around the optimum (fresh seeds)")
    rng = np.random.default_rng([seed0, 11])
    U = np.clip(rng.standard_normal((B, p)), -2, 2) * DESIGN_SD_Z
    Zd = z_star[None, :] + U
    rows = _run_design(run_base, params_list, targets, Zd, seed0 + BOOTSTRAP_SEED_OFFSET, workers)
    ok = np.array([r is not None for r in rows], dtype=bool)
    Y = np.array([r for r in rows if r is not None]).reshape(-1, n)
    Ud = U[ok]
    if len(Y) < p + 10:
        raise FitError(f"only {len(Y)} of the {B} design runs around the optimum gave a valid config; "
                       "narrow the bounds or raise settings.bootstrap")
    X = np.column_stack([np.ones(len(Ud)), Ud])
    beta, *_ = np.linalg.lstsq(X, Y, rcond=None)
    mu = beta[0]
    J = beta[1:].T  # (targets, parameters): d mean / d z
    resid = Y - X @ beta
    dof = max(len(Y) - p - 1, 1)
    s_var = np.maximum((resid ** 2).sum(axis=0) / dof, 1.0) + np.array([t["rounding"] ** 2 for t in targets])
    A = weight / scale
    H = J.T @ (J * A[:, None])
    G = np.linalg.pinv(H + 1e-9 * np.eye(p) * max(np.trace(H), 1.0)) @ (J.T * A[None, :])
    k = (1 + (p + 1) / len(Y))  # the metamodel's own estimation noise
    sd_noise = np.sqrt(np.maximum(np.diag(G @ (G * s_var[None, :]).T) * k, 0))
    identified = np.array([np.any(np.abs(J[:, jj]) > 0) and sd_noise[jj] <= WEAK_SD_Z for jj in range(p)])
    # one Gauss-Newton step on the metamodel (its mean is estimated from many more
    # replications than the optimiser's), inside the design's range, identified parameters only
    step = -G @ (mu - obs)
    step = np.where(identified, np.clip(step, -2 * DESIGN_SD_Z, 2 * DESIGN_SD_Z), 0.0)
    d_mu = float(np.sum(weight * (mu - obs) ** 2 / scale))
    d_model = float(np.sum(weight * (mu + J @ step - obs) ** 2 / scale))
    if d_model > d_mu:  # a clipped step that does not help is not taken
        step, d_model = np.zeros(p), d_mu
    z_fit = z_star + step
    pred = mu + J @ step
    phi = max(1.0, d_model / (n - p)) if n > p else 1.0
    x_fit = {q.path: q.to_x(z) for q, z in zip(params_list, z_fit)}
    lap_sd = sd_noise * math.sqrt(phi)

    # ---- parametric bootstrap of the residuals with one-step refits
    c = math.sqrt(k * phi * len(Y) / dof)
    Zb = z_fit[None, :] + c * resid @ G.T
    Xb = np.array([[q.to_x(z) for q, z in zip(params_list, row)] for row in Zb])
    interval_rows = []
    for jj, q in enumerate(params_list):
        if identified[jj]:
            q05, q50, q95 = (float(v) for v in np.quantile(Xb[:, jj], (0.05, 0.5, 0.95)))
        else:
            q05, q50, q95 = q.low, x_fit[q.path], q.high
        interval_rows.append({
            "path": q.path, "low": q.low, "high": q.high, "start": q.start, "optimum": x_star[q.path],
            "fitted": x_fit[q.path], "q05": q05, "median": q50, "q95": q95,
            "laplace_q05": q.to_x(z_fit[jj] - 1.645 * lap_sd[jj]), "laplace_q95": q.to_x(z_fit[jj] + 1.645 * lap_sd[jj]),
            "sd_logit": float(lap_sd[jj]), "identified": bool(identified[jj]), "integer": q.integer})
    intervals = pd.DataFrame(interval_rows)
    bootstrap_df = pd.DataFrame(Xb, columns=[q.path for q in params_list])
    bootstrap_df.insert(0, "draw", np.arange(len(bootstrap_df)))
    notes.append(f"Local design: {len(Y)} single replications around the optimiser's best point, whose discrepancy "
                 f"was {d_fit:.1f} with its {R} replications and is {d_mu:.1f} with the metamodel's mean (the "
                 f"difference is simulation noise: the best of many noisy evaluations looks better than it is); "
                 f"one metamodel step to the fitted values gives {d_model:.1f}.")
    notes.append(f"Overdispersion phi = max(1, D/(n - p)) = {phi:.2f} (D = {d_model:.1f}, n = {n} figures, "
                 f"p = {p} parameters)" + (": the model fits worse than count noise alone allows, so the intervals "
                                           f"are widened by sqrt(phi) = {math.sqrt(phi):.2f}." if phi > 1 else "."))
    weak = [q.path for q, i in zip(params_list, identified) if not i]
    if weak:
        notes.append("Weakly identified by the fitted figures (reported interval = the whole search range, "
                     "uniform uncertainty entry): " + ", ".join(weak))
    x_star = x_fit
    m_hat = pred

    # ---- fitted config, with uncertainty, and the posterior predictive check
    fitted_cfg = copy.deepcopy(base_cfg)
    for q in params_list:
        set_path(fitted_cfg, q.path, int(round(x_star[q.path])) if q.integer else x_star[q.path])
    unc = [u for u in fitted_cfg.get("uncertainty") or [] if u.get("path") not in fitted_paths]
    years = sorted({str(t["period"]) for t in targets})
    for r in intervals.itertuples():
        if r.integer:
            notes.append(f"{r.path} is a whole number: fitted value substituted, no uncertainty entry.")
            continue
        where = f"carejourney fit to {geography} published figures {', '.join(years)}"
        if not r.identified:
            unc.append({"path": r.path, "prior": {"dist": "uniform", "low": r.low, "high": r.high},
                        "source": where + " (weakly identified: the whole search range)"})
            continue
        sd = (r.q95 - r.q05) / (2 * 1.645)
        if not np.isfinite(sd) or sd <= 0:
            continue
        unc.append({"path": r.path,
                    "prior": {"dist": "normal", "mean": _round_sig(r.median), "sd": _round_sig(sd),
                              "low": r.low, "high": r.high},
                    "source": where + f" (bootstrap 90% interval {_round_sig(r.q05)}-{_round_sig(r.q95)})"})
    fitted_cfg["uncertainty"] = unc
    parse_config(fitted_cfg, "fitted config")
    check_cfg_dict = copy.deepcopy(fitted_cfg)
    check_cfg_dict["horizon"]["end_date"] = fit_end
    check_cfg = parse_config(check_cfg_dict, "fitted config")
    say(f"posterior predictive check: {st['check_reps']} replications")
    res = run_replications(check_cfg, st["check_reps"], seed0 + CHECK_SEED_OFFSET, workers=workers)
    comparison = compare_annual(res.annual, figs, geography, start, fit_end, source)
    comparison.attrs.update(config=(base_cfg.get("meta") or {}).get("name", ""), seed=seed0 + CHECK_SEED_OFFSET,
                            reps=st["check_reps"])
    labels = {(t["quantity"], str(t["period"])) for t in targets}
    fit_table = comparison[[(q, str(pr)) in labels for q, pr in zip(comparison["quantity"], comparison["period"])]].copy()
    crn = {(t["quantity"], str(t["period"])): (m, s_, w) for t, m, s_, w in zip(targets, m_hat, scale, weight)}
    fit_table["weight"] = [crn[(q, str(pr))][2] for q, pr in zip(fit_table["quantity"], fit_table["period"])]
    fit_table["mean_at_fit"] = [crn[(q, str(pr))][0] for q, pr in zip(fit_table["quantity"], fit_table["period"])]
    fit_table["pearson_residual"] = [(crn[(q, str(pr))][0] - o) / math.sqrt(crn[(q, str(pr))][1])
                                     for q, pr, o in zip(fit_table["quantity"], fit_table["period"], fit_table["observed"])]
    fit_table["contribution"] = fit_table["weight"] * fit_table["pearson_residual"] ** 2
    fit_table = fit_table.reset_index(drop=True)
    fit_table.attrs.update(comparison.attrs)

    targets_df = pd.DataFrame([{"quantity": t["quantity"], "period": t["period"], "observed": t["observed"],
                                "group": t["row"].group, "measure": t["row"].describe(), "weight": w, "scale": s_,
                                "series": t["series"], "source_title": t["source_title"]}
                               for t, w, s_ in zip(targets, weight, scale)])
    src_rows = figs[figs["base_quantity"].str.lower().isin({t["row"].quantity.lower() for t in targets} |
                                                           {p_.lower() for t in targets for p_ in t["row"].parts})]
    src_rows = src_rows[src_rows["year"].astype("float").isin([float(t["year"]) for t in targets])]
    sources = src_rows[["source_title", "source_address"]].drop_duplicates().reset_index(drop=True)
    hist = pd.DataFrame(ev.history)
    st.update(until=until, rebase=rebase, geography=geography, fit_start=str(start), fit_end=str(fit_end),
              workers=workers)
    return FitResult(params_list, x_star, intervals, hist, fit_table, targets_df,
                     pd.DataFrame(left, columns=["quantity", "period", "observed", "reason"]), bootstrap_df, fitted_cfg,
                     copy.deepcopy(cfg_dict), comparison, geography, notes, st, d_start, d_model, sources, d_fit)


def _fix_arrival_envelope(cfg_dict: dict, params) -> None:
    """Fitted referral rates: bound the candidate arrivals by each rate's upper search
    bound, so every evaluation sees the same candidates (exact common random numbers)."""
    prefix = "demand.referrals.per_year_by_age_band."
    bounds = {p.path[len(prefix):]: p.high for p in params if p.path.startswith(prefix)}
    if not bounds:
        return
    ref = cfg_dict["demand"]["referrals"]
    env = dict(ref.get("envelope_per_year_by_age_band") or ref["per_year_by_age_band"])
    for band, high in bounds.items():
        env[band] = max(float(env.get(band, 0.0)), float(high))
    ref["envelope_per_year_by_age_band"] = env


def _design_chunk(args):
    base, params, targets, z_rows, seed, first = args
    ev = _Evaluator(base, params, targets, 1, seed, np.zeros(len(targets)), np.ones(len(targets)),
                    np.ones(len(targets)))
    out = []
    for k, z in enumerate(z_rows):
        s_ = ev.draws(z, seed=seed, replications=[first + k])
        out.append(None if s_ is None else s_[:, 0])
    return out


def _run_design(base, params, targets, Z, seed, workers):
    if workers <= 1 or len(Z) < 2:
        return _design_chunk((base, params, targets, list(Z), seed, 0))
    chunks = chunked(list(range(len(Z))), workers * 2)
    args = [(base, params, targets, [Z[i] for i in c], seed, c[0]) for c in chunks]
    out = []
    with ProcessPoolExecutor(max_workers=min(workers, os.cpu_count() or 1)) as pool:
        for part in pool.map(_design_chunk, args):
            out.extend(part)
    return out


def _jac(fun, z, h):
    f0 = fun(z)
    J = np.zeros((len(f0), len(z)))
    for j in range(len(z)):
        e = np.eye(len(z))[j] * h
        J[:, j] = (fun(z + e) - fun(z - e)) / (2 * h)
    return J


def _round_sig(x: float, sig: int = 4) -> float:
    if not np.isfinite(x) or x == 0:
        return float(x)
    return float(round(x, sig - 1 - int(math.floor(math.log10(abs(x))))))


# ---------------------------------------------------------------- back-test
@dataclass
class BacktestResult:
    table: pd.DataFrame
    fit: FitResult
    until: int
    notes: list[str]

    @property
    def coverage(self) -> tuple[int, int]:
        return coverage(self.table)


def backtest(cfg_dict: dict, figures: pd.DataFrame, params, until: int, geography: str | None = None,
             reps: int = 20, seed: int = 1, workers: int = 1, rebase: int | None | str = "auto",
             progress=None, source: str = "<figures>", params_source: str = "<params>", **fit_kwargs) -> BacktestResult:
    """Fit on published periods <= until, then compare the forecasts for periods > until.

    The forecast is the fitted config (with its parameter uncertainty) run on, without
    re-anchoring on any later published stock. With rebase="auto", a config that starts
    after the fitted years is started on 1 April of until - 1 from the published stock at
    31 March until - 1 (rebase_start); an integer chooses the year; None never rebases.
    """
    geography = geography or (cfg_dict.get("meta") or {}).get("geography")
    if not geography:
        raise FiguresError(f"{source}: no geography given and the config's meta.geography is empty")
    figs = select_geography(ensure_figures(figures, source), geography, source)
    start = _as_date(cfg_dict["horizon"]["start_date"])
    notes = []
    if rebase == "auto":
        rebase = until - 1 if dt.date(until, 3, 31) < start else None
        if rebase is not None:
            notes.append(f"The config starts on {start}, after the fitted years: the back-test starts the run on "
                         f"1 April {rebase} from the published stock at 31 March {rebase}.")
            if progress:
                progress(notes[-1])
    fit = fit_aggregate(cfg_dict, figs, params, geography=geography, until=until, workers=workers, rebase=rebase,
                        progress=progress, source=source, params_source=params_source, **fit_kwargs)
    later = figs[figs["year"].notna() & (figs["year"].astype("float") > until)]
    if later.empty:
        raise FitError(f"{source}: no published figure of {geography} after {until} to forecast")
    cfg = parse_config(fit.config, "fitted config")
    table = compare(cfg, later, reps, seed + 2, geography=geography, workers=workers, source=source)
    table = table[pd.to_numeric(table["period"], errors="coerce") > until].reset_index(drop=True)
    table.attrs.update(config=cfg.meta.name, backtest_until=until)
    return BacktestResult(table, fit, until, notes + fit.notes)


# ---------------------------------------------------------------- writing the fitted config
def write_fitted_config(fit: FitResult, out: str | Path, base_path: str | Path | None = None,
                        report_name: str | None = None) -> Path:
    """Write the fitted config. With `base_path` the file `extends:` the original (keeping
    its comments and sources) and holds only what changed; otherwise it is self-contained."""
    out = Path(out)
    new = copy.deepcopy(fit.config)
    base = fit.base_config
    name = out.stem
    new.setdefault("meta", {})["name"] = name
    desc = (base.get("meta") or {}).get("description", "")
    new["meta"]["description"] = (desc + "; " if desc else "") + f"parameters fitted by carejourney fit ({dt.date.today()})"
    header = _header(fit, base_path, report_name)
    comments = _leaf_comments(fit)
    if base_path is not None:
        rel = os.path.relpath(Path(base_path).resolve(), out.resolve().parent)
        changes = _diff(base, new)
        tree: dict = {}
        for path, value in changes:
            node = tree
            for k in path[:-1]:
                node = node.setdefault(k, {})
            node[path[-1]] = value
        body = f"extends: {rel}\n" + _emit(tree, comments)
    else:
        body = _emit(new, comments)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".tmp")
    tmp.write_text(header + body, encoding="utf-8")
    from ..config import load_config
    try:
        load_config(tmp)
    except ConfigError as err:
        tmp.unlink(missing_ok=True)
        raise FitError(f"the fitted config does not validate: {err}") from None
    tmp.replace(out)
    return out


def _diff(base, new, prefix=()):
    out = []
    for k, v in new.items():
        if isinstance(v, dict) and isinstance(base.get(k) if isinstance(base, dict) else None, dict):
            out += _diff(base[k], v, prefix + (k,))
        elif not isinstance(base, dict) or k not in base or base[k] != v:
            out.append((prefix + (k,), v))
    return out


def _leaf_comments(fit: FitResult) -> dict[tuple, str]:
    c = {}
    for r in fit.intervals.itertuples():
        c[tuple(r.path.split("."))] = (f"[FIT] was {_round_sig(r.start)}; 90% interval {_round_sig(r.q05)}-"
                                      f"{_round_sig(r.q95)}" + ("" if r.identified else " (weakly identified)")
                                      + f"; bounds [{r.low:g}, {r.high:g}]")
    c[("uncertainty",)] = "[FIT] fitted parameters drawn per replication from their fit uncertainty"
    if fit.settings.get("rebase") is not None:
        c[("horizon", "start_date")] = "[REBASE] the run starts from the published stock (see the header)"
        c[("opening",)] = "[REBASE] scaled to the published stock (see the header)"
    return c


class _NoAliases(yaml.SafeDumper):
    def ignore_aliases(self, data):
        return True


def _scalar(v) -> str:
    s = yaml.dump(v, Dumper=_NoAliases, default_flow_style=True, width=10_000, sort_keys=False).strip()
    return s.removesuffix("\n...").removesuffix("...").strip()


def _emit(tree: dict, comments: dict, indent: int = 0, prefix: tuple = ()) -> str:
    lines = []
    pad = "  " * indent
    for k, v in tree.items():
        path = prefix + (k,)
        note = comments.get(path)
        tail = f"  # {note}" if note else ""
        key = _scalar(k)
        if isinstance(v, dict) and v:
            lines.append(f"{pad}{key}:{tail}")
            lines.append(_emit(v, comments, indent + 1, path).rstrip("\n"))
        elif isinstance(v, list) and v and any(isinstance(x, (dict, list)) for x in v):
            lines.append(f"{pad}{key}:{tail}")
            block = yaml.dump(v, Dumper=_NoAliases, default_flow_style=False, sort_keys=False, width=120)
            lines += [pad + "  " + ln for ln in block.rstrip("\n").split("\n")]
        else:
            if isinstance(v, float):
                v = _round_sig(v, 6)
            lines.append(f"{pad}{key}: {_scalar(v)}{tail}")
    return "\n".join(lines) + "\n"


def _header(fit: FitResult, base_path, report_name) -> str:
    t = fit.targets
    years = ", ".join(sorted(set(map(str, t["period"]))))
    lines = [f"Fitted by `carejourney fit` on {dt.date.today()}"
             + (f" from {base_path}" if base_path else "") + ".",
             f"Fitted to {len(t)} published figure(s) of {fit.geography} for {years}:"]
    for g, sub in t.groupby("group", sort=False):
        lines.append(f"  {g}: " + "; ".join(sorted(set(sub["quantity"]))))
    lines.append("Sources: " + "; ".join(dict.fromkeys(fit.sources["source_title"].tolist())))
    lines.append("Free parameters (fitted value; 90% interval from the parametric bootstrap; start value):")
    for r in fit.intervals.itertuples():
        lines.append(f"  {r.path} = {_round_sig(r.fitted)} ({_round_sig(r.q05)} to {_round_sig(r.q95)}; "
                     f"was {_round_sig(r.start)})" + ("" if r.identified else " WEAKLY IDENTIFIED"))
    s = fit.settings
    lines.append(f"Method: {s['method']} on a logit-in-bounds scale, {s['reps']} replications per evaluation with "
                 f"common random numbers (seed {s['seed']}), {len(fit.history)} evaluations; discrepancy "
                 f"{fit.discrepancy_start:.1f} -> {fit.discrepancy_optimum:.1f} (optimiser) -> "
                 f"{fit.discrepancy_fit:.1f} (fitted); a local linear metamodel from "
                 f"{s['bootstrap']} single replications around the optimum for the final step and a parametric "
                 f"bootstrap of its residuals for the intervals.")
    inside, n = coverage(fit.fit_table)
    lines.append(f"Posterior predictive check: {inside} of {n} fitted figures inside the 90% interval "
                 f"({s['check_reps']} replications).")
    for note in fit.notes:
        lines.append("Note: " + note)
    lines.append("The `uncertainty:` entries make `carejourney run` draw each fitted parameter per replication.")
    if report_name:
        lines.append(f"Report: {report_name}")
    out = []
    for ln in lines:
        while len(ln) > 110:
            cut = ln.rfind(" ", 0, 110)
            cut = cut if cut > 20 else 110
            out.append(ln[:cut])
            ln = "    " + ln[cut:].lstrip()
        out.append(ln)
    return "".join(f"# {ln}\n" for ln in out)
