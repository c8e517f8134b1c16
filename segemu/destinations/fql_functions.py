"""What FQL's operators and functions do with values (DOCS api/public-api/fql.md §Operators,
§Functions; segmentio/tsub-js src/matchers.ts for the cases the page leaves open).

Destination filters are strict about types: `=` holds only for two values of the same type
(`1 = '1'` is false), `<` only for two numbers, `contains` and `match` only for two strings.
Functions give `null` sensible defaults (`length(null)` is 0, `lowercase(null)` null,
`contains(null, 'x')` false).

Actions subscriptions compare as action-destinations destination-subscriptions validate.ts
does: `= true` also matches the string "true", a number matches its text, `contains` and
`match` read any value as text.

Where Segment documents no answer, segemu chooses (and docs/filters.md says so): `typeof` of
an object is "object"; `titlecase` upper-cases the first letter of each space-separated word
and leaves the rest; `bool` of a string is true for "true", "t", "1" in any case (Go's
strconv.ParseBool), of a number for non-zero, of a list for non-empty; `string` writes numbers
and lists as JSON, `null` as ""; `number` of a string that is not a number is null.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import orjson

from segemu.destinations.glob import glob_match
from segemu.destinations.mapping import MISSING

Value = Callable[[dict[str, Any]], Any]


def kind(value: Any) -> str:
    """The FQL type of a value: string, number, list, bool, null (and object)."""
    if value is None or value is MISSING:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    return "object"


def strictly_equal(left: Any, right: Any) -> bool:
    left_kind = kind(left)
    if left_kind != kind(right):
        return False
    if left_kind == "list":
        return len(left) == len(right) and all(
            strictly_equal(a, b) for a, b in zip(left, right, strict=True)
        )
    if left_kind == "object":
        return left.keys() == right.keys() and all(strictly_equal(left[k], right[k]) for k in left)
    if left_kind == "null":
        return True
    return bool(left == right)


def _numbers(test: Callable[[float, float], bool]) -> Callable[[Any, Any], bool]:
    def compare(left: Any, right: Any) -> bool:
        return kind(left) == "number" and kind(right) == "number" and test(left, right)

    return compare


def _in(left: Any, right: Any) -> bool:
    return isinstance(right, list) and any(strictly_equal(left, item) for item in right)


OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "=": strictly_equal,
    "!=": lambda left, right: not strictly_equal(left, right),
    "<": _numbers(lambda a, b: a < b),
    "<=": _numbers(lambda a, b: a <= b),
    ">": _numbers(lambda a, b: a > b),
    ">=": _numbers(lambda a, b: a >= b),
    "in": _in,
}


def _contains(text: Any, part: Any) -> bool:
    return isinstance(text, str) and isinstance(part, str) and part in text


def _match(text: Any, pattern: Any) -> bool:
    return isinstance(text, str) and isinstance(pattern, str) and glob_match(text, pattern)


def _length(value: Any) -> float:
    if value is None:
        return 0
    if isinstance(value, str):
        # "the number of bytes (not necessarily characters) in a string" (fql.md)
        return len(value.encode())
    if isinstance(value, list):
        return len(value)
    return math.nan  # compares false with every number, as in tsub-js


def _text_function(change: Callable[[str], str]) -> Callable[[Any], Any]:
    return lambda value: change(value) if isinstance(value, str) else None


def _titlecase(text: str) -> str:
    return " ".join(word[:1].upper() + word[1:] for word in text.split(" "))


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.strip().lower() in ("true", "t", "1")
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, list | dict):
        return bool(value)
    return False


def _string(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return orjson.dumps(value).decode()


def _number(value: Any) -> Any:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "contains": _contains,
    "length": _length,
    "lowercase": _text_function(str.lower),
    "uppercase": _text_function(str.upper),
    "snakecase": _text_function(lambda text: text.replace(" ", "_")),
    "kebabcase": _text_function(lambda text: text.replace(" ", "-")),
    "titlecase": _text_function(_titlecase),
    "typeof": kind,
    "match": _match,
    "bool": _bool,
    "string": _string,
    "number": _number,
}
ARITY: dict[str, int] = {name: 2 if name in ("contains", "match") else 1 for name in FUNCTIONS}


# Actions subscriptions (validate.ts).


def subscription_text(value: Any) -> str:
    if value is MISSING or value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _subscription_match(value: Any, pattern: Any) -> bool:
    text = subscription_text(value)
    if pattern.endswith("*"):
        return text.startswith(pattern[:-1])
    return text.endswith(pattern.removeprefix("*"))


SUBSCRIPTION_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "contains": lambda value, part: subscription_text(value).find(part) >= 0,
    "match": _subscription_match,
}


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def subscription_compare(operator: str, left: Value, right: Value) -> Value:
    expected = right({})  # a literal: the subscription check refuses anything else
    if expected is None:
        present = operator == "!="
        return lambda event: (left(event) is not None) == present
    if operator in ("<", "<=", ">", ">="):
        test = OPERATORS[operator]

        def numeric(event: dict[str, Any]) -> bool:
            number = _as_number(left(event))
            return number is not None and test(number, expected)

        return numeric
    if isinstance(expected, bool):
        word = "true" if expected else "false"

        def equal(value: Any) -> bool:
            return value is expected or value == word
    elif isinstance(expected, int | float):

        def equal(value: Any) -> bool:
            return _as_number(value) == expected
    else:

        def equal(value: Any) -> bool:
            if type(value) is str:
                return bool(value == expected)
            return value is not None and subscription_text(value) == expected

    if operator == "=":
        return lambda event: equal(left(event))
    return lambda event: not equal(left(event))
