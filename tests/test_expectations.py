"""The one evaluator behind every assertion: what passes, what fails, and how the failure
reads (nearest misses first)."""

from __future__ import annotations

from typing import Any

import pytest

from segemu.expectations import Expectation, ExpectationError, evaluate
from segemu.message import Record


def record(
    id: int,
    kind: str | None = "track",
    status: str = "accepted",
    reason: str | None = None,
    **event: Any,
) -> Record:
    return {
        "id": id,
        "messageId": f"m{id}",
        "writeKey": "k",
        "type": kind,
        "status": status,  # type: ignore[typeddict-item]
        "reason": reason,
        "receivedAt": "2026-11-22T10:00:00.000Z",
        "route": "/v1/batch",
        "raw": event,
        "event": {"type": kind, **event},
        "warnings": [],
    }


def expect(**data: Any) -> Expectation:
    return Expectation.from_json(data)


ORDER = record(
    1,
    event="Order Completed",
    userId="u_1",
    properties={"revenue": 99.99, "items": [{"sku": "a"}], "coupon": None},
)


def test_fields_match_as_a_subset_and_json_numbers_compare_by_value() -> None:
    assert evaluate(expect(type="track", fields={"properties": {"revenue": 99.99}}), [ORDER]).passed
    assert evaluate(expect(fields={"properties.items.0.sku": "a"}), [ORDER]).passed
    assert evaluate(expect(fields={"properties": {"items": [{"sku": "a"}]}}), [ORDER]).passed
    two = record(2, event="A", userId="u", properties={"n": 2.0, "flag": True})
    assert evaluate(expect(fields={"properties": {"n": 2}}), [two]).passed
    assert not evaluate(expect(fields={"properties": {"flag": 1}}), [two]).passed


def test_exact_refuses_extra_properties_and_names_them() -> None:
    verdict = evaluate(expect(fields={"properties": {"revenue": 99.99}}, exact=True), [ORDER])
    assert not verdict.passed
    paths = [d.path for d in verdict.nearest[0].differences]
    assert paths == ["properties.items", "properties.coupon"]
    assert "properties.items: not expected (exact match)" in verdict.message


@pytest.mark.parametrize(
    ("matcher", "passes"),
    [
        ({"$any": True}, True),
        ({"$anyString": True}, True),
        ({"$regex": "^u_\\d$"}, True),
        ({"$regex": "^x"}, False),
        ({"$absent": True}, False),
        ({"$approx": 42}, False),
    ],
)
def test_matchers_on_a_string_field(matcher: dict[str, Any], passes: bool) -> None:
    assert evaluate(expect(fields={"userId": matcher}), [ORDER]).passed is passes


def test_approx_absent_and_any_on_other_values() -> None:
    assert evaluate(
        expect(fields={"properties.revenue": {"$approx": 100, "rel": 0.01}}), [ORDER]
    ).passed
    assert evaluate(expect(fields={"properties.coupon": {"$absent": True}}), [ORDER]).passed
    assert evaluate(expect(fields={"properties.missing": {"$absent": True}}), [ORDER]).passed
    assert evaluate(expect(fields={"properties.coupon": {"$any": True}}), [ORDER]).passed
    assert not evaluate(expect(fields={"properties.missing": {"$any": True}}), [ORDER]).passed


def test_times_is_exact_and_at_least_is_a_floor() -> None:
    records = [record(n, event="Clicked", userId="u") for n in (1, 2)]
    assert evaluate(expect(fields={"event": "Clicked"}, times=2), records).passed
    too_many = evaluate(expect(fields={"event": "Clicked"}, times=1), records)
    assert not too_many.passed
    assert "matching events:" in too_many.message
    assert evaluate(expect(fields={"event": "Clicked"}, atLeast=2), records).passed
    assert not evaluate(expect(fields={"event": "Clicked"}, atLeast=3), records).passed


def test_only_accepted_records_count_unless_a_status_is_named() -> None:
    dropped = record(1, event="Signed Up", status="rejected", reason="no userId or anonymousId")
    verdict = evaluate(expect(type="track", fields={"event": "Signed Up"}), [dropped])
    assert not verdict.passed
    assert verdict.nearest[0].differences[0].describe() == (
        'status: expected "accepted", got "rejected"'
    )
    assert "[rejected: no userId or anonymousId]" in verdict.message
    assert not evaluate(expect(status="rejected", times=0), [dropped]).passed
    assert evaluate(expect(status="any", fields={"event": "Signed Up"}), [dropped]).passed


def test_nearest_misses_rank_a_typo_above_a_different_event() -> None:
    records = [
        record(1, event="Product Viewed", properties={"revenue": 99.99}),
        record(2, event="Order Complted", properties={"revenue": 89.99}),
        record(3, "identify", userId="u"),
    ]
    verdict = evaluate(
        expect(type="track", fields={"event": "Order Completed", "properties": {"revenue": 99.99}}),
        records,
    )
    assert [miss.record["id"] for miss in verdict.nearest] == [2, 1, 3]
    assert verdict.message.splitlines()[1:5] == [
        "nearest misses:",
        "  #2 track 'Order Complted' at 2026-11-22T10:00:00.000Z",
        '      event: expected "Order Completed", got "Order Complted"',
        "      properties.revenue: expected 99.99, got 89.99",
    ]


def test_a_query_expectation_explains_which_terms_missed() -> None:
    records = [record(1, event="Order Completed", properties={"revenue": 20})]
    verdict = evaluate(expect(where='event:"Order Completed" properties.revenue>50'), records)
    assert not verdict.passed
    assert [d.describe() for d in verdict.nearest[0].differences] == [
        "where properties.revenue>50: no match, got 20"
    ]


def test_nothing_received_says_so() -> None:
    verdict = evaluate(expect(type="track", fields={"event": "A"}), [])
    assert "no events were received at all" in verdict.message
    assert evaluate(expect(times=0), []).passed


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ([], "must be a JSON object"),
        ({"typo": 1}, "unknown field(s) in the expectation: typo"),
        ({"type": "click"}, "type must be one of"),
        ({"where": "a >"}, "where: "),
        ({"fields": {"a..b": 1}}, "is not a dotted path"),
        ({"fields": {"a": {"$reg": "x"}}}, "unknown matcher '$reg'"),
        ({"fields": {"a": {"$regex": "("}}}, "bad $regex"),
        ({"fields": {"a": {"$approx": "x"}}}, "must be numbers"),
        ({"times": -1}, "times must be a whole number"),
        ({"atLeast": True}, "atLeast must be a whole number"),
        ({"status": "lost"}, "status must be one of"),
    ],
)
def test_a_bad_expectation_says_what_is_wrong(data: Any, problem: str) -> None:
    with pytest.raises(ExpectationError, match=None) as caught:
        Expectation.from_json(data)
    assert problem in str(caught.value)


# Fields as judging sees them: nested objects, lists, numbers of both kinds, booleans, nulls,
# matchers, and paths that reach into lists or miss.
_FIELDS_TRIED: list[dict[str, Any]] = [
    {"event": "Order Completed"},
    {"event": "Order Complted"},
    {"properties": {"revenue": 99.99}},
    {"properties": {"revenue": 100}},
    {"properties": {"revenue": {"$approx": 100, "rel": 0.01}}},
    {"properties": {"coupon": None}},
    {"properties": {"coupon": {"$absent": True}}},
    {"properties": {"missing": {"$absent": True}}},
    {"properties": {"missing": None}},
    {"properties": {"items": [{"sku": "a"}]}},
    {"properties": {"items": [{"sku": {"$anyString": True}}]}},
    {"properties": {"items": [{"sku": "a"}, {"sku": "b"}]}},
    {"properties": {"items": {"sku": "a"}}},
    {"properties.items.0.sku": "a"},
    {"properties.items.1.sku": "a"},
    {"properties.items.x": "a"},
    {"properties": {"flag": True}},
    {"properties": {"flag": 1}},
    {"properties": {"count": 2}},
    {"properties": {"count": 2.0}},
    {"userId": {"$regex": "^u_"}},
    {"userId": {"$regex": "^v_"}},
    {"userId": {"$any": True}, "anonymousId": {"$any": True}},
    {"context": {"library": {"name": "x"}}},
    {"properties": {}},
    {},
]
_EVENTS_TRIED: list[dict[str, Any]] = [
    {
        "event": "Order Completed",
        "userId": "u_1",
        "properties": {"revenue": 99.99, "items": [{"sku": "a"}], "coupon": None},
    },
    {"event": "Order Completed", "userId": "v_1", "properties": {"revenue": 100.0, "extra": 1}},
    {"event": "Order Completed", "properties": {"flag": True, "count": 2}},
    {"event": "Order Completed", "properties": {"flag": 1, "count": 2.0, "items": "a"}},
    {"event": "Order Completed", "properties": [1, 2], "context": {"library": {"name": "x"}}},
    {"event": "Order Completed", "properties": {"items": [{"sku": "a"}, {"sku": "b"}]}},
    {"event": ["Order Completed"], "anonymousId": "a", "properties": None},
]


@pytest.mark.parametrize("exact", [False, True])
@pytest.mark.parametrize("fields", _FIELDS_TRIED)
def test_matches_agrees_with_differences(fields: dict[str, Any], exact: bool) -> None:
    """`matches` is compiled once per expectation and never builds a Difference; it must say
    exactly what "no differences" says, for every shape of field and value."""
    expectation = expect(fields=fields, exact=exact)
    for number, event in enumerate(_EVENTS_TRIED, 1):
        tried = record(number, **event)
        assert expectation.matches(tried) is (not expectation.differences(tried)), (
            fields,
            event,
        )


def test_a_verdict_shows_near_misses_only_when_too_few_matched() -> None:
    """Misses are weighed in the same pass as matches (newest first), until enough matched: a
    miss newer than the match is weighed, and must not show in a verdict that passed, nor in
    one that failed for matching too often."""
    newest_miss = record(3, event="Order Complted")
    older_match = record(2, event="Order Completed")
    oldest_match = record(1, event="Order Completed")
    wanted = {"type": "track", "fields": {"event": "Order Completed"}}
    passed = evaluate(expect(**wanted), [newest_miss, older_match])
    assert passed.passed
    assert passed.nearest == []
    too_many = evaluate(expect(**wanted, times=1), [newest_miss, older_match, oldest_match])
    assert not too_many.passed
    assert too_many.nearest == []
    too_few = evaluate(expect(**wanted, times=2), [newest_miss, older_match])
    assert not too_few.passed
    assert [miss.record["id"] for miss in too_few.nearest] == [3]
