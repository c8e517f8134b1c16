"""FQL conditions of subscriptions and destination filters, with the forms of
action-destinations packages/destination-subscriptions/src/__tests__/fql.test.ts."""

from __future__ import annotations

import re
from typing import Any

import pytest

from segemu.destinations.fql import FqlError, compile_fql

EVENT: dict[str, Any] = {
    "type": "track",
    "event": "Product Added",
    "userId": "u1",
    "properties": {"price": 120, "name": "Nike Air X", "premium": "true"},
    "traits": {"logins": 12},
    "context": {"foo": "bar"},
}


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ('type = "track"', True),
        ('type = "identify"', False),
        ('event = "Product Added" or event = "Order Completed"', True),
        ('event = "Product Added" and properties.price >= 100', True),
        ('event = "Product Added" and properties.price > 120', False),
        ('event = "Product Added" and properties.premium = true', True),
        ("properties.name != null", True),
        ("properties.missing = null", True),
        ("properties.missing != null", False),
        ('contains(event, "Added")', True),
        ('!contains(properties.name, "Nike")', False),
        ('match(event, "Product*")', True),
        ('match(properties.name, "*X")', True),
        ('!match(event, "*Removed")', True),
        ('traits.logins >= 10 and context.foo = "bar"', True),
        (
            '(event = "Product Added" and properties.price >= 100) or '
            '(event = "Order Completed" and properties.total >= 500)',
            True,
        ),
        ('userId = "u2"', False),
        ('name = "Home"', False),
    ],
)
def test_conditions(condition: str, expected: bool) -> None:
    assert compile_fql(condition)(EVENT) is expected


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ('type == "track"', "expected a value"),
        ('colour = "red"', "unknown field 'colour'"),
        ('type = "track" and', "expected more"),
        ('startswith(event, "x")', "unknown function 'startswith'"),
        ('event = "a" )', "unexpected ')'"),
        ("", "non-empty"),
    ],
)
def test_mistakes_are_explained(condition: str, message: str) -> None:
    with pytest.raises(FqlError, match=re.escape(message)):
        compile_fql(condition)


def test_a_long_condition_is_read_in_linear_time() -> None:
    # The lexer once tested the whole rest of the text for each token.
    condition = " or ".join(f'event = "Event {i}"' for i in range(4000))
    matches = compile_fql(condition)
    assert matches({**EVENT, "event": "Event 3999"})
    assert not matches(EVENT)
