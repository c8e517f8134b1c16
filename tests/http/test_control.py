"""The control API, first part: listing with filters and paging, lookup, reset, health."""

from __future__ import annotations

import base64
from typing import Any

import aiohttp
import orjson
import pytest

from segemu.http.server import RunningServer
from tests.conftest import get_json


def auth(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


async def send(
    http: aiohttp.ClientSession, server: RunningServer, key: str, batch: list[dict[str, Any]]
) -> None:
    async with http.post(
        f"{server.url}/v1/batch", data=orjson.dumps({"batch": batch}), headers=auth(key)
    ) as response:
        assert response.status == 200


@pytest.fixture
async def populated(server: RunningServer, http: aiohttp.ClientSession) -> RunningServer:
    await send(
        http,
        server,
        "key_a",
        [
            {"type": "identify", "userId": "u_1", "messageId": "a1"},
            {"type": "track", "event": "Order Completed", "userId": "u_1", "messageId": "a2"},
            {
                "type": "track",
                "event": "Product Viewed",
                "anonymousId": "anon_9",
                "messageId": "a3",
            },
        ],
    )
    await send(
        http,
        server,
        "key_b",
        [
            {"type": "page", "name": "Home", "anonymousId": "anon_9", "messageId": "b1"},
            {"type": "track", "userId": "u_2", "messageId": "b2"},  # rejected: no event name
            {"type": "track", "event": "Order Completed", "userId": "u_2", "messageId": "a2"},
        ],
    )
    return server


async def events(http: aiohttp.ClientSession, server: RunningServer, query: str) -> Any:
    return await get_json(http, f"{server.url}/_segemu/events?{query}")


@pytest.mark.parametrize(
    ("query", "message_ids"),
    [
        ("", ["a2", "b2", "b1", "a3", "a2", "a1"]),
        ("type=track", ["a2", "b2", "a3", "a2"]),
        ("event=Order%20Completed", ["a2", "a2"]),
        ("userId=u_1", ["a2", "a1"]),
        ("anonymousId=anon_9", ["b1", "a3"]),
        ("writeKey=key_b", ["a2", "b2", "b1"]),
        ("status=rejected", ["b2"]),
        ("status=duplicate", ["a2"]),
        ("status=accepted&writeKey=key_a&type=track", ["a3", "a2"]),
        ("since=2000-01-01T00:00:00Z", ["a2", "b2", "b1", "a3", "a2", "a1"]),
        ("until=2000-01-01T00:00:00Z", []),
    ],
)
async def test_filters(
    populated: RunningServer, http: aiohttp.ClientSession, query: str, message_ids: list[str]
) -> None:
    answer = await events(http, populated, query)
    assert [e["messageId"] for e in answer["events"]] == message_ids
    assert answer["count"] == len(message_ids)


async def test_paging_is_newest_first_and_stable(
    populated: RunningServer, http: aiohttp.ClientSession
) -> None:
    first = await events(http, populated, "limit=4")
    assert [e["messageId"] for e in first["events"]] == ["a2", "b2", "b1", "a3"]
    # An event arriving between two pages does not shift the next page.
    await send(
        http, populated, "key_a", [{"type": "identify", "userId": "new", "messageId": "late"}]
    )
    second = await get_json(http, f"{populated.url}{first['next']}")
    assert [e["messageId"] for e in second["events"]] == ["a2", "a1"]
    assert second["next"] is None


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ("limit=0", "limit must be between 1 and 1000"),
        ("limit=lots", "limit must be an integer"),
        ("status=lost", "status must be one of accepted, rejected, duplicate"),
        ("since=yesterday", "since must be an ISO-8601 timestamp"),
        ("before=-3", "before must be between"),
    ],
)
async def test_bad_parameters_are_400(
    populated: RunningServer, http: aiohttp.ClientSession, query: str, problem: str
) -> None:
    async with http.get(f"{populated.url}/_segemu/events?{query}") as response:
        assert response.status == 400
        assert (await response.json())["message"].startswith(problem)


async def test_event_by_message_id_lists_its_duplicates(
    populated: RunningServer, http: aiohttp.ClientSession
) -> None:
    record = await get_json(http, f"{populated.url}/_segemu/events/a2")
    assert record["writeKey"] == "key_a"
    assert record["status"] == "accepted"
    assert len(record["duplicates"]) == 1
    async with http.get(f"{populated.url}/_segemu/events/nope") as response:
        assert response.status == 404
        assert (await response.json())["code"] == "not_found"


async def test_record_keeps_raw_beside_normalized(
    populated: RunningServer, http: aiohttp.ClientSession
) -> None:
    record = await get_json(http, f"{populated.url}/_segemu/events/a1")
    assert record["raw"] == {"type": "identify", "userId": "u_1", "messageId": "a1"}
    assert record["event"]["receivedAt"] == record["receivedAt"]
    assert record["event"]["version"] == 2


async def test_reset_one_write_key(populated: RunningServer, http: aiohttp.ClientSession) -> None:
    async with http.post(
        f"{populated.url}/_segemu/reset", data=orjson.dumps({"writeKey": "key_b"})
    ) as response:
        assert (await response.json())["removed"] == 3
    remaining = await events(http, populated, "")
    assert {e["writeKey"] for e in remaining["events"]} == {"key_a"}
    # The messageIds of the reset key are forgotten too: resending is not a duplicate.
    await send(http, populated, "key_b", [{"type": "identify", "userId": "x", "messageId": "b1"}])
    again = await events(http, populated, "writeKey=key_b")
    assert [e["status"] for e in again["events"]] == ["accepted"]


async def test_reset_everything(populated: RunningServer, http: aiohttp.ClientSession) -> None:
    async with http.post(f"{populated.url}/_segemu/reset") as response:
        assert (await response.json())["removed"] == 6
    assert (await events(http, populated, ""))["events"] == []


async def test_reset_rejects_a_bad_body(
    populated: RunningServer, http: aiohttp.ClientSession
) -> None:
    async with http.post(f"{populated.url}/_segemu/reset", data=b"{nope") as response:
        assert response.status == 400
    async with http.post(
        f"{populated.url}/_segemu/reset", data=orjson.dumps({"writeKey": 3})
    ) as response:
        assert response.status == 400
    assert (await events(http, populated, ""))["count"] == 6


async def test_health_and_summary(populated: RunningServer, http: aiohttp.ClientSession) -> None:
    health = await get_json(http, f"{populated.url}/_segemu/health")
    assert health["status"] == "ok"
    assert health["stored"] == 6
    summary = await get_json(http, f"{populated.url}/_segemu/summary")
    assert summary["byStatus"] == {"accepted": 4, "rejected": 1, "duplicate": 1}
    assert summary["byType"] == {"identify": 1, "track": 4, "page": 1}
    assert summary["byWriteKey"] == {"key_a": 3, "key_b": 3}
    assert summary["requests"] == 2
