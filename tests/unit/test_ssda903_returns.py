"""Checks across returns (ssda903/returns.py): a child in care before the first return it is
in, while the return before was read, and a header child with no episode in its own return.

QA: CHILD ids renumbered from one return to the next (or leading zeros lost in Excel) doubled
the opening stock with exit 0 and no warning; a return cut short was read without a word."""

from __future__ import annotations

import pytest

from carejourney.ssda903 import clean, read_ssda903
from tests.unit.test_ssda903_read import episode_row, header_row, write_return


def rule_rows(cleaned, rule: str):
    return cleaned.report[cleaned.report["rule"] == rule].reset_index(drop=True)


def test_ids_changed_between_returns_are_flagged_and_warned_about(tmp_path):
    write_return(tmp_path, 2016, [header_row("C001"), header_row("C002")],
                 [episode_row("C001", "01/05/2015"), episode_row("C002", "01/06/2015")])
    # the 2017 return knows C002 as 2 (Excel dropped the zeros) and C001 as C001
    write_return(tmp_path, 2017, [header_row("C001"), header_row("2")],
                 [episode_row("C001", "01/05/2015"), episode_row("2", "01/06/2015")])
    c = clean(read_ssda903(tmp_path))
    flagged = rule_rows(c, "absent_from_previous_return")
    assert flagged[["file", "row", "action"]].values.tolist() == [["2017/episodes.csv", 3, "flagged"]]
    assert "in care from 2015-06-01, before the 2017 return's year, but not in the 2016 return" in flagged["why"][0]
    assert len(rule_rows(c, "missing_from_next_return")) == 1  # C002, as before
    (warning,) = c.warnings
    assert warning.startswith("1 child(ren) in care before the 2017 return's year are not in the 2016 return, and 1 "
                              "open at the end of the 2016 return are not in the 2017 return: if CHILD ids changed")
    assert f"warning: {warning}" in c.summary()


def test_ids_that_lost_their_leading_zeros_in_one_return_are_refused_naming_it(tmp_path):
    """QA14: with every id of one year's return stripped of its zeros, calibrate wrote a config
    whose opening stock was doubled, behind a warning that only guessed the cause."""
    import pytest

    from carejourney.ssda903 import Ssda903Error
    kept = [f"00{i}" for i in range(1, 7)]
    write_return(tmp_path, 2016, [header_row(c) for c in kept], [episode_row(c, "01/05/2015") for c in kept])
    write_return(tmp_path, 2017, [header_row(c.lstrip("0")) for c in kept],
                 [episode_row(c.lstrip("0"), "01/05/2015") for c in kept])
    with pytest.raises(Ssda903Error) as err:
        read_ssda903(tmp_path)
    assert ("2017/header.csv, field CHILD: 6 CHILD ids are the 2016 return's with their leading zeros removed "
            "(e.g. 001 written 1)") in str(err.value)
    # one such pair can be chance (a child 7 new beside a child 007 gone): the warning above stands
    other = tmp_path / "one"
    write_return(other, 2016, [header_row("007"), header_row("C1")], [episode_row("007", "01/05/2015"),
                                                                       episode_row("C1", "01/05/2015")])
    write_return(other, 2017, [header_row("7"), header_row("C1")], [episode_row("7", "01/05/2016"),
                                                                     episode_row("C1", "01/05/2015")])
    read_ssda903(other)


def test_a_child_left_out_of_an_earlier_return_is_flagged_with_its_own_warning(tmp_path):
    write_return(tmp_path, 2016, [header_row("C001")], [episode_row("C001", "01/05/2015")])
    write_return(tmp_path, 2017, [header_row("C001"), header_row("C002")],
                 [episode_row("C001", "01/05/2015"), episode_row("C002", "01/06/2015")])
    c = clean(read_ssda903(tmp_path))
    assert rule_rows(c, "absent_from_previous_return")["row"].tolist() == [3]
    (warning,) = c.warnings
    assert warning.startswith("1 child(ren) in care before the 2017 return's year are not in the 2016 return: was the "
                              "2016 return cut short")


def test_a_header_child_without_an_episode_in_its_own_return_is_flagged(tmp_path):
    # C002 is in the 2016 header, but its only episode is in the 2017 return (begun in 2016-17)
    write_return(tmp_path, 2016, [header_row("C001"), header_row("C002")], [episode_row("C001", "01/05/2015")])
    write_return(tmp_path, 2017, [header_row("C001"), header_row("C002")],
                 [episode_row("C001", "01/05/2015"), episode_row("C002", "01/06/2016")])
    c = clean(read_ssda903(tmp_path))
    flagged = rule_rows(c, "header_without_episode_that_year")
    assert flagged[["file", "row"]].values.tolist() == [["2016/header.csv", 3]]
    assert c.warnings == ("2016/header.csv: 1 child(ren) with no episode in the same return's episodes file but "
                          "episodes in other returns: was the episodes file cut short, or CHILD written differently "
                          "in the two files?",)
    assert rule_rows(c, "absent_from_previous_return").empty


def test_consistent_returns_raise_neither(tmp_path):
    # C001 is carried from 2016 into 2017; C002 begins in 2017's year; C003 was in care before
    # the first return read, which is no reason to flag it
    write_return(tmp_path, 2016, [header_row("C001"), header_row("C003")],
                 [episode_row("C001", "01/05/2015"), episode_row("C003", "01/05/2012", "01/07/2015", "E4A")])
    write_return(tmp_path, 2017, [header_row("C001"), header_row("C002")],
                 [episode_row("C001", "01/05/2015"), episode_row("C002", "01/06/2016")])
    c = clean(read_ssda903(tmp_path))
    assert c.warnings == ()
    assert rule_rows(c, "absent_from_previous_return").empty and rule_rows(c, "header_without_episode_that_year").empty


def test_returns_that_disagree_about_an_episode_are_reported_apart_from_routine_repeats(tmp_path):
    """QA: a return that closed an episode (returned home) contradicted by the next one (still
    open) was worded like the thousands of routine repeats, so conflicts could not be found."""
    write_return(tmp_path, 2016, [header_row("C001"), header_row("C002")],
                 [episode_row("C001", "01/05/2015", "01/02/2016", "E4A"), episode_row("C002", "01/06/2015")])
    write_return(tmp_path, 2017, [header_row("C001"), header_row("C002")],
                 [episode_row("C001", "01/05/2015", ls="C1"), episode_row("C002", "01/06/2015", "01/07/2016", "E4A")])
    c = clean(read_ssda903(tmp_path))
    changed = rule_rows(c, "changed_in_later_return")
    assert changed[["file", "row"]].values.tolist() == [["2016/episodes.csv", 2]]
    assert changed["why"][0] == ("same episode in the 2017 return (row 2), which differs (DEC 2016-02-01 -> blank, "
                                 "REC E4A -> blank, LS C2 -> C1); kept the latest return's version")
    routine = rule_rows(c, "repeated_in_later_return")  # C002: open, then closed: routine
    assert routine["row"].tolist() == [3] and routine["why"][0].endswith(", which has DEC filled")


def test_a_bad_return_outside_years_says_that_every_return_is_read(tmp_path, capsys):
    """QA: --years 2017 still stopped on the 2016 return's bad code, with no word why."""
    from carejourney.cli import main

    write_return(tmp_path, 2016, [header_row("C001")], [episode_row("C001", "01/05/2015", ls="ZZ")])
    write_return(tmp_path, 2017, [header_row("C001")], [episode_row("C001", "01/05/2016")])
    out = tmp_path / "out" / "c.yaml"
    assert main(["calibrate", str(tmp_path), "--start", "2016-04-01", "--years", "2017", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "2016/episodes.csv, row 2, field LS" in err
    assert "note: --years 2017 chooses the years the estimates use, but every return under" in err
    assert not out.parent.exists()


def _carried(tmp_path, rename):
    """25 children in care through 2016 and 2017, the 2017 return writing each CHILD as rename(CHILD)."""
    kids = [f"C{i:03d}" for i in range(1, 26)]
    write_return(tmp_path, 2016, [header_row(c) for c in kids], [episode_row(c, "01/05/2015") for c in kids])
    write_return(tmp_path, 2017, [header_row(rename(c)) for c in kids],
                 [episode_row(rename(c), "01/05/2015") for c in kids])


@pytest.mark.parametrize("rename, hint", [
    (lambda c: "N" + c[1:], None),
    (str.lower, "e.g. C001 written c001"),
    (lambda c: "'" + c, "e.g. C001 written 'C001"),
])
def test_ids_changed_for_most_children_between_returns_are_refused_naming_the_file(tmp_path, rename, hint):
    """QA18: renumbered, lower-cased or apostrophe-prefixed ids in a later return doubled the
    opening stock with exit 0 and only a warning on stdout."""
    from carejourney.ssda903 import Ssda903Error

    _carried(tmp_path, rename)
    with pytest.raises(Ssda903Error) as err:
        read_ssda903(tmp_path)
    text = str(err.value)
    assert ("2017/header.csv, field CHILD: 25 of the 25 children still in care at the end of the 2016 return "
            "(2016/episodes.csv) are in no later return, and 25 of this return's children in care before its year "
            "began are not in the 2016 return: the CHILD ids changed") in text
    assert (hint in text) if hint else "a spreadsheet changed them" not in text


def test_a_few_children_missing_from_the_next_return_stay_a_warning(tmp_path):
    """Below the share that says the ids changed (a return cut short, children left out): read, warned."""
    _carried(tmp_path, lambda c: c if c > "C005" else "N" + c[1:])
    c = clean(read_ssda903(tmp_path))
    assert len(rule_rows(c, "absent_from_previous_return")) == 5
    assert c.warnings[0].startswith("5 child(ren) in care before the 2017 return's year are not in the 2016 return")


def test_a_child_left_out_of_a_middle_return_is_flagged(tmp_path):
    """QA18: a child open in 2016 and 2018 but absent from 2017 was not reported."""
    write_return(tmp_path, 2016, [header_row("C001"), header_row("C002")],
                 [episode_row("C001", "01/05/2015"), episode_row("C002", "01/05/2015")])
    write_return(tmp_path, 2017, [header_row("C001")], [episode_row("C001", "01/05/2015")])
    write_return(tmp_path, 2018, [header_row("C001"), header_row("C002")],
                 [episode_row("C001", "01/05/2015"), episode_row("C002", "01/05/2015")])
    c = clean(read_ssda903(tmp_path))
    flagged = rule_rows(c, "absent_from_middle_return")
    assert flagged[["file", "row"]].values.tolist() == [["2016/episodes.csv", 3]]
    assert ("1 child(ren) open at the end of the 2016 return are not in the 2017 return but are in a later one"
            in " ".join(c.warnings))
    assert rule_rows(c, "missing_from_next_return").empty  # the 2018 return carries the episode on


def test_an_exit_followed_the_same_day_by_a_continuing_episode_is_flagged(tmp_path):
    """QA18: REC E11 (adopted) then an episode the same day with RNE L became an adoption and a
    re-entry without a word."""
    write_return(tmp_path, 2016, [header_row("C001")],
                 [episode_row("C001", "01/05/2015", "01/09/2015", "E11"), episode_row("C001", "01/09/2015", rne="L")])
    c = clean(read_ssda903(tmp_path))
    flagged = rule_rows(c, "continues_after_exit")
    assert flagged[["file", "row"]].values.tolist() == [["2016/episodes.csv", 3]]
    assert "RNE L (care continues) on the day the episode before ended with REC E11" in flagged["why"][0]
    assert any(w.startswith("1 episode(s) start the day an exit") for w in c.warnings)
    assert len(c.periods) == 2  # read as the DfE counts it: an exit, then a new period
    # X1 then RNE L is routine, and an exit then a new start (RNE S) the same day is a re-entry
    other = tmp_path / "routine"
    write_return(other, 2016, [header_row("C001")],
                 [episode_row("C001", "01/05/2015", "01/09/2015", "X1"), episode_row("C001", "01/09/2015", "01/12/2015", "E13", rne="L"),
                  episode_row("C001", "01/12/2015", rne="S")])
    assert rule_rows(clean(read_ssda903(other)), "continues_after_exit").empty


def test_a_uasc_file_listing_young_children_is_flagged(tmp_path):
    """QA18: a UASC file holding every child, babies included, was read without a word."""
    write_return(tmp_path, 2016, [header_row("C001", dob="01/01/2014"), header_row("C002", dob="01/01/2000")],
                 [episode_row("C001", "01/05/2015"), episode_row("C002", "01/05/2015")],
                 uasc=[["C001", "1", "01/01/2014", ""], ["C002", "1", "01/01/2000", ""]])
    c = clean(read_ssda903(tmp_path))
    flagged = rule_rows(c, "uasc_very_young")
    assert flagged[["file", "row"]].values.tolist() == [["2016/uasc.csv", 2]]
    assert any(w.startswith("1 UASC row(s) are of children under 10 when first looked after") for w in c.warnings)


@pytest.mark.parametrize("ducs, rule, row, warning", [
    # a DUC before the child's first episode (a typo, or another child's date) was read without a word
    (("30/04/2015", "01/05/2015"), "uasc_ceased_before_care", 2, "a DUC before the child was first looked after"),
    # QA22: so was a DUC of 01/01/2030 in the 2015-16 return
    (("31/03/2016", "01/01/2030"), "uasc_ceased_after_return", 3, "a DUC after the end of their return's year"),
])
def test_a_uasc_status_ceasing_outside_the_childs_care_or_the_return_is_flagged(tmp_path, ducs, rule, row, warning):
    write_return(tmp_path, 2016, [header_row("C001", dob="01/01/2000"), header_row("C002", dob="01/01/2000")],
                 [episode_row("C001", "01/05/2015"), episode_row("C002", "01/05/2015")],
                 uasc=[["C001", "1", "01/01/2000", ducs[0]], ["C002", "1", "01/01/2000", ducs[1]]])
    c = clean(read_ssda903(tmp_path))
    flagged = c.report[c.report["rule"].str.startswith("uasc_ceased")]
    assert flagged[["file", "row", "action", "rule"]].values.tolist() == [["2016/uasc.csv", row, "flagged", rule]]
    assert any(w.startswith(f"1 UASC row(s) give {warning}") for w in c.warnings)
    assert c.children.set_index("child_id")["uasc"].all()  # still counted as UASC: the file lists them


def test_a_later_date_of_birth_that_makes_an_earlier_episode_an_adults_is_refused(tmp_path):
    """QA18: a date of birth ten years early in the latest header dropped the earlier returns'
    episodes as starting after 18, and the children with them, with exit 0."""
    from carejourney.ssda903 import Ssda903Error

    write_return(tmp_path, 2016, [header_row("C001", dob="01/01/2000")], [episode_row("C001", "01/05/2015")])
    write_return(tmp_path, 2017, [header_row("C001", dob="01/01/1990")], [episode_row("C001", "01/05/2015")])
    with pytest.raises(Ssda903Error) as err:
        read_ssda903(tmp_path)
    assert ("2016/episodes.csv, row 2, field DECOM: episode starts on or after the 18th birthday by the date of birth "
            "in 2017/header.csv, row 2 (the latest return's header, which is kept), but not by this return's") in str(err.value)


def test_a_later_return_cut_short_is_a_warning_not_changed_ids(tmp_path):
    """Review of QA18's check: most children gone from the next return but none new in their
    place is a return cut short (a warning), not renumbered ids; and children who come back in a
    later return show the ids did not change."""
    kids = [f"C{i:03d}" for i in range(1, 26)]
    write_return(tmp_path, 2016, [header_row(c) for c in kids], [episode_row(c, "01/05/2015") for c in kids])
    write_return(tmp_path, 2017, [header_row(c) for c in kids[:3]], [episode_row(c, "01/05/2015") for c in kids[:3]])
    c = clean(read_ssda903(tmp_path))
    assert len(rule_rows(c, "missing_from_next_return")) == 22
    # left out of 2017 but back in 2018: flagged as absent from a middle return, not refused
    write_return(tmp_path, 2018, [header_row(c) for c in kids], [episode_row(c, "01/05/2015") for c in kids])
    c = clean(read_ssda903(tmp_path))
    assert len(rule_rows(c, "absent_from_middle_return")) == 22


def test_leading_zeros_lost_in_the_earlier_return_give_one_error_for_the_pair(tmp_path):
    """Review of QA18's check: zeros lost in the earlier return were refused twice, once as
    zeros and once as changed ids."""
    from carejourney.ssda903 import Ssda903Error

    kept = [f"00{i}" for i in range(1, 26)]
    write_return(tmp_path, 2016, [header_row(c.lstrip("0")) for c in kept],
                 [episode_row(c.lstrip("0"), "01/05/2015") for c in kept])
    write_return(tmp_path, 2017, [header_row(c) for c in kept], [episode_row(c, "01/05/2015") for c in kept])
    with pytest.raises(Ssda903Error) as err:
        read_ssda903(tmp_path)
    assert [p.field for p in err.value.problems] == ["CHILD"]
    assert "leading zeros removed" in str(err.value)


def test_an_age_assessment_that_moves_a_uasc_date_of_birth_is_not_refused(tmp_path):
    """Review of QA18's check: a UASC assessed as an adult leaves E15 and the next header gives
    the earlier date of birth; that is a correction, not a contradiction."""
    write_return(tmp_path, 2016, [header_row("C001", dob="01/01/2000")], [episode_row("C001", "01/05/2015")],
                 uasc=[["C001", "1", "01/01/2000", ""]])
    write_return(tmp_path, 2017, [header_row("C001", dob="01/01/1990")],
                 [episode_row("C001", "01/05/2015", "01/06/2016", "E15")], uasc=[["C001", "1", "01/01/1990", "01/06/2016"]])
    read_ssda903(tmp_path)  # no error
