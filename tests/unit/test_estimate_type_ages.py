"""calibrate widens a placement type's ages to where the data place children (QA21).

Returns from before 2021 often hold under-16s in semi-independent living (H5). With the
template's 16+ limit, calibrate failed the config's opening check ("8 in supported_accommodation
(ages 16-17) but only 0 children of those ages"), naming no return or row.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from carejourney.calibrate import estimate_config
from carejourney.config import parse_config
from carejourney.ssda903 import clean, export_903, read_ssda903
from tests.unit.test_estimate_config import DAY, NaT, T, hand_built

TABLES = ("children", "care_periods", "placements", "legal_statuses")


def with_group(n: int, dob: pd.Timestamp, placement: str, start: pd.Timestamp) -> dict[str, pd.DataFrame]:
    """hand_built() plus n children born on `dob` entering care on s20 in `placement` from
    `start` (a day apart) and still looked after."""
    d = hand_built()
    rows = {k: list(d[k].itertuples(index=False, name=None)) for k in TABLES}
    for k in range(n):
        cid, day = 41 + k, start + k * DAY
        rows["children"].append((cid, "M", dob, "N5_family_dysfunction", False))
        rows["care_periods"].append((cid, 1, day, NaT, "censored"))
        rows["placements"].append((cid, 1, day, NaT, placement, placement.startswith("inhouse"), True))
        rows["legal_statuses"].append((cid, 1, day, NaT, "s20"))
    return {k: pd.DataFrame(rows[k], columns=d[k].columns) for k in TABLES}


def estimate(tmp_path, tables):
    export_903(tables, tmp_path, years=[2016, 2017])
    return estimate_config(clean(read_ssda903(tmp_path)), dt.date(2016, 4, 1))


def type_ages(config, name):
    t = config["placements"]["types"][name]
    return t.get("min_age_years", 0), t.get("max_age_years", 17)


def test_under_16s_in_semi_independent_living_widen_its_ages(tmp_path, default_dict):
    # 8 children entering H5 at 13 in July 2015, 14 at the start: no 16-17-year-old in the opening stock
    config, report = estimate(tmp_path, with_group(8, T("2001-09-01"), "supported_accommodation", T("2015-07-01")))
    assert config["opening"]["placement_type_counts"]["supported_accommodation"] == 8
    assert config["opening"]["age_band_counts"]["16_to_17"] == 0
    assert type_ages(config, "supported_accommodation") == (13, 17)
    parse_config(config)  # the opening check passes
    row = next(e for e in report.estimates if e.path == "placements.types.supported_accommodation.min_age_years")
    assert "widened from the template's 16" in row.method and "8 placements begun in the window at 13" in row.method
    # only the types the data place outside their ages change
    assert {n: type_ages(config, n) for n in config["placements"]["types"] if n != "supported_accommodation"} == \
        {n: type_ages(default_dict, n) for n in default_dict["placements"]["types"] if n != "supported_accommodation"}


def test_a_few_young_starts_do_not_widen_but_the_opening_stock_always_does(tmp_path):
    # 3 children placed at 13 (fewer than MIN_MIX starts at that age) but looked after at the start
    config, report = estimate(tmp_path, with_group(3, T("2001-09-01"), "supported_accommodation", T("2015-07-01")))
    assert type_ages(config, "supported_accommodation") == (14, 17)  # their age at the start
    row = next(e for e in report.estimates if e.path == "placements.types.supported_accommodation.min_age_years")
    assert "<5 looked after on the day before the start at 14" in row.method
    parse_config(config)


def test_an_in_house_pools_overflow_type_is_widened_with_it(tmp_path):
    # 6 children aged 6 in in-house children's homes (template: 8+), whose overflow type is external homes
    config, report = estimate(tmp_path, with_group(6, T("2009-01-15"), "inhouse_childrens_home", T("2015-05-01")))
    assert type_ages(config, "inhouse_childrens_home")[0] == 6
    assert type_ages(config, "external_childrens_home")[0] == 6
    row = next(e for e in report.estimates if e.path == "placements.types.external_childrens_home.min_age_years")
    assert "overflow type of inhouse_childrens_home" in row.method
    parse_config(config)


def test_data_inside_the_templates_ages_change_nothing(tmp_path, default_dict):
    config, report = estimate(tmp_path, hand_built())
    assert config["placements"]["types"] == {
        name: {**t, "days_to_move": config["placements"]["types"][name]["days_to_move"]}
        for name, t in default_dict["placements"]["types"].items()}
    assert not [e for e in report.estimates if e.path.endswith("_age_years")]
    assert ("placements.types.*.min_age_years / max_age_years",
            "structural (the data place no child outside them)") in report.from_template
