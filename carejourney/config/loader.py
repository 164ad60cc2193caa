"""Read a YAML config and turn every validation problem into a message naming file and field."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from .schema import Config


class ConfigError(ValueError):
    """A config that cannot be used. The message names the file and every bad field."""


def _field_path(loc) -> str:
    parts = []
    for p in loc:
        if isinstance(p, int):
            parts.append(f"[{p}]")
        elif p in ("fixed", "exponential", "lognormal", "gamma", "weibull", "empirical"):
            parts.append(f"<{p}>")
        else:
            parts.append(("." if parts else "") + str(p))
    return "".join(parts)


def format_validation_error(source: str, err: ValidationError, what: str = "config") -> str:
    """Every problem in `err`, one a line, under `<source>: N problem(s) in the <what>:`;
    `what` names the kind of file, e.g. "experiment file"."""
    lines = [f"{source}: {err.error_count()} problem(s) in the {what}:"]
    for e in err.errors():
        field = _field_path(e["loc"]) or "(top level)"
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "missing":
            msg = "required field is missing"
        elif e["type"] == "extra_forbidden":
            msg = "unknown field (check the spelling and the unit in the name)"
        lines.append(f"  - {field}: {msg}")
    return "\n".join(lines)


def parse_config(data: dict, source: str = "<config>") -> Config:
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the top level must be a mapping of sections, not {type(data).__name__}")
    try:
        return Config.model_validate(data)
    except ValidationError as err:
        raise ConfigError(format_validation_error(source, err)) from None


def read_yaml(path: str | Path) -> dict:
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: no such file")
    try:
        with path.open(encoding="utf-8") as f:
            return yaml.safe_load(f)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or str(err)
        raise ConfigError(f"{path}: YAML syntax error{where}: {problem}") from None
    except UnicodeDecodeError as err:
        raise ConfigError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from None


def deep_merge(base: dict, override: dict) -> dict:
    """`override` on top of `base`: mappings merge key by key, anything else replaces."""
    out = dict(base)
    for k, v in override.items():
        out[k] = deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def read_config_data(path: str | Path, _seen: tuple = ()) -> dict:
    """A config's data, with `extends: other.yaml` (relative to the file) resolved."""
    path = Path(path)
    data = read_yaml(path)
    if not isinstance(data, dict) or "extends" not in data:
        return data
    base_path = path.parent / str(data.pop("extends"))
    if base_path.resolve() in _seen:
        raise ConfigError(f"{path}: extends: {base_path} makes a loop")
    if not base_path.exists():
        raise ConfigError(f"{path}: extends: no such file {base_path}")
    return deep_merge(read_config_data(base_path, _seen + (path.resolve(),)), data)


def load_config(path: str | Path) -> Config:
    """Read and validate a council config from a YAML file."""
    return parse_config(read_config_data(path), str(path))
