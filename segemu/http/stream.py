"""GET /_segemu/stream: new records as server-sent events, for `segemu tail`, the TUI attached
to a remote emulator, and browser dev tools (EventSource).

Each record is one `event: record` message whose `id` is the record id, so a client that
reconnects with `Last-Event-ID` (EventSource does so by itself) gets what it missed.

What clients hold open is bounded, so that no number of them slows ingest down:
- at most `max_streams` streams are open at once; one more is answered 503;
- one subscriber (the hub) serves every stream: a record is viewed and encoded once, however
  many streams show it, and each stream only tests its filter;
- a client that does not read (its unsent messages pass STREAM_BUFFER_BYTES) is dropped, and
  what was queued for it released; `segemu tail`, the TUI and EventSource reconnect with the
  last id they saw, and get what they missed from the store.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field

import orjson
from aiohttp import web

from segemu.emulator import Emulator
from segemu.http.keys import EMULATOR
from segemu.http.params import ParamError, event_filter, int_param
from segemu.http.responses import cors_headers, error_response
from segemu.http.sliced import encoded_sliced
from segemu.message import Record
from segemu.query import EventFilter

HEARTBEAT_SECONDS = 15.0
MAX_BACKLOG = 1000
# Unsent bytes one stream may hold before its client counts as gone: a few seconds of a flood
# for a client that reads, a bounded cost for one that never does.
STREAM_BUFFER_BYTES = 8 * 1024 * 1024


def _message(record: Record) -> bytes:
    return b"id: %d\nevent: record\ndata: %s\n\n" % (record["id"], orjson.dumps(record))


@dataclass(eq=False, slots=True)
class StreamClient:
    """One open stream: its filter, and the messages not yet written to it."""

    where: EventFilter
    transport: asyncio.Transport | None
    pending: list[bytes] = field(default_factory=list)
    pending_bytes: int = 0
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    # Why the stream ends: "stopping" (the server), "dropped" (the client fell behind).
    ended: str | None = None

    def push(self, message: bytes) -> None:
        if self.ended is not None:
            return
        self.pending.append(message)
        self.pending_bytes += len(message)
        if self.pending_bytes > STREAM_BUFFER_BYTES:
            self.end("dropped")
            if self.transport is not None:
                # What the socket still holds goes too; the handler's write then fails.
                self.transport.abort()
        self.ready.set()

    def take(self) -> bytes:
        chunk = b"".join(self.pending)
        self.pending.clear()
        self.pending_bytes = 0
        self.ready.clear()
        return chunk

    def end(self, reason: str) -> None:
        self.ended = reason
        self.pending.clear()
        self.pending_bytes = 0
        self.ready.set()


class StreamHub:
    """The open streams, fed by one subscription to the emulator while any is open."""

    def __init__(self, emulator: Emulator, limit: int) -> None:
        self.emulator = emulator
        self.limit = limit
        self.clients: set[StreamClient] = set()
        self._unsubscribe: Callable[[], None] | None = None

    def open(self, client: StreamClient) -> bool:
        """Add a client; False when `limit` streams are open already."""
        if len(self.clients) >= self.limit:
            return False
        self.clients.add(client)
        if self._unsubscribe is None:
            self._unsubscribe = self.emulator.subscribe(self.on_records)
        return True

    def close(self, client: StreamClient) -> None:
        client.end(client.ended or "closed")
        self.clients.discard(client)
        if not self.clients and self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def on_records(self, records: list[Record]) -> None:
        # As the listing shows them: each destination's routing, decided at ingest. Read and
        # encoded once for every stream that shows them.
        readable = [self.emulator.readable(record) for record in records]
        encoded: dict[int, bytes] = {}
        for client in tuple(self.clients):
            for record in readable:
                # A `profile.` query reads the call's profile, looked up for it.
                seen = self.emulator.with_profile(record) if client.where.reads_profile else record
                if not client.where.matches(seen):
                    continue
                message = encoded.get(record["id"])
                if message is None:
                    message = encoded[record["id"]] = _message(record)
                client.push(message)

    def stop(self) -> None:
        for client in self.clients:
            client.end("stopping")


HUB = web.AppKey("stream_hub", StreamHub)


def _after(request: web.Request) -> int | None:
    """The id the client saw last: Last-Event-ID (EventSource, on reconnecting) or `after`."""
    header = request.headers.get("Last-Event-ID")
    if header:
        if not (header.isascii() and header.isdigit()):
            raise ParamError(f"Last-Event-ID must be a record id, got {header!r}")
        return int(header)
    return int_param(request, "after", None, 0, 2**62)


async def _backlog(request: web.Request, where: EventFilter) -> tuple[list[Record], int]:
    """What the client asked to see first, oldest first: what it missed (the newest
    MAX_BACKLOG of it), or the last N; and how many missed records were left out. Both are
    read in slices (Emulator.records_sliced): a filter that must scan does not hold the loop."""
    emulator = request.app[EMULATOR]
    after = _after(request)
    if after is None:
        count = int_param(request, "backlog", 0, 0, MAX_BACKLOG) or 0
        return ((await emulator.scan(where, count))[::-1] if count else []), 0
    # Newest first, down to the last id the client saw: the cost is what it missed, not the
    # store. A client that missed more than MAX_BACKLOG matching records gets the newest, and
    # is told how many older stored records it was not shown (at most that many matched).
    missed: list[Record] = []
    async for record in emulator.records_sliced(where):
        if record["id"] <= after:
            break
        if where.matches(record):
            missed.append(record)
            if len(missed) >= MAX_BACKLOG:
                break
    left_out = 0
    if len(missed) >= MAX_BACKLOG:
        left_out = emulator.store.count_between(after + 1, missed[-1]["id"] - 1)
    return missed[::-1], left_out


async def stream(request: web.Request) -> web.StreamResponse:
    """GET /_segemu/stream?q=&writeKey=&backlog=N (plus every /events filter)."""
    try:
        where = event_filter(request)
        backlog, left_out = await _backlog(request, where)
    except ParamError as exc:
        return error_response(request, 400, "invalid_query", str(exc))

    hub = request.app[HUB]
    client = StreamClient(where, request.transport)
    if not hub.open(client):
        answer = error_response(
            request,
            503,
            "too_many_streams",
            f"{hub.limit} streams are open, the most segemu serves at once (max_streams); "
            f"close one, or raise max_streams",
        )
        answer.headers["Retry-After"] = "1"
        return answer
    response = web.StreamResponse(
        headers={
            **cors_headers(request),
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",
        }
    )
    try:
        await response.prepare(request)
        lagged = b"event: lagged\ndata: %s\n\n" % orjson.dumps({"lost": left_out})
        # Up to MAX_BACKLOG records: encoded in slices, as the scan that found them read them.
        messages = await encoded_sliced(backlog, _message)
        del backlog
        await response.write(
            b"retry: 1000\n: connected\n\n" + (lagged if left_out else b"") + b"".join(messages)
        )
        del messages
        while True:
            if not client.pending and client.ended is None:
                try:
                    async with asyncio.timeout(HEARTBEAT_SECONDS):
                        await client.ready.wait()
                except TimeoutError:
                    await response.write(b": keepalive\n\n")
                    continue
            if client.ended is not None:
                break
            await response.write(client.take())
    except ConnectionError:
        pass  # the client went away, or was dropped for not reading
    finally:
        hub.close(client)
    with contextlib.suppress(ConnectionError):
        await response.write_eof()
    return response


async def close_streams(app: web.Application) -> None:
    """on_shutdown: end every open stream, or a stop would wait for them to time out."""
    app[HUB].stop()


def setup_routes(app: web.Application, prefix: str) -> None:
    app[HUB] = StreamHub(app[EMULATOR], app[EMULATOR].config.max_streams)
    app.on_shutdown.append(close_streams)
    app.router.add_get(f"{prefix}/stream", stream)
