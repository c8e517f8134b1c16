"""Query-string parameters of the control API, checked once, with messages a caller can act on."""

from __future__ import annotations

import re

from aiohttp import web

from segemu.message import EVENT_TYPES, STATUSES, parse_timestamp
from segemu.query import EventFilter, QueryError, parse_query

# A JSON number: float() also takes "1_0", " 1", "inf" and non-ASCII digits.
NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")


class ParamError(Exception):
    """A bad query-string parameter: answered 400 with the message."""


def int_param(
    request: web.Request, name: str, default: int | None, low: int, high: int
) -> int | None:
    raw = request.query.get(name)
    if raw is None:
        return default
    # ASCII digits only: int() also takes "²"-like digits, "1_000" and spaces.
    digits = raw[1:] if raw.startswith("-") else raw
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 20:
        raise ParamError(f"{name} must be an integer, got {raw!r}")
    value = int(raw)
    if not low <= value <= high:
        raise ParamError(f"{name} must be between {low} and {high}, got {value}")
    return value


def float_param(request: web.Request, name: str, default: float, low: float, high: float) -> float:
    raw = request.query.get(name)
    if raw is None:
        return default
    if len(raw) > 40 or not NUMBER.fullmatch(raw):
        raise ParamError(f"{name} must be a number of seconds, got {raw!r}")
    value = float(raw)
    if not low <= value <= high:  # also refuses nan
        raise ParamError(f"{name} must be between {low:g} and {high:g}, got {raw}")
    return value


def event_filter(request: web.Request) -> EventFilter:
    """The filters every listing, wait and stream takes: `q` in the query language, plus the
    structured ones (type, event, userId, ...) that predate it and stay for simple callers."""
    query = request.query
    text = query.get("q") or ""
    try:
        parsed = parse_query(text) if text.strip() else None
    except QueryError as exc:
        raise ParamError(f"q: {exc}") from None
    status = query.get("status")
    if status is not None and status not in STATUSES:
        raise ParamError(f"status must be one of {', '.join(STATUSES)}, got {status!r}")
    kind = query.get("type")
    if kind is not None and kind not in EVENT_TYPES:
        raise ParamError(f"type must be one of {', '.join(EVENT_TYPES)}, got {kind!r}")
    bounds = {}
    for name in ("since", "until"):
        raw = query.get(name)
        if raw is not None:
            moment = parse_timestamp(raw)
            if moment is None:
                raise ParamError(f"{name} must be an ISO-8601 timestamp, got {raw!r}")
            bounds[name] = moment
    return EventFilter(
        type=kind,
        event=query.get("event") or None,
        user_id=query.get("userId") or None,
        anonymous_id=query.get("anonymousId") or None,
        write_key=query.get("writeKey") or None,
        status=status,
        before_id=int_param(request, "before", None, 1, 2**62),
        query=parsed,
        **bounds,
    )
