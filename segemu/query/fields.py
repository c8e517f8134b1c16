"""Fields of a record: shorthands, dotted paths resolved once to getters, the fan-out through
lists, and the typed-value helpers (text form, numbers, globs) that comparisons share."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from segemu.message import Record

Predicate = Callable[[Record], bool]
Getter = Callable[[Record], Any]


# -- values and paths ---------------------------------------------------------------------------


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<missing>"


# A field that is absent; distinct from a field that is present and null.
_MISSING: Any = _Missing()


class _Fanout(list[Any]):
    """The values a path reached through a list: the term matches if any of them does.

    A distinct type from list, because `:*` and `:null` test a list value itself but look at
    each value of a fan-out.
    """

    __slots__ = ()


_Segment = tuple[str, int | None]  # (dict key, list index if the segment is a bare number)


def _walk(root: Any, segments: tuple[_Segment, ...]) -> Any:
    value = root
    for n, (key, index) in enumerate(segments):
        kind = type(value)
        if kind is dict:
            value = value.get(key, _MISSING)
            if value is _MISSING:
                return _MISSING
        elif kind is list:
            if index is None:
                return _fan_out(value, segments[n:])
            value = value[index] if index < len(value) else _MISSING
            if value is _MISSING:
                return _MISSING
        else:
            return _MISSING
    return value


def _fan_out(start: list[Any], segments: tuple[_Segment, ...]) -> _Fanout:
    """The slow path of _walk, for a path that goes through a list: one segment at a time over
    every value reached so far; under a plain (non-index) segment a list stands for its elements,
    at any depth."""
    current: list[Any] = start
    for key, index in segments:
        following: list[Any] = []
        pending: list[Any] | None = current
        while pending:
            nested: list[Any] | None = None
            for value in pending:
                kind = type(value)
                if kind is dict:
                    following.append(value.get(key, _MISSING))
                elif kind is list:
                    if index is None:
                        nested = nested or []
                        nested.extend(value)
                    else:
                        following.append(value[index] if index < len(value) else _MISSING)
                else:
                    following.append(_MISSING)
            pending = nested
        current = following
    return _Fanout(current)


def _record_field(key: str) -> Getter:
    def get(record: Record) -> Any:
        return record.get(key, _MISSING)

    return get


def _event_field(key: str) -> Getter:
    def get(record: Record) -> Any:
        return record["event"].get(key, _MISSING)

    return get


_SHORTHANDS: dict[str, Getter] = {
    **{
        name: _record_field(name)
        for name in (
            "type",
            "status",
            "reason",
            "route",
            "receivedAt",
            "id",
            "writeKey",
            "messageId",
        )
    },
    "source": _record_field("writeKey"),
    **{
        name: _event_field(name)
        for name in ("event", "name", "groupId", "previousId", "userId", "anonymousId")
    },
    "user": _event_field("userId"),
    "anon": _event_field("anonymousId"),
}


# Paths that start here look into the record beside the event: `raw.` (the call as sent), and
# what the tracking plan and lint rules said (`violations.type:required`, `lint.rule:*`,
# `protocols.blocked:*`; segemu/protocols), and each destination's routing, decided at ingest
# (`routing.mixpanel.status:filtered`). `deliveries.<id>.status` and `.reason` read the same
# routing; the rest of a delivery (`deliveries.<id>.requests...`) is built when read, so a query
# that reaches it is matched against records with their deliveries (Query.reads_requests).
# `profile.` reads the call's profile as it is now (segemu/identity/views.py query_view:
# `profile.traits.plan:pro`, `profile.segment_id:use_*`, `profile.external_ids.email:*`), which
# the reader puts on the record when a query reaches it (Query.reads_profile).
_RECORD_ROOTS = frozenset(
    {"raw", "violations", "lint", "protocols", "routing", "deliveries", "profile"}
)
_ROUTING_FIELDS = frozenset({"status", "reason"})


def _getter(segments: list[tuple[str, bool]]) -> tuple[Getter, int]:
    """Resolve a field once, at parse time, to a function of the record, and its cost."""
    first, first_quoted = segments[0]
    if len(segments) == 1 and not first_quoted and first in _SHORTHANDS:
        return _SHORTHANDS[first], 1
    root = "event"
    if first in _RECORD_ROOTS and not first_quoted:
        root, segments = first, segments[1:]
        if root == "deliveries" and (len(segments) < 2 or segments[1][0] in _ROUTING_FIELDS):
            root = "routing"
        if not segments:
            return _record_field(root), 1
    path = tuple(
        (name, int(name) if name.isascii() and name.isdigit() and not quoted else None)
        for name, quoted in segments
    )
    if len(path) == 1 and path[0][1] is None and root == "event":
        return _event_field(path[0][0]), 1
    if root != "event":

        def get_in_record(record: Record) -> Any:
            return _walk(record.get(root, _MISSING), path)

        return get_in_record, 2

    def get_event(record: Record) -> Any:
        return _walk(record["event"], path)

    return get_event, 2


def _text(value: Any) -> str | None:
    """The text form that globs and regexes look at."""
    kind = type(value)
    if kind is str:
        return value  # type: ignore[no-any-return]
    if kind is bool:
        return "true" if value else "false"
    if kind is int or kind is float:
        return str(value)
    if kind is dict:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return None


def _any(value: Any, test: Callable[[Any], bool]) -> bool:
    """A test of one value, where a list (or fan-out) matches if any element does, at any depth.

    A loop, not recursion: a deeply nested list in an event must not blow the stack."""
    if type(value) is not list and type(value) is not _Fanout:
        return test(value)
    pending: list[list[Any]] = [value]
    while pending:
        for element in pending.pop():
            if type(element) is list:
                pending.append(element)
            elif test(element):
                return True
    return False


# Unambiguous, so a long run of digits that fails at its end is not retried split in two ways
# (`[0-9]+\.?[0-9]*` was quadratic in the run).
_NUMBER = re.compile(r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")


def _number(text: str) -> int | float | None:
    if not _NUMBER.fullmatch(text):
        return None
    try:
        return int(text)
    except ValueError:
        return float(text)


def _is_number(value: Any) -> bool:
    # bool is an int subclass, but `true` is not the number 1 in a query.
    return type(value) is int or type(value) is float


class Glob:
    """A pattern where `*` stands for any run of characters, matched without a regex.

    `*`s joined into a regex (`a.*a.*a.*b`) backtrack: `*a*a*a*a*a*b` against 60 characters took
    seconds. Finding each literal part in turn, leftmost first, gives the same answer (an earlier
    place for a part never leaves less room for the parts after it) in time linear in the text.
    """

    __slots__ = ("_first", "_last", "_middle", "_minimum", "_pattern")

    def __init__(self, pattern: str) -> None:
        self._pattern = pattern
        parts = pattern.split("*")
        self._first, self._last = parts[0], parts[-1] if len(parts) > 1 else ""
        self._middle = tuple(part for part in parts[1:-1] if part)
        self._minimum = len(self._first) + len(self._last)

    def fullmatch(self, text: str) -> bool:
        """The whole text fits the pattern."""
        if "*" not in self._pattern:
            return text == self._pattern
        if (
            len(text) < self._minimum
            or not text.startswith(self._first)
            or not text.endswith(self._last)
        ):
            return False
        return self._in_order(text, len(self._first), len(text) - len(self._last))

    def search(self, text: str) -> bool:
        """Some part of the text fits the pattern."""
        return self._in_order(text, 0, len(text), (self._first, *self._middle, self._last))

    def _in_order(
        self, text: str, start: int, end: int, parts: tuple[str, ...] | None = None
    ) -> bool:
        for part in self._middle if parts is None else parts:
            found = text.find(part, start, end)
            if found < 0:
                return False
            start = found + len(part)
        return True
