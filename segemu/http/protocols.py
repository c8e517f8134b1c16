"""Control routes of tracking plans and lint: the calls that broke the plan, what is loaded,
and a reload on demand. Every record also carries its own `violations`, `lint` and
`protocols` in /_segemu/events."""

from __future__ import annotations

from collections import Counter
from typing import Any

from aiohttp import web

from segemu.http.keys import EMULATOR
from segemu.http.params import ParamError, event_filter, int_param
from segemu.http.responses import error_response, json_response
from segemu.protocols.report import violation_entry

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
KINDS = ("violations", "lint", "all")


async def list_violations(request: web.Request) -> web.Response:
    """GET /_segemu/violations: calls with violations (or lint findings, with `kind`),
    newest first, and totals by violation type and lint rule."""
    kind = request.query.get("kind", "violations")
    try:
        where = event_filter(request)
        limit = int_param(request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
        if kind not in KINDS:
            raise ParamError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    except ParamError as exc:
        return error_response(request, 400, "invalid_query", str(exc))
    assert limit is not None
    emulator = request.app[EMULATOR]
    by_type: Counter[str] = Counter()
    by_rule: Counter[str] = Counter()
    found: list[dict[str, Any]] = []
    for record in emulator.events(where):
        violations = record.get("violations") or []
        findings = record.get("lint") or []
        wanted = (
            violations
            if kind == "violations"
            else findings
            if kind == "lint"
            else violations or findings
        )
        if not wanted:
            continue
        by_type.update(v["type"] for v in violations)
        by_rule.update(f["rule"] for f in findings)
        if len(found) < limit:
            found.append(violation_entry(record))
    return json_response(
        request,
        {
            "events": found,
            "count": len(found),
            "totals": {
                "violations": sum(by_type.values()),
                "byType": dict(by_type),
                "lint": sum(by_rule.values()),
                "byRule": dict(by_rule),
            },
            "strict": emulator.protocols.strict,
        },
    )


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
