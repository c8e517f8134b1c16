"""Faults on the Tracking API, over real sockets: what a client sees for each effect, the log of
faulted requests, the link to the retry that got through, and /_segemu/faults."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from segemu.http.server import RunningServer
from tests.conftest import get_json

KEY = "wk_faults"
AUTH = {"Authorization": aiohttp.encode_basic_auth(KEY, "")}


def call(message_id: str, event: str = "Order Completed") -> dict[str, Any]:
    return {"type": "track", "event": event, "userId": "u1", "messageId": message_id}


async def add(http: aiohttp.ClientSession, server: RunningServer, **rule: Any) -> dict[str, Any]:
    async with http.post(f"{server.url}/_segemu/faults", json=rule) as response:
        body: dict[str, Any] = await response.json()
        assert response.status == 201, body
    return body


async def post_batch(
    http: aiohttp.ClientSession, server: RunningServer, *calls: dict[str, Any], retry: int = 0
) -> aiohttp.ClientResponse:
    headers = {**AUTH, **({"X-Retry-Count": str(retry)} if retry else {})}
    async with http.post(
        f"{server.url}/v1/batch", json={"batch": list(calls)}, headers=headers
    ) as response:
        await response.read()
        return response


async def test_a_429_burst_then_the_retry_gets_through_and_is_linked(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    await add(http, server, status=429, times=2, writeKey=KEY)
    first = await post_batch(http, server, call("m1"))
    assert first.status == 429
    assert first.headers["Retry-After"] == "1"  # the rule's default for a 429
    assert first.headers["X-RateLimit-Reset"] == "1"
    second = await post_batch(http, server, call("m1"), retry=1)
    assert second.status == 429
    third = await post_batch(http, server, call("m1"), retry=2)
    assert third.status == 200

    listing = await get_json(http, f"{server.url}/_segemu/faults?writeKey={KEY}")
    assert listing["rules"][0]["fired"] == 2
    newest, oldest = listing["faulted"]
    assert [oldest["retryCount"], newest["retryCount"]] == [None, 1]
    record = await get_json(http, f"{server.url}/_segemu/events/m1")
    assert newest["arrived"] == {"m1": record["id"]}
    assert newest["missing"] == []
    # The stored call lists the attempts that were refused before it.
    assert [a["status"] for a in record["faulted"]] == [429, 429]
    assert server.emulator.store.with_message_id("m1")[0]["status"] == "accepted"


async def test_a_status_answer_is_json_with_the_reason(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    await add(http, server, id="down", status=503, retryAfter=False)
    async with http.post(
        f"{server.url}/v1/track", json=call("m2"), headers={**AUTH, "Origin": "http://app"}
    ) as response:
        body = await response.json()
        assert response.status == 503
        assert "Retry-After" not in response.headers
        assert response.headers["Access-Control-Allow-Origin"] == "http://app"
    assert body["code"] == "fault"
    assert "fault 'down': 503" in body["message"]
    assert server.emulator.store.with_message_id("m2") == []


async def test_a_reset_is_a_connection_error(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    await add(http, server, reset=True, times=1)
    with pytest.raises(aiohttp.ClientConnectionError):
        await post_batch(http, server, call("m3"))
    assert (await post_batch(http, server, call("m3"), retry=1)).status == 200
    listing = await get_json(http, f"{server.url}/_segemu/faults")
    assert listing["faulted"][0]["effect"] == "reset"
    assert listing["faulted"][0]["arrived"] == {"m3": 1}


async def test_a_close_before_the_answer(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    await add(http, server, close=True, times=1)
    with pytest.raises(aiohttp.ClientConnectionError):
        await post_batch(http, server, call("m4"))
    assert server.emulator.store.with_message_id("m4") == []


async def test_a_timeout_holds_the_request_then_closes(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    await add(http, server, timeout=0.2, times=1)
    with pytest.raises(aiohttp.ClientConnectionError):
        await post_batch(http, server, call("m5"))
    # The client's own timeout is what usually gives up first.
    await add(http, server, id="long", timeout=60, times=1)
    with pytest.raises(asyncio.TimeoutError):
        async with http.post(
            f"{server.url}/v1/batch",
            json={"batch": [call("m6")]},
            headers=AUTH,
            timeout=aiohttp.ClientTimeout(total=0.3),
        ):
            pass


async def test_a_partial_batch_answers_success_and_keeps_the_first_calls(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    await add(http, server, partial=1, times=1)
    answer = await post_batch(http, server, call("p1"), call("p2"), call("p3"))
    assert answer.status == 200
    assert [r["messageId"] for r in server.emulator.events()] == ["p1"]
    entry = (await get_json(http, f"{server.url}/_segemu/faults"))["faulted"][0]
    assert (entry["calls"], entry["refused"], entry["missing"]) == (3, 2, ["p2", "p3"])


async def test_selectors_pick_by_event_type_and_query(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    await add(http, server, status=500, event="Signed Up")
    await add(http, server, status=502, where="properties.plan:pro", type="identify")
    assert (await post_batch(http, server, call("s1"))).status == 200
    assert (await post_batch(http, server, call("s2", "Signed Up"))).status == 500
    identify = {"type": "identify", "userId": "u", "traits": {}, "properties": {"plan": "pro"}}
    assert (await post_batch(http, server, {**identify, "messageId": "s3"})).status == 502
    # /v1/identify says the type when the body does not.
    body = {"userId": "u", "traits": {}, "properties": {"plan": "pro"}, "messageId": "s5"}
    async with http.post(f"{server.url}/v1/identify", json=body, headers=AUTH) as response:
        assert response.status == 502
    routed = await add(http, server, id="t-only", status=400, route="/v1/t")
    assert routed["route"] == "/v1/t"
    async with http.post(f"{server.url}/v1/t", json=call("s4"), headers=AUTH) as response:
        assert response.status == 400


async def test_rules_are_listed_removed_and_cleared(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    rule = await add(http, server, status=503, every=2, probability=0.5, seed=7)
    assert rule["id"] == "fault-1"
    assert rule["description"] == "503"
    async with http.delete(f"{server.url}/_segemu/faults/{rule['id']}") as response:
        assert response.status == 200
    async with http.delete(f"{server.url}/_segemu/faults/{rule['id']}") as response:
        assert response.status == 404
    await add(http, server, latency=0.01)
    async with http.delete(f"{server.url}/_segemu/faults") as response:
        assert (await response.json())["removed"] == 1
    assert (await get_json(http, f"{server.url}/_segemu/faults"))["rules"] == []


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({}, "has no effect"),
        ({"status": 200}, "status must be a 4xx or 5xx code"),
        ({"status": 503, "reset": True}, "more than one effect"),
        ({"status": 503, "probability": 2}, "probability must be above 0"),
        ({"status": 503, "colour": "red"}, "unknown key 'colour'"),
        ({"status": 503, "where": "event:("}, "where:"),
        ({"timeout": 9999}, "at most 300 seconds"),
        ({"reset": True, "retryAfter": 3}, "retryAfter goes with a status"),
    ],
)
async def test_a_bad_rule_is_a_400_that_says_why(
    server: RunningServer, http: aiohttp.ClientSession, rule: dict[str, Any], message: str
) -> None:
    async with http.post(f"{server.url}/_segemu/faults", json=rule) as response:
        body = await response.json()
        assert response.status == 400
    assert body["code"] == "invalid_fault"
    assert message in body["message"]


async def test_a_foreign_page_cannot_set_faults(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    async with http.post(
        f"{server.url}/_segemu/faults",
        json={"status": 503},
        headers={"Origin": "https://evil.example"},
    ) as response:
        assert response.status == 403
    async with http.post(
        f"{server.url}/_segemu/faults",
        data='{"status": 503}',
        headers={"Content-Type": "text/plain"},
    ) as response:
        assert response.status == 415
    assert server.emulator.faults.rules == []
