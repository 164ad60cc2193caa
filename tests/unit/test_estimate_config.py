"""estimate_config on a small hand-built SSDA903 dataset whose counts are known exactly."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from carejourney.calibrate import estimate_config
from carejourney.calibrate.estimate_data import parse_years
from carejourney.config import parse_config
from carejourney.ssda903 import clean, export_903, read_ssda903

T = pd.Timestamp
NaT = pd.NaT
DAY = pd.Timedelta(days=1)


def hand_built() -> dict[str, pd.DataFrame]:
    """Four groups of children, April 2015 - March 2017 (collection years 2016 and 2017):

    A (6, aged 8): enter on s20 in IFA fostering, move once: 4 to in-house, 2 to kinship; still in care.
    B (5 babies): enter on interim care orders in in-house fostering; still in care.
    C (5, aged 16): enter on s20 in supported accommodation; return home in January 2016
       (3 planned, 2 not).
    D (5, aged 5): police protection for 3 days, then s20 (3) or an interim care order (2), in IFA.
    """
    children, periods, placements, legal = [], [], [], []
    for i in range(6):
        cid, start, move = 1 + i, T("2015-06-01") + i * DAY, T("2015-10-01") + i * DAY
        children.append((cid, "M" if i % 2 else "F", T("2007-06-01"), "N1_abuse_or_neglect", False))
        periods.append((cid, 1, start, NaT, "censored"))
        placements += [(cid, 1, start, move, "ifa_foster", False, True),
                       (cid, 1, move, NaT, "inhouse_foster" if i < 4 else "kinship_foster", True, True)]
        legal.append((cid, 1, start, NaT, "s20"))
    for k in range(5):
        cid, start = 11 + k, T("2015-09-01") + k * DAY
        children.append((cid, "F", T("2015-08-01"), "N1_abuse_or_neglect", False))
        periods.append((cid, 1, start, NaT, "censored"))
        placements.append((cid, 1, start, NaT, "inhouse_foster", True, True))
        legal.append((cid, 1, start, NaT, "interim_care_order"))
    for k in range(5):
        cid, start, end = 21 + k, T("2015-06-15") + k * DAY, T("2016-01-10") + k * DAY
        children.append((cid, "M", T("1999-01-15"), "N5_family_dysfunction", False))
        periods.append((cid, 1, start, end, "returned_home_planned" if k < 3 else "returned_home_unplanned"))
        placements.append((cid, 1, start, end, "supported_accommodation", False, True))
        legal.append((cid, 1, start, end, "s20"))
    for k in range(5):
        cid, start = 31 + k, T("2015-11-01") + k * DAY
        children.append((cid, "F", T("2010-03-01"), "N4_acute_stress", False))
        periods.append((cid, 1, start, NaT, "censored"))
        placements.append((cid, 1, start, NaT, "ifa_foster", False, True))
        legal += [(cid, 1, start, start + 3 * DAY, "police_protection"),
                  (cid, 1, start + 3 * DAY, NaT, "s20" if k < 3 else "interim_care_order")]
    return {
        "children": pd.DataFrame(children, columns=["child_id", "sex", "dob", "need", "uasc"]),
        "care_periods": pd.DataFrame(periods, columns=["child_id", "period", "start", "end", "exit_route"]),
        "placements": pd.DataFrame(placements, columns=["child_id", "period", "start", "end", "placement_type",
                                                        "in_house", "in_area"]),
        "legal_statuses": pd.DataFrame(legal, columns=["child_id", "period", "start", "end", "legal_status"]),
    }


@pytest.fixture(scope="module")
def estimated(tmp_path_factory):
    folder = tmp_path_factory.mktemp("903")
    written = export_903(hand_built(), folder, years=[2016, 2017])
    assert sorted(written) == [2016, 2017]
    cleaned = clean(read_ssda903(folder))
    config, report = estimate_config(cleaned, dt.date(2016, 4, 1))
    return cleaned, config, report


def test_the_estimated_config_validates_and_keeps_what_ssda903_cannot_inform(estimated, default_dict):
    _, config, report = estimated
    cfg = parse_config(config)
    assert cfg.horizon.start_date == dt.date(2016, 4, 1) and cfg.horizon.end_date == dt.date(2022, 3, 31)
    assert config["costs"] == default_dict["costs"]
    assert config["placements"]["capacity"] == default_dict["placements"]["capacity"]
    assert config["edge_of_care"]["services"] == default_dict["edge_of_care"]["services"]
    kept = [p for p, _ in report.from_template]
    assert "costs" in kept and "population" in kept and "edge_of_care.services" in kept


def test_opening_stock_is_counted_exactly_on_the_day_before_the_start(estimated):
    _, config, _ = estimated
    op = config["opening"]
    assert op["age_band_counts"] == {"under_1": 5, "1_to_4": 0, "5_to_9": 11, "10_to_15": 0, "16_to_17": 0}
    assert op["legal_status_counts"] == {"s20": 9, "interim_care_order": 7}
    assert op["placement_type_counts"] == {"kinship_foster": 2, "inhouse_foster": 9, "ifa_foster": 5}
    assert op["uasc_count"] == 0
    assert op["male_share"] == pytest.approx(3 / 16, abs=1e-4)
    assert op["need_mix"] == pytest.approx({"N1_abuse_or_neglect": 11 / 16, "N4_acute_stress": 5 / 16}, abs=1e-4)
    assert op["days_in_care_so_far"]["kind"] == "empirical"


def test_transition_matrix_and_entry_mixes(estimated, default_dict):
    _, config, _report = estimated
    nxt = config["placements"]["next_placement"]
    assert nxt["ifa_foster"] == pytest.approx({"inhouse_foster": 4 / 6, "kinship_foster": 2 / 6}, abs=1e-4)
    # rows with no moves in the data stay as in the template
    assert nxt["residential_school"] == default_dict["placements"]["next_placement"]["residential_school"]
    entry = config["placements"]["at_entry_by_age_band"]
    assert entry["under_1"] == {"inhouse_foster": 1.0}
    assert entry["5_to_9"] == {"ifa_foster": 1.0}  # groups A and D
    assert entry["16_to_17"] == {"supported_accommodation": 1.0}
    assert entry["1_to_4"] == default_dict["placements"]["at_entry_by_age_band"]["1_to_4"]  # no entries
    status = config["legal"]["entry_status_by_age_band"]
    assert status["under_1"] == {"interim_care_order": 1.0}
    assert status["5_to_9"] == {"s20": 1.0}  # police protection (group D) is the emergency route
    assert config["legal"]["after_police_protection"] == pytest.approx({"s20": 0.6, "interim_care_order": 0.4})
    assert config["legal"]["police_protection_days"] == {"kind": "fixed", "days": 3.0}
    assert config["demand"]["children"]["need_by_age_band"]["16_to_17"] == {"N5_family_dysfunction": 1.0}


def test_shares_hazards_and_their_uncertainty_entries(estimated):
    cleaned, config, report = estimated
    ex = config["exits"]
    assert ex["returned_home_planned_share"] == pytest.approx(0.6)
    e = report.get("exits.returned_home_planned_share")
    assert (e.events, e.n) == (3, 5) and e.prior == {"dist": "beta", "alpha": 4.0, "beta": 3.0}
    # returned home: 5 exits, all on s20 aged 16-17: mean = days at risk / 5 / the 16-17 template multiplier
    c = cleaned.periods[cleaned.periods["exit_route"].str.startswith("returned_home")]
    days = float((c["end"] - c["start"]).dt.days.sum())
    assert ex["returned_home"]["days"] == {"kind": "exponential", "mean_days": pytest.approx(days / 5 / 2.5, rel=1e-3)}
    assert ex["returned_home"]["multiplier_by_status"] == {"s20": 1.0}  # no exit from other statuses: closed
    assert ex["sgo"]["multiplier_by_status"] == {}  # no SGO at all: closed for every status
    unc = {u["path"]: u["prior"] for u in config["uncertainty"]}
    assert unc["exits.returned_home.days.mean_days"]["dist"] == "lognormal"
    assert unc["exits.returned_home.days.mean_days"]["sigma"] == pytest.approx(1 / 5**0.5, rel=1e-3)
    assert unc["exits.returned_home_planned_share"]["dist"] == "beta"
    # IFA moves: 6 moves after 122 days each, 5 open spells censored at the window's end
    ifa = ex and config["placements"]["types"]["ifa_foster"]["days_to_move"]
    pl = cleaned.placements[cleaned.placements["placement_type"] == "ifa_foster"]
    at_risk = ((pl["end"].fillna(T("2017-04-01")) - pl["start"]).dt.days).sum()
    assert ifa["kind"] == "exponential"  # fewer than 10 moves
    assert ifa["mean_days"] * 1.1 == pytest.approx(at_risk / 6, rel=1e-3)  # 5-9s: template multiplier 1.1


def test_the_report_holds_no_child_identifier_and_suppresses_small_counts(estimated):
    cleaned, config, report = estimated
    text = report.to_markdown()
    for cid in cleaned.children["child_id"]:
        assert cid not in text and cid not in str(config)
    assert "SIM0000" not in text
    e = report.get("exits.returned_home_planned_share")
    row = next(line for line in text.splitlines() if "`exits.returned_home_planned_share`" in line)
    assert "| 5 |" in row and e.events == 3 and "<5" in row  # 3 successes printed as <5
    opening = next(line for line in text.splitlines() if "`opening.placement_type_counts`" in line)
    assert "kinship_foster: <5" in opening and "inhouse_foster: 9" in opening


def test_start_outside_the_data_and_year_parsing(estimated):
    cleaned, _, _ = estimated
    with pytest.raises(ValueError, match="window"):
        estimate_config(cleaned, dt.date(2019, 4, 1))
    assert parse_years("2014-2016") == (2014, 2016)
    assert parse_years("2015-16") == (2016, 2016)
    assert parse_years([2017, 2016]) == (2016, 2017)
    assert parse_years("1999-00") == (2000, 2000)
    for wrong in ("2016-19", "2016-99", "2016-16"):  # QA: each was read as 2016-17 alone
        with pytest.raises(ValueError, match="a two-digit end names one financial year"):
            parse_years(wrong)
    config, report = estimate_config(cleaned, dt.date(2015, 4, 1), years="2016")
    assert "collection years 2016-2016" in report.window
    parse_config(config)
