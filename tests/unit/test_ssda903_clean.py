"""clean: messy-but-valid returns are cleaned, every change is reported, periods partition episodes."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from carejourney import vocab
from carejourney.ssda903 import clean, pseudonymise, read_ssda903

HEADER_COLS = ["CHILD", "SEX", "DOB", "ETHNIC", "UPN", "MOTHER", "MC_DOB"]
EPISODE_COLS = [
    "CHILD", "DECOM", "RNE", "LS", "CIN", "PLACE", "PLACE_PROVIDER", "DEC", "REC",
    "REASON_PLACE_CHANGE", "HOME_POST", "PL_POST", "URN",
]  # fmt: skip
UASC_COLS = ["CHILD", "SEX", "DOB", "DUC"]
SALT = "test-salt"
T = pd.Timestamp

# Identifiers chosen to be findable by a text search of any output.
CHILD_A, CHILD_B, CHILD_SB = "LA0847261", "LA0993318", "LA0555012"
UPN = "K801200123456"
HOME_POST, PL_POST, URN = "CB9 7QX", "PE28 4YY", "SC998877"


def write_csv(path: Path, columns: list[str], rows: list[list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([",".join(columns), *(",".join(r) for r in rows)]) + "\n", encoding="utf-8")


def header_row(child: str, dob: str = "01/01/2008", sex: str = "1") -> list[str]:
    return [child, sex, dob, "WBRI", UPN, "", ""]


def episode_row(child, decom, dec="", rec="", *, rne="S", ls="C2", cin="N1", place="U4", provider="PR1"):
    return [child, decom, rne, ls, cin, place, provider, dec, rec, "", HOME_POST, PL_POST, URN]


def write_return(root: Path, year: int, headers, episodes, uasc=None) -> None:
    write_csv(root / str(year) / "header.csv", HEADER_COLS, headers)
    write_csv(root / str(year) / "episodes.csv", EPISODE_COLS, episodes)
    if uasc is not None:
        write_csv(root / str(year) / "uasc.csv", UASC_COLS, uasc)


def rows_of(df: pd.DataFrame, cols: list[str]) -> list[list]:
    """Plain lists for comparing; NaT / NaN become None."""
    values = df[cols].astype(object)
    return values.where(values.notna(), None).values.tolist()


def pseudonym(child: str) -> str:
    return pseudonymise(pd.Series([child]), SALT).iloc[0]


def cleaned_from(root: Path):
    return clean(read_ssda903(root, salt=SALT))


def messy_returns(root: Path) -> None:
    """Two years with a duplicate, an episode repeated across years, an overlap, short breaks."""
    write_return(
        root,
        2016,
        [header_row(CHILD_A), header_row(CHILD_B, dob="15/06/1998", sex="2"), header_row(CHILD_SB)],
        [
            episode_row(CHILD_A, "01/05/2015", "01/07/2015", "X1"),  # row 2
            episode_row(CHILD_A, "01/07/2015", rne="P", provider="PR4"),  # row 3, open at 31 March
            episode_row(CHILD_A, "01/07/2015", rne="P", provider="PR4"),  # row 4, exact duplicate
            episode_row(CHILD_B, "01/06/2015", "10/10/2015", "E4A", ls="V2"),  # row 5, overlaps row 6
            episode_row(
                CHILD_B, "01/10/2015", "05/11/2015", "E4A", ls="V3", place="H5"
            ),  # row 6, short break
            episode_row(CHILD_B, "01/01/2016", ls="V2", place="H5"),  # row 7
            episode_row(CHILD_SB, "01/05/2015", "03/05/2015", "E4A", ls="V3", place="H5"),  # row 8
        ],
        uasc=[[CHILD_B, "2", "15/06/1998", ""]],
    )
    write_return(
        root,
        2017,
        [header_row(CHILD_A), header_row(CHILD_B, dob="15/06/1998", sex="2")],
        [
            episode_row(
                CHILD_A, "01/07/2015", "01/12/2016", "X1", rne="P", provider="PR4"
            ),  # row 2, DEC filled
            episode_row(
                CHILD_A, "01/12/2016", "01/02/2017", "E45", rne="L", ls="E1", provider="PR4"
            ),  # row 3
            episode_row(
                CHILD_B, "01/01/2016", "15/06/2016", "E8", ls="V2", place="H5"
            ),  # row 4, 18th birthday
        ],
    )


def test_messy_returns_are_cleaned_and_reported(tmp_path):
    messy_returns(tmp_path)
    c = cleaned_from(tmp_path)
    a, b = pseudonym(CHILD_A), pseudonym(CHILD_B)
    report = c.report.set_index(["file", "row"])

    assert report.loc[("2016/episodes.csv", 4), "rule"] == "exact_duplicate"
    assert report.loc[("2016/episodes.csv", 3), "rule"] == "repeated_in_later_return"
    assert "DEC filled" in report.loc[("2016/episodes.csv", 3), "why"]
    assert report.loc[("2016/episodes.csv", 6), "rule"] == "short_break_episode"
    assert report.loc[("2016/episodes.csv", 8), "rule"] == "short_breaks_only"
    assert report.loc[("2016/header.csv", 4), "rule"] == "short_breaks_only_header"
    # row 5 overlapped only the short break (row 6), which goes first: it is kept unchanged
    assert ("2016/episodes.csv", 5) not in report.index

    # child A: one period of three episodes merged across years, exit by SGO to former carers
    pa = c.periods[c.periods["child_id"] == a]
    assert len(pa) == 1
    assert pa.iloc[0][["start", "end", "exit_route"]].tolist() == [
        T("2015-05-01"),
        T("2017-02-01"),
        "sgo_former_foster_carer",
    ]
    assert pa.iloc[0]["n_episodes"] == 3
    assert pa.iloc[0]["legal_status_at_entry"] == "care_order"
    assert pa.iloc[0]["placement_type_at_entry"] == "inhouse_foster"
    assert pa.iloc[0]["age_at_entry"] == 7 and pa.iloc[0]["age_band_at_entry"] == "5_to_9"
    # RNE L (legal change only) keeps the placement; RNE P starts a new one
    pl = c.placements[c.placements["child_id"] == a]
    assert rows_of(pl, ["start", "end", "placement_type"]) == [
        [T("2015-05-01"), T("2015-07-01"), "inhouse_foster"],
        [T("2015-07-01"), T("2017-02-01"), "ifa_foster"],
    ]
    ls = c.legal_statuses[c.legal_statuses["child_id"] == a]
    assert ls["legal_status"].tolist() == ["care_order", "placement_order"]

    # child B: two periods (the short break between them is dropped), E8 on the 18th birthday
    pb = c.periods[c.periods["child_id"] == b]
    assert rows_of(pb, ["start", "end", "exit_route"]) == [
        [T("2015-06-01"), T("2015-10-10"), "returned_home_planned"],
        [T("2016-01-01"), T("2016-06-15"), "turned_18_other"],
    ]
    children = c.children.set_index("child_id")
    assert set(children.index) == {a, b}
    assert children.loc[b, "uasc"] and not children.loc[a, "uasc"]
    assert children.loc[b, "sex"] == "F" and children.loc[a, "need"] == "N1_abuse_or_neglect"

    summary = c.summary()
    assert "1 row removed: episode repeated exactly in the same return" in summary
    assert f"Kept {len(c.episodes)} episodes in 3 periods of care for 2 children" in summary


def test_overlapping_episode_is_trimmed_and_open_episode_closed(tmp_path):
    write_return(
        tmp_path,
        2016,
        [header_row(CHILD_A)],
        [
            episode_row(CHILD_A, "01/05/2015", "01/09/2015", "X1"),
            episode_row(CHILD_A, "01/08/2015", rne="P"),  # starts before the previous ends
        ],
    )
    write_return(
        tmp_path, 2017, [header_row(CHILD_A)], [episode_row(CHILD_A, "01/06/2016", rne="P", place="U6")]
    )
    c = cleaned_from(tmp_path)
    assert rows_of(c.episodes, ["start", "end"]) == [
        [T("2015-05-01"), T("2015-08-01")],
        [T("2015-08-01"), T("2016-06-01")],  # open in 2016, not repeated in 2017: ends at the next start
        [T("2016-06-01"), None],
    ]
    assert c.episodes["REC"].tolist()[:2] == ["X1", "X1"]
    changed = c.report[c.report["action"] == "changed"]
    assert changed["row"].tolist() == [2, 3] and set(changed["rule"]) == {"overlap_trimmed"}
    assert "REC set to X1" in changed["why"].iloc[1]
    assert c.periods["exit_route"].tolist() == ["censored"] and c.periods["end"].isna().all()


def test_gap_after_x1_splits_periods_and_is_flagged(tmp_path):
    write_return(
        tmp_path,
        2016,
        [header_row(CHILD_A, dob="01/01/2000")],
        [
            episode_row(CHILD_A, "01/05/2015", "01/06/2015", "X1"),
            episode_row(CHILD_A, "10/06/2015", "01/12/2015", "E8", rne="S"),  # E8 before 18
        ],
    )
    c = cleaned_from(tmp_path)
    assert c.periods["exit_route"].tolist() == ["transferred_or_other", "transferred_or_other"]
    assert c.report["rule"].tolist() == ["period_closed_after_x1"]
    assert c.report["action"].tolist() == ["flagged"]


def test_only_short_break_children_leaves_empty_outputs(tmp_path):
    rows = [
        episode_row(CHILD_SB, f"0{d}/05/2015", f"0{d + 1}/05/2015", "E4A", ls="V4", place="H5")
        for d in (1, 4)
    ]
    write_return(tmp_path, 2016, [header_row(CHILD_SB)], rows)
    c = cleaned_from(tmp_path)
    assert c.episodes.empty and c.periods.empty and c.children.empty and c.placements.empty
    assert c.report["rule"].tolist() == ["short_breaks_only"] * 2 + ["short_breaks_only_header"]  # and its header row
    # QA22: the header row was counted with the episodes ("3 rows removed") under "2 episode rows read"
    assert "2 rows removed: episode of a child only ever on short breaks" in c.summary()
    assert "1 row removed: header row of a child only ever on short breaks" in c.summary()


def test_nothing_is_silently_dropped(tmp_path):
    messy_returns(tmp_path)
    data = read_ssda903(tmp_path, salt=SALT)
    c = clean(data)
    kept = set(zip(c.episodes["source_file"], c.episodes["source_row"]))
    removed = c.report[c.report["action"] == "removed"]
    removed_rows = set(zip(removed["file"], removed["row"]))
    every_row = set(zip(data.episodes["source_file"], data.episodes["source_row"]))
    assert every_row == kept | (removed_rows & every_row)
    assert not kept & removed_rows


def test_identifiers_never_reach_outputs(tmp_path):
    messy_returns(tmp_path / "in")
    c = cleaned_from(tmp_path / "in")
    secrets = [CHILD_A, CHILD_B, CHILD_SB, UPN, HOME_POST, PL_POST, URN]
    out = tmp_path / "out"
    out.mkdir()
    tables = {
        "episodes": c.episodes, "periods": c.periods, "placements": c.placements,
        "legal_statuses": c.legal_statuses, "children": c.children, "report": c.report,
    }  # fmt: skip
    for name, df in tables.items():
        df.to_csv(out / f"{name}.csv", index=False)
        df.to_parquet(out / f"{name}.parquet")
        assert not any(s in " ".join(map(str, df.columns)) for s in secrets)
    (out / "summary.txt").write_text(c.summary())
    for path in out.iterdir():
        blob = path.read_bytes()
        for s in secrets:
            assert s.encode() not in blob, f"{s} found in {path.name}"


# --- property: periods partition the episodes -------------------------------------------

EXITS = ["E4A", "E11", "E45", "E8", "E3"]


@st.composite
def episode_sequences(draw):
    """One child's valid, non-overlapping episodes within 2015-16, written as one return."""
    n = draw(st.integers(1, 8))
    day = T("2015-04-01") + pd.Timedelta(days=draw(st.integers(0, 30)))
    rows = []
    for i in range(n):
        length = draw(st.integers(1, 40))  # two starts on one day would be merged
        end = day + pd.Timedelta(days=length)
        last = i == n - 1
        open_end = last and draw(st.booleans())
        rec = "" if open_end else draw(st.sampled_from(["X1", "X1", *EXITS]))
        rows.append(
            episode_row(
                CHILD_A,
                day.strftime("%d/%m/%Y"),
                "" if open_end else end.strftime("%d/%m/%Y"),
                rec,
                rne=draw(st.sampled_from(["S", "P", "L", "B"])),
                ls=draw(st.sampled_from(["C2", "V2", "E1", "C1"])),
                place=draw(st.sampled_from(["U1", "U4", "K2", "H5", "A4", "P1"])),
                provider=draw(st.sampled_from(["PR1", "PR4"])),
            )
        )
        day = end + pd.Timedelta(days=draw(st.sampled_from([0, 0, 0, 1, 5])))  # mostly contiguous
    return rows


@settings(max_examples=25, deadline=None)
@given(episode_sequences())
def test_periods_partition_episodes(rows):
    with tempfile.TemporaryDirectory() as folder:
        write_return(Path(folder), 2016, [header_row(CHILD_A, dob="01/01/2005")], rows)
        c = cleaned_from(Path(folder))
    ep, periods = c.episodes, c.periods
    assert len(ep) == len(rows) and c.report["action"].ne("removed").all()
    assert periods["n_episodes"].sum() == len(ep)
    assert periods["period"].tolist() == list(range(1, len(periods) + 1))
    for _, p in periods.iterrows():
        mine = ep[ep["period"] == p["period"]].sort_values("start")
        assert mine["start"].iloc[0] == p["start"]
        assert (mine["end"].iloc[-1] == p["end"]) or (pd.isna(p["end"]) and pd.isna(mine["end"].iloc[-1]))
        # inside a period: episodes follow on the same day and all but the last are X1
        assert (mine["end"].iloc[:-1].to_numpy() == mine["start"].iloc[1:].to_numpy()).all()
        assert (mine["REC"].iloc[:-1] == "X1").all()
        if pd.isna(p["end"]):
            assert p["exit_route"] == "censored"
        else:
            assert p["exit_route"] in vocab.EXIT_ROUTES
    # periods follow each other without overlap
    assert (periods["end"].iloc[:-1].to_numpy() <= periods["start"].iloc[1:].to_numpy()).all()
    # placements and legal spells tile each period too
    for spells in (c.placements, c.legal_statuses):
        assert spells.groupby("period")["start"].min().tolist() == periods["start"].tolist()


def test_an_episode_a_later_return_corrected_is_superseded_not_trimmed_into(tmp_path):
    """QA: the 2017 return moved DECOM a day earlier (11/08 for 12/08); the stale 2016 row,
    still open, cut the corrected episode to one day (an adoption on 12 August 2015) and then
    stayed in care to the end of the data."""
    write_return(tmp_path, 2016, [header_row(CHILD_A)], [episode_row(CHILD_A, "12/08/2015", ls="E1")])
    write_return(tmp_path, 2017, [header_row(CHILD_A)],
                 [episode_row(CHILD_A, "11/08/2015", "09/10/2016", "E11", ls="E1")])
    c = cleaned_from(tmp_path)
    assert rows_of(c.periods, ["start", "end", "exit_route"]) == [[T("2015-08-11"), T("2016-10-09"), "adopted"]]
    removed = c.report.set_index(["file", "row"]).loc[("2016/episodes.csv", 2)]
    assert removed["rule"] == "superseded_by_later_return" and "2017/episodes.csv row 2" in removed["why"]
    assert "overlap_trimmed" not in set(c.report["rule"])


def test_a_child_missing_from_the_next_return_leaves_care_by_then(tmp_path):
    """QA: children open at 31 March but absent from every later return stayed in care to the
    end of the data, so deleting children from later returns raised the opening stock."""
    write_return(tmp_path, 2016, [header_row(CHILD_A), header_row(CHILD_B)],
                 [episode_row(CHILD_A, "01/05/2015"), episode_row(CHILD_B, "01/06/2015")])
    write_return(tmp_path, 2017, [header_row(CHILD_B)], [episode_row(CHILD_B, "01/06/2015")])
    c = cleaned_from(tmp_path)
    periods = c.periods.set_index("child_id")
    assert periods.loc[pseudonym(CHILD_A), ["end", "exit_route"]].tolist() == [T("2016-04-01"), "transferred_or_other"]
    assert periods.loc[pseudonym(CHILD_B), "exit_route"] == "censored"  # in the last return: still open
    changed = c.report[c.report["rule"] == "missing_from_next_return"]
    assert changed["row"].tolist() == [2] and (changed["action"] == "changed").all()
    assert "DEC set to 2016-04-01, REC to E8" in changed["why"].iloc[0]
