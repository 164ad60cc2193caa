"""The code lists per year and the one mapping table: complete, consistent, documented."""

from __future__ import annotations

import pandas as pd
import pytest

from carejourney import vocab
from carejourney.ssda903 import MAPPING, VALID_CODES, codes, valid_codes


def test_documented_code_changes():
    assert {"E43", "E44"}.isdisjoint(VALID_CODES[2015]["REC"])
    assert {"E45", "E46", "E47", "E48"} <= VALID_CODES[2015]["REC"]
    assert {"E15", "E16"}.isdisjoint(VALID_CODES[2015]["REC"]) and {"E15", "E16"} <= VALID_CODES[2016]["REC"]
    assert "E17" not in VALID_CODES[2016]["REC"] and "E17" in VALID_CODES[2017]["REC"]
    assert valid_codes(2040) == VALID_CODES[codes.LAST_KNOWN_YEAR]
    with pytest.raises(ValueError, match="before 2014-15"):
        valid_codes(2014)


def test_every_valid_code_is_in_the_mapping():
    for field in ("PLACE", "LS", "REC", "CIN"):
        mapped = set(MAPPING.loc[MAPPING["field"] == field, "code"])
        assert codes.ALL_CODES[field] <= mapped, field


def test_mapped_values_are_vocabulary():
    allowed = {
        "PLACE": set(vocab.PLACEMENT_TYPES),
        "LS": set(vocab.LEGAL_STATUSES),
        "REC": set(vocab.EXIT_ROUTES),
        "CIN": set(vocab.NEEDS),
    }
    for field, values in allowed.items():
        got = set(MAPPING.loc[MAPPING["field"] == field, "model_value"])
        assert {v for v in got if not v.startswith("(")} <= values, field


def test_placement_depends_on_provider():
    place = pd.Series(["U4", "U4", "U4", "K2", "R1", "U2", "T1", "K3"])
    provider = pd.Series(["PR1", "PR5", "PR0", "PR2", "PR4", "PR4", "PR1", "PR4"])
    assert codes.placement_type(place, provider).tolist() == [
        "inhouse_foster", "ifa_foster", "other", "inhouse_childrens_home", "external_childrens_home",
        "kinship_foster", "other", "supported_accommodation",
    ]  # fmt: skip


def test_e8_splits_on_the_18th_birthday():
    # born on 29 February: 18 on 1 March in a non-leap year, the day age_in_years agrees with
    dob = pd.Series(pd.to_datetime(["2000-02-29", "2000-02-29", "2000-06-01"]))
    dec = pd.Series(pd.to_datetime(["2018-03-01", "2018-02-28", "2018-05-31"]))
    routes = codes.exit_route(pd.Series(["E8", "E8", "E8"]), dec, dob)
    assert routes.tolist() == ["turned_18_other", "transferred_or_other", "transferred_or_other"]


def test_export_choices_read_back_through_the_mapping():
    for kind, (place, provider_in, provider_out) in codes.EXPORT_PLACEMENT.items():
        for provider in (provider_in, provider_out):
            got = codes.placement_type(pd.Series([place]), pd.Series([provider])).iloc[0]
            if kind == "concurrent_foster_to_adopt":  # documented: not distinguishable
                assert got in ("inhouse_foster", "ifa_foster")
            else:
                assert got == kind
    for status, ls in codes.EXPORT_LS.items():
        assert codes.LEGAL_STATUS_BY_LS[ls] == status
    for route, rec in codes.EXPORT_REC.items():
        if route != "turned_18_other":
            assert codes.EXIT_ROUTE_BY_REC[rec] == route
    assert set(codes.EXPORT_REC) == set(vocab.EXIT_ROUTES) - {"censored"}
    assert set(codes.EXPORT_PLACEMENT) == set(vocab.PLACEMENT_TYPES)


def test_mapping_markdown_is_up_to_date():
    assert codes.MAPPING_MD_PATH.read_text(encoding="utf-8") == codes.mapping_markdown(), (
        "regenerate with: python -m carejourney.ssda903 > carejourney/ssda903/MAPPING.md"
    )


def test_the_module_command_prints_and_never_writes(tmp_path):
    """QA: `python -m carejourney.ssda903 --help` rewrote MAPPING.md inside the package; it
    now prints the mapping (redirect it to regenerate) and `--help` only prints usage."""
    import subprocess
    import sys

    before = codes.MAPPING_MD_PATH.stat().st_mtime_ns
    run = subprocess.run([sys.executable, "-m", "carejourney.ssda903", "--help"], capture_output=True, text=True)
    assert run.returncode == 0 and "usage: python -m carejourney.ssda903" in run.stdout
    run = subprocess.run([sys.executable, "-m", "carejourney.ssda903"], capture_output=True, text=True)
    assert run.returncode == 0 and run.stdout == codes.mapping_markdown()
    assert codes.MAPPING_MD_PATH.stat().st_mtime_ns == before
