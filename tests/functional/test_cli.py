"""The command line as a user runs it."""

import json
import os
import stat

import pandas as pd
import pytest

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
    assert "Spend covers all spend on looked-after children, social work included, at 2015-16 prices (real)." in text  # not 'all lac'
    for name in ("annual", "monthly", "annual_summary", "monthly_summary"):
        assert (out / f"{name}.parquet").exists() and (out / f"{name}.csv").exists()
    annual = pd.read_parquet(out / "annual.parquet")
    assert sorted(annual.replication.unique()) == [0, 1]
    assert set(annual.columns) == {"replication", "period", "measure", "breakdown", "category", "value"}
    assert (out / "events" / "care_periods.parquet").exists()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["replications"] == 2 and manifest["seed"] == 3


@pytest.mark.parametrize("command", ["export-903", "compare", "experiment", "fit", "backtest"])
def test_every_command_prints_config_warnings_as_warning_lines(tmp_path, capsys, command):
    """QA: export-903, compare and experiment printed a config's warnings as Python warnings
    (file path, line number and a source line); run and check print `warning: ...`. fit and
    the back-test printed none (here they then stop at a params file naming no parameter)."""
    import yaml

    from tests.conftest import load_default_dict

    d = load_default_dict()
    d["horizon"]["start_date"] = "2016-04-01"  # the first UASC periods end before the run: warned
    cfg = tmp_path / "late.yaml"
    cfg.write_text(yaml.safe_dump(d))
    figures = tmp_path / "f.csv"
    figures.write_text("quantity,geography,period,value,unit,source_title,source_address,note\n"
                       "CLA at 31 March,Cambridgeshire,2017,600,children,Test,,\n")
    no_params = tmp_path / "params.yaml"
    no_params.write_text("parameters: {}\n")
    experiment = tmp_path / "e.yaml"
    experiment.write_text(yaml.safe_dump({"experiment": {"name": "e", "config": str(cfg)}, "levers": {},
                                          "scenarios": [{"name": "baseline"}]}))
    argv = {"export-903": ["export-903", str(cfg), "--out", str(tmp_path / "x")],
            "compare": ["compare", str(cfg), "--against", str(figures), "--reps", "1"],
            "experiment": ["experiment", str(experiment), "--reps", "1", "--out", str(tmp_path / "e")],
            "fit": ["fit", str(cfg), "--against", str(figures), "--params", str(no_params),
                    "--out", str(tmp_path / "fitted.yaml")],
            "backtest": ["compare", str(cfg), "--against", str(figures), "--backtest-until", "2017",
                         "--params", str(no_params)]}[command]
    main(argv)
    err = capsys.readouterr().err
    assert f"warning: {cfg}: demand.uasc.periods[0]" in err
    assert "ConfigWarning" not in err and ".py:" not in err


def test_export_903_refuses_a_run_before_the_code_lists_and_warns_of_lost_years(tmp_path, capsys):
    """QA: a run ending before 2014-15 'succeeded' with an empty export; one starting before it
    lost its first years without a word."""
    import yaml

    from tests.conftest import load_default_dict

    d = load_default_dict()
    d["horizon"].update(start_date="2010-04-01", end_date="2013-03-31")
    early = tmp_path / "early.yaml"
    early.write_text(yaml.safe_dump(d))
    assert main(["export-903", str(early), "--out", str(tmp_path / "x")]) == 2
    assert "nothing to export" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
    d["horizon"].update(start_date="2013-04-01", end_date="2015-03-31")
    early.write_text(yaml.safe_dump(d))
    assert main(["export-903", str(early), "--out", str(tmp_path / "y")]) == 0
    captured = capsys.readouterr()
    assert "collection years before 2014-15 are not written" in captured.err
    assert sorted(p.name for p in (tmp_path / "y").iterdir()) == ["2015", "manifest.json"]


# --------------------------------------------------------------------------- bad input: exit 2, nothing written
def _small_config(tmp_path, years: int = 1):
    import yaml

    from tests.conftest import small_dict

    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(small_dict(years)))
    return path


@pytest.mark.parametrize("command", ["run", "experiment", "export-903", "fit", "compare", "export-903 --replication"])
def test_negative_seed_is_refused_with_exit_2_and_nothing_written(tmp_path, capsys, command):
    from tests.conftest import ROOT

    out = tmp_path / "out"
    name, *option = command.split()
    option = option or ["--seed"]
    argv = {
        "run": ["run", str(DEFAULT_CONFIG), "--reps", "1", "--out", str(out)],
        "experiment": ["experiment", str(ROOT / "experiments" / "cambridgeshire-action-plan.yaml"), "--reps", "1",
                       "--out", str(out), "--no-report"],
        "export-903": ["export-903", str(DEFAULT_CONFIG), "--out", str(out)],
        "fit": ["fit", str(DEFAULT_CONFIG), "--against", str(tmp_path / "figures.csv"),
                "--params", str(tmp_path / "params.yaml"), "--out", str(out)],
        "compare": ["compare", str(DEFAULT_CONFIG), "--against", str(tmp_path / "figures.csv"),
                    "--out", str(out)],
    }[name]
    with pytest.raises(SystemExit) as exit_:
        main(argv + [*option, "-1"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {option[0]}: must be 0 or more, not -1" in err and "Traceback" not in err
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_outputs_follow_the_umask(tmp_path, capsys):
    """Not tempfile's 0700/0600: results are as readable as any other file the user writes."""
    config = _small_config(tmp_path)
    old = os.umask(0o027)
    try:
        assert main(["run", str(config), "--reps", "1", "--out", str(tmp_path / "res")]) == 0
        assert main(["export-903", str(config), "--out", str(tmp_path / "903")]) == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "res").stat().st_mode) == 0o750
    assert stat.S_IMODE((tmp_path / "res" / "annual.parquet").stat().st_mode) == 0o640
    assert stat.S_IMODE((tmp_path / "res" / "manifest.json").stat().st_mode) == 0o640
    assert stat.S_IMODE((tmp_path / "903").stat().st_mode) == 0o750


def test_bad_date_in_actuals_names_file_row_and_field(tmp_path, capsys):
    from tests.unit.test_report import make_results

    results = make_results(tmp_path / "results")
    actuals = tmp_path / "actuals.csv"
    actuals.write_text("date,lac_children\n2016-01-01,600\n\n2016-02-3x,601\n2016-03-01,602\n")
    assert main(["report", str(results), "--actuals", str(actuals)]) == 2
    err = capsys.readouterr().err
    assert err.strip() == f"error: {actuals}: row 4, field 'date': '2016-02-3x' is not a date (expected YYYY-MM-DD or DD/MM/YYYY)"
    assert not (results / "report").exists()


def test_actuals_outside_the_run_are_listed_not_counted(tmp_path, capsys):
    from tests.unit.test_report import make_results

    results = make_results(tmp_path / "results")  # April 2015 to March 2021
    actuals = tmp_path / "actuals.csv"
    actuals.write_text("date,lac_children\n2014-02-01,500\n2014-03-01,510\n2016-01-01,600\n2030-05-01,601\n")
    assert main(["report", str(results), "--actuals", str(actuals)]) == 0
    err = capsys.readouterr().err
    assert f"warning: {actuals}: 3 actual count(s) dated outside the run's months (April 2015 to March 2021)" in err
    assert "February 2014 to March 2014, May 2030" in err
    text = (results / "report" / "report.html").read_text(encoding="utf-8")
    assert "Warning, not compared: 3 actual count(s)" in text and "February 2014 to March 2014, May 2030" in text
    assert "none of the 1 months supplied within the run" in text


def test_calibrate_warns_of_requested_years_missing_from_the_data(tmp_path, capsys):
    from carejourney.ssda903 import export_903
    from tests.unit.test_estimate_config import hand_built

    export_903(hand_built(), tmp_path / "903", years=[2017])
    out = tmp_path / "cal" / "council.yaml"
    old = os.umask(0o027)
    try:
        assert main(["calibrate", str(tmp_path / "903"), "--start", "2016-04-01", "--out", str(out),
                     "--years", "2015-2017"]) == 0
    finally:
        os.umask(old)
    err = capsys.readouterr().err
    assert "warning: --years 2015-2017: no returns" in err and "collection year(s) 2015, 2016 (the data has 2017)" in err
    assert "Collection year(s) 2015, 2016 were asked for" in out.with_name("council.estimation.md").read_text()
    for path, mode in ((out, 0o640), (out.with_name("council.estimation.md"), 0o640),
                       (out.with_name("council.estimation"), 0o750)):
        assert stat.S_IMODE(path.stat().st_mode) == mode, path.name


def test_the_command_line_runs_from_a_thread(capsys):
    """main() sets a SIGTERM handler (stop as Ctrl-C does) only where Python allows one: a
    call from another thread (a notebook's worker, a web service) must not fail on it."""
    import threading

    from tests.conftest import DEFAULT_CONFIG

    codes = []
    t = threading.Thread(target=lambda: codes.append(main(["check", str(DEFAULT_CONFIG)])))
    t.start()
    t.join()
    assert codes == [0] and "OK" in capsys.readouterr().out


def test_a_config_and_an_experiment_file_are_told_apart(tmp_path, capsys):
    """QA: a config given to `experiment` listed a dozen unknown fields; `check` now takes
    either kind of file, and `run`/`experiment` say which command the other kind needs."""
    from tests.conftest import DEFAULT_CONFIG, ROOT

    plan = ROOT / "experiments" / "cambridgeshire-action-plan.yaml"
    assert main(["check", str(plan)]) == 0
    assert "OK - experiment cambridgeshire-action-plan, 28 scenario(s)" in capsys.readouterr().out
    out = tmp_path / "out"
    assert main(["experiment", str(DEFAULT_CONFIG), "--reps", "1", "--out", str(out)]) == 2
    assert f"this is a config (it has horizon: and opening:), not an experiment file: run its baseline with " \
           f"`carejourney run {DEFAULT_CONFIG}`" in capsys.readouterr().err
    assert main(["run", str(plan), "--reps", "1", "--out", str(out)]) == 2
    assert f"run it with `carejourney experiment {plan}`" in capsys.readouterr().err
    assert not out.exists()


def test_rerunning_an_experiment_keeps_the_reports_actuals(tmp_path, capsys):
    """QA: rerunning `experiment` (to resume or extend a batch) rewrote the report without the
    monthly counts a `report --actuals` had checked, silently. `report` without --actuals drops them."""
    from tests.functional.experiment_helpers import write_experiment

    path = write_experiment(tmp_path / "e", levers={}, scenarios=[{"name": "baseline"}])
    out = tmp_path / "res"
    argv = ["experiment", str(path), "--reps", "1", "--out", str(out)]
    assert main(argv) == 0
    # QA: the console did not say which statistics its columns are
    printed = capsys.readouterr().out
    assert "LAC: median [5%-95%] of the replications; saving: mean [5% to 95%]" in printed
    assert "P(target): the share of replications meeting LAC 2017 <= 600" in printed
    actuals = tmp_path / "counts.csv"
    actuals.write_text("date,lac_children\n30/11/2015,577\n2016-03-31,607\n")
    assert main(["report", str(out), "--actuals", str(actuals)]) == 0
    report = out / "report"
    assert (report / "actuals.csv").read_text() == "date,lac_children\n2015-11-30,577\n2016-03-31,607\n"
    with_actuals = (report / "report.html").read_text(encoding="utf-8")
    capsys.readouterr()
    assert main(argv) == 0
    assert "keeps checking the monthly counts of the report it replaced" in capsys.readouterr().out
    assert (report / "report.html").read_text(encoding="utf-8") == with_actuals
    assert main(["report", str(out)]) == 0
    assert not (report / "actuals.csv").exists()
    assert (report / "report.html").read_text(encoding="utf-8") != with_actuals


def test_export_903_with_nobody_looked_after_says_so(tmp_path, capsys):
    """QA: a valid config in which no child is ever looked after gave a traceback."""
    import yaml

    from tests.conftest import load_default_dict

    d = load_default_dict()
    d["demand"]["referrals"]["per_year_by_age_band"] = {b: 0 for b in d["demand"]["referrals"]["per_year_by_age_band"]}
    d["demand"]["uasc"]["periods"] = []
    for key in ("age_band_counts", "legal_status_counts", "placement_type_counts"):
        d["opening"][key] = {k: 0 for k in d["opening"][key]}
    d["opening"]["uasc_count"] = 0
    cfg = tmp_path / "nobody.yaml"
    cfg.write_text(yaml.safe_dump(d))
    out = tmp_path / "903"
    assert main(["export-903", str(cfg), "--out", str(out)]) == 2
    assert capsys.readouterr().err.strip() == (f"error: {cfg}: no child is looked after in replication 0 (seed 1): "
                                               "no SSDA903 episodes to write")
    assert not out.exists()


def test_run_prints_the_medians_and_intervals_of_its_tables(tmp_path, capsys):
    """Mutation QA: the run summary could print its interval the wrong way round unseen."""
    import re

    out = tmp_path / "res"
    assert main(["run", str(DEFAULT_CONFIG), "--reps", "3", "--seed", "5", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    q = pd.read_parquet(out / "annual_summary.parquet")
    lac = q[(q.measure == "lac_children") & (q.breakdown == "total")].set_index("period")
    for period, row in lac.iterrows():
        m = re.search(rf"31 March {int(period[:4]) + 1}\s+([\d,.]+) \[([\d,.]+)-([\d,.]+)\]", text)
        printed = tuple(float(x.replace(",", "")) for x in m.groups())
        # to the whole child, but a value half-way between two replications as it is
        assert printed == tuple(row[k] if (2 * row[k]).is_integer() else round(row[k]) for k in ("q50", "q05", "q95"))


def test_export_903_leaves_out_the_warm_ups_collection_years(tmp_path, capsys):
    """QA: with a warm-up (simulated, then discarded), export-903 wrote its years too."""
    import yaml

    cfg = tmp_path / "warm.yaml"
    cfg.write_text(yaml.safe_dump({"extends": str(DEFAULT_CONFIG),
                                   "horizon": {"end_date": "2017-03-31", "warmup_days": 400}}))
    out = tmp_path / "903"
    assert main(["export-903", str(cfg), "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["2016", "2017"]
    assert "collection years 2016, 2017 written" in capsys.readouterr().out
