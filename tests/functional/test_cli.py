"""The command line as a user runs it."""

import json

import pandas as pd

from carejourney.cli import main
from tests.conftest import DEFAULT_CONFIG


def test_check_accepts_the_default_config(capsys):
    assert main(["check", str(DEFAULT_CONFIG)]) == 0
    assert "OK" in capsys.readouterr().out


def test_run_writes_tables_and_prints_a_summary(tmp_path, capsys):
    out = tmp_path / "res"
    assert main(["run", str(DEFAULT_CONFIG), "--reps", "2", "--seed", "3", "--out", str(out), "--events"]) == 0
    text = capsys.readouterr().out
    assert "Looked after at 31 March" in text and "31 March 2021" in text
    for name in ("annual", "monthly", "annual_summary", "monthly_summary"):
        assert (out / f"{name}.parquet").exists() and (out / f"{name}.csv").exists()
    annual = pd.read_parquet(out / "annual.parquet")
    assert sorted(annual.replication.unique()) == [0, 1]
    assert set(annual.columns) == {"replication", "period", "measure", "breakdown", "category", "value"}
    assert (out / "events" / "care_periods.parquet").exists()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["replications"] == 2 and manifest["seed"] == 3
