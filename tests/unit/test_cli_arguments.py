"""Command-line arguments out of range are refused by argparse (exit 2) before any work."""

from __future__ import annotations

from pathlib import Path

import pytest

import carejourney
from carejourney.cli import MAX_REPS, main

CONFIG = str(Path(__file__).resolve().parents[2] / "configs" / "cambridgeshire-2015.yaml")


@pytest.mark.parametrize("argv,message", [
    (["run", CONFIG, "--reps", "0"], "--reps must be at least 1"),
    (["run", CONFIG, "--reps", str(MAX_REPS + 1)], "--reps must be at most"),
    (["run", CONFIG, "--reps", "100000000000"], "--reps must be at most"),  # not a MemoryError
    (["run", CONFIG, "--workers", "0"], "--workers must be at least 1"),
    (["run", CONFIG, "--out", ""], "--out is empty"),  # not silently results/<name>
    (["compare", CONFIG, "--against", "figures.csv", "--reps", str(MAX_REPS + 1)], "--reps must be at most"),
])
def test_out_of_range_arguments_exit_2_before_any_work(tmp_path, monkeypatch, capsys, argv, message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as done:
        main(argv)
    assert done.value.code == 2
    assert message in capsys.readouterr().err
    assert not any(tmp_path.iterdir())  # nothing written, not even results/


@pytest.mark.parametrize("kwargs, message", [
    ({"reps": 0}, "reps must be a whole number of at least 1, not 0"),
    ({"reps": -5}, "reps must be a whole number of at least 1, not -5"),
    ({"workers": 0}, "workers must be a whole number of at least 1, not 0"),
    ({"seed": -1}, "seed must be a whole number of at least 0, not -1"),
    ({"reps": 2.5}, "reps must be a whole number of at least 1, not 2.5"),
])
def test_the_api_refuses_impossible_arguments_before_running(kwargs, message):
    with pytest.raises(ValueError, match=message):
        carejourney.simulate(CONFIG, **kwargs)


def test_load_config_of_a_dict_says_what_to_use_instead():
    with pytest.raises(TypeError, match=r"load_config takes the path of a YAML file, not a dict.*parse_config"):
        carejourney.load_config({"meta": {}})
