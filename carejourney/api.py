"""The small Python API: load a config, simulate it, get tidy tables back."""

from __future__ import annotations

from pathlib import Path

from .config import Config, load_config as _load
from .runner import RunResult, run_replications


def load_config(path: str | Path) -> Config:
    """Read and validate a YAML config. Raises ConfigError naming the file and field."""
    return _load(path)


def simulate(config: Config | str | Path, reps: int = 1, seed: int = 1, workers: int = 1,
             keep_events: bool = False) -> RunResult:
    """Run `reps` replications of a config's baseline.

    Returns a RunResult with tidy `annual` and `monthly` tables (one row per replication x
    period x measure x breakdown x category) and, with keep_events, replication 0's event
    log as DataFrames (children, care_periods, placements, legal_statuses, ...).
    """
    cfg = config if isinstance(config, Config) else load_config(config)
    return run_replications(cfg, reps, seed, workers=workers, keep_events=keep_events)
