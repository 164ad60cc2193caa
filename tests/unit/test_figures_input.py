"""A malformed row of a published-figures file is bad input, not a figure "not compared".

`compare --against` (and `compare --backtest-until`, and `fit`, which read the file the same
way) must exit 2 naming the file, the row as a spreadsheet shows it (the header is row 1)
and the field, and write nothing. A bad row of another geography than the one compared
only gets a warning; read without a geography (the Python API) every row is checked.
"""

from __future__ import annotations

import pytest

from carejourney.cli import main
from carejourney.validate.figures import FiguresError, read_figures
from tests.conftest import ROOT
from tests.unit.test_validate_figures import HEADER, write

CONFIG = str(ROOT / "configs" / "cambridgeshire-2015.yaml")
PARAMS = str(ROOT / "experiments" / "fit-params-cambridgeshire.yaml")
GOOD = "CLA at 31 March,Cambridgeshire,2016,607,children,,,\n"  # row 2


def figures(tmp_path, second_row: str):
    return write(tmp_path, HEADER + GOOD + second_row + "\n")


@pytest.mark.parametrize("period", ["20x6", "2016-17a", "", "2016-15", "2106"])
def test_compare_refuses_a_malformed_period_naming_file_row_and_field(tmp_path, capsys, period):
    p = figures(tmp_path, f"Children ceasing to be looked after during year,Cambridgeshire,{period},271,children,,,")
    out = tmp_path / "comparison.csv"
    assert main(["compare", CONFIG, "--against", str(p), "--reps", "1", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"{p}: 1 problem(s):\n  - row 3, field 'period': " in err and "Traceback" not in err
    assert not out.exists()


@pytest.mark.parametrize("value", ["6O7", "4x0 / 5"])
def test_compare_refuses_a_value_that_is_not_a_number(tmp_path, capsys, value):
    # a composite value that does not pair with its period is kept as text, but each part must be a number
    p = figures(tmp_path, f"Children ceasing to be looked after during year,Cambridgeshire,2016,{value},children,,,")
    out = tmp_path / "comparison.csv"
    assert main(["compare", CONFIG, "--against", str(p), "--reps", "1", "--out", str(out)]) == 2
    assert "row 3, field 'value': '" in capsys.readouterr().err
    assert not out.exists()


def test_backtest_refuses_a_malformed_period_before_fitting_and_writes_no_report(tmp_path, capsys):
    p = figures(tmp_path, "Children ceasing to be looked after during year,Cambridgeshire,20x6,271,children,,,")
    out, report = tmp_path / "comparison.csv", tmp_path / "backtest.md"
    assert main(["compare", CONFIG, "--against", str(p), "--backtest-until", "2015", "--params", PARAMS,
                 "--out", str(out), "--report", str(report)]) == 2
    assert "row 3, field 'period': '20x6'" in capsys.readouterr().err
    assert not out.exists() and not report.exists()


def test_a_malformed_row_of_another_geography_is_a_warning_not_an_error(tmp_path, capsys):
    p = write(tmp_path, HEADER + GOOD + "Children ceasing to be looked after during year,Cambridgeshire,2016,271,"
              "children,,,\nCLA at 31 March,Wiltshire,20x6,404,children,,,\n")
    assert main(["compare", CONFIG, "--against", str(p), "--reps", "1"]) == 0
    captured = capsys.readouterr()
    assert f"warning: {p}: 1 problem(s) in rows of other geographies, left out: row 4, field 'period': " \
           "'20x6'" in captured.err
    assert "(Wiltshire)" in captured.err
    assert main(["compare", CONFIG, "--against", str(p), "--reps", "1", "--geography", "wiltshire"]) == 2
    assert "row 4, field 'period': '20x6'" in capsys.readouterr().err


def test_read_without_a_geography_checks_every_row(tmp_path):
    p = figures(tmp_path, "CLA at 31 March,Wiltshire,20x6,404,children,,,")
    with pytest.raises(FiguresError, match=r"row 3, field 'period': '20x6' is not a year ending 31 March"):
        read_figures(p)
    elsewhere = []
    f = read_figures(p, "Cambridgeshire", elsewhere)
    assert list(f["geography"]) == ["Cambridgeshire"] and len(elsewhere) == 1 and "row 3" in elsewhere[0]


def test_a_row_naming_no_geography_stops_every_comparison(tmp_path):
    p = figures(tmp_path, "CLA at 31 March,,2016,404,children,,,")
    with pytest.raises(FiguresError, match=r"row 3, field 'geography': empty"):
        read_figures(p, "Cambridgeshire")


def test_conflicting_figures_of_another_geography_do_not_stop_this_one(tmp_path):
    p = write(tmp_path, HEADER + GOOD + "CLA at 31 March,Wiltshire,2016,404,children,,,\n"
                                        "CLA at 31 March,Wiltshire,2016,405,children,,,\n")
    elsewhere = []
    assert list(read_figures(p, "Cambridgeshire", elsewhere)["value"]) == [607, 404, 405]
    assert elsewhere and elsewhere[0].startswith("rows 3 and 4:")
    with pytest.raises(FiguresError, match="rows 3 and 4"):
        read_figures(p, "Wiltshire")


@pytest.mark.parametrize("period", ["c.2016", "2009-2011", "2015-18 (3-yr average)", "2006/07 cohort",
                                    "2019/20-ish (CMA interim 2021)", "2016/17 prices (Unit Costs 2017)",
                                    "2012 / 2014"])
def test_periods_written_so_on_purpose_are_kept_and_not_compared(tmp_path, period):
    f = read_figures(figures(tmp_path, f"Unit cost,Cambridgeshire,{period},600,GBP per week,,,"))
    assert f.loc[1, "period"] == period and f["year"].isna().tolist() == [False, True]


def test_the_shared_published_figures_still_read():
    shared = ROOT.parent / "shared" / "data" / "published_figures.csv"
    if not shared.exists():
        pytest.skip("../shared/data/published_figures.csv is not beside the repository")
    assert len(read_figures(shared)) > 600


def test_fit_reads_the_file_as_compare_does(tmp_path, capsys):
    # a bad row of the fitted council stops the fit before it starts, and nothing is written
    p = figures(tmp_path, "CLA at 31 March,Cambridgeshire,2016-17a,404,children,,,")
    out = tmp_path / "fitted.yaml"
    assert main(["fit", CONFIG, "--against", str(p), "--params", PARAMS, "--out", str(out)]) == 2
    assert "row 3, field 'period': '2016-17a'" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == [p]
    # a bad row of another council is only a warning (the fit then fails for want of 2015
    # figures to fit in this tiny file, which is not what is tested here)
    p.write_text(p.read_text().replace("Cambridgeshire,2016-17a", "Wiltshire,2016-17a"))
    main(["fit", CONFIG, "--against", str(p), "--params", PARAMS, "--out", str(out)])
    err = capsys.readouterr().err
    assert f"warning: {p}: 1 problem(s) in rows of other geographies, left out: row 3" in err
    assert "(Wiltshire)" in err


@pytest.mark.parametrize("value", ["1,6,07", "1_000", "16,07"])
def test_a_value_with_stray_separators_is_a_typo_not_a_number(tmp_path, value):
    # float() would read '1_000', and dropping every comma would read '1,6,07' as 1,607
    p = figures(tmp_path, f'Children ceasing to be looked after during year,Cambridgeshire,2016,"{value}",children,,,')
    with pytest.raises(FiguresError, match=r"row 3, field 'value': '.*' is not a number"):
        read_figures(p)


@pytest.mark.parametrize("value", ["[c]", "low", "[low]", "u", "n.a.", "<5", "[x]", "[z]"])
def test_dfe_suppression_markers_read_as_not_available(tmp_path, value):
    f = read_figures(figures(tmp_path, f"Children ceasing to be looked after during year,Cambridgeshire,2016,"
                                       f"{value},children,,,"))
    assert f["value"].isna().tolist() == [False, True]


def test_a_period_with_an_en_dash_is_the_year_it_says(tmp_path):
    f = read_figures(figures(tmp_path, "Children ceasing to be looked after during year,Cambridgeshire,2015\u201316,"
                                       "271,children,,,"))
    assert f["year"].tolist() == [2016, 2016]


def test_rows_whose_geography_differs_only_in_case_or_spaces_are_the_same_council(tmp_path):
    # select_geography kept only the first spelling met: the other rows were silently not compared
    from carejourney.validate.figures import select_geography

    p = figures(tmp_path, "Children ceasing to be looked after during year, CAMBRIDGESHIRE ,2016,271,children,,,")
    assert len(select_geography(read_figures(p), "cambridgeshire")) == 2
