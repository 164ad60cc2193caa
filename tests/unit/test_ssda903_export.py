"""export_903: simulated journeys -> SSDA903 files that read and clean back to the same journeys."""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carejourney.ssda903 import clean, export_903, pseudonymise, read_ssda903
from carejourney.ssda903.export import SYNTHETIC_ID_FORMAT

T = pd.Timestamp
SALT = "round-trip"
NaT = pd.NaT


def tables(children, periods, placements, legal):
    """Tidy tables in the simulation's output contract from plain row lists."""
    return {
        "children": pd.DataFrame(children, columns=["child_id", "sex", "dob", "need", "uasc"]),
        "care_periods": pd.DataFrame(periods, columns=["child_id", "period", "start", "end", "exit_route"]),
        "placements": pd.DataFrame(
            placements,
            columns=["child_id", "period", "start", "end", "placement_type", "in_house", "in_area"],
        ),
        "legal_statuses": pd.DataFrame(legal, columns=["child_id", "period", "start", "end", "legal_status"]),
    }


def hand_built():
    children = [
        (1, "M", T("2006-06-01"), "N1_abuse_or_neglect", False),
        (2, "F", T("1998-02-10"), "N2_disability", True),
        (3, "F", T("2013-03-03"), "N5_family_dysfunction", False),
    ]
    periods = [
        (1, 1, T("2014-05-01"), T("2015-08-01"), "returned_home_planned"),
        (1, 2, T("2016-01-10"), NaT, "censored"),
        (2, 1, T("2015-01-01"), T("2016-02-10"), "turned_18_other"),
        (3, 1, T("2014-04-20"), T("2017-01-15"), "adopted"),
    ]
    placements = [
        (1, 1, T("2014-05-01"), T("2014-09-01"), "inhouse_foster", True, True),
        (1, 1, T("2014-09-01"), T("2014-12-01"), "ifa_foster", False, True),  # P and legal change: B
        (1, 1, T("2014-12-01"), T("2015-08-01"), "ifa_foster", False, False),  # same type, new carer: P
        (1, 2, T("2016-01-10"), NaT, "external_childrens_home", False, False),
        (2, 1, T("2015-01-01"), T("2016-02-10"), "supported_accommodation", False, True),
        (3, 1, T("2014-04-20"), T("2016-03-01"), "kinship_foster", True, True),
        (3, 1, T("2016-03-01"), T("2017-01-15"), "placed_for_adoption", True, True),
    ]
    legal = [
        (1, 1, T("2014-05-01"), T("2014-09-01"), "s20"),
        (1, 1, T("2014-09-01"), T("2015-08-01"), "care_order"),
        (1, 2, T("2016-01-10"), NaT, "interim_care_order"),
        (2, 1, T("2015-01-01"), T("2016-02-10"), "s20"),
        (3, 1, T("2014-04-20"), T("2015-01-05"), "interim_care_order"),
        (3, 1, T("2015-01-05"), T("2015-10-01"), "care_order"),  # legal change only: L
        (3, 1, T("2015-10-01"), T("2017-01-15"), "placement_order"),
    ]
    return tables(children, periods, placements, legal)


def pseudonyms(child_ids: pd.Series) -> pd.Series:
    return pseudonymise(child_ids.map(SYNTHETIC_ID_FORMAT.format), SALT)


def comparable(df: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    out = df[cols].copy()
    for c in ("start", "end", "dob"):
        if c in out:
            out[c] = pd.to_datetime(out[c]).astype("datetime64[ns]")
    for c in ("period",):
        if c in out:
            out[c] = out[c].astype("int64")
    for c in ("in_house", "uasc"):
        if c in out:
            out[c] = out[c].astype(bool)
    for c in out.columns:
        if out[c].dtype != bool and not c.startswith(("start", "end", "dob", "period")):
            out[c] = out[c].astype(object)
    return out.sort_values(cols[:3]).reset_index(drop=True)


def assert_round_trip(sim: dict[str, pd.DataFrame], out_dir: Path) -> None:
    export_903(sim, out_dir)
    back = clean(read_ssda903(out_dir, salt=SALT))
    expected = {name: df.assign(child_id=pseudonyms(df["child_id"])) for name, df in sim.items()}
    checks = [
        ("care_periods", back.periods, ["child_id", "period", "start", "end", "exit_route"]),
        ("placements", back.placements, ["child_id", "period", "start", "end", "placement_type", "in_house"]),
        ("legal_statuses", back.legal_statuses, ["child_id", "period", "start", "end", "legal_status"]),
        ("children", back.children, ["child_id", "sex", "dob", "need", "uasc"]),
    ]
    for name, got, cols in checks:
        pd.testing.assert_frame_equal(comparable(got, cols), comparable(expected[name], cols), obj=name)


def test_round_trip_hand_built(tmp_path):
    assert_round_trip(hand_built(), tmp_path)


def test_files_follow_the_collection_years(tmp_path):
    written = export_903(hand_built(), tmp_path)
    assert sorted(written) == [2015, 2016, 2017]
    ep = {
        y: pd.read_csv(tmp_path / str(y) / "episodes.csv", dtype=str, keep_default_na=False) for y in written
    }
    child1 = {y: e[e["CHILD"] == "SIM000001"] for y, e in ep.items()}
    # 2014-15: three episodes, the last open at 31 March 2015 with DEC and REC blank
    assert child1[2015][["DECOM", "RNE", "LS", "PLACE", "PLACE_PROVIDER", "DEC", "REC"]].values.tolist() == [
        ["01/05/2014", "S", "V2", "U4", "PR1", "01/09/2014", "X1"],
        ["01/09/2014", "B", "C2", "U4", "PR4", "01/12/2014", "X1"],
        ["01/12/2014", "P", "C2", "U4", "PR4", "", ""],
    ]
    # 2015-16: the open episode again, now closed with the exit code, and the new period
    assert child1[2016][["DECOM", "RNE", "DEC", "REC"]].values.tolist() == [
        ["01/12/2014", "P", "01/08/2015", "E4A"],
        ["10/01/2016", "S", "", ""],
    ]
    child3 = ep[2016][ep[2016]["CHILD"] == "SIM000003"]
    assert child3[["RNE", "LS", "PLACE"]].values.tolist() == [
        ["L", "C2", "U1"],
        ["L", "E1", "U1"],
        ["P", "E1", "A6"],
    ]
    # header and uasc hold only that year's children; UASC status ends at 18
    header16 = pd.read_csv(tmp_path / "2016" / "header.csv", dtype=str, keep_default_na=False)
    assert header16["CHILD"].tolist() == ["SIM000001", "SIM000002", "SIM000003"]
    assert header16["SEX"].tolist() == ["1", "2", "2"]
    uasc16 = pd.read_csv(tmp_path / "2016" / "uasc.csv", dtype=str, keep_default_na=False)
    assert uasc16.values.tolist() == [["SIM000002", "2", "10/02/1998", "10/02/2016"]]
    header17 = pd.read_csv(tmp_path / "2017" / "header.csv", dtype=str, keep_default_na=False)
    assert header17["CHILD"].tolist() == ["SIM000001", "SIM000003"]


def test_exit_code_not_yet_valid_falls_back(tmp_path):
    sim = tables(
        [
            (1, "M", T("1997-05-01"), "N1_abuse_or_neglect", False),
            (2, "M", T("1998-05-01"), "N1_abuse_or_neglect", False),
        ],
        [
            (1, 1, T("2014-06-01"), T("2015-05-01"), "staying_put_18"),
            (2, 1, T("2015-06-01"), T("2016-05-01"), "staying_put_18"),
        ],
        [
            (1, 1, T("2014-06-01"), T("2015-05-01"), "inhouse_foster", True, True),
            (2, 1, T("2015-06-01"), T("2016-05-01"), "inhouse_foster", True, True),
        ],
        [
            (1, 1, T("2014-06-01"), T("2015-05-01"), "care_order"),
            (2, 1, T("2015-06-01"), T("2016-05-01"), "care_order"),
        ],
    )
    export_903(sim, tmp_path)
    rec = {
        y: pd.read_csv(tmp_path / str(y) / "episodes.csv", dtype=str, keep_default_na=False)["REC"].tolist()
        for y in (2016, 2017)
    }
    assert rec == {2016: ["E8", ""], 2017: ["E17"]}  # E17 exists from 2016-17 only
    back = clean(read_ssda903(tmp_path)).periods.sort_values("start")
    assert back["exit_route"].tolist() == ["turned_18_other", "staying_put_18"]


def test_event_log_form_is_accepted(tmp_path):
    """The model's event log: boolean `male`, categorical names, and children already in care at
    the run's start whose spells are recorded from that day only."""
    sim = hand_built()
    children = sim["children"].assign(male=sim["children"]["sex"].eq("M")).drop(columns="sex")
    children["need"] = children["need"].astype("category")
    periods = sim["care_periods"].copy()
    periods.loc[periods["child_id"] == 3, "start"] = T("2013-11-11")  # entered before the run
    periods["exit_route"] = periods["exit_route"].astype("category")
    placements = sim["placements"].assign(
        placement_type=sim["placements"]["placement_type"].astype("category")
    )
    export_903({**sim, "children": children, "care_periods": periods, "placements": placements}, tmp_path)
    back = clean(read_ssda903(tmp_path, salt=SALT))
    three = pseudonyms(pd.Series([3])).iloc[0]
    assert back.periods.loc[back.periods["child_id"] == three, "start"].tolist() == [T("2013-11-11")]
    assert back.placements.loc[back.placements["child_id"] == three, "start"].min() == T("2013-11-11")
    assert back.children.set_index("child_id").loc[three, "sex"] == "F"


def test_inconsistent_tables_are_refused(tmp_path):
    sim = hand_built()
    gap = sim["placements"].copy()
    gap.loc[0, "end"] = T("2014-08-01")  # a month with no placement
    with pytest.raises(ValueError, match="placements do not cover their periods"):
        export_903({**sim, "placements": gap}, tmp_path)
    with pytest.raises(ValueError, match="lacks columns"):
        export_903({**sim, "children": sim["children"].drop(columns="need")}, tmp_path)


def test_only_synthetic_ids_are_written(tmp_path):
    export_903(hand_built(), tmp_path)
    for path in tmp_path.rglob("*.csv"):
        frame = pd.read_csv(path, dtype=str)
        assert frame["CHILD"].str.fullmatch(r"SIM\d{6}").all()
        for col in ("UPN", "HOME_POST", "PL_POST", "URN"):
            if col in frame:
                assert frame[col].isna().all()


# --- property: random journeys round-trip ------------------------------------------------

# (placement type, allowed in_house values) that the mapping reads back unchanged
ROUND_TRIP_TYPES = [
    ("placed_with_parents", [False]),
    ("kinship_foster", [True]),
    ("inhouse_foster", [True]),
    ("ifa_foster", [False]),
    ("supported_accommodation", [True, False]),
    ("inhouse_childrens_home", [True]),
    ("external_childrens_home", [False]),
    ("residential_school", [True, False]),
    ("secure_disability_residential", [True, False]),
    ("placed_for_adoption", [True, False]),
    ("other", [True, False]),
]
# exits whose code is valid in every year from 2016-17 and does not depend on age
ROUND_TRIP_EXITS = [
    "adopted", "sgo_former_foster_carer", "sgo_other_carer", "child_arrangements_order",
    "returned_home_planned", "returned_home_unplanned", "lives_with_relatives_no_pr",
    "independent_living_supported", "independent_living_unsupported", "adult_social_care",
    "custody", "remand_ended", "age_assessment_18_plus", "staying_put_18", "transferred_or_other",
]  # fmt: skip
LEGAL = ["s20", "police_protection", "interim_care_order", "care_order", "placement_order", "remand"]


def _split(draw, start: int, end: int, max_parts: int) -> list[tuple[int, int]]:
    """Split day range [start, end) into consecutive spells of at least one day."""
    cuts = (
        draw(st.lists(st.integers(start + 1, end - 1), max_size=max_parts - 1, unique=True))
        if end - start > 1
        else []
    )
    bounds = [start, *sorted(cuts), end]
    return list(itertools.pairwise(bounds))


@st.composite
def journeys(draw):
    base = T("2016-04-01")  # from 2016-17 every exit code is valid

    def day(d: int) -> pd.Timestamp:
        return base + pd.Timedelta(days=d)

    children, periods, placements, legal = [], [], [], []
    for child in range(1, draw(st.integers(1, 3)) + 1):
        children.append(
            (child, draw(st.sampled_from("MF")), T("2006-01-01"), "N1_abuse_or_neglect", draw(st.booleans()))
        )
        t = draw(st.integers(0, 200))
        n_periods = draw(st.integers(1, 3))
        for period in range(1, n_periods + 1):
            length = draw(st.integers(1, 500))
            still_open = period == n_periods and draw(st.booleans())
            periods.append((child, period, day(t), NaT if still_open else day(t + length),
                            "censored" if still_open else draw(st.sampled_from(ROUND_TRIP_EXITS))))  # fmt: skip
            for a, b in _split(draw, t, t + length, 4):
                kind, houses = draw(st.sampled_from(ROUND_TRIP_TYPES))
                end = NaT if still_open and b == t + length else day(b)
                placements.append((child, period, day(a), end, kind, draw(st.sampled_from(houses)), True))
            for a, b in _split(draw, t, t + length, 3):
                end = NaT if still_open and b == t + length else day(b)
                legal.append((child, period, day(a), end, draw(st.sampled_from(LEGAL))))
            t += length + draw(st.integers(0, 60))
    return tables(children, periods, placements, legal)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(journeys())
def test_random_journeys_round_trip(sim):
    with tempfile.TemporaryDirectory() as folder:
        assert_round_trip(sim, Path(folder))
