"""calibrate: placement types by age, at the start and for new placements (QA21, QA22).

Returns from before 2021 often hold under-16s in semi-independent living (H5). With the
template's 16+ limit, calibrate failed the config's opening check ("8 in supported_accommodation
(ages 16-17) but only 0 children of those ages"), naming no return or row. Widening the type's
ages for that (QA21's fix) opened it to every child of those ages in the run (QA22: one
3-year-old in a children's home gave 3-7-year-olds external homes), so the opening stock is now
placed by the data's own table, and a type's ages widen only where 5 or more children began
such a placement.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from carejourney.calibrate import estimate_config
from carejourney.config import parse_config
from carejourney.config.placement_ages import opening_age_warnings
from carejourney.model.opening import draw_opening
from carejourney.ssda903 import clean, export_903, read_ssda903
from carejourney.vocab import DAYS_PER_YEAR, PLACEMENT_TYPES
from tests.unit.test_estimate_config import DAY, NaT, T, hand_built

TABLES = ("children", "care_periods", "placements", "legal_statuses")


def with_groups(*groups) -> dict[str, pd.DataFrame]:
    """hand_built() plus, for each (n, dob, placements, start), n children born on `dob` entering
    care on s20 from `start` (a day apart), still looked after, with one placement a type in
    `placements` in turn, each lasting 20 days but the last."""
    d = hand_built()
    rows = {k: list(d[k].itertuples(index=False, name=None)) for k in TABLES}
    cid = 100
    for n, dob, placements, start in groups:
        for k in range(n):
            cid += 1
            day = start + k * DAY
            rows["children"].append((cid, "M", dob, "N5_family_dysfunction", False))
            rows["care_periods"].append((cid, 1, day, NaT, "censored"))
            for j, p in enumerate(placements):
                last = j == len(placements) - 1
                rows["placements"].append((cid, 1, day + 20 * j * DAY, NaT if last else day + 20 * (j + 1) * DAY,
                                           p, p.startswith("inhouse"), True))
            rows["legal_statuses"].append((cid, 1, day, NaT, "s20"))
    return {k: pd.DataFrame(rows[k], columns=d[k].columns) for k in TABLES}


def estimate(tmp_path, tables):
    export_903(tables, tmp_path, years=[2016, 2017])
    return estimate_config(clean(read_ssda903(tmp_path)), dt.date(2016, 4, 1))


def type_ages(config, name):
    t = config["placements"]["types"][name]
    return t.get("min_age_years", 0), t.get("max_age_years", 17)


def row(report, path):
    return next(e for e in report.estimates if e.path == path)


def opening_ages(cfg, name: str) -> np.ndarray:
    o = draw_opening(cfg, np.random.default_rng(5))
    return np.floor(o["age_days"][o["placement"] == PLACEMENT_TYPES.index(name)] / DAYS_PER_YEAR)


SA = "supported_accommodation"


def test_under_16s_in_semi_independent_living_widen_its_ages(tmp_path, default_dict):
    # 8 children entering H5 at 13 in July 2015, 14 at the start: no 16-17-year-old in the opening stock
    config, report = estimate(tmp_path, with_groups((8, T("2001-09-01"), [SA], T("2015-07-01"))))
    assert config["opening"]["placement_type_counts"][SA] == 8
    assert config["opening"]["age_band_counts"]["16_to_17"] == 0
    assert config["opening"]["placement_type_age_weights"][SA] == [0, 0, 0, 1, 0]
    assert type_ages(config, SA) == (13, 17)
    cfg = parse_config(config)  # the opening check passes
    ages = opening_ages(cfg, SA)
    assert len(ages) == 8 and set(ages) <= {13.0, 14.0, 15.0}  # in their band, at ages the type takes
    assert opening_age_warnings(cfg) == []
    assert row(report, f"placements.types.{SA}.min_age_years").method.endswith("(8 children at 13)")
    # only the types the data place outside their ages change
    assert {n: type_ages(config, n) for n in config["placements"]["types"] if n != SA} == \
        {n: type_ages(default_dict, n) for n in default_dict["placements"]["types"] if n != SA}


def test_a_few_children_outside_a_types_ages_are_placed_there_at_the_start_only(tmp_path):
    # 3 children placed in H5 at 13 (fewer than 5): the type keeps 16+ for new placements, yet the
    # opening stock holds them there, at the age of their band nearest to it
    config, report = estimate(tmp_path, with_groups((3, T("2001-09-01"), [SA], T("2015-07-01"))))
    assert type_ages(config, SA) == (16, 17)
    assert config["opening"]["placement_type_age_weights"][SA] == [0, 0, 0, 1, 0]
    cfg = parse_config(config)
    assert opening_ages(cfg, SA).tolist() == [15.0, 15.0, 15.0]
    assert opening_age_warnings(cfg) == []
    assert not [e for e in report.estimates if e.path.endswith("_age_years")]


def test_one_child_with_many_placements_at_an_age_does_not_widen_a_type(tmp_path):
    # one 3-year-old with 5 short external children's home placements: 5 placements, one child
    config, _ = estimate(tmp_path, with_groups((1, T("2012-01-15"), ["external_childrens_home"] * 5, T("2015-05-01"))))
    assert type_ages(config, "external_childrens_home") == (8, 17)
    parse_config(config)


def test_an_in_house_pool_widens_no_further_than_its_overflow_type(tmp_path):
    # 6 children aged 6 in in-house children's homes (template: 8+); external homes (its overflow) 8+
    config, report = estimate(tmp_path, with_groups((6, T("2009-01-15"), ["inhouse_childrens_home"], T("2015-05-01"))))
    assert type_ages(config, "inhouse_childrens_home")[0] == 8
    assert type_ages(config, "external_childrens_home")[0] == 8
    assert any("began placements in inhouse_childrens_home at ages outside the template's 8-17, but its overflow "
               "type external_childrens_home takes 8-17" in n for n in report.notes)
    parse_config(config)
    # with 5 or more such children in external homes too, both widen
    both = with_groups((6, T("2009-01-15"), ["inhouse_childrens_home"], T("2015-05-01")),
                       (5, T("2009-02-15"), ["external_childrens_home"], T("2015-06-01")))
    config, report = estimate(tmp_path / "both", both)
    assert type_ages(config, "inhouse_childrens_home")[0] == type_ages(config, "external_childrens_home")[0] == 6
    parse_config(config)


def test_data_inside_the_templates_ages_change_nothing(tmp_path, default_dict):
    config, report = estimate(tmp_path, hand_built())
    assert {n: type_ages(config, n) for n in config["placements"]["types"]} == \
        {n: type_ages(default_dict, n) for n in default_dict["placements"]["types"]}
    assert not [e for e in report.estimates if e.path.endswith("_age_years")]
    assert ("placements.types.*.min_age_years / max_age_years", "structural (no age outside them holds 5 or more "
            "children beginning a placement in the data)") in report.from_template
    # the opening stock's table by type and band, as shares: 9 in-house (5 babies, 4 aged 8), 5 IFA, 2 kinship
    assert config["opening"]["placement_type_age_weights"] == {
        "kinship_foster": [0, 0, 1, 0, 0], "inhouse_foster": [0.5556, 0, 0.4444, 0, 0], "ifa_foster": [0, 0, 1, 0, 0]}
