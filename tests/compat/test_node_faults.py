"""@segment/analytics-node (npm) against a segemu that fails its requests: it survives 429 and
503 bursts and a reset, every call arrives exactly once, and where it gives up the calls are
lost, as its source says.

Retry behaviour, from segmentio/analytics-next packages/node/src/plugins/segmentio/publisher.ts
(3.x) and packages/core/src/priority-queue/backoff.ts:
- a 5xx (but 501, 505, 511), 408, 410, 460, a 429 without Retry-After, and a network error are
  counted retries: after `backoff({attempt, minTimeout: 500})`, i.e. 500 ms x 2^attempt x a
  random factor in [1, 2) (1-2 s, then 2-4 s...); after `maxRetries` of them the batch fails
  with a `delivery_failure` error;
- a 429 with Retry-After waits that long (at least 1 s, at most 300 s) and is not counted
  against maxRetries (bounded by MAX_RETRY_AFTER_RETRIES and maxRateLimitDuration);
- a 400 is never retried;
- X-Retry-Count is the number of earlier attempts, counted or not, from the first retry on.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import aiohttp
import orjson
import pytest

from segemu.http.server import RunningServer
from tests.compat.faulted import add_fault, arrived_once, faulted, gaps
from tests.compat.test_node_sdk import NODE_DIR, require_node_sdk

pytestmark = pytest.mark.compat


async def run_node(server: RunningServer, write_key: str, **env: str) -> dict[str, Any]:
    process = await asyncio.create_subprocess_exec(
        require_node_sdk(),
        "faults.mjs",
        cwd=NODE_DIR,
        env={**os.environ, "SEGEMU_URL": server.url, "SEGEMU_WRITE_KEY": write_key, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, err.decode()
    result: dict[str, Any] = orjson.loads(out.splitlines()[-1])
    return result


async def test_a_503_burst_is_retried_with_backoff_and_every_call_arrives_once(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    await add_fault(http, server, status=503, times=2, writeKey="node_503")
    sent = await run_node(server, "node_503")
    assert sent["errors"] == []
    assert sent["statuses"] == [503, 503, 200]
    assert sent["retryCounts"] == [None, "1", "2"]
    records = arrived_once(server, sent["messageIds"])
    attempts = await faulted(http, server, "node_503")
    assert [a["retryCount"] for a in attempts] == [None, 1]
    # backoff(): at least 500 ms x 2^1, then 500 ms x 2^2.
    first, second = gaps(attempts, records[0]["receivedAt"])
    assert first >= 1.0
    assert second >= 2.0


async def test_a_429_with_retry_after_waits_and_is_not_counted(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    await add_fault(http, server, status=429, retryAfter=1, times=2, writeKey="node_429")
    # maxRetries=0: one counted retry would fail the batch; the rate limit is not counted.
    sent = await run_node(server, "node_429", MAX_RETRIES="0")
    assert sent["errors"] == []
    assert sent["statuses"] == [429, 429, 200]
    records = arrived_once(server, sent["messageIds"])
    attempts = await faulted(http, server, "node_429")
    # Unlike analytics-python, the attempts still count in X-Retry-Count.
    assert [a["retryCount"] for a in attempts] == [None, 1]
    assert {r["arrival"]["retryCount"] for r in records} == {2}
    assert all(gap >= 1.0 for gap in gaps(attempts, records[0]["receivedAt"]))


async def test_a_reset_is_retried_after_backoff(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    await add_fault(http, server, reset=True, times=1, writeKey="node_reset")
    sent = await run_node(server, "node_reset")
    assert sent["errors"] == []
    assert sent["statuses"] == [200]  # the reset request had no answer
    assert sent["retryCounts"] == [None, "1"]
    records = arrived_once(server, sent["messageIds"])
    [attempt] = await faulted(http, server, "node_reset")
    assert attempt["effect"] == "reset"
    assert gaps([attempt], records[0]["receivedAt"])[0] >= 1.0


async def test_after_max_retries_the_sdk_gives_up_and_the_calls_are_lost(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    await add_fault(http, server, status=503, writeKey="node_down")
    sent = await run_node(server, "node_down", MAX_RETRIES="1")
    assert sent["statuses"] == [503, 503]
    assert {e["code"] for e in sent["errors"]} == {"delivery_failure"}
    assert len(sent["errors"]) == len(sent["messageIds"])  # one per call
    attempts = await faulted(http, server, "node_down")
    assert attempts[-1]["missing"] == sent["messageIds"]
    assert server.emulator.events() == []


async def test_a_400_is_not_retried_and_the_calls_are_lost(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    await add_fault(http, server, status=400, times=1, writeKey="node_400")
    sent = await run_node(server, "node_400")
    assert sent["statuses"] == [400]
    assert {e["code"] for e in sent["errors"]} == {"delivery_failure"}
    assert server.emulator.events() == []
