"""Fault rules: which Tracking API requests to fail, and how.

A rule has selectors (route, write key, call type, event name, a query), a trigger (probability,
the first N, every Nth, a time window) and one effect (a status, a timeout, a reset, a close, a
partial batch), optionally after added latency. Rules come from segemu.toml (`[faults.<id>]`),
`segemu run --fault`, `/_segemu/faults` and the pytest `faults()` context manager, all as the
same plain mapping, checked here.

This module knows nothing about HTTP: segemu/http/faults.py carries the effects out.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from segemu.jsonlimits import LARGEST_INTEGER
from segemu.message import EVENT_TYPES
from segemu.query import Query, QueryError, parse_query

Effect = Literal["status", "timeout", "reset", "close", "partial", "latency"]

# What a rule may answer with. Segment's own answers (DOCS http-api §Errors, §Rate limits):
# 400 for a malformed or oversized body, 429 when a source is over its rate limit; 500, 502 and
# 503 are what a load balancer or an overloaded API gives back.
STATUSES = frozenset(range(400, 600))
# The longest a held request (the timeout effect) or added latency lasts: whatever a test
# configures, the server never holds a connection longer.
MAX_HOLD_SECONDS = 300.0
DEFAULT_TIMEOUT_SECONDS = 30.0
# Retry-After sent with a 429 when the rule names none: the shortest every SDK honours as a
# rate limit (analytics-node's publisher.ts waits at least 1 s; analytics-python parses whole
# seconds, request.py parse_retry_after).
DEFAULT_RETRY_AFTER = 1

# Keys as the control API and segemu.toml spell them (segemu/testing maps Python's spellings).
EFFECTS = ("status", "timeout", "reset", "close", "partial")
KEYS = (
    "id",
    "route",
    "writeKey",
    "type",
    "event",
    "where",
    "probability",
    "times",
    "every",
    "after",
    "during",
    "seed",
    "status",
    "retryAfter",
    "latency",
    "timeout",
    "reset",
    "close",
    "partial",
)


class FaultError(ValueError):
    """A rule that cannot be used, worded for the person who wrote it."""


Clock = Callable[[], float]


@dataclass(slots=True)
class FaultRule:
    id: str
    effect: Effect
    route: str | None = None
    write_key: str | None = None
    type: str | None = None
    event: str | None = None
    where: Query | None = None
    probability: float = 1.0
    times: int | None = None
    every: int | None = None
    after: float = 0.0
    during: float | None = None
    seed: int | None = None
    status: int | None = None
    retry_after: int | None = None
    latency: float = 0.0
    timeout: float = 0.0
    # partial: how many calls of each batch are accepted (the first ones).
    partial: int = 0
    # Set when the rule is added (Faults.add), on the engine's clock.
    added_at: float = 0.0
    # Running counts: requests the selectors matched, and how many the rule failed.
    seen: int = 0
    fired: int = 0
    _random: random.Random = field(default_factory=random.Random, repr=False)

    def __post_init__(self) -> None:
        # Seeded: the same requests in the same order fire the same way in every run.
        self._random = random.Random(self.seed if self.seed is not None else self.id)

    def selects(
        self, route: str, write_key: str | None, calls: list[Any], route_type: str | None = None
    ) -> bool:
        """Whether the selectors pick this request: its route and write key, and at least one
        of its calls for the type, event and query (a batch is one request). `route_type`:
        the type a single-call route gives its call (`/v1/track`) when the body has none."""
        if self.route is not None and not _route_matches(self.route, route):
            return False
        if self.write_key is not None and write_key != self.write_key:
            return False
        if self.type is None and self.event is None and self.where is None:
            return True
        return any(
            self._selects_call(route, write_key, call, call.get("type") or route_type)
            for call in calls
            if isinstance(call, dict)
        )

    def _selects_call(
        self, route: str, write_key: str | None, call: dict[str, Any], kind: Any
    ) -> bool:
        if self.type is not None and kind != self.type:
            return False
        if self.event is not None and call.get("event") != self.event:
            return False
        if self.where is None:
            return True
        # What the query reads, before normalization: the call as sent stands for the event.
        record: Any = {
            "type": kind,
            "writeKey": write_key,
            "route": route,
            "messageId": call.get("messageId"),
            "status": "accepted",
            "event": call,
            "raw": call,
        }
        return self.where.matches(record)

    def fires(self, now: float) -> bool:
        """Count one selected request and say whether the rule fails it (in this order: the
        window, every Nth, the first N, then the probability)."""
        self.seen += 1
        elapsed = now - self.added_at
        if elapsed < self.after:
            return False
        if self.during is not None and elapsed > self.after + self.during:
            return False
        if self.every is not None and self.seen % self.every != 0:
            return False
        if self.times is not None and self.fired >= self.times:
            return False
        if self.probability < 1.0 and self._random.random() >= self.probability:
            return False
        self.fired += 1
        return True

    @property
    def spent(self) -> bool:
        """A rule that will never fire again (its N are used up)."""
        return self.times is not None and self.fired >= self.times

    def describe(self) -> str:
        """The effect in a few words, for logs and the inspector."""
        match self.effect:
            case "status":
                text = f"{self.status}"
                if self.retry_after is not None:
                    text += f" Retry-After: {self.retry_after}"
            case "timeout":
                text = f"no answer for {self.timeout:g}s, then closed"
            case "reset":
                text = "connection reset"
            case "close":
                text = "connection closed before the answer"
            case "partial":
                text = f"only the first {self.partial} call(s) of the batch accepted"
            case _:
                text = "answered normally"
        if self.latency:
            text = f"{self.latency:g}s late, then {text}"
        return text

    def to_json(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"id": self.id, "effect": self.effect}
        for name, value in (
            ("route", self.route),
            ("writeKey", self.write_key),
            ("type", self.type),
            ("event", self.event),
            ("where", None if self.where is None else str(self.where)),
            ("probability", self.probability if self.probability < 1.0 else None),
            ("times", self.times),
            ("every", self.every),
            ("after", self.after or None),
            ("during", self.during),
            ("seed", self.seed),
            ("status", self.status),
            ("retryAfter", self.retry_after),
            ("latency", self.latency or None),
            ("timeout", self.timeout or None),
            ("partial", self.partial or None),
        ):
            if value is not None:
                entry[name] = value
        if self.effect in ("reset", "close"):
            entry[self.effect] = True
        entry.update(description=self.describe(), seen=self.seen, fired=self.fired)
        return entry


def _route_matches(wanted: str, path: str) -> bool:
    """`/v1/batch`, `batch` or `/v1/batch/` name the same route; `*` ends a prefix (`/v1/*`)."""
    path = path.rstrip("/")
    if wanted.endswith("*"):
        return path.startswith(_full_route(wanted[:-1]))
    return path == _full_route(wanted).rstrip("/")


def _full_route(route: str) -> str:
    return route if route.startswith("/") else f"/v1/{route}"


def parse_rule(entry: Mapping[str, Any], rule_id: str, origin: str) -> FaultRule:
    """A rule from its mapping (TOML table, JSON body, keyword arguments). FaultError names
    `origin` and the key at fault."""
    if not isinstance(entry, Mapping):
        raise FaultError(f"{origin}: a fault must be a table of settings, got {entry!r}")
    where = f"{origin}: fault {rule_id!r}"
    values: dict[str, Any] = {}
    for key, value in entry.items():
        if key not in KEYS:
            raise FaultError(f"{origin}: unknown key {key!r}; known keys: {', '.join(KEYS)}")
        if value is None:
            raise FaultError(f"{where}: {key} has no value (leave it out instead)")
        values[key] = value
    effects = [name for name in EFFECTS if name in values]
    if len(effects) > 1:
        raise FaultError(f"{where} has more than one effect ({', '.join(effects)}); give one")
    latency = _seconds(values, "latency", where, 0.0)
    if "latency" in values and not latency:
        raise FaultError(f"{where}: latency must be above 0 seconds")
    if not effects and not latency:
        raise FaultError(
            f"{where} has no effect: give status, timeout, reset, close, partial or latency"
        )
    effect: Effect = effects[0] if effects else "latency"  # type: ignore[assignment]
    rule = FaultRule(
        id=rule_id,
        effect=effect,
        route=_text(values, "route", where),
        write_key=_text(values, "writeKey", where),
        type=_call_type(values, where),
        event=_text(values, "event", where),
        where=_query(values, where),
        probability=_probability(values, where),
        times=_count(values, "times", where),
        every=_count(values, "every", where),
        after=_seconds(values, "after", where, 0.0, limit=None),
        during=_seconds(values, "during", where, None, limit=None),
        seed=_integer(values, "seed", where),
        latency=latency,
    )
    if effect == "status":
        status = whole(values["status"])
        if status not in STATUSES:
            raise FaultError(f"{where}: status must be a 4xx or 5xx code, got {values['status']!r}")
        rule.status = status
        retry_after = values.get("retryAfter", DEFAULT_RETRY_AFTER if status == 429 else None)
        if retry_after is not False and retry_after is not None:
            seconds = whole(retry_after)
            if seconds is None or not 0 <= seconds <= LARGEST_INTEGER:
                raise FaultError(
                    f"{where}: retryAfter must be whole seconds (0 or more), or false for none, "
                    f"got {retry_after!r}"
                )
            rule.retry_after = seconds
    elif "retryAfter" in values:
        raise FaultError(f"{where}: retryAfter goes with a status")
    if effect == "timeout":
        timeout = values["timeout"]
        rule.timeout = (
            DEFAULT_TIMEOUT_SECONDS if timeout is True else _seconds(values, "timeout", where, 0.0)
        )
        if rule.timeout <= 0:
            raise FaultError(f"{where}: timeout must be a number of seconds above 0")
    if effect in ("reset", "close") and values[effect] is not True:
        raise FaultError(f"{where}: {effect} takes true, got {values[effect]!r}")
    if effect == "partial":
        partial = whole(values["partial"])
        if partial is None or not 0 <= partial <= LARGEST_INTEGER:
            raise FaultError(
                f"{where}: partial is how many calls of each batch to accept (0 or more), "
                f"got {values['partial']!r}"
            )
        rule.partial = partial
    return rule


def _text(values: dict[str, Any], key: str, where: str) -> str | None:
    value = values.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise FaultError(f"{where}: {key} must be a non-empty string, got {value!r}")
    return value


def _call_type(values: dict[str, Any], where: str) -> str | None:
    kind = _text(values, "type", where)
    if kind is not None and kind not in EVENT_TYPES:
        raise FaultError(f"{where}: type must be one of {', '.join(EVENT_TYPES)}, got {kind!r}")
    return kind


def _query(values: dict[str, Any], where: str) -> Query | None:
    text = _text(values, "where", where)
    if text is None:
        return None
    try:
        return parse_query(text)
    except QueryError as exc:
        raise FaultError(f"{where}: where: {exc}") from None


def _probability(values: dict[str, Any], where: str) -> float:
    value = values.get("probability", 1.0)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
        raise FaultError(f"{where}: probability must be above 0 and at most 1, got {value!r}")
    return float(value)


def whole(value: Any) -> int | None:
    """A JSON integer as an int, None if it is not one. As in JSON Schema (what the OpenAPI
    document promises), 396.0 is the integer 396; true is not 1."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer() and abs(value) <= LARGEST_INTEGER:
        return int(value)
    return value if isinstance(value, int) else None


def _integer(values: dict[str, Any], key: str, where: str) -> int | None:
    value = values.get(key)
    if value is None:
        return None
    number = whole(value)
    if number is None:
        raise FaultError(f"{where}: {key} must be an integer, got {value!r}")
    if abs(number) > LARGEST_INTEGER:
        raise FaultError(f"{where}: {key} must be at most {LARGEST_INTEGER:,} in size, got {value}")
    return number


def _count(values: dict[str, Any], key: str, where: str) -> int | None:
    value = _integer(values, key, where)
    if value is not None and value < 1:
        raise FaultError(f"{where}: {key} must be at least 1, got {value}")
    return value


def _seconds(
    values: dict[str, Any],
    key: str,
    where: str,
    default: float | None,
    limit: float | None = MAX_HOLD_SECONDS,
) -> Any:
    value = values.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise FaultError(f"{where}: {key} must be a number of seconds, got {value!r}")
    if limit is not None and value > limit:
        raise FaultError(f"{where}: {key} is at most {limit:g} seconds, got {value}")
    return float(value)
