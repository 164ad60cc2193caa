"""The small Python API: load a config, simulate it, get tidy tables back."""

from __future__ import annotations

from pathlib import Path

from .config import Config, parse_config
from .config import load_config as _load
from .runner import RunResult, run_replications


def load_config(path: str | Path) -> Config:
    """Read and validate a YAML config. Raises ConfigError naming the file and field.
    (A config already in a dict: `carejourney.config.parse_config(d, "<name>")`.)"""
    if not isinstance(path, (str, Path)):
        raise TypeError(f"load_config takes the path of a YAML file, not a {type(path).__name__}; "
                        "for a dict use carejourney.config.parse_config(d, name)")
    return _load(path)


def simulate(config: Config | str | Path, reps: int = 1, seed: int = 1, workers: int = 1,
             keep_events: bool = False) -> RunResult:
    """Run `reps` replications of a config's baseline.

    Returns a RunResult with tidy `annual` and `monthly` tables (one row per replication x
    period x measure x breakdown x category) and, with keep_events, replication 0's event
    log as DataFrames (children, care_periods, placements, legal_statuses, ...).
    """
    for name, value in (("reps", reps), ("workers", workers)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"simulate: {name} must be a whole number of at least 1, not {value!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"simulate: seed must be a whole number of at least 0, not {seed!r}")
    # a Config object may have been changed since it was loaded: validate it again (~1 ms)
    cfg = parse_config(config.model_dump(mode="python"), "simulate(config)") if isinstance(config, Config) \
        else load_config(config)
    return run_replications(cfg, reps, seed, workers=workers, keep_events=keep_events)
