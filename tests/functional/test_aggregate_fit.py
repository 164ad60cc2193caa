"""Aggregate calibration: recover a known parameter from synthetic "published" figures,
write a fitted config that runs, report, back-test, and reject bad input."""

from __future__ import annotations

import argparse
import copy

import pytest
import yaml

from carejourney.calibrate.aggregate import fit_aggregate
from carejourney.calibrate.aggregate_backtest import backtest
from carejourney.calibrate.aggregate_params import FitError, ParamsError, parse_params
from carejourney.calibrate.aggregate_write import write_fitted_config
from carejourney.calibrate.report import write_report
from carejourney.cli import main
from carejourney.commands import fit as fit_cmd
from carejourney.config import load_config, parse_config
from carejourney.runner import run_replications
from carejourney.uncertainty import with_parameter_draws
from carejourney.validate import read_figures, simulated_figures
from tests.conftest import DEFAULT_CONFIG, ROOT, load_default_dict, small_dict

SHARED = ROOT.parent / "shared" / "data" / "published_figures.csv"
PATH = "demand.referrals.per_year_by_age_band.under_1"
TRUE, START = 2600.0, 1300.0


def with_value(d, value):
    d = copy.deepcopy(d)
    d["demand"]["referrals"]["per_year_by_age_band"]["under_1"] = value
    return d


@pytest.fixture(scope="module")
def synthetic_fit():
    """Figures = medians of 10 replications at the true value (another seed than the fit's);
    the fit starts from half the true value."""
    truth = with_value(small_dict(1), TRUE)
    sim = run_replications(parse_config(truth, "truth"), 10, 99)
    figures = simulated_figures(sim.annual, "Synthetic")
    params = {"parameters": {PATH: [500, 4000]}, "groups": ["starts", "starts_age"],
              "settings": {"reps": 5, "max_evaluations": 22, "bootstrap": 80, "check_reps": 10}}
    return fit_aggregate(with_value(small_dict(1), START), figures, params, geography="Synthetic")


def test_fit_recovers_the_referral_level_within_its_interval(synthetic_fit):
    r = synthetic_fit.intervals.iloc[0]
    assert r["path"] == PATH and r["identified"]
    assert r["q05"] <= TRUE <= r["q95"], (r["q05"], r["fitted"], r["q95"])
    assert abs(r["fitted"] - TRUE) < 0.2 * TRUE
    assert r["q95"] - r["q05"] < 0.8 * TRUE  # an interval that says something
    assert not (r["q05"] <= START <= r["q95"])  # and excludes where the fit started
    h = synthetic_fit.history
    assert synthetic_fit.discrepancy_fit < 0.25 * synthetic_fit.discrepancy_start
    assert h["discrepancy"].min() == pytest.approx(synthetic_fit.discrepancy_optimum)
    assert set(synthetic_fit.targets["group"]) == {"starts", "starts_age"}
    ft = synthetic_fit.fit_table
    assert len(ft) == len(synthetic_fit.targets) and ft["inside"].sum() >= len(ft) - 1


def test_fitted_config_runs_with_its_uncertainty(synthetic_fit, tmp_path):
    base = tmp_path / "base.yaml"
    base.write_text(yaml.safe_dump(with_value(small_dict(1), START), sort_keys=False), encoding="utf-8")
    out = write_fitted_config(synthetic_fit, tmp_path / "out" / "fitted.yaml", base_path=base,
                              report_name="fitted.yaml.report.md")
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# Fitted by `carejourney fit`") and "extends: ../base.yaml" in text
    assert "[FIT]" in text and "Synthetic" in text
    cfg = load_config(out)
    value = cfg.demand.referrals.per_year_by_age_band["under_1"]
    assert value == pytest.approx(synthetic_fit.fitted[PATH], rel=1e-4)
    [u] = [u for u in cfg.uncertainty if u.path == PATH]
    assert u.prior.dist == "normal" and u.prior.sd > 0
    draws = {with_parameter_draws(cfg, 1, r).demand.referrals.per_year_by_age_band["under_1"] for r in range(3)}
    assert len(draws) == 3  # `carejourney run` samples the fitted parameter
    selfc = write_fitted_config(synthetic_fit, tmp_path / "self.yaml")
    assert "extends" not in selfc.read_text(encoding="utf-8") and load_config(selfc).uncertainty


def test_report_has_sections_and_charts(synthetic_fit, tmp_path):
    md = write_report(synthetic_fit, tmp_path / "fitted.yaml.report.md")
    text = md.read_text(encoding="utf-8")
    for section in ("## Data used", "## Method", "## Fitted values", "## Goodness of fit", "## Discrepancy trace",
                    "## Assumptions and limitations"):
        assert section in text
    charts = sorted(p.name for p in (tmp_path / "fitted.yaml.report").glob("*.png"))
    assert {"discrepancy.png", "posterior.png", "fit_starts.png", "fit_starts_age.png"} <= set(charts)
    for c in charts:
        assert f"fitted.yaml.report/{c}" in text


@pytest.mark.skipif(not SHARED.exists(), reason="shared published figures not present")
def test_backtest_fits_up_to_the_cut_and_reports_only_later_rows():
    params = {"parameters": {"exits.returned_home.days.mean_days": [400, 3000]}, "groups": ["ceased_reason", "stock"],
              "settings": {"reps": 3, "max_evaluations": 8, "bootstrap": 30, "check_reps": 4}}
    bt = backtest(load_default_dict(), read_figures(SHARED), params, 2015, reps=6, seed=2)
    assert bt.fit.settings["fit_start"] == "2014-04-01"  # rebased: the config starts after 2015
    assert set(bt.fit.targets["period"]) == {"2015"}
    assert any("published stock" in n for n in bt.notes)
    years = bt.table["period"].astype(int)
    assert len(bt.table) and (years > 2015).all()
    inside, n = bt.coverage
    assert n >= 20 and 0 <= inside <= n
    stock = bt.table[(bt.table["quantity"] == "CLA at 31 March") & (bt.table["status"] == "compared")]
    assert len(stock) == 1 and stock["period"].iloc[0] == "2016"


def test_bad_params_and_nothing_to_fit(tmp_path):
    d = load_default_dict()
    figures = simulated_figures(run_replications(parse_config(small_dict(1), "s"), 2, 1).annual, "Synthetic")
    with pytest.raises(ParamsError, match="demand.referrals.nope"):
        fit_aggregate(d, figures, {"demand.referrals.nope": [1, 2]}, geography="Synthetic")
    with pytest.raises(ParamsError, match="low < high"):
        parse_params({"parameters": {PATH: [4000, 500]}})
    with pytest.raises(ParamsError, match="settings.speed"):
        parse_params({"parameters": {PATH: [500, 4000]}, "settings": {"speed": 3}})
    # nothing to fit before the run starts: start earlier from a published stock, if one is
    with pytest.raises(FitError, match="no stock is published for 31 March 2014"):
        fit_aggregate(d, figures, {PATH: [500, 4000]}, geography="Synthetic", until=2015)
    with pytest.raises(FitError, match=r"start it earlier with --rebase-start 2014 \(from the published stock"):
        fit_aggregate(d, read_figures(SHARED), {PATH: [500, 4000]}, until=2015)


def test_fit_command_bad_input_exits_2(tmp_path, capsys):
    parser = argparse.ArgumentParser(prog="carejourney")
    fit_cmd.add_parser(parser.add_subparsers(dest="command", required=True))
    params = tmp_path / "params.yaml"
    params.write_text("parameters:\n  exits.nope.days: [1, 2]\n", encoding="utf-8")
    figures = tmp_path / "figures.csv"
    figures.write_text("quantity,geography,period,value\nCLA at 31 March,Cambridgeshire,2016,607\n", encoding="utf-8")
    args = parser.parse_args(["fit", str(DEFAULT_CONFIG), "--against", str(figures), "--params", str(params),
                              "--out", str(tmp_path / "f.yaml")])
    assert args.func(args) == 2
    err = capsys.readouterr().err
    assert str(params) in err and "exits.nope.days" in err
    assert not (tmp_path / "f.yaml").exists()


def test_params_must_name_known_quantities_and_groups():
    figures = simulated_figures(run_replications(parse_config(small_dict(1), "s"), 2, 1).annual, "Synthetic")
    with pytest.raises(ParamsError, match="groups: unknown group 'starters'"):
        fit_aggregate(small_dict(1), figures, {"parameters": {PATH: [500, 4000]}, "groups": ["starters"]},
                      geography="Synthetic")
    with pytest.raises(ParamsError, match="Children started"):
        fit_aggregate(small_dict(1), figures, {"parameters": {PATH: [500, 4000]}, "quantities": ["Children started"]},
                      geography="Synthetic")


def test_fit_command_writes_config_report_and_tables(tmp_path, capsys):
    base = tmp_path / "base.yaml"
    d = with_value(small_dict(1), START)
    # a population ten times too large: the input's warning, and the fitted config's, are shown
    d["population"]["children_0_17_by_year"] = {y: n * 10 for y, n in d["population"]["children_0_17_by_year"].items()}
    base.write_text(yaml.safe_dump(d, sort_keys=False), encoding="utf-8")
    sim = run_replications(parse_config(with_value(small_dict(1), TRUE), "truth"), 4, 99)
    figures = tmp_path / "figures.csv"
    simulated_figures(sim.annual, "Synthetic").to_csv(figures, index=False)
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"parameters": {PATH: [500, 4000]}, "groups": ["starts_age"],
                                      "settings": {"reps": 3, "max_evaluations": 6, "bootstrap": 30,
                                                   "check_reps": 3}}), encoding="utf-8")
    out = tmp_path / "fitted" / "synthetic-fitted.yaml"
    argv = ["fit", str(base), "--against", str(figures), "--params", str(params), "--out", str(out),
            "--geography", "Synthetic", "--until", "2016"]
    assert main(argv) == 0
    printed = capsys.readouterr()
    assert "Fitted 1 parameter(s)" in printed.out
    warned = [line for line in printed.err.splitlines() if line.startswith("warning:") and "per 10,000" in line]
    assert [line.split(":")[1].strip().split(" ")[0] for line in warned] == [str(base), str(out)], printed.err
    cfg = load_config(out, warn=lambda msg: None)  # shown above
    assert [u.path for u in cfg.uncertainty] == [PATH]
    assert (tmp_path / "fitted" / "synthetic-fitted.yaml.report.md").exists()
    tables = tmp_path / "fitted" / "synthetic-fitted.yaml.report"
    assert {"fit_table.csv", "intervals.csv", "history.csv", "bootstrap.csv", "discrepancy.png"} <= {
        p.name for p in tables.iterdir()}


def test_fit_recovers_a_share_of_a_mix_and_writes_it_with_its_rescaling():
    """One share of a set that sums to 1 (the interim care order share of 10-15s' entries)
    is fitted with the rest rescaled; the fitted config keeps the set summing to 1 in every
    replication's draw."""
    share = "legal.entry_status_by_age_band.10_to_15.interim_care_order"

    def with_share(value):
        d = small_dict(1)
        d["legal"]["entry_status_by_age_band"]["10_to_15"] = {"s20": 1 - value, "interim_care_order": value}
        return d

    truth = run_replications(parse_config(with_share(0.6), "truth"), 10, 99)
    figures = simulated_figures(truth.annual, "Synthetic")
    params = {"parameters": {share: {"low": 0.05, "high": 0.95, "rescale_others": True}}, "groups": ["starts_legal"],
              "settings": {"reps": 5, "max_evaluations": 22, "bootstrap": 80, "check_reps": 10}}
    fit = fit_aggregate(with_share(0.3), figures, params, geography="Synthetic")
    r = fit.intervals.iloc[0]
    assert r["identified"] and r["q05"] <= 0.6 <= r["q95"] and not (r["q05"] <= 0.3 <= r["q95"]), \
        (r["q05"], r["fitted"], r["q95"])
    cfg = parse_config(fit.config, "fitted")
    (u,) = [u for u in cfg.uncertainty if u.path == share]
    assert u.rescale_others
    for rep in range(3):
        mix = with_parameter_draws(cfg, 5, rep).legal.entry_status_by_age_band["10_to_15"]
        assert sum(mix.values()) == pytest.approx(1.0) and mix["s20"] == pytest.approx(1 - mix["interim_care_order"])


@pytest.mark.parametrize("argv, message", [
    # the option that set a bad value is named, not the params file that did not
    (["fit", str(DEFAULT_CONFIG), "--against", str(SHARED), "--params", "PARAMS", "--out", "OUT",
      "--max-evaluations", "0"], "error: --max-evaluations must be at least 1"),
    # no advice to start from a stock that is not published
    (["fit", str(DEFAULT_CONFIG), "--against", str(SHARED), "--params", "PARAMS", "--out", "OUT", "--until", "1900"],
     "after the fitted years, and no stock is published for 31 March 1899 to start an earlier run from"),
    (["compare", str(DEFAULT_CONFIG), "--against", str(SHARED), "--params", "PARAMS", "--backtest-until", "1850"],
     "error: --backtest-until 1850: the config starts on 2015-04-01, after the years to fit, and Cambridgeshire "
     "has no published 'CLA at 31 March' for 1849 to start the back-test from"),
])
def test_fit_and_backtest_options_are_named_in_their_errors(tmp_path, capsys, argv, message):
    params = ROOT / "experiments" / "fit-params-cambridgeshire.yaml"
    argv = [str(params) if a == "PARAMS" else str(tmp_path / "fitted.yaml") if a == "OUT" else a for a in argv]
    assert main(argv) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "fitted.yaml").exists()
