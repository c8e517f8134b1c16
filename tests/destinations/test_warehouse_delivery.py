"""The warehouse as a developer meets it in a running segemu: one of the default destinations,
its rows shown as deliveries and judged by assert_delivered, over real sockets."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from segemu.config import load_config
from segemu.testing.client import SegemuClient
from segemu.testing.thread import ThreadedEmulator
from tests.destinations.test_surfaces import post

SPEC = Path(__file__).parent.parent.parent / "fixtures" / "spec"


def spec_event(file: str, name: str) -> dict[str, Any]:
    for line in (SPEC / file).read_text().splitlines():
        event = json.loads(line)
        if event.get("event") == name or event["type"] == name:
            return dict(event)
    raise LookupError(name)


def start(settings: dict[str, Any]) -> ThreadedEmulator:
    return ThreadedEmulator(
        load_config({"db": ":memory:", **settings}, env={}, discover=False)
    ).start()


@pytest.fixture
def default() -> Iterator[ThreadedEmulator]:
    threaded = start({})
    yield threaded
    threaded.stop()


def test_with_no_config_the_warehouse_receives_every_call(default: ThreadedEmulator) -> None:
    order = spec_event("ecommerce.jsonl", "Order Completed")
    identify = spec_event("lifecycle.jsonl", "identify")
    status, _ = post(default.url, "/v1/batch", {"writeKey": "wk_any", "batch": [order, identify]})
    assert status == 200

    client = SegemuClient(default.url, "wk_any", assert_timeout=0)
    warehouse = client.destination("warehouse")
    # segemu's catch-all source is named "default": DEFAULT is a reserved word. The Profiles
    # Sync rows are tested in tests/destinations/test_profiles_sync.py.
    assert [
        (r["method"], r["url"]) for r in warehouse.requests if r["action"] != "profiles_sync"
    ] == [
        ("INSERT", "warehouse://_default.tracks"),
        ("INSERT", "warehouse://_default.order_completed"),
        ("INSERT", "warehouse://_default.identifies"),
        ("UPSERT", "warehouse://_default.users"),
    ]
    client.assert_delivered(
        "warehouse",
        event="Order Completed",
        payload={
            "event": "order_completed",
            "order_id": order["properties"]["order_id"],
            "total": 27.5,
        },
    )
    client.assert_delivered(
        "warehouse",
        where="type:identify",
        payload={"id": "97980cfea0067", "address_city": "San Francisco"},
    )


def test_schema_setting_and_the_integrations_object() -> None:
    threaded = start({"destinations": {"warehouse": {"settings": {"schema": "web_prod"}}}})
    try:
        signed_up = {
            "type": "track",
            "event": "Signed Up",
            "userId": "u-1",
            "properties": {"plan": "Pro Annual", "accountType": "Facebook"},
        }
        status, _ = post(
            threaded.url,
            "/v1/batch",
            {
                "writeKey": "wk_web",
                "batch": [
                    {**signed_up, "messageId": "m-kept"},
                    # faq.md: `Warehouses: false` keeps the call out of every warehouse.
                    {**signed_up, "messageId": "m-skipped", "integrations": {"Warehouses": False}},
                ],
            },
        )
        assert status == 200
        client = SegemuClient(threaded.url, "wk_web", assert_timeout=0)
        client.assert_delivered(
            "warehouse",
            where="messageId:m-kept",
            payload={"plan": "Pro Annual", "account_type": "Facebook"},
        )
        requests = client.destination("warehouse").requests
        assert [r["url"] for r in requests if r["action"] != "profiles_sync"] == [
            "warehouse://web_prod.tracks",
            "warehouse://web_prod.signed_up",
        ]
        # Profiles Sync's tables go to the space's schema, not the source's (tables.md).
        assert {r["url"].split(".")[0] for r in requests if r["action"] == "profiles_sync"} == {
            "warehouse://_default"
        }
        routing = client.request("GET", "/events/m-skipped/routing")
        assert {r["destination"]: r["reason"] for r in routing["routing"]}["warehouse"] == (
            "filtered by integrations object ('Warehouses': false)"
        )
    finally:
        threaded.stop()
