"""Command-line arguments out of range are refused by argparse (exit 2) before any work."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
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
    err = capsys.readouterr().err
    assert message in err
    assert f"usage: carejourney {argv[0]} " in err  # the command's own usage, as argparse's errors give
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


def test_the_api_validates_a_config_changed_after_loading():
    """QA: a probability set to 7 on a loaded config ran and returned NaN spend."""
    from carejourney.config import ConfigError

    cfg = carejourney.load_config(CONFIG)
    cfg.edge_of_care.entry_probability_without_service = 7.0
    with pytest.raises(ConfigError, match="entry_probability_without_service"):
        carejourney.simulate(cfg)


def test_the_api_runs_a_loaded_config_whose_priors_are_unbounded(tmp_path):
    """QA20: a prior's unbounded end (inf, its default) came back from the re-validation as a
    number the config refuses, so simulate(load_config(p)) failed on every calibrated config."""
    path = tmp_path / "uncertain.yaml"
    path.write_text(f"extends: {CONFIG}\n"
                    "uncertainty:\n"
                    "  - path: exits.returned_home.days.mean_days\n"
                    "    prior: {dist: lognormal, median: 1100, sigma: 0.2}\n"
                    "  - path: edge_of_care.entry_probability_without_service\n"
                    "    prior: {dist: normal, mean: 0.5, sd: 0.05}\n"
                    "  - path: exits.lives_with_relatives_no_pr_share\n"  # 0.0: its default, written
                    "    prior: {dist: beta, alpha: 1, beta: 200}\n")
    loaded = carejourney.simulate(carejourney.load_config(path), reps=2, seed=3)
    pd.testing.assert_frame_equal(loaded.annual, carejourney.simulate(path, reps=2, seed=3).annual)


def test_fit_names_the_option_that_set_a_bad_setting(tmp_path, capsys):
    params = Path(CONFIG).parents[1] / "experiments" / "fit-params-cambridgeshire.yaml"
    figures = Path(CONFIG).parents[2] / "shared" / "data" / "published_figures.csv"
    if not figures.exists():
        pytest.skip("needs ../shared")
    assert main(["fit", CONFIG, "--against", str(figures), "--params", str(params), "--out",
                 str(tmp_path / "f.yaml"), "--bootstrap", "2"]) == 2
    assert "error: --bootstrap must be at least" in capsys.readouterr().err


def test_python_dash_m_runs_the_same_command_line(tmp_path):
    """`python -m carejourney` for an environment whose scripts folder is not on PATH:
    the same program name, output and exit codes as `carejourney`."""
    import subprocess
    import sys
    ok = subprocess.run([sys.executable, "-m", "carejourney", "--version"], capture_output=True, text=True)
    assert ok.returncode == 0 and ok.stdout.strip() == f"carejourney {carejourney.__version__}"
    bad = subprocess.run([sys.executable, "-m", "carejourney", "run", CONFIG, "--reps", "0"], capture_output=True,
                         text=True, cwd=tmp_path)
    assert bad.returncode == 2 and "usage: carejourney run " in bad.stderr and not any(tmp_path.iterdir())


def test_a_ctrl_c_while_the_command_line_is_imported_is_an_interrupt_not_a_traceback(monkeypatch, capsys):
    """QA19: the heavy imports ran before main()'s handling of Ctrl-C (about a second)."""
    import types

    from carejourney import launch

    class Interrupted(types.ModuleType):
        def __getattr__(self, name):
            raise KeyboardInterrupt

    monkeypatch.setitem(sys.modules, "carejourney.cli", Interrupted("carejourney.cli"))
    assert launch.main(["--version"]) == 130
    assert "interrupted: nothing was written" in capsys.readouterr().err


def test_the_entry_point_imports_nothing_heavy_before_it_can_catch_an_interrupt():
    code = "import sys, carejourney.launch; print(sorted({'numpy', 'pandas', 'simpy'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
