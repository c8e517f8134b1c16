"""Faults at the HTTP edge: carrying out what segemu/faults decided, before the body reaches the
pipeline, and the control API that manages the rules (/_segemu/faults).

Effects, as an SDK sees them:
- status: the code, a JSON body like segemu's other refusals, and Retry-After when the rule has
  one (and X-RateLimit-Reset, as Segment sends both). They are exposed to pages
  (Access-Control-Expose-Headers): a cross-origin fetch reads only safelisted headers
  otherwise, and analytics-next reads Retry-After (fetch-dispatcher.ts).
- timeout: no answer; after the rule's seconds (bounded, MAX_HOLD_SECONDS) the connection is
  closed without one. At most MAX_HELD requests are held at once; past that, closed at once.
- reset: the connection is reset (TCP RST, SO_LINGER 0): the SDK sees ECONNRESET.
- close: the connection is closed (FIN) before any answer.
- partial: `200 {"success": true}`, but only the first N calls of the batch are kept.
- latency: the answer comes that many seconds late; alone, the calls are stored as they
  arrive (a client that gives up first and retries sends a duplicate); before another effect,
  that effect comes late.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import Callable
from typing import Any

from aiohttp import web

from segemu.emulator import Emulator
from segemu.faults import Faulted, FaultError
from segemu.faults.rules import MAX_HOLD_SECONDS
from segemu.http.body import NO_BODY, BodyError, read_json
from segemu.http.keys import EMULATOR
from segemu.http.params import ParamError, int_param
from segemu.http.responses import error_response, json_response
from segemu.jsonlimits import LARGEST_INTEGER
from segemu.message import EVENT_TYPES, Envelope

# Requests held by a timeout fault at once; each is an open socket.
MAX_HELD = 64
LISTING_LIMIT = 100
MAX_LISTING_LIMIT = 1000


class Held:
    """The requests a timeout fault holds: counted, and released together at shutdown."""

    def __init__(self) -> None:
        self.count = 0
        self._released: asyncio.Event | None = None

    @property
    def released(self) -> asyncio.Event:
        if self._released is None:  # made on the server's loop, at the first hold
            self._released = asyncio.Event()
        return self._released

    def release(self) -> None:
        self.released.set()


HELD = web.AppKey("faults_held", Held)


def write_key_of(envelope: Envelope) -> str | None:
    """The write key a request carries, where Segment looks for it first (message.py)."""
    for candidate in (envelope.header_write_key, envelope.write_key):
        if isinstance(candidate, str) and candidate:
            return candidate
    for item in envelope.items:
        if isinstance(item, dict) and isinstance(item.get("writeKey"), str) and item["writeKey"]:
            return str(item["writeKey"])
    return None


async def intercept(
    request: web.Request,
    emulator: Emulator,
    envelope: Envelope,
    success: Callable[[web.Request], web.StreamResponse],
) -> web.StreamResponse | None:
    """Apply the first fault that fires on this request: an answer to send instead of
    ingesting it, or None to ingest `envelope` (whose items a partial fault may have cut)."""
    faulted = emulator.faults.decide(
        request.path,
        write_key_of(envelope),
        envelope.items,
        envelope.retry_count,
        envelope.route_type,
    )
    if faulted is None:
        return None
    rule = faulted.rule
    if rule.effect == "latency":
        # A slow answer, not a slow arrival: the calls are stored now, as a server that got
        # the whole body would, so a client that gives up and retries sends a duplicate.
        emulator.ingest(envelope)
        await asyncio.sleep(rule.latency)
        return success(request)
    if rule.latency:
        await asyncio.sleep(rule.latency)
    match rule.effect:
        case "status":
            return _status_answer(request, faulted)
        case "timeout":
            return await _hold(request, rule.timeout, faulted)
        case "reset":
            return _drop(request, reset=True)
        case "close":
            return _drop(request, reset=False)
        case "partial":
            del envelope.items[rule.partial :]
    return None


def _status_answer(request: web.Request, faulted: Faulted) -> web.Response:
    rule = faulted.rule
    assert rule.status is not None
    message = f"{faulted.entry['reason']} (segemu fault, not a problem with the request)"
    answer = error_response(request, rule.status, "fault", message)
    if rule.retry_after is not None:
        # DOCS http-api §Rate limits: a 429 says when to come back, in Retry-After and
        # X-RateLimit-Reset (seconds); analytics-next before 1.84 read only the latter.
        answer.headers["Retry-After"] = str(rule.retry_after)
        answer.headers["X-RateLimit-Reset"] = str(rule.retry_after)
        answer.headers["Access-Control-Expose-Headers"] = "Retry-After, X-RateLimit-Reset"
    return answer


async def _hold(request: web.Request, seconds: float, faulted: Faulted) -> web.StreamResponse:
    held = request.app[HELD]
    if held.count >= MAX_HELD:
        faulted.entry["reason"] += f" (over {MAX_HELD} held at once: closed at once)"
        return _drop(request, reset=False)
    held.count += 1
    try:
        await asyncio.wait_for(held.released.wait(), seconds)
    except TimeoutError:
        pass
    finally:
        held.count -= 1
    return _drop(request, reset=False)


def _drop(request: web.Request, *, reset: bool) -> web.StreamResponse:
    """End the connection with no answer; aiohttp then has nothing to write to."""
    transport = request.transport
    if transport is not None:
        sock = transport.get_extra_info("socket")
        if reset and sock is not None:
            # Linger 0: close() sends RST instead of FIN, which clients see as a reset.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.close()
    # The answer is never written (the transport is gone); aiohttp drops it quietly.
    return web.Response(status=499)


# -- the control API ----------------------------------------------------------------------


async def list_faults(request: web.Request) -> web.Response:
    """GET /_segemu/faults?writeKey=&limit=: the rules and the faulted requests, newest
    first, each with the messageIds it refused and which of them arrived since."""
    try:
        limit = int_param(request, "limit", LISTING_LIMIT, 1, MAX_LISTING_LIMIT)
    except ParamError as exc:
        return error_response(request, 400, "invalid_query", str(exc))
    assert limit is not None
    write_key = request.query.get("writeKey") or None
    return json_response(request, request.app[EMULATOR].faults.listing(write_key, limit))


async def add_fault(request: web.Request) -> web.Response:
    """POST /_segemu/faults with a rule (docs/faults.md): 201 and the rule as kept."""
    try:
        body = await read_json(request, empty=NO_BODY)
    except BodyError as error:
        return error_response(request, 400, error.code, error.message)
    if not isinstance(body, dict):
        return error_response(request, 400, "invalid_fault", "body must be a JSON object (a rule)")
    try:
        rule = request.app[EMULATOR].faults.add(body, "POST /_segemu/faults")
    except FaultError as exc:
        return error_response(request, 400, "invalid_fault", str(exc))
    return json_response(request, rule.to_json(), 201)


async def remove_fault(request: web.Request) -> web.Response:
    """DELETE /_segemu/faults/<id>."""
    rule_id = request.match_info["rule_id"]
    if not request.app[EMULATOR].faults.remove(rule_id):
        return error_response(request, 404, "not_found", f"no fault rule {rule_id!r}")
    return json_response(request, {"success": True, "removed": rule_id})


async def clear_faults(request: web.Request) -> web.Response:
    """DELETE /_segemu/faults[?writeKey=]: every rule and the log (or one write key's rules)."""
    write_key = request.query.get("writeKey")
    if write_key == "":
        return error_response(request, 400, "invalid_query", "writeKey must be a non-empty string")
    removed = request.app[EMULATOR].faults.clear(write_key)
    answer: dict[str, Any] = {"success": True, "removed": removed}
    return json_response(request, answer)


async def release_held(app: web.Application) -> None:
    # At shutdown, held requests end now instead of holding the stop up.
    app[HELD].release()


def setup_routes(app: web.Application, prefix: str) -> None:
    app[HELD] = Held()
    app.on_shutdown.append(release_held)
    app.router.add_get(f"{prefix}/faults", list_faults)
    app.router.add_post(f"{prefix}/faults", add_fault)
    app.router.add_delete(f"{prefix}/faults", clear_faults)
    app.router.add_delete(f"{prefix}/faults/{{rule_id}}", remove_fault)


def openapi_paths(prefix: str) -> dict[str, Any]:
    """These routes, for /_segemu/openapi.json (segemu/http/openapi.py)."""
    tag = ["Faults"]
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    bad = {"400": {"description": "A client mistake, explained in `message`.", **error}}

    def answer(description: str) -> dict[str, Any]:
        return {
            "description": description,
            "content": {"application/json": {"schema": {"type": "object"}}},
        }

    write_key = {
        "name": "writeKey",
        "in": "query",
        "required": False,
        "description": "Only this write key's rules and faulted requests.",
        "schema": {"type": "string"},
    }
    limit = {
        "name": "limit",
        "in": "query",
        "required": False,
        "description": f"At most this many faulted requests (default {LISTING_LIMIT}).",
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LISTING_LIMIT},
    }
    rule = rule_schema()
    return {
        f"{prefix}/faults": {
            "get": {
                "tags": tag,
                "summary": "The fault rules, and the requests they failed, newest first",
                "parameters": [write_key, limit],
                "responses": {
                    "200": answer(
                        "`rules` (each with seen and fired counts), `faulted` (each with the "
                        "refused messageIds, the X-Retry-Count sent, which calls `arrived` "
                        "later and which are `missing`), `total`."
                    ),
                    **bad,
                },
            },
            "post": {
                "tags": tag,
                "summary": "Add a fault rule (one with the id of an existing one replaces it)",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": rule}},
                },
                "responses": {"201": answer("The rule as kept."), **bad},
            },
            "delete": {
                "tags": tag,
                "summary": "Remove every rule and the log (or one write key's rules)",
                "parameters": [
                    {**write_key, "schema": {"type": "string", "minLength": 1}},
                ],
                "responses": {"200": answer("`removed`: how many rules."), **bad},
            },
        },
        f"{prefix}/faults/{{rule_id}}": {
            "delete": {
                "tags": tag,
                "summary": "Remove one rule",
                "parameters": [
                    {
                        "name": "rule_id",
                        "in": "path",
                        "required": True,
                        "description": "The rule's id.",
                        "schema": {"type": "string"},
                    }
                ],
                "responses": {
                    "200": answer("Removed."),
                    "404": {"description": "No such rule.", **error},
                },
            }
        },
    }


EFFECT_KEYS = ("status", "timeout", "reset", "close", "partial")


def rule_schema() -> dict[str, Any]:
    """A fault rule as JSON Schema: what segemu/faults/rules.py parse_rule accepts."""
    seconds = {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_HOLD_SECONDS}
    text = {"type": "string", "minLength": 1}

    def only(effect: str | None) -> dict[str, Any]:
        others = [key for key in EFFECT_KEYS if key != effect]
        return {
            "required": [effect or "latency"],
            "not": {"anyOf": [{"required": [key]} for key in others]},
        }

    return {
        "type": "object",
        "description": (
            "Selectors (route, writeKey, type, event, where), a trigger (probability, times, "
            "every, after, during, seed) and one effect (status with retryAfter, timeout, "
            "reset, close, partial), with optional latency. See docs/faults.md."
        ),
        "properties": {
            "id": text,
            "route": text,
            "writeKey": text,
            "type": {"enum": list(EVENT_TYPES)},
            "event": text,
            "where": {"type": "string"},
            "probability": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
            "times": {"type": "integer", "minimum": 1, "maximum": LARGEST_INTEGER},
            "every": {"type": "integer", "minimum": 1, "maximum": LARGEST_INTEGER},
            "after": {"type": "number", "minimum": 0},
            "during": {"type": "number", "minimum": 0},
            "seed": {"type": "integer", "minimum": -LARGEST_INTEGER, "maximum": LARGEST_INTEGER},
            "status": {"type": "integer", "minimum": 400, "maximum": 599},
            "retryAfter": {
                "anyOf": [
                    {"type": "integer", "minimum": 0, "maximum": LARGEST_INTEGER},
                    {"const": False},
                ]
            },
            "latency": seconds,
            "timeout": {"anyOf": [seconds, {"const": True}]},
            "reset": {"const": True},
            "close": {"const": True},
            "partial": {"type": "integer", "minimum": 0, "maximum": LARGEST_INTEGER},
        },
        "additionalProperties": False,
        "dependentRequired": {"retryAfter": ["status"]},
        "anyOf": [only(effect) for effect in (*EFFECT_KEYS, None)],
    }
