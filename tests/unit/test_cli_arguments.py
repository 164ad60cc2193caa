"""Command-line arguments out of range are refused by argparse (exit 2) before any work."""

from __future__ import annotations

from pathlib import Path

import pytest

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
