"""What destinations receive from a call the tracking plan looked at, and the "Violation
Generated" calls Segment forwards to another source.

- Omitted properties or traits are removed, and `context.protocols` tells what was omitted
  and why (DOCS protocols/enforce/forward-blocked-events.md: "Segment inserts a
  `context.protocols` object into the event payload which contains the omitted properties or
  traits"; its shape: DOCS protocols/faq.md).
- Violation forwarding sends one track call per violation, `event: "Violation Generated"`,
  `userId: "schema-violations"`, a `sch-` messageId (DOCS protocols/validate/
  forward-violations.md).
- Blocked event forwarding sends each blocked call, as it was sent, to another source; calls
  that only lost omitted properties or traits are not forwarded (DOCS protocols/enforce/
  forward-blocked-events.md).
"""

from __future__ import annotations

import secrets
import string
from typing import Any

import orjson

from segemu.message import Record
from segemu.protocols.validate import without
from segemu.protocols.violations import SEGMENT_NAMES, Violation

# The route of calls Protocols makes itself. They skip the tracking plan: an event forwarded
# from another source bypasses the blocking pipeline (DOCS protocols/faq.md, "Can I use schema
# controls to block events forwarded to my source from another source?").
VIOLATION_ROUTE = "(Protocols: violation forwarding)"
BLOCKED_ROUTE = "(Protocols: blocked event forwarding)"
FORWARDED_ROUTES = frozenset({VIOLATION_ROUTE, BLOCKED_ROUTE})
_ALPHABET = string.ascii_letters + string.digits


def forwarded_event(record: Record) -> dict[str, Any]:
    """The event as destinations receive it: omitted fields gone, `context.protocols` added
    when the plan found something. The stored event itself is never changed."""
    event = record["event"]
    outcome = record.get("protocols")
    violations = record.get("violations") or []
    if not outcome or (not outcome["omitted"] and not violations):
        return event
    omitted: list[str] = outcome["omitted"]
    on_violation = set(outcome.get("omittedOnViolation", ()))
    copy = without(event, omitted)
    context = dict(copy.get("context") or {})
    context["protocols"] = {
        "omitted": [path.partition(".")[2] for path in omitted if path not in on_violation],
        "omitted_on_violation": [
            path.partition(".")[2] for path in omitted if path in on_violation
        ],
        "sourceId": record.get("source"),
        "violations": [
            {"type": SEGMENT_NAMES[v["type"]], "field": v["path"], "description": v["message"]}
            for v in violations
        ],
    }
    copy["context"] = context
    return copy


def violation_generated(record: Record, violation: Violation, plan_name: str) -> dict[str, Any]:
    """One "Violation Generated" call about one violation of `record`'s event."""
    event = record["event"]
    context: dict[str, Any] = event.get("context") or {}
    app = context.get("app") if isinstance(context.get("app"), dict) else None
    source = record.get("source")
    return {
        "type": "track",
        "event": "Violation Generated",
        "userId": "schema-violations",
        "messageId": "sch-" + "".join(secrets.choice(_ALPHABET) for _ in range(32)),
        "context": {"app": app, "library": context.get("library")},
        "integrations": {},
        "forwardedFromProject": source,
        "properties": {
            "appVersion": str(app.get("version") or "") if app else "",
            "eventMessageID": record["messageId"],
            "eventName": event.get("event") or event.get("name") or "",
            "eventSentAt": event.get("sentAt") or "",
            "eventTimestamp": event.get("timestamp") or "",
            "eventType": record["type"],
            "sourceID": source,
            "sourceName": source,
            "sourceSlug": source,
            "trackingPlanID": plan_name,
            "trackingPlanName": plan_name,
            "violationDescription": violation["message"],
            "violationField": violation["path"],
            "violationType": SEGMENT_NAMES[violation["type"]],
        },
    }


def blocked_event(record: Record) -> dict[str, Any]:
    """A blocked call as its source received it, for the source blocked events go to. It keeps
    its messageId: Segment forwards it server to server; it is the same call, not a retry."""
    raw = record["raw"]
    call: dict[str, Any] = orjson.loads(orjson.dumps(raw)) if isinstance(raw, dict) else {}
    call["messageId"] = record["messageId"]
    call.setdefault("type", record["type"])
    return call
