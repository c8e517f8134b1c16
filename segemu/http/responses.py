"""Responses with CORS on every one of them, JSON through orjson.

CORS (reference/segment-wire-contract.md §1.2, sdk-captures/README.md): analytics-next >= 1.84
sends `Authorization` and `X-Retry-Count`, so browsers preflight every event POST. The answer
allows them; the Origin is echoed (with credentials allowed) so that
`deliveryStrategy.config.credentials = "include"` works too, and `*` is sent without an Origin.
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

ALLOWED_HEADERS = "Content-Type, Authorization, X-Retry-Count"
ALLOWED_METHODS = "GET, POST, OPTIONS"
# Browsers cache the preflight this long (Chromium caps it at 2 hours).
PREFLIGHT_MAX_AGE = "600"


def cors_headers(request: web.Request) -> dict[str, str]:
    origin = request.headers.get("Origin")
    if origin:
        return {
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Credentials": "true",
            "Vary": "Origin",
        }
    return cors_headers_without_origin()


def cors_headers_without_origin() -> dict[str, str]:
    return {"Access-Control-Allow-Origin": "*"}  # a new dict: aiohttp may keep a reference


def json_response(request: web.Request, data: Any, status: int = 200) -> web.Response:
    return web.Response(
        body=orjson.dumps(data),
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
    headers = cors_headers(request)
    requested = request.headers.get("Access-Control-Request-Headers")
    allowed = ALLOWED_HEADERS if not requested else f"{ALLOWED_HEADERS}, {requested}"
    headers.update(
        {
            "Access-Control-Allow-Methods": ALLOWED_METHODS,
            "Access-Control-Allow-Headers": allowed,
            "Access-Control-Max-Age": PREFLIGHT_MAX_AGE,
        }
    )
    return web.Response(status=204, headers=headers)


async def not_found(request: web.Request) -> web.Response:
    return error_response(
        request,
        404,
        "not_found",
        f"no route {request.method} {request.path}; the Tracking API is under /v1/ and "
        f"segemu's own API under /_segemu/",
    )
