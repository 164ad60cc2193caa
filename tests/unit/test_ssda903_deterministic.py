"""Reading, cleaning and calibrating the same SSDA903 returns gives byte-identical results,
in the same process and in separate processes with different PYTHONHASHSEED values."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from carejourney.config import parse_config
from carejourney.runner import run_replication
from carejourney.ssda903 import clean, export_903, read_ssda903
from tests.conftest import ROOT, small_dict

TABLES = ("episodes", "periods", "placements", "legal_statuses", "children", "report")

# Run in a fresh interpreter: read + clean -> one CSV per table, then `carejourney calibrate`.
CHILD_SCRIPT = f"""
import sys
from pathlib import Path
from carejourney.cli import main
from carejourney.ssda903 import clean, read_ssda903

src, out = Path(sys.argv[1]), Path(sys.argv[2])
cleaned = clean(read_ssda903(src))
for name in {TABLES!r}:
    getattr(cleaned, name).to_csv(out / (name + ".csv"), index=False)
(out / "summary.txt").write_text(cleaned.summary(), encoding="utf-8")
sys.exit(main(["calibrate", str(src), "--start", "2015-04-01", "--out", str(out / "cal" / "council.yaml")]))
"""


@pytest.fixture(scope="module")
def returns(tmp_path_factory) -> Path:
    """Two collection years simulated with the bundled config, written as SSDA903 files."""
    folder = tmp_path_factory.mktemp("903")
    res = run_replication(parse_config(small_dict(2)), 1, 0, keep_events=True)
    export_903(res.events, folder)
    return folder


def files_under(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_reading_twice_gives_identical_cleaned_tables(returns):
    a, b = clean(read_ssda903(returns)), clean(read_ssda903(returns))
    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True, obj=name)


def test_default_salt_comes_from_the_files_and_changes_with_them(returns, tmp_path):
    from carejourney.ssda903.privacy import salt_from_files

    csvs = sorted(returns.rglob("*.csv"))
    default = read_ssda903(returns).header["child_id"]
    explicit = read_ssda903(returns, salt=salt_from_files(reversed(csvs))).header["child_id"]
    assert default.tolist() == explicit.tolist()  # the files' order plays no part
    # one byte more in one file: a different salt, so different pseudonyms for every child
    for p in csvs:
        target = tmp_path / p.relative_to(returns)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(p.read_bytes() + (b"\n" if p == csvs[0] else b""))
    changed = read_ssda903(tmp_path).header["child_id"]
    assert len(changed) == len(default) and not set(changed) & set(default)


def test_clean_and_calibrate_are_byte_identical_across_processes(returns, tmp_path):
    runs = []
    for seed in ("1", "2"):
        out = tmp_path / f"run{seed}"
        out.mkdir()
        env = {**os.environ, "PYTHONHASHSEED": seed}
        proc = subprocess.Popen(
            [sys.executable, "-c", CHILD_SCRIPT, str(returns), str(out)],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        runs.append((out, proc))
    outputs = []
    for out, proc in runs:  # both run at once: the test's time is one run's
        stdout, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 0, stdout + stderr
        outputs.append(files_under(out))
    first, second = outputs
    assert "cal/council.yaml" in first and "cal/council.estimation.md" in first
    assert sorted(first) == sorted(second)
    differing = [name for name in first if first[name] != second[name]]
    assert not differing, f"differ between processes: {differing}"
