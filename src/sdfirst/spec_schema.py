"""Check a spec file against its declared shape (`spec_schema.yaml`): key names, required keys, value types.

A researcher edits a copy of the specs (`SDFIRST_SPECS`); a misspelt key would otherwise be ignored silently (a
default used instead) or fail far away as a KeyError. Every file is checked once, when it is read, and the first
difference is one line: `<file>: <key.path>: unknown key 'x'`, `missing key 'y'` or `expected a number, got 'abc'`.

The shapes are data, not code: the language is described at the top of `spec_schema.yaml`. They are the place where
a typed parameter layer can grow from (each leaf has a declared type already).
"""

from __future__ import annotations

import datetime
import difflib
import fnmatch
import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from sdfirst.exceptions import DataFirstError

SCHEMA_FILE = Path(__file__).with_name("spec_schema.yaml")
OPEN = "*"  # the key of an open map's values
OPTIONAL = "?"  # the suffix of an optional key

_TYPES: dict[str, tuple[str, Any]] = {  # name: (what the message says, test)
    "number": ("a number", lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)),
    "int": ("a whole number", lambda v: isinstance(v, int) and not isinstance(v, bool)),
    "string": ("text", lambda v: isinstance(v, str)),
    "bool": ("true or false", lambda v: isinstance(v, bool)),
    "date": ("a date (YYYY-MM-DD)", lambda v: isinstance(v, datetime.date)),
    "null": ("nothing (null)", lambda v: v is None),
    "any": ("anything", lambda _v: True),
}


class ShapeError(DataFirstError):
    """A spec value that does not have its declared shape; `str()` is the one line shown."""

    def prefixed(self, where: str) -> ShapeError:
        """The same error, its line starting with where it was found (the file)."""
        return ShapeError(f"{where}: {self}")


@functools.cache
def _schemas() -> dict[str, Any]:
    with SCHEMA_FILE.open(encoding="utf-8") as handle:
        raw = yaml.safe_load(handle)
    return {name: shape for name, shape in raw.items() if not name.startswith("_")}


def shape_of(name: str) -> Any | None:
    """The declared shape of a spec file by its name relative to the spec folder (exact names before patterns)."""
    schemas = _schemas()
    if name in schemas:
        return schemas[name]
    return next((shape for pattern, shape in schemas.items() if fnmatch.fnmatchcase(name, pattern)), None)


def declared_files() -> list[str]:
    """The names and patterns the schema describes."""
    return list(_schemas())


def check(name: str, data: Any, path: Path | str) -> None:
    """Raise a one-line DataFirstError if `data` (spec file `name`, read from `path`) departs from its shape."""
    shape = shape_of(name)
    if shape is None:
        return
    try:
        _check(data, shape, "")
    except ShapeError as exc:
        raise exc.prefixed(str(path)) from None


def _where(at: str) -> str:
    return at or "(top level)"


def _describe(value: Any) -> str:
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value.isoformat() if isinstance(value, datetime.date) else value)


def _check(value: Any, shape: Any, at: str) -> None:
    if isinstance(shape, str):
        _check_type(value, shape, at)
    elif isinstance(shape, list):
        _check_list(value, shape, at)
    elif "$either" in shape:
        _check_either(value, shape["$either"], at)
    elif "$one_of" in shape:
        _check_choice(value, shape["$one_of"], at)
    elif "$each_once" in shape:
        _check_each_once(value, shape["$each_once"], at)
    elif "$optional" in shape:
        _check_mapping(value, shape["$optional"], at, all_optional=True)
    else:
        _check_mapping(value, shape, at)


def _check_type(value: Any, shape: str, at: str) -> None:
    kinds, _, bounds = shape.partition(" ")
    names = kinds.split("|")
    wanted = " or ".join(_TYPES[n][0] for n in names)
    if not any(_TYPES[n][1](value) for n in names):
        raise ShapeError(f"{_where(at)}: expected {wanted}, got {_describe(value)}")
    if bounds and isinstance(value, (int, float)):
        _check_range(value, bounds, f"{_where(at)}: expected {wanted}")


def _check_range(value: float, bounds: str, expected: str) -> None:
    """`lo..hi`, `lo..` or `..hi`: closed bounds, so that a rate is `number 0..1` and a count `int 1..`."""
    low, high = (float(end) if end else None for end in bounds.split(".."))
    if (low is None or value >= low) and (high is None or value <= high):
        return
    if low is not None and high is not None:
        span = f"from {low:g} to {high:g}"
    else:
        span = f"of at least {low:g}" if low is not None else f"of at most {high:g}"
    raise ShapeError(f"{expected} {span}, got {_describe(value)}")


def _check_choice(value: Any, choices: list, at: str) -> None:
    if value not in choices:
        near = difflib.get_close_matches(str(value), [str(c) for c in choices], n=1)
        hint = f" (did you mean {near[0]!r}?)" if near else f" (choose from {', '.join(map(str, choices))})"
        raise ShapeError(f"{_where(at)}: unknown value {_describe(value)}{hint}")


def _check_each_once(value: Any, choices: list, at: str) -> None:
    """A list naming every one of `choices` exactly once: an order of application, in which a name left out would
    silently switch something off and a name given twice would apply it twice."""
    if not isinstance(value, list):
        raise ShapeError(f"{_where(at)}: expected a list, got {_describe(value)}")
    seen: set[str] = set()
    for i, item in enumerate(value):
        _check_choice(item, choices, f"{at}[{i}]")
        if item in seen:
            raise ShapeError(f"{at}[{i}]: {item!r} is listed twice")
        seen.add(item)
    missing = [str(c) for c in choices if c not in seen]
    if missing:
        raise ShapeError(f"{_where(at)}: missing {', '.join(map(repr, missing))} (every one must be listed once)")


def _check_list(value: Any, shape: list, at: str) -> None:
    if not isinstance(value, list):
        raise ShapeError(f"{_where(at)}: expected a list, got {_describe(value)}")
    if len(shape) > 1 and len(value) != len(shape):  # a tuple
        raise ShapeError(f"{_where(at)}: expected a list of {len(shape)} values, got {len(value)}")
    for i, item in enumerate(value):
        _check(item, shape[i] if len(shape) > 1 else shape[0], f"{at}[{i}]")


def _check_either(value: Any, shapes: list, at: str) -> None:
    errors = []
    for shape in shapes:
        try:
            _check(value, shape, at)
            return
        except ShapeError as exc:
            errors.append(str(exc))
    raise ShapeError(" / or: ".join(errors))


def unknown_key(at: str, key: Any, known: list[str]) -> ShapeError:
    """The error for a key the shape (or, for an override, the shipped spec) does not have, with a near miss."""
    near = difflib.get_close_matches(str(key), known, n=1)
    listed = f" (known keys: {', '.join(known)})" if len(known) <= 10 else ""
    if " " in str(key):  # an unquoted comma in a {...} mapping cuts a value short and makes a key of the rest
        listed = " (is a value with a comma in it quoted?)"
    hint = f" (did you mean {near[0]!r}?)" if near else listed
    return ShapeError(f"{_where(at)}: unknown key {str(key)!r}{hint}")


def names_key(name: str, keys: list[str]) -> bool:
    """Whether the shape of spec file `name` names the last of `keys` (a path of mapping keys) as a key of its own.

    An override may set a key the shipped file leaves out only if the shape names it (an optional key, such as one
    error rate of one dataset), not one an open map would take (a new code or name), which is more likely a typo.
    """
    return bool(keys) and str(keys[-1]) in named_keys(name, keys[:-1])


def named_keys(name: str, keys: list[str]) -> list[str]:
    """The keys that the shape of spec file `name` names at the mapping reached by `keys` (in the shape's order;
    none where the shape is an open map, or the path leaves it), for an override's message of what it may set."""
    shape = shape_of(name)
    for key in [*keys, None]:
        if isinstance(shape, Mapping) and "$optional" in shape:
            shape = shape["$optional"]
        if not isinstance(shape, Mapping) or any(str(k).startswith("$") for k in shape):
            return []
        named = {str(k).removesuffix(OPTIONAL): v for k, v in shape.items()}
        if key is None:
            return [k for k in named if k != OPEN]
        if str(key) in named and str(key) != OPEN:
            shape = named[str(key)]
        elif OPEN in named:  # a key on the way down, which the shipped file has
            shape = named[OPEN]
        else:
            return []
    return []


def _check_mapping(value: Any, shape: Mapping, at: str, all_optional: bool = False) -> None:
    if not isinstance(value, Mapping):
        raise ShapeError(f"{_where(at)}: expected a mapping of keys, got {_describe(value)}")
    keys = {str(k).removesuffix(OPTIONAL): (v, all_optional or str(k).endswith(OPTIONAL)) for k, v in shape.items()}
    other = keys.pop(OPEN, (None, True))[0]
    for key, item in value.items():
        inner = f"{at}.{key}" if at else str(key)
        if str(key) in keys:
            _check(item, keys[str(key)][0], inner)
        elif other is not None:
            _check(item, other, inner)
        else:
            raise unknown_key(at, key, list(keys))
    for key, (_, optional) in keys.items():
        if not optional and key not in value:
            raise ShapeError(f"{_where(at)}: missing key {key!r}")
