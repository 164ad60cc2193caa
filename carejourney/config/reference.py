"""Generate docs/config-reference.md from the schema, so the reference cannot drift.

    python -m carejourney.config.reference > docs/config-reference.md
"""

from __future__ import annotations

import typing

from pydantic import BaseModel

from .schema import Config

HEADER = """# Config reference

Every field of a council config, generated from the schema (`carejourney/config/schema.py`)
by `python -m carejourney.config.reference`; a test fails when this file is out of date.
Units are in the names (`_gbp`, `_days`, `_years`, `_share`, `_probability`). Durations
(`Distribution`) are one of `fixed {days}`, `exponential {mean_days}`, `lognormal {mean_days,
sd_days}`, `gamma {mean_days, sd_days}`, `weibull {shape, scale_days}`, `empirical
{bounds_days, weights}`. Mixes by age band take the keys `under_1, 1_to_4, 5_to_9, 10_to_15,
16_to_17`. See `configs/cambridgeshire-2015.yaml` for every field in use, with its source.
"""


def _type_name(annotation) -> str:
    text = str(annotation).replace("typing.", "").replace("carejourney.", "")
    for junk in ("config.schema.", "distributions.", "uncertainty.", "datetime.", "<class '", "'>"):
        text = text.replace(junk, "")
    if "Fixed" in text and "Weibull" in text:  # the Distribution union, spelt out by typing
        return "Distribution | None" if text.startswith("Optional") or "NoneType" in text else "Distribution"
    return text.replace("NoneType", "None")


def _models(annotation):
    """The pydantic models inside an annotation (list[X], X | None, dict[str, X] ...)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        return
    for arg in typing.get_args(annotation):
        yield from _models(arg)


def _section(model: type[BaseModel], path: str, out: list[str], seen: set):
    rows = []
    nested = []
    for name, field in model.model_fields.items():
        default = None if field.is_required() else field.get_default(call_default_factory=True)
        required = "yes" if field.is_required() else f"no (default `{default!r}`)" if default is not None else "no"
        desc = (field.description or "").replace("|", "\\|")
        kind = _type_name(field.annotation).replace("|", "\\|")
        rows.append(f"| `{name}` | `{kind}` | {required} | {desc} |")
        for sub in _models(field.annotation):
            if sub.__module__.endswith(("config.schema", "uncertainty")) and sub not in seen:
                nested.append((sub, f"{path}.{name}" if path else name))
    doc = " ".join((model.__doc__ or "").strip().split("\n\n")[0].split())
    out.append(f"\n## `{path}` ({model.__name__})\n" if path else "\n## `config`\n")
    if doc:
        out.append(doc + "\n")
    out.append("| field | type | required | meaning |\n|---|---|---|---|")
    out.extend(rows)
    for sub, sub_path in nested:
        seen.add(sub)
        _section(sub, sub_path, out, seen)


def reference() -> str:
    out = [HEADER]
    _section(Config, "", out, set())
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    print(reference(), end="")
