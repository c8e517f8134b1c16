"""segment-analytics-python (PyPI) against a segemu that fails its requests: it survives 429
and 503 bursts, a reset and a timeout, every call arrives exactly once, and where it gives up
the calls are lost, as its source says.

Retry behaviour, from segmentio/analytics-python analytics/consumer.py (2.4):
- a retryable status without Retry-After (5xx but 501/505; 408, 410, 429, 460) and a network
  error are retried `max_retries` times: the first retry at once, then 0.5 s, 1 s, 2 s... with
  up to 10% jitter, capped at 60 s (`calculate_backoff_delay`); then `on_error` and the batch
  is dropped;
- a retryable status with `Retry-After` > 0 is a rate limit: the batch goes back on the queue
  and the consumer waits that long, uncounted (`set_rate_limit_state`, `_requeue`), bounded
  by max_rate_limit_duration; the request starts over, so X-Retry-Count starts over too;
- any other 4xx (400 included) is not retried: `on_error`, the batch is lost;
- X-Retry-Count is the number of earlier attempts of this request, from 1 on
  (request.py `post`, `retry_count=total_attempts - 1`).
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
from segment.analytics import Client

from segemu.http.server import RunningServer
from segemu.query import EventFilter, parse_query
from tests.compat.faulted import add_fault, arrived_once, faulted, gaps

pytestmark = pytest.mark.compat


async def send(
    server: RunningServer, write_key: str, calls: int = 3, **options: Any
) -> tuple[list[str], list[Exception]]:
    """Track `calls` calls, flush, and return their messageIds and what on_error got."""
    errors: list[Exception] = []
    client = Client(
        write_key,
        host=server.url,
        on_error=lambda error, _batch: errors.append(error),
        **options,
    )
    try:
        message_ids = []
        for number in range(calls):
            ok, message = client.track("u-1", "Order Completed", {"n": number})
            assert ok
            message_ids.append(message["messageId"])
        await asyncio.to_thread(client.flush)  # returns once sent, retried, or given up
    finally:
        await asyncio.to_thread(client.join)
    return message_ids, errors


async def test_a_503_burst_is_retried_with_backoff_and_every_call_arrives_once(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    await add_fault(http, server, status=503, times=3, writeKey="py_503")
    message_ids, errors = await send(server, "py_503")
    assert errors == []
    [record, *_] = records = arrived_once(server, message_ids)
    attempts = await faulted(http, server, "py_503")
    # One batch: the same calls in each attempt, with the attempt number in X-Retry-Count.
    assert [a["messageIds"] for a in attempts] == [message_ids] * 3
    assert [a["retryCount"] for a in attempts] == [None, 1, 2]
    assert {r["arrival"]["retryCount"] for r in records} == {3}
    # At once, then at least 0.5 s, then at least 1 s (base delays; jitter only adds).
    first, second, third = gaps(attempts, record["receivedAt"])
    assert second >= 0.5
    assert third >= 1.0
    assert first < second
    linked = {r["messageId"]: r["id"] for r in records}
    assert attempts[-1]["arrived"] == linked


async def test_a_429_with_retry_after_waits_that_long_and_is_not_counted(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    await add_fault(http, server, status=429, retryAfter=1, times=2, writeKey="py_429")
    # max_retries=0: a counted retry would give up at once; the rate limit does not count.
    message_ids, errors = await send(server, "py_429", max_retries=0)
    assert errors == []
    records = arrived_once(server, message_ids)
    attempts = await faulted(http, server, "py_429")
    assert len(attempts) == 2
    # The batch was re-queued, so each attempt is a first attempt again: no X-Retry-Count.
    assert [a["retryCount"] for a in attempts] == [None, None]
    assert records[0].get("arrival", {}).get("retryCount") is None
    assert all(gap >= 1.0 for gap in gaps(attempts, records[0]["receivedAt"]))


async def test_a_reset_is_a_network_error_retried_at_once(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    await add_fault(http, server, reset=True, times=1, writeKey="py_reset")
    message_ids, errors = await send(server, "py_reset")
    assert errors == []
    records = arrived_once(server, message_ids)
    [attempt] = await faulted(http, server, "py_reset")
    assert attempt["effect"] == "reset"
    assert {r["arrival"]["retryCount"] for r in records} == {1}


async def test_a_timeout_is_retried_after_the_sdks_own_timeout(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    await add_fault(http, server, timeout=30, times=1, writeKey="py_timeout")
    message_ids, errors = await send(server, "py_timeout", timeout=1)
    assert errors == []
    records = arrived_once(server, message_ids)
    [attempt] = await faulted(http, server, "py_timeout")
    assert {r["arrival"]["retryCount"] for r in records} == {1}
    assert gaps([attempt], records[0]["receivedAt"])[0] >= 1.0


async def test_after_max_retries_the_sdk_gives_up_and_the_calls_are_lost(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    await add_fault(http, server, status=503, writeKey="py_down")
    message_ids, errors = await send(server, "py_down", max_retries=2)
    # 1 attempt + 2 retries, then on_error: what a user must know about a longer outage.
    attempts = await faulted(http, server, "py_down")
    assert [a["retryCount"] for a in attempts] == [None, 1, 2]
    assert len(errors) == 1
    assert server.emulator.events() == []
    assert attempts[-1]["missing"] == message_ids


async def test_a_400_is_not_retried_and_the_calls_are_lost(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    await add_fault(http, server, status=400, times=1, writeKey="py_400")
    message_ids, errors = await send(server, "py_400")
    [attempt] = await faulted(http, server, "py_400")
    assert len(errors) == 1
    assert attempt["missing"] == message_ids
    assert server.emulator.events() == []


async def test_a_partial_batch_loses_calls_the_sdk_cannot_see(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    # A 200 is a 200: the SDK has no way to know, so it does not retry.
    await add_fault(http, server, partial=1, times=1, writeKey="py_partial")
    message_ids, errors = await send(server, "py_partial")
    assert errors == []
    [attempt] = await faulted(http, server, "py_partial")
    assert attempt["missing"] == message_ids[1:]
    assert [r["messageId"] for r in server.emulator.events()] == message_ids[:1]


async def test_a_late_answer_makes_the_sdk_send_twice_and_segemu_keeps_one(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    # The first request is answered after 2 s; the SDK gives up on it after its 1 s timeout
    # and retries at once. Both reach the pipeline: the one that arrives second is stored as a
    # duplicate of the first, by messageId (DOCS http-api: Segment deduplicates on messageId).
    await add_fault(http, server, latency=2, times=1, writeKey="py_late")
    message_ids, errors = await send(server, "py_late", timeout=1)
    assert errors == []
    duplicates = EventFilter(write_key="py_late", query=parse_query("status:duplicate"))
    await server.emulator.wait_for(duplicates, len(message_ids), timeout=10)
    for message_id in message_ids:
        stored = server.emulator.store.with_message_id(message_id)
        assert sorted(r["status"] for r in stored) == ["accepted", "duplicate"]
    accepted = server.emulator.events(EventFilter(write_key="py_late", status="accepted"))
    assert len(accepted) == len(message_ids)  # each call counted once
    [attempt] = await faulted(http, server, "py_late")
    assert attempt["effect"] == "latency"
    assert attempt["refused"] == 0  # late, not refused
