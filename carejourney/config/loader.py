"""Read a YAML config and turn every validation problem into a message naming file and field."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from pydantic import ValidationError

from ..strict import NOT_A_NUMBER
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
        loc = e["loc"]
        if e["type"] == NOT_A_NUMBER:
            loc = (*loc, *e["ctx"]["at"])
        field = _field_path(loc) or "(top level)"
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


class _StrictLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key given twice in one mapping (plain YAML keeps the
    last silently) and naming the line of an impossible date such as 2021-02-30."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep)

    def construct_yaml_timestamp(self, node):
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError as err:
            raise yaml.constructor.ConstructorError(None, None, f"invalid date {node.value!r} ({err})",
                                                    node.start_mark) from None


_StrictLoader.add_constructor("tag:yaml.org,2002:map", _StrictLoader.construct_mapping)
_StrictLoader.add_constructor("tag:yaml.org,2002:timestamp", _StrictLoader.construct_yaml_timestamp)
# YAML 1.1 (PyYAML) reads 1e3 or 2E-4, with no decimal point, as text; YAML 1.2 and every
# reader of a config read a number. Resolved after YAML 1.1's own int and float forms.
_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float", re.compile(r"^[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+$"), list("-+0123456789"))


def read_yaml(path: str | Path) -> dict:
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: no such file")
    if path.is_dir():
        raise ConfigError(f"{path}: is a folder, not a YAML file")
    try:
        with path.open(encoding="utf-8") as f:
            return yaml.load(f, Loader=_StrictLoader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or str(err)
        kind = "YAML error" if isinstance(err, yaml.constructor.ConstructorError) else "YAML syntax error"
        raise ConfigError(f"{path}: {kind}{where}: {problem}") from None
    except UnicodeDecodeError as err:
        raise ConfigError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from None


def deep_merge(base: dict, override: dict) -> dict:
    """`override` on top of `base`: mappings merge key by key, anything else replaces."""
    out = dict(base)
    for k, v in override.items():
        out[k] = deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def read_config_data(path: str | Path) -> dict:
    """A config's data, with `extends: other.yaml` (relative to the file) resolved."""
    return _read_with_parents(Path(path), ())[0]


def _read_with_parents(path: Path, seen: tuple) -> tuple[dict, list[Path]]:
    """(the config's data with its `extends:` resolved, the files it extends, nearest first)."""
    data = read_yaml(path)
    if not isinstance(data, dict) or "extends" not in data:
        return data, []
    extends = data.pop("extends")
    if not isinstance(extends, str) or not extends:
        raise ConfigError(f"{path}: extends: must be one file name (relative to this file), not {extends!r}")
    base_path = path.parent / extends
    if base_path.resolve() in seen or base_path.resolve() == path.resolve():
        raise ConfigError(f"{path}: extends: {base_path} makes a loop")
    if not base_path.exists():
        raise ConfigError(f"{path}: extends: no such file {base_path}")
    if base_path.is_dir():
        raise ConfigError(f"{path}: extends: {base_path} is a folder, not a config file")
    base, parents = _read_with_parents(base_path, seen + (path.resolve(),))
    if not isinstance(base, dict):
        raise ConfigError(f"{base_path} (extended by {path}): the top level must be a mapping of sections, "
                          f"not {type(base).__name__}")
    return deep_merge(base, data), [base_path, *parents]


def load_config(path: str | Path) -> Config:
    """Read and validate a council config from a YAML file."""
    data, chain = _read_with_parents(Path(path), ())
    # a bad field may come from a file this one extends: name them all
    source = f"{path} (with {', '.join(map(str, chain))}, which it extends)" if chain else str(path)
    return parse_config(data, source)
