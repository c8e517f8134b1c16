"""The Tracking API, as the official SDKs call it (reference/segment-wire-contract.md §1).

Every accepted request is answered `200 {"success": true}`, whatever becomes of its events:
Segment drops invalid events after answering (DOCS http-api §Errors), and segemu stores them as
rejected with the reason instead. Only bodies Segment itself refuses get a 400.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp import web
from aiohttp.hdrs import ORIGIN
from multidict import CIMultiDict, CIMultiDictProxy

from segemu.emulator import Emulator
from segemu.http.body import (
    MAX_BATCH_BYTES,
    MAX_EVENT_BYTES,
    BodyError,
    header_write_key,
    parse_batch,
    parse_json_object,
    read_body,
)
from segemu.http.faults import intercept
from segemu.http.keys import EMULATOR
from segemu.http.responses import cors_headers, cors_headers_without_origin, error_response
from segemu.jsonlimits import MAX_DEPTH, deeper_than, parsed_deeper_than, too_deep_message
from segemu.message import EVENT_TYPES, Channel, Envelope

log = logging.getLogger("segemu.http")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# analytics-next's standard dispatcher posts to `/v1/<first letter of the type>`
# (packages/browser/src/plugins/segmentio/index.ts); the server SDKs use the full names.
SINGLE_ROUTES: dict[str, str] = {
    **{kind: kind for kind in EVENT_TYPES},
    **{kind[0]: kind for kind in EVENT_TYPES},
}
# /v1/b is the browser's batching dispatcher (batched-dispatcher.ts); /v1/import is the
# batch route of analytics-android and segment-import.
BATCH_ROUTES = ("batch", "import", "b")
# Calls from the browser routes come from a client; Segment then fills in context.ip.
CLIENT_ROUTES = frozenset({*(kind[0] for kind in EVENT_TYPES), "b", "pixel"})
_PREFIX = "/v1/"
RETRY_COUNT = "X-Retry-Count"

SUCCESS = b'{"success":true}'
# DOCS pixel-tracking-api: "always responds with a 200 <empty-gif>, even if an error occurs".
EMPTY_GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


# The headers of a success answer to a call without an Origin (every server SDK), built once:
# aiohttp copies them into each response, which is cheaper than building them each time.
_SUCCESS_HEADERS = CIMultiDictProxy(
    CIMultiDict({**cors_headers_without_origin(), "Content-Type": "application/json"})
)


def _success(request: web.Request) -> web.Response:
    if ORIGIN not in request.headers:
        return web.Response(body=SUCCESS, headers=_SUCCESS_HEADERS)
    headers = cors_headers(request)
    headers["Content-Type"] = "application/json"  # cheaper than content_type=, which parses
    return web.Response(body=SUCCESS, headers=headers)


def _refused(request: web.Request, emulator: Emulator, error: BodyError) -> web.Response:
    emulator.refuse(request.path, 400, error.code, error.message)
    return error_response(request, 400, error.code, error.message)


def _channel(route: str) -> Channel:
    return "client" if route in CLIENT_ROUTES else "server"


def _envelope(request: web.Request, channel: Channel, items: list[Any], **fields: Any) -> Envelope:
    return Envelope(
        route=request.path,
        items=items,
        received_at=datetime.now(UTC),
        header_write_key=header_write_key(request),
        channel=channel,
        # Used for client routes, and for calls that set context.direct (message.normalize).
        ip=request.remote,
        retry_count=_retry_count(request.headers.get(RETRY_COUNT)),
        **fields,
    )


def _retry_count(value: str | None) -> int | None:
    """X-Retry-Count, sent on retries by analytics-next >= 1.84, analytics-node and
    analytics-python 2.4 (sdk-captures/README.md). Not a number: ignored, as Segment would."""
    if value is None:
        return None
    value = value.strip()
    return int(value) if value.isascii() and value.isdigit() and len(value) < 10 else None


def _require_write_key(envelope: Envelope) -> None:
    """A call with no write key anywhere is refused: Segment answers 400 to an empty key
    (reference/segment-wire-contract.md §2, analytics-go#205)."""
    if envelope.header_write_key or (isinstance(envelope.write_key, str) and envelope.write_key):
        return
    for item in envelope.items:
        if isinstance(item, dict) and isinstance(item.get("writeKey"), str) and item["writeKey"]:
            return
    raise BodyError(
        "no_write_key",
        "no write key: send Authorization: Basic base64(writeKey:) or a writeKey in the body",
    )


def single_handler(route: str) -> Handler:
    """The handler of POST /v1/<route> (/v1/track, /v1/identify, ... and the browser's /v1/t,
    /v1/i, ...). What the route decides (the call's type, its channel) is worked out here,
    once, not on every request."""
    route_type = SINGLE_ROUTES[route]
    channel = _channel(route)

    async def single(request: web.Request) -> web.StreamResponse:
        emulator = request.app[EMULATOR]
        emulator.count_request()
        try:
            body = parse_json_object(await read_body(request, MAX_EVENT_BYTES, "the event"))
            envelope = _envelope(request, channel, [body], route_type=route_type)
            _require_write_key(envelope)
        except BodyError as error:
            return _refused(request, emulator, error)
        if emulator.faults.rules:  # one attribute test while no fault is set
            faulted = await intercept(request, emulator, envelope, _success)
            if faulted is not None:
                return faulted
        emulator.ingest(envelope)
        return _success(request)

    return single


def batch_handler(route: str) -> Handler:
    """The handler of POST /v1/batch, /v1/import and the browser's /v1/b."""
    channel = _channel(route)

    async def batch(request: web.Request) -> web.StreamResponse:
        emulator = request.app[EMULATOR]
        emulator.count_request()
        try:
            data = await read_body(request, MAX_BATCH_BYTES, "the batch")
            # Each call sits two levels down, in {"batch": [...]}: the calls get the same
            # limit as a single call, and so does what the batch lends them.
            body, encoded = parse_batch(data, "a call in the batch")
            items = body.get("batch")
            if not isinstance(items, list):
                raise BodyError("invalid_batch", 'body must have a "batch" array of events')
            _check_shared_depth(body)
            if len(data) > MAX_EVENT_BYTES:  # only then can one event be over the limit
                _check_event_sizes(items, encoded)
            envelope = _envelope(
                request,
                channel,
                items,
                write_key=body.get("writeKey"),
                sent_at=body.get("sentAt"),
                context=body.get("context"),
                integrations=body.get("integrations"),
            )
            _require_write_key(envelope)
        except BodyError as error:
            return _refused(request, emulator, error)
        if emulator.faults.rules:
            faulted = await intercept(request, emulator, envelope, _success)
            if faulted is not None:
                return faulted
        emulator.ingest(envelope)
        return _success(request)

    return batch


def _check_shared_depth(body: dict[str, Any]) -> None:
    """The batch's context and integrations are merged into each call, at the call's level."""
    context, integrations = body.get("context"), body.get("integrations")
    if context is None and integrations is None:  # what most SDKs send: nothing to walk
        return
    shared = {"context": context, "integrations": integrations}
    if deeper_than(shared, MAX_DEPTH):
        raise BodyError("too_deep", too_deep_message("the batch's context or integrations"))


def _check_event_sizes(items: list[Any], encoded: list[bytes] | None) -> None:
    """DOCS http-api §Errors: "a limit of 32KB per event in the batch"; over it, a 400.
    `encoded`: the calls as orjson wrote them already (body.parse_batch), if it did."""
    for position, item in enumerate(items):
        size = len(encoded[position] if encoded is not None else orjson.dumps(item))
        if size > MAX_EVENT_BYTES:
            raise BodyError(
                "too_large",
                f"batch[{position}] is {size:,} bytes, over Segment's limit of 32 KB per event",
            )


async def metrics(request: web.Request) -> web.Response:
    """POST /v1/m: analytics-next's telemetry (core/stats/remote-metrics.ts). Counted only."""
    emulator = request.app[EMULATOR]
    try:
        body = parse_json_object(await read_body(request, MAX_BATCH_BYTES, "the metrics"))
    except BodyError as error:
        return _refused(request, emulator, error)
    series = body.get("series")
    emulator.count_metrics(len(series) if isinstance(series, list) else 0)
    return _success(request)


async def pixel(request: web.Request) -> web.Response:
    """GET /v1/pixel/<type>?data=<base64 JSON>: a 1x1 gif whatever happens (DOCS
    pixel-tracking-api). A decodable event is ingested like any other."""
    emulator = request.app[EMULATOR]
    emulator.count_pixel()
    kind = request.match_info["type"]
    data = request.query.get("data")
    event = _decode_pixel_data(data) if data is not None else _pixel_fields(request.query)
    if kind in EVENT_TYPES and event is not None:
        envelope = _envelope(request, _channel("pixel"), [event], route_type=kind)
        try:
            _require_write_key(envelope)
            emulator.ingest(envelope)
        except BodyError as error:
            emulator.refuse(request.path, 200, error.code, error.message)
    else:
        emulator.refuse(
            request.path, 200, "invalid_pixel", f"pixel type {kind!r} or its data could not be read"
        )
    return web.Response(body=EMPTY_GIF, content_type="image/gif", headers=cors_headers(request))


def _pixel_fields(query: Mapping[str, str]) -> dict[str, Any] | None:
    """The unencoded form (DOCS pixel-tracking-api: "If you choose not to encode your payload"):
    `?userId=u&event=Email Opened&properties.subject=...&writeKey=...`, a dotted name making
    nested objects. Values stay strings: a query string carries no types."""
    event: dict[str, Any] = {}
    for name, value in query.items():
        parts = name.split(".")
        if len(parts) > MAX_DEPTH or not all(parts):
            return None
        target = event
        for part in parts[:-1]:
            below = target.get(part)
            if not isinstance(below, dict):
                below = target[part] = {}
            target = below
        target[parts[-1]] = value
    return event or None


def _decode_pixel_data(data: str) -> dict[str, Any] | None:
    # Base64 is optional (DOCS pixel-tracking-api): `data` may be the JSON itself.
    if data.lstrip().startswith("{"):
        try:
            parsed = orjson.loads(data)
        except orjson.JSONDecodeError:
            return None
        encoded = data.encode()
        return (
            parsed
            if isinstance(parsed, dict) and not parsed_deeper_than(encoded, parsed, MAX_DEPTH)
            else None
        )
    padded = data + "=" * (-len(data) % 4)
    for decode in (base64.b64decode, base64.urlsafe_b64decode):
        try:
            text = decode(padded)
            parsed = orjson.loads(text)
        except (binascii.Error, ValueError):
            continue
        # Too deep to be stored: refused like data that cannot be read (still a gif).
        return (
            parsed
            if isinstance(parsed, dict) and not parsed_deeper_than(text, parsed, MAX_DEPTH)
            else None
        )
    return None


def setup_routes(app: web.Application) -> None:
    # A plain path per route, not one pattern for them all: aiohttp finds a plain path with a
    # dict lookup, where a pattern costs a regular expression match on every call.
    for route in SINGLE_ROUTES:
        _add_post(app, route, single_handler(route))
    for route in BATCH_ROUTES:
        _add_post(app, route, batch_handler(route))
    app.router.add_post("/v1/m", metrics)
    app.router.add_get("/v1/pixel/{type}", pixel)


def _add_post(app: web.Application, route: str, handler: Handler) -> None:
    for path in (f"{_PREFIX}{route}", f"{_PREFIX}{route}/"):  # with or without the slash
        app.router.add_post(path, handler)
