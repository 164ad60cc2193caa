"""read_ssda903: malformed inputs give one Ssda903Error naming file, row and field."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from carejourney.ssda903 import Ssda903Error, clean, read_ssda903
from carejourney.ssda903.errors import MAX_SHOWN

HEADER_COLS = ["CHILD", "SEX", "DOB", "ETHNIC", "UPN", "MOTHER", "MC_DOB"]
EPISODE_COLS = [
    "CHILD", "DECOM", "RNE", "LS", "CIN", "PLACE", "PLACE_PROVIDER", "DEC", "REC",
    "REASON_PLACE_CHANGE", "HOME_POST", "PL_POST", "URN",
]  # fmt: skip
UASC_COLS = ["CHILD", "SEX", "DOB", "DUC"]


def write_csv(path: Path, columns: list[str], rows: list[list[str]], encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [",".join(columns), *(",".join(r) for r in rows)]
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


def header_row(child: str, dob: str = "01/01/2008", sex: str = "1", upn: str = "A123456789012") -> list[str]:
    return [child, sex, dob, "WBRI", upn, "", ""]


def episode_row(
    child: str, decom: str, dec: str = "", rec: str = "", *, rne: str = "S", ls: str = "C2",
    cin: str = "N1", place: str = "U4", provider: str = "PR1",
) -> list[str]:  # fmt: skip
    return [child, decom, rne, ls, cin, place, provider, dec, rec, "", "CB1 2AB", "CB4 9ZZ", "SC123456"]


def write_return(root: Path, year: int | str, headers, episodes, uasc=()) -> Path:
    """One year's header, episodes and UASC files (a UASC file with no rows by default, as in a
    real return; uasc=None: no UASC file)."""
    folder = root / str(year)
    write_csv(folder / "header.csv", HEADER_COLS, headers)
    write_csv(folder / "episodes.csv", EPISODE_COLS, episodes)
    if uasc is not None:
        write_csv(folder / "uasc.csv", UASC_COLS, uasc)
    return folder


def read_error(path: Path) -> Ssda903Error:
    with pytest.raises(Ssda903Error) as info:
        read_ssda903(path)
    return info.value


# --- valid input -------------------------------------------------------------------------


def test_valid_return_reads_with_rows_years_and_dates(tmp_path):
    write_return(
        tmp_path,
        2016,
        [header_row("C001"), header_row("C002", dob="2010-03-04", sex="2")],
        [
            episode_row("C001", "01/05/2015", "2015-09-01", "X1"),
            episode_row("C001", "01/09/2015", rne="P", place="U6", provider="PR4"),
            episode_row("C002", "2016-01-10", "20/03/2016", "E4A", ls="V2"),
        ],
    )
    data = read_ssda903(tmp_path)
    ep = data.episodes
    assert list(ep["source_row"]) == [2, 3, 4]
    assert set(ep["year"]) == {2016}
    assert set(ep["source_file"]) == {"2016/episodes.csv"}
    assert ep["DECOM"].tolist() == [
        pd.Timestamp("2015-05-01"),
        pd.Timestamp("2015-09-01"),
        pd.Timestamp("2016-01-10"),
    ]
    assert ep["DEC"].isna().tolist() == [False, True, False]
    assert data.header.loc[data.header["SEX"] == "2", "DOB"].iloc[0] == pd.Timestamp("2010-03-04")
    assert data.uasc.empty
    # the same child has the same pseudonym in header and episodes, and no CHILD column is kept
    assert set(ep["child_id"]) == set(data.header["child_id"])
    for table in (data.header, data.episodes, data.uasc):
        assert not {"CHILD", "UPN", "HOME_POST", "PL_POST", "URN", "MOTHER", "MC_DOB"} & set(table.columns)


def test_year_inferred_from_latest_date_when_folder_has_no_year(tmp_path):
    folder = tmp_path / "returns"
    write_csv(folder / "Header.CSV", HEADER_COLS, [header_row("C001")])
    write_csv(
        folder / "SSDA903_Episodes.csv",
        EPISODE_COLS,
        [episode_row("C001", "01/05/2016", "01/02/2017", "E4A")],
    )
    assert read_ssda903(folder).episodes["year"].tolist() == [2017]


def test_reading_one_year_folder_takes_the_year_from_its_name(tmp_path):
    folder = write_return(tmp_path, "2015-16", [header_row("C001")], [episode_row("C001", "01/05/2015")])
    assert read_ssda903(folder).episodes["year"].tolist() == [2016]


def test_several_years_in_one_folder_by_file_name(tmp_path):
    write_csv(tmp_path / "header_2016.csv", HEADER_COLS, [header_row("C001")])
    write_csv(tmp_path / "episodes_2016.csv", EPISODE_COLS, [episode_row("C001", "01/05/2015")])
    write_csv(tmp_path / "header_2016-17.csv", HEADER_COLS, [header_row("C001")])
    write_csv(
        tmp_path / "episodes_2016-17.csv",
        EPISODE_COLS,
        [episode_row("C001", "01/05/2015", "01/06/2016", "E4A")],
    )
    assert sorted(read_ssda903(tmp_path).episodes["year"]) == [2016, 2017]


def test_byte_order_mark_and_cp1252_files_read(tmp_path):
    folder = tmp_path / "2016"
    write_csv(folder / "header.csv", HEADER_COLS, [header_row("Cé01")], encoding="cp1252")
    write_csv(
        folder / "episodes.csv", EPISODE_COLS, [episode_row("Cé01", "01/05/2015")], encoding="utf-8-sig"
    )
    # cp1252 "é" and utf-8 "é" differ as bytes but decode to the same CHILD
    data = read_ssda903(tmp_path)
    assert data.episodes["child_id"].iloc[0] == data.header["child_id"].iloc[0]


def test_a_utf8_marked_file_with_a_cp1252_character_is_read_as_cp1252_without_the_mark(tmp_path):
    """QA21: a "CSV UTF-8" file appended to in Windows-1252 kept its mark, which cp1252 read as
    'ï»¿' stuck to CHILD: "required column CHILD is missing"."""
    folder = tmp_path / "2016"
    path = write_csv(folder / "header.csv", HEADER_COLS, [header_row("Cé01")], encoding="cp1252")
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    write_csv(folder / "episodes.csv", EPISODE_COLS, [episode_row("Cé01", "01/05/2015")])
    data = read_ssda903(tmp_path)
    assert data.episodes["child_id"].iloc[0] == data.header["child_id"].iloc[0]
    assert list(data.read_as_cp1252) == ["2016/header.csv"]


def test_same_salt_gives_same_pseudonyms_and_default_salt_differs(tmp_path):
    write_return(tmp_path, 2016, [header_row("C001")], [episode_row("C001", "01/05/2015")])
    a, b = read_ssda903(tmp_path, salt="s"), read_ssda903(tmp_path, salt="s")
    assert a.episodes["child_id"].iloc[0] == b.episodes["child_id"].iloc[0]
    assert read_ssda903(tmp_path).episodes["child_id"].iloc[0] != a.episodes["child_id"].iloc[0]


# --- malformed input ---------------------------------------------------------------------


def test_missing_column_names_file_and_field(tmp_path):
    folder = write_return(tmp_path, 2016, [header_row("C001")], [episode_row("C001", "01/05/2015")])
    cols = [c for c in EPISODE_COLS if c != "LS"]
    rows = [[v for c, v in zip(EPISODE_COLS, episode_row("C001", "01/05/2015")) if c != "LS"]]
    write_csv(folder / "episodes.csv", cols, rows)
    err = read_error(tmp_path)
    assert "2016/episodes.csv, row 1, field LS" in str(err)
    assert "missing" in str(err)


@pytest.mark.parametrize("sep,name", [(";", "semicolon"), ("\t", "tab")])
def test_semicolon_or_tab_separated_file_is_named_not_nine_missing_columns(tmp_path, sep, name):
    folder = write_return(tmp_path, 2016, [header_row("C001")], [episode_row("C001", "01/05/2015")])
    lines = (folder / "episodes.csv").read_text().splitlines()
    (folder / "episodes.csv").write_text("\n".join(line.replace(",", sep) for line in lines) + "\n")
    err = read_error(tmp_path)
    assert [str(p) for p in err.problems] == [
        f"2016/episodes.csv: looks {name}-separated; SSDA903 files are comma-separated"
    ]


@pytest.mark.parametrize("decom, hint", [
    ("42125", "an Excel date serial number? Format the column as a date (dd/mm/yyyy) before saving"),
    ("01/05/2015 14:35", "a time of day other than midnight (00:00) is not read; save the column as dates only"),
])
def test_a_date_a_spreadsheet_mangled_says_how(tmp_path, decom, hint):
    """QA: Excel serial numbers and dates with a time got the same bare 'is not a date'."""
    write_return(tmp_path, 2016, [header_row("C001")], [episode_row("C001", decom)])
    assert [str(p) for p in read_error(tmp_path).problems] == [
        f"2016/episodes.csv, row 2, field DECOM: '{decom}' is not a date (dd/mm/yyyy or yyyy-mm-dd, 1900 to 2099): "
        f"{hint}"]


def test_several_years_in_one_unnamed_file_is_one_problem_not_one_per_row(tmp_path):
    """QA: six returns in one 'episodes.csv' got a silently guessed year and 12,267 row errors."""
    rows = [episode_row(f"C{y}{i}", f"01/05/{y}", f"01/06/{y}", "E4A") for y in range(2015, 2021) for i in range(10)]
    write_csv(tmp_path / "episodes.csv", EPISODE_COLS, rows)
    write_csv(tmp_path / "header.csv", HEADER_COLS, [header_row(f"C{y}{i}") for y in range(2015, 2021)
                                                     for i in range(10)])
    problems = [str(p) for p in read_error(tmp_path).problems]
    assert problems[0] == ("episodes.csv: no year in the name, and its episodes end in collection years 2015-16 to "
                           "2020-21: a return holds one year; give each year its own file (or folder) with the year "
                           "in its name")
    assert not any("row" in p for p in problems)


def test_excel_lock_files_and_macos_metadata_files_are_not_read(tmp_path):
    """QA: '~$episodes.csv' (Excel has the file open) and '._episodes.csv' (a zip made on a Mac)
    stopped the run as 'UTF-16 or binary'."""
    folder = write_return(tmp_path, 2016, [header_row("C001")], [episode_row("C001", "01/05/2015")])
    (folder / "~$episodes.csv").write_bytes(b"\x0bjoe\x00\x00" * 20)
    (folder / "._episodes.csv").write_bytes(b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X")
    assert len(read_ssda903(tmp_path).episodes) == 1


def test_an_excel_sep_line_is_skipped_and_rows_keep_their_spreadsheet_numbers(tmp_path):
    """QA: Excel's 'sep=,' first line (which Excel hides) made every row a cell-count error."""
    folder = write_return(tmp_path, 2016, [header_row("C001")],
                          [episode_row("C001", "01/05/2015"), episode_row("C001", "01/06/2015", ls="ZZ")])
    text = (folder / "episodes.csv").read_text()
    (folder / "episodes.csv").write_text("sep=,\n" + text)
    assert [str(p) for p in read_error(tmp_path).problems] == [
        "2016/episodes.csv, row 3, field LS: 'ZZ' is not a valid LS code in 2015-16"]  # row 3 as Excel shows it


def test_an_excel_sep_line_declaring_another_separator_is_named(tmp_path):
    folder = write_return(tmp_path, 2016, [header_row("C001")], [episode_row("C001", "01/05/2015")])
    lines = (folder / "episodes.csv").read_text().splitlines()
    (folder / "episodes.csv").write_text("\n".join(["sep=;"] + [line.replace(",", ";") for line in lines]) + "\n")
    assert [str(p) for p in read_error(tmp_path).problems] == [
        "2016/episodes.csv, row 1: its first line declares the separator ';' (sep=;); SSDA903 files are "
        "comma-separated"]


def test_a_trailing_comma_on_the_header_line_only_is_harmless(tmp_path):
    """QA: every row was refused ('has 13 cells, the header has 14')."""
    folder = write_return(tmp_path, 2016, [header_row("C001")], [episode_row("C001", "01/05/2015")])
    lines = (folder / "episodes.csv").read_text().splitlines()
    (folder / "episodes.csv").write_text("\n".join([lines[0] + ",", *lines[1:]]) + "\n")
    assert len(read_ssda903(tmp_path).episodes) == 1


def test_unreadable_encoding_is_reported(tmp_path):
    folder = write_return(tmp_path, 2016, [header_row("C001")], [episode_row("C001", "01/05/2015")])
    # 0x81 and 0x9D are undefined in cp1252 and invalid in utf-8
    (folder / "header.csv").write_bytes(b"CHILD,SEX,DOB\nC\x81\x9d01,1,01/01/2008\n")
    err = read_error(tmp_path)
    assert "2016/header.csv" in str(err) and "encoding" in str(err)
    assert len(err.problems) == 1  # not also "CHILD is not in the header" for every episode


@pytest.mark.parametrize("field", ["DOB", "DUC"])
def test_uasc_and_header_dates_out_of_range_are_named_not_a_crash(tmp_path, field):
    """pandas holds dates only from 1677 to 2262: 01/01/9999 crashed the reader once."""
    header = [header_row("C001", dob="01/01/9999" if field == "DOB" else "01/01/2008")]
    uasc = [["C001", "1", "01/01/2008", "31/12/9999"]] if field == "DUC" else ()
    write_return(tmp_path, 2016, header, [episode_row("C001", "01/05/2015")], uasc)
    err = read_error(tmp_path)
    assert f"field {field}" in str(err) and "not a date" in str(err)


def test_sex_as_m_f_or_1_2_is_one_spelling(tmp_path):
    """QA: a return writing M/F after one writing 1/2 gave a 'header superseded' note for every
    child, and 1 and M for one child in a file were refused as conflicting."""
    from carejourney.ssda903 import clean

    write_return(tmp_path, 2016, [header_row("C001", sex="1"), header_row("C002", sex="2")],
                 [episode_row("C001", "01/05/2015"), episode_row("C002", "01/05/2015")])
    write_return(tmp_path, 2017, [header_row("C001", sex="M"), header_row("C001", sex="1"), header_row("C002", sex="F")],
                 [episode_row("C001", "01/05/2016"), episode_row("C002", "01/05/2016")])
    data = read_ssda903(tmp_path)
    assert set(data.header["SEX"]) == {"1", "2"}
    cleaned = clean(data)
    assert "header_superseded" not in set(cleaned.report["rule"])
    assert sorted(cleaned.children["sex"]) == ["F", "M"]


def test_uasc_sex_differing_from_the_header_is_refused(tmp_path):
    write_return(tmp_path, 2016, [header_row("C001", sex="1")], [episode_row("C001", "01/05/2015")],
                 [["C001", "F", "01/01/2008", "01/01/2026"]])
    err = read_error(tmp_path)
    assert "2016/uasc.csv, row 2, field SEX" in str(err) and "differs" in str(err)


def test_a_file_that_cannot_be_read_is_named(tmp_path, monkeypatch):
    """An I/O error carries no file name ('error: Input/output error'): the reader names it."""
    write_return(tmp_path, 2016, [header_row("C001")], [episode_row("C001", "01/05/2015")])
    real = Path.read_bytes

    def failing(self):
        if self.name == "episodes.csv":
            raise OSError(5, "Input/output error")
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", failing)
    err = read_error(tmp_path)
    assert "2016/episodes.csv: cannot be read (Input/output error)" in str(err)


def test_calibrates_own_cleaning_report_in_the_folder_is_not_read_as_episodes(tmp_path):
    """QA: `--out DATA/episodes_model.yaml` worked once, then every rerun read its own
    episodes_model.cleaning.csv as an episodes file. A foreign file so named is still read."""
    from carejourney.ssda903.report import CLEANING_CSV_HEADER

    write_return(tmp_path, 2016, [header_row("C001")], [episode_row("C001", "01/05/2015")])
    (tmp_path / "episodes_model.cleaning.csv").write_text(
        CLEANING_CSV_HEADER + "\n2016/episodes.csv,2,Pabc,changed,missing_from_next_return,x\n")
    assert len(read_ssda903(tmp_path).episodes) == 1
    (tmp_path / "episodes_model.cleaning.csv").write_text("CHILD,DECOM\nC001,01/05/2015\n")
    assert "episodes_model.cleaning.csv" in str(read_error(tmp_path))


def test_utf16_file_is_reported_not_misread(tmp_path):
    folder = write_return(tmp_path, 2016, [header_row("C001")], [episode_row("C001", "01/05/2015")])
    (folder / "header.csv").write_bytes("CHILD,SEX,DOB\nC001,1,01/01/2008\n".encode("utf-16"))
    assert "UTF-16" in str(read_error(tmp_path))


@pytest.mark.parametrize("bad", ["31/02/2016", "2016/01/05", "yesterday", "05-01-2016",
                                 "01/01/9999", "01/01/1600", "0017-10-31"])  # the last three: out of range
def test_date_that_is_not_a_date(tmp_path, bad):
    write_return(
        tmp_path, 2016, [header_row("C001")], [episode_row("C001", "01/05/2015"), episode_row("C001", bad)]
    )
    err = read_error(tmp_path)
    assert "2016/episodes.csv, row 3, field DECOM" in str(err)
    assert "not a date" in str(err)


@pytest.mark.parametrize(
    ("year", "field", "code", "valid"),
    [
        (2016, "REC", "E17", False),  # E17 added 2016-17
        (2017, "REC", "E17", True),
        (2015, "REC", "E15", False),  # E15/E16 added 2015-16
        (2016, "REC", "E16", True),
        (2016, "REC", "E43", False),  # replaced by E45-E48 from 2014-15
        (2016, "PLACE", "U7", False),
        (2016, "LS", "X9", False),
        (2016, "CIN", "N9", False),
        (2016, "RNE", "Q", False),
        (2016, "PLACE_PROVIDER", "PR9", False),
        (2016, "RNE", "p", True),  # lower case is read upper-cased (and reported by cleaning)
        (2016, "RNE", "zz", False),  # ... but a code unknown in upper case too is refused as written
        (2016, "REC", "e17", False),  # ... as is one not valid in that year
    ],
)
def test_code_validity_depends_on_year(tmp_path, year, field, code, valid):
    values = dict(zip(EPISODE_COLS, episode_row("C001", f"01/05/{year - 1}", f"01/06/{year - 1}", "E4A")))
    values[field] = code
    write_return(tmp_path, year, [header_row("C001")], [list(values.values())])
    if valid:
        assert len(read_ssda903(tmp_path).episodes) == 1
    else:
        err = read_error(tmp_path)
        assert f"{year}/episodes.csv, row 2, field {field}" in str(err)
        assert f"'{code}' is not a valid {field} code in {year - 1}-{str(year)[2:]}" in str(err)


def test_episode_ending_before_it_starts(tmp_path):
    write_return(
        tmp_path, 2016, [header_row("C001")], [episode_row("C001", "01/09/2015", "01/08/2015", "E4A")]
    )
    err = read_error(tmp_path)
    assert "2016/episodes.csv, row 2, field DEC: episode ends" in str(err)
    assert "before it starts" in str(err)


def test_episode_child_missing_from_header(tmp_path):
    write_return(
        tmp_path,
        2016,
        [header_row("C001")],
        [episode_row("C001", "01/05/2015"), episode_row("C999", "01/05/2015")],
    )
    err = read_error(tmp_path)
    assert "2016/episodes.csv, row 3, field CHILD: CHILD is not in the header" in str(err)
    assert "C999" not in str(err)  # identifiers never echoed


@pytest.mark.parametrize("header_id, episode_id, short, other",
                         [("00123", "123", "episodes", "header"), ("123", "00123", "header", "episodes")])
def test_ids_one_file_wrote_without_their_leading_zeros_are_one_diagnosis(tmp_path, header_id, episode_id, short,
                                                                         other):
    """QA21: episodes whose CHILD lost its leading zeros (the header kept them, or the reverse) gave
    one "not in the header" error a row, with nothing saying why; QA22: the file named is the one
    that lost them."""
    ids = [f"{header_id}{k}" for k in range(6)]
    written = [f"{episode_id}{k}" for k in range(6)]
    write_return(tmp_path, 2016, [header_row(c) for c in ids], [episode_row(c, "01/05/2015") for c in written])
    err = read_error(tmp_path)
    assert len(err.problems) == 1, str(err)
    assert str(err.problems[0]).startswith(f"2016/{short}.csv, field CHILD: 6 CHILD ids here are 2016/{other}.csv's "
                                           "with their leading zeros removed (e.g. 001230 written 1230), so 6 rows of "
                                           "2016/episodes.csv have no header row")


@pytest.mark.parametrize(
    ("row", "field", "words"),
    [
        (episode_row("C001", "01/05/2016"), "DECOM", "after the 2015-16 collection year"),
        (episode_row("C001", "01/05/2015", "01/05/2016", "E4A"), "DEC", "after the 2015-16 collection year"),
        (episode_row("C001", "01/05/2014", "01/05/2014", "E4A"), "DEC", "before the 2015-16 collection year"),
        (episode_row("C001", "01/05/2015", "01/06/2015", ""), "REC", "REC is blank"),
        (episode_row("C001", "01/05/2015", "", "E4A"), "DEC", "REC is given but DEC is blank"),
        (episode_row("C001", "01/05/2015", provider=""), "PLACE_PROVIDER", "PLACE_PROVIDER is blank"),
        (episode_row("C001", "01/05/2007"), "DECOM", "before the child's date of birth"),
    ],
)
def test_inconsistent_episode_rows(tmp_path, row, field, words):
    write_return(tmp_path, 2016, [header_row("C001")], [row])
    err = str(read_error(tmp_path))
    assert f"2016/episodes.csv, row 2, field {field}" in err
    assert words in err


def test_year_before_2014_15_is_rejected(tmp_path):
    write_return(tmp_path, 2014, [header_row("C001")], [episode_row("C001", "01/05/2013")])
    assert "before 2014-15" in str(read_error(tmp_path))


def test_all_problems_are_collected_and_long_lists_cut(tmp_path):
    bad_rows = [episode_row("C001", f"{d:02d}/05/2015", place="ZZ") for d in range(1, 26)]
    folder = write_return(tmp_path, 2016, [header_row("C001"), header_row("C002", sex="9")], bad_rows)
    write_csv(folder / "uasc.csv", UASC_COLS, [["C003", "1", "01/01/2000", "not-a-date"]])
    err = read_error(tmp_path)
    fields = {(p.file, p.field) for p in err.problems}
    assert ("2016/episodes.csv", "PLACE") in fields
    assert ("2016/header.csv", "SEX") in fields
    assert ("2016/uasc.csv", "DUC") in fields and ("2016/uasc.csv", "CHILD") in fields
    assert len(err.problems) == 25 + 3
    assert f"and {len(err.problems) - MAX_SHOWN} more" in str(err)
    assert str(err).count("\n  - ") == MAX_SHOWN
    # QA: the problems past the first 20 could not be seen at all: each file and field is counted
    assert str(err).endswith("all 28 by file and field:\n      2016/episodes.csv, field PLACE: 25\n"
                             "      2016/header.csv, field SEX: 1\n      2016/uasc.csv, field CHILD: 1\n"
                             "      2016/uasc.csv, field DUC: 1"), str(err)


def test_wrong_number_of_cells_and_missing_files(tmp_path):
    folder = write_return(tmp_path, 2016, [header_row("C001")], [episode_row("C001", "01/05/2015")])
    with open(folder / "episodes.csv", "a") as f:
        f.write("C001,01/06/2015,P\n")
    write_csv(tmp_path / "2017" / "episodes.csv", EPISODE_COLS, [episode_row("C001", "01/05/2016")])
    err = str(read_error(tmp_path))
    assert "2016/episodes.csv, row 3: has 3 cells" in err
    assert "no header file for collection year 2017" in err


def test_conflicting_header_rows_for_one_child(tmp_path):
    write_return(
        tmp_path,
        2016,
        [header_row("C001"), header_row("C001", dob="02/02/2009")],
        [episode_row("C001", "01/05/2015")],
    )
    assert "2016/header.csv, row 3, field CHILD" in str(read_error(tmp_path))


def test_folder_without_returns(tmp_path):
    (tmp_path / "notes.csv").write_text("a,b\n1,2\n")
    assert "no CSV file" in str(read_error(tmp_path))


def test_year_without_a_uasc_file_is_warned_about(tmp_path):
    write_return(tmp_path, 2016, [header_row("C001")], [episode_row("C001", "01/05/2015")], uasc=None)
    write_return(tmp_path, 2017, [header_row("C001")], [episode_row("C001", "01/05/2015")])  # an empty UASC file
    data = read_ssda903(tmp_path)
    assert data.warnings == (
        "2016/episodes.csv: no UASC file for collection year 2016 (no child of that year's return is counted as UASC)",
    )
    assert "warning: 2016/episodes.csv: no UASC file for collection year 2016" in clean(data).summary()


def test_a_later_dob_after_an_earlier_episode_start_is_refused(tmp_path):
    """QA: the 2017 header moved a DOB past the child's 2016 episode start; cleaning keeps the
    latest DOB, so the period began at age -1 and was counted as an under-1 entry."""
    write_return(tmp_path, 2016, [header_row("C001", dob="01/01/2010")], [episode_row("C001", "10/02/2014")])
    write_return(tmp_path, 2017, [header_row("C001", dob="01/01/2015")],
                 [episode_row("C001", "10/02/2014", dec="01/06/2016", rec="E4A")])
    text = str(read_error(tmp_path))
    assert "2016/episodes.csv, row 2, field DECOM: episode starts before the child's date of birth in " \
           "2017/header.csv, the latest return's header (which is kept)" in text


def test_a_spreadsheet_in_place_of_a_csv_is_named(tmp_path):
    """QA: a lone 2016/episodes.xlsx gave 'no episodes file for collection year 2016' without
    naming the file that was there but not read."""
    folder = write_return(tmp_path, 2016, [header_row("C001")], [episode_row("C001", "01/05/2015")])
    (folder / "episodes.csv").rename(folder / "episodes.xlsx")
    assert "no episodes file for collection year 2016 (2016/episodes.xlsx not read: save as CSV)" in str(
        read_error(tmp_path))
    (folder / "header.csv").rename(folder / "header.xlsx")
    assert "no header file for collection year 2016 (2016/header.xlsx not read: save as CSV)" in str(
        read_error(tmp_path))
    (folder / "uasc.csv").unlink()
    assert "no CSV file whose name contains header, episode or uasc (2016/header.xlsx, 2016/episodes.xlsx not read" \
        in str(read_error(tmp_path))


def test_dates_written_as_midnight_date_times_are_read_as_dates():
    """QA: SQL and spreadsheet exports write '14/10/2015 00:00'; any other time stays an error."""
    from carejourney.ssda903.validate import parse_dates

    values = pd.Series(["14/10/2015 00:00", "2015-10-14 00:00:00", "2015-10-14T00:00:00.000", "14/10/2015",
                        "2015-10-14t00:00:00",  # ISO 8601 allows a lower-case t
                        "2015-10-14T00:00:00Z", "2015-10-14T00:00:00+00:00",  # UTC midnight (QA17: refused)
                        "14/10/2015 13:45", "14/10/2015 00:00 extra", "2015-10-14T00:00:00+01:00", ""])
    dates, bad = parse_dates(values)
    assert (dates[:7] == pd.Timestamp("2015-10-14")).all()
    assert bad.tolist() == [False] * 7 + [True, True, True, False]


@pytest.mark.parametrize("name,year", [
    ("2016", 2016), ("2015-16", 2016), ("2015_2016", 2016), ("SSDA903_2015-16_Episodes", 2016),
    ("header_201516", 2016),  # QA: 'cannot tell which collection year' though it was there
    ("header_201517", None), ("episodes_2016_03_31", 2016), ("episodes", None),
    ("2015\u201316", 2016), ("2015 \u2014 16", 2016),  # QA17: Word's en and em dashes, read as 2014-15
])
def test_the_collection_year_is_read_from_a_name(name, year):
    from carejourney.ssda903.discover import year_from_name

    assert year_from_name(name) == year


def test_a_header_file_with_no_rows_is_one_problem_not_one_per_episode(tmp_path):
    """QA: it gave a 'CHILD is not in the header file' line for each of 1,592 episodes."""
    folder = write_return(tmp_path, 2016, [header_row("C001")],
                          [episode_row("C001", "01/05/2015"), episode_row("C002", "01/06/2015")])
    (folder / "header.csv").write_text("CHILD,SEX,DOB\n")
    err = read_error(tmp_path)
    assert [str(p) for p in err.problems] == ["2016/episodes.csv: 2 rows, but the 2016 header file has no rows"]


def test_a_file_named_by_the_year_its_return_begins_gets_a_hint(tmp_path):
    """QA: '2015_episodes.csv' holding 2015-16 was read as 2014-15: thousands of date errors
    and no word on the naming."""
    write_return(tmp_path, 2015, [header_row("C001")],
                 [episode_row("C001", "01/05/2015", "01/06/2015", "X1"), episode_row("C001", "01/06/2015", rne="P")])
    text = str(read_error(tmp_path))
    assert "2015/episodes.csv: most episodes fall in 2015-16, not in 2014-15 as the file or folder name says" in text


def test_a_file_named_a_year_too_late_gets_a_hint(tmp_path):
    """QA21: a 2016-17 return in a folder named 2017-18 gave one 'ended before the collection
    year' per row and no word on the naming (the other way round had one)."""
    write_return(tmp_path, "2017-18", [header_row("C001"), header_row("C002")],
                 [episode_row("C001", "01/05/2016", "01/06/2016", "E4A"), episode_row("C002", "01/06/2016", "01/02/2017", "E11"),
                  episode_row("C001", "01/01/2017", rne="S")])
    text = str(read_error(tmp_path))
    assert "2017-18/episodes.csv: most episodes ended in 2016-17, not in 2017-18 as the file or folder name says" in text
    # a return of the right year whose few closed episodes ended in it gets no hint
    right = tmp_path / "right"
    write_return(right, "2016-17", [header_row("C001"), header_row("C002")],
                 [episode_row("C001", "01/05/2016", "01/06/2016", "E4A"), episode_row("C002", "01/06/2016", "01/02/2017", "E11"),
                  episode_row("C001", "01/01/2017", rne="S")])
    read_ssda903(right)


def test_returns_with_no_episodes_at_all_are_refused_by_name(tmp_path):
    """QA: an episodes file with only its column header (the only return) crashed cleaning
    with a pandas traceback; a year with no episodes beside one with some is only left out."""
    write_return(tmp_path, 2016, [header_row("C001")], [])
    err = read_error(tmp_path)
    assert "2016/episodes.csv: no episodes (only the column header), and no other return has any" in str(err)
    write_return(tmp_path, 2017, [header_row("C001")], [episode_row("C001", "01/05/2016")])
    data = read_ssda903(tmp_path)
    # QA18: the header lists a child, so the file may be cut short: the warning says so
    assert ("2016/episodes.csv: no episodes (only the column header), though 2016/header.csv lists 1 children (was it "
            "cut short?): collection year 2016 is left out") in data.warnings
    assert len(clean(data).periods) == 1


def test_a_quote_left_open_is_named_as_the_cause(tmp_path):
    """QA: a stray opening quote swallowed the rest of the file and the message spoke only of
    a row with 1 cell."""
    folder = write_return(tmp_path, 2016, [header_row("C001"), header_row("C002")],
                          [episode_row("C001", "01/05/2015"), episode_row("C002", "01/06/2015")])
    path = folder / "episodes.csv"
    lines = path.read_text().splitlines()
    lines[1] = '"' + lines[1]
    path.write_text("\n".join(lines) + "\n")
    err = read_error(tmp_path)
    assert "2016/episodes.csv, row 2: has 1 cells, the header has 13: a quote (\") that is not closed" in str(err)


def test_a_zero_byte_uasc_file_reads_as_no_uasc_children(tmp_path):
    """QA14: systems export a year with no UASC children as an empty file; it stopped the run,
    while a missing or header-only UASC file was read."""
    folder = write_return(tmp_path, 2016, [header_row("C001")], [episode_row("C001", "01/05/2015")])
    (folder / "uasc.csv").write_bytes(b"")
    data = read_ssda903(tmp_path)
    assert data.uasc.empty and len(data.episodes) == 1
    assert "2016/uasc.csv: empty: read as a return with no UASC children" in data.warnings
    (folder / "episodes.csv").write_bytes(b"")  # an empty episodes file is still refused
    assert "2016/episodes.csv" in str(read_error(tmp_path))


def test_a_control_character_in_a_value_is_shown_escaped():
    """QA14: a NUL before a code (deep in a file, past where binary files are detected) was
    printed raw, so '\x00N1' looked like the valid 'N1'."""
    from carejourney.ssda903.errors import Problem
    text = str(Problem("2018/episodes.csv", 105, "CIN", "'\x00N1' is not a valid CIN code in 2017-18"))
    assert text == "2018/episodes.csv, row 105, field CIN: '\\x00N1' is not a valid CIN code in 2017-18"
    assert str(Problem("a.csv", 2, "ETHNIC", "'Évora' ok")) == "a.csv, row 2, field ETHNIC: 'Évora' ok"


def test_a_dob_after_an_episode_start_in_every_return_is_one_problem_not_two(tmp_path):
    """QA14: an episode before its own return's DOB, and the latest return's, was listed twice."""
    write_return(tmp_path, 2016, [header_row("C001", dob="01/01/2015")], [episode_row("C001", "10/02/2014")])
    write_return(tmp_path, 2017, [header_row("C001", dob="01/01/2015")],
                 [episode_row("C001", "10/02/2014", dec="01/06/2016", rec="E4A")])
    text = str(read_error(tmp_path))
    assert text.count("2016/episodes.csv, row 2, field DECOM") == 1
    assert ("2016/episodes.csv, row 2, field DECOM: episode starts before the child's date of birth "
            "(2016/header.csv, row 2)\n") in text + "\n"  # the DOB may be what is wrong (QA17)


@pytest.mark.parametrize("signature,what", [(b"PK\x03\x04", "an Excel workbook (.xlsx)"),
                                            (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an Excel 97-2003 workbook (.xls)")])
def test_a_workbook_renamed_csv_is_named_as_a_workbook(tmp_path, signature, what):
    """QA14: an .xlsx renamed .csv was 'UTF-16 or binary', which does not say what to do."""
    folder = write_return(tmp_path, 2016, [header_row("C001")], [episode_row("C001", "01/05/2015")])
    (folder / "episodes.csv").write_bytes(signature + b"\x00\x01 rest of the workbook")
    text = str(read_error(tmp_path))
    assert f"2016/episodes.csv: is not CSV but {what}" in text
    assert "save it as CSV (UTF-8)" in text


def test_a_column_header_repeated_mid_file_is_named_once(tmp_path):
    """QA14: two exports pasted together gave one 'not a valid code' per field of the header
    line repeated in the middle, never saying what the row was."""
    folder = write_return(tmp_path, 2016, [header_row("C001"), header_row("C002")],
                          [episode_row("C001", "01/05/2015"), episode_row("C002", "01/06/2015")])
    lines = (folder / "episodes.csv").read_text().splitlines()
    (folder / "episodes.csv").write_text("\n".join([*lines[:2], lines[0].lower(), *lines[2:]]) + "\n")
    err = read_error(tmp_path)
    assert [str(p) for p in err.problems] == [
        "2016/episodes.csv, row 3: repeats the column header (files pasted together?): delete the row"]


def test_title_lines_above_the_column_header_are_named(tmp_path):
    """QA14: a title line above the header gave every required column 'missing' (or one
    'has 13 cells, the header has 1' per row), not that the header was further down."""
    folder = write_return(tmp_path, 2016, [header_row("C001")], [episode_row("C001", "01/05/2015")])
    text = (folder / "episodes.csv").read_text()
    (folder / "episodes.csv").write_text("Episodes 2015-16,,\nExported 01/04/2016\n\n" + text)
    err = read_error(tmp_path)
    assert [str(p) for p in err.problems] == [
        "2016/episodes.csv, row 4: the column header is on row 4, not row 1: delete the 3 line(s) above it "
        "(a title or notes?)"]


def _one_valid_year(root: Path, year: int = 2016) -> Path:
    return write_return(root, year, [header_row("C001")],
                        [episode_row("C001", f"01/05/{year - 1}", f"01/06/{year - 1}", "X1"),
                         episode_row("C001", f"01/06/{year - 1}", rne="P")])


def test_a_year_folder_linked_in_from_elsewhere_is_read(tmp_path):
    """QA17: a symlinked year folder was skipped without a word (the run went on without it)."""
    _one_valid_year(tmp_path / "data", 2016)
    _one_valid_year(tmp_path / "elsewhere", 2017)
    (tmp_path / "data" / "2017").symlink_to(tmp_path / "elsewhere" / "2017", target_is_directory=True)
    (tmp_path / "data" / "loop").symlink_to(tmp_path / "data", target_is_directory=True)  # and a loop ends
    (tmp_path / "data" / "2016" / "up").symlink_to(tmp_path, target_is_directory=True)  # nor a parent
    for name in ("latest", "b", "0"):  # a link to a folder read already never takes its files (review)
        (tmp_path / "data" / name).symlink_to(tmp_path / "data" / "2016", target_is_directory=True)
    data = read_ssda903(tmp_path / "data")
    assert set(data.episodes["year"]) == {2016, 2017}
    assert set(data.episodes["source_file"]) == {"2016/episodes.csv", "2017/episodes.csv"}


def test_a_file_name_that_is_not_utf8_is_read_and_printed(tmp_path):
    """QA17: a Windows zip unpacked on Linux leaves cp1252 bytes in names (é, en dash): a
    traceback (UnicodeEncodeError) instead of reading the files."""
    import os

    folder = _one_valid_year(tmp_path, 2016)
    root = os.fsencode(tmp_path)
    os.rename(os.fsencode(folder), root + b"/2015\x9616")  # a cp1252 en dash
    os.rename(root + b"/2015\x9616/episodes.csv", root + b"/2015\x9616/episodes_r\xe9vis\xe9.csv")
    data = read_ssda903(tmp_path)
    assert set(data.episodes["source_file"]) == {"2015\u201316/episodes_r\u00e9vis\u00e9.csv"}
    assert set(data.episodes["year"]) == {2016}
    data.episodes["source_file"].str.encode("utf-8")  # printable and writable


def test_a_social_workers_episodes_table_is_not_read_as_episodes(tmp_path):
    """QA17: SWEpisodes.csv (another SSDA903 table) was a second episodes file: 8 errors."""
    folder = _one_valid_year(tmp_path, 2016)
    write_csv(folder / "SWEpisodes.csv", ["CHILD", "SW_ID", "SW_DECOM", "SW_REASON"], [["C001", "SW1", "01/05/2015", "CHNG"]])
    assert set(read_ssda903(tmp_path).episodes["source_file"]) == {"2016/episodes.csv"}


@pytest.mark.parametrize("damage,says", [
    ("folder", "2016/episodes.csv is a folder"),
    ("broken link", "2016/episodes.csv is a broken link"),
    ("misspelt", "CSV files here whose names were not recognised: 2016/epsiodes.csv; an episodes file's name contains 'episode'"),
])
def test_a_missing_episodes_file_says_what_is_there_instead(tmp_path, damage, says):
    """QA17: the message named only the header file beside it."""
    folder = _one_valid_year(tmp_path, 2016)
    episodes = folder / "episodes.csv"
    if damage == "folder":
        episodes.unlink()
        episodes.mkdir()
    elif damage == "broken link":
        episodes.unlink()
        episodes.symlink_to(folder / "gone.csv")
    else:
        episodes.rename(folder / "epsiodes.csv")
    text = str(read_error(tmp_path))
    assert "2016/header.csv: no episodes file for collection year 2016" in text and says in text


def test_byte_order_marks_in_a_header_line_are_not_part_of_its_names(tmp_path):
    """QA17: a file saved with two BOMs said 'required column CHILD is missing', and a second
    file with a BOM pasted below the first was not seen as a repeated header (9 code errors)."""
    folder = write_return(tmp_path, 2016, [header_row("C001"), header_row("C002")],
                          [episode_row("C001", "01/05/2015"), episode_row("C002", "01/06/2015")])
    header = folder / "header.csv"
    header.write_bytes(b"\xef\xbb\xbf\xef\xbb\xbf" + header.read_bytes())
    episodes = folder / "episodes.csv"
    lines = episodes.read_text().splitlines()
    episodes.write_text("\n".join([*lines[:2], "\ufeff" + lines[0], *lines[2:]]) + "\n")
    err = read_error(tmp_path)
    assert [str(p) for p in err.problems] == [
        "2016/episodes.csv, row 3: repeats the column header (files pasted together?): delete the row"]


def test_a_date_with_a_time_zone_offset_is_named_as_such_and_a_missing_folder_as_missing(tmp_path):
    """QA18: midnight with +01:00 was refused as 'a time of day other than midnight'; a path
    that does not exist was 'not a folder of SSDA903 CSV files'."""
    write_return(tmp_path, 2016, [header_row("C001")], [episode_row("C001", "2015-05-01T00:00:00+01:00")])
    assert "a time-zone offset (other than Z or +00:00) is not read" in str(read_error(tmp_path))
    assert [str(p) for p in read_error(tmp_path / "nowhere").problems] == [f"{tmp_path / 'nowhere'}: does not exist"]


def test_a_us_order_date_gets_a_hint(tmp_path):
    """QA18: 12/31/2015 was refused as not a date with no word that it was month first."""
    write_return(tmp_path, 2016, [header_row("C001")], [episode_row("C001", "12/31/2015")])
    assert "month/day/year (US order)? Dates are read day/month/year" in str(read_error(tmp_path))
