"""Numbers must be numbers and flags flags, in every input file.

pydantic's lax mode reads `true` as 1, the text '0.45' as 0.45 and 'yes' as true. In a config, a prior or
an experiment file either is a slip (a quoted number, a flag in the wrong place), so every
input model refuses them, inside mappings and lists as well as in plain fields.
"""

from __future__ import annotations

import types
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, model_validator
from pydantic_core import PydanticCustomError

NOT_A_NUMBER = "not_a_number"  # the error type, for messages that name the whole path
_NUMBERS = (int, float)
_CONTAINERS = {dict: dict, list: (list, tuple), tuple: (list, tuple)}


def misplaced(annotation: Any, value: Any, at: tuple = ()) -> tuple | None:
    """Where (keys and positions) `value` has a bool or text that `annotation` wants as a
    number: () for the value itself, None if there is none."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return misplaced(get_args(annotation)[0], value, at)
    if annotation in _NUMBERS:
        return at if isinstance(value, (bool, str)) else None
    if _is_flag(annotation):
        return at if value is not None and not isinstance(value, bool) else None
    if origin in (Union, types.UnionType):
        options = get_args(annotation)
        if isinstance(value, (bool, str)):
            wants_number = any(o in _NUMBERS for o in options)
            return at if wants_number and not any(_admits_text(o) for o in options) else None
        for option in options:  # a container: check it against the option of its kind
            kind = _CONTAINERS.get(get_origin(option))
            if kind and isinstance(value, kind):
                return misplaced(option, value, at)
        return None
    if origin is dict and isinstance(value, dict):
        inner = get_args(annotation)[1]
        for key, item in value.items():
            found = misplaced(inner, item, (*at, str(key)))  # a key, never shown as a list index
            if found is not None:
                return found
    elif origin in (list, tuple) and isinstance(value, (list, tuple)):
        args = get_args(annotation)
        for i, item in enumerate(value):
            if origin is list or (len(args) == 2 and args[1] is Ellipsis):
                inner = args[0]
            elif i < len(args):
                inner = args[i]
            else:
                break
            found = misplaced(inner, item, (*at, i))
            if found is not None:
                return found
    return None


def _admits_text(annotation: Any) -> bool:
    return annotation in (str, bool) or get_origin(annotation) is Literal


def _is_flag(annotation: Any) -> bool:
    """bool, or bool | None: lax mode would read 'yes', 'off' or 1 as a flag."""
    if annotation is bool:
        return True
    if get_origin(annotation) in (Union, types.UnionType):
        return set(get_args(annotation)) == {bool, type(None)}
    return False


class NumbersOnly(BaseModel):
    """Base of every input model: a bool or text where a number belongs is an error that
    names the field and key, not a silent 1 or 0.45."""

    @model_validator(mode="before")
    @classmethod
    def _numbers_are_numbers(cls, data: Any) -> Any:
        # A model validator, not a field one: pydantic allows no "before" field validator
        # on the discriminator fields (`kind`, `dist`) a "*" one would reach.
        if not isinstance(data, dict):
            return data
        for name, value in data.items():
            field = cls.model_fields.get(name)
            found = misplaced(field.annotation, value) if field is not None else None
            if found is None:
                continue
            bad = value
            for key in found:  # dict keys come back as text (see misplaced)
                bad = next(v for k, v in bad.items() if str(k) == key) if isinstance(bad, dict) else bad[key]
            # the error's location is this model; `at` carries the rest of the path, which
            # config.loader.format_validation_error appends
            wanted = "true or false" if not found and _is_flag(field.annotation) else "a number"
            raise PydanticCustomError(NOT_A_NUMBER, "should be {wanted}, not {bad}",
                                      {"at": (name, *found), "bad": repr(bad), "wanted": wanted})
        return data
