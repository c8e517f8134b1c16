"""What clients may hold open (issue 13, finding 5): streams and long-polls are capped and
answered 503 with a JSON message when full; a stream whose client does not read is dropped
once its buffer passes a bound; a client that hangs up gives its place back at once."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson
import pytest

from segemu import create_emulator
from segemu.http import stream as stream_module
from segemu.http.server import RunningServer, start_server
from segemu.http.stream import HUB, StreamClient
from tests.http.test_control import auth
from tests.http.test_waits import track, url


@pytest.fixture
async def small() -> AsyncIterator[RunningServer]:
    running = await start_server(
        create_emulator(db=":memory:", max_streams=2, max_waits=2), "127.0.0.1", 0
    )
    yield running
    await running.stop()


def watch_streams(server: RunningServer) -> tuple[asyncio.Event, asyncio.Queue[StreamClient]]:
    """(set once a stream is open, each stream client the server lets go of, as it does)."""
    hub = server.runner.app[HUB]
    opened, closed = asyncio.Event(), asyncio.Queue[StreamClient]()
    open_, close = hub.open, hub.close

    def opening(client: StreamClient) -> bool:
        accepted = open_(client)
        opened.set()
        return accepted

    def closing(client: StreamClient) -> None:
        close(client)
        closed.put_nowait(client)

    hub.open = opening  # type: ignore[method-assign]
    hub.close = closing  # type: ignore[method-assign]
    return opened, closed


def watch_waits(server: RunningServer) -> tuple[asyncio.Queue[None], asyncio.Queue[None]]:
    """(a long-poll parked its waiter, a long-poll is over): the emulator's wait (what
    /_segemu/wait calls), wrapped to say so; it parks its waiter before it first yields to
    the loop."""
    entered, left = asyncio.Queue[None](), asyncio.Queue[None]()
    original = server.emulator.wait

    async def waiting(*args: Any, **kwargs: Any) -> Any:
        entered.put_nowait(None)
        try:
            return await original(*args, **kwargs)
        finally:
            left.put_nowait(None)

    server.emulator.wait = waiting  # type: ignore[method-assign]
    return entered, left


async def opened(http: aiohttp.ClientSession, server: RunningServer) -> aiohttp.ClientResponse:
    response = await http.get(url(server, "stream"))
    assert response.status == 200
    assert await response.content.readline() == b"retry: 1000\n"  # subscribed
    return response


async def test_streams_over_the_cap_get_a_503(
    small: RunningServer, http: aiohttp.ClientSession
) -> None:
    _, closed = watch_streams(small)
    first, second = await opened(http, small), await opened(http, small)
    async with http.get(url(small, "stream")) as refused:
        assert refused.status == 503
        assert refused.headers["Retry-After"] == "1"
        body = await refused.json()
    assert body["code"] == "too_many_streams"
    assert "max_streams" in body["message"]
    # Ingest goes on, and the open streams get their records.
    await track(http, small, "Clicked", messageId="m1")
    async with asyncio.timeout(5):
        while b'"messageId":"m1"' not in await first.content.readline():
            pass
    # A client that hangs up gives its place back.
    first.close()
    async with asyncio.timeout(5):
        await closed.get()
    third = await opened(http, small)
    second.close()
    third.close()


async def test_waits_over_the_cap_get_a_503(
    small: RunningServer, http: aiohttp.ClientSession
) -> None:
    entered, _ = watch_waits(small)
    waits = [
        asyncio.create_task(http.get(url(small, "wait", q="event:Clicked", timeout=10)))
        for _ in range(2)
    ]
    async with asyncio.timeout(5):
        for _ in waits:
            await entered.get()
    async with http.get(url(small, "wait", q="event:Clicked", timeout=10)) as refused:
        assert refused.status == 503
        assert refused.headers["Retry-After"] == "1"
        body = await refused.json()
    assert body["code"] == "too_many_waits"
    assert "max_waits" in body["message"]
    # An assert that waits counts too; one that judges at once does not.
    expectation = {"type": "track", "fields": {"event": "Clicked"}}
    for timeout, status in [(5, 503), (0, 200)]:
        async with http.post(
            url(small, "assert"), json={**expectation, "timeout": timeout}
        ) as response:
            assert response.status == status
    # The pending waits answer when their call arrives; then there is room again.
    await track(http, small, "Clicked")
    for task in waits:
        response = await task
        assert (await response.json())["satisfied"] is True
        response.release()
    async with http.get(url(small, "wait", q="event:Clicked", timeout=1)) as response:
        assert response.status == 200


async def test_a_client_that_hangs_up_gives_its_wait_back(
    small: RunningServer, http: aiohttp.ClientSession
) -> None:
    entered, left = watch_waits(small)
    sessions = [aiohttp.ClientSession() for _ in range(2)]
    requests = [
        asyncio.create_task(session.get(url(small, "wait", q="event:Never", timeout=60)))
        for session in sessions
    ]
    async with asyncio.timeout(5):
        for _ in sessions:
            await entered.get()
    for session in sessions:
        await session.close()
    # The server cancels the abandoned waits at once, not after their 60 s.
    async with asyncio.timeout(5):
        for _ in sessions:
            await left.get()
    for request in requests:
        with pytest.raises(aiohttp.ClientError):
            await request
    async with http.get(url(small, "wait", q="event:Never", timeout=0)) as response:
        assert response.status == 200


BIG_EVENT = {"type": "track", "userId": "u", "event": "Big", "properties": {"blob": "x" * 30000}}


async def test_a_stream_that_is_not_read_is_dropped_and_released(
    server: RunningServer, http: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stream_module, "STREAM_BUFFER_BYTES", 256 * 1024)
    subscribed, closed = watch_streams(server)
    # A client that asks for the stream and never reads a byte of it.
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, (server.host, server.port))
    await asyncio.get_running_loop().sock_sendall(
        sock, b"GET /_segemu/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    )
    hub = server.runner.app[HUB]
    async with asyncio.timeout(5):
        await subscribed.wait()
    batch = orjson.dumps({"batch": [BIG_EVENT] * 15})
    sent = 0
    while closed.empty():
        async with http.post(f"{server.url}/v1/batch", data=batch, headers=auth("k")) as answer:
            assert answer.status == 200
        sent += 15
        assert sent < 15 * 400, "a client that never reads was never dropped"
    client = await closed.get()
    assert client.ended == "dropped"
    assert client.pending == []
    assert client.pending_bytes == 0
    assert not hub.clients
    # The client sees its connection end (reset: what was unsent is discarded, not sent).
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(5):
        try:
            while await loop.sock_recv(sock, 1 << 20):
                pass
        except ConnectionResetError:
            pass
    sock.close()
    # Ingest is unaffected, and a client that reads streams as before.
    async with http.get(url(server, "stream", backlog=1)) as response:
        assert response.status == 200
