"""Every kind of bad input names the file and the field, and the CLI exits non-zero."""

import pytest
import yaml

from carejourney.cli import main
from carejourney.config import ConfigError, load_config
from tests.conftest import DELETE, load_default_dict, with_changes

CASES = {
    "missing field": ({"placements.capacity.inhouse_foster.initial_places": DELETE},
                      "placements.capacity.inhouse_foster.initial_places", "required field is missing"),
    "wrong unit": ({"placements.types.ifa_foster.weekly_cost": 758},
                   "placements.types.ifa_foster.weekly_cost", "unknown field"),
    "probabilities not summing to 1": ({"legal.after_police_protection.s20": 0.9},
                                       "legal.after_police_protection", "sum to 1"),
    "dates out of order": ({"horizon.end_date": "2014-03-31"}, "horizon", "must be after start_date"),
    "unknown placement type": ({"placements.at_entry_by_age_band.under_1.boarding_school": 0.0},
                               "placements.at_entry_by_age_band", "unknown placement type"),
    "negative capacity": ({"placements.capacity.inhouse_foster.initial_places": -3},
                          "placements.capacity.inhouse_foster.initial_places", "greater than or equal to 0"),
    "opening totals disagree": ({"opening.placement_type_counts.ifa_foster": 1},
                                "opening", "they must agree"),
    "bad distribution": ({"edge_of_care.days_to_entry": {"kind": "lognormal", "mean_days": 30}},
                         "edge_of_care.days_to_entry", "sd_days"),
    # inf and NaN pass every bound check (NaN compares false) and would poison the spend
    "infinite cost": ({"placements.types.ifa_foster.weekly_cost_gbp": float("inf")},
                      "placements.types.ifa_foster.weekly_cost_gbp", "finite number"),
    "NaN probability": ({"demand.referrals.early_help_share": float("nan")},
                        "demand.referrals.early_help_share", "finite number"),
    "absurd cost": ({"placements.types.ifa_foster.weekly_cost_gbp": 1e308},
                    "placements.types.ifa_foster.weekly_cost_gbp", "less than or equal to 100000"),
    "absurd referrals": ({"demand.referrals.per_year_by_age_band.under_1": 1e308},
                         "demand.referrals.per_year_by_age_band", "not plausible"),
    "absurd duration": ({"edge_of_care.days_to_entry": {"kind": "exponential", "mean_days": 1e308}},
                        "edge_of_care.days_to_entry", "less than or equal to 1000000"),
    "empty name": ({"meta.name": ""}, "meta.name", "not a plain name"),
    "name that is a path": ({"meta.name": "/tmp/elsewhere"}, "meta.name", "not a plain name"),
    "zero population": ({"population.children_0_17_by_year.2016": 0},
                        "population.children_0_17_by_year", "must be positive"),
    "minimum age above maximum": ({"placements.types.supported_accommodation.max_age_years": 10},
                                  "placements.types.supported_accommodation", "above max_age_years"),
    "overflow to itself": ({"placements.capacity.inhouse_foster.overflow_to": "inhouse_foster"},
                           "placements.capacity", "itself"),
    "true for a number": ({"placements.capacity.inhouse_foster.initial_places": True},
                          "placements.capacity.inhouse_foster.initial_places", "should be a number, not True"),
    "text for a number": ({"placements.types.ifa_foster.weekly_cost_gbp": "758"},
                          "placements.types.ifa_foster.weekly_cost_gbp", "should be a number, not '758'"),
    # inside mappings, lists and distributions too, with the whole path named
    "true inside a mapping": ({"exits.returned_home.multiplier_by_age_band.under_1": True},
                              "exits.returned_home.multiplier_by_age_band.under_1", "should be a number, not True"),
    "text inside a mapping": ({"demand.referrals.per_year_by_age_band.1_to_4": "1165"},
                              "demand.referrals.per_year_by_age_band.1_to_4", "should be a number, not '1165'"),
    "text in a distribution": ({"edge_of_care.days_to_entry": {"kind": "exponential", "mean_days": "30"}},
                               "edge_of_care.days_to_entry", "mean_days: should be a number, not '30'"),
    "true in a list": ({"edge_of_care.days_to_entry": {"kind": "empirical", "bounds_days": [0, 30, 60],
                                                       "weights": [1, True]}},
                       "edge_of_care.days_to_entry", "weights[1]: should be a number, not True"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_config_names_file_and_field(tmp_path, case):
    changes, field, message = CASES[case]
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(with_changes(load_default_dict(), changes)))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    text = str(err.value)
    assert str(path) in text
    assert field in text
    assert message in text


def test_exponent_notation_reads_as_a_number(tmp_path):
    # YAML 1.1 (PyYAML) reads 1e3 as the text '1e3'; configs read it as the number 1000
    data = with_changes(load_default_dict(), {"placements.types.ifa_foster.weekly_cost_gbp": 7.58e2})
    text = yaml.safe_dump(data).replace("weekly_cost_gbp: 758.0", "weekly_cost_gbp: 758e0", 1)
    assert "758e0" in text
    path = tmp_path / "exp.yaml"
    path.write_text(text)
    assert load_config(path).placements.types["ifa_foster"].weekly_cost_gbp == 758.0


def test_yaml_syntax_error_gives_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("meta:\n  name: x\n horizon: [unclosed\n")
    with pytest.raises(ConfigError, match=r"broken.yaml: YAML syntax error at line \d+"):
        load_config(path)


def test_duplicate_key_is_an_error_with_its_line(tmp_path):
    path = tmp_path / "dup.yaml"
    path.write_text("meta:\n  name: x\n  name: y\n")
    with pytest.raises(ConfigError, match=r"dup.yaml: YAML error at line 3, column 3: duplicate key 'name'"):
        load_config(path)


def test_impossible_date_is_an_error_with_its_line(tmp_path):
    path = tmp_path / "date.yaml"
    path.write_text(yaml.safe_dump(load_default_dict()).replace("end_date: 2021-03-31", "end_date: 2021-02-30"))
    with pytest.raises(ConfigError, match=r"date.yaml: YAML error at line \d+.*invalid date '2021-02-30'"):
        load_config(path)


@pytest.mark.parametrize("extends,message", [
    (".", "is a folder"), (["a.yaml", "b.yaml"], "must be one file name"), ("parent.yaml", "must be a mapping")])
def test_bad_extends(tmp_path, extends, message):
    (tmp_path / "parent.yaml").write_text("- a list\n- not a config\n")
    path = tmp_path / "child.yaml"
    path.write_text(yaml.safe_dump({"extends": extends}))
    with pytest.raises(ConfigError, match=message):
        load_config(path)


def test_a_bad_field_in_an_extended_file_names_that_file_too(tmp_path):
    parent = tmp_path / "parent.yaml"
    parent.write_text(yaml.safe_dump(with_changes(load_default_dict(), {"legal.after_police_protection.s20": 0.9})))
    path = tmp_path / "child.yaml"
    path.write_text(yaml.safe_dump({"extends": "parent.yaml", "meta": {"description": "x"}}))
    with pytest.raises(ConfigError, match=r"child.yaml \(with .*parent.yaml, which it extends\)"):
        load_config(path)


def test_a_folder_is_not_a_config(tmp_path):
    with pytest.raises(ConfigError, match="is a folder"):
        load_config(tmp_path)
    assert main(["check", str(tmp_path)]) == 2


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "nope.yaml")


@pytest.mark.parametrize("command", ["check", "run"])
def test_cli_exits_non_zero_and_writes_nothing(tmp_path, capsys, command):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(with_changes(load_default_dict(), {"legal.after_police_protection.s20": 0.9})))
    out = tmp_path / "out"
    argv = [command, str(path)] + (["--out", str(out), "--reps", "1"] if command == "run" else [])
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "bad.yaml" in err and "legal.after_police_protection" in err
    assert not out.exists()
    assert not any(p.name.startswith(".out") for p in tmp_path.iterdir())


def test_the_bundled_configs_are_valid():
    from tests.conftest import ROOT
    for path in (ROOT / "configs").glob("*.yaml"):
        load_config(path)


def test_england_extends_cambridgeshire_without_inheriting_its_population():
    """`extends:` merges mappings key by key: a year-keyed mapping must not mix councils."""
    from tests.conftest import ROOT
    eng = load_config(ROOT / "configs" / "england-2015.yaml")
    pops = eng.population.children_0_17_by_year
    assert all(v > 10_000_000 for v in pops.values())
    assert eng.opening.uasc_count == 2760 and eng.meta.geography == "England"


def test_config_reference_is_up_to_date():
    """docs/config-reference.md is generated from the schema; regenerate it with
    `python -m carejourney.config.reference > docs/config-reference.md`."""
    from carejourney.config.reference import reference
    from tests.conftest import ROOT
    assert (ROOT / "docs" / "config-reference.md").read_text(encoding="utf-8") == reference()


def test_validation_messages_name_the_kind_of_file():
    from pydantic import ValidationError

    from carejourney.config.loader import format_validation_error
    from carejourney.config.schema import Config

    with pytest.raises(ValidationError) as err:
        Config.model_validate({})
    assert format_validation_error("x.yaml", err.value).startswith("x.yaml: ")
    assert " problem(s) in the config:" in format_validation_error("x.yaml", err.value)
    text = format_validation_error("plan.yaml", err.value, what="experiment file")
    assert text.splitlines()[0].endswith(" problem(s) in the experiment file:")
