"""What a commissioner reads in the report agrees with itself (QA round 13): printed limits
rate a count the way the status does, saving targets say their years and prices, a lever
counted inside another says so, and the workbook shows thresholds as written."""

import json
import math
import re
from types import SimpleNamespace

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from carejourney.report import write_report
from carejourney.report.build import THRESHOLD_FORMAT, _whole_or_not
from carejourney.report.html import lever_list
from carejourney.report.tables import ON_TRACK, classify, whole_children_between
from tests.unit.test_report import make_results


@given(st.floats(0, 2000), st.floats(0, 50), st.integers(0, 2100))
def test_printed_on_track_range_holds_exactly_the_counts_rated_on_track(q25, width, count):
    """QA: limits were printed rounded to the nearest child while the status used the
    fractional percentiles: 600 showed inside '562 to 600' but was rated 'watch'."""
    q75 = q25 + width
    text = whole_children_between(q25, q75)
    status = classify(count, q25 - 100, q25, q75, q75 + 100)
    m = re.fullmatch(r"([\d,]+) to ([\d,]+)", text)
    if m is None:  # no whole number inside the band
        assert text.startswith("none") and math.ceil(q25) > math.floor(q75)
        assert status != ON_TRACK
    else:
        lo, hi = (int(g.replace(",", "")) for g in m.groups())
        assert (lo <= count <= hi) == (status == ON_TRACK)


def test_monitoring_table_prints_the_whole_numbers_inside_each_band():
    assert whole_children_between(569.25, 597.75) == "570 to 597"
    assert whole_children_between(567.0, 624.0) == "567 to 624"
    assert whole_children_between(float("nan"), 600.0) == "–"


def _with_saving_target(folder):
    t = pd.read_parquet(folder / "targets.parquet")
    saving = t[t["period"] == "2016-17"].assign(target="Saving 2016-17 >= £1.5m", measure="spend_gbp_saving",
                                                threshold=1.5e6, direction="at_least")
    pd.concat([t, saving], ignore_index=True).to_parquet(folder / "targets.parquet", index=False)


def test_a_saving_target_names_its_financial_year_and_prices(tmp_path):
    results = make_results(tmp_path / "r")
    _with_saving_target(results)
    html = write_report(results).read_text(encoding="utf-8")
    section = html[html.index('id="targets"'):]
    assert "<td>Saving 2016-17 &gt;= £1.5m</td><td>financial year 2016-17</td>" in section
    assert "<td>LAC at 31 March 2017 &lt;= 600</td><td>31 March 2017</td>" in section  # a count: its date
    assert "in 2015-16 prices (real), compared with the target as the experiment file gives it" in section


def test_a_lever_counted_within_another_says_so(tmp_path):
    res = SimpleNamespace(manifest={"levers": {"caf": {"part_of": None}, "early_years": {"part_of": "caf"},
                                               "atc": {"part_of": "caf"}}})
    assert lever_list(res, ["caf", "early_years", "other"]) == "caf, early_years (counted within caf), other"
    assert lever_list(res, ["atc"]) == "atc"  # its whole is not in this scenario: it acts alone
    assert lever_list(SimpleNamespace(manifest={}), ["a", "b"]) == "a, b"  # an older manifest: names only
    results = make_results(tmp_path / "r")
    m = json.loads((results / "manifest.json").read_text())
    m["levers"] = {"2.1 edge of care": {"part_of": None}, "4.2 in-house foster carers": {"part_of": "2.1 edge of care"}}
    (results / "manifest.json").write_text(json.dumps(m))
    html = write_report(results).read_text(encoding="utf-8")
    assert "4.2 in-house foster carers (counted within 2.1 edge of care)" in html


def test_thresholds_show_as_written_in_the_workbook():
    whole, decimal = THRESHOLD_FORMAT
    assert _whole_or_not(535.0, THRESHOLD_FORMAT) == whole == "#,##0"  # not "535."
    assert _whole_or_not(4_596_000.0, THRESHOLD_FORMAT) == whole
    assert _whole_or_not(0.55, THRESHOLD_FORMAT) == decimal


def test_the_lac_fan_starts_from_the_opening_stock_when_the_results_record_it(tmp_path):
    """QA: the fan began at the first year's 31 March, so '787, up from 535' had no 535 on it."""
    from carejourney.report.inputs import load_results

    results = make_results(tmp_path / "r")
    assert load_results(results).opening_lac is None  # results written before it was recorded
    m = json.loads((results / "manifest.json").read_text())
    (results / "manifest.json").write_text(json.dumps({**m, "opening_lac_children": 535}))
    assert load_results(results).opening_lac == 535.0
    write_report(results)  # draws it


def test_the_manifest_records_the_opening_stock_unless_a_warm_up_simulates_it(tmp_path):
    import yaml

    from carejourney.experiment import _manifest, load_experiment
    from tests.functional.experiment_helpers import write_experiment

    path = write_experiment(tmp_path / "e", levers={}, scenarios=[{"name": "baseline"}])
    assert _manifest(load_experiment(path), 1, 1)["opening_lac_children"] == 535  # configs/cambridgeshire-2015.yaml
    cfg = tmp_path / "e" / "council.yaml"
    cfg.write_text(yaml.safe_dump({**yaml.safe_load(cfg.read_text()), "horizon": {"end_date": "2017-03-31",
                                                                                   "warmup_days": 365}}))
    assert _manifest(load_experiment(path), 1, 1)["opening_lac_children"] is None


def test_a_run_ending_mid_year_is_reported_to_its_last_31_march(tmp_path):
    """QA: a run ending on 30 September has flows for its part-year but no stock at its end;
    the report failed with KeyError '2020-21' (as if the run ended on 31 March 2021)."""
    results = make_results(tmp_path / "r")
    s = pd.read_parquet(results / "summary.parquet")
    part_year_stock = (s["table"] == "annual") & (s["period"] == "2020-21") & s["measure"].str.startswith("lac_")
    s[~part_year_stock].to_parquet(results / "summary.parquet", index=False)
    html = write_report(results).read_text(encoding="utf-8")
    assert "children looked after at 31 March 2020: median" in html
    assert "31 March 2021: median" not in html
