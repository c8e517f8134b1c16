"""Every violation type, each with a call that breaks the plan and a near call that does not.
The types follow what Segment's violations view reports (DOCS protocols/validate/
review-violations.md): missing required properties, invalid types, values that fail permitted
values; plus unplanned events and properties (DOCS protocols/enforce/schema-configuration.md)
and common JSON schema violations (DOCS protocols/tracking-plan/create.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from segemu.emulator import Emulator
from tests.protocols.helpers import emulator_with, kinds, send, track, write_plan

PLAN = {
    "name": "Shop",
    "track": {
        "Order Completed": {
            "properties": {
                "order_id": {"type": "string", "required": True},
                "revenue": "number",
                "currency": ["USD", "EUR"],
                "coupon": {"type": "string", "pattern": "^[A-Z0-9_]+$"},
                "placed_at": "date-time",
                "quantity": {"type": "integer", "minimum": 1},
                "products": {
                    "type": "array",
                    "items": {"sku": {"type": "string", "required": True}},
                },
            },
            "context": {"device": {"type": "object", "required": True}},
        },
        "Cart Viewed": {"properties": {"cart_id": "string"}, "additional_properties": False},
    },
    "identify": {"traits": {"email": {"type": "string", "format": "email"}}},
    "page": {"Home": {"properties": {"path": {"type": "string", "required": True}}}},
    "common": {"context": {"properties": {"library": {"type": "object", "required": True}}}},
}
GOOD: dict[str, Any] = {
    "order_id": "o-1",
    "revenue": 9.5,
    "currency": "USD",
    "coupon": "MAY_1",
    "placed_at": "2026-01-01T10:00:00Z",
    "quantity": 2,
    "products": [{"sku": "s-1"}],
}
DEVICE = {"device": {"id": "d-1"}}


@pytest.fixture
def emulator(tmp_path: Path) -> Emulator:
    return emulator_with(write_plan(tmp_path, PLAN))


def order(**changes: Any) -> dict[str, Any]:
    properties = {**GOOD, **changes}
    call = track("Order Completed", **{k: v for k, v in properties.items() if v is not None})
    call["context"] = {"library": {"name": "analytics-python"}, **DEVICE}
    return call


def test_a_call_that_follows_the_plan_has_no_violations(emulator: Emulator) -> None:
    [record] = send(emulator, order())
    assert record["violations"] == []
    assert record["protocols"]["trackingPlan"] == "Shop"


def test_unplanned_event_names_the_plan_and_the_planned_name_in_another_casing(
    emulator: Emulator,
) -> None:
    [typo, planned] = send(emulator, track("order completed"), order())
    [violation] = typo["violations"]
    assert (violation["type"], violation["path"]) == ("unplanned_event", "event")
    assert violation["message"] == (
        "'order completed' is not in the tracking plan 'Shop' "
        "(did you mean 'Order Completed'? Names are case-sensitive)"
    )
    assert planned["violations"] == []


def test_required_property_missing(emulator: Emulator) -> None:
    [missing, present] = send(emulator, order(order_id=None), order(order_id=""))
    assert kinds(missing) == [("required", "properties.order_id")]
    assert missing["violations"][0]["message"] == "properties.order_id is required"
    assert missing["violations"][0]["rule"] == "TRACK 'Order Completed' v1"
    assert present["violations"] == []  # an empty string is present


def test_wrong_type_says_what_was_wanted_and_what_came(emulator: Emulator) -> None:
    [wrong, right] = send(emulator, order(revenue="9.50"), order(revenue=9))
    assert kinds(wrong) == [("type", "properties.revenue")]
    assert wrong["violations"][0]["message"] == (
        'properties.revenue must be a number, got string "9.50"'
    )
    assert right["violations"] == []  # an integer is a number


def test_value_not_in_enum(emulator: Emulator) -> None:
    [wrong, right] = send(emulator, order(currency="usd"), order(currency="EUR"))
    assert kinds(wrong) == [("enum", "properties.currency")]
    assert wrong["violations"][0]["message"] == (
        'properties.currency must be one of "USD", "EUR"; got "usd"'
    )
    assert right["violations"] == []


def test_unplanned_property_and_additional_properties_false(emulator: Emulator) -> None:
    [extra, cart, cart_ok] = send(
        emulator,
        order(gift_wrap=True),
        track("Cart Viewed", cart_id="c-1", items=3),
        track("Cart Viewed", cart_id="c-1"),
    )
    assert kinds(extra) == [("additional_property", "properties.gift_wrap")]
    assert "(an unplanned property)" in extra["violations"][0]["message"]
    # With `additional_properties: false` the plan's own JSON schema refuses it, once.
    assert kinds(cart) == [("additional_property", "properties.items")]
    assert cart["violations"][0]["keyword"] == "additionalProperties"
    assert cart_ok["violations"] == []


def test_pattern_format_and_other_constraints(emulator: Emulator) -> None:
    [pattern, date, minimum] = send(
        emulator, order(coupon="may 1"), order(placed_at="2026-01-01 10:00"), order(quantity=0)
    )
    assert kinds(pattern) == [("pattern", "properties.coupon")]
    assert kinds(date) == [("format", "properties.placed_at")]
    assert date["violations"][0]["message"] == (
        'properties.placed_at must be a valid date-time; got "2026-01-01 10:00"'
    )
    assert kinds(minimum) == [("constraint", "properties.quantity")]
    assert minimum["violations"][0]["keyword"] == "minimum"


def test_nested_paths_point_into_lists(emulator: Emulator) -> None:
    [record] = send(emulator, order(products=[{"sku": "s-1"}, {"name": "no sku"}]))
    assert kinds(record) == [("required", "properties.products.1.sku")]


def test_context_violation_of_an_event_rule(emulator: Emulator) -> None:
    without_device = order()
    without_device["context"] = {"library": {"name": "analytics-python"}}
    [record, near] = send(emulator, without_device, order())
    assert kinds(record) == [("context", "context.device")]
    assert near["violations"] == []


def test_common_rule_applies_to_every_call(emulator: Emulator) -> None:
    bare = {
        "type": "identify",
        "userId": "u_1",
        "traits": {"email": "ada@example.com"},
        # Not an object: a call that names no library gets Segment's {"name": "unknown"}.
        "context": {"ip": "127.0.0.1", "library": "x"},
    }
    [record, near] = send(emulator, bare, {**bare, "context": {"library": {"name": "x"}}})
    assert kinds(record) == [("common", "context.library")]
    assert record["violations"][0]["rule"] == "COMMON"
    assert near["violations"] == []


def test_identify_traits_and_page_rules(emulator: Emulator) -> None:
    [trait, unplanned, home, about] = send(
        emulator,
        {"type": "identify", "traits": {"email": "not an email"}},
        {"type": "identify", "traits": {"email": "ada@example.com", "nickname": "ada"}},
        {"type": "page", "name": "Home", "properties": {}},
        {"type": "page", "name": "About", "properties": {}},
    )
    assert kinds(trait) == [("format", "traits.email")]
    assert kinds(unplanned) == [("additional_property", "traits.nickname")]
    assert "(an unplanned trait)" in unplanned["violations"][0]["message"]
    assert kinds(home) == [("required", "properties.path")]
    # No rule for that page, and Segment has no "unplanned page": nothing to report.
    assert about["violations"] == []


def test_rejected_calls_and_duplicates_are_not_validated(emulator: Emulator) -> None:
    [rejected] = send(emulator, {"type": "track", "userId": "u_1"})
    assert rejected["status"] == "rejected"
    assert "violations" not in rejected
    first, again = send(
        emulator,
        {**order(revenue="x"), "messageId": "m-1"},
        {**order(revenue="x"), "messageId": "m-1"},
    )
    assert kinds(first) == [("type", "properties.revenue")]
    assert again["status"] == "duplicate"
    assert "violations" not in again


def test_without_a_plan_every_call_has_empty_violations_but_is_still_linted() -> None:
    emulator = emulator_with()
    [record] = send(emulator, track("Viewed Product 12345"))
    assert record["violations"] == []
    assert record["protocols"] == {
        "blocked": None,
        "omitted": [],
        "omittedOnViolation": [],
        "trackingPlan": None,
    }
    assert "dynamic-event-name" in [f["rule"] for f in record["lint"]]
