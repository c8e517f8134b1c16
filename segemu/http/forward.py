"""GET /_segemu/forward: where forward relays calls, and each relayed call's status
(segemu/traffic/forward.py). Read-only: forwarding is configured in segemu.toml or with
`segemu run --forward`, never by a request, so no web page can send calls elsewhere."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from segemu.http.keys import EMULATOR
from segemu.http.params import ParamError, int_param
from segemu.http.responses import error_response, json_response
from segemu.traffic.forward import FORWARD_STATUSES

MAX_LIMIT = 1000


async def forward_status(request: web.Request) -> web.Response:
    """GET /_segemu/forward?status=&limit=&id="""
    forwarder = request.app[EMULATOR].forwarder
    status = request.query.get("status")
    if status is not None and status not in FORWARD_STATUSES:
        return error_response(
            request,
            400,
            "invalid_query",
            f"status must be one of {', '.join(FORWARD_STATUSES)}, got {status!r}",
        )
    try:
        limit = int_param(request, "limit", 100, 1, MAX_LIMIT)
        record_id = int_param(request, "id", None, 1, 2**62)
    except ParamError as exc:
        return error_response(request, 400, "invalid_query", str(exc))
    if forwarder is None:
        return json_response(
            request,
            {
                "enabled": False,
                "note": "forward is off: set [forward] url and write_keys in segemu.toml, "
                "or run segemu run --forward URL --forward-key KEY",
                "calls": [],
            },
        )
    if record_id is not None:
        found = forwarder.status_of(record_id)
        calls = [found] if found is not None else []
    else:
        calls = forwarder.statuses(status, limit or 100)
    return json_response(request, {**forwarder.describe(), "calls": calls})


def openapi_paths(prefix: str) -> dict[str, Any]:
    """This route, for /_segemu/openapi.json (segemu/http/openapi.py)."""

    def param(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "name": name,
            "in": "query",
            "required": False,
            "description": description,
            "schema": schema,
        }

    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    return {
        f"{prefix}/forward": {
            "get": {
                "tags": ["Control API"],
                "summary": "Where forward relays calls, and each relayed call's status",
                "parameters": [
                    param(
                        "status",
                        "Only calls with this status.",
                        {"type": "string", "enum": list(FORWARD_STATUSES)},
                    ),
                    param(
                        "limit",
                        "The newest N calls (default 100).",
                        {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
                    ),
                    param(
                        "id",
                        "One stored call's status, by record id.",
                        {"type": "integer", "minimum": 1},
                    ),
                ],
                "responses": {
                    "200": {
                        "description": "`enabled`, `url`, `endpoint`, `writeKeys`, `keyMap`, "
                        "`queued`, `counts` by status, and `calls`: id, messageId, writeKey, "
                        "status, attempts, detail, at (newest first).",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    },
                    "400": {"description": "A bad status or limit.", **error},
                },
            }
        }
    }


def setup_routes(app: web.Application, prefix: str) -> None:
    app.router.add_get(f"{prefix}/forward", forward_status)
