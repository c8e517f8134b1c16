"""GET /_segemu/stream: server-sent events as EventSource and `segemu tail` read them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson
import pytest

from segemu.http.server import RunningServer
from segemu.http.stream import MAX_BACKLOG
from tests.http.test_control import auth
from tests.http.test_waits import PROMPT, track, url

# Seconds any one read from the stream may take before the test fails instead of hanging.
READ_TIMEOUT = 5.0


@dataclass
class Message:
    event: str = "message"
    id: str | None = None
    data: list[str] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    retry: str | None = None

    @property
    def json(self) -> Any:
        return orjson.loads("\n".join(self.data))


class Stream:
    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self.response = response

    async def next(self) -> Message | None:
        """The next message (the text up to a blank line), or None at the end of the
        stream."""
        message = Message()
        seen = False
        async with asyncio.timeout(READ_TIMEOUT):
            while True:
                raw = await self.response.content.readline()
                if not raw:
                    return message if seen else None
                line = raw.decode().rstrip("\r\n")
                if not line:
                    if seen:
                        return message
                    continue
                seen = True
                name, _, value = line.partition(":")
                value = value.removeprefix(" ")
                if name == "":
                    message.comments.append(value)
                elif name == "event":
                    message.event = value
                elif name == "id":
                    message.id = value
                elif name == "data":
                    message.data.append(value)
                elif name == "retry":
                    message.retry = value

    async def record(self) -> dict[str, Any]:
        """The next `record` message's record, checking that its id is the record's id."""
        message = await self.next()
        assert message is not None, "the stream ended"
        assert message.event == "record", message
        record: dict[str, Any] = message.json
        assert message.id == str(record["id"])
        return record


@asynccontextmanager
async def stream(
    http: aiohttp.ClientSession,
    server: RunningServer,
    params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> AsyncIterator[Stream]:
    async with http.get(url(server, "stream", **(params or {})), headers=headers) as response:
        assert response.status == 200, await response.text()
        opened = Stream(response)
        # The first message says the subscription is live: anything posted after it arrives.
        hello = await opened.next()
        assert hello is not None
        assert hello.comments == ["connected"]
        assert hello.retry == "1000"
        yield opened


async def test_records_posted_after_connecting_arrive_in_order(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    async with stream(http, server) as events:
        await track(http, server, "Order Completed", properties={"revenue": 9.5}, messageId="m1")
        await track(http, server, "Signed Up", messageId="m2")
        first = await events.record()
        second = await events.record()
    assert first["messageId"] == "m1"
    assert first["event"]["event"] == "Order Completed"
    assert first["event"]["properties"] == {"revenue": 9.5}
    assert first["writeKey"] == "key_a"
    assert second["messageId"] == "m2"
    assert second["id"] > first["id"]
    # What the stream sent is what the listing holds.
    stored = server.emulator.events()
    assert [first, second] == [orjson.loads(orjson.dumps(r)) for r in stored[::-1]]


async def test_headers(server: RunningServer, http: aiohttp.ClientSession) -> None:
    async with stream(http, server) as events:
        headers = events.response.headers
        assert headers["Content-Type"].startswith("text/event-stream")
        # The control API grants no other origin (tests/http/test_access.py).
        assert "Access-Control-Allow-Origin" not in headers
        assert headers["Cache-Control"] == "no-cache"
    own = {"Origin": server.url}
    async with stream(http, server, headers=own) as events:
        assert events.response.headers["Access-Control-Allow-Origin"] == server.url


@pytest.mark.parametrize(
    "params",
    [
        {"q": 'event:"Order Completed"'},
        {"writeKey": "key_b"},
        {"q": "properties.revenue>10"},
    ],
)
async def test_filters(
    server: RunningServer, http: aiohttp.ClientSession, params: dict[str, str]
) -> None:
    async with stream(http, server, params) as events:
        await track(http, server, "Product Viewed", properties={"revenue": 1}, messageId="no")
        await track(
            http,
            server,
            "Order Completed",
            key="key_b",
            properties={"revenue": 99},
            messageId="yes",
        )
        # Had the first call not been filtered out, it would come first.
        assert (await events.record())["messageId"] == "yes"


async def test_backlog_sends_the_last_n_oldest_first(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    for number in range(4):
        await track(http, server, "Clicked", messageId=f"old{number}")
    async with http.get(url(server, "stream", backlog=2)) as response:
        events = Stream(response)
        hello = await events.next()
        assert hello is not None
        assert hello.comments == ["connected"]
        assert [(await events.record())["messageId"] for _ in range(2)] == ["old2", "old3"]
        await track(http, server, "Clicked", messageId="new")
        assert (await events.record())["messageId"] == "new"


async def test_backlog_is_filtered_too(server: RunningServer, http: aiohttp.ClientSession) -> None:
    await track(http, server, "Clicked", messageId="c1")
    await track(http, server, "Viewed", messageId="v1")
    await track(http, server, "Clicked", messageId="c2")
    async with http.get(url(server, "stream", backlog=5, q="event:Clicked")) as response:
        events = Stream(response)
        await events.next()
        assert [(await events.record())["messageId"] for _ in range(2)] == ["c1", "c2"]


@pytest.mark.parametrize("how", ["header", "query"])
async def test_reconnecting_resends_what_was_missed(
    server: RunningServer, http: aiohttp.ClientSession, how: str
) -> None:
    async with stream(http, server) as events:
        await track(http, server, "Clicked", messageId="seen")
        last_seen = (await events.record())["id"]
    # While disconnected:
    await track(http, server, "Clicked", messageId="missed1")
    await track(http, server, "Clicked", messageId="missed2")
    if how == "header":  # what EventSource sends by itself when it reconnects
        address, headers = url(server, "stream"), {"Last-Event-ID": str(last_seen)}
    else:
        address, headers = url(server, "stream", after=last_seen), {}
    async with http.get(address, headers=headers) as response:
        events = Stream(response)
        await events.next()
        assert [(await events.record())["messageId"] for _ in range(2)] == ["missed1", "missed2"]
        await track(http, server, "Clicked", messageId="live")
        assert (await events.record())["messageId"] == "live"


async def test_a_reconnect_that_missed_more_than_the_backlog_gets_the_newest_and_a_count(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    # The resend is bounded: at most MAX_BACKLOG records, the newest, after an `event: lagged`
    # that says how many older ones were left out (segemu tail and the TUI show it).
    batch = {"batch": [{"type": "track", "event": "E", "userId": "u"} for _ in range(1200)]}
    async with http.post(
        f"{server.url}/v1/batch", data=orjson.dumps(batch), headers=auth("key_a")
    ) as response:
        assert response.status == 200
    async with http.get(url(server, "stream", after=0)) as response:
        events = Stream(response)
        await events.next()  # connected
        lagged = await events.next()
        assert lagged is not None
        assert (lagged.event, lagged.json) == ("lagged", {"lost": 200})
        first = await events.record()
        assert first["id"] == 201
        for _ in range(MAX_BACKLOG - 1):
            last = await events.record()
        assert last["id"] == 1200


async def test_the_stream_ends_when_the_server_stops(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    async with stream(http, server) as events:
        started = time.monotonic()
        await server.stop()
        assert time.monotonic() - started < PROMPT
        assert await events.next() is None


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({"q": "event:("}, "q: "),
        ({"backlog": -1}, "backlog must be between 0 and 1000"),
        ({"backlog": "all"}, "backlog must be an integer"),
        ({"type": "track", "status": "gone"}, "status must be one of"),
    ],
)
async def test_bad_params_are_a_json_400(
    server: RunningServer, http: aiohttp.ClientSession, params: dict[str, Any], problem: str
) -> None:
    async with http.get(url(server, "stream", **params)) as response:
        assert response.status == 400
        assert response.content_type == "application/json"
        answer = await response.json()
    assert answer["code"] == "invalid_query"
    assert problem in answer["message"]
