"""What a fit is asked to do: the params file, its free parameters and settings.

A params file names free parameters (dotted config paths with bounds), optionally the
published quantities or mapping groups to fit, their weights and settings (`parse_params`).
Each free parameter is searched on a logit-in-bounds scale (`FreeParameter.to_z` / `to_x`).
ParamsError and FitError are the two errors a fit reports as bad input.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from pathlib import Path

from scipy.special import expit, logit

from ..config import ConfigError, parse_config, read_yaml
from ..uncertainty import get_path, set_param, set_path, share_set_problem


class ParamsError(ValueError):
    """A params file that cannot be used; the message names the file and field."""


class FitError(ValueError):
    """A fit that cannot be set up (nothing to fit, bounds, ...); the message says why."""


@dataclass
class FreeParameter:
    path: str
    low: float
    high: float
    start: float
    integer: bool = False
    rescale_others: bool = False  # one share of a set summing to 1: the others are rescaled
    # the value in the config, which `start` moves 2% inside the bounds when at or beyond them:
    # what the written config says it "was" (QA15: it gave the start, 0.012 for a config's 0.0)
    config_value: float | None = None

    @property
    def was(self) -> float:
        return self.start if self.config_value is None else self.config_value

    def set(self, cfg_dict: dict, x: float):
        """Put the value `x` into a config mapping (whole numbers for integer fields)."""
        set_param(cfg_dict, self.path, int(round(x)) if self.integer else float(x), self.rescale_others)

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
    shares: set[str] = field(default_factory=set)  # paths whose set's other shares are rescaled
    quantities: list[str] | None = None
    groups: list[str] | None = None
    weights: dict[str, float] = field(default_factory=dict)
    settings: dict = field(default_factory=dict)


SETTINGS = {"reps": int, "seed": int, "max_evaluations": int, "bootstrap": int,
            "check_reps": int, "method": str}
DEFAULTS = {"reps": 8, "seed": 1, "max_evaluations": 150, "bootstrap": 200, "check_reps": 20, "method": "auto"}


def parse_params(data, source: str = "<params>") -> FitSpec:
    """Check a params mapping (the YAML of a params file). Accepted shapes:

        parameters: {dotted.path: [low, high], ...}
                    # or {dotted.path: {low: , high: , rescale_others: true}} for one share of a
                    # set that sums to 1 (an outcome mix): the set's other shares are rescaled
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
    params, shares = [], set()
    for path, b in raw.items():
        if isinstance(b, dict):
            extra = [k for k in b if k not in ("low", "high", "rescale_others")]
            if extra:
                raise ParamsError(f"{source}: parameters.{path}: unknown field(s) {extra}; "
                                  "expected low, high and optionally rescale_others")
            rescale = b.get("rescale_others", False)
            if not isinstance(rescale, bool):
                raise ParamsError(f"{source}: parameters.{path}.rescale_others: expected true or false, got {rescale!r}")
            if rescale:
                parent = str(path).rpartition(".")[0]
                twin = next((q for q in shares if q.rpartition(".")[0] == parent), None)
                if twin is not None:
                    raise ParamsError(f"{source}: parameters.{path}: {twin} is a share of the same set; fit one "
                                      "share per set (the others are rescaled to it)")
                shares.add(str(path))
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
    spec = FitSpec(params, shares)
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
    """The params file, read as configs are (a folder, a duplicate key or a bad date is
    named with its line), then checked."""
    try:
        data = read_yaml(path)
    except ConfigError as err:
        raise ParamsError(str(err)) from None
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
        share = path in spec.shares
        why = share_set_problem(cfg_dict, path) if share else None
        if why:
            raise ParamsError(f"{source}: parameters.{path}: {why}")
        start = min(max(float(value), lo + 0.02 * (hi - lo)), hi - 0.02 * (hi - lo))
        integer = not share and isinstance(value, int) and _needs_int(cfg_dict, path, start)
        q = FreeParameter(path, lo, hi, start, integer=integer, rescale_others=share, config_value=float(value))
        for end, x in (("low", lo), ("high", hi)):
            _check_end(cfg_dict, q, end, round(x) if integer else x, source)
        out.append(q)
    return out


def _check_end(cfg_dict: dict, q: FreeParameter, end: str, x: float, source: str):
    """A bound must be a value the config accepts: the fit tries values up to both ends."""
    d = copy.deepcopy(cfg_dict)
    path = q.path
    try:
        q.set(d, x)
        parse_config(d, "probe")
    except (ConfigError, ValueError) as err:
        why = "; ".join(line.strip(" -") for line in str(err).splitlines()[1:]) or str(err)
        raise ParamsError(f"{source}: parameters.{path}: the {end} bound {x:g} is not a valid config value "
                          f"({why})") from None


def _needs_int(cfg_dict: dict, path: str, value: float) -> bool:
    """Whether the schema only takes whole numbers at `path` (a YAML 1760 may be a float field)."""
    d = copy.deepcopy(cfg_dict)
    set_path(d, path, float(math.floor(value)) + 0.5)
    try:
        parse_config(d, "probe")
    except ConfigError as err:
        return "integer" in str(err)
    return False


def fit_settings(spec: FitSpec, overrides: dict, params_source: str) -> dict:
    """The fit's settings: DEFAULTS, then the params file's `settings:`, then `overrides`
    (keyword arguments that are not None), checked."""
    st = {**DEFAULTS, **spec.settings}
    for k, v in overrides.items():
        if v is not None:
            st[k] = v
    if st["method"] not in ("auto", "nelder-mead", "least-squares"):
        raise ParamsError(f"{params_source}: settings.method: expected auto, nelder-mead or least-squares, "
                          f"got {st['method']!r}")
    def where(key: str) -> str:  # the option that set it, or the params file's settings
        return f"--{key.replace('_', '-')}" if overrides.get(key) is not None else f"{params_source}: settings.{key}"

    for key in ("max_evaluations", "check_reps"):
        if st[key] < 1:
            raise ParamsError(f"{where(key)} must be at least 1")
    if st["bootstrap"] < len(spec.parameters) + 10:
        raise ParamsError(f"{where('bootstrap')} must be at least the number of parameters + 10 "
                          f"({len(spec.parameters) + 10}); 200 is a good default")
    if st["reps"] < 2:
        raise ParamsError(f"{where('reps')} must be at least 2 (the fit needs a variance)")
    return st
