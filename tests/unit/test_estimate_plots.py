"""The estimation report's fit plots: PNGs beside the report, linked from it, written with the
config all together or not at all; small counts never drawn."""

from __future__ import annotations

import copy
import datetime as dt
import os
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from carejourney.calibrate import estimate_config, write_calibrated_config
from carejourney.calibrate import estimate_plots as ep
from carejourney.calibrate.estimate import REPORT_FIRST_LINE, chart_folder
from carejourney.config import parse_config
from carejourney.runner import run_replication
from carejourney.ssda903 import clean, export_903, read_ssda903
from tests.conftest import load_default_dict, small_dict
from tests.unit.test_estimate_config import hand_built

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
LINK = re.compile(r"!\[([^\]]*)\]\(([^)]+)\)")


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    """Two years simulated with the bundled config -> SSDA903 files -> cleaned -> estimated."""
    folder = tmp_path_factory.mktemp("sim903")
    res = run_replication(parse_config(small_dict(2)), 1, 0, keep_events=True)
    export_903(res.events, folder)
    cleaned = clean(read_ssda903(folder))
    return estimate_config(cleaned, dt.date(2015, 4, 1), template=load_default_dict())


@pytest.fixture(scope="module")
def written(simulated, tmp_path_factory):
    config, report = simulated
    out = tmp_path_factory.mktemp("cal") / "council.yaml"
    config_path, report_path = write_calibrated_config(config, report, out)
    return config_path, report_path


def fit_plots_section(text: str) -> str:
    return text.split("## Fit plots", 1)[1].split("\n## ", 1)[0]


def assert_valid_png(path: Path) -> None:
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE), path
    with Image.open(path) as im:
        im.verify()  # checks the chunks' CRCs
    with Image.open(path) as im:
        im.load()  # and decodes the pixels
        assert im.format == "PNG" and im.width > 300 and im.height > 200


def test_fit_plots_are_valid_pngs_linked_from_the_report(written):
    config_path, report_path = written
    charts = chart_folder(report_path)
    assert charts == report_path.with_name("council.estimation") and charts.is_dir()
    pngs = sorted(p.name for p in charts.iterdir())
    for name in ("placement_duration.png", "proceedings_duration.png", "exit_hazard_returned_home.png",
                 "entries_by_year.png", "opening_stock.png"):
        assert name in pngs
    for name in pngs:
        assert_valid_png(charts / name)
    text = report_path.read_text()
    section = fit_plots_section(text)
    links = [target for _alt, target in LINK.findall(section)]
    assert sorted(links) == sorted(f"council.estimation/{p}" for p in pngs)  # every PNG linked, no other link
    for target in links:
        assert (report_path.parent / target).is_file()  # relative to the report
    # every drawn plot says what to look for; the folder holds nothing else, and no temporary is left
    assert section.count("Look for") == len(pngs)
    assert sorted(p.name for p in report_path.parent.iterdir()) == [
        "council.estimation", "council.estimation.md", "council.yaml"]
    assert config_path.read_text().startswith("# Estimated by carejourney calibrate")


def test_the_plots_hold_what_the_fit_used(simulated):
    _, report = simulated
    fd = report.fit_data
    km = report.check("Kaplan-Meier vs fitted time to move (share not yet moved)")
    for c in fd["placement_duration"]["curves"]:
        assert c.events >= ep.MIN_PLOT_EVENTS and c.km[0] == 1.0
        assert np.all(np.diff(c.km) <= 1e-12) and np.all((c.low <= c.km + 1e-12) & (c.km <= c.high + 1e-12))
        row = km[km["placement_type"] == c.label].iloc[0]  # the same data and fit as the check table
        if c.days[-1] >= 365:
            i = int(np.searchsorted(c.days, 364))  # the weekly grid point at 364 days
            assert c.km[i] == pytest.approx(row["KM S(365d)"], abs=0.03)
            assert c.fitted[i] == pytest.approx(row["fitted S(365d)"], abs=0.01)
    h = fd["exit_hazards"]["returned_home"]
    e = report.get("exits.returned_home.days.mean_days")
    open_ = h.events.sum(1) > 0  # the statuses the route is open for: the fit's exposure
    assert h.total_events == pytest.approx(e.events) and h.exposure[open_].sum() == pytest.approx(e.exposure_days)
    entries = fd["entries"]
    assert entries.counts.sum() == report.data_summary["first_entries"]
    assert entries.fitted.sum() == pytest.approx(entries.counts.sum(), rel=1e-6)  # Poisson MLE: totals match
    assert fd["opening"].total == report.data_summary["opening_stock"]


def test_plots_without_enough_data_are_skipped_with_a_reason_and_small_counts_are_not_drawn(tmp_path, monkeypatch):
    export_903(hand_built(), tmp_path / "903", years=[2016, 2017])
    config, report = estimate_config(clean(read_ssda903(tmp_path / "903")), dt.date(2016, 4, 1))
    figures = {}
    real_save = ep._save

    def spy(fig, path):
        figures[path.name] = fig
        real_save(fig, path)

    monkeypatch.setattr(ep, "_save", spy)
    _, report_path = write_calibrated_config(config, report, tmp_path / "out" / "hb.yaml")
    section = fit_plots_section(report_path.read_text())
    assert "Not drawn: no placement type had at least 10 moves." in section  # 6 moves only
    assert "Not drawn: no interim care order began and ended in the window." in section
    assert "Not drawn: no exits by this route before 18 in the window." in section  # SGO and the rest
    assert sorted(p.name for p in chart_folder(report_path).iterdir()) == sorted(figures) == [
        "entries_by_year.png", "exit_hazard_returned_home.png", "opening_stock.png"]
    # opening stock: kinship fostering holds 2 children: no bar, "<5"; no bar shorter than 5 anywhere
    fig = figures["opening_stock.png"]
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    bars = [p.get_width() for ax in fig.axes for p in ax.patches]
    assert "<5" in texts and "2" not in texts and "9" in texts
    assert bars and min(bars) >= 5
    # data that cannot be drawn: skipped with the error, the rest still drawn
    broken = copy.deepcopy(report)
    broken.fit_data["entries"] = ep.EntryCounts([2016], np.zeros((2, 2)), np.zeros(3), False)
    with pytest.warns(RuntimeWarning, match="entries_by_year"):
        _, path2 = write_calibrated_config(config, broken, tmp_path / "out2" / "hb.yaml")
    assert "Not drawn: could not be drawn" in path2.read_text()
    assert not (chart_folder(path2) / "entries_by_year.png").exists()


def test_a_failure_while_drawing_leaves_nothing_behind(simulated, tmp_path, monkeypatch):
    config, report = simulated
    calls = []
    real_save = ep._save

    def fail_second(fig, path):
        calls.append(path)
        real_save(fig, path)  # the first PNG is written into the temporary folder ...
        if len(calls) == 2:
            raise OSError("disk full")  # ... the second fails

    monkeypatch.setattr(ep, "_save", fail_second)
    with pytest.raises(OSError, match="disk full"):
        write_calibrated_config(config, report, tmp_path / "new" / "council.yaml")
    assert len(calls) == 2 and calls[0].parent.name.startswith(".council.estimation.tmp-")
    assert list(tmp_path.iterdir()) == []  # no config, report, chart folder, temporary or parent folder


def test_a_failure_while_putting_files_in_place_restores_the_previous_output(simulated, tmp_path, monkeypatch):
    config, report = simulated
    quick = copy.deepcopy(report)
    quick.fit_data = {"opening": report.fit_data["opening"]}  # one plot: a quick write
    out = tmp_path / "council.yaml"
    old = {out: "old config", tmp_path / "council.estimation.md": f"{REPORT_FIRST_LINE}\nold report"}
    for path, text in old.items():
        path.write_text(text)
    (tmp_path / "council.estimation").mkdir()
    (tmp_path / "council.estimation" / "old.png").write_bytes(PNG_SIGNATURE)
    real_replace = os.replace

    def fail_on_config(src, dst):
        if Path(dst) == out:
            raise OSError("no space left")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", fail_on_config)  # the chart folder and report are already in place
    with pytest.raises(OSError, match="no space left"):
        write_calibrated_config(config, quick, out)
    monkeypatch.setattr(os, "replace", real_replace)
    for path, text in old.items():
        assert path.read_text() == text
    assert [p.name for p in (tmp_path / "council.estimation").iterdir()] == ["old.png"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["council.estimation", "council.estimation.md", "council.yaml"]
    # the same write, succeeding, replaces all three (the old chart folder goes whole)
    write_calibrated_config(config, quick, out)
    assert [p.name for p in (tmp_path / "council.estimation").iterdir()] == ["opening_stock.png"]
    text = (tmp_path / "council.estimation.md").read_text()
    assert "](council.estimation/opening_stock.png)" in text and "Not drawn: nothing was estimated" in text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["council.estimation", "council.estimation.md", "council.yaml"]
    # a folder that is not a previous run's charts is never replaced
    (tmp_path / "x.estimation").mkdir()
    (tmp_path / "x.estimation" / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="refusing to replace"):
        write_calibrated_config(config, quick, tmp_path / "x.yaml")
    assert not (tmp_path / "x.yaml").exists() and not (tmp_path / "x.estimation.md").exists()
    assert (tmp_path / "x.estimation" / "notes.txt").read_text() == "mine"
    # nor one of pictures only, when no report of calibrate's is beside it (someone's photos)
    (tmp_path / "y.estimation").mkdir()
    (tmp_path / "y.estimation" / "holiday.png").write_bytes(PNG_SIGNATURE)
    with pytest.raises(ValueError, match="was not written by carejourney calibrate"):
        write_calibrated_config(config, quick, tmp_path / "y.yaml")
    assert [p.name for p in (tmp_path / "y.estimation").iterdir()] == ["holiday.png"]
    assert not (tmp_path / "y.yaml").exists() and not (tmp_path / "y.estimation.md").exists()


def test_survival_curve_and_poisson_interval():
    rng = np.random.default_rng(3)
    t = rng.exponential(200, 400)
    c = rng.uniform(0, 600, 400)
    days, events = np.minimum(t, c), (t <= c).astype(float)
    curve = ep.survival_curve(days, events, lambda x: np.exp(-x / 200), "x", "exponential")
    assert curve.days[0] == 0 and np.all(np.diff(curve.days) == 7)
    assert np.sum(days >= curve.days[-1]) >= 5 and np.sum(days >= curve.days[-1] + 7) < 5  # stops at 5 at risk
    assert np.max(np.abs(curve.km - curve.fitted)) < 0.08
    assert np.all((curve.low <= curve.km) & (curve.km <= curve.high))
    assert np.mean((curve.low <= curve.fitted) & (curve.fitted <= curve.high)) > 0.5  # pointwise 90%, correlated
    assert ep.survival_curve(days[:4], events[:4], lambda x: x, "x", "m") is None  # fewer than 5 spells
    lo, hi = ep.poisson_interval(np.array([0.0, 10.0]), np.array([100.0, 100.0]))
    assert lo[0] == 0 and hi[0] == pytest.approx(-np.log(0.05) / 100, rel=1e-6)  # 2.996 events
    assert lo[1] == pytest.approx(5.425 / 100, rel=1e-3) and hi[1] == pytest.approx(16.962 / 100, rel=1e-3)
