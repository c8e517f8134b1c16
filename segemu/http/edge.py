"""The one middleware: the control API's access rules (http/guard.py), and a catch-all that
turns any error a handler did not expect into a JSON 500 naming a problem id.

One middleware, not two: each one is an extra call on every request, ingest included, and
this one costs a tracking call a prefix test and a `try`.
"""

from __future__ import annotations

import logging
import time
import uuid

from aiohttp import web
from aiohttp.typedefs import Handler

from segemu.http.guard import AccessPolicy, is_control
from segemu.http.keys import EMULATOR
from segemu.http.responses import error_response, json_response

log = logging.getLogger("segemu.http")
POLICY = web.AppKey("access_policy", AccessPolicy)


class Activity:
    """When the last request came in (time.monotonic): `segemu run` keeps its full garbage
    collection, a pause that grows with the heap, for a quiet moment (segemu/cli/gc.py)."""

    __slots__ = ("last",)

    def __init__(self) -> None:
        self.last = time.monotonic()

    def quiet_for(self) -> float:
        return time.monotonic() - self.last


ACTIVITY = web.AppKey("activity", Activity)


@web.middleware
async def edge(request: web.Request, handler: Handler) -> web.StreamResponse:
    request.app[ACTIVITY].last = time.monotonic()
    try:
        if is_control(request.path):
            refusal = request.app[POLICY].check(request)
            if refusal is not None:
                # No CORS grant on a refusal to a foreign page: it cannot even read why.
                answer = error_response(request, refusal.status, refusal.code, refusal.message)
                answer.headers.popall("Access-Control-Allow-Origin", None)
                return answer
        return await handler(request)
    except web.HTTPException:  # aiohttp's own answers (413 over client_max_size, ...)
        raise
    except Exception as exc:
        return _problem(request, exc)


def _problem(request: web.Request, exc: Exception) -> web.StreamResponse:
    problem = uuid.uuid4().hex[:12]
    log.error("problem %s: %s %s failed", problem, request.method, request.path_qs, exc_info=exc)
    if request.writer is not None and request.writer.output_size > 0:
        # The answer was under way (a stream): no other can be sent; aiohttp closes it.
        raise exc
    message = (
        f"segemu failed on {request.method} {request.path} (problem {problem}); nothing else "
        f"was affected, and segemu's log has the details under that id"
    )
    try:
        request.app[EMULATOR].refuse(request.path, 500, "internal_error", message)
    except Exception:  # the summary is a convenience; the answer must still go out
        log.exception("problem %s: could not be recorded in the summary", problem)
    body = {
        "success": False,
        "code": "internal_error",
        "message": message,
        "error": message,
        "problem": problem,
    }
    return json_response(request, body, 500)
