"""Output paths: nothing the user did not ask for is replaced or left behind, bad paths are
refused (exit 2, one line naming the path) before any simulating."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml

from carejourney.cli import main
from carejourney.results import PathError, atomic_dir, default_out_dir
from tests.conftest import ROOT, small_dict, with_changes

FIGURES = "quantity,geography,period,value,unit,source_title,source_address,note\n" \
          "CLA at 31 March,Cambridgeshire,2016,600,children,Test,,\n"
PARAMS = ROOT / "experiments" / "fit-params-cambridgeshire.yaml"


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(small_dict(1)))
    return path


@pytest.fixture
def figures(tmp_path):
    path = tmp_path / "figures.csv"
    path.write_text(FIGURES)
    return path


@pytest.fixture
def no_simulation(monkeypatch):
    """Fail the test if a command gets as far as simulating."""
    def refuse(*args, **kwargs):
        raise AssertionError("simulated before checking the output path")

    import carejourney.runner
    monkeypatch.setattr(carejourney.runner, "run_replications", refuse)
    monkeypatch.setattr(carejourney.runner, "run_replication", refuse)


def _error(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err.strip()


def _listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


# --------------------------------------------------------------------------- F1: an unrelated folder is not replaced
@pytest.mark.parametrize("command, kind", [("run", "run"), ("export-903", "export")])
def test_an_unrelated_folder_is_refused_and_kept(tmp_path, config, capsys, no_simulation, command, kind):
    out = tmp_path / "out"
    (out / "sub").mkdir(parents=True)
    (out / "notes.txt").write_text("notes")
    argv = [command, str(config), "--out", str(out)] + (["--reps", "1"] if command == "run" else [])
    assert main(argv) == 2
    assert _error(capsys) == (f"error: {out} exists and is not a carejourney {kind} output folder: "
                              "choose another --out or remove it")
    assert _listing(out) == ["notes.txt", "sub"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "small.yaml"]


def test_a_previous_output_of_the_same_command_or_an_empty_folder_is_replaced(tmp_path, config, capsys):
    run, export = tmp_path / "run", tmp_path / "export"
    run.mkdir()  # empty: may be used
    for _ in range(2):
        assert main(["run", str(config), "--reps", "1", "--out", str(run)]) == 0
        assert main(["export-903", str(config), "--out", str(export)]) == 0
    assert (run / "manifest.json").exists() and (export / "manifest.json").exists()
    assert (export / "2016" / "episodes.csv").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export", "run", "small.yaml"]  # no .old or .tmp left
    capsys.readouterr()
    # but not one of the other command's
    assert main(["export-903", str(config), "--out", str(run)]) == 2
    assert "is not a carejourney export output folder" in _error(capsys)
    assert main(["run", str(config), "--reps", "1", "--out", str(export)]) == 2
    assert "is not a carejourney run output folder" in _error(capsys)


# --------------------------------------------------------------------------- F2: the default folder is inside results/
@pytest.mark.parametrize("name", ["", ".", "..", "/tmp/victim", "../elsewhere", "a/..", "a/../.."])
def test_default_out_dir_is_never_results_itself_or_outside_it(name):
    with pytest.raises(PathError, match=r"cfg.yaml: meta.name .* cannot be a folder name inside results/"):
        default_out_dir(name, "cfg.yaml")


def test_default_out_dir_is_results_slash_name():
    assert default_out_dir("cambridgeshire-2015", "cfg.yaml") == Path("results") / "cambridgeshire-2015"


# --------------------------------------------------------------------------- F3: --out is an existing file / folder
@pytest.mark.parametrize("command", ["run", "export-903"])
def test_out_folder_that_is_a_file_is_refused(tmp_path, config, capsys, no_simulation, command):
    out = tmp_path / "out.txt"
    out.write_text("keep me")
    argv = [command, str(config), "--out", str(out)] + (["--reps", "1"] if command == "run" else [])
    assert main(argv) == 2
    assert _error(capsys) == f"error: {out} exists and is not a folder"
    assert out.read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt", "small.yaml"]


def test_an_experiment_out_that_is_a_file_or_cannot_be_made_says_so(tmp_path, capsys):
    """QA14: `--out afile` said 'afile: not a directory', and an --out under a path that cannot
    exist did not say it was the results folder."""
    from tests.functional.experiment_helpers import write_experiment
    path = write_experiment(tmp_path / "spec")
    out = tmp_path / "out.txt"
    out.write_text("keep me")
    assert main(["experiment", str(path), "--reps", "1", "--out", str(out)]) == 2
    assert _error(capsys) == f"error: {out}: exists and is not a folder; choose another --out"
    assert out.read_text() == "keep me"
    under_a_file = out / "results"
    assert main(["experiment", str(path), "--reps", "1", "--out", str(under_a_file)]) == 2
    assert _error(capsys).startswith(f"error: {under_a_file}: the results folder (--out) cannot be made: ")


def test_atomic_dir_never_replaces_a_file(tmp_path):
    target = tmp_path / "f"
    target.write_text("keep me")
    with pytest.raises(PathError, match="exists and is not a folder"), atomic_dir(target):
        pass
    assert target.read_text() == "keep me" and os.listdir(tmp_path) == ["f"]


def test_fit_out_that_is_a_folder_is_refused_before_fitting(tmp_path, config, figures, capsys):
    out = tmp_path / "f.yaml"
    out.mkdir()
    assert main(["fit", str(config), "--against", str(figures), "--params", str(PARAMS), "--out", str(out)]) == 2
    assert _error(capsys) == f"error: {out} exists and is a folder"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.yaml", "figures.csv", "small.yaml"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
@pytest.mark.parametrize("command", ["calibrate", "compare", "fit"])
def test_out_file_that_is_a_pipe_or_device_is_refused_and_kept(tmp_path, config, figures, capsys, no_simulation,
                                                             command):
    """The atomic replace would swap a device or a named pipe for a regular file (found: --out
    /dev/null as root replaced the device node)."""
    out = tmp_path / "pipe.out"
    os.mkfifo(out)
    argv = {
        "calibrate": ["calibrate", str(tmp_path / "returns"), "--start", "2016-04-01", "--out", str(out)],
        "compare": ["compare", str(config), "--against", str(figures), "--reps", "1", "--out", str(out)],
        "fit": ["fit", str(config), "--against", str(figures), "--params", str(PARAMS), "--out", str(out)],
    }[command]
    assert main(argv) == 2
    assert _error(capsys) == f"error: {out} exists and is not a regular file"
    assert not out.is_file() and out.exists()


@pytest.mark.parametrize("command", ["calibrate", "compare", "compare --report", "fit"])
def test_out_file_under_a_file_is_refused(tmp_path, config, figures, capsys, no_simulation, command):
    name, *flag = command.split()
    out = f"{config}/c.out"  # the config is a file, not a folder
    argv = {
        "calibrate": ["calibrate", str(tmp_path / "returns"), "--start", "2016-04-01", "--out", out],
        "compare": ["compare", str(config), "--against", str(figures), "--reps", "1", "--out", out],
        "fit": ["fit", str(config), "--against", str(figures), "--params", str(PARAMS), "--out", out],
    }[name]
    if flag:
        argv[-2:] = ["--backtest-until", "2015", "--params", str(PARAMS), "--report", out]
    assert main(argv) == 2
    assert _error(capsys) == f"error: {out}: {config} exists and is not a folder"


# --------------------------------------------------------------------------- F6: unusable paths, before simulating
@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs /proc")
def test_unwritable_out_is_refused_before_simulating(config, capsys, no_simulation):
    assert main(["run", str(config), "--reps", "1", "--out", "/proc/carejourney-x"]) == 2
    assert _error(capsys).startswith("error: /proc/carejourney-x: cannot write in /proc")


def test_out_dot_is_refused_before_simulating(tmp_path, config, capsys, monkeypatch, no_simulation):
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    assert main(["run", str(config), "--reps", "1", "--out", "."]) == 2
    assert _error(capsys) == "error: . is the current folder or holds it: choose another --out"
    assert main(["export-903", str(config), "--out", ".."]) == 2
    assert _error(capsys) == "error: .. is the current folder or holds it: choose another --out"


@pytest.mark.parametrize("command", ["compare", "fit"])
@pytest.mark.parametrize("flag", ["--against", "--params"])
def test_a_folder_given_for_an_input_file_is_refused(tmp_path, config, figures, capsys, no_simulation, command, flag):
    argv = [command, str(config), "--against", str(figures), "--params", str(PARAMS), "--out", str(tmp_path / "o")]
    if command == "compare":
        argv += ["--backtest-until", "2015"]
    argv[argv.index(flag) + 1] = str(tmp_path)
    assert main(argv) == 2
    assert _error(capsys) == f"error: {tmp_path}: {flag} is a folder, not a file"


# --------------------------------------------------------------------------- F6b: nothing left when the swap fails
def test_failed_swap_leaves_no_staging_folder_and_keeps_the_previous_output(tmp_path, config, capsys, monkeypatch):
    out = tmp_path / "903"
    assert main(["export-903", str(config), "--out", str(out)]) == 0
    before = _listing(out)
    real_replace = os.replace

    def failing_replace(src, dst):
        if ".tmp-" in Path(src).name:  # the staging folder moving into place
            raise PermissionError(13, "Permission denied", str(dst))
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", failing_replace)
    assert main(["export-903", str(config), "--out", str(out), "--seed", "2"]) == 2
    assert _error(capsys) == f"error: {out}: permission denied"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["903", "small.yaml"]
    assert _listing(out) == before


def test_fit_leaves_no_tmp_file_when_writing_fails(tmp_path, config, figures, capsys, monkeypatch):
    from carejourney.calibrate import aggregate, aggregate_write

    def write_then_fail(fit, out, **kwargs):
        out.parent.mkdir(parents=True, exist_ok=True)
        Path(str(out) + ".tmp").write_text("half")
        raise OSError(28, "No space left on device", str(out))

    monkeypatch.setattr(aggregate, "fit_aggregate", lambda *a, **k: object())  # no minutes of fitting
    monkeypatch.setattr(aggregate_write, "write_fitted_config", write_then_fail)
    out = tmp_path / "fit" / "f.yaml"
    assert main(["fit", str(config), "--against", str(figures), "--params", str(PARAMS), "--out", str(out)]) == 2
    assert _error(capsys) == f"error: {out}: no space left on device"
    assert not out.with_name("f.yaml.tmp").exists()


# --------------------------------------------------------------------------- F9: messages and flags
def test_calibrate_names_the_bad_template(tmp_path, capsys):
    template = tmp_path / "template.yaml"
    template.write_text(yaml.safe_dump(with_changes(small_dict(1), {"horizon.end_date": "2010-03-31"})))
    assert main(["calibrate", str(tmp_path / "returns"), "--start", "2016-04-01", "--template", str(template),
                 "--out", str(tmp_path / "c" / "c.yaml")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {template}: ") and "Traceback" not in err
    assert not (tmp_path / "c").exists()


def test_compare_report_without_backtest_is_refused(tmp_path, config, figures, capsys, no_simulation):
    assert main(["compare", str(config), "--against", str(figures), "--reps", "1", "--report", "r.md"]) == 2
    assert _error(capsys) == "error: --report is for the back-test: give it with --backtest-until and --params"


def test_compare_backtest_with_nothing_to_forecast_fails_before_fitting(tmp_path, config, figures, capsys,
                                                                       monkeypatch):
    from carejourney.calibrate import aggregate_backtest

    def refuse(*args, **kwargs):
        raise AssertionError("fitted before checking there is anything to forecast")

    monkeypatch.setattr(aggregate_backtest, "fit_aggregate", refuse)  # the back-test checks before it fits
    assert main(["compare", str(config), "--against", str(figures), "--backtest-until", "2030",
                 "--params", str(PARAMS)]) == 2
    assert _error(capsys) == f"error: {figures}: no published figure of Cambridgeshire after 2030 to forecast"


def test_a_folder_filled_while_the_run_worked_is_kept(tmp_path):
    """Empty when checked, written to by something else before the swap: the swap is
    refused and the other files stay (another run pointed at the same --out, say)."""
    from carejourney.results import check_out_dir, may_replace

    out = tmp_path / "shared"
    out.mkdir()
    target = check_out_dir(out, "run", "run")
    with pytest.raises(PathError, match="not a carejourney run output folder"):
        with atomic_dir(target, may_replace("run", "run", out)) as tmp:
            (tmp / "annual.csv").write_text("x")
            (out / "someone-elses.csv").write_text("keep me")
    assert (out / "someone-elses.csv").read_text() == "keep me"
    assert [p.name for p in tmp_path.iterdir()] == ["shared"]  # no staging folder left


# --------------------------------------------------------------------------- third QA pass
def test_a_run_folder_with_files_added_to_it_is_not_replaced(tmp_path, config, capsys):
    out = tmp_path / "r"
    assert main(["run", str(config), "--reps", "1", "--out", str(out)]) == 0
    assert main(["run", str(config), "--reps", "1", "--out", str(out)]) == 0  # its own, as written: replaced
    (out / "sub").mkdir()
    (out / "sub" / "NOTES.txt").write_text("mine")  # or another run written inside it
    before = _listing(out)
    capsys.readouterr()
    assert main(["run", str(config), "--reps", "1", "--out", str(out)]) == 2
    assert _error(capsys) == (f"error: {out} is a carejourney run output folder, but holds what run did not write "
                              "(sub, sub/NOTES.txt): choose another --out or move them out")
    assert _listing(out) == before


def test_csv_tables_carry_no_float_noise_and_the_same_numbers(tmp_path):
    """QA15: summary.csv held '684.6999999999999'; 15 significant digits drop the noise of the
    last bit and nothing else."""
    import numpy as np
    import pandas as pd

    from carejourney.results import write_table

    values = np.array([0.1 + 0.2, 684.7 - 1e-13, 51_420_000.123456789, 1 / 3, 2.5e-9, 0.0, -7.0])
    write_table(pd.DataFrame({"measure": ["m"] * len(values), "value": values}), tmp_path, "t")
    text = (tmp_path / "t.csv").read_text()
    assert "m,0.3\n" in text and "684.6999999999" not in text and "m,684.7\n" in text
    back = pd.read_csv(tmp_path / "t.csv")["value"].to_numpy()
    assert np.allclose(back, values, rtol=1e-14, atol=0)
    assert (pd.read_parquet(tmp_path / "t.parquet")["value"].to_numpy() == values).all()  # Parquet: every bit


def test_an_unforeseen_os_error_says_what_was_being_done(monkeypatch, capsys, config):
    """QA15: an immutable --out gave only "PATH: operation not permitted"."""
    import carejourney.cli as cli

    def refuse(args):
        raise PermissionError(1, "Operation not permitted", "/srv/results/imm")

    monkeypatch.setattr(cli, "cmd_check", refuse)
    assert cli.main(["check", str(config)]) == 2
    err = capsys.readouterr().err
    assert "error: /srv/results/imm: operation not permitted (carejourney check may not change it" in err


@pytest.mark.parametrize("target", ["config", "figures", "notes"])
def test_compare_never_writes_over_its_inputs_or_a_file_it_did_not_write(tmp_path, config, figures, capsys,
                                                                        no_simulation, target):
    """QA18: compare --out replaced the config, the figures file or anyone's file, with exit 0."""
    notes = tmp_path / "notes.docx"
    notes.write_text("my notes")
    out = {"config": config, "figures": figures, "notes": notes}[target]
    before = out.read_bytes()
    assert main(["compare", str(config), "--against", str(figures), "--reps", "1", "--out", str(out)]) == 2
    err = _error(capsys)
    assert err.startswith(f"error: {out} ") and "choose another --out" in err
    assert out.read_bytes() == before


def test_compare_replaces_its_own_comparison_table(tmp_path, config, figures, capsys):
    out = tmp_path / "comparison.csv"
    for _ in range(2):  # the second run replaces what the first wrote
        assert main(["compare", str(config), "--against", str(figures), "--reps", "1", "--out", str(out)]) == 0
        assert out.read_text().startswith("quantity,period,observed,")
    assert "Traceback" not in capsys.readouterr().err


def test_compare_names_report_when_its_report_file_is_someone_elses(tmp_path, config, figures, capsys, no_simulation):
    notes = tmp_path / "notes.md"
    notes.write_text("# my notes\n")
    assert main(["compare", str(config), "--against", str(figures), "--backtest-until", "2015",
                 "--params", str(PARAMS), "--report", str(notes)]) == 2
    err = _error(capsys)
    assert err == (f"error: {notes} exists and was not written by carejourney compare: choose another --report "
                   "or remove it")
    assert notes.read_text() == "# my notes\n"


def test_a_full_disk_while_run_writes_names_the_output_and_writes_nothing(tmp_path, config, capsys, monkeypatch):
    """QA19: pandas and pyarrow raise a full disk as an OSError naming no file ("Error writing
    bytes"): the message said nothing of where."""
    import pandas as pd

    def full(self, path, *args, **kwargs):
        Path(path).write_text("part")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", full)
    out = tmp_path / "run"
    assert main(["run", str(config), "--reps", "1", "--out", str(out)]) == 2
    assert _error(capsys) == f"error: {out}: no space left on device"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["small.yaml"]


def test_a_full_disk_while_a_chunk_is_written_names_the_chunk_and_leaves_no_part(tmp_path, capsys, monkeypatch):
    import carejourney.experiment as experiment
    from tests.functional.experiment_helpers import write_experiment

    def full(table, where, **kwargs):
        Path(where).write_bytes(b"PAR1 part")
        raise OSError("Error writing bytes to file. Detail: [errno 28] No space left on device")

    monkeypatch.setattr(experiment.pq, "write_table", full)
    out = tmp_path / "exp" / "out"
    assert main(["experiment", str(write_experiment(tmp_path / "exp")), "--reps", "1", "--workers", "1",
                 "--out", str(out)]) == 2
    err = _error(capsys)
    assert err.startswith(f"error: {out / 'chunks' / 'baseline'}/reps_") and err.endswith(
        ".parquet: error writing bytes to file. detail: [errno 28] no space left on device")
    assert not [p for p in out.rglob("*") if p.is_file() and p.name not in ("manifest.json", ".lock")]


def test_a_run_too_big_for_this_machines_memory_is_refused_before_simulating(tmp_path, config, capsys, no_simulation):
    """QA19: --reps 1000000 would have simulated for a day before running out of memory."""
    out = tmp_path / "run"
    assert main(["run", str(config), "--reps", "1000000", "--out", str(out)]) == 2
    err = _error(capsys)
    assert err.startswith("error: 1,000,000 replications: stacking and summarising them holds them in memory at once")
    assert "use at most about" in err and not out.exists()


def test_a_file_where_a_scenarios_chunks_go_is_refused_before_simulating(tmp_path, capsys, monkeypatch):
    """A file at chunks/<scenario> was found when the first chunk was written, after computing it."""
    import carejourney.experiment as experiment
    from tests.functional.experiment_helpers import write_experiment

    def refuse(*args, **kwargs):
        raise AssertionError("simulated before checking the chunk folders")

    out = tmp_path / "out"
    command = ["experiment", str(write_experiment(tmp_path / "exp")), "--reps", "1", "--workers", "1", "--out", str(out)]
    assert main(command) == 0
    capsys.readouterr()
    shutil.rmtree(out / "chunks" / "baseline")
    (out / "chunks" / "baseline").write_text("keep me")
    monkeypatch.setattr(experiment, "run_repriced", refuse)
    assert main(command) == 2
    err = _error(capsys)
    assert err.startswith(f"error: {out / 'chunks' / 'baseline'}: scenario baseline's chunks cannot be written there: "), err
    assert (out / "chunks" / "baseline").read_text() == "keep me"
    assert not list(out.rglob("*.tmp"))
