"""The destinations of a running emulator: where each call goes, and what each would receive.

Routing is decided at ingest, as a pipeline stage: for each destination in force when the call
arrives, "delivered" or "filtered" and why (enabled and connected, schema controls, consent,
the integrations object, destination filters, subscriptions: destinations/routing.py). It is
stored on the record (`routing`) and every surface reads it as plain data.

The requests a recording-only destination would receive are a pure function of the event and
the destination's config, and building them costs about fifty times more than routing: they
are built only for the records a reader shows (`deliveries`), and kept in a small cache.
Deliveries that really happen (the Webhook with a URL) or that fail on purpose (injected
failures) are carried out by the delivery worker after the ack; their live state (pending,
retrying, delivered, failed, attempts) is kept by record id and dropped when the store drops
the record (`forget`).
"""

from __future__ import annotations

import bisect
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, NotRequired, TypedDict

from segemu.config import Config
from segemu.destinations.base import Request
from segemu.destinations.config import Destination, check_connections, load_destinations
from segemu.destinations.mapping import MappingError
from segemu.destinations.routing import decide
from segemu.message import Record
from segemu.protocols.forwarding import forwarded_event
from segemu.protocols.validate import without
from segemu.sources import Source, Sources

DELIVERY_STATUSES: tuple[str, ...] = ("delivered", "filtered", "failed", "retrying", "pending")
# How many records' built deliveries are kept; older ones are built again when read. A record's
# deliveries for the four default destinations cost about 6.5 KB of memory (measured for an
# analytics-python track call): this bounds the cache near 13 MB.
CACHED_RECORDS = 2_000
# Routings remembered for calls alike (see Destinations.route); bounded, as names are free.
_ROUTINGS_KEPT = 10_000
# The fields a subscription may read for its answer to depend on the type and name alone.
_NAME_FIELDS = frozenset({"type", "event", "name"})


class Verdict(TypedDict):
    """One destination's routing of one call, decided at ingest."""

    # delivered | filtered (and, once a reader has built the requests: failed)
    status: str
    reason: str | None
    # With an Insert Function, once it ran: the call before and after it (or dropped).
    insertFunction: NotRequired[dict[str, Any]]


class Delivery(TypedDict):
    destination: str
    name: str
    # delivered | filtered | failed | retrying | pending
    status: str
    reason: str | None
    requests: list[Request]
    attempts: int
    # A Destination or Insert Function's delivery: what the function did.
    function: NotRequired[dict[str, Any]]


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
    # What a Destination or Insert Function did (segemu/functions/deliver.py): its
    # invocations with console output, fetches and return value, the call before and after.
    function: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The destinations in force from one record id on."""

    first_id: int
    destinations: tuple[Destination, ...]


class _Interned:
    """Routing verdicts repeat on almost every call: each distinct one exists once."""

    def __init__(self) -> None:
        self._verdicts: dict[tuple[str, str | None], Verdict] = {}

    def verdict(self, status: str, reason: str | None) -> Verdict:
        key = (status, reason)
        found = self._verdicts.get(key)
        if found is None:
            if len(self._verdicts) >= 10_000:  # reasons can quote event names: bounded
                self._verdicts.clear()
            found = self._verdicts[key] = {"status": status, "reason": reason}
        return found


@dataclass(frozen=True, slots=True)
class _RoutingPlan:
    """Which fields of a call the routing of a set of destinations reads (routing.py): the
    source, the type and the name, schema controls' verdict, the integrations object and,
    where a destination has consent categories, the consent preferences. Not shared when a
    destination filter or a subscription reads more: then each call is decided alone."""

    shared: bool
    reads_consent: bool

    @classmethod
    def of(cls, destinations: tuple[Destination, ...]) -> _RoutingPlan:
        shared = all(
            not destination.filters
            and all(action.reads <= _NAME_FIELDS for action in destination.actions)
            for destination in destinations
        )
        return cls(shared, any(d.consent_categories for d in destinations))

    def key(
        self, source: Source, event: dict[str, Any], blocked: str | None
    ) -> tuple[Any, ...] | None:
        if not self.shared:
            return None
        integrations = event.get("integrations")
        if integrations:
            integrations = _frozen(integrations)
            if integrations is None:
                return None
        consent = None
        if self.reads_consent:
            context = event.get("context")
            consent = context.get("consent") if isinstance(context, dict) else None
            if consent is not None:
                consent = _frozen(consent)
                if consent is None:
                    return None
        return (
            source.name,
            event.get("type"),
            event.get("event"),
            event.get("name"),
            blocked,
            integrations or None,
            consent,
        )


def received_event(record: Record) -> dict[str, Any]:
    """The event as destinations receive it: what the tracking plan omits (properties and
    traits, with `context.protocols`) and the traits the source's schema controls block are
    gone. The stored event itself is never changed."""
    event = forwarded_event(record) if record.get("protocols") else record["event"]
    controls = record.get("schemaControls")
    if isinstance(controls, dict) and controls.get("omitted"):
        event = without(event, controls["omitted"])
    return event


def _frozen(value: Any) -> Any:
    """A hashable stand-in for a small JSON object (integrations, consent), or None when it
    is too large or holds a list: that call is then decided alone."""
    if not isinstance(value, dict):
        return ("not an object", type(value).__name__, value if _hashable(value) else None)
    if len(value) > 32:
        return None
    items = []
    for key, item in value.items():
        if isinstance(item, dict):
            item = _frozen(item)
            if item is None:
                return None
        elif not _hashable(item):
            return None
        # The type too: routing tells `false` from 0 (only `false` turns a destination off).
        items.append((key, type(item).__name__, item))
    return frozenset(items)


def _hashable(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


class Destinations:
    def __init__(self, config: Config, sources: Sources) -> None:
        self.sources = sources
        loaded = tuple(load_destinations(config))
        check_connections(loaded, config)
        self._snapshots = [Snapshot(0, loaded)]
        self._cache: OrderedDict[int, dict[str, Delivery]] = OrderedDict()
        self._live: dict[int, dict[str, LiveDelivery]] = {}
        self._interned = _Interned()
        # Routings shared by calls alike (see `route`), for the destinations in `_plan`.
        self._plan: tuple[tuple[Destination, ...], _RoutingPlan] | None = None
        self._routings: dict[tuple[Any, ...], dict[str, Verdict]] = {}
        # The live ones among the current destinations, asked after every call (`start`) and
        # changed only by `replace`: kept with the destinations they were picked from.
        self._live_picked: tuple[tuple[Destination, ...], list[Destination]] = ((), [])

    # -- config -------------------------------------------------------------------------

    @property
    def current(self) -> tuple[Destination, ...]:
        return self._snapshots[-1].destinations

    def replace(self, destinations: Iterable[Destination], next_id: int) -> None:
        """New destinations for records from `next_id` on (runtime config changes)."""
        self._snapshots.append(Snapshot(next_id, tuple(destinations)))
        del self._snapshots[:-16]  # older records fall back to the oldest snapshot kept
        self._routings.clear()

    def get(self, destination_id: str) -> Destination | None:
        return next((d for d in self.current if d.id == destination_id), None)

    def _at(self, record_id: int) -> tuple[Destination, ...]:
        firsts = [snapshot.first_id for snapshot in self._snapshots]
        index = max(bisect.bisect_right(firsts, record_id) - 1, 0)
        return self._snapshots[index].destinations

    # -- the routing stage ----------------------------------------------------------------

    def route(self, record: Record, source: Source) -> dict[str, Verdict]:
        """Each current destination's verdict on an accepted call.

        Calls alike get the same routing, and almost every call is like many others: when
        no destination filters on the call's content and every subscription reads only the
        type and the event name, the verdicts depend on a few fields only, and the routing of
        calls alike is decided once and shared (never changed once made)."""
        destinations = self.current
        if not destinations:
            return {}
        protocols = record.get("protocols")
        blocked = protocols.get("blocked") if isinstance(protocols, dict) else None
        event = received_event(record)
        plan = self._plan
        if plan is None or plan[0] is not destinations:
            plan = self._plan = (destinations, _RoutingPlan.of(destinations))
        key = plan[1].key(source, event, blocked)
        if key is None:
            return self._decide(destinations, source, event, blocked)
        routing = self._routings.get(key)
        if routing is None:
            if len(self._routings) >= _ROUTINGS_KEPT:
                self._routings.clear()
            routing = self._routings[key] = self._decide(destinations, source, event, blocked)
        return routing

    def _decide(
        self,
        destinations: tuple[Destination, ...],
        source: Source,
        event: dict[str, Any],
        blocked: str | None,
    ) -> dict[str, Verdict]:
        verdict = self._interned.verdict
        routing: dict[str, Verdict] = {}
        for destination in destinations:
            decision = decide(destination, source, event, blocked)
            if decision.outcome != "route":
                routing[destination.id] = verdict("filtered", decision.reason)
            elif not any(action.subscribed(decision.event) for action in destination.actions):
                routing[destination.id] = verdict(
                    "filtered", "no action is subscribed to this event"
                )
            else:
                routing[destination.id] = verdict("delivered", None)
        return routing

    # -- live deliveries ------------------------------------------------------------------

    def start(self, records: Iterable[Record]) -> list[LiveDelivery]:
        """The deliveries that really happen or fail on purpose, for the worker to carry out."""
        current = self.current
        picked_from, live_destinations = self._live_picked
        if picked_from is not current:
            live_destinations = [d for d in current if d.enabled and d.live]
            self._live_picked = (current, live_destinations)
        if not live_destinations:
            return []
        started: list[LiveDelivery] = []
        for record in records:
            routing = record.get("routing") or {}
            for destination in live_destinations:
                verdict = routing.get(destination.id)
                if verdict is None or verdict["status"] != "delivered":
                    continue
                delivery = self._build(record, destination)
                if delivery["status"] != "delivered":
                    continue  # its mapping failed: nothing to send
                live = LiveDelivery(record, destination, delivery["requests"])
                self._live.setdefault(record["id"], {})[destination.id] = live
                started.append(live)
        return started

    def live(self, record_id: int, destination_id: str) -> LiveDelivery | None:
        return self._live.get(record_id, {}).get(destination_id)

    def is_live(self, record_id: int) -> bool:
        return record_id in self._live

    @property
    def live_records(self) -> int:
        """How many records have live deliveries (bounded by the store's retention)."""
        return len(self._live)

    def routing(self, record: Record) -> dict[str, Verdict]:
        """A record's routing with the live state of its deliveries: what queries read."""
        stored: dict[str, Verdict] = record.get("routing") or {}
        live = self._live.get(record["id"])
        if not live:
            return stored
        merged = dict(stored)
        for destination_id, state in live.items():
            base = stored.get(destination_id)
            verdict: Verdict = {
                "status": state.status,
                "reason": state.reason or (base["reason"] if base else None),
            }
            if state.function is not None and "insert" in state.function:
                verdict["insertFunction"] = state.function["insert"]
            merged[destination_id] = verdict
        return merged

    def forget(self, record_ids: Iterable[int] | None = None) -> None:
        """Drop built and live state of records the store no longer holds (all with None)."""
        if record_ids is None:
            self._cache.clear()
            self._live.clear()
            return
        for record_id in record_ids:
            self._cache.pop(record_id, None)
            self._live.pop(record_id, None)

    # -- what each destination receives ---------------------------------------------------

    def deliveries(self, record: Record) -> dict[str, Delivery]:
        """Every destination's delivery of one record, requests included; {} for a call
        Segment would drop. Built when a reader shows the record."""
        routing = record.get("routing")
        if record["status"] != "accepted" or not routing:
            return {}
        record_id = record["id"]
        built = self._cache.get(record_id)
        if built is None:
            by_id = {d.id: d for d in self._at(record_id)}
            built = {}
            for destination_id, verdict in routing.items():
                destination = by_id.get(destination_id)
                # Anything not filtered was routed (a reader may pass the routing with the
                # live state over it: pending, retrying...).
                built[destination_id] = (
                    self._build(record, destination)
                    if destination is not None and verdict["status"] != "filtered"
                    else _delivery(destination_id, destination, verdict)
                )
            self._cache[record_id] = built
            if len(self._cache) > CACHED_RECORDS:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(record_id)
        live = self._live.get(record_id)
        if not live:
            return built
        merged = dict(built)
        for destination_id, state in live.items():
            base = built[destination_id]
            # The worker's reason first; else what mapping said (an action that failed).
            merged[destination_id] = {
                **base,
                "status": state.status,
                "reason": state.reason or base["reason"],
                "attempts": state.attempts,
            }
            if state.function is not None:
                # A function's requests are the fetches it made, known once it ran.
                merged[destination_id]["requests"] = state.requests
                merged[destination_id]["function"] = state.function
        return merged

    def delivery_for(self, record: Record, destination: Destination) -> Delivery:
        """A destination's delivery of `record` as given (an Insert Function's changed call,
        segemu/functions/deliver.py): its requests, or why its mapping failed."""
        return self._build(record, destination)

    def _build(self, record: Record, destination: Destination) -> Delivery:
        """The requests of every subscribed action, for a call routed to `destination`."""
        source = self.sources.for_write_key(record["writeKey"])
        protocols = record.get("protocols")
        blocked = protocols.get("blocked") if isinstance(protocols, dict) else None
        event = received_event(record)
        # Routing decided this at ingest; deciding again gives the event after the property
        # and trait filters, which the mapping reads.
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
        identity = record.get("identity")
        if destination.preset.reads_identity and identity is not None:
            settings = {**settings, "identity": identity}
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
            delivery["status"] = "failed"
            delivery["reason"] = f"mapping failed: {'; '.join(failures)}"
            return delivery
        delivery["status"], delivery["requests"] = "delivered", requests
        delivery["attempts"] = 1 if requests else 0
        if failures:
            delivery["reason"] = f"mapping failed for {'; '.join(failures)}"
        return delivery


def _delivery(destination_id: str, destination: Destination | None, verdict: Verdict) -> Delivery:
    """A delivery with no requests: filtered, or a destination whose config is gone."""
    reason = verdict["reason"]
    if destination is None and verdict["status"] != "filtered":
        reason = "the destination's config at the time is no longer kept; requests unknown"
    return {
        "destination": destination_id,
        "name": destination.name if destination is not None else destination_id,
        "status": verdict["status"],
        "reason": reason,
        "requests": [],
        "attempts": 0,
    }


def describe(destination: Destination, *, full: bool = False) -> dict[str, Any]:
    """A destination as the control API, the CLI and the TUI show it."""
    described: dict[str, Any] = {
        "id": destination.id,
        "name": destination.name,
        "preset": destination.preset.slug,
        "enabled": destination.enabled,
        "sends": destination.sends,
        "consentCategories": list(destination.consent_categories),
        "filters": [
            {"name": f.name, "actions": [a.type for a in f.actions], "only": f.negated}
            for f in destination.filters
        ],
        "actions": [
            {"name": a.action.name, "subscribe": a.action.subscribe} for a in destination.actions
        ],
        "aliases": list(destination.aliases),
    }
    if destination.functions is not None:
        functions = destination.functions
        if functions.function is not None:
            described["function"] = str(functions.function.path)
            described["batching"] = functions.batching is not None
        if functions.insert is not None:
            described["insertFunction"] = str(functions.insert.path)
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
