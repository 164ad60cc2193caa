"""Shared fixtures: the bundled config as a dict, and small variants of it for fast runs."""

from __future__ import annotations

import copy
import os
from pathlib import Path

import pytest
import yaml
from hypothesis import settings

# No per-example deadline: the tests check properties, not speed (benchmarks/ measures
# that), and a deadline fails them at random on a loaded machine. CI replays the same
# generated examples every run (a failure there is reproducible); local runs explore new
# ones each time.
settings.register_profile("local", deadline=None)
settings.register_profile("ci", deadline=None, derandomize=True, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "local")

from carejourney.config import parse_config

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG = ROOT / "configs" / "cambridgeshire-2015.yaml"


def load_default_dict() -> dict:
    with open(DEFAULT_CONFIG, encoding="utf-8") as f:
        return yaml.safe_load(f)


def small_dict(years: int = 2) -> dict:
    """The default config over a shorter horizon: same system, quicker runs."""
    d = load_default_dict()
    d["horizon"]["end_date"] = f"{2015 + years}-03-31"
    return d


@pytest.fixture
def default_dict():
    return load_default_dict()


@pytest.fixture(scope="session")
def small_config():
    return parse_config(small_dict(), "small")


def with_changes(d: dict, changes: dict) -> dict:
    """Copy of a config dict with dotted-path changes applied ('a.b.c': value)."""
    d = copy.deepcopy(d)
    for path, value in changes.items():
        node = d
        keys = path.split(".")
        for k in keys[:-1]:
            node = node[int(k)] if isinstance(node, list) else node[k]
        last = keys[-1]
        if value is DELETE:
            del node[last]
        else:
            node[int(last) if isinstance(node, list) else last] = value
    return d


DELETE = object()
