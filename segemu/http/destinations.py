"""The control API of mock destinations: what each one received, and why an event went where.

GET    /_segemu/destinations                       each destination, with delivery counts
GET    /_segemu/destinations/{id}                  one destination: settings, mappings
PUT    /_segemu/destinations/{id}                  add or replace it (same table as config)
DELETE /_segemu/destinations/{id}
GET    /_segemu/destinations/{id}/deliveries       what it received, newest first
GET    /_segemu/events/{messageId}/routing         the routing matrix of one event
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from segemu.config import ConfigError
from segemu.destinations.runtime import DELIVERY_STATUSES, delivery_entry, describe
from segemu.http.body import BodyError, read_json
from segemu.http.keys import EMULATOR
from segemu.http.params import ParamError, event_filter, int_param
from segemu.http.responses import error_response, json_response

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_SCAN = 100_000


async def list_destinations(request: web.Request) -> web.Response:
    """GET /_segemu/destinations?scan=N: counts over the newest N records (default 1000)."""
    try:
        scan = int_param(request, "scan", 1000, 1, MAX_SCAN)
    except ParamError as exc:
        return error_response(request, 400, "invalid_query", str(exc))
    assert scan is not None
    return json_response(
        request, {"destinations": await request.app[EMULATOR].destination_summaries(scan)}
    )


def _unknown(request: web.Request, destination_id: str) -> web.Response:
    known = ", ".join(d.id for d in request.app[EMULATOR].destinations.current) or "none"
    return error_response(
        request, 404, "not_found", f"no destination {destination_id!r}; configured: {known}"
    )


async def get_destination(request: web.Request) -> web.Response:
    destination_id = request.match_info["destination"]
    destination = request.app[EMULATOR].destinations.get(destination_id)
    if destination is None:
        return _unknown(request, destination_id)
    return json_response(request, describe(destination, full=True))


async def put_destination(request: web.Request) -> web.Response:
    """PUT /_segemu/destinations/{id} with the JSON form of a [destinations.<id>] table."""
    try:
        entry: Any = await read_json(request)
    except BodyError as error:
        return error_response(request, 400, error.code, error.message)
    try:
        described = request.app[EMULATOR].set_destination(request.match_info["destination"], entry)
    except ConfigError as exc:
        return error_response(request, 400, "invalid_destination", str(exc))
    return json_response(request, described)


async def delete_destination(request: web.Request) -> web.Response:
    destination_id = request.match_info["destination"]
    if not request.app[EMULATOR].remove_destination(destination_id):
        return _unknown(request, destination_id)
    return json_response(request, {"removed": destination_id})


async def list_deliveries(request: web.Request) -> web.Response:
    """GET /_segemu/destinations/{id}/deliveries?status=&q=&writeKey=&limit= (the event
    filters of /events, plus the delivery status)."""
    emulator = request.app[EMULATOR]
    destination_id = request.match_info["destination"]
    if emulator.destinations.get(destination_id) is None:
        return _unknown(request, destination_id)
    status = request.query.get("deliveryStatus") or None
    try:
        if status is not None and status not in DELIVERY_STATUSES:
            raise ParamError(
                f"deliveryStatus must be one of {', '.join(DELIVERY_STATUSES)}, got {status!r}"
            )
        where = event_filter(request)
        limit = int_param(request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    except ParamError as exc:
        return error_response(request, 400, "invalid_query", str(exc))
    found = [
        delivery_entry(record, delivery)
        for record, delivery in await emulator.deliveries(destination_id, where, limit, status)
    ]
    return json_response(
        request, {"destination": destination_id, "deliveries": found, "count": len(found)}
    )


async def event_routing(request: web.Request) -> web.Response:
    """GET /_segemu/events/{messageId}/routing: for each destination, the decision and why."""
    emulator = request.app[EMULATOR]
    message_id = request.match_info["message_id"]
    records = emulator.store.with_message_id(message_id)
    if not records:
        return error_response(request, 404, "not_found", f"no event with messageId {message_id!r}")
    record = emulator.with_deliveries(records[0])
    routing = [
        {
            "destination": delivery["destination"],
            "name": delivery["name"],
            "status": delivery["status"],
            "reason": delivery["reason"],
            "actions": sorted({r["action"] for r in delivery["requests"]}),
            "attempts": delivery["attempts"],
        }
        for delivery in record["deliveries"].values()
    ]
    note = None
    if record["status"] != "accepted":
        note = f"not routed: the call was {record['status']} ({record['reason']})"
    return json_response(
        request,
        {
            "id": record["id"],
            "messageId": message_id,
            "status": record["status"],
            "note": note,
            "routing": routing,
        },
    )


def setup_routes(app: web.Application, prefix: str) -> None:
    app.router.add_get(f"{prefix}/destinations", list_destinations)
    app.router.add_get(f"{prefix}/destinations/{{destination}}", get_destination)
    app.router.add_put(f"{prefix}/destinations/{{destination}}", put_destination)
    app.router.add_delete(f"{prefix}/destinations/{{destination}}", delete_destination)
    app.router.add_get(f"{prefix}/destinations/{{destination}}/deliveries", list_deliveries)
    app.router.add_get(f"{prefix}/events/{{message_id}}/routing", event_routing)


def openapi_paths(prefix: str) -> dict[str, Any]:
    """These routes, for /_segemu/openapi.json (segemu/http/openapi.py)."""

    def param(
        name: str, description: str, where: str = "query", schema: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        return {
            "name": name,
            "in": where,
            "required": where == "path",
            "description": description,
            "schema": schema or {"type": "string"},
        }

    def answer(description: str) -> dict[str, Any]:
        return {
            "description": description,
            "content": {"application/json": {"schema": {"type": "object"}}},
        }

    tag = ["Destinations"]
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    not_found = {"404": {"description": "No such destination.", **error}}
    bad = {"400": {"description": "A client mistake, explained in `message`.", **error}}
    one = param("destination", "The destination id, e.g. `mixpanel`.", "path")
    return {
        f"{prefix}/destinations": {
            "get": {
                "tags": tag,
                "summary": "Each destination, with delivery counts",
                "parameters": [
                    param(
                        "scan",
                        "Count over the newest N calls (default 1000).",
                        schema={"type": "integer", "minimum": 1, "maximum": MAX_SCAN},
                    )
                ],
                "responses": {
                    "200": answer(
                        "`destinations`: id, name, preset, enabled, actions, "
                        "filters, counts by status, lastError, "
                        "lastDelivered."
                    ),
                    **bad,
                },
            }
        },
        f"{prefix}/destinations/{{destination}}": {
            "get": {
                "tags": tag,
                "summary": "One destination: settings, actions, mappings",
                "parameters": [one],
                "responses": {"200": answer("The destination."), **not_found},
            },
            "put": {
                "tags": tag,
                "summary": "Add or replace a destination for calls received from now on",
                "parameters": [one],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "description": (
                                    "The JSON form of a [destinations.<id>] table of segemu.toml: "
                                    "preset, enabled, settings, consent_categories, filters, "
                                    "failures, retry, actions."
                                ),
                            }
                        }
                    },
                },
                "responses": {"200": answer("The destination as configured."), **bad},
            },
            "delete": {
                "tags": tag,
                "summary": "Remove a destination",
                "parameters": [one],
                "responses": {"200": answer("Removed."), **not_found},
            },
        },
        f"{prefix}/destinations/{{destination}}/deliveries": {
            "get": {
                "tags": tag,
                "summary": "What one destination received, newest first",
                "parameters": [
                    one,
                    param(
                        "deliveryStatus",
                        "Only deliveries with this status.",
                        schema={"enum": list(DELIVERY_STATUSES)},
                    ),
                    param("q", "A query over the calls, as on /events."),
                    param("writeKey", "Only this source."),
                    param(
                        "limit",
                        "At most this many (default 100).",
                        schema={"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
                    ),
                ],
                "responses": {
                    "200": answer(
                        "`deliveries`: the call (id, messageId, type, event) "
                        "and its delivery: status, reason, requests, "
                        "attempts."
                    ),
                    **not_found,
                    **bad,
                },
            }
        },
        f"{prefix}/events/{{message_id}}/routing": {
            "get": {
                "tags": tag,
                "summary": "For one call, each destination's decision and its reason",
                "parameters": [param("message_id", "The messageId.", "path")],
                "responses": {
                    "200": answer("`routing`: destination, status, reason, actions."),
                    "404": {"description": "No such messageId.", **error},
                },
            }
        },
    }
