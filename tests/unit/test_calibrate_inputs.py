"""`calibrate` and `fit`: their --out never replaces an input or a file they did not write,
returns with nothing looked after are refused, and the cleaning report is written beside the
config, all or nothing (exit code 2 and nothing written on bad input)."""

from __future__ import annotations

import csv
import os
import shutil
from pathlib import Path

import pytest
import yaml

from carejourney.cli import main
from carejourney.ssda903 import export_903
from tests.conftest import small_dict
from tests.unit.test_estimate_config import hand_built
from tests.unit.test_ssda903_read import episode_row, header_row, write_return

FIGURES = "quantity,geography,period,value,unit,source_title,source_address,note\n" \
          "CLA at 31 March,Cambridgeshire,2016,600,children,Test,,\n"
# one parameter and the smallest settings the fit accepts: a real fit in a few seconds
PARAMS = ("parameters:\n  exits.returned_home.days.mean_days: [400, 3000]\n"
          "settings: {reps: 2, max_evaluations: 4, bootstrap: 12, check_reps: 2}\n")


@pytest.fixture(scope="module")
def returns(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("903")
    export_903(hand_built(), folder, years=[2016, 2017])
    return folder


@pytest.fixture
def no_reading(monkeypatch):
    """Fail the test if calibrate gets as far as reading the returns."""
    import carejourney.ssda903

    def refuse(*args, **kwargs):
        raise AssertionError("read the returns before checking --out")

    monkeypatch.setattr(carejourney.ssda903, "read_ssda903", refuse)


@pytest.fixture
def no_fitting(monkeypatch):
    from carejourney.calibrate import aggregate

    def refuse(*args, **kwargs):
        raise AssertionError("fitted before checking --out")

    monkeypatch.setattr(aggregate, "fit_aggregate", refuse)


@pytest.fixture
def fit_inputs(tmp_path):
    config, figures, params = tmp_path / "small.yaml", tmp_path / "figures.csv", tmp_path / "params.yaml"
    config.write_text(yaml.safe_dump(small_dict(1)))
    figures.write_text(FIGURES)
    params.write_text(PARAMS)
    return config, figures, params


def _error(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err.strip()


def _calibrate(returns, out, *extra) -> int:
    return main(["calibrate", str(returns), "--start", "2016-04-01", "--out", str(out), *extra])


def _fit(config, figures, params, out) -> list[str]:
    return ["fit", str(config), "--against", str(figures), "--params", str(params), "--out", str(out)]


# --------------------------------------------------------------------------- 1. calibrate --out
def test_calibrate_refuses_to_overwrite_its_template(tmp_path, capsys, no_reading):
    template = tmp_path / "t.yaml"
    template.write_text(yaml.safe_dump(small_dict(1)))
    before = template.read_text()
    for out in (template, tmp_path / "sub" / ".." / "t.yaml"):
        assert _calibrate(tmp_path / "returns", out, "--template", str(template)) == 2
        assert _error(capsys) == f"error: {out} is the same file as --template {template}: choose another --out"
    assert template.read_text() == before and sorted(p.name for p in tmp_path.iterdir()) == ["t.yaml"]


@pytest.mark.parametrize("start", ["20160401", "2016-W14-1", "1/4/2016", "2016-04-31"])
def test_calibrate_takes_its_start_only_as_a_calendar_date(tmp_path, capsys, no_reading, start):
    """QA17: 20160401 and the ISO week date 2016-W14-1 (silently 4 April) passed as dates."""
    out = tmp_path / "c.yaml"
    assert main(["calibrate", str(tmp_path / "returns"), "--start", start, "--out", str(out)]) == 2
    assert _error(capsys) == f"error: --start {start!r} is not a date (YYYY-MM-DD)"
    assert not out.exists()


@pytest.mark.parametrize("name", ["notes.txt", "c.estimation.md", "c.cleaning.csv"])
def test_calibrate_refuses_to_replace_a_file_it_did_not_write(tmp_path, capsys, no_reading, name):
    other = tmp_path / name
    other.write_text("keep me\n")
    out = other if name == "notes.txt" else tmp_path / "c.yaml"
    assert _calibrate(tmp_path / "returns", out) == 2
    assert _error(capsys) == (f"error: {other} exists and was not written by carejourney calibrate: "
                              "choose another --out or remove it")
    assert other.read_text() == "keep me\n" and [p.name for p in tmp_path.iterdir()] == [name]


def test_calibrate_writes_the_cleaning_report_and_replaces_its_own_outputs(returns, tmp_path, capsys):
    out = tmp_path / "cal" / "council.yaml"
    (out.parent).mkdir()
    out.write_text("")  # an empty file may be replaced
    for _ in range(2):  # the second time over its own config, report and cleaning report
        assert _calibrate(returns, out) == 0
        printed = capsys.readouterr().out
        assert f"(file, row, why) in {out.with_name('council.cleaning.csv')}" in printed
    assert sorted(p.name for p in out.parent.iterdir()) == [
        "council.cleaning.csv", "council.estimation", "council.estimation.md", "council.yaml"]
    with open(out.with_name("council.cleaning.csv"), newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["file", "row", "child", "action", "rule", "reason"]
    # hand_built's open episodes are repeated in the 2017 return: each such 2016 row is listed
    repeated = [r for r in rows if r["rule"] == "repeated_in_later_return"]
    assert repeated and {r["file"] for r in repeated} == {"2016/episodes.csv"}
    assert all(r["row"].isdigit() and r["action"] == "removed" and r["reason"] for r in repeated)
    assert f"{len(repeated)} rows removed: episode repeated in a later year's return" in printed
    # pseudonyms only: no CHILD of the returns reaches the file
    children = {line.split(",")[0] for line in (returns / "2016" / "header.csv").read_text().splitlines()[1:]}
    assert not children & {r["child"] for r in rows}


def test_calibrate_puts_the_cleaning_report_in_place_with_the_config_or_not_at_all(returns, tmp_path, capsys,
                                                                                   monkeypatch):
    real_replace = os.replace

    def failing_replace(src, dst):
        if Path(dst).name == "council.yaml":  # the config, last into place
            raise PermissionError(13, "Permission denied", str(dst))
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", failing_replace)
    out = tmp_path / "cal" / "council.yaml"
    assert _calibrate(returns, out) == 2
    assert not out.parent.exists()


def test_a_failed_calibrate_says_the_files_at_out_are_an_earlier_runs(returns, tmp_path, capsys):
    """QA14: bad returns left the previous run's config in place without a word, to be taken
    for this run's."""
    out = tmp_path / "council.yaml"
    assert _calibrate(returns, out) == 0
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    damaged = tmp_path / "damaged"
    shutil.copytree(returns, damaged)
    (damaged / "2016" / "header.csv").write_bytes(b"PK\x03\x04 a workbook")
    capsys.readouterr()
    assert _calibrate(damaged, out) == 2
    err = capsys.readouterr().err
    assert (f"note: nothing was written; {out}, {tmp_path / 'council.estimation.md'}, "
            f"{tmp_path / 'council.cleaning.csv'} are from an earlier run, left as they were") in err
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()} == before
    assert _calibrate(damaged, tmp_path / "new.yaml") == 2
    assert "note:" not in capsys.readouterr().err  # nothing earlier there: nothing to say


# --------------------------------------------------------------------------- 2. nothing left after cleaning
def test_calibrate_with_only_short_breaks_is_refused(tmp_path, capsys):
    write_return(tmp_path / "returns", 2016, [header_row("C001"), header_row("C002")],
                 [episode_row("C001", "01/05/2015", "03/05/2015", "E4A", ls="V3", place="H5"),
                  episode_row("C002", "01/06/2015", "03/06/2015", "E4A", ls="V4", place="H5")])
    out = tmp_path / "cal" / "c.yaml"
    assert _calibrate(tmp_path / "returns", out) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {tmp_path / 'returns'}: no looked-after episodes left after cleaning "
                          "(2 episode rows read)\n")
    assert "rows removed: episode of a child only ever on short breaks" in err and "Traceback" not in err
    assert not out.parent.exists()


# --------------------------------------------------------------------------- 1. fit --out
def test_fit_refuses_to_overwrite_the_config_it_fits(fit_inputs, capsys, no_fitting):
    config, figures, params = fit_inputs
    before = config.read_text()
    assert main(_fit(config, figures, params, config)) == 2
    assert _error(capsys) == f"error: {config} is the same file as the config {config}: choose another --out"
    assert config.read_text() == before


def test_fit_refuses_to_overwrite_a_config_the_config_extends(fit_inputs, capsys, no_fitting):
    config, figures, params = fit_inputs
    child = config.with_name("child.yaml")
    child.write_text("extends: small.yaml\n")
    assert main(_fit(child, figures, params, config)) == 2
    assert _error(capsys) == (f"error: {config} is the same file as the config's base (extends:) {config}: "
                              "choose another --out")


@pytest.mark.parametrize("flag", ["--against", "--params"])
def test_fit_refuses_to_overwrite_its_figures_or_params(fit_inputs, capsys, no_fitting, flag):
    config, figures, params = fit_inputs
    target = figures if flag == "--against" else params
    assert main(_fit(config, figures, params, target)) == 2
    assert _error(capsys) == f"error: {target} is the same file as {flag} {target}: choose another --out"


@pytest.mark.parametrize("name", ["notes.txt", "f.yaml.report.md"])
def test_fit_refuses_to_replace_a_file_it_did_not_write(fit_inputs, capsys, no_fitting, name):
    config, figures, params = fit_inputs
    other = config.with_name(name)
    other.write_text("keep me\n")
    out = other if name == "notes.txt" else config.with_name("f.yaml")
    assert main(_fit(config, figures, params, out)) == 2
    assert _error(capsys) == (f"error: {other} exists and was not written by carejourney fit: "
                              "choose another --out or remove it")
    assert other.read_text() == "keep me\n"


def test_fit_refuses_a_chart_folder_it_did_not_write(fit_inputs, capsys, no_fitting):
    config, figures, params = fit_inputs
    folder = config.with_name("f.yaml.report")
    folder.mkdir()
    (folder / "fit_table.csv").write_text("my own table\n")  # one of fit's file names, not fit's
    assert main(_fit(config, figures, params, config.with_name("f.yaml"))) == 2
    assert _error(capsys) == (f"error: {folder} exists and was not written by carejourney fit: "
                              "choose another --out or remove it")
    assert (folder / "fit_table.csv").read_text() == "my own table\n"


def test_fit_replaces_its_chart_folder_whole_and_stages_nothing_beside_it(fit_inputs, capsys):
    config, figures, params = fit_inputs
    out = config.with_name("fitted.yaml")
    folder = Path(str(out) + ".report")
    assert main(_fit(config, figures, params, out)) == 0
    from carejourney.commands.fit import FIGDIR_MARKER
    assert (folder / FIGDIR_MARKER).is_file() and (folder / "fit_table.csv").is_file()
    (folder / "stale.png").write_text("from an older fit")
    assert main(_fit(config, figures, params, out)) == 0  # its own folder: replaced, not added to
    assert not (folder / "stale.png").exists() and (folder / "fit_table.csv").is_file()
    report = Path(str(out) + ".report.md").read_text()
    assert "](fitted.yaml.report/" in report and ".tmp-" not in report
    assert sorted(p.name for p in config.parent.iterdir()) == sorted(
        ["small.yaml", "figures.csv", "params.yaml", "fitted.yaml", "fitted.yaml.report.md", "fitted.yaml.report"])


def test_fit_that_fails_writing_keeps_its_earlier_charts_and_leaves_no_stage(fit_inputs, capsys, monkeypatch):
    config, figures, params = fit_inputs
    out = config.with_name("fitted.yaml")
    folder = Path(str(out) + ".report")
    assert main(_fit(config, figures, params, out)) == 0
    before = sorted(p.name for p in folder.iterdir())
    from carejourney.calibrate import report

    def fail(*args, **kwargs):
        raise OSError(28, "No space left on device", str(out))

    monkeypatch.setattr(report, "write_report", fail)
    assert main(_fit(config, figures, params, out)) == 2
    err = capsys.readouterr().err  # the fit's progress, then the error
    assert err.strip().splitlines()[-1] == f"error: {out}: no space left on device" and "Traceback" not in err
    assert sorted(p.name for p in folder.iterdir()) == before
    assert not [p for p in config.parent.iterdir() if ".tmp" in p.name or ".old-" in p.name]


def test_fit_replaces_its_own_output_but_never_the_config_it_fits(fit_inputs, capsys):
    config, figures, params = fit_inputs
    out = config.with_name("fitted.yaml")
    assert main(_fit(config, figures, params, out)) == 0
    first = out.read_text()
    md = Path(str(out) + ".report.md").read_text()
    assert main(_fit(config, figures, params, out)) == 0  # its own output: replaced
    assert out.read_text().splitlines()[0] == first.splitlines()[0]
    assert Path(str(out) + ".report.md").read_text().splitlines()[0] == md.splitlines()[0]
    capsys.readouterr()
    # fitting the fitted config onto itself would make it extend itself: refused, kept
    copy = out.with_name("copy.yaml")
    shutil.copy(out, copy)
    assert main(_fit(out, figures, params, out)) == 2
    assert _error(capsys) == f"error: {out} is the same file as the config {out}: choose another --out"
    assert out.read_text() == copy.read_text()


def test_calibrate_on_a_full_disk_names_its_output_and_writes_nothing(tmp_path, capsys, returns, monkeypatch):
    """QA21: `calibrate` said only "error: No space left on device" (run and export-903 name the path)."""
    from carejourney.calibrate import estimate_report

    def full(self, path, text):
        raise OSError("Error writing bytes to file. Detail: [errno 28] No space left on device")

    monkeypatch.setattr(estimate_report.AtomicWrite, "text", full)
    out = tmp_path / "c" / "c.yaml"
    assert _calibrate(returns, out) == 2
    (err,) = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error")]
    assert err.startswith(f"error: {out}: ") and err.endswith("no space left on device"), err
    assert not out.exists() and (not out.parent.exists() or not list(out.parent.iterdir()))


def test_calibrate_warns_when_uasc_arrivals_are_the_templates(tmp_path, capsys, returns):
    """QA21: with (almost) no UASC in the returns, the template's arrivals went into the config
    with a word only in the estimation report."""
    assert _calibrate(returns, tmp_path / "c.yaml") == 0
    err = capsys.readouterr().err
    assert "UASC entered care for the first time in" in err and "UASC arrivals (demand.uasc) are the template's" in err
