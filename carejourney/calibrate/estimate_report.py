"""What calibration estimated, how, and from what: the report and the written config.

The report holds only aggregates: no child identifier, date of birth or single child's dates
appear in it, and any count of children or events below 5 printed per cell is shown as
"<5" (zero is shown: it is not a small group of children).
"""

from __future__ import annotations

import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

SMALL = 5  # counts 1-4 are suppressed in printed cells


@dataclass
class Estimate:
    """One estimated config value: where it goes, the estimate, its 90% interval, the data behind it."""

    path: str
    value: object
    low: float | None = None
    high: float | None = None
    events: float | None = None  # events (or successes) behind the estimate
    n: float | None = None  # observations (spells, children, trials)
    exposure_days: float | None = None
    method: str = ""
    note: str = ""
    prior: dict | None = None  # the uncertainty entry's prior, if any
    display: str | None = None  # how the report prints the value, if not as it is (small counts hidden)


@dataclass
class EstimationReport:
    start: str = ""
    window: str = ""
    template: str = ""
    sources: list[str] = field(default_factory=list)
    data_summary: dict = field(default_factory=dict)
    estimates: list[Estimate] = field(default_factory=list)
    from_template: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    checks: list[tuple[str, pd.DataFrame]] = field(default_factory=list)

    # ---------------------------------------------------------------- lookups
    def get(self, path: str) -> Estimate | None:
        for e in reversed(self.estimates):
            if e.path == path:
                return e
        return None

    def interval(self, path: str) -> tuple[float, float]:
        e = self.get(path)
        if e is None or e.low is None or e.high is None:
            raise KeyError(f"no interval for {path}")
        return e.low, e.high

    @property
    def estimated_paths(self) -> list[str]:
        return [e.path for e in self.estimates]

    def check(self, title: str) -> pd.DataFrame | None:
        for t, df in self.checks:
            if t == title:
                return df
        return None

    # ---------------------------------------------------------------- text
    def summary(self) -> str:
        n_prior = sum(1 for e in self.estimates if e.prior)
        lines = [
            f"Estimated from SSDA903 episodes, {self.window}; start {self.start}; template {self.template}.",
            (f"{len(self.estimates)} values estimated ({n_prior} with an uncertainty entry); "
            f"{len(self.from_template)} parts kept from the template."),
        ]
        for key in ("children", "periods", "episodes", "opening_stock", "first_entries"):
            if key in self.data_summary:
                lines.append(f"  {key.replace('_', ' ')}: {fmt_count(self.data_summary[key])}")
        return "\n".join(lines)

    def to_markdown(self) -> str:
        out = [
            "# Calibration report",
            "",
            f"- Data: SSDA903 episodes, {self.window}",
            f"- Files: {', '.join(self.sources) if self.sources else '(not recorded)'}",
            f"- Start date of the config: {self.start}",
            f"- Template (everything not listed below as estimated): {self.template}",
            "",
            "Counts of 1-4 printed per cell are shown as <5. Intervals are 90%: Wald intervals on",
            "the log scale for hazard-based durations and multipliers, Beta quantiles for proportions.",
            "",
            "## Data",
            "",
        ]
        for k, v in self.data_summary.items():
            out.append(f"- {k.replace('_', ' ')}: {fmt_count(v) if isinstance(v, (int, float)) else v}")
        out += ["", "## Estimated values", "",
                "| field | value | 90% interval | events | n | exposure (days) | method | note |",
                "|---|---|---|---|---|---|---|---|"]
        for e in self.estimates:
            out.append("| " + " | ".join([
                f"`{e.path}`", e.display if e.display is not None else fmt_value(e.value), fmt_interval(e.low, e.high), fmt_count(e.events),
                fmt_count(e.n), fmt_num(e.exposure_days), e.method, e.note.replace("|", "/"),
            ]) + " |")
        out += ["", "## Not estimated: kept from the template", ""]
        for path, why in self.from_template:
            out.append(f"- `{path}`: {why}")
        out += ["", "## Assumptions and caveats", ""]
        out += [f"- {n}" for n in self.notes]
        for title, df in self.checks:
            out += ["", f"## Check: {title}", "", markdown_table(df)]
        return "\n".join(out) + "\n"


# ---------------------------------------------------------------- formatting
def fmt_count(x) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    if 0 < x < SMALL:
        return "<5"
    if isinstance(x, float) and not float(x).is_integer():
        return f"{x:.1f}"
    return f"{round(x)}"


def fmt_counts(counts) -> str:
    """A count or a dict of counts with 1-4 shown as <5."""
    if isinstance(counts, dict):
        return "{" + ", ".join(f"{k}: {fmt_count(v)}" for k, v in counts.items()) + "}"
    return fmt_count(counts)


def fmt_num(x) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    if isinstance(x, (int, float)):
        if abs(x) >= 100:
            return f"{x:,.0f}"
        return f"{x:.4g}"
    return str(x)


def fmt_value(v) -> str:
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {fmt_value(x)}" for k, x in v.items()) + "}"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def fmt_interval(lo, hi) -> str:
    if lo is None or hi is None or (isinstance(lo, float) and math.isnan(lo)):
        return ""
    return f"{lo:.4g} - {hi:.4g}"


def markdown_table(df: pd.DataFrame) -> str:
    def cell(x) -> str:
        return (x if isinstance(x, str) else fmt_value(x)).replace("|", "/")

    cols = list(df.columns)
    lines = ["| " + " | ".join(cell(str(c)) for c in cols) + " |", "|" + "---|" * len(cols)]
    for _, row in df.iterrows():
        lines.append("| " + " | ".join(cell(row[c]) for c in cols) + " |")
    return "\n".join(lines)


# ---------------------------------------------------------------- YAML
SECTIONS = ("meta", "horizon", "population", "demand", "edge_of_care", "legal", "placements", "exits",
            "costs", "opening", "uncertainty")


def render_yaml(config: dict, report: EstimationReport, header: list[str]) -> str:
    """The config as YAML: a header, then each section with comments naming what was estimated."""
    lines = [f"# {h}" if h else "#" for h in header]
    lines.append("")
    by_section: dict[str, list[Estimate]] = {}
    for e in report.estimates:
        by_section.setdefault(e.path.split(".")[0], []).append(e)
    kept: dict[str, list[str]] = {}
    for path, _why in report.from_template:
        kept.setdefault(path.split(".")[0], []).append(path)
    keys = [k for k in SECTIONS if k in config] + [k for k in config if k not in SECTIONS]
    for key in keys:
        ests = by_section.get(key, [])
        if ests:
            lines.append(f"# {key}: estimated from the SSDA903 data:")
            for e in ests:
                bits = [e.display if e.display is not None else
                        fmt_value(e.value) if not isinstance(e.value, dict) else "(see below)"]
                if e.low is not None and e.high is not None and not (isinstance(e.low, float) and math.isnan(e.low)):
                    bits.append(f"90% {fmt_interval(e.low, e.high)}")
                if e.events is not None:
                    bits.append(f"events {fmt_count(e.events)}")
                lines.append(f"#   {e.path} = {'; '.join(bits)} [{e.method}]")
        if kept.get(key):
            lines.append(f"# {key}: from the template: {', '.join(p.split('.', 1)[-1] for p in kept[key])}")
        if key == "uncertainty":
            lines.append("# uncertainty: estimation uncertainty of the fitted values, drawn afresh in each replication")
        body = yaml.safe_dump({key: config[key]}, sort_keys=False, default_flow_style=None, width=110,
                              allow_unicode=True)
        lines.append(body.rstrip("\n"))
        lines.append("")
    return "\n".join(lines)


def write_atomic(files: dict) -> None:
    """Write {path: text}: each through a temporary file in its folder, all renamed into place
    only once every one is written (a failure leaves nothing behind)."""
    temps = []
    try:
        for path, text in files.items():
            path = Path(path)
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
            temps.append((tmp, path))
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
        for tmp, path in temps:
            os.replace(tmp, path)
    except BaseException:
        for tmp, _ in temps:
            Path(tmp).unlink(missing_ok=True)
        raise
