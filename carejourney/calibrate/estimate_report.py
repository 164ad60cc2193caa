"""What calibration estimated, how, and from what: the report and the written config.

The report holds only aggregates: no child identifier, date of birth or single child's dates
appear in it, and any count of children or events below 5 printed per cell is shown as
"<5" (zero is shown: it is not a small group of children). Its fit plots (estimate_plots)
follow the same rule.

`AtomicWrite` puts the config, the report and the report's chart folder in place together:
everything is staged beside its target first, and a failure at any point leaves the targets
as they were and no temporary file or folder behind.
"""

from __future__ import annotations

import math
import os
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self
from urllib.parse import quote

import pandas as pd
import yaml

from ..results import staging_dir, staging_file

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
class FitPlot:
    """One fit plot of the report: its PNG in the chart folder, or why it was not drawn."""

    title: str
    file: str | None  # PNG file name inside the chart folder; None: not drawn
    look_for: str  # one sentence: what a reader should look for
    reason: str = ""  # why it was not drawn
    detail: str = ""  # what the plot leaves out, if anything


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
    # aggregates for the fit plots (estimate_plots): key -> data, or a string saying why there are none
    fit_data: dict = field(default_factory=dict)

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

    def to_markdown(self, plots: list[FitPlot] | None = None, plot_folder: str | None = None) -> str:
        """The report as Markdown; with `plots` (drawn into `plot_folder`, a folder beside the
        report, by estimate_plots.draw_fit_plots) a "Fit plots" section links them."""
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
        if plots is not None:
            out += ["", *fit_plots_markdown(plots, plot_folder or ".")]
        out += ["", "## Not estimated: kept from the template", ""]
        for path, why in self.from_template:
            out.append(f"- `{path}`: {why}")
        out += ["", "## Assumptions and caveats", ""]
        out += [f"- {n}" for n in self.notes]
        for title, df in self.checks:
            out += ["", f"## Check: {title}", "", markdown_table(df)]
        return "\n".join(out) + "\n"


def fit_plots_markdown(plots: list[FitPlot], folder: str) -> list[str]:
    """The "Fit plots" section: each plot linked relative to the report, with what to look for."""
    out = ["## Fit plots", "",
           (f"The charts are PNG files in `{folder}/` beside this report. They show aggregates only: "
            "Kaplan-Meier curves are evaluated weekly and drawn only while at least 5 spells remain at "
            "risk, and counts of 1-4 are not drawn (marked <5). Intervals are 90%.")]
    for i, p in enumerate(plots, 1):
        out += ["", f"### {i}. {p.title}", ""]
        if p.file is None:
            out.append(f"Not drawn: {p.reason.rstrip('.')}.")
            continue
        out += [f"![{p.title}]({quote(folder)}/{quote(p.file)})", "", p.look_for]
        if p.detail:
            out += ["", p.detail]
    return out


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


class AtomicWrite:
    """Stage files and folders beside their targets, then put them all in place together.

        with AtomicWrite() as w:
            charts = w.folder("out/x.estimation")   # an empty temporary folder to fill
            w.text("out/x.estimation.md", text)      # a file's contents
            w.commit()                               # everything in place, in the order staged

    Leaving the block without `commit`, or through an exception, removes everything staged
    and the parent folders made for it. If `commit` itself fails, the targets already
    replaced are put back as they were (files are backed up by a hard link, folders moved
    aside), so a failure anywhere leaves the targets unchanged. A folder target is replaced
    whole; an existing one must hold only `replaceable` files (e.g. a previous run's charts).
    """

    def __init__(self):
        self._staged: list[tuple[Path, Path]] = []  # (temporary, target)
        self._made: list[Path] = []  # parent folders created, outermost first
        self._committed = False

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> bool:
        if not self._committed:
            self._discard()
        return False

    def _parents(self, path: Path) -> None:
        missing, p = [], path.parent
        while not p.exists():
            missing.append(p)
            p = p.parent
        path.parent.mkdir(parents=True, exist_ok=True)
        self._made += [m for m in reversed(missing) if m not in self._made]

    def folder(self, path, replaceable: tuple[str, ...] = (".png",)) -> Path:
        path = Path(path)
        if path.exists() or path.is_symlink():
            if not path.is_dir() or path.is_symlink():
                raise ValueError(f"{path}: exists and is not a folder")
            other = [p.name for p in path.iterdir() if not (p.is_file() and p.name.endswith(replaceable))]
            if other:
                raise ValueError(f"{path}: holds files other than {', '.join(replaceable)} ({', '.join(sorted(other)[:3])}); "
                                 "refusing to replace a folder that is not a previous run's output")
        self._parents(path)
        tmp = staging_dir(path)  # with the umask's mode, as the folder should have
        self._staged.append((tmp, path))
        return tmp

    def text(self, path, text: str) -> None:
        path = Path(path)
        if path.is_dir():
            raise ValueError(f"{path}: is a folder")
        self._parents(path)
        fd, tmp = staging_file(path)  # with the umask's mode, as the file should have
        self._staged.append((tmp, path))
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)

    def commit(self) -> None:
        done = []  # (temporary, target, backup or None, target is a folder)
        try:
            for tmp, target in self._staged:
                is_dir = tmp.is_dir()
                backup = None
                if os.path.lexists(target):
                    backup = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")
                done.append((tmp, target, backup, is_dir))  # before the backup: a partial one is undone too
                if backup is not None and is_dir:
                    os.replace(target, backup)
                elif backup is not None:
                    try:
                        os.link(target, backup)
                    except OSError:
                        shutil.copy2(target, backup)
                os.replace(tmp, target)
        except BaseException:
            self._roll_back(done)
            raise
        self._committed = True
        for _tmp, _target, backup, _is_dir in done:
            if backup is not None:
                _remove(backup)

    @staticmethod
    def _roll_back(done) -> None:
        for tmp, target, backup, is_dir in reversed(done):
            try:
                placed = not os.path.lexists(tmp)
                if placed and (backup is None or is_dir):
                    _remove(target)
                if backup is not None and (placed or is_dir) and os.path.lexists(backup):
                    os.replace(backup, target)
                elif backup is not None:
                    _remove(backup)
            except OSError:
                pass  # best effort: keep undoing the rest

    def _discard(self) -> None:
        for tmp, _ in self._staged:
            try:
                _remove(tmp)
            except OSError:
                pass
        for d in reversed(self._made):
            try:
                d.rmdir()
            except OSError:
                pass


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif os.path.lexists(path):
        path.unlink()
