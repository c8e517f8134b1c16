"""Whether a document read from the store's files is a record segemu could have written.

Documents come from a JSON parser, so they hold exact dicts, lists and strs: the checks compare
types, which is cheaper than isinstance, and they run for every record when the store opens.

A chunk file can be valid JSON and still hold something else: edited by hand, written by an
older or newer segemu, damaged on disk. Every reader (summary, listings, queries, deliveries,
the inspector) trusts a record's shape, so each document is checked once when the store opens,
and one that fails is set aside with the reason instead of failing a page later.

The checks follow what the pipeline guarantees for every record it makes (segemu/message.py
`Record` and `normalize`), no more: a record is free to carry fields a later segemu adds.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from segemu.jsonlimits import RECORD_DEPTH, deeper_than
from segemu.message import EVENT_TYPES, STATUSES, parse_timestamp

# What normalization makes an object in every event, whatever was sent.
_EVENT_OBJECTS = ("properties", "traits", "context", "integrations")
_OPTIONAL_TEXT = ("writeKey", "type", "reason")
_REQUIRED_KEYS = frozenset(
    ("id", "messageId", "status", "receivedAt", "route", "raw", "event", "warnings")
)


def record_problem(document: Any, *, shallow: bool = False) -> str | None:
    """Why `document` is not a record, or None. Linear in its size. `shallow`: the caller
    knows already that it nests at most RECORD_DEPTH levels (the store asks that of a whole
    chunk at once, jsonlimits.encoder_within)."""
    if not isinstance(document, dict):
        return f"a record is an object, this is {_kind(document)}"
    problem = _fields_problem(document)
    if problem is None and not shallow and deeper_than(document, RECORD_DEPTH):
        problem = f"it nests more than {RECORD_DEPTH} levels"
    return problem


def tombstone_problem(document: Any) -> str | None:
    """Why `document` is not a reset of one write key (`{"writeKey", "beforeId"}`), or None."""
    if not isinstance(document, dict):
        return f"a reset is an object, this is {_kind(document)}"
    write_key = document.get("writeKey")
    if write_key is not None and not isinstance(write_key, str):
        return f"writeKey is {_kind(write_key)}, not a string or null"
    if not _is_id(document.get("beforeId")):
        return f"beforeId is {_kind(document.get('beforeId'))}, not a record id"
    return None


def _fields_problem(record: Mapping[str, Any]) -> str | None:
    if not record.keys() >= _REQUIRED_KEYS:
        return f"it has no {min(_REQUIRED_KEYS - record.keys())}"
    if not _is_id(record["id"]):
        return f"id is {_kind(record['id'])}, not a positive integer"
    message_id = record["messageId"]
    if type(message_id) is not str or not message_id:
        return f"messageId is {_kind(message_id)}, not a string"
    for name in _OPTIONAL_TEXT:
        value = record.get(name)
        if value is not None and type(value) is not str:
            return f"{name} is {_kind(value)}, not a string or null"
    if record["status"] not in STATUSES:
        return f"status {record['status']!r} is not one of {', '.join(STATUSES)}"
    received_at = record["receivedAt"]
    if type(received_at) is not str or parse_timestamp(received_at) is None:
        return f"receivedAt {received_at!r} is not a timestamp"
    if type(record["route"]) is not str:
        return f"route is {_kind(record['route'])}, not a string"
    warnings = record["warnings"]
    if type(warnings) is not list or (warnings and not all(type(w) is str for w in warnings)):
        return "warnings is not a list of strings"
    return _event_problem(record) or _verdicts_problem(record)


def _event_problem(record: Mapping[str, Any]) -> str | None:
    event = record["event"]
    if type(event) is not dict:
        return f"event is {_kind(event)}, not an object"
    for name in _EVENT_OBJECTS:
        value = event.get(name)
        if value is not None and type(value) is not dict:
            return f"event.{name} is {_kind(value)}, not an object"
    if record["status"] == "accepted" and record.get("type") not in EVENT_TYPES:
        return f"an accepted record of type {record.get('type')!r}"
    return None


def _verdicts_problem(record: Mapping[str, Any]) -> str | None:
    """What the pipeline's later stages add, where present (all optional)."""
    if "duplicateOf" in record and not _is_id(record["duplicateOf"]):
        return "duplicateOf is not a record id"
    if type(record.get("source", "")) is not str:
        return "source is not a string"
    for name in ("arrival", "protocols"):
        if type(record.get(name, {})) is not dict:
            return f"{name} is not an object"
    routing = record.get("routing")
    if routing is not None and not (
        type(routing) is dict
        and all(
            type(verdict) is dict
            and type(verdict.get("status")) is str
            and type(verdict.get("reason", "")) in (str, type(None))
            for verdict in routing.values()
        )
    ):
        return "routing is not an object of each destination's verdict"
    for name, keys in (("violations", ("type", "path", "message")), ("lint", ("rule", "message"))):
        entries = record.get(name)
        if entries is not None and not _entries(entries, keys):
            return f"{name} is not a list of {name} entries"
    return None


def _entries(entries: Any, keys: tuple[str, ...]) -> bool:
    return type(entries) is list and all(
        type(entry) is dict and all(type(entry.get(key)) is str for key in keys)
        for entry in entries
    )


def _is_id(value: Any) -> bool:
    return type(value) is int and value >= 1


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"
