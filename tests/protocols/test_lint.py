"""Every lint rule, each with a call that should fire it and a near call that should not; the
rules' switches in [lint]; bounded state that a reset clears."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import pytest

from segemu.config import ConfigError
from segemu.emulator import Emulator, create_emulator
from segemu.protocols.lint import RULES
from segemu.protocols.lint.base import Bounded
from segemu.protocols.lint.naming import casing
from segemu.protocols.violations import LintFinding
from tests.protocols.helpers import rules, send, spec_calls, track


def linted(
    *calls: dict[str, Any], lint: dict[str, Any] | None = None, emulator: Emulator | None = None
) -> list[list[str]]:
    emulator = emulator or create_emulator(db=":memory:", lint=lint or {})
    return [rules(record) for record in send(emulator, *calls)]


def messages(call: dict[str, Any], rule: str, **lint: Any) -> list[str]:
    emulator = create_emulator(db=":memory:", lint=lint)
    [record] = send(emulator, call)
    return [f["message"] for f in record["lint"] if f["rule"] == rule]


@pytest.mark.parametrize(
    ("fires", "near"),
    [
        ("Viewed Product 12345", "Checkout Step 2 Viewed"),
        ("Invite ada@example.com Sent", "Invite Sent"),
        ("Page https://shop.example/cart Viewed", "Cart Viewed"),
        ("Order 3fa85f64-5717-4562-b3fc-2c963f66afa6 Completed", "Order Completed"),
        ("User Signed Up (11-01-2019)", "User Signed Up"),
    ],
)
def test_dynamic_event_name(fires: str, near: str) -> None:
    assert linted(track(fires), track(near), lint={"object-action": False}) == [
        ["dynamic-event-name"],
        [],
    ]


def test_dynamic_event_name_message_says_what_is_inside() -> None:
    [message] = messages(track("Viewed Product 12345"), "dynamic-event-name")
    assert message.startswith("event 'Viewed Product 12345' contains a number or id ('12345')")


def test_dynamic_page_names_too() -> None:
    page = {"type": "page", "name": "Order 1234567", "properties": {}}
    assert "dynamic-event-name" in linted(page)[0]
    assert "dynamic-event-name" not in linted({**page, "name": "Order Status"})[0]


def test_inconsistent_casing_across_event_names() -> None:
    found = linted(
        track("Order Completed"),
        track("Product Viewed"),
        track("cart_viewed"),
        track("Cart Shared"),
    )
    assert [("event-name-casing" in r) for r in found] == [False, False, True, False]
    assert _casing_messages() == [
        "'cart_viewed' is snake_case while 2 other event name(s) of this source are Title Case "
        "(e.g. 'Order Completed'): pick one casing for every event"
    ]


def _casing_messages() -> list[str]:
    emulator = create_emulator(db=":memory:")
    records = send(
        emulator, track("Order Completed"), track("Product Viewed"), track("cart_viewed")
    )
    return [f["message"] for f in records[-1]["lint"] if f["rule"] == "event-name-casing"]


def test_the_same_event_in_another_casing() -> None:
    emulator = create_emulator(db=":memory:")
    [_, twin, again] = send(
        emulator, track("Order Completed"), track("order completed"), track("Order Completed")
    )
    assert [f["message"] for f in twin["lint"] if f["rule"] == "event-name-casing"] == [
        "'order completed' is the event 'Order Completed' in another casing: destinations "
        "will count them as two different events"
    ]
    assert "event-name-casing" not in rules(again)


def test_casing_is_judged_per_source() -> None:
    emulator = create_emulator(db=":memory:")
    send(emulator, track("Order Completed"), write_key="web")
    [other] = send(emulator, track("order_completed"), write_key="ios")
    assert "event-name-casing" not in rules(other)


@pytest.mark.parametrize(
    ("name", "style"),
    [
        ("Order Completed", "Title Case"),
        ("Product Added to Wishlist", "Title Case"),
        ("order completed", "lower case"),
        ("Order completed", "Sentence case"),
        ("order_completed", "snake_case"),
        ("orderCompleted", "camelCase"),
        ("OrderCompleted", "PascalCase"),
        ("order-completed", "kebab-case"),
        ("Purchase", None),
    ],
)
def test_casing_styles(name: str, style: str | None) -> None:
    assert casing(name) == style


@pytest.mark.parametrize(
    ("fires", "near"),
    [
        ("Clicked Button", "Button Clicked"),
        ("Purchase", "Purchase Completed"),
        ("Add To Cart", "Product Added to Cart"),
        ("View Feed", "Feed Viewed"),
    ],
)
def test_object_action(fires: str, near: str) -> None:
    assert linted(track(fires), track(near)) == [["object-action"], []]


def test_object_action_suggests_the_object_first() -> None:
    [message] = messages(track("Clicked Button"), "object-action")
    assert message == (
        "'Clicked Button' puts the action first: name events Object Action (e.g. 'Button Clicked')"
    )


def test_segment_spec_events_are_never_flagged_by_naming_rules() -> None:
    emulator = create_emulator(db=":memory:")
    assert all(record["lint"] == [] for record in send(emulator, *spec_calls()))


def test_conversion_without_prior_identify() -> None:
    anonymous = {"anonymousId": "a_1"}
    assert linted({**track("Order Completed"), **anonymous}) == [["conversion-without-identify"]]
    identify = {"type": "identify", "userId": "u_1", "anonymousId": "a_1", "traits": {}}
    assert linted(identify, {**track("Order Completed"), **anonymous}) == [[], []]
    # A conversion that carries the userId is attributed already.
    assert linted({**track("Order Completed"), "userId": "u_1", "anonymousId": "a_2"}) == [[]]
    # Only conversions: any other event from an unknown visitor is fine.
    assert linted({**track("Product Viewed"), **anonymous}) == [[]]


def test_conversion_events_come_from_config() -> None:
    call = {**track("Subscription Started"), "anonymousId": "a_1"}
    assert linted(call) == [[]]
    assert linted(call, lint={"conversion_events": ["Subscription Started"]}) == [
        ["conversion-without-identify"]
    ]


def test_identity_conflict_is_a_logout_without_reset() -> None:
    first = {"type": "identify", "userId": "u_1", "anonymousId": "a_1", "traits": {}}
    found = linted(
        first,
        {**first, "userId": "u_1"},
        {**first, "userId": "u_2"},
        {**track("Order Completed"), "userId": "u_2", "anonymousId": "a_1"},
    )
    assert found == [[], [], ["identity-conflict"], []]
    [message] = [finding["message"] for finding in _conflict()]
    assert message.startswith("anonymousId 'a_1' was 'u_1' and is now 'u_2'")


def _conflict() -> list[LintFinding]:
    emulator = create_emulator(db=":memory:")
    first = {"type": "identify", "userId": "u_1", "anonymousId": "a_1", "traits": {}}
    records = send(emulator, first, {**first, "userId": "u_2"})
    return [f for f in records[-1]["lint"] if f["rule"] == "identity-conflict"]


def test_a_new_anonymous_id_after_reset_is_no_conflict() -> None:
    first = {"type": "identify", "userId": "u_1", "anonymousId": "a_1", "traits": {}}
    assert linted(first, {**first, "userId": "u_2", "anonymousId": "a_2"}) == [[], []]


def test_timestamps_without_timezone() -> None:
    naive = {**track("Order Completed"), "timestamp": "2026-01-01T10:00:00"}
    zoned = {**track("Order Completed"), "timestamp": "2026-01-01T10:00:00+02:00"}
    assert linted(naive, zoned) == [["timestamp-without-timezone"], []]
    traits = {
        "type": "identify",
        "traits": {
            "created_at": "2026-01-01 10:00:00.123",
            "birthday": "1990-05-01",
            "updated_at": "2026-01-01T10:00:00.000Z",
        },
    }
    [message] = messages(traits, "timestamp-without-timezone")
    assert message.startswith(
        "traits.created_at '2026-01-01 10:00:00.123' looks like a date and time with no timezone"
    )


def test_calls_near_the_32_kb_limit() -> None:
    big = track("Order Completed", notes="x" * 26_000, order_id="o-1")
    small = track("Order Completed", notes="x" * 20_000)
    assert linted(big, small) == [["payload-size"], []]
    [message] = messages(big, "payload-size")
    assert "near Segment's limit of 32 KB per event" in message
    assert "the largest part is properties.notes (25.4 KB)" in message


def test_pii_in_properties_that_go_to_every_destination() -> None:
    email = track("Invite Accepted", contact="ada@example.com")
    phone = track("Invite Accepted", contact="+1 415-555-0123")
    no_warehouse = {**email, "integrations": {"Mixpanel": True, "All": False, "Warehouses": False}}
    not_pii = track("Invite Accepted", contact="ada at example", order_id="12345678")
    traits = {"type": "identify", "traits": {"email": "ada@example.com"}}
    assert linted(email, phone, no_warehouse, not_pii, traits) == [
        ["pii-in-properties"],
        ["pii-in-properties"],
        [],
        [],
        [],
    ]
    [message] = messages(email, "pii-in-properties")
    assert message.startswith("properties.contact looks like an email address")


@pytest.mark.parametrize(
    ("integrations", "found"),
    [
        ({"All": False, "Mixpanel": True}, True),
        ({"All": False, "Warehouses": True}, True),
        ({"All": False, "Warehouses": {"all": True}}, True),
        ({"All": False, "Warehouses": {"warehouseIds": ["wh_1"]}}, True),
        ({"All": False, "Warehouses": {"warehouseIds": []}}, False),
        ({"All": False, "Warehouses": {"all": False}}, False),
        ({"All": False, "Warehouses": False}, False),
    ],
)
def test_all_false_still_sends_pii_to_the_warehouses(
    integrations: dict[str, Any], found: bool
) -> None:
    # `All: false` turns off "all downstream destinations, except data warehouses" (DOCS
    # guides/filtering-data.md); only the `Warehouses` key turns those off.
    call = {**track("Invite Accepted", contact="ada@example.com"), "integrations": integrations}
    assert linted(call) == [["pii-in-properties"] if found else []]
    if found:
        [message] = messages(call, "pii-in-properties")
        assert message == (
            "properties.contact looks like an email address, and this call still goes to the "
            "data warehouses (All: false turns off every destination except warehouses): keep "
            'personal data in identify traits, or add "Warehouses": {"all": false} to the '
            "integrations object"
        )


def test_pii_in_nested_properties() -> None:
    nested = track("Invite Accepted", invitee={"emails": ["ada@example.com"]})
    assert linted(nested) == [["pii-in-properties"]]


def test_events_before_consent_only_where_consent_is_required() -> None:
    consented = {
        **track("Order Completed"),
        "context": {"consent": {"categoryPreferences": {"Analytics": True}}},
    }
    plain = track("Order Completed")
    assert linted(plain) == [[]]  # off by default
    assert linted(plain, consented, lint={"event-before-consent": True}) == [
        ["event-before-consent"],
        [],
    ]


def test_spec_property_names() -> None:
    off = track("Order Completed", orderId="o-1", Revenue=10, products=[{"productId": "p"}])
    on = track(
        "Order Completed",
        order_id="o-1",
        revenue=10,
        products=[{"product_id": "p"}],
        gift_wrap=True,
    )
    emulator = create_emulator(db=":memory:")
    [record, near] = send(emulator, off, on)
    assert [(f["path"], f["message"]) for f in record["lint"]] == [
        (
            "properties.orderId",
            "properties.orderId: Segment's spec spells it 'order_id' (in "
            "'Order Completed' (connections/spec/ecommerce/v2.md)); destinations map "
            "'order_id', so 'orderId' may not arrive where you expect",
        ),
        (
            "properties.Revenue",
            "properties.Revenue: Segment's spec spells it 'revenue' (in "
            "'Order Completed' (connections/spec/ecommerce/v2.md)); destinations map "
            "'revenue', so 'Revenue' may not arrive where you expect",
        ),
        (
            "properties.products.0.productId",
            "properties.products.0.productId: Segment's spec "
            "spells it 'product_id' (in 'Order Completed' (connections/spec/ecommerce/v2.md)); "
            "destinations map 'product_id', so 'productId' may not arrive where you expect",
        ),
    ]
    assert near["lint"] == []


def test_spec_names_of_reserved_traits_and_track_properties() -> None:
    identify = {"type": "identify", "traits": {"first_name": "Ada", "email": "a@b.co"}}
    custom = track("Lesson Finished", Revenue=3)
    assert linted(identify, custom) == [["spec-property-names"], ["spec-property-names"]]
    assert linted({**identify, "traits": {"firstName": "Ada"}}) == [[]]


def test_every_rule_has_an_id_a_doc_and_a_switch() -> None:
    ids = [rule.id for rule in RULES]
    assert len(set(ids)) == len(ids) == 10
    assert all(rule.doc.endswith((".", ")")) and len(rule.doc) < 100 for rule in RULES)
    everything_off = dict.fromkeys(ids, False)
    assert linted(track("Viewed Product 12345"), lint=everything_off) == [[]]


def test_lint_config_mistakes_are_named() -> None:
    with pytest.raises(ConfigError) as error:
        create_emulator(db=":memory:", lint={"dynamic-event-names": False})
    assert (
        "settings: [lint]: unknown lint rule 'dynamic-event-names' (did you mean "
        "'dynamic-event-name'?)"
    ) in str(error.value)
    with pytest.raises(ConfigError) as error:
        create_emulator(db=":memory:", lint={"payload-size": "off"})
    assert "settings: [lint]: 'payload-size' must be true or false, got 'off'" in str(error.value)


def test_reset_forgets_what_stateful_rules_learnt() -> None:
    emulator = create_emulator(db=":memory:")
    identify = {"type": "identify", "userId": "u_1", "anonymousId": "a_1", "traits": {}}
    send(emulator, identify, track("Order Completed"), write_key="k1")
    send(emulator, identify, write_key="k2")
    emulator.reset("k1")
    [after_reset] = send(emulator, {**identify, "userId": "u_2"}, write_key="k1")
    assert "identity-conflict" not in rules(after_reset)
    [other_key] = send(emulator, {**identify, "userId": "u_2"}, write_key="k2")
    assert "identity-conflict" in rules(other_key)
    emulator.reset()
    [fresh] = send(emulator, {**identify, "userId": "u_3"}, write_key="k2")
    assert "identity-conflict" not in rules(fresh)


def test_state_is_bounded() -> None:
    state: Bounded[int] = Bounded(kept=3)
    for n in range(5):
        state.set(("k", n), n)
    assert len(state) == 3
    assert state.get(("k", 0)) is None
    assert state.get(("k", 4)) == 4


def test_a_repeated_name_is_judged_once_and_reported_on_every_call() -> None:
    # Name rules run once per write key, type and name; every later call of that name still
    # carries the findings, as its own objects.
    emulator = create_emulator(db=":memory:")
    records = send(
        emulator,
        track("Viewed Product 12345"),
        track("Viewed Product 12345"),
        {"type": "page", "name": "Viewed Product 12345", "properties": {}},
    )
    assert [rules(r) for r in records] == [
        ["dynamic-event-name", "object-action"],
        ["dynamic-event-name", "object-action"],
        ["dynamic-event-name"],
    ]
    first, second = records[0]["lint"], records[1]["lint"]
    assert first == second
    assert first[0] is not second[0]


def test_reset_forgets_the_casing_a_source_used() -> None:
    emulator = create_emulator(db=":memory:")
    send(emulator, track("Order Completed"), track("Product Viewed"), write_key="k1")
    [before] = send(emulator, track("cart_viewed"), write_key="k1")
    assert "event-name-casing" in rules(before)
    emulator.reset("k1")
    # After the reset, snake_case is the source's first style, and no longer the odd one out.
    [after] = send(emulator, track("cart_viewed"), write_key="k1")
    assert "event-name-casing" not in rules(after)


def test_rules_are_listed_in_the_order_the_linter_runs_them() -> None:
    # The linter gives the name rules' findings, then those of the rules that need an
    # anonymousId, the rest, and the shape rules' last: findings keep the order of RULES only
    # while RULES groups them so.
    groups = [
        0 if rule.by_name else 1 if rule.by_anonymous_id else 3 if rule.by_shape else 2
        for rule in RULES
    ]
    assert groups == sorted(groups)


def test_a_shape_judged_once_still_reads_each_calls_nested_objects() -> None:
    # spec-property-names keeps its verdict on an event's keys, but the products of each call
    # differ: the second call's misspelled product key is found, the first's clean ones not.
    emulator = create_emulator(db=":memory:")
    clean = track("Order Completed", order_id="o-1", products=[{"product_id": "p"}])
    misspelled = track("Order Completed", order_id="o-2", products=[{"productId": "p"}])
    records = send(emulator, clean, misspelled, clean)
    assert [[f["path"] for f in r["lint"]] for r in records] == [
        [],
        ["properties.products.0.productId"],
        [],
    ]


def test_a_shape_judged_once_is_reported_on_every_call_with_findings_of_its_own() -> None:
    emulator = create_emulator(db=":memory:")
    call = track("Order Completed", orderId="o-1")
    records = send(emulator, call, call, {**call, "properties": {"order_id": "o-2"}})
    assert [[f["path"] for f in r["lint"]] for r in records] == [
        ["properties.orderId"],
        ["properties.orderId"],
        [],
    ]
    assert records[0]["lint"] == records[1]["lint"]
    assert records[0]["lint"][0] is not records[1]["lint"][0]


def test_traits_in_a_dict_subclass_are_judged_by_their_own_keys() -> None:
    # In process, traits may come as any mapping of dict's kind: each call's keys count.
    emulator = create_emulator(db=":memory:")
    misspelled = {"type": "identify", "traits": OrderedDict(first_name="Ada")}
    spelled = {"type": "identify", "traits": OrderedDict(firstName="Ada")}
    assert linted(misspelled, spelled, misspelled, emulator=emulator) == [
        ["spec-property-names"],
        [],
        ["spec-property-names"],
    ]


def test_rules_skipped_for_a_call_type_or_without_an_anonymous_id_keep_the_order() -> None:
    # A page call skips the track-only rules and a call without anonymousId the identity
    # rules; what remains comes in the order of RULES, each finding its record's own object.
    emulator = create_emulator(db=":memory:")
    page = {
        "type": "page",
        "name": "Order 1234567",
        "timestamp": "2026-11-22T04:21:28",
        "properties": {"email": "ada@example.com"},
    }
    records = send(emulator, page, page)
    assert [rules(r) for r in records] == [
        ["dynamic-event-name", "timestamp-without-timezone", "pii-in-properties"]
    ] * 2
    assert records[0]["lint"][0] is not records[1]["lint"][0]
