"""Experiments: a baseline and action-plan scenarios, many replications each.

Replication r of every scenario uses the same seed sequence, so each lever's effect is a
paired difference. Work is split into chunks of replications; each chunk is written as its
own Parquet file as soon as it is done, and a rerun of the same command computes only the
chunks that are missing. The manifest records the experiment, config, version and a hash
of the package's source: a resume with any of them changed is refused.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import os
import re
import shutil
import sys
import threading
import warnings
from concurrent.futures import FIRST_COMPLETED, wait
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from itertools import zip_longest
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pydantic import (
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from . import __version__
from .calendar import financial_years
from .commands import os_error_text
from .config import ConfigError, load_config
from .config.loader import ConfigWarning, format_validation_error, read_yaml
from .config.schema import is_plain_name
from .levers import (
    PRICE_ONLY_KINDS,
    Lever,
    activate,
    applied_levers,
    prices_only,
    with_article,
)
from .model.modifiers import NO_CHANGE
from .results import atomic_dir, errors_naming, leftovers, write_table
from .runner import (
    MAX_REPS,
    SUMMARY_BYTES_PER_REP_YEAR,
    memory_refusal,
    run_repriced,
    worker_pool,
)
from .strict import NumbersOnly

CHUNK_REPS = 10
# each chunk file names the batch that wrote it (Parquet key-value metadata): a chunk copied in
# from another seed or experiment kept its scenario and replication numbers, so it was
# summarised as if paired with the rest (QA19)
CHUNK_BATCH_KEY = b"carejourney.batch"
STAGING = ".aggregate"  # the folder the summaries are built in, beside the chunks
CONNECT_TIMEOUT_S = 10  # seconds to reach a --scheduler before giving up
BASELINE = "baseline"
# What each replication keeps: enough for the report, the savings and the targets.
KEEP = {
    "lac_children": {"total", "placement_type", "age_band", "legal_status"},
    "lac_rate_per_10000": {"total"},
    "starts_children": {"total", "age_band"},
    "ceased_children": {"total", "exit_route"},
    "care_period_starts": {"total"},
    "placements_52_week": {"placement_type"},
    "spend_gbp": None,  # every breakdown
    "service_cases_started": {"service"},
    "inhouse_occupancy_share": {"pool"},
    "edge_of_care_children": {"outcome"},
}


class ExperimentError(ValueError):
    """An experiment file or results folder that cannot be used; names file and field."""


def plain_name(v: str, use: str) -> str:
    """A name that becomes a file or folder name: the plain-name rule of a config's
    meta.name (letters, digits, '.', '_', '-'), and no '..'; never a path."""
    if not is_plain_name(v) or ".." in v:
        raise ValueError(f"{v!r} is not a plain name: use letters, digits, '.', '_' and '-' ({use}), starting with "
                         f"a letter or digit and without '..'")
    return v


class Scenario(NumbersOnly):
    model_config = ConfigDict(extra="forbid")
    name: str
    label: str = ""
    description: str = ""
    levers: list[str] | Literal["all"] = []

    @field_validator("name")
    @classmethod
    def _plain(cls, v):
        return plain_name(v, "it names the scenario's folder of results")


class Target(NumbersOnly):
    model_config = ConfigDict(extra="forbid")
    name: str
    measure: str
    breakdown: str = "total"
    category: str = "all"
    period: str = Field(description="financial year, e.g. 2016-17; stock measures at its 31 March")
    at_most: float | None = None
    at_least: float | None = None
    source: str = ""

    @field_validator("name")
    @classmethod
    def _named(cls, v):
        if not v.strip():  # QA15: a blank name was accepted, a blank row in every table
            raise ValueError("is blank: a target's name labels its row in every table; give one")
        return v

    @field_validator("period", mode="before")
    @classmethod
    def _period_text(cls, v):
        if not isinstance(v, str):  # 2016 read as a number: say what is wanted (QA14: "a valid string")
            raise ValueError(f"{v!r} is not a financial year: write it like 2016-17 (or 'total' for a saving)")
        return v

    @model_validator(mode="after")
    def _one(self):
        if (self.at_most is None) == (self.at_least is None):
            raise ValueError("give exactly one of at_most or at_least")
        return self


class ExperimentHeader(NumbersOnly):
    model_config = ConfigDict(extra="forbid")
    name: str
    config: str = Field(description="path to the council config, relative to this file")
    description: str = ""
    replications: int = Field(40, ge=1, le=MAX_REPS)
    seed: int = Field(1, ge=0)

    @field_validator("name")
    @classmethod
    def _plain(cls, v):
        return plain_name(v, "it names the results folder")


class ExperimentSpec(NumbersOnly):
    model_config = ConfigDict(extra="forbid")
    experiment: ExperimentHeader
    levers: dict[str, Lever] = {}
    scenarios: list[Scenario]
    targets: list[Target] = []

    @field_validator("levers")
    @classmethod
    def _lever_names(cls, v):
        for name in v:
            try:
                plain_name(name, "it names the lever in the results")
            except ValueError as err:
                raise ValueError(f"lever name {err}") from None
        return v

    @model_validator(mode="after")
    def _refs(self):
        # every problem at once, one "field: message" a line (QA14: one fix at a time);
        # format_validation_error lists each under its field
        problems = []
        names = [s.name for s in self.scenarios]
        if BASELINE not in names:
            problems.append(f"scenarios: must include one named {BASELINE!r}")
        if len(names) != len(set(names)):
            problems.append(f"scenarios: scenario names must be unique: {names}")
        for i, s in enumerate(self.scenarios):
            where = f"scenarios[{i}].levers"
            if s.name == BASELINE and s.levers:
                problems.append(f"{where}: the {BASELINE} must have no levers: every saving is measured against it; "
                                "put the levers in a scenario of their own")
            if s.levers != "all":
                unknown = [n for n in s.levers if n not in self.levers]
                if unknown:
                    problems.append(f"{where}: scenario {s.name} names unknown lever(s) {unknown}")
                    continue
                twice = sorted({n for n in s.levers if s.levers.count(n) > 1})
                if twice:
                    problems.append(f"{where}: scenario {s.name} lists lever(s) {twice} more than once; a lever is "
                                    "applied once, so list it once")
            if any(lv.part_of is not None and lv.part_of not in self.levers for lv in self.levers.values()):
                continue  # which levers apply is not known yet
            resized: dict[str, str] = {}
            for n in applied_levers(self.levers, self.lever_names(s)):
                lv = self.levers[n]
                if lv.kind == "edge_service" and lv.service and lv.caseload_capacity is not None:
                    other = resized.setdefault(lv.service, n)
                    if other != n:
                        problems.append(f"{where}: in scenario {s.name}, levers {other} and {n} both set the "
                                        f"caseload of service {lv.service!r}; give one lever the caseload the "
                                        "scenario should have")
            problems += [f"{where}: in scenario {s.name}, {clash}" for clash in _set_to_clashes(
                self.levers, applied_levers(self.levers, self.lever_names(s)))]
        targets = [t.name for t in self.targets]
        twice = sorted({n for n in targets if targets.count(n) > 1})
        if twice:
            problems.append(f"targets: target names must be unique: {twice} named more than once")
        new_services = {}
        for name, lv in self.levers.items():
            if lv.part_of is not None and lv.part_of not in self.levers:
                problems.append(f"levers.{name}.part_of: names unknown lever {lv.part_of!r}")
            elif lv.part_of == name:
                problems.append(f"levers.{name}.part_of: names {name} itself: a lever is part of another lever")
            elif lv.part_of is not None:
                chain = [name]
                while (self.levers[chain[-1]].part_of in self.levers and chain[-1] not in chain[:-1]):
                    chain.append(self.levers[chain[-1]].part_of)
                if chain[-1] == name and len(chain) > 1:
                    problems.append(f"levers.{name}.part_of: makes a cycle {' -> '.join(chain)}: each lever would "
                                    "be counted inside another, so none of them would run; break the cycle")
            if lv.new_service is not None:
                other = new_services.setdefault(lv.new_service.name, name)
                if other != name:
                    problems.append(f"levers.{name}.new_service.name: service {lv.new_service.name!r} is already "
                                    f"added by lever {other}; give each new service its own name")
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def lever_names(self, scenario: Scenario) -> list[str]:
        return list(self.levers) if scenario.levers == "all" else list(scenario.levers)

    def evidence(self, scenario: Scenario) -> str:
        kinds = {self.levers[n].evidence for n in self.lever_names(scenario)}
        if not kinds:
            return "none"
        return kinds.pop() if len(kinds) == 1 else "mixed"


@dataclass
class Experiment:
    path: Path
    spec: ExperimentSpec
    config_path: Path
    cfg: object
    fingerprint: str  # hash of the experiment file and every config file it reads
    file_hashes: list = field(default_factory=list)  # each of those files' own hash, to say which changed

    @property
    def scenarios(self):
        return self.spec.scenarios


# Lever kinds whose effect is the value a quantity is set to (not a change that composes):
# two at once in a scenario, on the same thing, leave only the last applied (QA15). The
# field naming the thing each sets, or None for one value in the whole system.
SET_TO = {"staying_put": (None, "the Staying Put share"), "early_help": (None, "the Family CAF share"),
          "occupancy": ("pool", "the match probability of pool"), "edge_service": ("service", "the success probability of service")}


def _set_to_clashes(levers: dict, names: list[str]) -> list[str]:
    """Pairs of levers that set the same value over overlapping dates."""
    out, seen = [], {}
    for n in names:
        lv = levers[n]
        if lv.kind not in SET_TO:
            continue
        field, what = SET_TO[lv.kind]
        target = getattr(lv, field) if field else None
        if lv.kind == "edge_service" and lv.new_service is not None:
            target = lv.new_service.name
        for other in seen.get((lv.kind, target), []):
            o = levers[other]
            if lv.start_date < (o.end_date or dt.date.max) and o.start_date < (lv.end_date or dt.date.max):
                thing = f"{what} {target!r}" if field else what
                out.append(f"levers {other} and {n} both set {thing} over the same dates; only the last applied would "
                           "count: give one lever the value the scenario should have, or dates that do not overlap")
        seen.setdefault((lv.kind, target), []).append(n)
    return out


def _file_hashes(paths) -> list[list[str]]:
    """[path, hash] of the experiment file, its config, and the configs that extends, in turn."""
    return [[str(Path(p).resolve()), hashlib.sha256(Path(p).read_bytes()).hexdigest()[:16]] for p in paths]


def _fingerprint(file_hashes: list[list[str]]) -> str:
    """One hash of the files' contents, in turn (their paths left out: a moved batch resumes)."""
    return hashlib.sha256("".join(h for _, h in file_hashes).encode()).hexdigest()[:16]


@functools.cache
def code_fingerprint() -> str:
    """A hash of the package's own source. A batch resumes only on the code that began it:
    a working copy can change the model without a new version number."""
    root = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for p in sorted(root.rglob("*.py")):
        h.update(p.relative_to(root).as_posix().encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:16]


def _config_files(path: Path) -> list[Path]:
    out = [path]
    data = read_yaml(path)
    if isinstance(data, dict) and "extends" in data:
        out += _config_files(path.parent / str(data["extends"]))
    return out


def load_experiment(path: str | Path) -> Experiment:
    path = Path(path)
    try:
        data = read_yaml(path)
    except ConfigError as err:
        raise ExperimentError(str(err)) from None
    if not isinstance(data, dict):
        raise ExperimentError(f"{path}: the top level must be a mapping")
    if "experiment" not in data and {"horizon", "opening"} <= set(data):
        raise ExperimentError(f"{path}: this is a config (it has horizon: and opening:), not an experiment file: "
                              f"run its baseline with `carejourney run {path}`, or name it in an experiment file's "
                              "experiment.config")
    try:
        spec = ExperimentSpec.model_validate(data)
    except ValidationError as err:
        raise ExperimentError(format_validation_error(str(path), err, what="experiment file")) from None
    config_path = (path.parent / spec.experiment.config).resolve()
    if not config_path.exists():
        raise ExperimentError(f"{path}: experiment.config: no such file {config_path}")
    if not config_path.is_file():
        raise ExperimentError(f"{path}: experiment.config: {config_path} is a folder, not a config file")
    cfg = load_config(config_path)
    problems = []  # every one at once (QA14: they came one fix at a time)
    for name, lever in spec.levers.items():
        try:
            lever.check_against(cfg)
        except ValueError as err:
            problems.append(f"levers.{name}.{err}")
        for msg in lever.warnings_against(cfg):
            warnings.warn(f"{path}: levers.{name}.{msg}", ConfigWarning, stacklevel=2)
        whole = spec.levers.get(lever.part_of) if lever.part_of else None
        if whole is not None and (lever.kind in PRICE_ONLY_KINDS) != (whole.kind in PRICE_ONLY_KINDS):
            # a change of price cannot be inside a change of journeys, or the reverse (QA14)
            warnings.warn(f"{path}: levers.{name}.part_of: {lever.part_of} is {with_article(whole.kind)} lever "
                          f"and {name} {with_article(lever.kind)} lever: a scenario with both leaves {name} out, so "
                          f"its effect is counted only if {lever.part_of}'s effect already includes it",
                          ConfigWarning, stacklevel=2)
    for i, s in enumerate(spec.scenarios):
        if s.name != BASELINE and not spec.lever_names(s):  # QA15: ran as a copy of the baseline, saving 0, unremarked
            warnings.warn(f"{path}: scenarios[{i}].levers: scenario {s.name} has no levers, so it repeats the "
                          f"baseline exactly (a saving of 0); name its levers, or levers: all", ConfigWarning, stacklevel=2)
    services = [sv.name for sv in cfg.edge_of_care.services] + [lv.new_service.name for lv in spec.levers.values()
                                                                 if lv.new_service is not None]
    problems += _target_problems(spec.targets, cfg, services)
    if problems:
        raise ExperimentError("\n".join([f"{path}: {len(problems)} problem(s) in the experiment file, against its "
                                         f"config {config_path.name}:"] + [f"  - {p}" for p in problems]))
    hashes = _file_hashes([path, *_config_files(config_path)])
    return Experiment(path, spec, config_path, cfg, _fingerprint(hashes), hashes)


# Paired measures (baseline minus scenario, replication by replication) and the annual
# measure, breakdown and category each is taken from.
PAIRED = {
    "spend_gbp_saving": ("spend_gbp", "total", "all"),
    "placements_spend_gbp_saving": ("spend_gbp", "total", "placements"),
    "lac_reduction_children": ("lac_children", "total", "all"),
    "starts_reduction_children": ("starts_children", "total", "all"),
}


def _categories(measure: str, breakdown: str, cfg, services: list[str]) -> set[str] | None:
    """The categories the results hold for a measure and breakdown (None: not checked)."""
    from .events import EDGE_OUTCOMES, POST_CARE_KINDS
    from .vocab import AGE_BANDS, EXIT_ROUTES, LEGAL_STATUSES, PLACEMENT_TYPES

    pools = set(cfg.placements.capacity)
    if measure == "spend_gbp":
        return {"total": {"all", "placements"}, "placement": set(PLACEMENT_TYPES), "inhouse_fixed": pools,
                "edge_of_care": set(services), "post_care": set(POST_CARE_KINDS),
                "income": {"parental_contribution", "uasc_grant"}, "social_work": {"social_work"}}.get(breakdown, set())
    return {"total": {"all"}, "placement_type": set(PLACEMENT_TYPES), "age_band": set(AGE_BANDS),
            "legal_status": set(LEGAL_STATUSES), "exit_route": set(EXIT_ROUTES), "outcome": set(EDGE_OUTCOMES),
            "pool": pools, "service": set(services)}.get(breakdown)


def _target_problems(targets, cfg, services: list[str] = ()) -> list[str]:
    """Before anything runs: each target names a measure, breakdown and category the results
    keep, a financial year of the run (or "total" for a saving), and a finite threshold (a
    target found wrong only after the run would lose the run: a fixed file cannot resume it).
    The first problem of each target, as "targets[i] (name).field: message"."""
    problems = []
    for i, t in enumerate(targets):
        problem = _target_problem(t, cfg, services)
        if problem:
            problems.append(f"targets[{i}] ({t.name}){problem}")
    return problems


def _target_problem(t, cfg, services) -> str | None:
    """What is wrong with one target (".field: message"), or None."""
    years = [label for label, *_ in financial_years(cfg.horizon.start_date, cfg.horizon.end_date)]
    threshold = t.at_most if t.at_most is not None else t.at_least
    side = "at_most" if t.at_most is not None else "at_least"
    if not np.isfinite(threshold):
        return f".{side}: {threshold} is not a finite number"
    if t.measure in PAIRED:
        if t.period not in years and t.period != "total":
            return f".period: {t.period!r} is not a financial year of the run ({years[0]} to {years[-1]}) or 'total'"
        if "breakdown" in t.model_fields_set or "category" in t.model_fields_set:
            return (f": breakdown and category are not used by {t.measure} (it is taken from "
                    f"{'/'.join(PAIRED[t.measure])}): remove them")
        return None
    if t.measure not in KEEP:
        return f".measure: unknown measure {t.measure!r}; expected one of {sorted(KEEP) + list(PAIRED)}"
    if KEEP[t.measure] is not None and t.breakdown not in KEEP[t.measure]:
        return f".breakdown: {t.breakdown!r} is not kept for {t.measure}; expected one of {sorted(KEEP[t.measure])}"
    allowed = _categories(t.measure, t.breakdown, cfg, list(services))
    if allowed is not None and t.category not in allowed:
        what = f"for {t.measure} by {t.breakdown}" if allowed else f"(no breakdown {t.breakdown!r} of {t.measure})"
        return (f".category: {t.category!r} is not a category {what}"
                + (f"; expected one of {sorted(allowed)}" if allowed else ""))
    if t.measure.endswith("_share") and not 0 <= threshold <= 1:
        return f".{side}: {threshold:g} is not a share between 0 and 1"
    if t.period not in years:
        return f".period: {t.period!r} is not a financial year of the run ({years[0]} to {years[-1]})"
    # a count or a spend is never negative: such a target could never be met (a typo);
    # savings and reductions (PAIRED, above) may be
    for side in ("at_most", "at_least"):
        value = getattr(t, side, None)
        if value is not None and value < 0:
            return f".{side}: {value:g} is negative, but {t.measure} never is"
    return None


# ================================================================ running
def _keep(annual: pd.DataFrame) -> pd.DataFrame:
    """The rows of KEEP (a plain loop over ~900 rows beats vectorised string matching)."""
    rows = zip(annual["measure"].to_numpy(), annual["breakdown"].to_numpy())
    mask = np.fromiter((m in KEEP and (KEEP[m] is None or b in KEEP[m]) for m, b in rows), bool, len(annual))
    return annual[mask]


@dataclass
class ChunkTask:
    """Replications [a, b) of one simulated scenario, plus the price-only scenarios that
    are measured on the same simulation (only ever the baseline's). Each scenario's rows
    go to its own chunk file."""

    cfg: object
    levers: dict
    seed: int
    a: int
    b: int
    scenarios: list[tuple[str, list[str], str]]  # (name, lever names, chunk path); first is simulated
    code: str = ""  # code_fingerprint() of the batch: a Dask worker must run the same code
    batch: str = ""  # batch_key() of the batch, written into each chunk file

    @property
    def replications(self) -> int:
        return (self.b - self.a) * len(self.scenarios)


def _tidy(res) -> list[pd.DataFrame]:
    annual = _keep(res.annual).assign(table="annual")
    m = res.monthly
    monthly = m[(m.measure == "lac_children") & (m.breakdown == "total")].assign(table="monthly")
    return [annual, monthly]


def run_chunk(task: ChunkTask) -> list[str]:
    """Simulate the task's replications, keep the tidy rows, write one chunk file per scenario."""
    if task.code and task.code != code_fingerprint():
        # a cluster worker with another install would mix its numbers into the batch unseen
        raise ExperimentError(f"a worker runs different carejourney code (its source hash {code_fingerprint()} and "
                              f"version {__version__}; the batch's source hash {task.code}): install the same "
                              "carejourney on every Dask worker")
    frames = {name: [] for name, _, _ in task.scenarios}
    for r in range(task.a, task.b):
        mods = [activate(task.cfg, task.levers, names, task.seed, r) if names else NO_CHANGE
                for _, names, _ in task.scenarios]
        results = run_repriced(task.cfg, task.seed, r, mods[0], mods, lean=True)
        for (name, _, _), res in zip(task.scenarios, results):
            frames[name] += _tidy(res)
    written = []
    for name, _, path in task.scenarios:
        df = pd.concat(frames[name], ignore_index=True)
        df.insert(0, "scenario", name)
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(f".{os.getpid()}.tmp")  # two writers of one chunk (a resume beside a cluster task) never share it
        table = pa.Table.from_pandas(df, preserve_index=False)
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), CHUNK_BATCH_KEY: task.batch.encode()})
        # page checksums: bytes overwritten inside a page are found on reading, not summarised
        # (QA19); values in data pages, since a dictionary page's checksum is not verified
        try:
            with errors_naming(out):
                pq.write_table(table, tmp, write_page_checksum=True,
                               use_dictionary=[c for c in table.column_names if c != "value"])
                os.replace(tmp, out)  # a chunk file exists only when it is complete
        finally:
            tmp.unlink(missing_ok=True)  # a full disk's part-written file is not left behind
        written.append(str(out))
    return written


def batch_key(exp: Experiment, seed: int) -> str:
    """What makes chunks of one batch comparable: the experiment and its configs, the seed and
    the code (the replication numbers are in the chunk's name and rows)."""
    return f"{exp.fingerprint}/{seed}/{code_fingerprint()}"


def _manifest(exp: Experiment, reps: int, seed: int) -> dict:
    return {
        "experiment": exp.spec.experiment.name,
        "experiment_file": str(exp.path),
        "config": str(exp.config_path),
        "config_name": exp.cfg.meta.name,
        "fingerprint": exp.fingerprint,
        "file_hashes": exp.file_hashes,
        "carejourney_version": __version__,
        "code_fingerprint": code_fingerprint(),
        "seed": seed,
        "replications": reps,
        "chunk_replications": CHUNK_REPS,
        "baseline": BASELINE,
        "start_date": str(exp.cfg.horizon.start_date),
        "end_date": str(exp.cfg.horizon.end_date),
        "price_note": _price_note(exp.cfg),
        "spend_scope": exp.cfg.costs.spend_scope,  # what the spend totals cover, as the report says
        # the stock on the start date (the LAC fan's first point); with a warm-up it is simulated, not given
        "opening_lac_children": exp.cfg.opening.children if exp.cfg.horizon.warmup_days == 0 else None,
        "scenarios": [
            {"name": s.name, "label": s.label or s.name, "description": s.description,
             "levers": exp.spec.lever_names(s), "evidence": exp.spec.evidence(s)}
            for s in exp.scenarios
        ],
        "levers": {n: {"kind": lv.kind, "workstream": lv.workstream, "label": lv.label,
                       "evidence": lv.evidence, "source": lv.source, "part_of": lv.part_of}
                   for n, lv in exp.spec.levers.items()},
    }


def _price_note(cfg) -> str:
    c = cfg.costs
    if c.report_prices == "real":
        return f"{c.price_year}-{(c.price_year + 1) % 100:02d} prices (real)"
    return "cash prices"


def check_resume(out: Path, manifest: dict):
    """Refuse to mix results from a different experiment, config, seed, version or code."""
    if out.exists() and not out.is_dir():
        raise ExperimentError(f"{out}: exists and is not a folder; choose another --out")
    path = out / "manifest.json"
    if not path.exists():
        if out.exists() and any(f.name != LOCK for f in out.iterdir()):  # a lock: a run stopped before its manifest
            raise ExperimentError(f"{out}: exists and holds something other than experiment results; choose another --out")
        return
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, OSError) as err:  # cut short or not text: say so, as `report` does (QA14: a traceback)
        raise ExperimentError(f"{path}: not valid JSON ({err}): not results this command can resume; "
                              "choose another --out, or delete the folder") from None
    if not isinstance(old, dict) or old.get("command", "experiment") != "experiment" or "fingerprint" not in old:
        raise ExperimentError(f"{out}: holds results of another command (its manifest.json is not an experiment's); "
                              "choose another --out")
    if old.get("experiment") != manifest["experiment"]:
        raise ExperimentError(f"{out}: holds results of experiment {old.get('experiment')!r} "
                              f"({old.get('experiment_file')}), not {manifest['experiment']!r}; use a new --out")
    if old["fingerprint"] != manifest["fingerprint"] and isinstance(old.get("file_hashes"), list):
        # compared in turn (experiment file, config, what it extends), wherever the files now are
        try:
            changed = [(n or b)[0] for b, n in zip_longest(old["file_hashes"], manifest["file_hashes"])
                       if b is None or n is None or b[1] != n[1]]
        except (TypeError, IndexError, KeyError):  # a manifest edited by hand: the general message below
            changed = []
        if changed:  # name the files (QA14: "the experiment or config file" did not say which)
            raise ExperimentError(
                f"{out}: cannot resume: the experiment or config file changed since these results were started "
                f"({', '.join(changed)}; even a comment counts, since the files are compared whole). "
                f"Use a new --out, or delete {out}.")
    for key, what in (("fingerprint", "the experiment or config file"), ("carejourney_version", "the carejourney version"),
                      ("code_fingerprint", "carejourney's code"), ("seed", "the seed"),
                      ("chunk_replications", "the chunk size")):
        if old.get(key) != manifest[key]:
            raise ExperimentError(
                f"{out}: cannot resume: {what} changed since these results were started "
                f"({key}: {old.get(key)!r} -> {manifest[key]!r}). Use a new --out, or delete {out}.")


def chunk_path(out: Path, scenario: str, a: int, b: int) -> Path:
    return out / "chunks" / scenario / f"reps_{a:06d}_{b:06d}.parquet"


CHUNK_NAME = re.compile(r"reps_(\d{6})_(\d{6})\.parquet")


def chunks_on_disk(out: Path, scenario: str) -> set[tuple[int, int]]:
    """The replication ranges [a, b) of a scenario's chunk files, by their names."""
    folder = out / "chunks" / scenario
    if not folder.is_dir():
        return set()
    found = (CHUNK_NAME.fullmatch(p.name) for p in folder.iterdir())
    return {(a, b) for a, b in ((int(m[1]), int(m[2])) for m in found if m) if a < b}


def chunk_spans(have: set[tuple[int, int]], reps: int) -> list[tuple[int, int]]:
    """Replications [0, reps) as consecutive chunks: a chunk already written wherever one fits
    (the longest), a new one up to the next multiple of CHUNK_REPS otherwise. A batch of 25
    extended to 40 keeps its 20-25 chunk and adds 25-30 and 30-40 (the chunks used to be cut
    anew from 0, so 20-30 was computed again beside the unused 20-25). Each replication's rows
    depend only on the seed and its number, so any cover reads the same results."""
    spans, pos = [], 0
    while pos < reps:
        fits = [b for a, b in have if a == pos and b <= reps]
        end = max(fits) if fits else min((pos // CHUNK_REPS + 1) * CHUNK_REPS, reps,
                                         *(a for a, _ in have if a > pos))
        spans.append((pos, end))
        pos = end
    return spans


def plan_tasks(exp: Experiment, reps: int, seed: int, out: Path) -> tuple[list[ChunkTask], int]:
    """The chunks still to compute, and how many replications are already done."""
    levers = exp.spec.levers
    simulated, repriced = [], []
    for s in exp.scenarios:
        names = exp.spec.lever_names(s)
        (repriced if prices_only(levers, names) else simulated).append((s.name, names))
    tasks, done = [], 0
    batch = batch_key(exp, seed)
    for name, names in simulated:
        group = [(name, names)] + (repriced if name == BASELINE else [])
        # one task writes the group's chunks: only spans every member has on disk are kept
        have = set.intersection(*(chunks_on_disk(out, n) for n, _ in group))
        for a, b in chunk_spans(have, reps):
            # absolute: a Dask worker elsewhere has its own working directory
            scenarios = [(n, ln, str(chunk_path(out.resolve(), n, a, b))) for n, ln in group]
            if all(_chunk_done(Path(p), batch) for _, _, p in scenarios):
                done += (b - a) * len(scenarios)
                continue
            tasks.append(ChunkTask(exp.cfg, levers, seed, a, b, scenarios, code_fingerprint(), batch))
    return tasks, done


def _chunk_done(path: Path, batch: str) -> bool:
    """Whether a chunk file of this batch is there and readable. Chunks appear whole (by
    rename), so an unreadable one was damaged afterwards (a full disk, a copy cut short), and
    one of another batch was copied in: either is removed, said so, and computed again, as a
    missing one is, instead of stopping every resume."""
    if not path.exists():
        return False
    try:
        wrong = _other_batch(pq.read_metadata(path).metadata, batch)
    except (OSError, pa.ArrowException) as err:
        wrong = f"damaged ({err})"
    if wrong:
        print(f"note: {path}: {wrong}; it is computed again", file=sys.stderr)
        path.unlink()
        return False
    return True


def _other_batch(metadata: dict | None, batch: str) -> str | None:
    """Why a chunk's key-value metadata shows it is not this batch's, or None."""
    theirs = (metadata or {}).get(CHUNK_BATCH_KEY)
    if theirs == batch.encode():
        return None
    if theirs is None:
        return "was not written by this batch (it names none)"
    fingerprint, seed, code = (theirs.decode(errors="replace").split("/") + ["", "", ""])[:3]
    ours = batch.split("/")
    what = [w for w, a, b in (("seed " + seed, seed, ours[1]), ("experiment or config", fingerprint, ours[0]),
                              ("carejourney code", code, ours[2])) if a != b]
    return f"was written by another batch (another {', '.join(what) or 'batch'})"


def run_experiment(path, reps=None, seed=None, workers=None, out=None, scheduler=None, progress=True,
                   check_out=None, before_tables=None) -> Path:
    """Run (or resume) an experiment and write its results folder. Returns the folder.
    `check_out(folder)`, if given, is called before anything is run or written (the command
    line checks there that the report it writes afterwards can replace its folder);
    `before_tables(folder)` just before the summary tables are (re)written (the command line
    withdraws there the previous report, which the new tables would leave out of date)."""
    exp = load_experiment(path)
    reps = reps or exp.spec.experiment.replications
    seed = exp.spec.experiment.seed if seed is None else seed
    out = Path(out) if out else Path("results") / exp.spec.experiment.name
    if seed < 0 or reps < 1:
        raise ExperimentError(f"seed must be >= 0 and replications >= 1 (got seed {seed}, replications {reps})")
    if why := memory_refusal(exp.cfg, reps, len(exp.scenarios) * SUMMARY_BYTES_PER_REP_YEAR,
                             f"summarising {reps * len(exp.scenarios):,} scenario-replications"):
        raise ExperimentError(why)
    manifest = _manifest(exp, reps, seed)
    check_resume(out, manifest)
    if check_out is not None:
        check_out(out)
    with (connect(scheduler) if scheduler else nullcontext()) as client, _sole_writer(out):  # before any writing
        _write_manifest(out, {**manifest, "complete": False})
        _remove_leftovers(out)
        _chunk_folders_writable(out, [s.name for s in exp.scenarios])
        tasks, done = plan_tasks(exp, reps, seed, out)
        total = reps * len(exp.scenarios)
        if done and progress:
            print(f"resuming {out}: all {total} scenario-replications already done; summarising them again"
                  if done == total else
                  f"resuming {out}: {done} of {total} scenario-replications already done, "
                  f"{total - done} to compute", file=sys.stderr)
        bar = _bar(total, done, progress)
        try:
            if client is not None:
                _run_dask(tasks, client, bar)
            else:
                _run_local(tasks, workers or default_workers(), bar)
        finally:
            bar.close()
        if before_tables is not None:
            before_tables(out)
        aggregate(out, exp, reps, seed)
        _write_manifest(out, {**manifest, "complete": True,
                              "finished": dt.datetime.now().isoformat(timespec="seconds")})
    return out


def _write_manifest(out: Path, manifest: dict):
    """Written whole or not at all (by rename): a manifest cut short by a kill or a full disk
    stranded every finished chunk behind 'not valid JSON' (QA19)."""
    tmp = out / f".manifest.{os.getpid()}.tmp"
    try:
        tmp.write_text(json.dumps(manifest, indent=2))
        os.replace(tmp, out / "manifest.json")
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise ExperimentError(f"{out / 'manifest.json'}: cannot be written: {os_error_text(err)}") from None


def _remove_leftovers(out: Path):
    """Files a killed command was writing (a chunk's .tmp, the summaries' staging folder):
    this command holds the folder now, so nobody will finish them (QA19: they stayed after a
    successful resume, on a disk that may be full)."""
    for path in [*out.glob("chunks/*/*.tmp"), *out.glob(".manifest.*.tmp")]:
        path.unlink(missing_ok=True)
    for path in leftovers(out / STAGING):
        shutil.rmtree(path, ignore_errors=True)


def _chunk_folders_writable(out: Path, scenarios: list[str]):
    """Each scenario's chunk folder, made now and written to once, so that a file in its place
    or a folder that refuses writing stops the batch before anything is computed (it was found
    when the first chunk was written, after a chunk's worth of computing)."""
    for name in scenarios:
        folder = out / "chunks" / name
        probe = folder / f".probe.{os.getpid()}.tmp"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as err:
            raise ExperimentError(f"{folder}: scenario {name}'s chunks cannot be written there: "
                                  f"{os_error_text(err)}") from None


LOCK = ".lock"


@contextmanager
def _sole_writer(out: Path):
    """The results folder, made if need be, written by this command alone while it runs (QA14:
    two at once both computed nearly everything, and both wrote the report). An advisory
    lock, released when the process ends however it ends; none where the system has none."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:  # QA14: the message did not say it was the results folder
        raise ExperimentError(f"{out}: the results folder (--out) cannot be made: {os_error_text(err)}") from None
    try:
        import fcntl
    except ImportError:  # Windows
        yield
        return
    with open(out / LOCK, "a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise ExperimentError(f"{out}: another experiment command is writing these results now; let it finish "
                                  "(or stop it), then rerun to resume") from None
        yield


def default_workers() -> int:
    return max(1, os.cpu_count() or 1)


def _bar(total, done, progress):
    from .progress import progress_bar
    return progress_bar(total, "replications", initial=done, enabled=bool(progress))


def _run_local(tasks, workers, bar):
    todo = list(tasks)
    workers = min(workers, len(todo))  # no idle processes: --workers 999 forked 999
    if workers <= 1:
        for t in todo:
            run_chunk(t)
            bar.update(t.replications)
        return
    # Only `workers` chunks in flight, so the queue holds no work an interrupt would wait for;
    # every chunk file that exists is complete (worker_pool: an interrupt stops the workers).
    with worker_pool(workers) as pool:
        running = {}
        while todo or running:
            while todo and len(running) < workers:
                t = todo.pop(0)
                running[pool.submit(run_chunk, t)] = t
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for f in finished:
                t = running.pop(f)
                f.result()
                bar.update(t.replications)


def connect(scheduler: str):
    """A client of the Dask scheduler at `scheduler`, or an ExperimentError saying why not."""
    try:
        from dask.distributed import Client
    except ImportError:
        raise ExperimentError("--scheduler needs dask.distributed (pip install 'dask[distributed]')") from None
    # Dask's own timeout covers reaching the port, not a handshake with something else there:
    # a dashboard or web port (8787 for 8786) waited for ever, and one answering with text
    # was read as a frame length (QA19: "Unable to allocate 3.07 EiB"). So the attempt runs in
    # a thread of its own, given twice the timeout, and anything it raises is named.
    box: dict = {}

    def attempt():
        try:
            box["client"] = Client(scheduler, timeout=CONNECT_TIMEOUT_S)
        except BaseException as err:  # noqa: BLE001 - reported below, in the main thread
            box["error"] = err

    thread = threading.Thread(target=attempt, name="dask-connect", daemon=True)
    thread.start()
    thread.join(2 * CONNECT_TIMEOUT_S)
    err = box.get("error")
    if thread.is_alive():
        raise ExperimentError(f"--scheduler {scheduler}: no Dask scheduler answered within {2 * CONNECT_TIMEOUT_S} s "
                              "(something listens there: a dashboard or web port? a scheduler's default is 8786, "
                              "its dashboard's 8787)")
    if isinstance(err, (OSError, ValueError, TypeError)):  # TimeoutError is an OSError
        raise ExperimentError(f"--scheduler {scheduler}: cannot connect to a Dask scheduler: {err}") from None
    if isinstance(err, KeyboardInterrupt):
        raise err
    if err is not None:
        raise ExperimentError(f"--scheduler {scheduler}: what answered there is not a Dask scheduler "
                              f"({type(err).__name__}: {' '.join(str(err).split())[:200]})") from None
    return box["client"]


def _run_dask(tasks, client, bar):
    from dask.distributed import as_completed
    if tasks and not client.scheduler_info().get("workers"):
        # Dask queues work for workers yet to join without a word: say why nothing moves
        print(f"note: the Dask scheduler at {client.scheduler.address} has no workers yet; the chunks wait "
              "until one joins (Ctrl-C stops; the same command resumes)", file=sys.stderr)
    futures = client.map(run_chunk, tasks, pure=False)
    sizes = {f.key: t.replications for f, t in zip(futures, tasks)}
    try:
        for f in as_completed(futures):
            f.result()
            bar.update(sizes[f.key])
    except BaseException:
        # Ctrl-C or a failed chunk: chunks not yet started are not left queued on the cluster
        # (a running one finishes and is written whole, by rename, so a resume keeps it)
        client.cancel(futures)
        raise


# ================================================================ results
QS = (0.05, 0.25, 0.5, 0.75, 0.95)


def _quantiles(g) -> pd.DataFrame:
    out = g.mean().rename("mean").to_frame()
    for q in QS:
        out[f"q{int(q * 100):02d}"] = g.quantile(q)
    return out


CHUNK_LABELS = ["scenario", "period", "measure", "breakdown", "category", "table"]  # read as categories


def _chunk_mismatch(t: pa.Table, scenario: str, a: int, b: int, batch: str) -> str | None:
    """Why a chunk's rows are not those its name promises (a file copied or merged by hand
    under another name was summarised unseen: QA14; one of another seed or experiment, or
    with missing, infinite or non-numeric values: QA19), or None."""
    other = _other_batch(t.schema.metadata, batch)
    if other:
        return other
    if "value" not in t.column_names or not pa.types.is_floating(t.schema.field("value").type):
        return "has no numeric value column"
    value = t.column("value")
    if value.null_count or not pc.all(pc.is_finite(value)).as_py():
        return "holds missing or infinite values"
    names = t.column("scenario").unique().to_pylist()
    if names != [scenario]:
        return f"holds rows of scenario(s) {names}"
    reps = set(t.column("replication").unique().to_pylist())
    if reps != set(range(a, b)):
        return f"holds replications {min(reps, default=None)}-{max(reps, default=None)}, not {a}-{b - 1}"
    return None


def read_chunks(out: Path, scenarios, reps: int, batch: str) -> pd.DataFrame:
    """Every chunk as one table, its text columns as categories: 1,000 replications of each
    action-plan scenario are 18 million rows repeating a few hundred labels, which as text
    took ~7 GB to aggregate (write_table turns them back into text)."""
    tables = []
    for s in scenarios:
        for a, b in chunk_spans(chunks_on_disk(out, s.name), reps):
            p = chunk_path(out, s.name, a, b)
            if not p.exists():
                raise ExperimentError(f"{out}: chunk {p.name} of scenario {s.name} is missing; rerun to finish")
            try:
                t = pq.read_table(p, read_dictionary=CHUNK_LABELS, page_checksum_verification=True)
                wrong = _chunk_mismatch(t, s.name, a, b, batch)
            except (OSError, pa.ArrowException, KeyError) as err:
                wrong = f"cannot be read ({' '.join(str(err).split())})"  # Arrow's messages run over lines
            if wrong:
                # removed, so that rerunning computes it again: its footer passed the resume's
                # check, and rerunning used to meet the same error for ever (QA14)
                p.unlink()
                raise ExperimentError(f"{p}: chunk of scenario {s.name} {wrong}; it was removed: rerun the "
                                      "same command to compute it again")
            tables.append(t)
    df = pa.concat_tables(tables, promote_options="permissive").to_pandas()
    for c in df.columns:  # in text order, as text sorts: tables sorted by label come out as before
        if isinstance(df[c].dtype, pd.CategoricalDtype):
            df[c] = df[c].cat.reorder_categories(sorted(df[c].cat.categories))
    return df


def aggregate(out: Path, exp: Experiment, reps: int, seed: int):
    """Summaries, paired savings, target probabilities and monitoring bands, written
    all-or-nothing next to the chunks."""
    df = read_chunks(out, exp.scenarios, reps, batch_key(exp, seed))
    keys = ["scenario", "table", "period", "measure", "breakdown", "category"]
    summary = _quantiles(df.groupby(keys, sort=False, observed=True)["value"]).reset_index()
    annual = df[df.table == "annual"].drop(columns="table")
    savings = paired_savings(annual)
    targets = target_probabilities(annual, savings, exp.spec.targets)
    monthly = df[(df.table == "monthly")]
    bands = _quantiles(monthly.groupby(["scenario", "period"], sort=False)["value"]).reset_index().drop(columns="mean")
    del df, monthly
    staging = out / STAGING
    with atomic_dir(staging) as tmp:
        write_table(annual, tmp, "annual", csv=False)
        write_table(summary, tmp, "summary")
        write_table(savings, tmp, "savings")
        write_table(targets, tmp, "targets")
        write_table(bands, tmp, "monthly_bands")
    for f in staging.iterdir():
        os.replace(f, out / f.name)
    staging.rmdir()


def _paired(df: pd.DataFrame, measure, breakdown, category) -> pd.DataFrame:
    sel = df[(df.measure == measure) & (df.breakdown == breakdown) & (df.category == category)]
    wide = sel.pivot_table(index=["replication", "period"], columns="scenario", values="value", aggfunc="first")
    return wide


def paired_savings(annual: pd.DataFrame) -> pd.DataFrame:
    """Baseline minus scenario, replication by replication (positive = a saving)."""
    rows = []
    for label, (measure, breakdown, category) in PAIRED.items():
        wide = _paired(annual, measure, breakdown, category)
        if BASELINE not in wide:
            continue
        diffs = {s: wide[BASELINE] - wide[s] for s in wide.columns if s != BASELINE}
        for s, d in diffs.items():
            d = d.dropna()
            per_period = d.groupby(level="period")
            q = _quantiles(per_period)
            q["p_positive"] = per_period.apply(lambda x: float((x > 0).mean()))
            q = q.reset_index().assign(scenario=s, measure=label)
            rows.append(q)
            if label.endswith("saving"):  # cumulative over the run, paired within replication
                tot = d.groupby(level="replication").sum()
                rows.append(pd.DataFrame([{"period": "total", "mean": tot.mean(),
                                           **{f"q{int(x * 100):02d}": tot.quantile(x) for x in QS},
                                           "p_positive": float((tot > 0).mean()), "scenario": s, "measure": label}]))
    # 52-week placements: total over types
    p52 = annual[annual.measure == "placements_52_week"].groupby(["scenario", "replication", "period"])["value"].sum()
    p52 = p52.unstack("scenario")
    if BASELINE in p52:
        for s in p52.columns:
            if s == BASELINE:
                continue
            d = (p52[BASELINE] - p52[s]).dropna()
            g = d.groupby(level="period")
            q = _quantiles(g)
            q["p_positive"] = g.apply(lambda x: float((x > 0).mean()))
            rows.append(q.reset_index().assign(scenario=s, measure="placements_52_week_reduction"))
    cols = ["scenario", "period", "measure", "mean", "q05", "q25", "q50", "q75", "q95", "p_positive"]
    return pd.concat(rows, ignore_index=True)[cols] if rows else pd.DataFrame(columns=cols)


def target_probabilities(annual: pd.DataFrame, savings: pd.DataFrame, targets) -> pd.DataFrame:
    """Share of replications in which each scenario meets each target."""
    rows = []
    for t in targets:
        if t.measure in PAIRED:  # paired measures need the per-replication differences again
            wide = _paired(annual, *PAIRED[t.measure])
            values = {s: (wide[BASELINE] - wide[s]).xs(t.period, level="period") for s in wide.columns if s != BASELINE} \
                if t.period != "total" else {s: (wide[BASELINE] - wide[s]).groupby(level="replication").sum()
                                             for s in wide.columns if s != BASELINE}
        else:
            sel = annual[(annual.measure == t.measure) & (annual.breakdown == t.breakdown) &
                         (annual.category == t.category) & (annual.period == t.period)]
            if sel.empty:
                raise ExperimentError(f"target {t.name!r}: no results for {t.measure}/{t.breakdown}/{t.category} in {t.period}")
            values = {s: g["value"] for s, g in sel.groupby("scenario", sort=False)}
        for s, v in values.items():
            met = (v <= t.at_most) if t.at_most is not None else (v >= t.at_least)
            rows.append({"scenario": s, "target": t.name, "period": t.period, "measure": t.measure,
                         "breakdown": t.breakdown, "category": t.category,
                         "threshold": t.at_most if t.at_most is not None else t.at_least,
                         "direction": "at_most" if t.at_most is not None else "at_least",
                         "probability": float(met.mean()), "median": float(v.median()), "source": t.source})
    cols = ["scenario", "target", "period", "measure", "breakdown", "category", "threshold", "direction", "probability",
            "median", "source"]
    return pd.DataFrame(rows, columns=cols)
