"""Control routes of tracking plans and lint: the calls that broke the plan, what is loaded,
and a reload on demand. Every record also carries its own `violations`, `lint` and
`protocols` in /_segemu/events."""

from __future__ import annotations

from aiohttp import web

from segemu.http.keys import EMULATOR
from segemu.http.params import ParamError, event_filter, int_param
from segemu.http.responses import error_response, json_response
from segemu.protocols.report import listing_kind_problem, violations_listing

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


async def list_violations(request: web.Request) -> web.Response:
    """GET /_segemu/violations: calls with violations (or lint findings, with `kind`),
    newest first, and totals by violation type and lint rule."""
    kind = request.query.get("kind", "violations")
    try:
        where = event_filter(request)
        limit = int_param(request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
        problem = listing_kind_problem(kind)
        if problem is not None:
            raise ParamError(problem)
    except ParamError as exc:
        return error_response(request, 400, "invalid_query", str(exc))
    assert limit is not None
    emulator = request.app[EMULATOR]
    # Only the records with something to report are kept while the store is scanned.
    noted = await emulator.scan(where, keep=lambda r: r.get("violations") or r.get("lint"))
    listing = violations_listing(noted, kind, limit, emulator.protocols.strict)
    return json_response(request, listing)


async def describe(request: web.Request) -> web.Response:
    """GET /_segemu/protocols: the plans in force, the lint rules and their switches."""
    return json_response(request, request.app[EMULATOR].protocols.describe())


async def reload(request: web.Request) -> web.Response:
    """POST /_segemu/protocols/reload: read every plan file again now. A plan that fails to
    load keeps the last good one in force; its `error` says why."""
    protocols = request.app[EMULATOR].protocols
    messages = protocols.reload(force=True)
    return json_response(request, {"reloaded": messages, "plans": protocols.plans()})


def setup_routes(app: web.Application, prefix: str) -> None:
    app.router.add_get(f"{prefix}/violations", list_violations)
    app.router.add_get(f"{prefix}/protocols", describe)
    app.router.add_post(f"{prefix}/protocols/reload", reload)
