"""segemu's own API, under the reserved prefix /_segemu/ (first part: events, reset, health).

Listings are newest first and paged with a cursor: `next` is the URL of the following page,
stable while new events keep arriving (ids only grow).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from segemu import __version__
from segemu.http.body import NO_BODY, BodyError, read_json
from segemu.http.keys import EMULATOR
from segemu.http.params import ParamError, event_filter, int_param
from segemu.http.responses import error_response, json_response

PREFIX = "/_segemu"
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


async def list_events(request: web.Request) -> web.Response:
    """GET /_segemu/events?q=&type=&event=&userId=&anonymousId=&writeKey=&status=&since=
    &until=&limit=&before="""
    try:
        where = event_filter(request)
        limit = int_param(request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    except ParamError as exc:
        return error_response(request, 400, "invalid_query", str(exc))
    assert limit is not None
    found = await request.app[EMULATOR].scan(where, limit + 1)
    page = found[:limit]
    next_url = None
    if len(found) > limit:
        next_url = str(request.rel_url.update_query(before=page[-1]["id"]))
    return json_response(request, {"events": page, "count": len(page), "next": next_url})


async def get_event(request: web.Request) -> web.Response:
    """GET /_segemu/events/<messageId>: the first record with that messageId, and the ids of
    any later ones (SDK retries) in `duplicates`."""
    message_id = request.match_info["message_id"]
    emulator = request.app[EMULATOR]
    records = emulator.store.with_message_id(message_id)
    if not records:
        return error_response(request, 404, "not_found", f"no event with messageId {message_id!r}")
    first, *later = records
    # One record shown: what each destination received is built for it.
    shown = {**emulator.with_deliveries(first), "duplicates": [r["id"] for r in later]}
    # The attempts a fault refused before this call got through (segemu/faults).
    attempts = emulator.faults.attempts_of(message_id)
    if attempts:
        shown["faulted"] = attempts
    return json_response(request, shown)


async def reset(request: web.Request) -> web.Response:
    """POST /_segemu/reset: everything, or one write key with ?writeKey= or
    {"writeKey": "..."}."""
    write_key: Any = request.query.get("writeKey")
    if write_key == "":  # checked even when the body names one, which wins
        return error_response(request, 400, "invalid_query", "writeKey must be a non-empty string")
    try:
        body = await read_json(request, empty=NO_BODY)
    except BodyError as error:
        return error_response(request, 400, error.code, error.message)
    if body is not NO_BODY:
        if not isinstance(body, dict):
            return error_response(request, 400, "invalid_json", "body must be a JSON object")
        write_key = body.get("writeKey", write_key)
    if write_key is not None and (not isinstance(write_key, str) or not write_key):
        return error_response(request, 400, "invalid_query", "writeKey must be a non-empty string")
    removed = request.app[EMULATOR].reset(write_key)
    return json_response(request, {"success": True, "removed": removed, "writeKey": write_key})


async def flush(request: web.Request) -> web.Response:
    """POST /_segemu/flush: write the store to disk now, instead of at the next flush window."""
    written = request.app[EMULATOR].store.flush()
    return json_response(request, {"success": True, "written": written})


async def health(request: web.Request) -> web.Response:
    emulator = request.app[EMULATOR]
    return json_response(
        request, {"status": "ok", "version": __version__, "stored": len(emulator.store)}
    )


async def summary(request: web.Request) -> web.Response:
    return json_response(request, request.app[EMULATOR].summary())


def setup_routes(app: web.Application) -> None:
    app.router.add_get(f"{PREFIX}/events", list_events)
    app.router.add_get(f"{PREFIX}/events/{{message_id}}", get_event)
    app.router.add_post(f"{PREFIX}/reset", reset)
    app.router.add_post(f"{PREFIX}/flush", flush)
    app.router.add_get(f"{PREFIX}/health", health)
    app.router.add_get(f"{PREFIX}/summary", summary)
