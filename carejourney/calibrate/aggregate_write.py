"""Writing a fitted config: `extends:` the original with only what changed (or self-contained),
a header saying how it was fitted, and a comment on every fitted value."""

from __future__ import annotations

import copy
import datetime as dt
import os
import warnings
from pathlib import Path

import yaml

from ..config import ConfigError
from ..config.loader import ConfigWarning
from ..validate.compare import coverage
from .aggregate_params import FitError
from .aggregate_result import FitResult, config_value, round_sig


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
    warned: list[str] = []
    try:
        load_config(tmp, warn=warned.append)
    except ConfigError as err:
        tmp.unlink(missing_ok=True)
        raise FitError(f"the fitted config does not validate: {err}") from None
    tmp.replace(out)
    for msg in warned:  # named by the file written, not its staging copy
        warnings.warn(msg.replace(str(tmp), str(out)), ConfigWarning, stacklevel=2)
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
        c[tuple(r.path.split("."))] = (f"[FIT] was {round_sig(config_value(r))}; 90% interval {round_sig(r.q05)}-"
                                      f"{round_sig(r.q95)}" + ("" if r.identified else " (weakly identified)")
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
                v = round_sig(v, 6)
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
    lines.append("Free parameters (fitted value; 90% interval from the parametric bootstrap; the config's value):")
    for r in fit.intervals.itertuples():
        lines.append(f"  {r.path} = {round_sig(r.fitted)} ({round_sig(r.q05)} to {round_sig(r.q95)}; "
                     f"was {round_sig(config_value(r))})" + ("" if r.identified else " WEAKLY IDENTIFIED"))
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
