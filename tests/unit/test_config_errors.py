"""Every kind of bad input names the file and the field, and the CLI exits non-zero."""

import pytest
import yaml

from carejourney.cli import main
from carejourney.config import ConfigError, load_config, parse_config
from tests.conftest import DELETE, ROOT, load_default_dict, with_changes


def _prior(path: str, **prior) -> dict:
    """The change that gives the config one uncertainty entry."""
    return {"uncertainty": [{"path": path, "prior": prior}]}


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
    "unknown post-care kind": ({"opening.post_care.care_leavers": {"per_child_looked_after": 0.1,
                                                                    "remaining_days": {"kind": "fixed", "days": 9}}},
                               "opening.post_care", "unknown post-care kind ['care_leavers']"),
    "negative post-care ratio": ({"opening.post_care.care_leaver.per_child_looked_after": -0.1},
                                 "opening.post_care.care_leaver.per_child_looked_after", "greater than or equal to 0"),
    "name that is a path": ({"meta.name": "/tmp/elsewhere"}, "meta.name", "not a plain name"),
    "zero population": ({"population.children_0_17_by_year.2016": 0},
                        "population.children_0_17_by_year", "must be positive"),
    "minimum age above maximum": ({"placements.types.supported_accommodation.max_age_years": 10},
                                  "placements.types.supported_accommodation", "above max_age_years"),
    "overflow to itself": ({"placements.capacity.inhouse_foster.overflow_to": "inhouse_foster"},
                           "placements.capacity", "itself"),
    # QA: the overflow was placed in the other pool without taking a place (occupancy above places)
    "overflow to the other pool": ({"placements.capacity.inhouse_childrens_home.overflow_to": "inhouse_foster"},
                                   "placements.capacity", "inhouse_foster, itself capacity-limited"),
    "true for a number": ({"placements.capacity.inhouse_foster.initial_places": True},
                          "placements.capacity.inhouse_foster.initial_places", "should be a number, not True"),
    "text for a number": ({"placements.types.ifa_foster.weekly_cost_gbp": "758"},
                          "placements.types.ifa_foster.weekly_cost_gbp", "should be a number, not '758'"),
    "zero move multiplier": ({"placements.days_to_move_multiplier_by_age_band.1_to_4": 0},
                             "placements.days_to_move_multiplier_by_age_band", "multipliers must be positive"),
    # QA15: passed `check`, then a lognormal move time overflowed in `run` (a traceback)
    "huge move multiplier": ({"placements.days_to_move_multiplier_by_age_band.16_to_17": 1e308},
                             "placements.days_to_move_multiplier_by_age_band", "not plausible (a typo?): {'16_to_17': 1e+308}"),
    "huge exit multiplier": ({"exits.returned_home.multiplier_by_age_band.1_to_4": 1e6},
                             "exits.returned_home.multiplier_by_age_band", "{'1_to_4': 1000000.0}"),
    "blank service name": ({"edge_of_care.services.0.name": " "}, "edge_of_care.services[0].name", "is blank"),
    # QA15: pydantic's own words ("Unable to extract tag using discriminator 'kind'")
    "distribution without a kind": ({"legal.proceedings_days.kind": DELETE}, "legal.proceedings_days",
                                    "needs a kind saying which distribution it is (e.g. kind: lognormal"),
    "unknown distribution kind": ({"legal.proceedings_days.kind": "poisson"}, "legal.proceedings_days",
                                  "kind: 'poisson' is not one of 'fixed', 'exponential'"),
    "number for a distribution": ({"legal.proceedings_days": 5}, "legal.proceedings_days",
                                  "should be a mapping of fields (a distribution, e.g. {kind: fixed, days: 30}), not 5"),
    # fourth QA pass: each of these passed `check`, then hung or crashed `run`
    "moves that take no time": ({"placements.types.ifa_foster.days_to_move": {"kind": "fixed", "days": 0}},
                                "placements.types.ifa_foster.days_to_move", "always 0"),
    "re-entry that takes no time": ({"exits.reentry_after_return_home.days": {"kind": "fixed", "days": 0}},
                                    "exits.reentry_after_return_home.days", "always 0"),
    # QA: a tiny but positive mean passed `check`, then `run` never finished
    "moves a billion times a day": ({"placements.types.ifa_foster.days_to_move": {"kind": "exponential",
                                                                                 "mean_days": 1e-9}},
                                    "placements: types.ifa_foster.days_to_move", "the run cannot finish"),
    "a band's multiplier making moves instant": ({"placements.days_to_move_multiplier_by_age_band.16_to_17": 1e-9},
                                                 "placements: types.", "smallest days_to_move_multiplier_by_age_band"),
    "re-entry in a blink": ({"exits.reentry_after_order.days": {"kind": "exponential", "mean_days": 0.001}},
                            "exits.reentry_after_order.days", "at least 1 day"),
    "one parameter drawn twice": (
        {"uncertainty": [{"path": "exits.returned_home.days.mean_days", "prior": {"dist": "fixed", "value": 900}},
                         {"path": "exits.returned_home.days.mean_days", "prior": {"dist": "fixed", "value": 50}}]},
        "uncertainty[1].path 'exits.returned_home.days.mean_days'", "already drawn by uncertainty[0]"),
    "gamma that does not vary": ({"edge_of_care.days_to_entry": {"kind": "gamma", "mean_days": 45, "sd_days": 1e-300}},
                                 "edge_of_care.days_to_entry", "use kind: fixed"),
    "probability above 1": ({"legal.s20_proceedings_probability_by_age_band.under_1": 1.5},
                            "legal.s20_proceedings_probability_by_age_band", "between 0 and 1"),
    "absurd inflation": ({"costs.inflation_index_by_year.2016": 1e300}, "costs", "at most 100"),
    "babies on remand": ({"legal.entry_status_by_age_band.under_1": {"s20": 0.5, "interim_care_order": 0.4,
                                                                     "remand": 0.1}},
                         "legal.entry_status_by_age_band", "no child under 10 can be remanded"),
    "placed for adoption with no child young enough": (
        {"opening.age_band_counts": {"under_1": 0, "1_to_4": 0, "5_to_9": 0, "10_to_15": 425, "16_to_17": 110}},
        "opening", "but only 0 children of those ages"),
    "prior drawing an impossible probability": (
        _prior("edge_of_care.entry_probability_without_service", dist="normal", mean=0.6, sd=0.3),
        "uncertainty[0] (edge_of_care.entry_probability_without_service)", "narrow or truncate the prior"),
    "prior drawing a negative duration": (
        _prior("exits.returned_home.days.mean_days", dist="normal", mean=1100, sd=2000),
        "uncertainty[0] (exits.returned_home.days.mean_days)", "greater than 0"),
    "prior on a whole number": (
        _prior("placements.capacity.inhouse_foster.initial_places", dist="uniform", low=100, high=150),
        "uncertainty[0] (placements.capacity.inhouse_foster.initial_places)", "a whole number"),
    "share drawn without its mix": (
        _prior("legal.proceedings_outcome_by_age_band.under_1.placement_order", dist="uniform", low=0.3, high=0.6),
        "uncertainty[0]", "rescale_others: true"),
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
    # sizes the simulation loops over or allocates for: a typo must not exhaust the memory
    "absurd horizon": ({"horizon.end_date": "3000-03-31"}, "horizon", "more than 50 years after start_date"),
    "absurd warm-up": ({"horizon.warmup_days": 10_000_000}, "horizon.warmup_days", "less than or equal to 18262"),
    "absurd capacity": ({"placements.capacity.inhouse_foster.initial_places": 1e9},
                        "placements.capacity.inhouse_foster.initial_places", "less than or equal to 100000"),
    "absurd recruitment": ({"placements.capacity.inhouse_foster.recruited_places_per_year": 1e9},
                           "placements.capacity.inhouse_foster.recruited_places_per_year", "less than or equal to 100000"),
    "absurd caseload": ({"edge_of_care.services.0.caseload_capacity": 10**9},
                        "edge_of_care.services[0].caseload_capacity", "less than or equal to 10000"),
    "absurd adopters": ({"exits.adoption.initial_adopters": 10**9},
                        "exits.adoption.initial_adopters", "less than or equal to 100000"),
    "absurd adopter approvals": ({"exits.adoption.adopter_approvals_per_year": 1e9},
                                 "exits.adoption.adopter_approvals_per_year", "less than or equal to 100000"),
    "absurd UASC arrivals": ({"demand.uasc.periods.0.arrivals": 1e9}, "demand.uasc.periods[0]", "not plausible"),
    "absurd opening stock": ({"opening.age_band_counts.under_1": 10**9}, "opening", "not plausible"),
    # an unquoted 20150401 is read as a timestamp: pydantic spoke of "zero time"
    "date as a number": ({"horizon.start_date": 20150401}, "horizon.start_date",
                         "should be a date written YYYY-MM-DD (e.g. 2015-04-01), not 20150401"),
    "absurd population": ({"population.children_0_17_by_year.2015": 1e308}, "population.children_0_17_by_year",
                          "more than 50,000,000 children (years [2015])"),
    "absurd step change": ({"demand.referrals.steps": [{"from_date": "2016-04-01", "multiplier": 1e6}]},
                           "demand.referrals.steps[0].multiplier", "less than or equal to 1000"),
    "absurd envelope": ({"demand.referrals.envelope_per_year_by_age_band": dict.fromkeys(
                            ["under_1", "1_to_4", "5_to_9", "10_to_15", "16_to_17"], 1e9)},
                        "demand.referrals.envelope_per_year_by_age_band", "not plausible"),
    # 50% a year for 49 years multiplies the referral rate ~400-million-fold
    "compounding trend": ({"demand.referrals.trend_per_year": 0.5, "horizon.end_date": "2064-03-31"},
                          "demand.referrals", "not plausible"),
    # durations cannot be negative (the run used to crash in the metrics)
    "negative empirical bounds": ({"edge_of_care.days_to_entry": {"kind": "empirical", "bounds_days": [-100, -50],
                                                                  "weights": [1]}},
                                  "edge_of_care.days_to_entry<empirical>.bounds_days[0]", "greater than or equal to 0"),
    # every table is by financial year and the stock is counted on 31 March
    "no whole financial year": ({"horizon.end_date": "2015-04-02"}, "horizon", "no whole financial year"),
    # third QA pass: configs `check` passed and `run` then crashed on, or ran with nonsense
    "inflation index with a gap": ({"costs.inflation_index_by_year": {2015: 1.0, 2021: 1.2}},
                                   "costs", "no entry for 2016, 2017, 2018, 2019, 2020"),
    "weibull shape too small": ({"placements.types.ifa_foster.days_to_move.shape": 1e-6},
                                "placements.types.ifa_foster.days_to_move<weibull>.shape", "greater than or equal to 0.1"),
    "weibull mean too long": ({"placements.types.ifa_foster.days_to_move.shape": 0.15},
                              "placements.types.ifa_foster.days_to_move<weibull>", "is more than 1e+06"),
    "lognormal sd far above its mean": ({"legal.proceedings_days": {"kind": "lognormal", "mean_days": 1e-200,
                                                                    "sd_days": 1e6}},
                                        "legal.proceedings_days<lognormal>", "more than 100 times mean_days"),
    "overflow to a type for other ages": ({"placements.capacity.inhouse_foster.overflow_to": "supported_accommodation"},
                                          "placements", "the overflow type must take every age the pool does"),
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


@pytest.mark.parametrize("written, read", [("010", 10), ("0x10", 16), ("+12", 12)])
def test_integers_read_as_yaml_1_2_does(tmp_path, written, read):
    """QA: PyYAML read 010 as octal 8 (YAML 1.1)."""
    text = yaml.safe_dump(load_default_dict()).replace("caseload_capacity: 8", f"caseload_capacity: {written}", 1)
    assert f"caseload_capacity: {written}" in text
    path = tmp_path / "c.yaml"
    path.write_text(text)
    assert load_config(path).edge_of_care.services[0].caseload_capacity == read


@pytest.mark.parametrize("written", ["7:58", "1_000"])
def test_yaml_1_1_number_forms_are_text_and_refused(tmp_path, written):
    """QA: PyYAML read 7:58 as 478 (sexagesimal) and 1_000 as 1000, silently."""
    text = yaml.safe_dump(load_default_dict()).replace("weekly_cost_gbp: 758", f"weekly_cost_gbp: {written}", 1)
    assert written in text
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=f"weekly_cost_gbp: should be a number, not '{written}'"):
        load_config(path)


@pytest.mark.parametrize("written", ["yes", "on", "no"])
def test_only_true_and_false_are_booleans_as_in_yaml_1_2(tmp_path, written):
    """QA21: a key `yes:` was read as True (YAML 1.1), reported as "[1]: Keys should be strings";
    as a value, `yes` is the word, refused where true or false is wanted."""
    text = yaml.safe_dump(load_default_dict())
    path = tmp_path / "c.yaml"
    path.write_text(text + f"{written}: 1\n")
    with pytest.raises(ConfigError, match=f"- {written}: unknown field"):
        load_config(path)
    path.write_text(text.replace("name: multi_systemic_therapy",
                                 f"name: multi_systemic_therapy\n    would_be_entrants_only: {written}", 1))
    with pytest.raises(ConfigError, match=f"would_be_entrants_only: should be true or false, not '{written}'"):
        load_config(path)
    path.write_text(text.replace("name: multi_systemic_therapy",
                                 "name: multi_systemic_therapy\n    would_be_entrants_only: True", 1))
    assert load_config(path).edge_of_care.services[0].would_be_entrants_only is True


@pytest.mark.parametrize("version, refused", [("1.1", True), ("1.0", True), ("1.2", False)])
def test_a_yaml_version_other_than_1_2_is_refused_not_read_as_1_2(tmp_path, version, refused):
    """QA21: `%YAML 1.1` was ignored, so 010 (octal 8 in YAML 1.1) was read as ten."""
    path = tmp_path / "c.yaml"
    path.write_text(f"%YAML {version}\n---\n" + yaml.safe_dump(load_default_dict()))
    if refused:
        with pytest.raises(ConfigError, match=rf"c.yaml: YAML error at line 1, column 1: %YAML {version}: configs "
                                              r"are read as YAML 1.2 \(in YAML 1.1, 010 is octal 8"):
            load_config(path)
    else:
        assert load_config(path).edge_of_care.services[0].name == "multi_systemic_therapy"


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


@pytest.mark.parametrize("text, message", [
    ("meta:\n  name: x\n  {[a, b]: 1}: 2\n", r"YAML error at line 3, column 4: a key cannot be a list"),
    ("meta: {{x: 1}: 2}\n", r"YAML error at line 1, column 8: a key cannot be a mapping"),
    ("horizon: " + "[" * 5000 + "]" * 5000 + "\n", r"YAML nested too deeply"),
])
def test_yaml_no_config_can_hold_is_an_error_not_a_traceback(tmp_path, text, message):
    """QA: a list as a key (TypeError: unhashable) and deep nesting (RecursionError) were
    tracebacks with exit 1; experiment files share the reader."""
    path = tmp_path / "odd.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=f"odd.yaml: {message}"):
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


def test_negative_opening_counts_are_refused_even_when_the_totals_agree(tmp_path):
    d = load_default_dict()
    ages = d["opening"]["age_band_counts"]
    path = tmp_path / "neg.yaml"
    path.write_text(yaml.safe_dump(with_changes(d, {"opening.age_band_counts.under_1": -1,
                                                    "opening.age_band_counts.1_to_4": ages["1_to_4"] + ages["under_1"] + 1})))
    with pytest.raises(ConfigError, match=r"neg.yaml.*\n.*opening: age_band_counts must be non-negative"):
        load_config(path)


def test_a_horizon_of_exactly_one_financial_year_is_fine(tmp_path):
    path = tmp_path / "one.yaml"
    path.write_text(yaml.safe_dump(with_changes(load_default_dict(), {"horizon.end_date": "2016-03-31"})))
    assert load_config(path).horizon.end_date.isoformat() == "2016-03-31"
    path.write_text(yaml.safe_dump(with_changes(load_default_dict(), {"horizon.start_date": "2015-04-02",
                                                                      "horizon.end_date": "2017-03-30"})))
    with pytest.raises(ConfigError, match="no whole financial year"):
        load_config(path)


def test_extends_can_change_a_distributions_kind(tmp_path):
    """`extends:` merges mappings key by key, but a distribution of another kind replaces
    the inherited one whole: its parameters (mean_days) must not be inherited."""
    from tests.conftest import DEFAULT_CONFIG
    path = tmp_path / "child.yaml"
    empirical = {"kind": "empirical", "bounds_days": [0, 10, 30], "weights": [1, 1]}
    path.write_text(yaml.safe_dump({"extends": str(DEFAULT_CONFIG), "edge_of_care": {"days_to_entry": empirical}}))
    cfg = load_config(path)
    assert cfg.edge_of_care.days_to_entry.kind == "empirical"
    assert list(cfg.edge_of_care.days_to_entry.bounds_days) == [0, 10, 30]
    # the same kind still merges: a child may change one parameter
    path.write_text(yaml.safe_dump({"extends": str(DEFAULT_CONFIG),
                                    "edge_of_care": {"days_to_entry": {"kind": "exponential", "mean_days": 20}}}))
    assert load_config(path).edge_of_care.days_to_entry.mean_days == 20
    path.write_text(yaml.safe_dump({"extends": str(DEFAULT_CONFIG),
                                    "edge_of_care": {"days_to_entry": {"mean_days": 20}}}))
    assert load_config(path).edge_of_care.days_to_entry.mean_days == 20


def test_yaml_merge_keys_work_and_a_key_written_twice_is_still_a_duplicate(tmp_path):
    """`<<: *anchor` merges a mapping; keys written beside it override the merged ones."""
    d = with_changes(load_default_dict(), {"edge_of_care.days_to_entry": {"kind": "exponential", "mean_days": 45},
                                           "edge_of_care.days_to_relapse": {"kind": "exponential", "mean_days": 270}})
    text = yaml.safe_dump(d, sort_keys=False)
    entry = "  days_to_entry:\n    kind: exponential\n    mean_days: 45\n"
    relapse = "  days_to_relapse:\n    kind: exponential\n    mean_days: 270\n"
    assert entry in text and relapse in text
    text = (text.replace(entry, entry.replace("days_to_entry:", "days_to_entry: &entry"))
            .replace(relapse, "  days_to_relapse:\n    <<: *entry\n    mean_days: 99\n"))
    path = tmp_path / "merge.yaml"
    path.write_text(text)
    cfg = load_config(path)
    assert cfg.edge_of_care.days_to_entry.mean_days == 45
    assert cfg.edge_of_care.days_to_relapse.kind == "exponential" and cfg.edge_of_care.days_to_relapse.mean_days == 99
    dup = tmp_path / "dup.yaml"
    dup.write_text("a: &x\n  p: 1\nb:\n  <<: *x\n  q: 3\n  q: 4\n")
    with pytest.raises(ConfigError, match=r"dup.yaml: YAML error at line 6, column 3: duplicate key 'q'"):
        load_config(dup)


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n# and another\n"])
def test_an_empty_config_says_so(tmp_path, capsys, text):
    path = tmp_path / "empty.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=r"empty.yaml: is empty"):
        load_config(path)
    assert main(["check", str(path)]) == 2
    assert "empty.yaml: is empty" in capsys.readouterr().err
    child = tmp_path / "child.yaml"
    child.write_text("extends: empty.yaml\n")
    with pytest.raises(ConfigError, match=r"empty.yaml \(extended by .*child.yaml\): is empty"):
        load_config(child)


@pytest.mark.parametrize("changes,field,message", [
    ({"population.children_0_17_by_year": {2010: 130000, 2011: 131000}},
     "population.children_0_17_by_year", "no year within the run"),
    ({"demand.uasc.periods": [{"from_date": "2010-04-01", "to_date": "2011-04-01", "arrivals": 40},
                              {"from_date": "2015-04-01", "to_date": "2016-04-01", "arrivals": 40}]},
     "demand.uasc.periods[0]", "ends before the run"),
    ({"demand.uasc.periods": [{"from_date": "2030-04-01", "to_date": "2031-04-01", "arrivals": 40}]},
     "demand.uasc.periods", "no period overlaps the run"),
    # QA18: a last period moved past the end left the rest of the run with no arrivals, unseen
    ({"demand.uasc.periods": [{"from_date": "2015-04-01", "to_date": "2016-01-01", "arrivals": 40},
                              {"from_date": "2030-04-01", "to_date": "2031-04-01", "arrivals": 40}]},
     "demand.uasc.periods[1]", "starts after the run ends (2021-03-31), and no period covers 2016-01-01 to 2021-03-31"),
    # QA: mixes naming a placement no child of those ages can have were redirected without a word
    ({"demand.uasc.placement_by_age_years.14": {"supported_accommodation": 1.0}},
     "demand.uasc.placement_by_age_years.14.supported_accommodation",
     "takes children aged 16-17, and none of these UASC (aged 14) are"),
    ({"placements.at_entry_by_age_band.16_to_17": {"ifa_foster": 0.96, "concurrent_foster_to_adopt": 0.04}},
     "placements.at_entry_by_age_band.16_to_17.concurrent_foster_to_adopt",
     "takes children aged 0-4, and none of the 16_to_17 band (16-17) are"),
    ({"placements.next_placement.concurrent_foster_to_adopt": {"ifa_foster": 0.9, "supported_accommodation": 0.1}},
     "placements.next_placement.concurrent_foster_to_adopt.supported_accommodation",
     "none of the children leaving concurrent_foster_to_adopt (aged 0-4) are"),
    # QA: an extends: override of one year merged with the base's other years (+53% in a year)
    ({"population.children_0_17_by_year.2016": 200000},
     "population.children_0_17_by_year", "130,488 in 2015 then 200,000 in 2016 (+53% a year)"),
    # QA: a step dated 1900 doubled demand over the whole run without a word
    ({"demand.referrals.steps": [{"from_date": "1900-04-01", "multiplier": 2.0}]},
     "demand.referrals.steps[0]", "before the run starts (2015-04-01): it multiplies demand over the whole run by 2"),
    # QA15: UASC periods mistyped by a century cut the input series twentyfold without a word
    ({"demand.uasc.periods": [{"from_date": "2015-04-01", "to_date": "2121-04-01", "arrivals": 240}]},
     "demand.uasc.periods[0]", "spreads its 240 arrivals evenly over 106 years (2.26 a year): a typo in a date?"),
    ({"demand.uasc.periods": [{"from_date": "2013-04-01", "to_date": "2017-04-01", "arrivals": 100}]},
     "demand.uasc.periods[0]", "starts before the run (2015-04-01): its 100 arrivals are spread evenly over the "
                               "period, so only 50% of them arrive in the run"),
    # QA15: values the schema accepted that contradict what the field means
    ({"exits.independent_living.from_age_years": 0},
     "exits.independent_living.from_age_years", "0 lets children under 16 leave care to live independently"),
    # a period past the run's end too: the share inside counts both ends (QA15 review: 83% for 33%)
    ({"demand.uasc.periods": [{"from_date": "2012-04-01", "to_date": "2030-04-01", "arrivals": 540}]},
     "demand.uasc.periods[0]", "so only 33% of them arrive in the run"),
    ({"edge_of_care.services.0.start_date": "2030-01-01"},
     "edge_of_care.services[0].start_date", "is after the run ends (2021-03-31)"),
])
def test_inputs_outside_the_horizon_give_a_warning_naming_file_and_field(tmp_path, capsys, changes, field, message):
    from carejourney.config.loader import ConfigWarning
    path = tmp_path / "odd.yaml"
    path.write_text(yaml.safe_dump(with_changes(load_default_dict(), changes)))
    with pytest.warns(ConfigWarning) as record:
        load_config(path)
    text = "\n".join(str(w.message) for w in record)
    assert str(path) in text and field in text and message in text
    # and `check` shows it (and still passes: the run works)
    seen = []
    load_config(path, warn=seen.append)
    assert any(field in m and message in m for m in seen)
    assert main(["check", str(path)]) == 0
    err = capsys.readouterr().err
    assert f"warning: {path}" in err and field in err and message in err


def test_the_bundled_configs_give_no_warnings(tmp_path):
    import warnings

    from tests.conftest import ROOT
    shorter = tmp_path / "shorter.yaml"  # UASC periods after a shortened run are usual
    shorter.write_text(yaml.safe_dump(with_changes(load_default_dict(), {"horizon.end_date": "2016-03-31"})))
    for path in [*(ROOT / "configs").glob("*.yaml"), shorter]:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            load_config(path)


def test_cash_prices_beyond_the_inflation_index_are_warned_about(tmp_path):
    data = with_changes(load_default_dict(), {"costs.inflation_index_by_year": {2015: 1.0, 2016: 1.02},
                                              "costs.report_prices": "cash"})
    path = tmp_path / "short.yaml"
    path.write_text(yaml.safe_dump(data))
    notes = []
    load_config(path, warn=notes.append)
    assert any("costs.inflation_index_by_year: no index for financial year(s) starting 2017-2020" in n for n in notes)


@pytest.mark.parametrize("change, message", [
    ({"horizon.end_date": "2016-10-15"},
     "horizon.end_date: 2016-10-15 is not a 31 March: the tables' last financial year, 2016-17, is a part-year"),
    # QA: only a part-year at the end was warned about; a 29 February start printed a 31-day 2015-16
    ({"horizon.start_date": "2016-02-29"},
     "horizon.start_date: 2016-02-29 is not a 1 April: the tables' first financial year, 2015-16, is a "
     "part-year (its starts, ceased and spend cover 2016-02-29 to 31 March 2016 only)"),
])
def test_a_run_starting_or_ending_mid_year_warns_of_its_part_year(tmp_path, change, message):
    path = tmp_path / "mid.yaml"
    path.write_text(yaml.safe_dump(with_changes(load_default_dict(), change)))
    notes = []
    load_config(path, warn=notes.append)
    assert any(message in n for n in notes), notes


def test_opening_weights_that_cannot_be_met_within_the_types_ages_are_warned_about(tmp_path):
    """QA: weights asking for all 255 IFA children to be 16-17 (there are 110) put children of
    4-15 in supported accommodation (16+), quietly."""
    path = tmp_path / "w.yaml"
    path.write_text(yaml.safe_dump(with_changes(load_default_dict(),
                                                {"opening.placement_type_age_weights": {"ifa_foster": [0, 0, 0, 0, 1]}})))
    notes = []
    load_config(path, warn=notes.append)
    opening = [n for n in notes if n.startswith(f"{path}: opening: ")]
    assert len(opening) == 1 and "in supported_accommodation (ages 16-17) at ages the type does not take" in opening[0]
    default = []
    load_config(ROOT / "configs" / "cambridgeshire-2015.yaml", warn=default.append)
    assert default == []


def test_probabilities_by_band_that_happen_to_sum_to_1_are_not_a_mix():
    """QA: calibrate on a tiny council wrote s20-to-proceedings probabilities by age band that
    added up to exactly 1 (0, 0, 1, 0, 0); the config then refused their uncertainty entry as
    'a share of a mix that must sum to 1'. Only a mapping the config requires to sum to 1 is a mix."""
    path = "legal.s20_proceedings_probability_by_age_band"
    d = with_changes(load_default_dict(), {
        path: {"under_1": 0.0, "1_to_4": 0.0, "5_to_9": 1.0, "10_to_15": 0.0, "16_to_17": 0.0},
        **_prior(path + ".5_to_9", dist="beta", alpha=20.0, beta=1.0)})
    cfg = parse_config(d)
    assert cfg.uncertainty[0].path == path + ".5_to_9"


def test_a_run_too_big_for_most_machines_is_warned_about(tmp_path):
    """QA: 50 years of England (valid) passed 16.7 GB and was still growing; now check says so first."""
    path = tmp_path / "long.yaml"
    path.write_text(yaml.safe_dump({"extends": str(ROOT / "configs" / "england-2015.yaml"),
                                    "horizon": {"end_date": "2065-03-31"}}))
    notes = []
    load_config(path, warn=notes.append)
    assert any("horizon: about 12 GB of memory a replication (69,550 looked after over 50 years" in n for n in notes)
    notes = []
    load_config(ROOT / "configs" / "england-2015.yaml", warn=notes.append)
    assert not any("GB of memory" in n for n in notes)


def test_a_broken_file_reached_by_extends_names_the_file_that_extends_it(tmp_path):
    """QA15: 'empty.yaml: is empty' did not say which config had reached it."""
    (tmp_path / "empty.yaml").write_text("# nothing yet\n")
    (tmp_path / "council.yaml").write_text("extends: empty.yaml\n")
    with pytest.raises(ConfigError, match=r"empty\.yaml \(extended by .*council\.yaml\): is empty"):
        load_config(tmp_path / "council.yaml")


def test_a_uasc_period_starting_a_day_early_is_not_warned_about(tmp_path):
    """QA15 review: "only 100% of them arrive in the run"."""
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(with_changes(load_default_dict(), {"demand.uasc.periods": [
        {"from_date": "2015-03-31", "to_date": "2021-04-01", "arrivals": 240}]})))
    seen = []
    load_config(path, warn=seen.append)
    assert not [m for m in seen if "uasc" in m]


@pytest.mark.parametrize("changes, example", [
    ({"legal.proceedings_days": 5}, "(a distribution, e.g. {kind: fixed, days: 30}), not 5"),
    ({"uncertainty": [{"path": "legal.s20_proceedings_probability_by_age_band.under_1", "prior": 0.5}]},
     "(a prior, e.g. {dist: fixed, value: 0.9}), not 0.5"),
])
def test_a_number_where_a_mapping_belongs_gets_an_example_with_the_right_key(tmp_path, changes, example):
    """QA15 review: a lever's `effect: 0.9` was shown {kind: ...}, but priors take dist."""
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(with_changes(load_default_dict(), changes)))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert example in str(err.value)


def test_check_on_a_fit_params_file_says_what_it_is(capsys):
    """QA15: `check` listed parameters, groups and settings as unknown fields."""
    path = ROOT / "experiments" / "fit-params-cambridgeshire.yaml"
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert "this is a fit-params file (it has parameters:), not a config" in err and "--params" in err


def test_check_on_an_experiment_without_scenarios_says_what_is_missing(tmp_path, capsys):
    """QA18: with scenarios: left out, `check` read an experiment file as a config and listed 13
    config errors; `experiment` said scenarios was missing."""
    data = yaml.safe_load((ROOT / "experiments" / "cambridgeshire-action-plan.yaml").read_text())
    del data["scenarios"]
    data["config"] = str(ROOT / "configs" / "cambridgeshire-2015.yaml")
    path = tmp_path / "no-scenarios.yaml"
    path.write_text(yaml.safe_dump(data))
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert "scenarios" in err and "required field is missing" in err and "meta" not in err
