"""What reading does to a return unasked is in the cleaning report: lower-case codes read
upper-cased (each one listed, counted per field in the summary), files read as cp1252 (one
line per file), spaces removed around cells (a count per file and column)."""

from __future__ import annotations

import pandas as pd
import pytest

from carejourney.ssda903 import Ssda903Error, clean, pseudonymise, read_ssda903
from carejourney.ssda903.report import cleaning_csv
from tests.unit.test_ssda903_read import (
    EPISODE_COLS,
    HEADER_COLS,
    UASC_COLS,
    episode_row,
    header_row,
    write_csv,
    write_return,
)

SALT = "test-salt"


def rule_rows(cleaned, rule: str) -> pd.DataFrame:
    return cleaned.report[cleaned.report["rule"] == rule].reset_index(drop=True)


# --- 1. lower-case codes ---------------------------------------------------------------


def test_lower_case_codes_are_read_upper_cased_and_each_is_reported(tmp_path):
    write_return(
        tmp_path, 2016, [header_row("c001", sex="m")],
        [episode_row("c001", "01/05/2015", "01/06/2015", "e11", rne="s", ls="c2", cin="n1", place="u4",
                     provider="pr1")],
        [["c001", "m", "", ""]],
    )  # fmt: skip
    data = read_ssda903(tmp_path, salt=SALT)
    episode = data.episodes.iloc[0]
    assert [episode[f] for f in ("RNE", "LS", "CIN", "PLACE", "PLACE_PROVIDER", "REC")] == [
        "S", "C2", "N1", "U4", "PR1", "E11"]  # fmt: skip
    assert data.header["SEX"].tolist() == ["1"] and data.uasc["SEX"].tolist() == ["1"]
    # an identifier is no code: CHILD keeps its case (c001 is not C001)
    assert data.episodes["child_id"].iloc[0] == pseudonymise(pd.Series(["c001"]), SALT).iloc[0]

    c = clean(data)
    assert c.periods[["legal_status_at_entry", "placement_type_at_entry"]].values.tolist() == [
        ["care_order", "inhouse_foster"]]
    assert c.periods["exit_route"].tolist() == ["adopted"]
    upper = rule_rows(c, "code_upper_cased")
    assert set(upper["action"]) == {"changed"}
    assert set(zip(upper["file"], upper["row"], upper["field"], upper["why"])) == {
        ("2016/episodes.csv", 2, "RNE", "RNE 's' read as 'S'"),
        ("2016/episodes.csv", 2, "LS", "LS 'c2' read as 'C2'"),
        ("2016/episodes.csv", 2, "CIN", "CIN 'n1' read as 'N1'"),
        ("2016/episodes.csv", 2, "PLACE", "PLACE 'u4' read as 'U4'"),
        ("2016/episodes.csv", 2, "PLACE_PROVIDER", "PLACE_PROVIDER 'pr1' read as 'PR1'"),
        ("2016/episodes.csv", 2, "REC", "REC 'e11' read as 'E11'"),
        ("2016/header.csv", 2, "SEX", "SEX 'm' read as 'M'"),
        ("2016/uasc.csv", 2, "SEX", "SEX 'm' read as 'M'"),
    }
    assert set(upper["child_id"]) == {episode["child_id"]}  # the pseudonym, never CHILD
    assert "2016/episodes.csv,2,P" in cleaning_csv(c.report)


def test_many_lower_case_codes_are_counted_per_field_in_the_summary(tmp_path):
    children = [f"C{i:03}" for i in range(30)]
    write_return(tmp_path, 2016, [header_row(child, sex="m" if i < 4 else "1") for i, child in enumerate(children)],
                 [episode_row(child, "01/05/2015", ls="c2") for child in children])
    c = clean(read_ssda903(tmp_path, salt=SALT))
    assert len(rule_rows(c, "code_upper_cased")) == 34  # every one in the report
    summary = c.summary().splitlines()
    at = summary.index("  - 34 codes changed: code in lower case, read in upper case (e.g. c2 as C2)")
    assert summary[at + 1 : at + 3] == ["      LS: 30", "      SEX: 4"]
    assert not any("read as 'C2'" in line for line in summary)  # not a line per code


def test_free_codes_are_upper_cased_so_two_returns_agree_on_one_episode(tmp_path):
    """ETHNIC and REASON_PLACE_CHANGE have no code list here, but an episode carried into the
    next return with 'carpl' for 'CARPL' was two episodes, not one."""
    header = header_row("C001")
    header[3] = "wbri"
    first = episode_row("C001", "01/05/2015")
    first[9] = "carpl"
    second = episode_row("C001", "01/05/2015")
    second[9] = "CARPL"
    write_return(tmp_path, 2016, [header], [first])
    write_return(tmp_path, 2017, [header_row("C001")], [second])
    data = read_ssda903(tmp_path, salt=SALT)
    assert set(data.episodes["REASON_PLACE_CHANGE"]) == {"CARPL"}
    assert set(data.header["ETHNIC"]) == {"WBRI"}
    c = clean(data)
    assert len(c.episodes) == 1
    upper = rule_rows(c, "code_upper_cased")
    assert set(upper["why"]) == {"ETHNIC 'wbri' read as 'WBRI'", "REASON_PLACE_CHANGE 'carpl' read as 'CARPL'"}


@pytest.mark.parametrize("field, code", [("LS", "zz"), ("PLACE", "u9"), ("RNE", "Q")])
def test_a_code_unknown_in_upper_case_too_is_still_refused_as_written(tmp_path, field, code):
    values = dict(zip(EPISODE_COLS, episode_row("C001", "01/05/2015")))
    values[field] = code
    write_return(tmp_path, 2016, [header_row("C001")], [list(values.values())])
    with pytest.raises(Ssda903Error) as info:
        read_ssda903(tmp_path)
    assert [str(p) for p in info.value.problems] == [
        f"2016/episodes.csv, row 2, field {field}: '{code}' is not a valid {field} code in 2015-16"]


# --- 2. the cp1252 fallback --------------------------------------------------------------


def test_each_file_read_as_cp1252_is_named_in_the_report_and_the_summary(tmp_path):
    folder = write_return(tmp_path, 2016, [], [episode_row("Cé01", "01/05/2015")])
    write_csv(folder / "header.csv", HEADER_COLS, [header_row("Cé01")], encoding="cp1252")
    write_csv(folder / "uasc.csv", UASC_COLS, [], encoding="utf-8-sig")  # a byte-order mark is UTF-8
    c = clean(read_ssda903(tmp_path, salt=SALT))
    flagged = rule_rows(c, "read_as_cp1252")
    assert flagged["file"].tolist() == ["2016/header.csv"]
    assert flagged["row"].isna().all() and flagged["child_id"].isna().all()
    assert flagged["action"].tolist() == ["flagged"]
    summary = c.summary()
    assert "  - 1 file flagged: not UTF-8: read as cp1252" in summary
    assert "      2016/header.csv: read as cp1252 (Windows text), not UTF-8" in summary
    assert "2016/header.csv,,,flagged,read_as_cp1252," in cleaning_csv(c.report)  # row and child blank


def test_utf8_returns_report_no_encoding(tmp_path):
    write_return(tmp_path, 2016, [header_row("Cé01")], [episode_row("Cé01", "01/05/2015")])
    c = clean(read_ssda903(tmp_path, salt=SALT))
    assert c.report.empty and "cp1252" not in c.summary()


# --- 3. spaces around cells ---------------------------------------------------------------


def test_spaces_removed_are_counted_per_file_and_column(tmp_path):
    episodes = [episode_row(f"C00{i}", "01/05/2015", place=" U4 ", ls="C2 " if i == 1 else "C2") for i in range(3)]
    episodes[0][EPISODE_COLS.index("HOME_POST")] = " CB1 2AB"  # a column never kept: not counted
    write_return(tmp_path, 2016, [header_row(f"C00{i}") for i in range(3)], episodes)
    write_return(tmp_path, 2017, [header_row(" C000")], [episode_row("C000", "01/05/2016", place="U4\t")])
    c = clean(read_ssda903(tmp_path, salt=SALT))
    spaces = rule_rows(c, "spaces_removed")
    assert list(zip(spaces["file"], spaces["why"])) == [
        ("2016/episodes.csv", "1 cell in LS had surrounding spaces removed"),
        ("2016/episodes.csv", "3 cells in PLACE had surrounding spaces removed"),
        ("2017/episodes.csv", "1 cell in PLACE had surrounding spaces removed"),
        ("2017/header.csv", "1 cell in CHILD had surrounding spaces removed"),
    ]
    assert spaces["field"].tolist() == ["LS", "PLACE", "PLACE", "CHILD"]
    assert spaces["row"].isna().all() and set(spaces["action"]) == {"changed"}
    summary = c.summary()
    assert "  - 4 columns changed: spaces around cells' values removed" in summary
    assert "      2016/episodes.csv: 3 cells in PLACE had surrounding spaces removed" in summary
    assert c.episodes["PLACE"].tolist() == ["U4"] * 4  # stripped as before


def test_reading_counts_only_cells_whose_stripped_value_differs(tmp_path):
    from carejourney.ssda903.csvfile import read_csv_noting

    path = tmp_path / "episodes.csv"
    path.write_bytes("CHILD,PLACE,NOTE\nC1, U4,\nC2,U4 ,  \nC3,U4,x\n".encode("cp1252"))
    table, problems, notes = read_csv_noting(path, "episodes.csv")
    assert problems == [] and table["PLACE"].tolist() == ["U4"] * 3
    assert dict(notes.spaces_removed) == {"PLACE": 2, "NOTE": 1} and notes.encoding == "utf-8"
