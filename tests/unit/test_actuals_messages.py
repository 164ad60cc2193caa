"""`report --actuals FILE.csv`: every message names a place in the file the same way as the
published figures' messages do: "row N" as a spreadsheet shows it (the header is row 1,
blank rows count) and "field 'name'"; never "line"."""

from __future__ import annotations

import pytest

from carejourney.cli import main
from carejourney.report import ReportError
from carejourney.report.inputs import load_actuals
from tests.unit.test_report import make_results

HEADER = "date,lac_children\n"


def actuals(tmp_path, text):
    p = tmp_path / "actuals.csv"
    p.write_text(text, encoding="utf-8")
    return p


@pytest.mark.parametrize("text, where", [
    # a blank row before the bad one: still counted, as a spreadsheet shows it
    (HEADER + "2015-10-31,570\n\n2015-11-3x,577\n", "row 4, field 'date': '2015-11-3x' is not a date"),
    (HEADER + "2015-10-31,570\n2015-11-30,5x7\n", "row 3, field 'lac_children': '5x7' is not a number"),
    (HEADER + "2015-10-31,570\n2015-11-30,-1\n", "row 3, field 'lac_children': '-1' is not a count"),
    (HEADER + "2015-10-31,570\n,577\n", "row 3, field 'date': blank value"),
    (HEADER + "2015-10-31,570\n2015-11-30,577,9\n", "row 3: has 3 cells, the header has 2"),
    ("date,Date,lac_children\n2015-10-31,2015-10-31,570\n", "row 1, field 'date': column appears more than once"),
    (HEADER + "2015-10-31,570\n2015-11-30,577\n2015-11-15,578\n",
     "rows 3 and 4: more than one count for the month ending 2015-11-30"),
])
def test_bad_actuals_name_the_row_and_field(tmp_path, text, where):
    with pytest.raises(ReportError) as err:
        load_actuals(actuals(tmp_path, text), warn=lambda msg: None)
    path = actuals(tmp_path, text)
    assert str(err.value).startswith(f"{path}: {where}")  # the path as given, as config errors name it
    assert "line" not in str(err.value)


def test_more_bad_values_are_counted_in_rows(tmp_path):
    with pytest.raises(ReportError, match=r"row 2, field 'lac_children': .* \(and 1 more row\(s\) like it\)"):
        load_actuals(actuals(tmp_path, HEADER + "2015-10-31,x\n2015-11-30,y\n"))


def test_a_date_moved_to_its_month_end_is_named_by_its_row(tmp_path):
    notes = []
    load_actuals(actuals(tmp_path, HEADER + "2015-10-31,570\n\n2015-11-15,577\n"), warn=notes.append)
    assert len(notes) == 1 and "e.g. row 4: 2015-11-15 -> 2015-11-30" in notes[0] and "line" not in notes[0]


def test_report_prints_the_row_and_field_and_writes_nothing(tmp_path, capsys):
    results = make_results(tmp_path / "results")
    p = actuals(tmp_path, HEADER + "2016-01-31,600\n2016-02-29,60O\n")
    assert main(["report", str(results), "--actuals", str(p)]) == 2
    assert capsys.readouterr().err.strip() == (f"error: {p}: row 3, field 'lac_children': '60O' is not "
                                                "a number")
    assert not (results / "report").exists()
