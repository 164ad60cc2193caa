"""A very small council: calibrate on the SSDA903 returns of a few dozen children.

QA: `carejourney calibrate` on a small council's returns stopped with "error: SVD did not
converge" (exit 2, after numpy RuntimeWarnings), naming no estimate: a single family-finding
event (placement order to placed for adoption) made the lognormal fit's covariance step fail.
Here export-903 output of a short simulation (as in test_calibrate_roundtrip) is cut down to
the children in the first rows of each year's header; on these returns the old code failed
exactly so. Every fit with too few or degenerate events now keeps the template's value, says
why in the report, and calibrate writes a config that `check` accepts.
"""

from __future__ import annotations

import shutil
import warnings

import pandas as pd
import pytest
import yaml

from carejourney.cli import main
from carejourney.config import parse_config
from carejourney.runner import run_replication
from carejourney.ssda903 import export_903
from tests.conftest import load_default_dict, small_dict

START = "2016-04-01"
FAMILY_FINDING = "family finding (days from placement order to match)"


def few_children(base, out, rows: int):
    """A copy of the returns in `base` keeping only the children in the first `rows` rows of
    any year's header: every header, episodes and UASC file of every year filtered to them."""
    years = sorted(p for p in base.iterdir() if p.is_dir())
    keep = set()
    for y in years:
        keep |= set(pd.read_csv(y / "header.csv", dtype=str)["CHILD"].head(rows))
    for y in years:
        (out / y.name).mkdir(parents=True)
        for name in ("header.csv", "episodes.csv", "uasc.csv"):
            df = pd.read_csv(y / name, dtype=str, keep_default_na=False)
            df[df["CHILD"].isin(keep)].to_csv(out / y.name / name, index=False)
    return out, len(keep)


@pytest.fixture(scope="module")
def small_council(tmp_path_factory):
    base = tmp_path_factory.mktemp("sim903")
    res = run_replication(parse_config(small_dict(2)), 1, 0, keep_events=True)  # two collection years
    export_903(res.events, base)
    return few_children(base, tmp_path_factory.mktemp("few903") / "returns", 40)


def _lognormals(node):
    if isinstance(node, dict):
        if node.get("kind") == "lognormal":
            yield node
        for v in node.values():
            yield from _lognormals(v)
    elif isinstance(node, list):
        for v in node:
            yield from _lognormals(v)


def test_calibrate_on_a_few_children_keeps_the_template_where_a_fit_is_degenerate(small_council, tmp_path, capsys):
    folder, n_children = small_council
    assert n_children < 60
    out = tmp_path / "cal" / "small.yaml"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main(["calibrate", str(folder), "--start", START, "--out", str(out)]) == 0
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)], [str(w.message) for w in caught]
    err = capsys.readouterr().err
    assert "SVD" not in err and "RuntimeWarning" not in err
    assert main(["check", str(out)]) == 0
    config = yaml.safe_load(out.read_text())
    # the single family-finding event: the template's days_family_finding, the reason in the report
    template = load_default_dict()
    assert config["exits"]["adoption"]["days_family_finding"] == template["exits"]["adoption"]["days_family_finding"]
    report = (tmp_path / "cal" / "small.estimation.md").read_text()
    kept = [line for line in report.splitlines() if line.startswith("- `exits.adoption.days_family_finding`")]
    assert len(kept) == 1 and f"{FAMILY_FINDING}: a single event" in kept[0]
    assert "the template's value is kept" in kept[0]
    # no lognormal in the written config has lost its spread
    dists = list(_lognormals(config))
    assert dists and all(d["sd_days"] > 0 for d in dists)


def test_no_first_entries_is_said_on_the_console(small_council, tmp_path, capsys):
    """QA: with no first entry in the window the template's demand was used and only the .md
    report said so; the console showed 'first entries: 0' and nothing else."""
    folder, _ = small_council
    only_opening = tmp_path / "opening"
    for year in sorted(p for p in folder.iterdir() if p.is_dir()):
        (only_opening / year.name).mkdir(parents=True)
        ep = pd.read_csv(year / "episodes.csv", dtype=str, keep_default_na=False)
        starts = pd.to_datetime(ep["DECOM"], format="%d/%m/%Y")
        before = set(ep.loc[starts < pd.Timestamp(2015, 4, 1), "CHILD"])  # in care before the returns begin
        for name in ("header.csv", "episodes.csv", "uasc.csv"):
            df = pd.read_csv(year / name, dtype=str, keep_default_na=False)
            df[df["CHILD"].isin(before)].to_csv(only_opening / year.name / name, index=False)
    out = tmp_path / "cal" / "opening.yaml"
    assert main(["calibrate", str(only_opening), "--start", START, "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "warning: no child entered care for the first time in" in err and "the template's" in err


def test_the_datas_warnings_go_to_stderr_with_the_others(small_council, tmp_path, capsys):
    """QA18: warnings about the returns were printed with the summary on stdout, while every
    other warning went to stderr: whoever kept only stderr missed them."""
    folder, _ = small_council
    copy = tmp_path / "returns"
    shutil.copytree(folder, copy)
    # an exit (E4A) where care went on (X1): cleaning flags it and warns
    episodes = sorted(copy.glob("*/episodes.csv"))[0]
    ep = pd.read_csv(episodes, dtype=str, keep_default_na=False)
    ep.loc[ep.index[ep["REC"] == "X1"][0], "REC"] = "E4A"
    ep.to_csv(episodes, index=False)
    out = tmp_path / "cal" / "c.yaml"
    assert main(["calibrate", str(copy), "--start", START, "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "warning: 1 episode(s) start the day an exit (REC other than X1) ended" in captured.err
    assert "warning:" not in captured.out and "SSDA903 cleaning:" in captured.out
