"""Faults on the Tracking API: rules that make segemu answer like a Segment having a bad day
(429 with Retry-After, 5xx, no answer, a dropped connection, a batch half kept), so a team can
see how its SDK set-up retries, and whether every call still arrives once.

`Faults` holds the rules and the log of faulted requests, and links each refused call to the
request that later delivers it (by messageId). It decides; the HTTP edge (segemu/http/faults.py)
carries the effect out, before the body reaches the pipeline.
"""

from __future__ import annotations

import itertools
import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from segemu.faults.rules import Clock, FaultError, FaultRule, parse_rule
from segemu.message import Record, format_timestamp

__all__ = ["FaultError", "FaultRule", "Faulted", "Faults", "parse_rule"]

# How many faulted requests the log keeps, newest last, and how many messageIds of one request
# it remembers (a batch of tiny calls can hold thousands).
LOG_KEPT = 1000
MESSAGE_IDS_KEPT = 500
MAX_RULES = 100


@dataclass(frozen=True, slots=True)
class Faulted:
    """A rule fired on a request: what the edge must do. `entry` is its log entry."""

    rule: FaultRule
    entry: dict[str, Any]


class Faults:
    def __init__(self, clock: Clock = time.monotonic) -> None:
        self.rules: list[FaultRule] = []
        self.log: deque[dict[str, Any]] = deque()
        self.total = 0
        self._clock = clock
        self._ids = itertools.count(1)
        self._rule_ids = itertools.count(1)
        # messageId -> the log entries that refused it, to link the call that later arrives.
        self._refused: dict[str, list[dict[str, Any]]] = {}

    # -- rules ---------------------------------------------------------------------------

    def add(self, entry: Mapping[str, Any], origin: str = "fault") -> FaultRule:
        """Add a rule from its mapping; FaultError if it cannot be used. A rule with the id of
        an existing one replaces it."""
        rule_id = entry.get("id")
        if "id" in entry and (not isinstance(rule_id, str) or not rule_id):
            raise FaultError(f"{origin}: id must be a non-empty string, got {rule_id!r}")
        if rule_id is None:
            rule_id = self._fresh_id()
        rule = parse_rule({k: v for k, v in entry.items() if k != "id"}, rule_id, origin)
        kept = [r for r in self.rules if r.id != rule.id]
        if len(kept) >= MAX_RULES:
            raise FaultError(f"{origin}: at most {MAX_RULES} fault rules at once")
        rule.added_at = self._clock()
        self.rules = [*kept, rule]
        return rule

    def add_all(self, table: Mapping[str, Any], origin: str) -> None:
        """The `[faults.<id>]` tables of a config file (or `segemu run --fault`)."""
        for rule_id, entry in table.items():
            if not isinstance(entry, Mapping):
                raise FaultError(f"{origin}: [faults.{rule_id}] must be a table")
            self.add({**entry, "id": rule_id}, f"{origin} [faults.{rule_id}]")

    def _fresh_id(self) -> str:
        taken = {rule.id for rule in self.rules}
        while (candidate := f"fault-{next(self._rule_ids)}") in taken:
            pass
        return candidate

    def remove(self, rule_id: str) -> bool:
        kept = [rule for rule in self.rules if rule.id != rule_id]
        removed = len(kept) != len(self.rules)
        self.rules = kept
        return removed

    def clear(self, write_key: str | None = None) -> int:
        """Remove every rule (those of one write key), and the log of those requests."""
        if write_key is None:
            removed = len(self.rules)
            self.rules = []
            self.log.clear()
            self._refused.clear()
            return removed
        kept = [rule for rule in self.rules if rule.write_key != write_key]
        removed = len(self.rules) - len(kept)
        self.rules = kept
        return removed

    # -- the edge asks -------------------------------------------------------------------

    def decide(
        self,
        route: str,
        write_key: str | None,
        calls: list[Any],
        retry_count: int | None,
        route_type: str | None = None,
    ) -> Faulted | None:
        """The first rule that fires on this request, logged; None lets it through. Called
        only while there are rules (the edge checks `self.rules` first)."""
        now = self._clock()
        for rule in self.rules:
            if rule.selects(route, write_key, calls, route_type) and rule.fires(now):
                items = [call for call in calls if isinstance(call, dict)]
                return Faulted(rule, self._record(rule, route, write_key, items, retry_count))
        return None

    def _record(
        self,
        rule: FaultRule,
        route: str,
        write_key: str | None,
        calls: list[dict[str, Any]],
        retry_count: int | None,
    ) -> dict[str, Any]:
        refused = calls[rule.partial :] if rule.effect == "partial" else calls
        if rule.effect == "latency":
            refused = []  # late, but answered and kept
        message_ids = [
            call["messageId"] for call in refused if isinstance(call.get("messageId"), str)
        ][:MESSAGE_IDS_KEPT]
        entry: dict[str, Any] = {
            "id": next(self._ids),
            "at": format_timestamp(datetime.now(UTC)),
            "rule": rule.id,
            "effect": rule.effect,
            "status": rule.status,
            "reason": f"fault {rule.id!r}: {rule.describe()}",
            "route": route,
            "writeKey": write_key,
            "retryCount": retry_count,
            "calls": len(calls),
            "refused": len(refused),
            "types": sorted({str(call.get("type")) for call in refused}),
            "messageIds": message_ids,
            # messageId -> id of the record that later delivered it (a retry that got through).
            "arrived": {},
        }
        self.total += 1
        if len(self.log) >= LOG_KEPT:
            self._forget(self.log.popleft())
        self.log.append(entry)
        for message_id in message_ids:
            self._refused.setdefault(message_id, []).append(entry)
        return entry

    def _forget(self, entry: dict[str, Any]) -> None:
        for message_id in entry["messageIds"]:
            entries = self._refused.get(message_id)
            if entries is None:
                continue
            entries[:] = [e for e in entries if e is not entry]
            if not entries:
                del self._refused[message_id]

    # -- linking retries -----------------------------------------------------------------

    def arrived(self, records: Iterable[Record]) -> None:
        """Link the stored calls whose earlier attempts a fault refused (the first that got
        through; a later duplicate is the pipeline's dedupe to report)."""
        if not self._refused:
            return
        for record in records:
            for entry in self._refused.get(record["messageId"], ()):
                entry["arrived"].setdefault(record["messageId"], record["id"])

    def attempts_of(self, message_id: str) -> list[dict[str, Any]]:
        """The faulted requests that carried this messageId, oldest first."""
        return [_shown(entry) for entry in self._refused.get(message_id, ())]

    # -- reads ---------------------------------------------------------------------------

    def listing(self, write_key: str | None = None, limit: int = 100) -> dict[str, Any]:
        """The rules and the faulted requests, newest first (of one write key, if given)."""
        entries = [
            _shown(entry)
            for entry in reversed(self.log)
            if write_key is None or entry["writeKey"] == write_key
        ][:limit]
        rules = [
            rule.to_json()
            for rule in self.rules
            if write_key is None or rule.write_key in (None, write_key)
        ]
        return {"rules": rules, "faulted": entries, "total": self.total}


def _shown(entry: dict[str, Any]) -> dict[str, Any]:
    """A log entry as readers see it: with how many refused calls have not arrived since."""
    missing = [m for m in entry["messageIds"] if m not in entry["arrived"]]
    return {**entry, "arrived": dict(entry["arrived"]), "missing": missing}
