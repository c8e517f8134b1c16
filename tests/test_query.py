"""The query language: every syntax element, its typed comparisons, and errors that point at the
problem."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segemu.message import Record
from segemu.query import (
    MATCH_ALL,
    EventFilter,
    Query,
    QueryError,
    fields,
    known_fields,
    parse_query,
    quote,
    register_field,
    select,
)
from segemu.query.fields import Glob, _number


def record(
    kind: str | None = "track",
    *,
    id: int = 1,
    status: str = "accepted",
    reason: str | None = None,
    write_key: str | None = "wk",
    route: str = "/v1/track",
    received_at: str = "2026-11-22T04:21:28.648Z",
    raw: Any = None,
    **event: Any,
) -> Record:
    message_id = event.setdefault("messageId", f"m{id}")
    if kind is not None:
        event.setdefault("type", kind)
    event.setdefault("receivedAt", received_at)
    return {
        "id": id,
        "messageId": message_id,
        "writeKey": write_key,
        "type": kind,
        "status": status,  # type: ignore[typeddict-item]
        "reason": reason,
        "receivedAt": received_at,
        "route": route,
        "raw": dict(event) if raw is None else raw,
        "event": event,
        "warnings": [],
    }


ORDER = record(
    id=7,
    event="Order Completed",
    userId="u_1",
    anonymousId="a_1",
    properties={
        "revenue": 99.99,
        "qty": 2,
        "code": "42",
        "paid": True,
        "coupon": None,
        "tags": ["sale", "new"],
        "Plan Name": "pro",
        "products": [{"sku": "abc", "price": 10}, {"sku": "xyz", "price": 25.5}],
    },
    context={"library": {"name": "analytics-python", "version": "2.3.3"}},
    integrations={"Mixpanel": False},
)
PAGE = record(
    "page",
    id=8,
    name="Checkout",
    anonymousId="a_2",
    properties={"path": "/cart"},
    route="/v1/page",
    write_key="other",
)
IDENTIFY = record(
    "identify", id=9, userId="u_2", traits={"email": "ann@example.com"}, route="/v1/identify"
)
REJECTED = record(
    None, id=10, status="rejected", reason="no userId or anonymousId", raw=["not", "an", "object"]
)
ALL = [ORDER, PAGE, IDENTIFY, REJECTED]


def ids(text: str) -> list[int]:
    query = parse_query(text)
    return [r["id"] for r in ALL if query.matches(r)]


# -- terms, combining and grouping --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", [7, 8, 9, 10]),
        ("   \n\t", [7, 8, 9, 10]),
        ("type:track", [7]),
        ('event:"Order Completed"', [7]),
        ("type:track user:u_1 properties.revenue>50 context.library.name:analytics-python", [7]),
        ("type:track AND user:u_2", []),
        ("type:page OR type:identify", [8, 9]),
        ("type:track user:u_2 OR type:page", [8]),  # (a AND b) OR c
        ("type:page OR type:track user:u_1", [7, 8]),  # a OR (b AND c)
        ("type:track (user:u_2 OR user:u_1)", [7]),
        ("(type:page OR type:identify) -user:u_2", [8]),
        ("-type:identify", [7, 8, 10]),
        ("NOT type:identify", [7, 8, 10]),
        ("-(type:page OR type:identify)", [7, 10]),
        ("NOT (type:page OR type:identify)", [7, 10]),
        ("--type:page", [8]),
        ("NOT -type:page", [8]),
        ("status:accepted -(type:page OR (type:track properties.qty:2))", [9]),
        ("type:page(name:Checkout)", [8]),
        ("type:page OR type:identify OR status:rejected", [8, 9, 10]),
        ("(type:page OR type:identify OR status:rejected) -name:Checkout -user:u_2", [10]),
    ],
)
def test_combinations(text: str, expected: list[int]) -> None:
    assert ids(text) == expected


def test_long_queries_are_safe() -> None:
    # Long lists of terms are checked in a loop, and nesting is bounded, so no caller of the
    # control API can make matching or parsing overflow the stack.
    many = " ".join(["-user:nobody"] * 2000)
    assert ids(many) == [7, 8, 9, 10]
    assert ids(" OR ".join(["user:nobody"] * 2000 + ["user:u_2"])) == [9]
    assert ids("(" * 50 + "type:page" + ")" * 50) == [8]
    assert ids("-" * 51 + "type:page") == [7, 9, 10]
    with pytest.raises(QueryError, match="too deeply nested"):
        parse_query("(" * 500 + "a" + ")" * 500)
    with pytest.raises(QueryError, match="too deeply nested"):
        parse_query("NOT " * 500 + "a")


def test_lowercase_keywords_are_search_words() -> None:
    assert ids("completed OR checkout") == [7, 8]
    assert ids("completed or checkout") == []  # three words, all searched for
    assert ids("completed or") == [7]
    assert ids("order") == [7]
    assert ids("ORDER") == [7]  # not a keyword: only OR, AND, NOT are


# -- comparisons --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("type!=track", [8, 9, 10]),
        ("user!=u_1", [8, 9, 10]),  # missing counts as not equal
        ("properties.revenue>50", [7]),
        ("properties.revenue>99.99", []),
        ("properties.revenue>=99.99", [7]),
        ("properties.revenue<100", [7]),
        ("properties.revenue<=99.98", []),
        ("properties.qty>1.5", [7]),
        ("properties.qty>-1", [7]),
        ("id>8", [9, 10]),
        ("id<=8", [7, 8]),
        ("event>Order", [7]),  # text against text
        ("event<Order", []),
        ("properties.code>40", []),  # a number against text never matches
        ('properties.revenue>"50"', []),  # quoted: text against a number never matches
        ('properties.code>"40"', [7]),
        ("properties.missing>1", []),
        ("receivedAt>=2026-11-22", [7, 8, 9, 10]),
        ("receivedAt<2026-11-22", []),
        ('receivedAt>"2026-11-22T04:21:28.000Z"', [7, 8, 9, 10]),
        ("event~^Order", [7]),
        ('event~"Completed$"', [7]),
        ("event~order", []),  # case-sensitive
        ('event~"(?i)order"', [7]),
        ('traits.email~"@example\\.com$"', [9]),
        ("properties.revenue~^99", [7]),  # the text form of a number
        ("properties.paid~^true$", [7]),
        ('context~"analytics-python"', [7]),  # objects are searched as JSON
        ("properties.tags~^ne", [7]),
    ],
)
def test_comparisons(text: str, expected: list[int]) -> None:
    assert ids(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("properties.coupon:*", []),  # present but null
        ("properties.coupon:null", [7, 8, 9, 10]),
        ("properties.revenue:*", [7]),
        ("properties.revenue:null", [8, 9, 10]),  # missing counts as null
        ("userId:*", [7, 9]),
        ("properties.coupon!=null", []),
        ("properties.tags:*", [7]),
        ("raw.sentAt:*", []),
        ("raw.event:*", [7]),
        ("reason:*", [10]),
        ("type:null", [10]),
    ],
)
def test_exists_and_null(text: str, expected: list[int]) -> None:
    assert ids(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("properties.revenue:99.99", [7]),
        ("properties.qty:2", [7]),
        ("properties.qty:2.0", [7]),
        ("properties.qty:02", [7]),
        ('properties.qty:"2"', []),  # quoted: text only
        ("properties.code:42", [7]),  # bare: the number 42 or the text "42"
        ('properties.code:"42"', [7]),
        ("properties.code:42.0", []),  # "42.0" is not the text "42"
        ("properties.paid:true", [7]),
        ("properties.paid:false", []),
        ('properties.paid:"true"', []),
        ("properties.paid:1", []),  # a boolean is not a number
        ("integrations.Mixpanel:false", [7]),
        ("properties.tags:sale", [7]),  # a path ending at a list: any element
        ("properties.tags!=sale", [8, 9, 10]),
        ("event:order completed", []),  # case-sensitive, and two terms
        ("event:Order*", [7]),
        ("event:*Completed", [7]),
        ("event:Order", []),  # whole value, not a prefix
        ("event:order*", []),  # globs are case-sensitive
        ("traits.email:*@example.com", [9]),
        ('event:"Order*"', []),  # quoted: a literal star
        ("properties.revenue:99*", [7]),
    ],
)
def test_typed_equality(text: str, expected: list[int]) -> None:
    assert ids(text) == expected


def test_quoted_star_is_literal() -> None:
    starred = record(event="Sale*")
    assert parse_query('event:"Sale*"').matches(starred)
    assert not parse_query('event:"Sale*"').matches(record(event="Sales"))
    assert parse_query("event:Sale*").matches(record(event="Sales"))


def test_numbers_compare_as_numbers_whatever_their_spelling() -> None:
    assert parse_query("properties.n:2").matches(record(properties={"n": 2.0}))
    assert parse_query("properties.n:1e3").matches(record(properties={"n": 1000}))
    assert parse_query("properties.n>9").matches(record(properties={"n": 10}))  # not text order
    assert not parse_query("properties.n:1").matches(record(properties={"n": True}))
    assert not parse_query("properties.n>0").matches(record(properties={"n": True}))


# -- fields -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name:Checkout", [8]),
        ("user:u_2", [9]),
        ("userId:u_2", [9]),
        ("anon:a_2", [8]),
        ("anonymousId:a_1", [7]),
        ("messageId:m9", [9]),
        ("status:rejected", [10]),
        ('reason:"no userId or anonymousId"', [10]),
        ("writeKey:other", [8]),
        ("source:other", [8]),
        ("route:/v1/identify", [9]),
        ("receivedAt:2026-11-22T04:21:28.648Z", [7, 8, 9, 10]),
        ("id:9", [9]),
        ('"Type":track', []),  # a quoted first segment is a key of the caller's own
        ("traits.email:ann@example.com", [9]),
        ("context.library.version:2.3.3", [7]),
        ('properties."Plan Name":pro', [7]),
        ("properties.products.0.sku:abc", [7]),
        ("properties.products.1.sku:abc", []),
        ("properties.products.2.sku:*", []),
        ("properties.products.sku:xyz", [7]),
        ("properties.products.price>20", [7]),
        ("properties.products.price>30", []),
        ("properties.products.sku:*", [7]),
        ("properties.products.sku:null", [8, 9, 10]),  # no products: missing is null
        ("properties.products.sku!=abc", [8, 9, 10]),  # no element is abc
        ("properties.tags.1:new", [7]),
        ("properties.tags.²:new", []),  # only ASCII digits index a list
        ("raw.properties.revenue:99.99", [7]),
        ("raw.0:not", [10]),
        ("raw:*", [7, 8, 9, 10]),
    ],
)
def test_fields(text: str, expected: list[int]) -> None:
    assert ids(text) == expected


def test_raw_and_normalized_are_told_apart() -> None:
    sent = {"type": "track", "event": "E", "userId": 42, "sentAt": "2026-11-22T04:21:28.000Z"}
    stored = record(event="E", userId="42", raw=sent)
    assert parse_query("raw.sentAt:*").matches(stored)
    assert not parse_query("sentAt:*").matches(stored)
    assert parse_query('user:"42"').matches(stored)
    assert not parse_query('raw.userId:"42"').matches(stored)
    assert parse_query("raw.userId:42").matches(stored)


def test_list_traversal_reaches_nested_lists() -> None:
    nested = record(
        properties={
            "orders": [{"items": [{"sku": "a"}, {"sku": "b"}]}, {"items": [{"sku": "c"}, {}]}]
        }
    )
    assert parse_query("properties.orders.items.sku:c").matches(nested)
    assert parse_query("properties.orders.items.sku:null").matches(nested)  # the {} item
    assert not parse_query("properties.orders.items.sku:d").matches(nested)
    empty = record(properties={"orders": []})
    assert not parse_query("properties.orders.items.sku:*").matches(empty)
    assert parse_query("properties.orders:*").matches(empty)


# -- bare terms ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("checkout", [8]),  # the page name, case-insensitive
        ('"order completed"', [7]),
        ("COMPLETED", [7]),
        ("u_", [7, 9]),
        ("identify", [9]),  # the type
        ("m10", [10]),  # the messageId
        ("a_2", [8]),
        ("ord*ted", [7]),
        ('"ord*ted"', []),
        ("ann@example.com", []),  # traits are not searched
        ("analytics", []),
        ("order -completed", []),
    ],
)
def test_bare_terms(text: str, expected: list[int]) -> None:
    assert ids(text) == expected


def test_bare_search_covers_group_id() -> None:
    assert parse_query("acme").matches(record("group", groupId="Acme-Inc"))


# -- the public API -----------------------------------------------------------------------------


def test_query_keeps_its_text() -> None:
    query = parse_query("type:track  event:A")
    assert isinstance(query, Query)
    assert query.text == "type:track  event:A"
    assert str(query) == "type:track  event:A"
    assert query == parse_query("type:track  event:A")


def test_match_all() -> None:
    assert MATCH_ALL.text == ""
    assert all(MATCH_ALL.matches(r) for r in ALL)


def test_event_filter_applies_its_query_after_the_structured_filters() -> None:
    where = EventFilter(status="accepted", query=parse_query("type:page OR user:u_2"))
    assert [r["id"] for r in select(ALL, where)] == [8, 9]
    assert [r["id"] for r in select(ALL, where, limit=1)] == [8]
    assert [r["id"] for r in select(ALL, EventFilter(query=MATCH_ALL))] == [7, 8, 9, 10]
    assert [
        r["id"] for r in select(ALL, EventFilter(type="track", query=parse_query("-order")))
    ] == []
    assert [r["id"] for r in select(ALL, EventFilter(write_key="wk"))] == [7, 9, 10]


TRICKY = [
    "Order Completed",
    'say "hi"',
    "back\\slash",
    "trailing\\",
    "(paren)",
    "a*b",
    "*",
    "OR",
    "AND",
    "NOT",
    "-negated",
    "null",
    "true",
    "42",
    "2.0",
    "key:value",
    "a>b",
    "~x",
    "",
    " ",
    "tab\there",
    "plain",
    "ünïcode",
    '\\"',
    "a.b",
]


@pytest.mark.parametrize("name", TRICKY)
def test_quote_round_trips(name: str) -> None:
    query = parse_query(f"event:{quote(name)}")
    assert query.matches(record(event=name))
    assert not query.matches(record(event=name + "x"))
    assert not query.matches(record(event="other"))
    # As a bare term too: a substring search for exactly that text.
    assert parse_query(f"type:track {quote(name)}").matches(record(event=f"<{name}>"))


def test_quote_leaves_plain_words_alone() -> None:
    assert quote("Checkout") == "Checkout"
    assert quote("user@example.com") == "user@example.com"
    assert quote("Order Completed") == '"Order Completed"'
    assert quote('a"b\\') == '"a\\"b\\\\"'
    assert quote("42") == '"42"'  # so it means the text "42", not the number
    assert quote("null") == '"null"'


def test_quoted_strings_keep_unknown_escapes() -> None:
    assert parse_query(r'event~"^A\d$"').matches(record(event="A1"))
    assert parse_query(r'event:"a\nb"').matches(record(event="a\\nb"))


# -- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message", "position"),
    [
        ("properties.revenue>>50", "expected a value after '>'", 19),
        ("properties.revenue>", "expected a value after '>'", 19),
        ("event: x", "expected a value after ':'", 6),
        ("(type:track", "unclosed '('", 0),
        ("a (b (c) d", "unclosed '('", 2),
        ("type:track)", "unmatched ')'", 10),
        (")", "unmatched ')'", 0),
        ("()", "empty parentheses", 0),
        ("a OR", "expected a term after 'OR'", 4),
        ("a OR OR b", "expected a term after 'OR'", 5),
        ("a AND", "expected a term after 'AND'", 5),
        ("(a OR)", "expected a term after 'OR'", 5),
        ("OR a", "expected a term before 'OR'", 0),
        ("a NOT", "expected a term after 'NOT'", 5),
        ("a -", "expected a term after '-'", 3),
        ("a - b", "expected a term after '-'", 3),
        ("-OR", "expected a term after '-'", 1),
        (":foo", "expected a field before ':'", 0),
        ("a >5", "expected a field before '>'; no spaces around an operator", 2),
        ("(:x)", "expected a field before ':'", 1),
        ("properties..x:1", "empty field segment", 11),
        ("properties.:1", "empty field segment", 11),
        ('event~"a(b"', "bad regular expression: missing ), unterminated group", 8),
        ("event~a[b", "bad regular expression: unterminated character set", 7),
        ("properties.revenue>*", "cannot use a wildcard with '>'; quote it to compare as text", 19),
        ("properties.revenue<=null", "cannot compare null with '<='", 20),
        ("properties.paid>true", "cannot compare true with '>'", 16),
        ('event:"Order Completed', "unterminated quoted string", 6),
        ('a "b', "unterminated quoted string", 2),
        ("a=b", "unknown operator '='; use ':' for equals", 1),
        ("a!b", "unknown operator '!'; use '!=' for not equal", 1),
        ('event:"A"B', "unexpected 'B' after a quoted value", 9),
        ('event:a"b"', "unexpected '\"' inside a word; quote the whole value", 7),
        ('properties."a b" x', "expected an operator after the field", 16),
    ],
)
def test_errors_point_at_the_problem(text: str, message: str, position: int) -> None:
    with pytest.raises(QueryError) as caught:
        parse_query(text)
    error = caught.value
    assert isinstance(error, ValueError)
    assert (error.message, error.position, error.query) == (message, position, text)
    header, shown, caret = str(error).split("\n")
    assert header == f"{message} at column {position + 1}"
    assert shown == f"  {text}"
    assert caret == "  " + " " * position + "^"


def test_error_message_matches_the_documented_example() -> None:
    with pytest.raises(QueryError) as caught:
        parse_query("properties.revenue>>50")
    assert str(caught.value) == (
        "expected a value after '>' at column 20\n  properties.revenue>>50\n                     ^"
    )


def test_errors_in_multi_line_queries_show_the_line() -> None:
    with pytest.raises(QueryError) as caught:
        parse_query("type:track\n\tevent:A OR")
    assert caught.value.position == 22
    assert str(caught.value) == (
        "expected a term after 'OR' at line 2, column 12\n  \tevent:A OR\n  \t          ^"
    )


# -- speed --------------------------------------------------------------------------------------


def test_matching_is_compiled_once() -> None:
    # Not a timing assertion (benchmarks print figures): a generous bound that only a query
    # re-parsed per record, or something equally wrong, would miss.
    records = [
        record(
            id=i,
            event="Order Completed" if i % 3 else "Viewed",
            userId=f"u_{i % 10}",
            properties={"revenue": i % 200},
        )
        for i in range(100_000)
    ]
    query = parse_query('type:track event:"Order Completed" properties.revenue>50')
    started = time.perf_counter()
    matched = sum(1 for r in records if query.matches(r))
    elapsed = time.perf_counter() - started
    assert matched == sum(1 for i in range(100_000) if i % 3 and i % 200 > 50)
    assert elapsed < 5, elapsed


# -- linear matching (issue 13, finding 4) ------------------------------------------------------


def _old_glob(pattern: str, flags: int = 0) -> re.Pattern[str]:
    """How wildcards were matched before: a backtracking regex, the oracle on short texts."""
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")), flags | re.DOTALL)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="ab*", min_size=1, max_size=8), st.text(alphabet="abB\n", max_size=12))
def test_wildcards_match_as_the_backtracking_regex_did(pattern: str, text: str) -> None:
    glob = Glob(pattern)
    assert glob.fullmatch(text) == (_old_glob(pattern).fullmatch(text) is not None)
    assert glob.search(text) == (_old_glob(pattern).search(text) is not None)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789.eE+-x", max_size=14))
def test_numbers_are_read_as_before(text: str) -> None:
    old = re.compile(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
    assert (_number(text) is not None) == (old.fullmatch(text) is not None)


def test_hostile_patterns_and_wildcards_match_in_linear_time() -> None:
    # The inputs, then longer ones that the backtracking engine would take hours on.
    for name in ("a" * 26 + "!", "a" * 5000 + "!"):
        assert not parse_query('event~"(a+)+$"').matches(record(event=name))
        assert parse_query('event~"(a+)+!$"').matches(record(event=name))
    for name in ("a" * 60, "a" * 5000):
        assert not parse_query("*a*a*a*a*a*b").matches(record(event=name))
        assert parse_query("*a*a*a*a*a*a").matches(record(event=name))
        assert not parse_query("event:*a*a*a*a*a*b").matches(record(event=name))


def test_regexes_use_re2_syntax() -> None:
    # RE2 spells the end of the text \z, and its classes are ASCII.
    assert parse_query(r'event~"ed\z"').matches(record(event="Order Completed"))
    assert not parse_query(r'properties.n~"^\d$"').matches(record(properties={"n": "٣"}))
    with pytest.raises(QueryError, match="look-behind '\\(\\?<=' is not supported") as caught:
        parse_query('event~"(?<=Order )Completed"')
    assert caught.value.position == 7


# -- unknown fields (issue 18, item 8) ----------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("evnt:Foo", "unknown field 'evnt' (did you mean 'event'?) at column 1"),
        ("type:track userid:u_1", "unknown field 'userid' (did you mean 'userId'?) at column 12"),
        ("Type:track", "unknown field 'Type' (did you mean 'type'?)"),
        ("propertes.revenue>5", "unknown field 'propertes' (did you mean 'properties'?)"),
        ("zzz:1", """unknown field 'zzz'; quote it ("zzz") to look up a key of your own"""),
    ],
)
def test_an_unknown_field_is_refused_with_a_suggestion(query: str, message: str) -> None:
    with pytest.raises(QueryError) as refused:
        parse_query(query)
    assert message in str(refused.value)


def test_fields_other_modules_register_are_known() -> None:
    with pytest.raises(QueryError):
        parse_query("somewhere_new.x:1")
    register_field("somewhere_new", record_root=True)
    try:
        query = parse_query("somewhere_new.x:1")
        assert query.matches({**record(), "somewhere_new": {"x": 1}})  # type: ignore[typeddict-unknown-key]
        assert "somewhere_new" in known_fields()
    finally:
        fields._RECORD_ROOTS.discard("somewhere_new")


def test_field_reader_walks_paths_as_queries_do() -> None:
    from segemu.query import field_reader

    record: Any = {"event": {"properties": {"Plan Name": "pro", "items": [{"sku": "a"}]}}}
    assert field_reader('properties."Plan Name"')(record) == (True, "pro")
    assert field_reader("properties.items.0.sku")(record) == (True, "a")
    assert field_reader("properties.missing")(record) == (False, None)
    for not_a_field in ("properties.revenue>5", "a b", "", "-x"):
        with pytest.raises(QueryError):
            field_reader(not_a_field)
