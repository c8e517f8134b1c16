"""The official segment-analytics-python (PyPI), unchanged but for its host, against a real
segemu server: every call stored, field by field as the SDK built it (sdk-captures/python.json
shows the same shapes on the wire)."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import orjson
import pytest
from segment.analytics import Client

from segemu.http.server import RunningServer
from tests.compat.stored import stored_as_sent
from tests.conftest import get_json

pytestmark = pytest.mark.compat


def six_calls(client: Client) -> list[dict[str, Any]]:
    """The six Segment calls; each returns the message the SDK queued for sending."""
    calls = [
        client.identify("user-1", {"email": "a@example.com", "name": "Ada"}),
        client.track(
            "user-1",
            "Order Completed",
            {"revenue": 42.5, "currency": "USD", "products": [{"sku": "A-1"}]},
        ),
        client.page("user-1", "Docs", "Home", {"url": "http://example.com/"}),
        client.screen("user-1", "App", "Settings", {"tab": "profile"}),
        client.group("user-1", "group-1", {"name": "Initech", "employees": 42}),
        client.alias("anon-1", "user-1"),
        client.track(anonymous_id="anon-2", event="Product Viewed", properties={"sku": "B-2"}),
    ]
    for ok, _ in calls:
        assert ok
    # What the SDK sends is the JSON of these dicts.
    return [orjson.loads(orjson.dumps(message)) for _, message in calls]


@pytest.mark.parametrize("gzip", [False, True], ids=["plain", "gzip"])
async def test_all_six_calls_are_stored_as_sent(
    server: RunningServer, http: aiohttp.ClientSession, gzip: bool
) -> None:
    errors: list[Exception] = []
    client = Client(
        "py_write_key",
        host=server.url,
        gzip=gzip,
        on_error=lambda error, _batch: errors.append(error),
    )
    try:
        sent = six_calls(client)
        # The SDK flushes from its own thread; the server keeps running on this loop.
        await asyncio.to_thread(client.flush)
    finally:
        await asyncio.to_thread(client.join)
    assert errors == []

    records = await stored_as_sent(http, server, sent, "py_write_key")
    for message in sent:
        event = records[message["messageId"]]["event"]
        assert event["context"]["library"] == {
            "name": "analytics-python",
            "version": message["context"]["library"]["version"],
        }
        # The SDK's timestamp is +00:00 with milliseconds; Segment keeps it as
        # originalTimestamp and writes its own with Z. sentAt has microseconds (captures).
        assert event["sentAt"].endswith("+00:00")


async def test_sync_mode_posts_each_call(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    client = Client("py_sync_key", host=server.url, sync_mode=True)
    ok, message = await asyncio.to_thread(client.track, "u-9", "Signed Up", {"plan": "pro"})
    assert ok
    record = await get_json(http, f"{server.url}/_segemu/events/{message['messageId']}")
    assert record["event"]["properties"] == {"plan": "pro"}
    assert record["status"] == "accepted"


async def test_same_message_id_twice_is_a_visible_duplicate(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    """SDK retries resend the same messageId (sdk-captures, scenario retry) and Segment
    dedupes them (DOCS guides/duplicate-data.md)."""
    client = Client("py_retry_key", host=server.url, sync_mode=True)
    for _ in range(2):
        ok, _message = await asyncio.to_thread(
            lambda: client.track("u-1", "Paid", message_id="fixed-message-id")
        )
        assert ok
    record = await get_json(http, f"{server.url}/_segemu/events/fixed-message-id")
    assert record["status"] == "accepted"
    assert len(record["duplicates"]) == 1
