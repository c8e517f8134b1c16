"""GET /_segemu/stream: new records as server-sent events, for `segemu tail`, the TUI attached
to a remote emulator, and browser dev tools (EventSource).

Each record is one `event: record` message whose `id` is the record id, so a client that
reconnects with `Last-Event-ID` (EventSource does so by itself) gets what it missed. A client
too slow to keep up is told how many records it lost (`event: lagged`) instead of slowing
ingest down.
"""

from __future__ import annotations

import asyncio
import contextlib

import orjson
from aiohttp import web

from segemu.http.keys import EMULATOR, STREAMS
from segemu.http.params import ParamError, event_filter, int_param
from segemu.http.responses import cors_headers, error_response
from segemu.message import Record
from segemu.query import EventFilter

# Batches of records queued per client before it counts as lagging.
QUEUE_SIZE = 1000
HEARTBEAT_SECONDS = 15.0
MAX_BACKLOG = 1000

StreamQueue = asyncio.Queue[list[Record] | None]


def _message(record: Record) -> bytes:
    return b"id: %d\nevent: record\ndata: %s\n\n" % (record["id"], orjson.dumps(record))


def _backlog(request: web.Request, where: EventFilter) -> list[Record]:
    """What the client asked to see first, oldest first: what it missed, or the last N."""
    emulator = request.app[EMULATOR]
    last_seen = request.headers.get("Last-Event-ID") or request.query.get("after")
    if last_seen and last_seen.isdigit():
        after = int(last_seen)
        missed: list[Record] = []
        for record in emulator.events(where):
            if record["id"] <= after:
                break
            missed.append(record)
        return missed[::-1]
    count = int_param(request, "backlog", 0, 0, MAX_BACKLOG) or 0
    return emulator.events(where, count)[::-1] if count else []


async def stream(request: web.Request) -> web.StreamResponse:
    """GET /_segemu/stream?q=&writeKey=&backlog=N (plus every /events filter)."""
    try:
        where = event_filter(request)
        backlog = _backlog(request, where)
    except ParamError as exc:
        return error_response(request, 400, "invalid_query", str(exc))

    queue: StreamQueue = asyncio.Queue(QUEUE_SIZE)
    lost = 0
    emulator = request.app[EMULATOR]

    def on_records(records: list[Record]) -> None:
        nonlocal lost
        matching = [record for record in map(emulator.readable, records) if where.matches(record)]
        if not matching:
            return
        try:
            # As the listing shows them: each destination's routing, decided at ingest.
            queue.put_nowait(matching)
        except asyncio.QueueFull:
            lost += len(matching)

    response = web.StreamResponse(
        headers={
            **cors_headers(request),
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",
        }
    )
    await response.prepare(request)
    streams = request.app[STREAMS]
    unsubscribe = emulator.subscribe(on_records)
    streams.add(queue)
    try:
        await response.write(
            b"retry: 1000\n: connected\n\n" + b"".join(_message(r) for r in backlog)
        )
        while True:
            try:
                batch = await asyncio.wait_for(queue.get(), HEARTBEAT_SECONDS)
            except TimeoutError:
                await response.write(b": keepalive\n\n")
                continue
            if batch is None:  # the server is stopping
                break
            chunk = b"".join(_message(r) for r in batch)
            if lost:
                chunk = b'event: lagged\ndata: {"lost":%d}\n\n' % lost + chunk
                lost = 0
            await response.write(chunk)
    except ConnectionResetError:
        pass  # the client went away
    finally:
        unsubscribe()
        streams.discard(queue)
    with contextlib.suppress(ConnectionResetError):
        await response.write_eof()
    return response


async def close_streams(app: web.Application) -> None:
    """on_shutdown: end every open stream, or a stop would wait for them to time out."""
    for queue in app[STREAMS]:
        while not queue.empty():
            queue.get_nowait()
        queue.put_nowait(None)


def setup_routes(app: web.Application, prefix: str) -> None:
    app[STREAMS] = set()
    app.on_shutdown.append(close_streams)
    app.router.add_get(f"{prefix}/stream", stream)
