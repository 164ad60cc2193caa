"""Bad input files are refused with the file and the line, row or field named (F7, F8).

F7a actuals CSV (`report --actuals`), F7b published figures (`compare` / `fit --against`),
F7c fit params bounds (`fit --params`), F8 SSDA903 returns (`calibrate`).
"""

from __future__ import annotations

import pandas as pd
import pytest

from carejourney.calibrate.aggregate_params import (
    ParamsError,
    free_parameters,
    parse_params,
)
from carejourney.cli import main
from carejourney.report import ReportError
from carejourney.report.inputs import load_actuals
from carejourney.ssda903 import Ssda903Error, clean, read_ssda903
from carejourney.validate.figures import FiguresError, read_figures
from tests.conftest import load_default_dict
from tests.unit.test_report import make_results
from tests.unit.test_ssda903_read import (
    EPISODE_COLS,
    HEADER_COLS,
    episode_row,
    header_row,
    write_csv,
    write_return,
)
from tests.unit.test_validate_figures import HEADER, write

ACTUALS_HEADER = "date,lac_children\n"


# --------------------------------------------------------------------------- F7a actuals
@pytest.mark.parametrize("count", ["-577", "577.5", "1e308", "inf", "1000001"])
def test_actual_count_that_is_not_a_count_names_the_row(tmp_path, count):
    p = write(tmp_path, ACTUALS_HEADER + f"2015-10-31,570\n2015-11-30,{count}\n", "actuals.csv")
    with pytest.raises(ReportError, match=r"actuals.csv: row 3, field 'lac_children': .*not a count of children"):
        load_actuals(p)


def test_actual_counts_with_a_thousands_separator_are_read(tmp_path):
    """QA: '1,000' (quoted, as a spreadsheet writes it) was refused as not a number."""
    p = write(tmp_path, ACTUALS_HEADER + '2015-10-31,"1,070"\n2015-11-30,577\n', "actuals.csv")
    assert load_actuals(p)["lac_children"].tolist() == [1070, 577]
    bad = write(tmp_path, ACTUALS_HEADER + '2015-10-31,"1,0,70"\n', "bad.csv")
    with pytest.raises(ReportError, match=r"bad.csv: row 2, field 'lac_children': '1,0,70' is not a number"):
        load_actuals(bad)


def test_actuals_without_rows_is_an_error(tmp_path):
    p = write(tmp_path, ACTUALS_HEADER, "actuals.csv")
    with pytest.raises(ReportError, match="actuals.csv: no rows"):
        load_actuals(p)


def test_actual_date_not_a_month_end_is_moved_with_a_note(tmp_path):
    p = write(tmp_path, ACTUALS_HEADER + "2015-10-31,570\n2015-11-15,577\n", "actuals.csv")
    notes = []
    out = load_actuals(p, warn=notes.append)
    assert [f"{d:%Y-%m-%d}" for d in out["date"]] == ["2015-10-31", "2015-11-30"]
    assert len(notes) == 1 and "row 3: 2015-11-15 -> 2015-11-30" in notes[0] and "actuals.csv" in notes[0]


def test_actuals_as_a_spreadsheet_saves_them_read_the_same(tmp_path):
    # UK dates, capitalised headers, a byte-order mark or Windows-1252 bytes, as Excel writes
    iso = load_actuals(write(tmp_path, ACTUALS_HEADER + "2015-10-31,570\n2015-11-30,577\n", "a.csv"))
    uk = tmp_path / "b.csv"
    uk.write_bytes("\ufeffDate,LAC_Children\n31/10/2015,570\n30/11/2015,577\n".encode("utf-8"))
    cp = tmp_path / "c.csv"
    cp.write_bytes(b"date,lac_children,note\n2015-10-31,570,caf\xe9\n2015-11-30,577,\n")
    for other in (uk, cp):
        pd.testing.assert_frame_equal(load_actuals(other), iso)


def test_an_ambiguous_or_impossible_uk_date_names_its_row(tmp_path):
    p = write(tmp_path, ACTUALS_HEADER + "31/10/2015,570\n31/11/2015,577\n", "actuals.csv")
    with pytest.raises(ReportError, match=r"actuals.csv: row 3, field 'date': '31/11/2015' is not a date"):
        load_actuals(p)


def test_actuals_folder_is_named_as_a_folder(tmp_path, capsys):
    results = make_results(tmp_path / "results")
    (tmp_path / "actuals").mkdir()
    assert main(["report", str(results), "--actuals", str(tmp_path / "actuals")]) == 2
    err = capsys.readouterr().err
    assert "is a folder" in err and "Traceback" not in err
    assert not (results / "report").exists()


# --------------------------------------------------------------------------- F7b published figures
CLA = "CLA at 31 March,Cambridgeshire,2016"


@pytest.mark.parametrize("value", ["-607", "inf", "1e308"])
def test_published_value_that_cannot_be_a_figure_names_the_row(tmp_path, value):
    p = write(tmp_path, HEADER + f"{CLA},532,children,,,\nCLA at 31 March,Cambridgeshire,2015,{value},children,,,\n")
    with pytest.raises(FiguresError, match=r"row 3, field 'value'"):
        read_figures(p)


def test_same_figure_twice_with_different_values_names_both_rows(tmp_path):
    p = write(tmp_path, HEADER + f"{CLA},607,children,,,\nStarts,England,2016,1,children,,,\n{CLA},9999,children,,,\n")
    with pytest.raises(FiguresError, match=r"rows 2 and 4: 'CLA at 31 March' .* \(607 and 9999\)"):
        read_figures(p)


def test_same_figure_twice_with_the_same_value_is_accepted(tmp_path):
    # the shared published_figures.csv repeats England's 2015 stock from two sources
    p = write(tmp_path, HEADER + f"{CLA},607,children,a,,\n{CLA},607,children,b,,\n")
    assert len(read_figures(p)) == 2


def test_unit_contradicting_the_mapping_names_the_row(tmp_path):
    p = write(tmp_path, HEADER + f"{CLA},607,percent,,,\n")
    with pytest.raises(FiguresError, match=r"row 2, field 'unit': 'percent' .*'children'"):
        read_figures(p)
    ok = write(tmp_path, HEADER + f"{CLA},607,children (75%),,,\nStarts aged 16 and over (% of starts),"
                                  "England,2016,18,percent,,,\n\"CLA rate per 10,000 children under 18\","
                                  "Cambridgeshire,2016,45,\"per 10,000\",,,\n", "ok.csv")
    assert len(read_figures(ok)) == 3


def test_figures_folder_is_an_error_not_a_traceback(tmp_path):
    with pytest.raises(FiguresError, match="is a folder"):
        read_figures(tmp_path)


# --------------------------------------------------------------------------- F7c fit params bounds
@pytest.mark.parametrize("path, bounds, end", [
    ("exits.returned_home.days.mean_days", [-400, 3000], "low bound -400"),
    ("exits.at_18.supported_living_share", [0, 5], "high bound 5"),
])
def test_bound_outside_the_config_schema_names_file_and_parameter(path, bounds, end):
    spec = parse_params({"parameters": {path: bounds}}, "params.yaml")
    with pytest.raises(ParamsError, match=rf"params.yaml: parameters.{path}: the {end} is not a valid config"):
        free_parameters(load_default_dict(), spec, "params.yaml")


def test_bounds_inside_the_schema_are_accepted():
    spec = parse_params({"parameters": {"exits.at_18.supported_living_share": [0, 1],
                                        "exits.adoption.adopter_approvals_per_year": [10.4, 90]}})
    params = free_parameters(load_default_dict(), spec)
    assert [p.path for p in params] == ["exits.at_18.supported_living_share",
                                        "exits.adoption.adopter_approvals_per_year"]


# --------------------------------------------------------------------------- F8 SSDA903
def test_episode_of_an_adult_is_reported_and_dropped(tmp_path):
    write_return(tmp_path, 2016, [header_row("C001"), header_row("C002", dob="01/01/1900")],
                 [episode_row("C001", "01/05/2015"), episode_row("C002", "01/06/2015")])
    cleaned = clean(read_ssda903(tmp_path))
    assert len(cleaned.episodes) == 1 and len(cleaned.children) == 1
    dropped = cleaned.report[cleaned.report["rule"] == "aged_18_or_over"]
    assert list(zip(dropped["file"], dropped["row"])) == [("2016/episodes.csv", 3)]
    assert "aged 115" in dropped["why"].iloc[0]
    assert "2016/episodes.csv row 3: child aged 115" in cleaned.summary()


def test_episode_starting_the_day_before_the_18th_birthday_is_kept(tmp_path):
    write_return(tmp_path, 2016, [header_row("C001", dob="02/06/1997")], [episode_row("C001", "01/06/2015")])
    assert len(clean(read_ssda903(tmp_path)).episodes) == 1


@pytest.mark.parametrize("dec, rec, kept_rec", [("", "", "E8"), ("01/02/2016", "E4A", "E4A")])
def test_episode_running_past_the_18th_birthday_ends_on_it_and_is_reported(tmp_path, dec, rec, kept_rec):
    """QA: a DOB typo left a 20-year-old in the opening stock, counted as 16-17, with no note."""
    write_return(tmp_path, 2016, [header_row("C001", dob="02/06/1997")], [episode_row("C001", "01/06/2015", dec, rec)])
    cleaned = clean(read_ssda903(tmp_path))
    ep = cleaned.episodes.iloc[0]
    assert ep["end"] == pd.Timestamp(2015, 6, 2) and ep["REC"] == kept_rec
    assert cleaned.periods["end"].iloc[0] == pd.Timestamp(2015, 6, 2)
    assert ep["exit_route"] == ("turned_18_other" if kept_rec == "E8" else "returned_home_planned")
    changed = cleaned.report[cleaned.report["rule"] == "ended_at_18"]
    assert list(zip(changed["file"], changed["row"], changed["action"])) == [("2016/episodes.csv", 2, "changed")]
    assert "18th birthday 2015-06-02" in changed["why"].iloc[0]
    assert "2016/episodes.csv row 2: DEC" in cleaned.summary()


def test_year_whose_episodes_file_has_no_rows_is_warned_about(tmp_path):
    write_return(tmp_path, 2016, [header_row("C001")], [episode_row("C001", "01/05/2015")])
    write_return(tmp_path, 2017, [header_row("C001")], [])
    data = read_ssda903(tmp_path)
    assert len(data.warnings) == 1 and data.warnings[0].startswith("2017/episodes.csv: no episodes")
    assert "warning: 2017/episodes.csv: no episodes" in clean(data).summary()


# --------------------------------------------------------------------------- third QA pass
def test_actuals_with_a_trailing_comma_on_each_row_read_as_without(tmp_path):
    # Excel writes a trailing comma when a blank column follows; pandas took it as an index column
    plain = load_actuals(write(tmp_path, ACTUALS_HEADER + "2015-10-31,570\n2015-11-30,577\n", "a.csv"))
    trailing = load_actuals(write(tmp_path, ACTUALS_HEADER + "2015-10-31,570,\n2015-11-30,577,\n", "b.csv"))
    pd.testing.assert_frame_equal(trailing, plain)


@pytest.mark.parametrize("text, message", [
    ("Date,date,lac_children\n2015-10-31,2015-10-31,570\n", "a.csv: row 1, field 'date': column appears more than once"),
    (ACTUALS_HEADER + "2015-10-31,570\n2015-11-30,577,9\n",
     "a.csv: row 3: has 3 cells, the header has 2: a comma inside a cell that is not in quotes?"),
    # QA: a blank cell past the header on one row only was dropped, and the row read shifted
    # ('one' as the note, ' two' as the next column)
    ("date,lac_children,note,source\n2015-10-31,570,,\n2015-11-30,577,one, two,\n",
     "a.csv: row 3: has 5 cells, the header has 4: a comma inside a cell that is not in quotes?"),
])
def test_actuals_with_a_repeated_column_or_an_extra_cell_are_refused(tmp_path, text, message):
    with pytest.raises(ReportError) as err:
        load_actuals(path := write(tmp_path, text, "a.csv"))
    assert str(err.value) == str(path.parent / message)  # the path as given, then the place


def test_a_huge_bad_actual_is_shown_cut_short(tmp_path):
    p = write(tmp_path, ACTUALS_HEADER + "2015-10-31," + "9" * 100_000 + "x\n", "a.csv")
    with pytest.raises(ReportError) as err:
        load_actuals(p)
    assert len(str(err.value)) < 200 and "(100,001 characters)" in str(err.value)


def test_figures_after_blank_lines_are_named_by_their_own_line(tmp_path):
    p = write(tmp_path, HEADER + "CLA at 31 March,Cambridgeshire,2015,535,children,,,\n\n\n"
              "CLA at 31 March,Cambridgeshire,2016,abc,children,,,\n")
    with pytest.raises(FiguresError, match=r"row 5, field 'value': 'abc' is not a number"):
        read_figures(p)


def test_figures_with_a_repeated_column_are_refused_and_trailing_commas_ignored(tmp_path):
    row = "CLA at 31 March,Cambridgeshire,2016,607,children,,,"
    with pytest.raises(FiguresError, match=r"figures.csv, row 1, field QUANTITY: column appears more than once"):
        read_figures(write(tmp_path, HEADER.strip() + ",Quantity\n" + row + ",x\n"))
    f = read_figures(write(tmp_path, HEADER + row + ",\n", "t.csv"))
    assert f.loc[0, "value"] == 607 and f.loc[0, "row"] == 2


def test_a_runaway_ssda903_cell_names_its_row_not_a_traceback(tmp_path):
    root = tmp_path / "returns"
    write_return(root, 2016, [header_row("C001")],
                 [episode_row("C001", "01/05/2015", "01/06/2015", "E4A"),
                  episode_row("C002", '"' + "x" * 200_000, "", "")])
    with pytest.raises(Ssda903Error) as err:
        read_ssda903(root)
    assert "2016/episodes.csv, row 3: cannot be read as CSV" in str(err.value)


def test_year_of_an_unnamed_episodes_file_is_not_moved_by_one_mistyped_date(tmp_path):
    folder = tmp_path / "returns"
    write_csv(folder / "header.csv", HEADER_COLS, [header_row(f"C{i}") for i in range(4)])
    episodes = [episode_row(f"C{i}", "01/05/2016", "01/02/2017", "E4A") for i in range(3)]
    episodes.append(episode_row("C3", "01/05/2016", "01/02/2091", "E4A"))  # 2017 mistyped
    write_csv(folder / "episodes.csv", EPISODE_COLS, episodes)
    with pytest.raises(Ssda903Error) as err:
        read_ssda903(folder)
    problems = err.value.problems
    assert [(p.row, p.field) for p in problems] == [(5, "DEC")]
    assert "after the 2016-17 collection year" in problems[0].message


def test_uasc_birth_dates_must_agree_with_the_header_and_precede_duc(tmp_path):
    root = tmp_path / "returns"
    write_return(root, 2016, [header_row("C001", dob="01/01/2000")],
                 [episode_row("C001", "01/05/2015", "01/06/2015", "E4A")],
                 uasc=[["C001", "1", "01/01/2030", "01/01/2001"]])
    with pytest.raises(Ssda903Error) as err:
        read_ssda903(root)
    found = sorted((p.row, p.field, p.message) for p in err.value.problems)
    assert found == [(2, "DOB", "DOB is after the 2015-16 collection year"),
                     (2, "DOB", "differs from the child's DOB in the header file"),
                     (2, "DUC", "UASC status ceased (01/01/2001) before the child's DOB")]
