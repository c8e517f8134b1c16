"""Destination filters in Segment's format: every example of DOCS
connections/destinations/destination-filters.md, in the Public API's JSON and in TOML."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from segemu.config import ConfigError, load_config
from segemu.destinations.config import load_destinations
from tests.destinations.test_routing import emulator_with, send

WHOLE_EVENT: dict[str, Any] = {
    "name": "Everything",
    "actions": [{"name": "Send", "subscribe": 'type = "track"', "mapping": {"e": {"@path": "$."}}}],
}


def with_filters(*filters: dict[str, Any]) -> dict[str, Any]:
    return {**WHOLE_EVENT, "filters": list(filters)}


def received(deliveries: dict[str, Any]) -> dict[str, Any] | None:
    delivery = deliveries["rec"]
    if delivery["status"] != "delivered":
        return None
    body: dict[str, Any] = delivery["requests"][0]["body"]["e"]
    return body


def test_only_send_events_with_a_user_id() -> None:
    # destination-filters.md §Only send events with userId, as the page writes it.
    emulator = emulator_with(
        {
            "rec": with_filters(
                {
                    "sourceId": "<SOURCE_ID>",
                    "destinationId": "<DESTIANTION_ID>",
                    "title": "Don't send event if userId is null",
                    "description": "Drop event if there is no userId on the request",
                    "if": "length( userId ) < 1",
                    "actions": [{"type": "DROP"}],
                    "enabled": True,
                }
            )
        }
    )
    assert received(send(emulator, userId="u1")) is not None
    anonymous = send(emulator, userId=None, anonymousId="a1")["rec"]
    assert (anonymous["status"], anonymous["reason"]) == (
        "filtered",
        "filter 'Don't send event if userId is null' (drop event)",
    )


def test_remove_user_id_from_the_payload() -> None:
    # destination-filters.md §Remove userId from payload: "if": "all", a top-level field.
    emulator = emulator_with(
        {
            "rec": with_filters(
                {
                    "title": "Don't send userId at all",
                    "if": "all",
                    "actions": [{"type": "DROP_PROPERTIES", "fields": {"": ["userId"]}}],
                    "enabled": True,
                }
            )
        }
    )
    body = received(send(emulator, userId="u1", anonymousId="a1"))
    assert body is not None
    assert "userId" not in body
    assert body["anonymousId"] == "a1"
    # The stored event keeps it: other destinations see every field.
    [record] = emulator.events()
    assert record["event"]["userId"] == "u1"


def test_pii_is_removed_from_context_and_properties() -> None:
    # destination-filters.md §PII management.
    emulator = emulator_with(
        {
            "rec": with_filters(
                {
                    "actions": [
                        {
                            "type": "DROP_PROPERTIES",
                            "fields": {"properties": ["email"], "context.traits": ["email"]},
                        }
                    ]
                }
            )
        }
    )
    body = received(
        send(
            emulator,
            properties={"email": "a@example.com", "plan": "pro"},
            context={"traits": {"email": "a@example.com", "name": "A"}},
        )
    )
    assert body is not None
    assert body["properties"] == {"plan": "pro"}
    assert body["context"]["traits"] == {"name": "A"}


@pytest.mark.parametrize(
    "only_send",
    [
        # destination-filters.md §Control event volume, in TOML's shorthand and as the
        # Segment app saves an "Only send" (a drop of the rest).
        {"only": True, "if": "event = 'User Signed Up' or event = 'Demo Requested'"},
        {
            "if": "!( event in ['User Signed Up', 'Demo Requested'] )",
            "actions": [{"type": "DROP"}],
        },
    ],
)
def test_control_event_volume(only_send: dict[str, Any]) -> None:
    emulator = emulator_with({"rec": with_filters(only_send)})
    assert received(send(emulator, event="Demo Requested")) is not None
    assert received(send(emulator, event="Page Scrolled")) is None


def test_remove_internal_and_test_events() -> None:
    # destination-filters.md §Remove internal and test events from production tools.
    emulator = emulator_with(
        {
            "rec": with_filters(
                {"if": "match( properties.email, '*@example.com' )", "drop": True},
                {
                    "if": (
                        "event = 'Order Completed' and contains( properties.email, '@segment.com' )"
                    ),
                    "drop": True,
                },
            )
        }
    )
    assert received(send(emulator, properties={"email": "me@example.com"})) is None
    assert received(send(emulator, properties={"email": "me@segment.com"})) is None
    assert received(send(emulator, event="Signed Up", properties={"email": "me@segment.com"}))
    assert received(send(emulator, properties={"email": "buyer@shop.test"}))


def test_sampling_by_a_path_keeps_or_drops_each_user_every_time() -> None:
    # destination-filters.md §Sample a percentage of events; the draw is tsub-js's.
    sample = {"if": "all", "actions": [{"type": "SAMPLE", "percent": 0.25, "path": "userId"}]}
    emulator = emulator_with({"rec": with_filters(sample)})
    first = [received(send(emulator, userId=f"u{n}")) is not None for n in range(400)]
    again = [received(send(emulator, userId=f"u{n}")) is not None for n in range(400)]
    assert first == again
    assert 60 <= first.count(True) <= 140
    dropped = first.index(False)
    reason = send(emulator, userId=f"u{dropped}")["rec"]["reason"]
    assert reason == "filter 'filters[0]': sampled out by userId (keeps 25%)"


def test_properties_of_objects_in_an_array() -> None:
    # destination-filters.md §FAQ: properties.products.newElement, from every product.
    emulator = emulator_with(
        {
            "rec": with_filters(
                {"drop_properties": {"properties.products": ["newElement"]}},
            )
        }
    )
    body = received(
        send(emulator, properties={"products": [{"id": 1, "newElement": 2}, {"newElement": 3}]})
    )
    assert body is not None
    assert body["properties"]["products"] == [{"id": 1}, {}]


def test_allow_properties_and_the_order_segment_applies() -> None:
    # destination-filters.md §Limitations: sample, drop, drop properties, allow properties.
    emulator = emulator_with(
        {
            "rec": with_filters(
                {"allow_properties": ["a", "b"]},
                {"drop_properties": ["b"]},
                {"enabled": False, "drop": True},
            )
        }
    )
    body = received(send(emulator, properties={"a": 1, "b": 2, "c": 3}))
    assert body is not None
    assert body["properties"] == {"a": 1}


def test_a_filter_copied_from_a_workspace_is_read_from_json(tmp_path: Path) -> None:
    # The Public API's answer to listing a destination's filters, saved as it came.
    listing = {
        "data": {
            "filters": [
                {
                    "id": "2bOMtHxYCHSI8fBvg0FwYRGsyfX",
                    "sourceId": "rh5BDZp6QDHvXFCkibm1pR",
                    "destinationId": "fP7qoQw2HTWt9WdMr718gn",
                    "title": "Allowlist Track Event Properties",
                    "if": "type = 'track'",
                    "actions": [{"type": "ALLOW_PROPERTIES", "fields": {"properties": ["sku"]}}],
                    "enabled": True,
                }
            ]
        }
    }
    (tmp_path / "mixpanel-filters.json").write_text(json.dumps(listing))
    (tmp_path / "segemu.toml").write_text(
        '[destinations.mixpanel]\nfilters = "mixpanel-filters.json"\n'
    )
    [mixpanel] = load_destinations(load_config({}, env={}, cwd=tmp_path))
    [only] = mixpanel.filters
    assert only.name == "Allowlist Track Event Properties"
    assert only.actions[0].fields == {"properties": ("sku",)}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('filters = "nowhere.json"', "cannot read filters file 'nowhere.json'"),
        (
            '[[destinations.x.filters]]\nactions = [{ type = "SAMPLE", percent = 10 }]',
            "'percent' is from 0 to 1 (0.1 keeps 10%), got 10",
        ),
        (
            '[[destinations.x.filters]]\nactions = [{ type = "DROP_FIELDS" }]',
            "'type' must be one of SAMPLE, DROP, DROP_PROPERTIES, ALLOW_PROPERTIES",
        ),
        (
            '[[destinations.x.filters]]\nactions = [{ type = "DROP_PROPERTIES", fields = ["a"] }]',
            "DROP_PROPERTIES needs 'fields', a map",
        ),
        ('[[destinations.x.filters]]\nif = "event = \'a"\ndrop = true', "unterminated string"),
        ("[[destinations.x.filters]]\nonly = true", "'only' needs an 'if' condition"),
    ],
)
def test_mistakes_stop_start_up_with_the_entry(tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / "segemu.toml").write_text(f"[destinations.x]\nactions = []\n{content}\n")
    with pytest.raises(ConfigError) as caught:
        load_destinations(load_config({}, env={}, cwd=tmp_path))
    assert "segemu.toml: [destinations.x]" in str(caught.value)
    assert message in str(caught.value)
