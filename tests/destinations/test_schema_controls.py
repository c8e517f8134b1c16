"""A source's schema controls: besides track events, Segment blocks Page and Screen calls by
name, and omits blocked Identify traits and Group properties (DOCS connections/sources/schema/
index.md, "Event filters", "Identify and Group Trait Filters"; destination-data-control.md). A
blocked call reaches no destination, warehouses included; the record says what was blocked or
omitted."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from segemu.config import ConfigError
from segemu.emulator import Emulator, create_emulator
from segemu.message import Envelope, Record

EVERYTHING: dict[str, Any] = {
    "name": "Recorder",
    "actions": [
        {
            "name": "Send",
            "subscribe": 'type = "track" or type = "page" or type = "screen" '
            'or type = "identify" or type = "group"',
            "mapping": {"body": {"@path": "$."}},
        }
    ],
}
SOURCES = {
    "web": {
        "write_key": "wk",
        "block_events": ["Debug Clicked", "Admin Home", "Debug Screen"],
        "block_identify_traits": ["ssn", "password"],
        "block_group_traits": ["tax_id"],
    }
}


def emulator(sources: dict[str, Any] = SOURCES) -> Emulator:
    return create_emulator(
        db=":memory:", destinations={"rec": EVERYTHING, "warehouse": {}}, sources=sources
    )


def send(emulator: Emulator, **call: Any) -> tuple[Record, dict[str, Any]]:
    item = {"userId": "u1", "writeKey": "wk", **call}
    [record] = emulator.ingest(
        Envelope(route=f"/v1/{call['type']}", items=[item], received_at=datetime.now(UTC))
    )
    return record, emulator.deliveries_of(record)


def reasons(deliveries: dict[str, Any]) -> dict[str, tuple[str, str | None]]:
    return {key: (d["status"], d["reason"]) for key, d in deliveries.items()}


def received(deliveries: dict[str, Any]) -> dict[str, Any]:
    [request] = deliveries["rec"]["requests"]
    body: dict[str, Any] = request["body"]["body"]
    return body


@pytest.mark.parametrize(
    ("call", "reason"),
    [
        (
            {"type": "track", "event": "Debug Clicked"},
            "event 'Debug Clicked' is blocked for source 'web' (Schema controls)",
        ),
        (
            {"type": "page", "name": "Admin Home"},
            "page 'Admin Home' is blocked for source 'web' (Schema controls)",
        ),
        (
            {"type": "screen", "name": "Debug Screen"},
            "screen 'Debug Screen' is blocked for source 'web' (Schema controls)",
        ),
    ],
)
def test_track_page_and_screen_calls_are_blocked_by_name(call: dict[str, Any], reason: str) -> None:
    record, deliveries = send(emulator(), **call)
    assert reasons(deliveries) == {"rec": ("filtered", reason), "warehouse": ("filtered", reason)}
    assert record["schemaControls"] == {"blocked": reason, "omitted": []}


def test_calls_of_other_names_pass() -> None:
    app = emulator()
    for call in (
        {"type": "page", "name": "Home"},
        {"type": "page"},
        {"type": "screen", "name": "Settings"},
        {"type": "track", "event": "Order Completed"},
        {"type": "identify", "traits": {"email": "ada@example.com"}},
    ):
        record, deliveries = send(app, **call)
        assert reasons(deliveries) == {
            "rec": ("delivered", None),
            "warehouse": ("delivered", None),
        }, call
        assert "schemaControls" not in record


def test_page_viewed_blocks_every_page_call() -> None:
    # The Source Schema lists every Page call as "Page Viewed" (schema/index.md).
    app = emulator({"web": {"write_key": "wk", "block_events": ["Page Viewed"]}})
    _, deliveries = send(app, type="page", name="Pricing")
    assert deliveries["rec"]["reason"] == (
        "every page call is blocked for source 'web' (Schema controls): 'Page Viewed'"
    )
    _, deliveries = send(app, type="screen", name="Pricing")
    assert deliveries["rec"]["status"] == "delivered"


def test_blocked_identify_traits_are_omitted_everywhere_they_go() -> None:
    record, deliveries = send(
        emulator(),
        type="identify",
        traits={"email": "ada@example.com", "ssn": "078-05-1120", "password": "hunter2"},
    )
    assert record["schemaControls"] == {
        "blocked": None,
        "omitted": ["traits.password", "traits.ssn"],
    }
    # The stored call keeps what the SDK sent; destinations get it without the traits.
    assert set(record["event"]["traits"]) == {"email", "ssn", "password"}
    assert reasons(deliveries) == {"rec": ("delivered", None), "warehouse": ("delivered", None)}
    assert received(deliveries)["traits"] == {"email": "ada@example.com"}
    rows = [request["body"] for request in deliveries["warehouse"]["requests"]]
    assert rows
    assert all("ssn" not in row and "password" not in row for row in rows)
    assert any(row.get("email") == "ada@example.com" for row in rows)


def test_blocked_group_traits_are_omitted_and_identify_ones_are_not() -> None:
    record, deliveries = send(
        emulator(), type="group", groupId="g1", traits={"name": "Acme", "tax_id": "1", "ssn": "2"}
    )
    assert record["schemaControls"]["omitted"] == ["traits.tax_id"]
    assert received(deliveries)["traits"] == {"name": "Acme", "ssn": "2"}


def test_a_trait_list_that_is_not_strings_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"\[sources.web\]: 'block_group_traits' must be a list"):
        emulator({"web": {"write_key": "wk", "block_group_traits": "tax_id"}})
