"""GET /_segemu/openapi.json: an OpenAPI 3.1 document of every route segemu serves.

Written by hand, next to the routes, because the handlers take raw bodies (Segment's routes
accept any Content-Type) that no schema generator would describe right. A test checks that
every route the app registers is described here.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from segemu import __version__
from segemu.http import destinations, faults, functions, profile_api, profiles
from segemu.http.responses import json_response
from segemu.http.tracking import BATCH_ROUTES, SINGLE_ROUTES
from segemu.message import EVENT_TYPES, STATUSES
from segemu.protocols.violations import VIOLATION_TYPES


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _param(
    name: str, description: str, schema: dict[str, Any] | None = None, where: str = "query"
) -> dict[str, Any]:
    return {
        "name": name,
        "in": where,
        "required": where == "path",
        "description": description,
        "schema": schema or {"type": "string"},
    }


def _integer(low: int, high: int) -> dict[str, Any]:
    return {"type": "integer", "minimum": low, "maximum": high}


# Record ids and paging cursors.
MAX_ID = 2**62
ERRORS = {"400": _json(_ref("Error"), "A client mistake, explained in `message`.")}
FILTERS = [
    _param(
        "q",
        "A query in segemu's query language, e.g. "
        '`type:track event:"Order Completed" properties.revenue>50`.',
    ),
    _param("type", "Only this call type.", {"enum": list(EVENT_TYPES)}),
    _param("event", "Only track calls with this event name."),
    _param("userId", "Only this userId."),
    _param("anonymousId", "Only this anonymousId."),
    _param("writeKey", "Only this source (write key)."),
    _param("status", "Only this status.", {"enum": list(STATUSES)}),
    _param("since", "Received at or after this time.", {"type": "string", "format": "date-time"}),
    _param("until", "Received at or before this time.", {"type": "string", "format": "date-time"}),
]
TRACKING_BODY = {
    "required": True,
    "description": (
        "A Segment call as the SDKs send it. Parsed as JSON whatever the Content-Type; "
        "`Content-Encoding: gzip` or `deflate` is decoded. The write key comes from "
        "`Authorization: Basic base64(writeKey:)` (what the SDKs send) or the body's "
        "`writeKey`; without either the call is refused, as Segment refuses it."
    ),
    "content": {
        "application/json": {"schema": _ref("Message")},
        "text/plain": {"schema": _ref("Message")},
    },
}
TRACKING_ANSWERS = {
    "200": _json(
        _ref("Success"),
        "Accepted, as Segment answers; events Segment would drop are stored as rejected.",
    ),
    "400": _json(
        _ref("Error"), "Invalid JSON, an event over 32 KB, a batch over 500 KB, or no write key."
    ),
}


def _tracking_paths() -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for route, kind in SINGLE_ROUTES.items():
        browser = " (analytics-next's route)" if route != kind else ""
        paths[f"/v1/{route}"] = {
            "post": {
                "tags": ["Tracking API"],
                "summary": f"A {kind} call{browser}",
                "requestBody": TRACKING_BODY,
                "responses": TRACKING_ANSWERS,
            }
        }
    for route in BATCH_ROUTES:
        paths[f"/v1/{route}"] = {
            "post": {
                "tags": ["Tracking API"],
                "summary": 'A batch of calls (`{"batch": [...]}`)',
                "requestBody": {
                    **TRACKING_BODY,
                    "content": {
                        "application/json": {"schema": _ref("Batch")},
                        "text/plain": {"schema": _ref("Batch")},
                    },
                },
                "responses": TRACKING_ANSWERS,
            }
        }
    paths["/v1/m"] = {
        "post": {
            "tags": ["Tracking API"],
            "summary": "The browser SDK's telemetry: counted, not stored",
            "requestBody": {
                "required": True,
                "content": {
                    media: {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "series": {"description": "The metrics; an array is counted."}
                            },
                        }
                    }
                    for media in ("application/json", "text/plain")
                },
            },
            "responses": {
                "200": _json(_ref("Success"), "Accepted."),
                "400": _json(_ref("Error"), "An empty body, or not a JSON object."),
            },
        }
    }
    paths["/v1/pixel/{type}"] = {
        "get": {
            "tags": ["Tracking API"],
            "summary": "Pixel API: `?data=` is a base64 JSON call",
            "parameters": [
                _param("type", "The call type.", where="path"),
                _param("data", "The call as base64-encoded JSON."),
            ],
            "responses": {
                "200": {
                    "description": "Always a 1x1 gif, as Segment answers.",
                    "content": {"image/gif": {}},
                }
            },
        }
    }
    return paths


def _cdn_paths() -> dict[str, Any]:
    """Segment's CDN, for pages on localhost (segemu/http/cdn.py)."""
    write_key = _param("write_key", "The source's write key.", where="path")
    javascript = {"application/javascript": {"schema": {"type": "string"}}}
    return {
        "/v1/projects/{write_key}/settings": {
            "get": {
                "tags": ["CDN"],
                "summary": "The settings analytics.js loads: events and telemetry "
                "go to this segemu",
                "parameters": [write_key],
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {
                                "integrations": {"type": "object"},
                                "metrics": {"type": "object"},
                            },
                        },
                        "analytics-next's CDNSettings, with the source's `settings` merged in.",
                    )
                },
            }
        },
        "/analytics.js/v1/{write_key}/analytics.min.js": {
            "get": {
                "tags": ["CDN"],
                "summary": "analytics.js for the snippet: the official standalone "
                "bundle if installed, else segemu's built-in one",
                "parameters": [write_key],
                "responses": {
                    "200": {
                        "description": "The script, with the write key embedded.",
                        "content": javascript,
                    },
                    "503": _json(_ref("Error"), "The configured bundle is gone."),
                },
            }
        },
        "/analytics-next/bundles/{name}": {
            "get": {
                "tags": ["CDN"],
                "summary": "The official bundle's lazy chunks",
                "parameters": [_param("name", "The chunk's file name.", where="path")],
                "responses": {
                    "200": {"description": "The chunk.", "content": javascript},
                    "404": _json(
                        _ref("Error"), "No such chunk, or the built-in analytics.js is served."
                    ),
                },
            }
        },
    }


def _control_paths(prefix: str) -> dict[str, Any]:
    records = {
        "type": "object",
        "properties": {
            "events": {"type": "array", "items": _ref("Record")},
            "count": {"type": "integer"},
            "next": {"type": ["string", "null"], "description": "URL of the next (older) page."},
        },
    }
    return {
        f"{prefix}/events": {
            "get": {
                "tags": ["Control API"],
                "summary": "Stored calls, newest first",
                "parameters": [
                    *FILTERS,
                    _param("limit", "Page size (1-1000, default 100).", _integer(1, 1000)),
                    _param(
                        "before", "Only records with a smaller id (paging).", _integer(1, MAX_ID)
                    ),
                ],
                "responses": {"200": _json(records, "A page of records."), **ERRORS},
            }
        },
        f"{prefix}/events/{{message_id}}": {
            "get": {
                "tags": ["Control API"],
                "summary": "The first call with this messageId",
                "parameters": [_param("message_id", "The messageId.", where="path")],
                "responses": {
                    "200": _json(
                        _ref("Record"),
                        "The record, with `duplicates`: the "
                        "ids of later calls with the same messageId.",
                    ),
                    "404": _json(_ref("Error"), "No such messageId."),
                },
            }
        },
        f"{prefix}/wait": {
            "get": {
                "tags": ["Control API"],
                "summary": "Long-poll until `count` stored calls match, or `timeout` seconds pass",
                "parameters": [
                    *FILTERS,
                    _param("count", "How many (default 1).", _integer(1, 100_000)),
                    _param(
                        "timeout",
                        "Seconds, up to 300 (default 5).",
                        {"type": "number", "minimum": 0, "maximum": 300},
                    ),
                ],
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {
                                "satisfied": {"type": "boolean"},
                                "count": {"type": "integer"},
                                "wanted": {"type": "integer"},
                                "waitedMs": {"type": "number"},
                                "events": {"type": "array", "items": _ref("Record")},
                            },
                        },
                        "Answered as soon as enough calls match; `satisfied` is false on timeout.",
                    ),
                    **ERRORS,
                },
            }
        },
        f"{prefix}/assert": {
            "post": {
                "tags": ["Control API"],
                "summary": "Judge an expectation; fail with the nearest misses",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("Expectation")}},
                },
                "responses": {
                    "200": _json(_ref("Verdict"), "Pass or fail (see `passed`)."),
                    **ERRORS,
                },
            }
        },
        f"{prefix}/assertions": {
            "get": {
                "tags": ["Control API"],
                "summary": "The latest verdicts of /assert, newest first",
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {
                                "assertions": {"type": "array", "items": _ref("Verdict")}
                            },
                        },
                        "Recent verdicts.",
                    )
                },
            }
        },
        f"{prefix}/stream": {
            "get": {
                "tags": ["Control API"],
                "summary": "New calls as server-sent events (`event: record`, `id` = record id)",
                "parameters": [
                    *FILTERS,
                    _param("backlog", "Send the last N matching records first.", _integer(0, 1000)),
                    _param(
                        "after",
                        "Send the records after this id first (as `Last-Event-ID` does).",
                        _integer(0, MAX_ID),
                    ),
                ],
                "responses": {
                    "200": {
                        "description": "An endless text/event-stream.",
                        "content": {"text/event-stream": {}},
                    },
                    **ERRORS,
                },
            }
        },
        f"{prefix}/reset": {
            "post": {
                "tags": ["Control API"],
                "summary": "Delete every stored call, or one write key's",
                "parameters": [
                    _param("writeKey", "Only this source.", {"type": "string", "minLength": 1})
                ],
                "requestBody": {
                    "required": False,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "writeKey": {
                                        "type": ["string", "null"],
                                        "minLength": 1,
                                        "description": "Only this source (null: every one).",
                                    }
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {
                                "success": {"type": "boolean"},
                                "removed": {"type": "integer"},
                                "writeKey": {"type": ["string", "null"]},
                            },
                        },
                        "What was removed.",
                    ),
                    **ERRORS,
                },
            }
        },
        f"{prefix}/flush": {
            "post": {
                "tags": ["Control API"],
                "summary": "Write the store to disk now",
                "responses": {"200": _json({"type": "object"}, "How many records were written.")},
            }
        },
        f"{prefix}/health": {
            "get": {
                "tags": ["Control API"],
                "summary": "Liveness, version and stored count",
                "responses": {"200": _json({"type": "object"}, "Up.")},
            }
        },
        f"{prefix}/summary": {
            "get": {
                "tags": ["Control API"],
                "summary": "Counts by status, type and write key; refused requests; store problems",
                "responses": {"200": _json({"type": "object"}, "The summary.")},
            }
        },
        **_protocols_paths(prefix),
        f"{prefix}/openapi.json": {
            "get": {
                "tags": ["Control API"],
                "summary": "This document",
                "responses": {"200": _json({"type": "object"}, "OpenAPI 3.1.")},
            }
        },
    }


def _protocols_paths(prefix: str) -> dict[str, Any]:
    plans = {"type": "array", "items": _ref("PlanStatus")}
    return {
        f"{prefix}/violations": {
            "get": {
                "tags": ["Control API"],
                "summary": "Calls that break their tracking plan (or that lint rules flag), "
                "newest first, with totals",
                "parameters": [
                    *FILTERS,
                    _param(
                        "kind",
                        "`violations` (default), `lint`, or `all`.",
                        {"enum": ["violations", "lint", "all"]},
                    ),
                    _param("limit", "How many calls (1-1000, default 100).", _integer(1, 1000)),
                ],
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {
                                "events": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "properties": {
                                            "id": {"type": "integer"},
                                            "messageId": {"type": "string"},
                                            "writeKey": {"type": ["string", "null"]},
                                            "source": {"type": ["string", "null"]},
                                            "type": {"type": ["string", "null"]},
                                            "name": {"type": ["string", "null"]},
                                            "receivedAt": {"type": "string"},
                                            "violations": {
                                                "type": "array",
                                                "items": _ref("Violation"),
                                            },
                                            "lint": {"type": "array", "items": _ref("LintFinding")},
                                            "protocols": _ref("ProtocolsOutcome"),
                                        },
                                    },
                                },
                                "count": {"type": "integer"},
                                "totals": {
                                    "type": "object",
                                    "properties": {
                                        "violations": {"type": "integer"},
                                        "byType": {"type": "object"},
                                        "lint": {"type": "integer"},
                                        "byRule": {"type": "object"},
                                    },
                                },
                                "strict": {
                                    "type": "boolean",
                                    "description": (
                                        "[protocols] strict: whether the pytest plugin "
                                        "fails tests on violations by default."
                                    ),
                                },
                            },
                        },
                        "The matching calls and the totals.",
                    ),
                    **ERRORS,
                },
            }
        },
        f"{prefix}/protocols": {
            "get": {
                "tags": ["Control API"],
                "summary": "The tracking plans in force, and the lint rules with their switches",
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {
                                "strict": {"type": "boolean"},
                                "plans": plans,
                                "lint": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "properties": {
                                            "id": {"type": "string"},
                                            "doc": {"type": "string"},
                                            "enabled": {"type": "boolean"},
                                            "default": {"type": "boolean"},
                                            "source": {"type": "string"},
                                        },
                                    },
                                },
                            },
                        },
                        "What Protocols checks.",
                    )
                },
            }
        },
        f"{prefix}/protocols/reload": {
            "post": {
                "tags": ["Control API"],
                "summary": "Read every tracking plan file again now (a bad one keeps the last "
                "good plan in force)",
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {
                                "reloaded": {"type": "array", "items": {"type": "string"}},
                                "plans": plans,
                            },
                        },
                        "What each plan file gave.",
                    )
                },
            }
        },
    }


CALL_FIELDS: dict[str, Any] = {
    "type": {"description": f"One of {', '.join(EVENT_TYPES)}; else from the route."},
    "userId": {"description": "A string (or null)."},
    "anonymousId": {"description": "A string (or null); one of the two ids is needed."},
    "event": {"description": "The event name of a track call."},
    "name": {"description": "The page or screen name."},
    "properties": {"description": "An object."},
    "traits": {"description": "An object."},
    "context": {"description": "An object."},
    "integrations": {"description": "An object."},
    "messageId": {"description": "A string; SDK retries repeat it."},
    "timestamp": {"description": "ISO-8601."},
    "sentAt": {"description": "ISO-8601."},
}
SCHEMAS: dict[str, Any] = {
    "Success": {"type": "object", "properties": {"success": {"const": True}}},
    "Error": {
        "type": "object",
        "required": ["code", "message"],
        "properties": {
            "success": {"const": False},
            "code": {"type": "string"},
            "message": {"type": "string"},
            "error": {"type": "string"},
        },
    },
    # What the Tracking API refuses is only what Segment refuses: a body that is not a JSON
    # object, over the size limits, or without a write key. Any other call is answered 200 and
    # stored (as rejected, with the reason, when Segment would drop it), so the fields below
    # say what they hold without constraining their values.
    "Message": {
        "type": "object",
        "description": "A Segment call (see Segment's Spec), with its write key.",
        "required": ["writeKey"],
        "properties": {
            **CALL_FIELDS,
            "writeKey": {
                "type": "string",
                "minLength": 1,
                "description": "The source's write key, unless sent as Authorization.",
            },
        },
    },
    "Call": {
        "description": (
            "A Segment call (see Segment's Spec): an object; anything else is stored as "
            "rejected, with the reason."
        ),
        "properties": CALL_FIELDS,
    },
    "Batch": {
        "type": "object",
        "required": ["batch"],
        "properties": {
            "batch": {"type": "array", "items": _ref("Call")},
            "writeKey": {"type": "string", "minLength": 1},
            "sentAt": {"description": "ISO-8601, when the SDK sent the batch."},
            "context": {"description": "Merged into each call's context."},
            "integrations": {"description": "Merged into each call's integrations."},
        },
        # The write key: the batch's, or one call's, unless sent as Authorization.
        "anyOf": [
            {"required": ["writeKey"]},
            {
                "properties": {
                    "batch": {
                        "contains": {
                            "type": "object",
                            "required": ["writeKey"],
                            "properties": {"writeKey": {"type": "string", "minLength": 1}},
                        }
                    }
                }
            },
        ],
    },
    "Record": {
        "type": "object",
        "description": "One received call.",
        "properties": {
            "id": {"type": "integer"},
            "messageId": {"type": "string"},
            "writeKey": {"type": ["string", "null"]},
            "type": {"type": ["string", "null"]},
            "status": {"enum": list(STATUSES)},
            "reason": {"type": ["string", "null"]},
            "receivedAt": {"type": "string"},
            "route": {"type": "string"},
            "raw": {"description": "The call exactly as sent."},
            "event": {"type": "object", "description": "The call as Segment would store it."},
            "warnings": {"type": "array", "items": {"type": "string"}},
            "duplicateOf": {"type": "integer"},
            "source": {"type": "string", "description": "The source of the write key."},
            "deliveries": {
                "type": "object",
                "description": (
                    "By destination id: status (delivered, filtered, failed, retrying, pending), "
                    "reason, requests (what the destination's API would receive), attempts."
                ),
            },
            "arrival": {
                "type": "object",
                "description": (
                    "How the call arrived, when worth saying: retryCount (X-Retry-Count, or the "
                    "event's _metadata.retryCount), outOfOrder (the id of a record from the same "
                    "browser called later but received first), note."
                ),
                "properties": {
                    "retryCount": {"type": "integer"},
                    "outOfOrder": {"type": "integer"},
                    "note": {"type": "string"},
                },
            },
            "violations": {
                "type": "array",
                "items": _ref("Violation"),
                "description": "What breaks the source's tracking plan.",
            },
            "lint": {"type": "array", "items": _ref("LintFinding")},
            "protocols": _ref("ProtocolsOutcome"),
        },
    },
    "Violation": {
        "type": "object",
        "required": ["type", "path", "message"],
        "properties": {
            "type": {"enum": list(VIOLATION_TYPES)},
            "path": {"type": "string", "description": "e.g. properties.price"},
            "message": {"type": "string"},
            "rule": {"type": "string", "description": "e.g. TRACK 'Order Completed' v1"},
            "keyword": {"type": "string", "description": "The JSON Schema keyword."},
        },
    },
    "LintFinding": {
        "type": "object",
        "required": ["rule", "message"],
        "properties": {
            "rule": {"type": "string"},
            "message": {"type": "string"},
            "path": {"type": ["string", "null"]},
        },
    },
    "ProtocolsOutcome": {
        "type": ["object", "null"],
        "properties": {
            "blocked": {
                "type": ["string", "null"],
                "description": (
                    "Why the schema configuration blocks this call for every destination."
                ),
            },
            "omitted": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Properties or traits destinations do not receive.",
            },
            "omittedOnViolation": {"type": "array", "items": {"type": "string"}},
            "trackingPlan": {"type": ["string", "null"]},
        },
    },
    "PlanStatus": {
        "type": "object",
        "properties": {
            "path": {"type": "string"},
            "name": {"type": "string"},
            "rules": {"type": "integer"},
            "loadedAt": {"type": "string"},
            "error": {"type": ["string", "null"]},
            "sources": {"type": "array", "items": {"type": "string"}},
        },
    },
    "Expectation": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "type": {"enum": [*EVENT_TYPES, None]},
            "where": {
                "type": ["string", "null"],
                "description": "A query that candidates must match (also `q`).",
            },
            "q": {"type": ["string", "null"], "description": "The same as `where`."},
            "fields": {
                "type": ["object", "null"],
                "description": (
                    "Expected values by dotted path into the event, matched as a subset. "
                    'A value may be a matcher: {"$any": true}, {"$anyString": true}, '
                    '{"$regex": "..."}, {"$approx": 9.99, "rel": 1e-6}, {"$absent": true}.'
                ),
            },
            "exact": {"description": "properties/traits with no extra keys (if truthy)."},
            "times": {
                "type": ["integer", "null"],
                "minimum": 0,
                "description": "Exactly this many matching calls (also `count`).",
            },
            "count": {"type": ["integer", "null"], "minimum": 0},
            "atLeast": {
                "type": ["integer", "null"],
                "minimum": 0,
                "description": "At least this many (default 1).",
            },
            "writeKey": {"type": ["string", "null"], "description": "Only this source's calls."},
            "description": {"type": ["string", "null"]},
            "status": {"enum": [*STATUSES, "any"], "description": "Default: accepted."},
            "timeout": {
                "type": "number",
                "minimum": 0,
                "maximum": 300,
                "description": "Seconds to wait for enough matches.",
            },
            "destination": {
                "type": ["string", "null"],
                "minLength": 1,
                "description": "The calls must have been delivered to this destination id.",
            },
            "payload": {
                "description": (
                    "With destination: a subset of the body of one request it received."
                )
            },
        },
    },
    "Verdict": {
        "type": "object",
        "properties": {
            "passed": {"type": "boolean"},
            "expected": {"type": "string"},
            "count": {"type": "integer"},
            "considered": {"type": "integer"},
            "matched": {"type": "array", "items": {"type": "object"}},
            "nearest": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "integer"},
                        "messageId": {"type": "string"},
                        "summary": {"type": "string"},
                        "differences": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "path": {"type": "string"},
                                    "expected": {},
                                    "actual": {},
                                    "missing": {"type": "boolean"},
                                    "message": {"type": "string"},
                                },
                            },
                        },
                    },
                },
            },
            "message": {"type": "string", "description": "The failure, as a person reads it."},
        },
    },
}


# Every control API operation may be refused by http/guard.py; a state change also for a
# form or text/plain body; a long-poll or stream when its cap is reached.
REFUSED = _json(
    _ref("Error"),
    "A Host that is not localhost, an IP address or an allowed name (DNS rebinding), or an "
    "Origin the user did not allow (allowed_origins).",
)
SIMPLE_BODY = _json(_ref("Error"), "A form or text/plain body: send application/json.")
FULL = _json(_ref("Error"), "max_streams or max_waits reached; see Retry-After.")
CAPPED = ("/wait", "/stream", "/assert")


def _with_control_answers(paths: dict[str, Any], prefix: str) -> dict[str, Any]:
    for path, item in paths.items():
        if not path.startswith(prefix) or path == f"{prefix}/openapi.json":
            continue
        for method, operation in item.items():
            answers = operation["responses"]
            answers.setdefault("403", REFUSED)
            if method in ("post", "put", "delete", "patch"):
                answers.setdefault("415", SIMPLE_BODY)
            if path.endswith(CAPPED):
                answers.setdefault("503", FULL)
    return paths


def document(prefix: str) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "segemu",
            "version": __version__,
            "description": (
                "A local emulator of Segment: the Tracking API the SDKs call, and segemu's own "
                "control API for tests and tools."
            ),
        },
        "tags": [
            {"name": "Tracking API", "description": "Segment's HTTP Tracking API."},
            {"name": "CDN", "description": "Segment's CDN: analytics.js and its settings."},
            {"name": "Control API", "description": "segemu's own API."},
            {
                "name": "Destinations",
                "description": "What each mock destination received, and why.",
            },
            {"name": "Profiles", "description": "The identity graph's profiles (segemu's own)."},
            {
                "name": "Profile API",
                "description": "Segment's Profile API: Basic auth, the access token as user name.",
            },
            {"name": "Functions", "description": "Source, Destination and Insert Functions."},
            {"name": "Faults", "description": "Failures injected into the Tracking API."},
        ],
        "paths": _with_control_answers(
            {
                **_tracking_paths(),
                **_cdn_paths(),
                **_control_paths(prefix),
                **destinations.openapi_paths(prefix),
                **profiles.openapi_paths(prefix),
                **profile_api.openapi_paths(),
                **functions.openapi_paths(prefix),
                **faults.openapi_paths(prefix),
            },
            prefix,
        ),
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"accessToken": {"type": "http", "scheme": "basic"}},
        },
    }


def setup_routes(app: web.Application, prefix: str) -> None:
    body = document(prefix)

    async def openapi(request: web.Request) -> web.Response:
        return json_response(request, body)

    app.router.add_get(f"{prefix}/openapi.json", openapi)
