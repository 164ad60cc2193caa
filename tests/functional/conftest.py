"""Fixtures shared by the functional tests."""

from __future__ import annotations

import pytest

from carejourney.experiment import run_experiment
from tests.functional.experiment_helpers import write_experiment


@pytest.fixture(scope="session")
def finished(tmp_path_factory):
    """A small experiment (experiment_helpers.LEVERS, two years, 4 replications), run once
    serially: (experiment file, results folder). Tests that change it work on a copy."""
    root = tmp_path_factory.mktemp("exp")
    path = write_experiment(root / "spec")
    out = run_experiment(path, reps=4, workers=1, out=root / "serial", progress=False)
    return path, out
