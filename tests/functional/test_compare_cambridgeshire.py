"""`compare` on the bundled config against the shared published figures (Cambridgeshire)."""

from __future__ import annotations

import argparse

import pandas as pd
import pytest

from carejourney.commands import compare as compare_cmd
from carejourney.config import load_config
from carejourney.validate import compare, format_comparison, read_figures
from tests.conftest import DEFAULT_CONFIG, ROOT

SHARED = ROOT.parent / "shared" / "data" / "published_figures.csv"
pytestmark = pytest.mark.skipif(not SHARED.exists(), reason=f"{SHARED} not present")


def cli(*argv) -> int:
    parser = argparse.ArgumentParser(prog="carejourney")
    sub = parser.add_subparsers(dest="command", required=True)
    compare_cmd.add_parser(sub)
    args = parser.parse_args(["compare", *map(str, argv)])
    return args.func(args)


@pytest.fixture(scope="module")
def table():
    return compare(load_config(DEFAULT_CONFIG), read_figures(SHARED), reps=4, seed=1)


def test_rows_for_stock_starts_and_ceased_in_2016(table):
    c = table[(table["status"] == "compared") & (table["period"] == "2016")]
    got = dict(zip(c["quantity"], c.to_dict("records")))
    for q, observed, lo, hi in (("CLA at 31 March", 607, 400, 900),
                                ("Children starting to be looked after during year", 347, 200, 550),
                                ("Children ceasing to be looked after during year", 271, 150, 450)):
        r = got[q]
        assert r["observed"] == observed
        assert lo < r["sim_median"] < hi, (q, r["sim_median"])
        assert r["sim_q05"] <= r["sim_median"] <= r["sim_q95"]
        assert r["inside"] == (r["sim_q05"] <= observed <= r["sim_q95"])
        assert r["model_period"] == "2015-16"
    assert got["CLA at 31 March (revised series)"]["observed"] == 607
    assert got["Children starting to be looked after during year (revised series)"]["observed"] == 346
    adopted = [q for q in got if q.startswith("Ceased by reason: adopted")]
    assert len(adopted) == 1 and got[adopted[0]]["observed"] == 33
    # the placement mix adds up to about the stock
    mix = [q for q in got if q.startswith("CLA at 31 March by placement: ") and "(combined)" not in q
           and "secure units" not in q]
    total = sum(got[q]["sim_median"] for q in mix) + got[[q for q in got if "(combined)" in q and "placement" in q][0]]["sim_median"]
    assert total == pytest.approx(got["CLA at 31 March"]["sim_median"], rel=0.1)


def test_nothing_is_silently_dropped(table):
    figs = read_figures(SHARED)
    camb = figs[figs["geography"] == "Cambridgeshire"].drop_duplicates(subset=["quantity", "period", "value_text"])
    nc = table[table["status"] == "not compared"]
    assert nc["note"].str.startswith("not compared: ").all()
    listed = set(zip(table["quantity"], table["period"].astype(str)))
    for q, p in zip(camb["quantity"], camb["period"]):
        from carejourney.validate.mapping import derived_rows_using, row_for
        base = q.removesuffix(" (revised series)")
        row = row_for(base)
        if row is not None and row.compared or derived_rows_using(base) is None:
            assert (q, p) in listed, (q, p)
    # starts by need are compared for the run's years; earlier years are listed with why
    need = table[table["quantity"].str.startswith("Starts by category of need")]
    assert (need[need["period"].astype(str) == "2016"]["status"] == "compared").all()
    assert need[need["status"] == "not compared"]["note"].str.contains("before the run").all()
    assert nc[(nc["quantity"] == "CLA at 31 March") & (nc["period"] == "2015")]["note"].str.contains("opening").all()
    assert "inside the 90% interval" in format_comparison(table)


def test_cli_prints_saves_and_exits_0(tmp_path, capsys):
    out = tmp_path / "cmp" / "table.csv"
    assert cli(DEFAULT_CONFIG, "--against", SHARED, "--reps", 2, "--seed", 5, "--out", out) == 0
    printed = capsys.readouterr().out
    assert "Cambridgeshire" in printed and "Not compared" in printed
    saved = pd.read_csv(out)
    assert {"quantity", "period", "observed", "sim_median", "sim_q05", "sim_q95", "inside", "measure",
            "note"} <= set(saved.columns)


def test_cli_exits_1_when_nothing_could_be_compared(tmp_path, capsys):
    """A file whose figures all fall outside the run (or the mapping) is not a pass: the
    reasons are printed, the table is still saved, and the exit code says nothing matched."""
    figs = tmp_path / "later.csv"
    figs.write_text("quantity,geography,period,value,unit,source_title,source_address,note\n"
                    "CLA at 31 March,Cambridgeshire,2030,700,children,a forecast,,\n"
                    "Number of social workers,Cambridgeshire,2016,300,staff,a survey,,\n", encoding="utf-8")
    out = tmp_path / "table.csv"
    assert cli(DEFAULT_CONFIG, "--against", figs, "--reps", 1, "--out", out) == 1
    captured = capsys.readouterr()
    assert "No figure could be compared" in captured.out and "after the run ends" in captured.out
    assert str(figs) in captured.err and "no figure" in captured.err
    assert len(pd.read_csv(out)) == 2


def test_cli_bad_input_exits_2(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("quantity,geography,period\nCLA at 31 March,Cambridgeshire,2016\n", encoding="utf-8")
    assert cli(DEFAULT_CONFIG, "--against", bad, "--reps", 1) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "'value'" in err
    assert cli(DEFAULT_CONFIG, "--against", SHARED, "--reps", 1, "--geography", "Narnia") == 2
    assert "Narnia" in capsys.readouterr().err
    broken = tmp_path / "broken.yaml"
    broken.write_text(DEFAULT_CONFIG.read_text(encoding="utf-8").replace("male_share: 0.54", "male_share: 1.54", 1),
                      encoding="utf-8")
    assert cli(broken, "--against", SHARED, "--reps", 1) == 2
    assert "male_share" in capsys.readouterr().err
    assert cli(DEFAULT_CONFIG, "--against", SHARED, "--backtest-until", 2015) == 2


def test_rebase_start_compares_in_sample_from_the_published_stock(tmp_path, capsys):
    """`--rebase-start 2014` without a back-test runs the config from 1 April 2014, starting
    from the 501 published at 31 March 2014, and compares 2014-15 as well as 2015-16."""
    out = tmp_path / "insample.csv"
    assert cli(DEFAULT_CONFIG, "--against", SHARED, "--reps", 2, "--seed", 3, "--rebase-start", 2014,
               "--out", out) == 0
    text = capsys.readouterr().out
    assert "from the published stock of 501 at 31 March 2014" in text
    assert "By period: 2015: " in text and "; 2016: " in text
    t = pd.read_csv(out, dtype={"period": str})
    stock = t[(t["quantity"] == "CLA at 31 March") & (t["status"] == "compared")]
    assert set(stock["period"]) == {"2015", "2016"}
    # the saved table says which run it compares: the rebased start, not the config's
    assert t[["run_config", "run_start", "run_end", "run_reps", "run_seed"]].drop_duplicates().values.tolist() == [
        ["cambridgeshire-2015", "2014-04-01", "2016-03-31", 2, 3]]
    assert cli(DEFAULT_CONFIG, "--against", SHARED, "--reps", 1, "--rebase-start", 2016) == 2  # only moves back
    assert "only moves the start back" in capsys.readouterr().err


def test_rebase_start_starts_from_the_councils_own_stock(capsys):
    """The figures file holds several councils: Buckinghamshire's run starts from its own 438
    at 31 March 2014, not from another council's stock (QA: England started from 501)."""
    bucks = ROOT / "configs" / "buckinghamshire-2015.yaml"
    assert cli(bucks, "--against", SHARED, "--reps", 1, "--rebase-start", 2014) == 0
    text = capsys.readouterr().out
    assert "from the published stock of 438 at 31 March 2014" in text
    assert "UASC at the start: 17 " in text


def test_rebase_start_says_what_it_assumes_when_no_uasc_stock_is_published():
    """England publishes no UASC stock for 31 March 2013: the notes say the starting UASC were
    scaled from the config and that no UASC arrive before the config's series begins, rather
    than calling a fallback 'the published rise' (QA)."""
    from carejourney.calibrate.aggregate_rebase import rebase_start
    from carejourney.config.loader import read_config_chain
    from carejourney.validate.figures import select_geography
    data = read_config_chain(ROOT / "configs" / "england-2015.yaml")[0]
    _, notes = rebase_start(data, select_geography(read_figures(SHARED), "England"), 2013)
    text = "\n".join(notes)
    assert "no UASC stock is published for 31 March 2013" in text
    assert "none simulated" in text
    assert "the published rise" not in text


@pytest.mark.parametrize("year", [0, 10000])
def test_rebase_start_outside_any_calendar_is_a_clear_error(year, capsys):
    assert cli(DEFAULT_CONFIG, "--against", SHARED, "--reps", 1, "--rebase-start", year) == 2
    assert capsys.readouterr().err.strip() == f"error: --rebase-start {year}: not a year to start a run in"


def test_rebase_start_checks_the_rebased_config(monkeypatch, capsys):
    """England's stock started on Cambridgeshire's population (a wrong --geography) gets the
    plausibility warning the rebased config deserves (QA: it ran silently)."""
    import importlib
    vc = importlib.import_module("carejourney.validate.compare")  # the module, not the function

    def no_run(cfg, figures, *a, **k):  # the warning is printed before anything is simulated
        raise SystemExit(0)
    monkeypatch.setattr(vc, "compare", no_run)
    with pytest.raises(SystemExit):
        cli(DEFAULT_CONFIG, "--against", SHARED, "--reps", 1, "--rebase-start", 2014, "--geography", "England")
    err = capsys.readouterr().err
    assert "warning: " in err and "the 68,810 looked after at the start" in err and "another council's" in err
