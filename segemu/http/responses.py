"""Responses with their CORS headers, JSON through orjson.

The Tracking API and the CDN routes (reference/segment-wire-contract.md §1.2,
sdk-captures/README.md): analytics-next >= 1.84 sends `Authorization` and `X-Retry-Count`, so
browsers preflight every event POST. The answer allows them; the Origin is echoed (with
credentials allowed) so that `deliveryStrategy.config.credentials = "include"` works too, and
`*` is sent without an Origin.

The control API grants CORS only to the origins http/guard.py let through (the request would
have been refused otherwise), and never with credentials: it reads no cookies.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from aiohttp import web

from segemu.http.guard import is_control

ALLOWED_HEADERS = "Content-Type, Authorization, X-Retry-Count"
ALLOWED_METHODS = "GET, POST, OPTIONS"
CONTROL_METHODS = "GET, POST, PUT, DELETE, OPTIONS"
# Browsers cache the preflight this long (Chromium caps it at 2 hours).
PREFLIGHT_MAX_AGE = "600"


def cors_headers(request: web.Request) -> dict[str, str]:
    origin = request.headers.get("Origin")
    if is_control(request.path):
        return control_cors_headers(origin)
    if origin:
        return {
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Credentials": "true",
            "Vary": "Origin",
        }
    return cors_headers_without_origin()


def cors_headers_without_origin() -> dict[str, str]:
    return {"Access-Control-Allow-Origin": "*"}  # a new dict: aiohttp may keep a reference


def control_cors_headers(origin: str | None) -> dict[str, str]:
    # Cross-Origin-Resource-Policy: no other site may embed an answer (an <img>, a <script>)
    # and have it in its process (fetch.spec.whatwg.org §cross-origin-resource-policy).
    headers = {"Cross-Origin-Resource-Policy": "same-origin", "Vary": "Origin"}
    if origin:
        headers["Access-Control-Allow-Origin"] = origin
    return headers


def _encode(data: Any) -> bytes:
    """JSON for an answer. Messages can quote what a client sent in a header or a query string,
    which aiohttp hands over with undecodable bytes as lone surrogates: orjson refuses those,
    the standard library writes them as \\u escapes."""
    try:
        return orjson.dumps(data)
    except TypeError:
        return json.dumps(data, default=str).encode()


def json_response(request: web.Request, data: Any, status: int = 200) -> web.Response:
    return web.Response(
        body=_encode(data),
        status=status,
        content_type="application/json",
        headers=cors_headers(request),
    )


def error_response(request: web.Request, status: int, code: str, message: str) -> web.Response:
    """The error body: `code` and `message` are what analytics-python reads from a non-2xx
    answer (segment/analytics/request.py), `error` what analytics-ruby reads."""
    return json_response(
        request, {"success": False, "code": code, "message": message, "error": message}, status
    )


async def preflight(request: web.Request) -> web.Response:
    """OPTIONS, of any path. A control API preflight got here past http/guard.py, so its
    origin is allowed.

    Private Network Access (wicg.github.io/private-network-access §Integration with Fetch):
    before a public page may reach a server on the loopback address, Chrome sends
    `Access-Control-Request-Private-Network: true`; the grant is the answer's
    `Access-Control-Allow-Private-Network: true`. Every page may reach the Tracking API and
    the CDN; only allowed origins the control API.
    """
    headers = cors_headers(request)
    requested = request.headers.get("Access-Control-Request-Headers")
    allowed = ALLOWED_HEADERS if not requested else f"{ALLOWED_HEADERS}, {requested}"
    headers.update(
        {
            "Access-Control-Allow-Methods": CONTROL_METHODS
            if is_control(request.path)
            else ALLOWED_METHODS,
            "Access-Control-Allow-Headers": allowed,
            "Access-Control-Max-Age": PREFLIGHT_MAX_AGE,
        }
    )
    if request.headers.get("Access-Control-Request-Private-Network", "").lower() == "true":
        headers["Access-Control-Allow-Private-Network"] = "true"
    return web.Response(status=204, headers=headers)


async def not_found(request: web.Request) -> web.Response:
    """Every request no route took: a 405 naming the methods a known path takes, else a 404."""
    allowed = await _methods_of(request)
    if allowed:
        answer = error_response(
            request,
            405,
            "method_not_allowed",
            f"{request.path} does not take {request.method}; it takes {', '.join(allowed)}",
        )
        answer.headers["Allow"] = ", ".join(allowed)
        return answer
    return error_response(
        request,
        404,
        "not_found",
        f"no route {request.method} {request.path}; the Tracking API is under /v1/ and "
        f"segemu's own API under /_segemu/",
    )


async def _methods_of(request: web.Request) -> list[str]:
    """The methods the routes of this path take (RFC 9110 §15.5.6), OPTIONS aside: asked of
    each resource, which costs only requests no route took."""
    methods: set[str] = set()
    for resource in request.app.router.resources():
        if resource.canonical == CATCH_ALL:
            continue
        match, allowed = await resource.resolve(request)
        if match is None:
            methods.update(allowed)
    methods.discard("OPTIONS")
    return sorted(methods)


# The path of the catch-all routes (app.py): preflights, and this module's not_found.
CATCH_ALL = "/{tail}"
