"""Where a bool or text sits in place of a number, for any shape of annotation."""

from __future__ import annotations

from typing import Literal

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from carejourney.config import ConfigError, load_config
from carejourney.experiment import ExperimentError, load_experiment
from carejourney.strict import misplaced
from tests.conftest import small_dict
from tests.functional.experiment_helpers import LEVERS, write_experiment


@pytest.mark.parametrize("annotation,value,where", [
    (float, 1.5, None),
    (float, True, ()),
    (int, "3", ()),
    (float | None, None, None),
    (float | None, "x", ()),
    (str | None, "x", None),
    (Literal["a", "b"] | float, "a", None),
    (dict[str, float], {"a": 1.0, "b": False}, ("b",)),
    (dict[str, float] | None, {"a": "2"}, ("a",)),
    # a dict key comes back as text, so an integer key is never shown as a list index
    (dict[int, dict[str, float]], {16: {"x": 0.5}, 17: {"y": "0.5"}}, ("17", "y")),
    (list[float], [1.0, 2.0, "3"], (2,)),
    (tuple[int, int], (1, True), (1,)),
    (tuple[float, ...], (1.0, 2.0, "x"), (2,)),
    (list[str] | None, ["a", "b"], None),
    # a flag must be a flag: lax mode read 'yes' and 1 as true
    (bool, True, None),
    (bool, "yes", ()),
    (bool | None, None, None),
    (bool | None, 1, ()),
])
def test_misplaced_finds_the_first_non_number(annotation, value, where):
    assert misplaced(annotation, value) == where


@given(st.dictionaries(st.text(max_size=3), st.floats(allow_nan=False) | st.integers()))
def test_real_numbers_are_never_misplaced(values):
    assert misplaced(dict[str, float], values) is None
    assert misplaced(list[float], list(values.values())) is None


def test_an_integer_key_is_named_as_a_key_not_a_list_index(tmp_path):
    d = small_dict(1)
    d["demand"]["uasc"]["age_years_distribution"] = {16: "0.5", 17: 0.5}
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(d))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert "demand.uasc.age_years_distribution.16: should be a number, not '0.5'" in str(err.value)


def test_a_cohort_flag_written_as_text_is_refused(tmp_path):
    """QA: `cohort.uasc: 'yes'` read as true (and 'no' as false) without a word."""
    lever = {**LEVERS["fewer_teens"], "cohort": {**LEVERS["fewer_teens"].get("cohort", {}), "uasc": "no"}}
    path = write_experiment(tmp_path, levers={"x": lever},
                            scenarios=[{"name": "baseline"}, {"name": "s", "levers": ["x"]}])
    with pytest.raises(ExperimentError) as err:
        load_experiment(path)
    assert "levers.x.cohort.uasc: should be true or false, not 'no'" in str(err.value)


def _models(module) -> list[type]:
    from pydantic import BaseModel
    return [v for v in vars(module).values()
            if isinstance(v, type) and issubclass(v, BaseModel) and v.__module__ == module.__name__]


def test_float_fields_default_to_floats():
    """A float field's default is a float: an int default (0) is dumped as an int, which a path
    that takes only floats (a prior's, QA20) then refuses when the config is validated again."""
    from carejourney import levers, uncertainty
    from carejourney.config import schema
    wrong = []
    for module in (schema, levers, uncertainty):
        for model in _models(module):
            for name, field in model.model_fields.items():
                ann = field.annotation
                takes_float = ann is float or (hasattr(ann, "__args__") and float in ann.__args__
                                               and int not in ann.__args__)
                if takes_float and type(field.default) is int:
                    wrong.append(f"{model.__name__}.{name} = {field.default!r}")
    assert not wrong, wrong
