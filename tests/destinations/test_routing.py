"""The routing matrix: for each event and destination, Segment's decision and its reason.

Sources of each rule are cited in segemu/destinations/routing.py: spec/common.md §Integrations,
privacy/consent-management/consent-in-segment-connections.md, destinations/destination-filters.md,
protocols/enforce/schema-configuration.md.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from segemu.emulator import Emulator, create_emulator
from segemu.message import Envelope
from segemu.query import EventFilter, parse_query

RECORDER: dict[str, Any] = {
    "name": "Recorder",
    "actions": [
        {
            "name": "Send",
            "subscribe": 'type = "track" or type = "identify"',
            "mapping": {
                "event": {"@path": "$.event"},
                "properties": {"@path": "$.properties"},
                "traits": {"@path": "$.traits"},
                "user": {"@path": "$.userId"},
            },
        }
    ],
}


def recorder(**extra: Any) -> dict[str, Any]:
    return {**RECORDER, **extra}


def emulator_with(destinations: dict[str, Any], **settings: Any) -> Emulator:
    return create_emulator(db=":memory:", destinations=destinations, **settings)


def send(emulator: Emulator, **call: Any) -> dict[str, Any]:
    item = {"type": "track", "event": "Order Completed", "userId": "u1", "writeKey": "wk", **call}
    [record] = emulator.ingest(
        Envelope(route="/v1/track", items=[item], received_at=datetime.now(UTC))
    )
    return emulator.deliveries_of(record)


def decisions(deliveries: dict[str, Any]) -> dict[str, tuple[str, str | None]]:
    return {key: (d["status"], d["reason"]) for key, d in deliveries.items()}


def test_a_routed_event_records_the_mapped_request() -> None:
    emulator = emulator_with({"rec": RECORDER})
    delivery = send(emulator, properties={"revenue": 9.5})["rec"]
    assert delivery["status"] == "delivered"
    assert delivery["reason"] is None
    [request] = delivery["requests"]
    assert request["action"] == "Send"
    assert request["body"] == {
        "event": "Order Completed",
        "properties": {"revenue": 9.5},
        "user": "u1",
    }


# -- integrations object (spec/common.md §Integrations) -------------------------------------


@pytest.mark.parametrize(
    ("integrations", "a", "b"),
    [
        ({}, "delivered", "delivered"),
        ({"All": False}, "filtered", "filtered"),
        ({"All": False, "Alpha": True}, "delivered", "filtered"),
        ({"All": False, "Alpha": {"option": 1}}, "delivered", "filtered"),
        ({"Alpha": False}, "filtered", "delivered"),
        ({"All": True, "Beta": False}, "delivered", "filtered"),
        ({"All": False, "alpha": True}, "filtered", "filtered"),  # names are case-sensitive
    ],
)
def test_integrations_object(integrations: dict[str, Any], a: str, b: str) -> None:
    emulator = emulator_with({"a": recorder(name="Alpha"), "b": recorder(name="Beta")})
    deliveries = send(emulator, integrations=integrations)
    assert (deliveries["a"]["status"], deliveries["b"]["status"]) == (a, b)


def test_integrations_reasons_name_the_flag_and_a_case_near_miss() -> None:
    emulator = emulator_with({"a": recorder(name="Alpha")})
    assert (
        send(emulator, integrations={"Alpha": False})["a"]["reason"]
        == "filtered by integrations object ('Alpha': false)"
    )
    reason = send(emulator, integrations={"All": False, "alpha": True})["a"]["reason"]
    assert reason.startswith("filtered by integrations object (All: false)")
    assert "'alpha' does not match: names are case-sensitive" in reason
    assert "'Alpha'" in reason


def test_integrations_object_at_batch_level_applies_to_each_item() -> None:
    # DOCS http-api §Batch: top-level integrations are merged into each item.
    emulator = emulator_with({"a": recorder(name="Alpha")})
    envelope = Envelope(
        route="/v1/batch",
        received_at=datetime.now(UTC),
        write_key="wk",
        integrations={"All": False},
        items=[{"type": "track", "event": "E", "userId": "u"}],
    )
    [record] = emulator.ingest(envelope)
    assert emulator.deliveries_of(record)["a"]["status"] == "filtered"


# -- consent -------------------------------------------------------------------------------


def consent(**preferences: bool) -> dict[str, Any]:
    return {"consent": {"categoryPreferences": preferences}}


@pytest.mark.parametrize(
    ("context", "status", "reason"),
    [
        ({}, "delivered", None),  # no consent object: consent is not enforced
        ({"consent": {}}, "delivered", None),  # an empty consent object neither
        # An empty categoryPreferences: "consent is considered to be false for all categories"
        # (consent-in-segment-connections.md §Reconcile consent object and integrations object).
        (consent(), "filtered", "consent: Advertising, Analytics denied"),
        (consent(Advertising=True, Analytics=True), "delivered", None),
        (consent(Advertising=False, Analytics=True), "filtered", "consent: Advertising denied"),
        (consent(Analytics=True), "filtered", "consent: Advertising denied"),  # not mentioned
        (
            consent(Advertising=False, Analytics=False),
            "filtered",
            "consent: Advertising, Analytics denied",
        ),
    ],
)
def test_consent_needs_every_category_of_the_destination(
    context: dict[str, Any], status: str, reason: str | None
) -> None:
    emulator = emulator_with(
        {
            "ads": recorder(consent_categories=["Advertising", "Analytics"]),
            "free": RECORDER,  # mapped to no category: receives everything
        }
    )
    deliveries = send(emulator, context=context)
    assert (deliveries["ads"]["status"], deliveries["ads"]["reason"]) == (status, reason)
    assert deliveries["free"]["status"] == "delivered"


def test_consent_is_checked_before_the_integrations_object() -> None:
    emulator = emulator_with({"ads": recorder(name="Ads", consent_categories=["Advertising"])})
    deliveries = send(
        emulator, context=consent(Advertising=False), integrations={"All": False, "Ads": True}
    )
    assert deliveries["ads"]["reason"] == "consent: Advertising denied"


# -- destination filters (destinations/destination-filters.md) -------------------------------


def test_drop_filter_only_drops_matching_events() -> None:
    emulator = emulator_with(
        {
            "rec": recorder(
                filters=[
                    {"name": "drop internal events", "if": 'event = "Internal Test"', "drop": True}
                ]
            )
        }
    )
    assert decisions(send(emulator, event="Internal Test"))["rec"] == (
        "filtered",
        "filter 'drop internal events' (drop event)",
    )
    assert send(emulator, event="Order Completed")["rec"]["status"] == "delivered"


def test_only_send_filter_drops_the_others() -> None:
    emulator = emulator_with(
        {
            "rec": recorder(
                filters=[{"name": "orders only", "if": 'event = "Order Completed"', "only": True}]
            )
        }
    )
    assert send(emulator)["rec"]["status"] == "delivered"
    assert decisions(send(emulator, event="Page Scrolled"))["rec"] == (
        "filtered",
        "filter 'orders only' (only send matching events)",
    )


def test_property_filters_change_only_that_destinations_payload() -> None:
    emulator = emulator_with(
        {
            "no_pii": recorder(filters=[{"name": "no email", "drop_properties": ["email"]}]),
            "slim": recorder(filters=[{"name": "revenue only", "allow_properties": ["revenue"]}]),
            "all": RECORDER,
        }
    )
    deliveries = send(emulator, properties={"email": "a@b.c", "revenue": 5, "plan": "pro"})
    assert deliveries["no_pii"]["requests"][0]["body"]["properties"] == {
        "revenue": 5,
        "plan": "pro",
    }
    assert deliveries["slim"]["requests"][0]["body"]["properties"] == {"revenue": 5}
    assert deliveries["all"]["requests"][0]["body"]["properties"] == {
        "email": "a@b.c",
        "revenue": 5,
        "plan": "pro",
    }


def test_trait_filters_apply_to_identify() -> None:
    emulator = emulator_with(
        {
            "rec": recorder(
                filters=[{"name": "no phone", "if": 'type = "identify"', "drop_traits": ["phone"]}]
            )
        }
    )
    deliveries = send(emulator, type="identify", event=None, traits={"phone": "1", "plan": "p"})
    assert deliveries["rec"]["requests"][0]["body"]["traits"] == {"plan": "p"}


TEN_PERCENT = {"name": "ten percent", "sample": {"percent": 0.1}}


def test_sampling_is_deterministic_per_message_and_near_the_percentage() -> None:
    emulator = emulator_with({"rec": recorder(filters=[TEN_PERCENT])})
    kept = [send(emulator, messageId=f"m{n}")["rec"]["status"] for n in range(400)]
    assert 20 <= kept.count("delivered") <= 60
    again = emulator_with({"rec": recorder(filters=[TEN_PERCENT])})
    assert [send(again, messageId=f"m{n}")["rec"]["status"] for n in range(400)] == kept
    dropped = kept.index("filtered")
    assert decisions(
        {
            "rec": send(
                emulator_with({"rec": recorder(filters=[TEN_PERCENT])}),
                messageId=f"m{dropped}",
            )["rec"]
        }
    ) == {"rec": ("filtered", "filter 'ten percent': sampled out (keeps 10%)")}


NONE_SAMPLED = {"name": "none", "sample": {"percent": 0}}


def test_sample_runs_before_drop_in_segments_order() -> None:
    emulator = emulator_with(
        {
            "rec": recorder(
                filters=[
                    {"name": "drop all", "drop": True},
                    NONE_SAMPLED,
                ]
            )
        }
    )
    assert send(emulator)["rec"]["reason"] == "filter 'none': sampled out (keeps 0%)"


# -- sources, schema controls, subscriptions -------------------------------------------------


def test_source_connections_and_blocked_events() -> None:
    emulator = emulator_with(
        {"a": RECORDER, "b": RECORDER},
        sources={
            "web": {"write_key": "wk", "destinations": ["a"], "block_events": ["Debug Clicked"]}
        },
    )
    assert decisions(send(emulator)) == {
        "a": ("delivered", None),
        "b": ("filtered", "not connected to source 'web'"),
    }
    assert (
        send(emulator, event="Debug Clicked")["a"]["reason"]
        == "event 'Debug Clicked' is blocked for source 'web' (Schema controls)"
    )


def test_disabled_destinations_and_unsubscribed_events() -> None:
    emulator = emulator_with({"off": recorder(enabled=False), "rec": RECORDER})
    deliveries = send(emulator, type="page", event=None, name="Home")
    assert decisions(deliveries) == {
        "off": ("filtered", "destination is disabled"),
        "rec": ("filtered", "no action is subscribed to this event"),
    }


def test_rejected_and_duplicate_calls_are_not_routed() -> None:
    emulator = emulator_with({"rec": RECORDER})
    assert send(emulator, userId=None) == {}  # no userId/anonymousId: Segment drops it
    assert send(emulator, messageId="same")["rec"]["status"] == "delivered"
    assert send(emulator, messageId="same") == {}


def test_a_tracking_plan_block_filters_every_destination() -> None:
    # The routing stage reads the tracking plan stage's verdict, written on the record before.
    emulator = emulator_with({"rec": RECORDER})
    [record] = emulator.ingest(
        Envelope(
            route="/v1/track",
            received_at=datetime.now(UTC),
            items=[{"type": "track", "event": "E", "userId": "u", "writeKey": "wk"}],
        )
    )
    blocked = {**record, "protocols": {"blocked": "unplanned event 'E'", "omitted": []}}
    source = emulator.sources.for_write_key("wk")
    assert source is not None
    routing = emulator.destinations.route(blocked, source)  # type: ignore[arg-type]
    assert routing["rec"] == {"status": "filtered", "reason": "tracking plan: unplanned event 'E'"}


def test_config_changed_at_runtime_applies_to_later_events_only() -> None:
    emulator = emulator_with({"rec": RECORDER})
    before = send(emulator)
    emulator.set_destination("rec", recorder(enabled=False))
    after = send(emulator)
    assert before["rec"]["status"] == "delivered"
    assert after["rec"]["status"] == "filtered"
    [old, _new] = emulator.events()[::-1]
    assert old["routing"]["rec"]["status"] == "delivered"


def test_all_false_keeps_the_warehouse_and_stops_the_rest() -> None:
    # guides/filtering-data.md: 'All': false blocks "all downstream destinations, except data
    # warehouses".
    emulator = emulator_with({"warehouse": {}, "rec": RECORDER})
    deliveries = send(emulator, integrations={"All": False})
    assert decisions(deliveries) == {
        "warehouse": ("delivered", None),
        "rec": ("filtered", "filtered by integrations object (All: false)"),
    }
    tracks = next(r for r in deliveries["warehouse"]["requests"] if r["action"] == "tracks")
    assert tracks["body"]["event_text"] == "Order Completed"


@pytest.mark.parametrize(
    ("integrations", "status"),
    [
        ({"Warehouses": {"all": False}}, "filtered"),
        ({"Warehouses": {"all": True}}, "delivered"),
        # All: false blocks all destinations "except data warehouses" (guides/filtering-data.md)
        ({"All": False}, "delivered"),
        ({"All": False, "Warehouses": True}, "delivered"),
    ],
)
def test_warehouses_take_the_options_object(integrations: dict[str, Any], status: str) -> None:
    # storage/warehouses/faq.md: warehouses are switched with the "Warehouses" key.
    emulator = emulator_with({"warehouse": {}})
    assert send(emulator, integrations=integrations)["warehouse"]["status"] == status


# -- each subscribed action on its own (action-destinations runs every subscribed action) -----

BROKEN = {
    "name": "Shout",
    "subscribe": 'type = "track"',
    # An operator @case does not know fails for every event with a name.
    "mapping": {"event": {"@case": {"operator": "title", "value": {"@path": "$.event"}}}},
}


def test_a_failing_action_does_not_stop_the_others_of_its_destination() -> None:
    emulator = emulator_with({"rec": recorder(actions=[*RECORDER["actions"], BROKEN])})
    delivery = send(emulator)["rec"]
    assert delivery["status"] == "delivered"
    assert [request["action"] for request in delivery["requests"]] == ["Send"]
    assert delivery["reason"] == (
        'mapping failed for \'Shout\': @case: operator must be "lower" or "upper"'
    )


def test_a_destination_whose_only_action_fails_has_failed() -> None:
    emulator = emulator_with({"rec": recorder(actions=[BROKEN])})
    assert decisions(send(emulator)) == {
        "rec": ("failed", 'mapping failed: @case: operator must be "lower" or "upper"')
    }


def test_calls_alike_share_one_routing_but_each_is_decided_on_what_it_says() -> None:
    # Routing is decided once for calls alike (same source, type, name, integrations and
    # consent) and shared; calls that differ in any of those are decided on their own.
    emulator = emulator_with({"rec": recorder(consent_categories=["Marketing"])})
    [first, second] = [
        emulator.ingest(
            Envelope(
                route="/v1/track",
                items=[{"type": "track", "event": "E", "userId": "u", "writeKey": "wk"}],
                received_at=datetime.now(UTC),
            )
        )[0]
        for _ in range(2)
    ]
    assert first["routing"] is second["routing"]
    assert send(emulator, integrations={"Recorder": False})["rec"]["status"] == "filtered"
    # 0 is not false: only `false` turns a destination off (DOCS spec/common.md §Integrations).
    assert send(emulator, integrations={"Recorder": 0})["rec"]["status"] == "delivered"
    denied = {"consent": {"categoryPreferences": {"Marketing": False}}}
    granted = {"consent": {"categoryPreferences": {"Marketing": True}}}
    assert send(emulator, context=denied)["rec"]["status"] == "filtered"
    assert send(emulator, context=granted)["rec"]["status"] == "delivered"


def test_queries_read_the_routing_and_reach_into_what_was_received() -> None:
    # `deliveries.<id>.status` reads the routing stored at ingest; a query that reaches into the
    # requests (README "Queries reach deliveries too") is matched with them built.
    emulator = emulator_with({"rec": RECORDER})
    send(emulator, event="Order Completed")
    send(emulator, event="Signed Up", integrations={"Recorder": False})
    routed = emulator.events(EventFilter(query=parse_query("deliveries.rec.status:delivered")))
    assert [r["event"]["event"] for r in routed] == ["Order Completed"]
    assert parse_query("routing.rec.status:filtered").matches(emulator.events()[0])
    by_body = parse_query("deliveries.rec.requests.body.event:Signed*")
    assert by_body.reads_requests
    assert not parse_query("deliveries.rec.status:filtered").reads_requests
    assert emulator.events(EventFilter(query=by_body)) == []  # filtered: nothing was sent
    [found] = emulator.events(
        EventFilter(query=parse_query('deliveries.rec.requests.body.event:"Order Completed"'))
    )
    assert found["deliveries"]["rec"]["requests"]
