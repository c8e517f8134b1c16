"""Matchers for expected values: `properties={"order_id": ANY_STRING, "revenue": approx(9.99)}`.

Each one travels as JSON (`{"$anyString": true}`), so the server judges it the same way for
Python, Playwright or Jest (segemu/expectations.py). `pytest.approx(x)` and compiled regexes
(`re.compile(...)`) are understood too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from segemu.query.regex import compile_regex


@dataclass(frozen=True, slots=True)
class Matcher:
    spec: Mapping[str, Any]

    def __repr__(self) -> str:
        key = next(iter(self.spec))
        if key == "$regex":
            return f"regex({self.spec['$regex']!r})"
        if key == "$approx":
            return f"approx({self.spec['$approx']!r})"
        return {"$any": "ANY", "$anyString": "ANY_STRING", "$absent": "ABSENT"}[key]


ANY = Matcher({"$any": True})
"""Any value, null included, as long as the field is there."""
ANY_STRING = Matcher({"$anyString": True})
ABSENT = Matcher({"$absent": True})
"""The field is missing or null."""


def regex(pattern: str | re.Pattern[str]) -> Matcher:
    """A string in which `pattern` is found, anywhere (like re.search).

    The server matches with RE2 (segemu/query/regex.py), in linear time: look-around and
    backreferences are refused."""
    text = pattern.pattern if isinstance(pattern, re.Pattern) else pattern
    compile_regex(text)  # a bad pattern fails here, in the test, not on the server
    return Matcher({"$regex": text})


def approx(value: float, rel: float = 1e-6, abs: float = 1e-12) -> Matcher:
    """A number within `rel` (relative) or `abs` (absolute) of `value`."""
    return Matcher({"$approx": value, "rel": rel, "abs": abs})


def encode(value: Any) -> Any:
    """Expected values as JSON, matchers included."""
    if isinstance(value, Matcher):
        return dict(value.spec)
    if isinstance(value, re.Pattern):
        return regex(value).spec
    if type(value).__name__ == "ApproxScalar":  # pytest.approx(x), without importing pytest
        tolerance_rel = value.rel if value.rel is not None else 1e-6
        tolerance_abs = value.abs if value.abs is not None else 1e-12
        return {"$approx": value.expected, "rel": tolerance_rel, "abs": tolerance_abs}
    if isinstance(value, Mapping):
        return {str(key): encode(inner) for key, inner in value.items()}
    if isinstance(value, list | tuple):
        return [encode(inner) for inner in value]
    return value
