"""The Segment message model, and normalization of one call as Segment does it.

Sources for the rules below (cited by short name in comments):
- DOCS spec/common.md: common fields, the timestamp rule, what Segment adds after ingestion.
- DOCS http-api/index.md §Errors: which messages Segment accepts with a 200 and drops later.
- DOCS spec-field-message-id.md: messageId is "limited to 100 characters".
- reference/sdk-captures/: the shapes the Python, Node and browser SDKs really send.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, NotRequired, TypedDict, get_args

if TYPE_CHECKING:
    from segemu.protocols.violations import LintFinding, Violation

EVENT_TYPES: tuple[str, ...] = ("identify", "track", "page", "screen", "group", "alias")

# DOCS spec-field-message-id.md: "limited to 100 characters"; Segment drops longer ones.
MAX_MESSAGE_ID_LENGTH = 100

Status = Literal["accepted", "rejected", "duplicate"]
STATUSES: tuple[str, ...] = get_args(Status)
Channel = Literal["client", "server"]


class Arrival(TypedDict, total=False):
    """How a call arrived, where it is worth saying (segemu/arrival.py)."""

    # The SDK's retry number: X-Retry-Count, else the event's _metadata.retryCount.
    retryCount: int
    # The id of a record from the same browser that was called later but arrived first.
    outOfOrder: int
    # The above in words.
    note: str


class Record(TypedDict):
    """One received call, as every surface (control API, CLI, TUI, pytest) shows it.

    `raw` is the item exactly as the SDK sent it; `event` is what Segment would store.
    """

    id: int
    messageId: str
    writeKey: str | None
    type: str | None
    status: Status
    reason: str | None
    receivedAt: str
    route: str
    raw: Any
    event: dict[str, Any]
    warnings: list[str]
    duplicateOf: NotRequired[int]
    # The name of the source the write key belongs to (segemu/sources.py).
    source: NotRequired[str]
    # Each destination's verdict on an accepted call, decided at ingest by the routing stage:
    # {"mixpanel": {"status": "delivered" | "filtered", "reason": ...}} (destinations/runtime.py).
    routing: NotRequired[dict[str, Any]]
    # What each destination received, requests included: built when one record is shown
    # (Emulator.with_deliveries), never stored.
    deliveries: NotRequired[dict[str, Any]]
    # Retries and arrival order (segemu/arrival.py); absent when there is nothing to say.
    arrival: NotRequired[Arrival]
    # What the tracking plan and the lint rules say about an accepted call, and what the
    # schema configuration does with it: {"blocked": reason | None, "omitted": [paths], ...}
    # (segemu/protocols).
    violations: NotRequired[list[Violation]]
    lint: NotRequired[list[LintFinding]]
    protocols: NotRequired[dict[str, Any]]
    # What the source's schema controls did, only when they blocked the call or omitted
    # traits: {"blocked": reason or None, "omitted": ["traits.ssn", ...]} (sources.py).
    schemaControls: NotRequired[dict[str, Any]]
    # The profile the call resolved to and the identity changes it caused:
    # {"space", "segment_id", "account_id"?, "changes": [...]} (segemu/identity/stage.py).
    identity: NotRequired[dict[str, Any]]
    # What the call changed in Engage: {"computedTraits": {key: value}, "entered": [...],
    # "exited": [...]}, only when something changed (segemu/engage/stage.py).
    engage: NotRequired[dict[str, Any]]
    # The call's profile as it is now, for `profile.` query paths and the detail views: built
    # when read (Emulator.with_profile), never stored.
    profile: NotRequired[dict[str, Any]]


@dataclass(slots=True)
class Envelope:
    """One HTTP call to the Tracking API: the items it carried and what applies to all of them."""

    route: str
    items: list[Any]
    received_at: datetime
    # Single-event routes (/v1/track, /v1/t, ...) decide the type; batch items carry their own.
    route_type: str | None = None
    # From `Authorization: Basic`; it wins over any writeKey in the body.
    header_write_key: str | None = None
    # Batch-level fields (DOCS http-api §Batch): merged into each item.
    write_key: Any = None
    sent_at: Any = None
    context: Any = None
    integrations: Any = None
    channel: Channel = "server"
    ip: str | None = None
    # X-Retry-Count: which retry of an earlier request this one is (0 or None: the first).
    retry_count: int | None = None
    # Calls Segment forwards itself from one source to another (Protocols): not a client's
    # retry, so not deduplicated against the call they came from.
    forwarded: bool = False
    # The source of calls segemu makes itself without a write key (Engage's space source,
    # segemu/engage/stage.py): routed to that source's destinations.
    source: Any = None


# datetime.isoformat costs microseconds, and every call formats two timestamps. Calls come in
# bursts within the same second, so the text up to the second is made once per second and kept
# (bounded: client timestamps can be anything); the milliseconds come from a table.
_SECONDS: dict[tuple[int, int, int, int, int, int], str] = {}
_SECONDS_KEPT = 1024
_MILLISECONDS = tuple(f".{number:03d}Z" for number in range(1000))


def format_timestamp(moment: datetime) -> str:
    """ISO-8601 in UTC with milliseconds and `Z`, the way Segment writes its own timestamps."""
    if moment.tzinfo is not UTC:  # on the ingest path: skip the conversion when already UTC
        moment = moment.astimezone(UTC)
    second = (moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second)
    text = _SECONDS.get(second)
    if text is None:
        if len(_SECONDS) >= _SECONDS_KEPT:
            _SECONDS.clear()
        text = _SECONDS[second] = moment.isoformat(timespec="seconds")[:19]
    return text + _MILLISECONDS[moment.microsecond // 1000]


def parse_timestamp(value: Any) -> datetime | None:
    """Parse every timestamp format the SDKs send (captures): `Z` or `+00:00`, ms or µs.

    Python 3.11's fromisoformat covers them all. A timestamp without an offset is read as UTC,
    as Segment documents all timestamps to be (DOCS spec/common.md §Timestamps).
    """
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


def deep_merge(base: Mapping[str, Any], own: Mapping[str, Any]) -> dict[str, Any]:
    """`own` over `base`: `own` wins, objects present in both merge (batch-level context
    under an item's own; source settings over the CDN defaults)."""
    merged = dict(base)
    for key, value in own.items():
        below = merged.get(key)
        if isinstance(value, dict) and isinstance(below, dict):
            merged[key] = deep_merge(below, value)
        else:
            merged[key] = value
    return merged


def _id_value(name: str, value: Any, warnings: list[str]) -> tuple[str | None, str | None]:
    """(normalized id, rejection reason). Numbers become strings, as Segment's spec wants strings.

    Segment's behaviour for numeric ids is not documented; turning them into strings keeps the
    event visible and the warning tells the developer to fix the call.
    """
    if value is None or value == "":
        return None, None
    if isinstance(value, str):
        return value, None
    if isinstance(value, int | float) and not isinstance(value, bool):
        warnings.append(f"{name} was a number ({value!r}); Segment expects a string")
        return str(value), None
    return None, f"{name} must be a string, got {type(value).__name__}"


_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# KSUID's epoch (segmentio/ksuid): 2014-05-13T16:53:20Z.
_KSUID_EPOCH = 1_400_000_000


def ksuid() -> str:
    """A KSUID (segmentio/ksuid): 4 bytes of seconds since its epoch and 16 random bytes,
    27 characters of base62, so ids sort by the time they were made."""
    number = int.from_bytes(
        (int(time.time()) - _KSUID_EPOCH).to_bytes(4, "big") + os.urandom(16), "big"
    )
    digits = []
    for _ in range(27):
        number, digit = divmod(number, 62)
        digits.append(_BASE62[digit])
    return "".join(reversed(digits))


def generated_message_id() -> str:
    """The messageId Segment gives a call that came without one: `api-<ksuid>` (the messageId
    of a raw HTTP call in DOCS sources/catalog/cloud-apps/insider/index.md,
    "api-2HgvQRYmsMWNlgqEuOKQmMWt5Wb")."""
    return f"api-{ksuid()}"


# What Segment stores as the library of a call that names none, a raw HTTP or pixel call (the
# event of DOCS sources/catalog/cloud-apps/facebook-lead-ads/index.md).
UNKNOWN_LIBRARY: Mapping[str, str] = {"name": "unknown", "version": "unknown"}

_ID_FIELDS = ("userId", "anonymousId", "groupId", "previousId")
_OBJECT_FIELDS = ("properties", "traits", "context", "integrations")


def _rejection(event: dict[str, Any], kind: str) -> str | None:
    """Why Segment would accept this call with a 200 and then drop it (DOCS http-api §Errors)."""
    if kind == "track":
        name = event.get("event")
        if name is None or name == "":
            return "track call has no event name"
        if not isinstance(name, str):
            return f"event must be a string, got {type(name).__name__}"
    if not event.get("userId") and not event.get("anonymousId"):
        return "no userId or anonymousId"
    if kind == "group" and not event.get("groupId"):
        return "group call has no groupId"
    if kind == "alias" and not event.get("previousId"):
        return "alias call has no previousId"
    return None


@dataclass(slots=True)
class Normalized:
    """The outcome of normalizing one item; the pipeline turns it into a Record."""

    message_id: str
    write_key: str | None
    type: str | None
    event: dict[str, Any]
    reason: str | None
    warnings: list[str]
    raw: Any


def normalize(item: Any, envelope: Envelope, received_at: str) -> Normalized:
    """Normalize one call the way Segment stores it; never raises on bad input."""
    return Normalized(*_normalize(item, envelope, received_at), item)


def normalized_record(
    item: Any, envelope: Envelope, received_at: str, record_id: int, dropped: str | None
) -> Record:
    """The record of one call as normalization leaves it, for the stages after it; `dropped`
    says why the whole request is dropped, if it is. Built straight from the outcome: it is
    made for every call."""
    message_id, write_key, kind, event, reason, warnings = _normalize(item, envelope, received_at)
    reason = dropped or reason
    return {
        "id": record_id,
        "messageId": message_id,
        "writeKey": write_key,
        "type": kind,
        "status": "accepted" if reason is None else "rejected",
        "reason": reason,
        "receivedAt": received_at,
        "route": envelope.route,
        "raw": item,
        "event": event,
        "warnings": warnings,
    }


# What normalizing one item gives: messageId, write key, type, event, rejection reason, warnings.
_Outcome = tuple[str, str | None, str | None, dict[str, Any], str | None, list[str]]


def _normalize(item: Any, envelope: Envelope, received_at: str) -> _Outcome:
    warnings: list[str] = []
    if not isinstance(item, dict):
        return (
            generated_message_id(),
            _write_key(envelope, None),
            None,
            {},
            f"batch item is not a JSON object (got {json_type(item)})",
            warnings,
        )

    # The event Segment stores shares nested objects with what was sent, so keeping both costs
    # little memory; anything changed below is copied first.
    event: dict[str, Any] = dict(item)
    own_key = event.pop("writeKey", None)
    # The header's key wins (the common case); otherwise the call's own, then the batch's.
    write_key = envelope.header_write_key or _write_key(envelope, own_key)
    reason: str | None = None

    kind = envelope.route_type or item.get("type")
    if envelope.route_type is None:
        if not kind:
            reason = "batch item has no type"
        elif kind not in EVENT_TYPES:
            reason = f"unknown type {kind!r}; expected one of {', '.join(EVENT_TYPES)}"
    if isinstance(kind, str):
        event["type"] = kind
    else:
        kind = None

    message_id = event.get("messageId")
    if type(message_id) is not str or not message_id:  # a non-empty string: the common case
        if message_id is None or message_id == "":
            # Segment fills a messageId in when a raw HTTP caller leaves it out.
            message_id = generated_message_id()
            event["messageId"] = message_id
        elif not isinstance(message_id, str):
            message_id = str(message_id)
            event["messageId"] = message_id
            warnings.append("messageId was not a string")
    if reason is None and len(message_id) >= MAX_MESSAGE_ID_LENGTH:
        reason = f"messageId is {len(message_id)} characters; Segment drops 100 or more"

    for name in _ID_FIELDS:
        value = event.get(name)
        # A non-empty string, or no value at all, is kept as it is: the common case.
        if value is not None and (type(value) is not str or not value):
            event[name], problem = _id_value(name, value, warnings)
            reason = reason or problem

    for name in _OBJECT_FIELDS:
        value = event.get(name)
        if value is not None and not isinstance(value, dict):
            reason = reason or f"{name} must be an object, got {json_type(value)}"
            event[name] = {}

    context = event.get("context") or {}
    if envelope.context and isinstance(envelope.context, dict):
        context = deep_merge(envelope.context, context)
    # DOCS http-api §Collecting IP: Segment fills context.ip for client-side events, and for
    # a call from a user's device that sets `context.direct: true`.
    if (
        envelope.ip
        and (envelope.channel == "client" or context.get("direct") is True)
        and "ip" not in context
    ):
        context = {**context, "ip": envelope.ip}
    if "library" not in context:
        context = {**context, "library": dict(UNKNOWN_LIBRARY)}
    event["context"] = context
    integrations = event.get("integrations") or {}
    if envelope.integrations and isinstance(envelope.integrations, dict):
        integrations = deep_merge(envelope.integrations, integrations)
    event["integrations"] = integrations

    _timestamps(event, envelope, received_at, warnings)
    # DOCS partners/spec.md: Segment adds channel and version, and does not keep the writeKey.
    event["channel"] = envelope.channel
    event["version"] = 2

    if reason is None:
        if write_key is None:
            reason = "no write key (send Basic auth or a writeKey in the body)"
        elif kind is not None:
            reason = _rejection(event, kind)
    return message_id, write_key, kind, event, reason, warnings


def _write_key(envelope: Envelope, own: Any) -> str | None:
    for candidate in (envelope.header_write_key, own, envelope.write_key):
        if isinstance(candidate, str) and candidate:
            return candidate
    return None


def _timestamps(
    event: dict[str, Any], envelope: Envelope, received_at: str, warnings: list[str]
) -> None:
    """receivedAt, originalTimestamp and the skew-corrected timestamp (DOCS spec/common.md).

    timestamp = receivedAt - (sentAt - originalTimestamp). Without a client timestamp Segment
    uses its own time; without sentAt there is no skew to correct. originalTimestamp is "time on
    the client device when call was invoked or the timestamp value manually passed in"
    (spec/common.md §Timestamps): a call with neither has none, rather than one made up.
    """
    event["receivedAt"] = received_at
    sent_raw = event.get("sentAt") or envelope.sent_at
    sent_at = _parse_sent_at(sent_raw) if sent_raw is not None else None
    if sent_raw is not None and sent_at is None:
        warnings.append(f"sentAt {sent_raw!r} is not an ISO-8601 timestamp; ignored")
    if sent_at is not None:
        event["sentAt"] = sent_raw

    original_raw = event.get("timestamp")
    original = parse_timestamp(original_raw)
    if original_raw is not None and original is None:
        warnings.append(
            f"timestamp {original_raw!r} is not an ISO-8601 timestamp; Segment's time is used"
        )
    if original is None:
        event.pop("originalTimestamp", None)
        event["timestamp"] = received_at
        return
    event["originalTimestamp"] = original_raw
    if sent_at is None:
        event["timestamp"] = format_timestamp(original)
    else:
        event["timestamp"] = format_timestamp(envelope.received_at - (sent_at - original))


# The sentAt last parsed, and what it parsed to: a batch's sentAt (analytics-python and
# analytics-node send one per batch) is the same for each of its calls.
_last_sent_at: tuple[Any, datetime | None] = (None, None)


def _parse_sent_at(value: Any) -> datetime | None:
    global _last_sent_at
    if value is _last_sent_at[0]:
        return _last_sent_at[1]
    parsed = parse_timestamp(value)
    _last_sent_at = (value, parsed)
    return parsed


def json_type(value: Any) -> str:
    """The JSON type of a parsed value, as JSON Schema names it (numbers are "number")."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"
