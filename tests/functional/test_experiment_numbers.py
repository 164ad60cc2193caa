"""The experiment's summary numbers mean what their names say (mutation QA, round 13: each
of these could be wrong while every other test passed)."""

from __future__ import annotations

import json
import re
import shutil

import pandas as pd
import pytest

from carejourney.experiment import (
    ExperimentError,
    _quantiles,
    load_experiment,
    run_experiment,
)
from carejourney.experiment_summary import experiment_summary_text
from carejourney.levers import activate
from carejourney.summary import spend_total_items
from tests.functional.experiment_helpers import write_experiment


def _savings(out, scenario, measure):
    s = pd.read_parquet(out / "savings.parquet")
    return s[(s.scenario == scenario) & (s.measure == measure)].set_index("period")


def test_the_saving_over_the_run_is_the_sum_of_the_years(finished):
    """The 'total' row (the console's saving over the run) is each replication's years summed:
    its mean is the sum of the years' means (it was free to be their mean)."""
    _, out = finished
    for scenario in ("cheaper_ifa", "fewer_teens"):
        s = _savings(out, scenario, "spend_gbp_saving")
        years = s.drop(index="total")
        assert s.loc["total", "mean"] == pytest.approx(years["mean"].sum(), rel=1e-9)
        assert s.loc["total", "q05"] <= s.loc["total", "q50"] <= s.loc["total", "q95"]


def test_the_52_week_placement_reduction_is_baseline_minus_scenario(finished):
    _, out = finished
    cheaper = _savings(out, "cheaper_ifa", "placements_52_week_reduction")
    assert (cheaper[["mean", "q05", "q50", "q95", "p_positive"]].to_numpy() == 0).all()  # prices move no child
    a = pd.read_parquet(out / "annual.parquet")
    p52 = a[a.measure == "placements_52_week"].groupby(["scenario", "period"])["value"].sum() / 4  # 4 replications
    fewer = _savings(out, "fewer_teens", "placements_52_week_reduction")
    for period in fewer.index:
        assert fewer.loc[period, "mean"] == pytest.approx(p52["baseline", period] - p52["fewer_teens", period])


def test_a_saving_of_exactly_nothing_is_not_counted_as_a_saving(finished):
    """p_positive is the share of replications strictly better: a price lever leaves LAC exactly
    the baseline's, which is no reduction."""
    _, out = finished
    lac = _savings(out, "cheaper_ifa", "lac_reduction_children")
    assert (lac["p_positive"] == 0).all()


def test_quantile_columns_are_the_named_percentiles():
    q = _quantiles(pd.Series(range(101), dtype=float).groupby([0] * 101)).iloc[0]
    assert (q["mean"], q["q05"], q["q25"], q["q50"], q["q75"], q["q95"]) == (50, 5, 25, 50, 75, 95)


def test_resume_with_another_seed_is_refused(finished, tmp_path):
    """The seed is in the manifest, not in the files' fingerprint: without its own check the old
    chunks would be kept under a manifest naming the new seed."""
    path, serial = finished
    out = tmp_path / "copy"
    shutil.copytree(serial, out)
    with pytest.raises(ExperimentError, match="cannot resume: the seed changed"):
        run_experiment(path, reps=4, seed=12, out=out, progress=False)


def test_a_levers_effect_is_the_same_whichever_scenario_it_is_in(tmp_path):
    """The effect is drawn once per lever and replication: alone or in the combined plan,
    so a combination's effect is its parts' (levers.py)."""
    exp = load_experiment(write_experiment(tmp_path))
    alone, together = [], []
    for r in range(5):
        alone.append(activate(exp.cfg, exp.spec.levers, ["fewer_teens"], 11, r).levers[0].effect)
        combined = activate(exp.cfg, exp.spec.levers, ["fewer_teens", "atc", "cheaper_ifa"], 11, r)
        together.append(next(lv.effect for lv in combined.levers if lv.name == "fewer_teens"))
    assert alone == together
    assert len(set(alone)) == 5  # a prior with spread: a fresh draw each replication


def test_the_console_lines_print_the_tables_numbers(finished):
    _, out = finished
    text = experiment_summary_text(out)
    summary, targets = pd.read_parquet(out / "summary.parquet"), pd.read_parquet(out / "targets.parquet")
    lac = summary[(summary.table == "annual") & (summary.measure == "lac_children") & (summary.breakdown == "total")
                  & (summary.period == "2016-17")].set_index("scenario")
    p = targets[targets.target == "LAC 2017 <= 600"].set_index("scenario")["probability"]
    for name in ("baseline", "fewer_teens", "combined_plan"):
        line = next(x for x in text.splitlines() if x.strip().startswith(name + " "))
        m = re.search(r"([\d.]+) \[([\d.]+)-([\d.]+)\]", line)
        # a count to the whole child, but a median half-way between two replications as it is
        assert m and tuple(map(float, m.groups())) == tuple(
            v if (2 * v).is_integer() else round(v) for v in (lac.loc[name, q] for q in ("q50", "q05", "q95")))
        shown = line.replace("*", "").split()[-1]
        assert shown == f"{p[name]:.0%}" or (shown == "<1%" and 0 < p[name] < 0.005) \
            or (shown == ">99%" and 0.995 <= p[name] < 1)


def test_a_saving_target_over_the_run_is_reported_and_the_console_stars_only_what_it_explains(tmp_path, capsys):
    """QA14: a target over the whole run (`period: total`, which the loader accepts for a
    saving) passed `check`, then broke the report after the run; the console footnote on
    plan-implied effects came with no row starred; names were cut at 40 characters."""
    from carejourney.cli import main
    from tests.functional.experiment_helpers import LEVERS
    long_name = "a_scenario_name_longer_than_forty_characters_" + "x" * 10
    atc = {**LEVERS["atc"], "evidence": "evidence"}
    path = write_experiment(tmp_path, levers={"atc": atc},
                            scenarios=[{"name": "baseline"}, {"name": long_name, "levers": ["atc"]}],
                            extra={"targets": [{"name": "saving over the run", "measure": "spend_gbp_saving",
                                                "period": "total", "at_least": 1}]})
    out = tmp_path / "out"
    assert main(["experiment", str(path), "--reps", "2", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"  {long_name} " in printed and "rests on plan-implied" not in printed
    html = (out / "report" / "report.html").read_text(encoding="utf-8")
    assert "saving over the run" in html and "over the whole run" in html
    targets = pd.read_excel(out / "report" / "summary.xlsx", sheet_name="targets")
    assert list(targets["period"]) == ["total"]
    assert targets["threshold unit"].str.startswith("£, ").all()  # with the price basis (QA15)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert spend_total_items(manifest["spend_scope"]) in html  # the scope in words, not "all_lac scope"
