"""Source Function webhooks, and the control API's view of Functions.

Webhooks (public, like the Tracking API: third-party services post to them):
    POST /functions/<source name>        segemu's URL for a Source Function
    POST /?b=<base64 source id>          Segment's own form (fn.segmentapis.com/?b=...), so a
                                         sender set up for Segment needs only the host changed;
                                         the id is the source's name or its write key
Control API:
    GET /_segemu/functions               each function: file, handlers, URL, compile error,
                                         counts; the runtime (Node, workers, libraries)
    GET /_segemu/functions/invocations   Source Function invocations, newest first
                                         (?function=<name>, ?errors=true, ?limit=)
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from segemu.functions.requests import invoke_by_name
from segemu.functions.service import MAX_WEBHOOK_BYTES
from segemu.http.body import BodyError, read_body, read_json
from segemu.http.keys import EMULATOR
from segemu.http.params import ParamError, int_param
from segemu.http.responses import error_response, json_response
from segemu.sources import Source

_MAX_LISTED = 500


async def webhook(request: web.Request) -> web.Response:
    """POST /functions/<name>"""
    functions = request.app[EMULATOR].functions
    name = request.match_info["name"]
    source = functions.source(name)
    if source is None:
        known = ", ".join(s["name"] for s in functions.describe() if s["kind"] == "source")
        return error_response(
            request,
            404,
            "unknown_function",
            f"no Source Function named {name!r}; known: {known or 'none configured'}",
        )
    return await _run(request, source)


async def segment_webhook(request: web.Request) -> web.Response:
    """POST /?b=<base64 source id>"""
    functions = request.app[EMULATOR].functions
    encoded = request.query.get("b")
    if not encoded:
        return error_response(
            request, 404, "not_found", "POST / takes ?b=<base64 source id> (a Source Function)"
        )
    source = functions.source_by_id(encoded)
    if source is None:
        return error_response(
            request,
            404,
            "unknown_function",
            f"?b={encoded} names no Source Function (base64 of a source's name or write key)",
        )
    return await _run(request, source)


async def _run(request: web.Request, source: Source) -> web.Response:
    try:
        data = await read_body(request, MAX_WEBHOOK_BYTES, "the webhook payload")
    except BodyError as error:
        return error_response(request, 400, error.code, error.message)
    answer = await request.app[EMULATOR].functions.request(
        source,
        request.method,
        str(request.url),
        {str(name): value for name, value in request.headers.items()},
        data.decode("utf-8", errors="replace"),
    )
    return json_response(request, answer.body, answer.status)


async def invoke(request: web.Request) -> web.Response:
    """POST /_segemu/functions/<name>/requests {method, headers, query, body}: run the
    Source Function on this webhook and answer with the invocation (the pytest API's
    function_request)."""
    try:
        payload = await read_json(request)
    except BodyError as error:
        return error_response(request, 400, error.code, error.message)
    name = request.match_info["name"]
    base = f"{request.scheme}://{request.host}"
    invocation, problem = await invoke_by_name(request.app[EMULATOR], name, payload, base)
    if problem is not None:
        status = 404 if problem.startswith("no Source Function") else 400
        code = "unknown_function" if status == 404 else "invalid_request"
        return error_response(request, status, code, problem)
    return json_response(request, invocation)


async def list_functions(request: web.Request) -> web.Response:
    functions = request.app[EMULATOR].functions
    base = f"{request.scheme}://{request.host}"
    return json_response(
        request, {"functions": functions.describe(base), "runtime": functions.status()}
    )


async def list_invocations(request: web.Request) -> web.Response:
    try:
        limit = int_param(request, "limit", 100, 1, _MAX_LISTED)
    except ParamError as exc:
        return error_response(request, 400, "invalid_query", str(exc))
    errors = request.query.get("errors", "").lower() in ("1", "true", "yes")
    found = request.app[EMULATOR].functions.recent(
        request.query.get("function") or None, errors, limit or 100
    )
    return json_response(request, {"invocations": found, "count": len(found)})


def setup_routes(app: web.Application, prefix: str) -> None:
    app.router.add_post("/functions/{name}", webhook)
    app.router.add_post("/", segment_webhook)
    app.router.add_get(f"{prefix}/functions", list_functions)
    app.router.add_get(f"{prefix}/functions/invocations", list_invocations)
    app.router.add_post(f"{prefix}/functions/{{name}}/requests", invoke)


def openapi_paths(prefix: str) -> dict[str, Any]:
    """These routes, for /_segemu/openapi.json (segemu/http/openapi.py)."""
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    anything = {"content": {"application/json": {"schema": {"type": "object"}}}}

    def param(name: str, description: str, where: str, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "name": name,
            "in": where,
            "required": where == "path",
            "description": description,
            "schema": schema,
        }

    webhook_answers = {
        "200": {"description": "The function ran: `{success: true}`.", **anything},
        "400": {
            "description": "The function threw (Bad Request, Message Rejected, Unsupported "
            "Event Type), or the payload is over 512 KiB.",
            **anything,
        },
        "404": {"description": "No such Source Function.", **error},
        "500": {"description": "The function's file does not compile.", **anything},
        "503": {"description": "RetryError, a timeout or a lost worker: retry.", **anything},
    }
    body = {"required": False, "content": {"*/*": {"schema": {}}}}
    tag = ["Functions"]
    return {
        "/functions/{name}": {
            "post": {
                "tags": tag,
                "summary": "A Source Function's webhook: runs onRequest, ingests its calls",
                "parameters": [param("name", "The source's name.", "path", {"type": "string"})],
                "requestBody": body,
                "responses": webhook_answers,
            }
        },
        "/": {
            "post": {
                "tags": tag,
                "summary": "Segment's webhook form: ?b=<base64 source id>",
                "parameters": [
                    param(
                        "b",
                        "base64 of the source's name or write key.",
                        "query",
                        {"type": "string"},
                    )
                ],
                "requestBody": body,
                "responses": webhook_answers,
            }
        },
        f"{prefix}/functions": {
            "get": {
                "tags": tag,
                "summary": "Each function (file, handlers, URL, compile error) and the runtime",
                "responses": {"200": {"description": "`functions` and `runtime`.", **anything}},
            }
        },
        f"{prefix}/functions/{{name}}/requests": {
            "post": {
                "tags": tag,
                "summary": "Run a Source Function on a webhook given as data; the invocation",
                "parameters": [param("name", "The source's name.", "path", {"type": "string"})],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "method": {"type": "string"},
                                    "body": {"type": "string"},
                                    "headers": {
                                        "type": "object",
                                        "additionalProperties": {"type": "string"},
                                    },
                                    "query": {
                                        "type": "object",
                                        "additionalProperties": {"type": "string"},
                                    },
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "200": {
                        "description": "The invocation: status, emitted, records, logs, "
                        "fetches, error.",
                        **anything,
                    },
                    "400": {"description": "A malformed request.", **error},
                    "404": {"description": "No such Source Function.", **error},
                },
            }
        },
        f"{prefix}/functions/invocations": {
            "get": {
                "tags": tag,
                "summary": "Source Function invocations, newest first",
                "parameters": [
                    param("function", "Only this source's.", "query", {"type": "string"}),
                    param("errors", "Only failed ones (true).", "query", {"type": "string"}),
                    param(
                        "limit",
                        "At most this many (1-500, default 100).",
                        "query",
                        {"type": "integer", "minimum": 1, "maximum": _MAX_LISTED},
                    ),
                ],
                "responses": {
                    "200": {"description": "`invocations` and `count`.", **anything},
                    "400": {"description": "A bad parameter.", **error},
                },
            }
        },
    }
