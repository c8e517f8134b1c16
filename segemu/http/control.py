"""segemu's own API, under the reserved prefix /_segemu/ (first part: events, reset, health).

Listings are newest first and paged with a cursor: `next` is the URL of the following page,
stable while new events keep arriving (ids only grow).
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from segemu import __version__
from segemu.http.keys import EMULATOR
from segemu.http.responses import error_response, json_response
from segemu.message import STATUSES, parse_timestamp
from segemu.query import EventFilter

PREFIX = "/_segemu"
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


class QueryError(Exception):
    pass


def _int_param(request: web.Request, name: str, default: int | None, low: int,
               high: int) -> int | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise QueryError(f"{name} must be an integer, got {raw!r}") from None
    if not low <= value <= high:
        raise QueryError(f"{name} must be between {low} and {high}, got {value}")
    return value


def _filter(request: web.Request) -> EventFilter:
    query = request.query
    status = query.get("status") or None
    if status is not None and status not in STATUSES:
        raise QueryError(f"status must be one of {', '.join(STATUSES)}, got {status!r}")
    bounds = {}
    for name in ("since", "until"):
        raw = query.get(name)
        if raw:
            moment = parse_timestamp(raw)
            if moment is None:
                raise QueryError(f"{name} must be an ISO-8601 timestamp, got {raw!r}")
            bounds[name] = moment
    return EventFilter(
        type=query.get("type") or None,
        event=query.get("event") or None,
        user_id=query.get("userId") or None,
        anonymous_id=query.get("anonymousId") or None,
        write_key=query.get("writeKey") or None,
        status=status,
        before_id=_int_param(request, "before", None, 1, 2**62),
        **bounds,
    )


async def list_events(request: web.Request) -> web.Response:
    """GET /_segemu/events?type=&event=&userId=&anonymousId=&writeKey=&status=&since=&until=
    &limit=&before="""
    try:
        where = _filter(request)
        limit = _int_param(request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    except QueryError as exc:
        return error_response(request, 400, "invalid_query", str(exc))
    assert limit is not None
    found = request.app[EMULATOR].events(where, limit + 1)
    page = found[:limit]
    next_url = None
    if len(found) > limit:
        next_url = str(request.rel_url.update_query(before=page[-1]["id"]))
    return json_response(request, {"events": page, "count": len(page), "next": next_url})


async def get_event(request: web.Request) -> web.Response:
    """GET /_segemu/events/<messageId>: the first record with that messageId, and the ids of
    any later ones (SDK retries) in `duplicates`."""
    message_id = request.match_info["message_id"]
    records = request.app[EMULATOR].store.with_message_id(message_id)
    if not records:
        return error_response(request, 404, "not_found",
                              f"no event with messageId {message_id!r}")
    first, *later = records
    return json_response(request, {**first, "duplicates": [r["id"] for r in later]})


async def reset(request: web.Request) -> web.Response:
    """POST /_segemu/reset: everything, or one write key with ?writeKey= or
    {"writeKey": "..."}."""
    write_key: Any = request.query.get("writeKey")
    data = await request.read()
    if data.strip():
        try:
            body = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            return error_response(request, 400, "invalid_json", f"body is not valid JSON: {exc}")
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
    return json_response(request, {"status": "ok", "version": __version__,
                                   "stored": len(emulator.store)})


async def summary(request: web.Request) -> web.Response:
    return json_response(request, request.app[EMULATOR].summary())


def setup_routes(app: web.Application) -> None:
    app.router.add_get(f"{PREFIX}/events", list_events)
    app.router.add_get(f"{PREFIX}/events/{{message_id}}", get_event)
    app.router.add_post(f"{PREFIX}/reset", reset)
    app.router.add_post(f"{PREFIX}/flush", flush)
    app.router.add_get(f"{PREFIX}/health", health)
    app.router.add_get(f"{PREFIX}/summary", summary)
