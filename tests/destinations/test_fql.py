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


# -- destination filters: Segment's FQL in full (DOCS api/public-api/fql.md) ------------------

DOCS_EVENT: dict[str, Any] = {
    "event": "Button Clicked",
    "type": "track",
    "context": {"library": {"name": "analytics.js", "version": "1.0"}},
    "properties": {"features": ["discounts", "dark-mode"]},
}


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        # fql.md §Examples, every row of the table, with its result.
        ("event = 'Button Clicked'", True),
        ("event = 'Screen Tapped'", False),
        ("context.path.path = '/login'", False),
        ("type = 'identify' or type = 'track'", True),
        ("event = 'Button Clicked' and type = 'track'", True),
        ("match( context.library.version, '1.*' )", True),
        ("match( context.library.version, '2.*' )", False),
        ("type = 'track' and ( event = 'Click' or match( event, 'Button *' ) )", True),
        ("!contains( context.library.name, 'js' )", False),
        ("'dark-mode' in properties.features", True),
        ("'blink' in properties.features", False),
        # §Subexpressions. The page gives no results; these follow its operator tables. Its
        # first row passes the arguments of match() the other way round: the literal is the
        # string and the event name the pattern, which does not match.
        ("type = 'track' and ( event = 'Click' or match( 'Button *', event ) )", False),
        (
            "( type = 'track' or type = 'identify' ) and "
            "( properties.enabled or match( traits.email, '*@company.com' ) )",
            False,
        ),
        ("!( type in ['track', 'identify'] )", False),
        # §Functions: null defaults ("length( userId ) > 0" needs no typeof).
        ("length( userId ) > 0", False),
        ("length( userId ) < 1", True),
        ("typeof( userId ) = 'null'", True),
        ("lowercase( userId ) = null", True),
        ("contains( userId, 'a' )", False),
        ("match( userId, '*' )", False),
        ("typeof( event ) = 'string'", True),
        ("typeof( properties.features ) = 'list'", True),
        ("length( properties.features ) = 2", True),
        ("lowercase( event ) = 'button clicked'", True),
        ("uppercase( event ) = 'BUTTON CLICKED'", True),
        ("snakecase( event ) = 'Button_Clicked'", True),
        ("kebabcase( event ) = 'Button-Clicked'", True),
        ("titlecase( 'test string' ) = 'Test String'", True),
        ("bool( properties.features )", True),
        ("string( 1.5 ) = '1.5'", True),
        ("number( context.library.version ) = 1", True),
    ],
)
def test_segments_fql_examples(condition: str, expected: bool) -> None:
    assert compile_fql(condition, "filter")(DOCS_EVENT) is expected


@pytest.mark.parametrize(
    ("text", "pattern", "expected"),
    [
        # fql.md §match, every row, and `?` (the issue: "Button?Clicked").
        ("abcd", "a*d", True),
        ("", "*", True),
        ("abc", "ab", False),
        ("abcd", "a??d", True),
        ("abcd", "*d", True),
        ("ab*d", "ab\\*d", True),
        ("abCd", "ab[cC]d", True),
        ("abcd", "ab[a-z]d", True),
        ("abcd", "ab[A-Z]d", False),
        ("Button Clicked", "Button?Clicked", True),
        ("ab/c", "a*", True),  # no path separator in Segment's glob (tsub-js globMatches)
        ("abc", "a[", False),  # a malformed pattern matches nothing
    ],
)
def test_match_is_segments_glob(text: str, pattern: str, expected: bool) -> None:
    escaped = pattern.replace("\\", "\\\\")
    assert compile_fql(f"match( '{text}', '{escaped}' )", "filter")({}) is expected


def test_escaped_paths_and_every_top_level_field() -> None:
    # fql.md §Escaping Field Paths.
    event = {"properties": {"product 1": {"price": "19.99"}}, "anonymousId": "a", "messageId": "m"}
    assert compile_fql("properties.product\\ 1.price = '19.99'", "filter")(event)
    assert compile_fql("anonymousId = 'a' and messageId = \"m\"", "filter")(event)


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        # fql.md §Comparison: "the same type and strictly equal".
        ("properties.n = 1", True),
        ("properties.n = '1'", False),
        ("properties.s = 1", False),
        ("properties.b = true", True),
        ("properties.s != 1", True),
        ("properties.n > 0.5", True),
        ("properties.s > 0", False),  # a string is no number
        ("properties.l = [1, 'a']", True),
        ("1 in properties.l", True),
        ("'1' in properties.l", False),
        ("properties.missing = null", True),
        ("properties.b", True),  # a bare value counts when it is the boolean true
        ("properties.s", False),
        ("length( 'ア' ) = 3", True),  # bytes, not characters
    ],
)
def test_filter_values_are_strictly_typed(condition: str, expected: bool) -> None:
    event = {"properties": {"n": 1, "s": "1", "b": True, "l": [1, "a"]}}
    assert compile_fql(condition, "filter")(event) is expected


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ("event = 'x'", 'strings in double quotes ("...")'),
        ("'a' in properties.x", "'in' is not supported in a subscription"),
        ("length(userId) < 1", "length() is not supported in a subscription"),
        ('anonymousId = "x"', "unknown field 'anonymousId'"),
        ('lowercase(event) = "x"', "lowercase() is not supported in a subscription"),
    ],
)
def test_subscriptions_say_where_segment_restricts_fql(condition: str, message: str) -> None:
    with pytest.raises(FqlError, match=re.escape(message)) as caught:
        compile_fql(condition)
    assert "Actions subscriptions" in str(caught.value)
    compile_fql(condition.replace('"', "'"), "filter")  # the same text is a valid filter


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ('userId = oops"', "unexpected"),  # fql.md §Error Handling
        ("event = 'a", "unterminated string"),
        ("frobnicate(event)", "unknown function 'frobnicate'"),
        ("contains(event)", "contains() takes 2 argument(s)"),
        ("(" * 100 + "event = 'a'" + ")" * 100, "nests more than 64 levels"),
    ],
)
def test_filter_mistakes_are_explained(condition: str, message: str) -> None:
    with pytest.raises(FqlError, match=re.escape(message)):
        compile_fql(condition, "filter")
