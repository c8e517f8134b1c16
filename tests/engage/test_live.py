"""Engage in a running emulator: calls through the whole pipeline under a clock the test
chooses (each request's received_at, and engage_tick), profiles read through the identity
graph, and the calls Engage sends stored and routed like any other."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from segemu import create_emulator
from segemu.emulator import Emulator
from segemu.engage.engine import ENGAGE_ROUTE
from segemu.message import Envelope, Record, format_timestamp

START = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
ENGAGE = {
    "computed_traits": {
        "lifetime_revenue": {
            "type": "sum",
            "event": "Order Completed",
            "property": "properties.revenue",
        },
        "orders_30d": {"type": "event_counter", "event": "Order Completed", "window": "30d"},
    },
    "audiences": {
        "big_spenders": {
            "traits": "traits.lifetime_revenue>=100 traits.plan:pro",
            "send": ["identify", "track"],
        },
        "recent_buyers": {
            "performed": [{"event": "Order Completed", "within": "30d"}],
            "send": ["track"],
        },
    },
}


def send(emulator: Emulator, at: datetime, *calls: dict[str, Any]) -> list[Record]:
    for call in calls:
        call.setdefault("timestamp", format_timestamp(at))
    return emulator.ingest(
        Envelope(route="/v1/batch", items=list(calls), received_at=at, header_write_key="wk")
    )


def order(revenue: float) -> dict[str, Any]:
    return {
        "type": "track",
        "event": "Order Completed",
        "userId": "u1",
        "properties": {"revenue": revenue},
    }


def test_audiences_and_computed_traits_through_the_pipeline() -> None:
    emulator = create_emulator(db=":memory:", engage=ENGAGE)
    send(emulator, START, {"type": "identify", "userId": "u1", "traits": {"plan": "pro"}})
    records = send(emulator, START + timedelta(minutes=1), order(60))
    assert [r["route"] for r in records] == ["/v1/batch", ENGAGE_ROUTE]
    assert records[0]["engage"] == {
        "computedTraits": {"lifetime_revenue": 60, "orders_30d": 1},
        "entered": ["recent_buyers"],
    }
    entered = records[1]
    assert entered["status"] == "accepted"
    assert entered["event"]["event"] == "Audience Entered"
    assert entered["event"]["userId"] == "u1"
    assert entered["event"]["properties"] == {
        "audience_key": "recent_buyers",
        "recent_buyers": True,
    }
    assert entered["writeKey"] == "engage:default"
    # Routed like any other call: the default destinations received it.
    assert entered["routing"]["warehouse"]["status"] == "delivered"
    assert entered["identity"]["segment_id"] == records[0]["identity"]["segment_id"]

    records = send(emulator, START + timedelta(minutes=2), order(50))
    assert [r["event"].get("event") for r in records] == [
        "Order Completed",
        None,  # big_spenders' identify
        "Audience Entered",
    ]
    assert records[1]["event"]["traits"] == {"big_spenders": True}

    profile = emulator.identity.profile("user_id:u1")
    assert profile is not None
    assert profile.trait_values() == {
        "plan": "pro",
        "lifetime_revenue": 110,
        "orders_30d": 2,
        "recent_buyers": True,
        "big_spenders": True,
    }
    assert profile.trait_values("audience") == {"recent_buyers": True, "big_spenders": True}
    assert profile.trait_values("computed_trait") == {"lifetime_revenue": 110, "orders_30d": 2}

    # The clock alone: 30 days after the last order the profile leaves recent_buyers.
    assert emulator.engage_tick(START + timedelta(days=29)) == []
    [exited] = emulator.engage_tick(START + timedelta(days=30, minutes=3))
    assert exited["event"]["event"] == "Audience Exited"
    assert exited["event"]["properties"] == {
        "audience_key": "recent_buyers",
        "recent_buyers": False,
    }
    assert profile.trait_values("audience") == {"recent_buyers": False, "big_spenders": True}
    assert profile.trait_values("computed_trait")["orders_30d"] == 0
    # Stored: the control API, the TUI and assertions see Engage's calls.
    assert [r["event"].get("event") for r in emulator.events()][:1] == ["Audience Exited"]


def test_an_anonymous_profile_joins_once_identified_and_merged() -> None:
    emulator = create_emulator(db=":memory:", engage=ENGAGE)
    anonymous = order(40)
    del anonymous["userId"]
    anonymous["anonymousId"] = "a1"
    records = send(emulator, START, anonymous)
    # Anonymous profiles are not members unless the audience includes them (audiences/index.md).
    assert [r["route"] for r in records] == ["/v1/batch"]
    records = send(emulator, START, {"type": "identify", "userId": "u1", "anonymousId": "a1"})
    assert [r["event"].get("event") for r in records[1:]] == ["Audience Entered"]
    profile = emulator.identity.profile("anonymous_id:a1")
    assert profile is not None
    assert profile.trait_values("computed_trait") == {"lifetime_revenue": 40, "orders_30d": 1}


def test_without_engage_config_nothing_changes() -> None:
    emulator = create_emulator(db=":memory:")
    [record] = send(emulator, START, order(10))
    assert "engage" not in record
