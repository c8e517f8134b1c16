"""The destinations of a running emulator: what each would receive for each stored record.

A recording-only destination's delivery is a pure function of the event and the destination's
config, so it is computed when something reads it (the control API, the TUI, an assertion)
and cached, rather than at ingest: ingest stays fast however many destinations are enabled,
and 100,000 stored events do not carry 8 payloads each in memory. Segment delivers after it
acknowledges, too. Deliveries that really happen (the Webhook with a URL) or that fail on
purpose (injected failures) are decided at ingest and carried out by the delivery worker;
their live status (pending, retrying, delivered, failed, attempts) is kept per record.

Config changed at runtime applies to events received afterwards; each record is routed by the
destinations in force when it arrived.
"""

from __future__ import annotations

import bisect
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypedDict

from segemu.config import Config
from segemu.destinations.base import Request
from segemu.destinations.config import Destination, load_destinations
from segemu.destinations.mapping import MappingError
from segemu.destinations.routing import decide
from segemu.message import Record
from segemu.protocols.forwarding import forwarded_event
from segemu.sources import Sources

DELIVERY_STATUSES: tuple[str, ...] = ("delivered", "filtered", "failed", "retrying", "pending")
# How many records' computed deliveries are kept; older ones are recomputed when read.
CACHED_RECORDS = 20_000


class Delivery(TypedDict):
    destination: str
    name: str
    # delivered | filtered | failed | retrying | pending
    status: str
    reason: str | None
    requests: list[Request]
    attempts: int


@dataclass(slots=True)
class LiveDelivery:
    """A delivery the worker carries out: its state changes after ingest."""

    record: Record
    destination: Destination
    requests: list[Request]
    status: str = "pending"
    attempts: int = 0
    reason: str | None = None
    responses: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The destinations in force from one record id on."""

    first_id: int
    destinations: tuple[Destination, ...]


class Destinations:
    def __init__(self, config: Config, sources: Sources) -> None:
        self.sources = sources
        self._snapshots = [Snapshot(0, tuple(load_destinations(config)))]
        self._cache: OrderedDict[int, dict[str, Delivery]] = OrderedDict()
        self._live: dict[int, dict[str, LiveDelivery]] = {}
        # Called with each live delivery that needs (another) attempt; the worker sets it.
        self.schedule: Callable[[LiveDelivery, float], None] | None = None
        # Called with a record whose deliveries changed (waiters re-check it).
        self.changed: Callable[[Record], None] | None = None

    # -- config -------------------------------------------------------------------------

    @property
    def current(self) -> tuple[Destination, ...]:
        return self._snapshots[-1].destinations

    def replace(self, destinations: Iterable[Destination], next_id: int) -> None:
        """New destinations for records from `next_id` on (runtime config changes)."""
        self._snapshots.append(Snapshot(next_id, tuple(destinations)))
        del self._snapshots[:-16]  # older records fall back to the oldest snapshot kept

    def get(self, destination_id: str) -> Destination | None:
        return next((d for d in self.current if d.id == destination_id), None)

    def _at(self, record_id: int) -> tuple[Destination, ...]:
        firsts = [snapshot.first_id for snapshot in self._snapshots]
        index = max(bisect.bisect_right(firsts, record_id) - 1, 0)
        return self._snapshots[index].destinations

    # -- ingest -------------------------------------------------------------------------

    def on_ingest(self, records: list[Record]) -> None:
        """Start the deliveries that really happen or fail on purpose."""
        live_destinations = [
            d for d in self.current if d.enabled and (d.sends or d.failures is not None)
        ]
        if not live_destinations or self.schedule is None:
            return
        for record in records:
            if record["status"] != "accepted":
                continue
            for destination in live_destinations:
                delivery = self._compute(record, destination)
                if delivery["status"] != "delivered":
                    continue  # filtered: nothing to send
                live = LiveDelivery(record, destination, delivery["requests"])
                self._live.setdefault(record["id"], {})[destination.id] = live
                self.schedule(live, 0.0)

    def updated(self, live: LiveDelivery) -> None:
        if self.changed is not None:
            self.changed(live.record)

    # -- reads --------------------------------------------------------------------------

    def deliveries(self, record: Record) -> dict[str, Delivery]:
        """Every destination's delivery of one record; {} for a call Segment would drop."""
        if record["status"] != "accepted":
            return {}
        record_id = record["id"]
        computed = self._cache.get(record_id)
        if computed is None:
            computed = {d.id: self._compute(record, d) for d in self._at(record_id)}
            self._cache[record_id] = computed
            if len(self._cache) > CACHED_RECORDS:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(record_id)
        live = self._live.get(record_id)
        if not live:
            return computed
        merged = dict(computed)
        for destination_id, state in live.items():
            base = computed[destination_id]
            # The worker's reason first; else what mapping said (an action that failed).
            merged[destination_id] = {
                **base,
                "status": state.status,
                "reason": state.reason or base["reason"],
                "attempts": state.attempts,
            }
        return merged

    def live(self, record_id: int, destination_id: str) -> LiveDelivery | None:
        return self._live.get(record_id, {}).get(destination_id)

    def forget(self, record_ids: Iterable[int] | None = None) -> None:
        """Drop cached and live state (the store was reset)."""
        if record_ids is None:
            self._cache.clear()
            self._live.clear()
            return
        for record_id in record_ids:
            self._cache.pop(record_id, None)
            self._live.pop(record_id, None)

    def _compute(self, record: Record, destination: Destination) -> Delivery:
        source = self.sources.for_write_key(record["writeKey"])
        protocols = record.get("protocols")
        blocked = protocols.get("blocked") if isinstance(protocols, dict) else None
        # The event as the tracking plan lets it through: omitted properties and traits gone.
        event = forwarded_event(record) if protocols else record["event"]
        decision = decide(destination, source, event, blocked)
        delivery: Delivery = {
            "destination": destination.id,
            "name": destination.name,
            "status": "filtered",
            "reason": decision.reason,
            "requests": [],
            "attempts": 0,
        }
        if decision.outcome != "route":
            return delivery
        subscribed = [action for action in destination.actions if action.subscribed(decision.event)]
        if not subscribed:
            delivery["reason"] = "no action is subscribed to this event"
            return delivery
        requests: list[Request] = []
        # The source's name travels with the settings: the warehouse names its schema after it.
        settings = (
            {"source": source.name, **destination.settings}
            if source is not None
            else destination.settings
        )
        failures: list[str] = []
        for action in subscribed:
            try:
                requests.extend(action.run(decision.event, settings))
            except (MappingError, KeyError, TypeError, ValueError) as exc:
                # A mapping that cannot handle this event fails for that event; each
                # subscribed action runs on its own, so the others still deliver.
                failures.append(
                    f"{action.action.name!r}: {exc}" if len(subscribed) > 1 else str(exc)
                )
        if failures and len(failures) == len(subscribed):
            delivery["status"], delivery["reason"] = (
                "failed",
                (f"mapping failed: {'; '.join(failures)}"),
            )
            return delivery
        delivery["status"], delivery["requests"] = "delivered", requests
        delivery["attempts"] = 1 if requests else 0
        if failures:
            delivery["reason"] = f"mapping failed for {'; '.join(failures)}"
        return delivery


def describe(destination: Destination, *, full: bool = False) -> dict[str, Any]:
    """A destination as the control API, the CLI and the TUI show it."""
    described: dict[str, Any] = {
        "id": destination.id,
        "name": destination.name,
        "preset": destination.preset.slug,
        "enabled": destination.enabled,
        "sends": destination.sends,
        "consentCategories": list(destination.consent_categories),
        "filters": [{"name": f.name, "action": f.action} for f in destination.filters],
        "actions": [
            {"name": a.action.name, "subscribe": a.action.subscribe} for a in destination.actions
        ],
        "aliases": list(destination.aliases),
    }
    if destination.failures is not None:
        failures = destination.failures
        described["failures"] = {
            "status": failures.status,
            "times": failures.times,
            "latency": failures.latency,
        }
    if full:
        described["settings"] = dict(destination.settings)
        for entry, compiled in zip(described["actions"], destination.actions, strict=True):
            entry["mapping"] = compiled.action.mapping
    return described


def delivery_entry(record: Record, delivery: Delivery) -> dict[str, Any]:
    """One delivery with the call it came from, as the deliveries listing shows it."""
    event = record["event"]
    return {
        "id": record["id"],
        "messageId": record["messageId"],
        "writeKey": record["writeKey"],
        "type": record["type"],
        "event": event.get("event") or event.get("name"),
        "receivedAt": record["receivedAt"],
        **delivery,
    }
