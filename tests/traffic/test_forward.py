"""Forward: a running segemu relays accepted calls of the allowed write keys to a stand-in
endpoint on this machine (never the internet), with retries and a status per call."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from segment.analytics import Client

from segemu import create_emulator
from segemu.config import ConfigError
from segemu.http.sender import HttpSender
from segemu.http.server import RunningServer, start_server

from .support import StandIn, segemu, start_stand_in


async def post(url: str, body: Any, key: str, path: str = "/v1/batch") -> None:
    auth = base64.b64encode(f"{key}:".encode()).decode()
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{url}{path}", json=body, headers={"Authorization": f"Basic {auth}"}) as r,
    ):
        assert r.status == 200


async def get(url: str) -> Any:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        assert response.status == 200
        return await response.json()


@pytest.fixture
async def stand_in() -> AsyncIterator[StandIn]:
    endpoint = StandIn()
    runner = await start_stand_in(endpoint)
    yield endpoint
    await runner.cleanup()


async def forwarding(stand_in: StandIn, **table: Any) -> RunningServer:
    settings = {"url": stand_in.url, "write_keys": ["app"], **table}
    emulator = create_emulator(sender=HttpSender(), db=":memory:", forward=settings)
    return await start_server(emulator, "127.0.0.1", 0)


async def test_accepted_calls_of_allowed_keys_are_relayed_once(stand_in: StandIn) -> None:
    stand_in.expected = 3
    server = await forwarding(stand_in, map={"app": "REAL_KEY"})
    try:
        client = Client("app", host=server.url, sync_mode=True)
        await asyncio.to_thread(client.track, "u1", "Signed Up", {"plan": "pro"})
        await asyncio.to_thread(client.identify, "u1", {"email": "a@example.com"})
        await post(
            server.url,
            {"batch": [{"type": "track", "event": "A", "userId": "u", "messageId": "m-1"}]},
            "app",
        )
        # Not relayed: another write key, a duplicate messageId, a call Segment would drop.
        await post(server.url, {"batch": [{"type": "track", "event": "B", "userId": "u"}]}, "other")
        await post(
            server.url,
            {"batch": [{"type": "track", "event": "A", "userId": "u", "messageId": "m-1"}]},
            "app",
        )
        await post(server.url, {"batch": [{"type": "track", "userId": "u"}]}, "app")
        await asyncio.wait_for(stand_in.arrived.wait(), 10)
        status = await get(f"{server.url}/_segemu/forward")
    finally:
        await server.stop()
    assert [c["event"] if c["type"] == "track" else c["type"] for c in stand_in.calls] == [
        "Signed Up",
        "identify",
        "A",
    ]
    assert {r.write_key for r in stand_in.requests} == {"REAL_KEY"}
    # As the SDK sent it: its messageId, timestamp and context, without sentAt.
    assert stand_in.calls[0]["context"]["library"]["name"] == "analytics-python"
    assert "sentAt" not in stand_in.calls[0]
    assert status["enabled"] is True
    assert status["endpoint"] == f"{stand_in.url}/v1/batch"
    assert status["counts"]["sent"] == 3
    assert [c["status"] for c in status["calls"]] == ["sent"] * 3
    assert status["calls"][0]["messageId"] == "m-1"


async def test_refusals_are_retried_and_shown_per_call(stand_in: StandIn) -> None:
    stand_in.answers = [(503, {}), (429, {"Retry-After": "0"})]
    stand_in.expected = 1
    server = await forwarding(stand_in)
    try:
        await post(
            server.url,
            {"batch": [{"type": "track", "event": "A", "userId": "u", "messageId": "retried-1"}]},
            "app",
        )
        await asyncio.wait_for(stand_in.arrived.wait(), 10)
        (call,) = (await get(f"{server.url}/_segemu/forward?status=sent"))["calls"]
    finally:
        await server.stop()
    assert [r.status for r in stand_in.requests] == [503, 429, 200]
    assert [r.retry_count for r in stand_in.requests] == [None, "1", "2"]
    assert call["attempts"] == 3
    assert call["messageId"] == "retried-1"


async def test_a_call_the_endpoint_refuses_is_not_retried(stand_in: StandIn) -> None:
    stand_in.answers = [(400, {})]
    arrived = asyncio.Event()

    async def answered(number: int) -> None:
        arrived.set()

    stand_in.before_answer = answered
    server = await forwarding(stand_in)
    try:
        await post(server.url, {"batch": [{"type": "track", "event": "A", "userId": "u"}]}, "app")
        await asyncio.wait_for(arrived.wait(), 10)
    finally:
        # The status changes once the answer is read: stopping drains the relay first.
        await server.stop()
    forwarder = server.emulator.forwarder
    assert forwarder is not None
    (call,) = forwarder.statuses()
    assert call["status"] == "refused"
    assert call["attempts"] == 1
    assert "HTTP 400" in call["detail"]


async def test_forward_is_off_by_default_and_says_how_to_turn_it_on() -> None:
    server = await start_server(create_emulator(db=":memory:"), "127.0.0.1", 0)
    try:
        status = await get(f"{server.url}/_segemu/forward")
    finally:
        await server.stop()
    assert status["enabled"] is False
    assert "segemu run --forward URL" in status["note"]


def test_nothing_is_forwarded_without_naming_the_write_keys() -> None:
    with pytest.raises(ConfigError, match="write_keys"):
        create_emulator(db=":memory:", forward={"url": "http://127.0.0.1:9"})
    with pytest.raises(ConfigError, match="expected an http"):
        create_emulator(db=":memory:", forward={"url": "ftp://x", "write_keys": ["a"]})


async def test_segemu_run_forward_states_where_it_sends(stand_in: StandIn, tmp_path: Path) -> None:
    from .support import start_segemu

    process = await start_segemu(
        "run",
        "-p",
        "0",
        "--db",
        ":memory:",
        "--no-ui",
        "-q",
        "--forward",
        stand_in.url,
        "--forward-key",
        "app",
        cwd=tmp_path,
    )
    assert process.stdout is not None
    banner = []
    async for line in process.stdout:
        banner.append(line.decode())
        if b"Ctrl-C stops" in line:
            break
    process.terminate()
    await process.wait()
    assert any(
        f"Forward: accepted calls of app are relayed to {stand_in.url}/v1/batch" in line
        for line in banner
    ), banner
    done = await segemu("run", "--forward-key", "app", "-p", "0", cwd=tmp_path)
    assert done.status == 2
    assert "--forward URL" in done.stderr


async def test_a_full_queue_drops_calls_and_says_so(stand_in: StandIn) -> None:
    held = asyncio.Event()
    release = asyncio.Event()

    async def hold(number: int) -> None:
        if number == 1:
            held.set()
            await release.wait()

    stand_in.before_answer = hold
    stand_in.expected = 3
    server = await forwarding(stand_in, max_queue=2, batch_size=1)
    try:
        call = {"type": "track", "event": "A", "userId": "u"}
        await post(server.url, {"batch": [{**call, "messageId": "first"}]}, "app")
        await asyncio.wait_for(held.wait(), 10)  # the relay is busy with the first call
        batch = [{**call, "messageId": f"m-{n}"} for n in range(4)]
        await post(server.url, {"batch": batch}, "app")
        dropped = await get(f"{server.url}/_segemu/forward?status=dropped")
        release.set()
        await asyncio.wait_for(stand_in.arrived.wait(), 10)
    finally:
        await server.stop()
    # Two wait in the queue; the other two are dropped, each saying why.
    assert [c["messageId"] for c in dropped["calls"]] == ["m-3", "m-2"]
    assert "the queue of 2 is full" in dropped["calls"][0]["detail"]
    assert dropped["counts"]["dropped"] == 2
    assert [c["messageId"] for c in stand_in.accepted()] == ["first", "m-0", "m-1"]
