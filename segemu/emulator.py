"""The Emulator: owns the store and the pipeline, and tells subscribers about new records.

`create_emulator` is the one way to build one; the CLI, the HTTP app, the pytest plugin and the
tests all go through it. The Emulator knows nothing about HTTP, Textual or pytest.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from types import TracebackType
from typing import Any

from segemu import __version__
from segemu.collector import collector_paused
from segemu.config import Config, ConfigError, load_config
from segemu.destinations.catalog import presets
from segemu.destinations.config import parse_destination
from segemu.destinations.delivery import DeliveryWorker
from segemu.destinations.runtime import (
    DELIVERY_STATUSES,
    Delivery,
    Destinations,
    LiveDelivery,
    describe,
)
from segemu.engage.config import load_engage
from segemu.engage.engine import Engage
from segemu.engage.stage import EngageStage
from segemu.expectations import Expectation, Judging, Verdict
from segemu.faults import FaultError, Faults
from segemu.functions.service import Functions
from segemu.identity import Identity, load_spaces
from segemu.identity.views import query_view
from segemu.message import STATUSES, Envelope, Record, format_timestamp
from segemu.outbound import NoSender, Sender
from segemu.pipeline import Pipeline
from segemu.protocols import Protocols
from segemu.query import EventFilter, select
from segemu.sources import load_sources
from segemu.store import EventStore, flush_delay
from segemu.traffic.forward import forwarder_for

log = logging.getLogger("segemu")

Subscriber = Callable[[list[Record]], None]
# How many refused requests (400s) the summary keeps, newest last.
REQUEST_ERRORS_KEPT = 50
# How many recent writes of the store the flush schedule looks back on.
FLUSH_TIMES_KEPT = 10
# How long a read that must scan holds the event loop before it lets ingest and other
# requests in (Emulator.scan; DESIGN.md "Bounded work"). aiohttp takes a few loop turns to
# answer one request, with a slice run at each: /_segemu/health waited about five slices
# (22 ms of CPU with 4 ms slices, 8 ms with 1 ms ones; bench/reads.py), while the pauses of
# 1 ms slices add under a tenth to a scan's own cost.
SCAN_SLICE_SECONDS = 0.001
# How many records a slice reads between two looks at the clock: judging one costs up to
# about 25 µs, so a slice overruns its end by a fraction of a millisecond at most.
SLICE_CLOCK_EVERY = 8
# How many matching records a wait answers with at most (more when it waited for more).
WAIT_ANSWER_KEPT = 1000
# How often Engage applies what the clock changed to windowed traits and audiences.
ENGAGE_TICK_SECONDS = 1.0
# How many verdicts of assertions made through the control API are kept for the inspector.
VERDICTS_KEPT = 200
# Write keys a failed verdict names when its own received nothing.
ELSEWHERE_SHOWN = 5


@dataclass(slots=True)
class Counters:
    """What arrived that is not a stored record: requests, SDK telemetry, refused requests."""

    requests: int = 0
    metrics_requests: int = 0
    metrics_series: int = 0
    pixel_requests: int = 0
    request_errors: deque[dict[str, Any]] = field(
        default_factory=lambda: deque(maxlen=REQUEST_ERRORS_KEPT)
    )
    refused: int = 0


@dataclass(slots=True)
class _Waiter:
    """Someone awaiting `needed` more records that satisfy `matches` (a test's wait_for)."""

    matches: Callable[[Record], bool]
    needed: int
    done: asyncio.Future[None]
    # Ids already counted: a record can be seen again when its live deliveries change.
    seen: set[int] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class Waited:
    """What a wait found: how many records match (up to a bound), and the newest of them."""

    count: int
    newest: list[Record]


class Emulator:
    def __init__(self, config: Config, sender: Sender | None = None) -> None:
        self.config = config
        # Config mistakes surface before the store is opened: ConfigError names file and entry.
        self.sources = load_sources(config)
        # Tracking plans load here too, so a malformed plan stops start-up with its file named.
        self.protocols = Protocols(config, self.sources)
        self.destinations = Destinations(config, self.sources)
        # Faults on the Tracking API (segemu/faults): the config's rules, more added at runtime.
        self.faults = Faults()
        try:
            origin = config.config_file or "settings"
            self.faults.add_all(config.sections.get("faults") or {}, origin)
        except FaultError as exc:
            raise ConfigError(str(exc)) from None
        # The identity graph rebuilds from the stored records as the store reads them.
        self.identity = Identity(load_spaces(config))
        # Computed traits and audiences; listening to the graph before the store loads, so
        # a restart rebuilds their state from the stored calls too.
        self.engage = Engage(load_engage(config))
        self.engage_stage = EngageStage(self.engage, self.identity)
        with collector_paused():
            # Reading back 100,000 calls and their profiles makes millions of objects that
            # all live on: the automatic collector would walk the growing heap again and again.
            identity_problem = None if config.in_memory else self.identity.load(config.db)
            self.store = EventStore(
                None if config.in_memory else config.db,
                retention=config.retention,
                on_evict=self.destinations.forget,
                on_load=self.identity.replay,
                # A clean stop's snapshot of the store stands in for reading every call when
                # the graph saved beside it holds them all and Engage, which rebuilds its
                # computed traits from the calls, is off (segemu/snapshot.py).
                restore_if=lambda newest: self.identity.covers(newest) and not self.engage.enabled,
            )
        self.identity.attach(self.store)
        if identity_problem is not None:
            self.store.problems.append(identity_problem)
        self.pipeline = Pipeline(
            self.store,
            self.sources,
            self.protocols,
            self.destinations,
            identity=self.identity,
            engage=self.engage_stage if self.engage.enabled else None,
            notify=self._notify,
        )
        sender = sender or NoSender()
        # Source, Destination and Insert Functions; finds Node now if any is configured.
        self.functions = Functions(config, self.sources, self.destinations, sender, self.ingest)
        # The HTTP client deliveries go out through belongs to the shell (segemu/outbound.py).
        self._delivery = DeliveryWorker(
            self._delivery_changed, sender, functions=self.functions.attempt
        )
        # Relaying accepted calls to a real endpoint: off unless [forward] says where.
        self.forwarder = forwarder_for(config, sender)
        self.counters = Counters()
        self.started_at = datetime.now(UTC)
        self._subscribers: list[Subscriber] = []
        self._waiters: list[_Waiter] = []
        # (when, verdict) of assertions test suites made, newest last: the TUI shows them.
        self.verdicts: deque[tuple[str, Verdict]] = deque(maxlen=VERDICTS_KEPT)
        self._flusher: asyncio.Task[None] | None = None
        self._engage_clock: asyncio.Task[None] | None = None
        self._closed = False
        if self.forwarder is not None:
            self.subscribe(self.forwarder)

    # -- ingest --------------------------------------------------------------------------

    def ingest(self, envelope: Envelope) -> list[Record]:
        """Run one Tracking API call through the pipeline; every item becomes a record."""
        return self.pipeline.process(envelope)

    def engage_tick(self, now: datetime | None = None) -> list[Record]:
        """Apply what the clock changed to computed traits and audiences (windows that calls
        left) and run the calls Engage sends because of it; `now` lets a test choose the
        moment. Returns the records of those calls."""
        records: list[Record] = []
        for envelope in self.engage_stage.tick(now or datetime.now(UTC)):
            records.extend(self.pipeline.process(envelope))
        return records

    def _notify(self, records: list[Record]) -> None:
        """The pipeline's last stage: live deliveries start, subscribers and waiters hear."""
        self.faults.arrived(records)  # links calls that got through after a fault
        for live in self.destinations.start(records):
            self._delivery.schedule(live, 0.0)
        for subscriber in self._subscribers:
            try:
                subscriber(records)
            except Exception:  # a broken subscriber must not break ingest
                log.exception("subscriber %r failed", subscriber)
        if self._waiters:
            self._wake(records)

    def _wake(self, records: list[Record]) -> None:
        # Runs inside the ingest call, so a waiter resumes on the loop's next turn: the
        # wake-up latency of wait_for is one loop iteration, not a polling interval.
        for waiter in list(self._waiters):
            try:
                for record in map(self.readable, records):
                    if record["id"] not in waiter.seen and waiter.matches(record):
                        waiter.seen.add(record["id"])
                        waiter.needed -= 1
            except Exception:
                log.exception("a wait condition failed; releasing its waiter")
                waiter.needed = 0
            if waiter.needed <= 0:
                self._waiters.remove(waiter)
                if not waiter.done.done():
                    waiter.done.set_result(None)

    def _delivery_changed(self, live: LiveDelivery) -> None:
        if self._waiters and self.store.get(live.record["id"]) is not None:
            self._wake([self.readable(live.record)])

    def readable(self, record: Record) -> Record:
        """A stored record as readers see it: its routing with the live state of the
        deliveries the worker carries out (a few records; every other one as stored)."""
        if not self.destinations.is_live(record["id"]):
            return record
        return {**record, "routing": self.destinations.routing(record)}

    def deliveries_of(self, record: Record) -> dict[str, Delivery]:
        """What each destination would receive for one record, requests included: built for
        the records a reader shows, not stored."""
        return self.destinations.deliveries(record)

    def with_deliveries(self, record: Record) -> Record:
        """The record with `deliveries` (requests included) and its `profile` as it is now,
        as the detail views show it."""
        shown: Record = {**self.readable(record), "deliveries": self.deliveries_of(record)}
        return self._add_profile(shown)

    def with_profile(self, record: Record) -> Record:
        """The record with its `profile` as it is now (what `profile.` query paths read)."""
        return self._add_profile({**self.readable(record)})

    def _add_profile(self, shown: Record) -> Record:
        profile = query_view(self.identity, shown)
        if profile is not None:
            shown["profile"] = profile
        return shown

    async def deliveries(
        self,
        destination_id: str,
        where: EventFilter | None = None,
        limit: int | None = None,
        status: str | None = None,
    ) -> list[tuple[Record, Delivery]]:
        """One destination's deliveries, newest first, with the record each came from.

        The routing index picks the records routed to the destination (and, for `filtered`,
        only those filtered), read in slices (`records_sliced`); requests are built only for
        those returned. A mapping's failure, and a live delivery's, shows only once its
        requests are built or its state read, so asking for `failed` builds them for every
        delivered record scanned."""
        where = where or EventFilter()
        found: list[tuple[Record, Delivery]] = []
        pinned = "filtered" if status == "filtered" else None
        async for record in self.records_sliced(where, destination_id, pinned):
            if not where.matches(record):
                continue
            verdict = (record.get("routing") or {}).get(destination_id)
            if verdict is None:
                continue
            if (
                status is not None
                and verdict["status"] != status
                and not (status == "failed" and verdict["status"] == "delivered")
            ):
                continue
            delivery = self.deliveries_of(record)[destination_id]
            if status is not None and delivery["status"] != status:
                continue
            found.append((record, delivery))
            if limit is not None and len(found) >= limit:
                break
        return found

    def set_destination(self, destination_id: str, entry: Any) -> dict[str, Any]:
        """Add or replace a destination at runtime (the control API's PUT), for events
        received from now on. A mistake raises ConfigError and changes nothing."""
        destination = parse_destination(
            destination_id, entry, presets(), f"destination '{destination_id}'"
        )
        kept = [d for d in self.destinations.current if d.id != destination_id]
        self.destinations.replace([*kept, destination], self.store.next_id)
        return describe(destination, full=True)

    def remove_destination(self, destination_id: str) -> bool:
        current = self.destinations.current
        kept = [d for d in current if d.id != destination_id]
        if len(kept) == len(current):
            return False
        self.destinations.replace(kept, self.store.next_id)
        return True

    async def destination_summaries(self, scan: int = 1000) -> list[dict[str, Any]]:
        """Each destination with its delivery counts over the newest `scan` records, read in
        slices (`records_sliced`)."""
        summaries = {
            d.id: {
                **describe(d),
                "counts": dict.fromkeys(DELIVERY_STATUSES, 0),
                "lastError": None,
                "lastDelivered": None,
            }
            for d in self.destinations.current
        }
        newest_delivered: dict[str, Record] = {}
        read = 0
        async for record in self.records_sliced(EventFilter()):
            read += 1
            if read > scan:
                break
            for destination_id, verdict in (record.get("routing") or {}).items():
                summary = summaries.get(destination_id)
                if summary is None:
                    continue  # a destination removed since
                summary["counts"][verdict["status"]] += 1
                if verdict["status"] == "failed" and summary["lastError"] is None:
                    summary["lastError"] = verdict["reason"]
                if verdict["status"] == "delivered":
                    newest_delivered.setdefault(destination_id, record)
        # The requests are built for the one record each destination shows.
        for destination_id, record in newest_delivered.items():
            delivery = self.deliveries_of(record).get(destination_id)
            if delivery is not None:
                summaries[destination_id]["lastDelivered"] = {
                    "id": record["id"],
                    "requests": delivery["requests"],
                }
        return [
            {**summary, "scanned": min(scan, len(self.store))} for summary in summaries.values()
        ]

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Call `subscriber` with the records of every call; returns the unsubscribe function."""
        self._subscribers.append(subscriber)
        return lambda: self._subscribers.remove(subscriber)

    def count_request(self) -> None:
        self.counters.requests += 1

    def count_metrics(self, series: int) -> None:
        """Browser telemetry (/v1/m): counted, never stored as events."""
        self.counters.metrics_requests += 1
        self.counters.metrics_series += series

    def count_pixel(self) -> None:
        self.counters.pixel_requests += 1

    def refuse(self, route: str, status: int, code: str, message: str) -> None:
        """Remember a request that Segment would refuse (400), so the summary can show it."""
        self.counters.refused += 1
        self.counters.request_errors.append(
            {
                "at": format_timestamp(datetime.now(UTC)),
                "route": route,
                "status": status,
                "code": code,
                "message": message,
            }
        )

    # -- reads ---------------------------------------------------------------------------

    def events(self, where: EventFilter | None = None, limit: int | None = None) -> list[Record]:
        """Stored records, newest first."""
        where = where or EventFilter()
        found = self._pinned_ids(where, where.before_id)
        return select(map(self._shown(where), self.store.iter_records(found)), where, limit)

    def _pinned_ids(
        self,
        where: EventFilter,
        before: int | None,
        destination: str | None = None,
        delivery_status: str | None = None,
    ) -> Iterator[int]:
        """The ids the structured filters, and the `field:value` terms of the query
        (Query.pins), pin through the store's indexes, newest first, below `before`: only the
        records they find are decoded and matched."""
        pins = where.query.pins if where.query is not None else {}
        return self.store.iter_ids(
            type=where.type if where.type is not None else pins.get("type"),
            event=where.event if where.event is not None else pins.get("event"),
            user_id=where.user_id if where.user_id is not None else pins.get("user_id"),
            anonymous_id=(
                where.anonymous_id if where.anonymous_id is not None else pins.get("anonymous_id")
            ),
            write_key=where.write_key if where.write_key is not None else pins.get("write_key"),
            status=where.status if where.status is not None else pins.get("status"),
            message_id=pins.get("message_id"),
            destination=destination,
            delivery_status=delivery_status,
            before=before,
            received_since=where.since,
            received_until=where.until,
        )

    def _shown(self, where: EventFilter) -> Callable[[Record], Record]:
        """How a filter reads a record: with the requests built, if it reaches into them, and
        with its profile, if it reads `profile.`."""
        if where.reads_requests:
            return self.with_deliveries
        return self.with_profile if where.reads_profile else self.readable

    async def scan(
        self,
        where: EventFilter | None = None,
        limit: int | None = None,
        keep: Callable[[Record], Any] | None = None,
    ) -> list[Record]:
        """`events()` for a reader on the event loop: the same records, newest first (those
        `keep` accepts, if given), read in slices (`records_sliced`)."""
        where = where or EventFilter()
        found: list[Record] = []
        async for record in self.records_sliced(where):
            if where.matches(record) and (keep is None or keep(record)):
                found.append(record)
                if limit is not None and len(found) >= limit:
                    break
        return found

    async def records_sliced(
        self,
        where: EventFilter,
        destination: str | None = None,
        delivery_status: str | None = None,
    ) -> AsyncIterator[Record]:
        """The records the structured filters of `where` pin (and `destination`, through the
        routing index), newest first and readable, unmatched: a reader that must look at every
        stored record takes them from here. They come in slices of SCAN_SLICE_SECONDS, the
        reader's own work on each included, with a pause between two, so that no such read
        holds ingest or /_segemu/health for longer than a slice (DESIGN.md "Bounded work").
        Each slice takes up again just below the last record it gave, through the indexes:
        records stored or dropped meanwhile are fine."""
        shown = self._shown(where)
        before = where.before_id
        while True:
            ids = self._pinned_ids(where, before, destination, delivery_status)
            deadline = time.perf_counter() + SCAN_SLICE_SECONDS
            for read, stored in enumerate(self.store.iter_records(ids), 1):
                before = stored["id"]
                yield shown(stored)
                if read % SLICE_CLOCK_EVERY == 0 and time.perf_counter() > deadline:
                    break
            else:
                return
            await asyncio.sleep(0)

    async def wait_for(
        self, where: EventFilter, count: int = 1, timeout: float = 5.0
    ) -> list[Record]:
        """Wait until at least `count` stored records match; returns the matching records,
        newest first, which are fewer than `count` if `timeout` ran out first."""
        return (await self.wait(where, count, timeout)).newest

    async def wait(
        self, where: EventFilter, count: int = 1, timeout: float = 5.0, shown: int | None = None
    ) -> Waited:
        """`wait_for` as the control API answers it: how many records match (up to
        max(count, WAIT_ANSWER_KEPT)), fewer than `count` if `timeout` ran out first, and
        the newest `shown` of them (all those counted when None), newest first."""
        matches = where.matches
        if where.reads_view:
            viewed = self._shown(where)

            def matches(record: Record) -> bool:
                return where.matches(viewed(record))

        # The waiter listens before the scan: the scan yields between slices, and a record
        # that comes to match meanwhile (a live delivery finishing) must not be missed.
        waiter = _Waiter(matches, count, asyncio.get_running_loop().create_future())
        if not self._closed and timeout > 0:
            self._waiters.append(waiter)
        try:
            present, _ = await self._newest_matching(where, count, 0)
            for record_id in present:
                if record_id not in waiter.seen:
                    waiter.seen.add(record_id)
                    waiter.needed -= 1
            if waiter.needed > 0 and waiter in self._waiters and not waiter.done.done():
                await asyncio.wait_for(asyncio.shield(waiter.done), timeout)
        except TimeoutError:
            pass
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)
        # Bounded: what a waiter reads is whether `count` arrived, and the newest of them.
        limit = max(count, WAIT_ANSWER_KEPT)
        ids, newest = await self._newest_matching(where, limit, limit if shown is None else shown)
        return Waited(len(ids), newest)

    async def _newest_matching(
        self, where: EventFilter, limit: int, shown: int
    ) -> tuple[list[int], list[Record]]:
        """The ids of the newest `limit` records that match, and the newest `shown` of those
        records. A filter the indexes answer exactly (EventFilter.answered_by_indexes) is
        counted from them and only the records shown are decoded: a wait answers 100 records
        while it counts up to 1,000, which cost most of its time to decode and match."""
        if not where.answered_by_indexes or where.reads_view:
            found = await self.scan(where, limit)
            return [record["id"] for record in found], found[:shown]
        ids = await self._pinned_ids_sliced(where, limit)
        if not ids or not shown:
            return ids, []
        # Every record at or below the newest counted matches: the first `shown` of them are
        # those counted first (less any that retention dropped meanwhile).
        below = ids[0] + 1
        newest = dataclasses.replace(where, before_id=below)
        return ids, await self.scan(newest, shown)

    async def _pinned_ids_sliced(self, where: EventFilter, limit: int) -> list[int]:
        """The first `limit` of `_pinned_ids`, newest first, walked in slices as
        records_sliced walks them (a wait may count up to 100,000)."""
        found: list[int] = []
        before = where.before_id
        while True:
            deadline = time.perf_counter() + SCAN_SLICE_SECONDS
            ids = islice(self._pinned_ids(where, before), limit - len(found))
            for read, record_id in enumerate(ids, 1):
                found.append(record_id)
                if read % 256 == 0 and time.perf_counter() > deadline:
                    break
            else:
                return found
            before = found[-1]
            await asyncio.sleep(0)

    async def check(self, expectation: Expectation, timeout: float = 0.0) -> Verdict:
        """Evaluate an expectation, first waiting up to `timeout` for enough matching events.

        Waiting stops as soon as `expectation.needed` events match; an expectation of zero
        events (assert_no_events) is judged at once, since waiting could only make it fail
        later.
        """
        judged = self._judged(expectation)
        if timeout > 0 and expectation.needed > 0:
            present = {
                record["id"]
                async for record in self._scope_sliced(expectation)
                if expectation.matches(record)
            }
            write_key = expectation.write_key

            def matches(record: Record) -> bool:
                in_scope = write_key is None or record["writeKey"] == write_key
                return in_scope and expectation.matches(judged(self.readable(record)))

            await self._wait_until(matches, expectation.needed - len(present), timeout, present)
        verdict = await self.judge(expectation)
        self.verdicts.append((format_timestamp(datetime.now(UTC)), verdict))
        return verdict

    async def judge(self, expectation: Expectation) -> Verdict:
        """The verdict on an expectation now, over every stored record in its scope, read
        once, in slices (`records_sliced`), near misses included (Judging)."""
        judging = Judging(expectation)
        async for record in self._scope_sliced(expectation):
            judging.add(record)
        verdict = judging.verdict()
        if verdict.considered or expectation.write_key is None:
            return verdict
        # Nothing for this write key: name those that did receive calls (running counts).
        counts = self.store.counts("write_key")
        others = sorted(
            ((key, count) for key, count in counts.items() if key and count),
            key=lambda item: -item[1],
        )
        return dataclasses.replace(verdict, elsewhere=tuple(others[:ELSEWHERE_SHOWN]))

    async def _scope_sliced(self, expectation: Expectation) -> AsyncIterator[Record]:
        """The records an expectation is judged over, newest first, as it sees them."""
        judged = self._judged(expectation)
        async for record in self.records_sliced(EventFilter(write_key=expectation.write_key)):
            yield judged(record)

    def _judged(self, expectation: Expectation) -> Callable[[Record], Record]:
        """How an expectation sees a readable record: as it is, or, if it checks what a
        destination received, with the requests built for the records that could match."""
        if not expectation.reads_requests:
            return self.with_profile if expectation.reads_profile else lambda record: record

        def judged(record: Record) -> Record:
            if expectation.could_match(record):
                return self.with_deliveries(record)
            return self.with_profile(record) if expectation.reads_profile else record

        return judged

    async def _wait_until(
        self,
        matches: Callable[[Record], bool],
        needed: int,
        timeout: float,
        present: set[int],
    ) -> None:
        if needed <= 0 or timeout <= 0 or self._closed:
            return
        waiter = _Waiter(
            matches, needed, asyncio.get_running_loop().create_future(), seen=set(present)
        )
        self._waiters.append(waiter)
        try:
            await asyncio.wait_for(asyncio.shield(waiter.done), timeout)
        except TimeoutError:
            pass
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    def release_waiters(self) -> None:
        """Wake every waiter now (shutting down): each answers with what it has."""
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done.done():
                waiter.done.set_result(None)

    def reset(self, write_key: str | None = None) -> int:
        self.protocols.reset(write_key)
        if write_key is None:
            self.destinations.forget()
            self.pipeline.dedupe.forget()
            self.identity.reset()
            self.engage.forget()
            return self.store.reset_all()
        return self.store.reset_write_key(write_key)

    def summary(self) -> dict[str, Any]:
        # Running counts kept by the store's indexes: no scan.
        statuses = self.store.counts("status")
        types: Counter[str] = Counter()
        for value, count in self.store.counts("type").items():
            types[value or "(none)"] += count
        write_keys: Counter[str] = Counter()
        for value, count in self.store.counts("write_key").items():
            write_keys[value or "(none)"] += count
        return {
            "version": __version__,
            "startedAt": format_timestamp(self.started_at),
            "db": self.config.db,
            "retention": self.config.retention,
            "stored": len(self.store),
            "pendingWrite": self.store.pending,
            "evicted": self.store.evicted,
            "byStatus": {status: statuses.get(status, 0) for status in STATUSES},
            "byType": dict(types),
            "byWriteKey": dict(write_keys),
            "requests": self.counters.requests,
            "refusedRequests": self.counters.refused,
            "recentRequestErrors": list(self.counters.request_errors),
            "metrics": {
                "requests": self.counters.metrics_requests,
                "series": self.counters.metrics_series,
            },
            "pixelRequests": self.counters.pixel_requests,
            "storeProblems": list(self.store.problems),
        }

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush_periodically(), name="segemu-flush")
        if self._engage_clock is None and self.engage.enabled:
            self._engage_clock = asyncio.create_task(self._tick_engage(), name="segemu-engage")
        self.protocols.start()  # reloads tracking plan files when they change
        if self.forwarder is not None:
            await self.forwarder.start()
        await self.functions.start()  # the Node workers, with every function loaded

    async def close(self) -> None:
        """Stop the flusher and write everything acknowledged so far."""
        if self._closed:
            return
        self._closed = True
        self.release_waiters()
        if self.forwarder is not None:
            await self.forwarder.close()
        await self._delivery.close()
        await self.functions.close()
        await self.protocols.stop()
        if self._engage_clock is not None:
            self._engage_clock.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._engage_clock
            self._engage_clock = None
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
            self._flusher = None
        self.store.close()
        if not self.config.in_memory:
            try:
                self.identity.save(self.config.db, self.store.next_id - 1)
            except OSError:  # the calls are written; the graph is rebuilt from them next time
                log.exception("writing the identity graph failed")

    async def __aenter__(self) -> Emulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def _tick_engage(self) -> None:
        # Windows close while no call arrives: a member of "ordered in the last 30 days"
        # leaves when the 30 days are over (segemu/engage/engine.py).
        while True:
            await asyncio.sleep(ENGAGE_TICK_SECONDS)
            try:
                self.engage_tick()
            except Exception:
                log.exception("Engage's clock failed; will run again")

    async def _flush_periodically(self) -> None:
        interval = self.config.flush_interval
        # How long the recent writes took, each from the moment it should have started (the
        # event loop may wake late while it answers requests) to the files on disk. The next
        # flush starts the longest of them earlier (store.flush_delay): a write under load
        # can take longer than the last one, never much longer than the longest recent one.
        recent: deque[float] = deque([0.0], maxlen=FLUSH_TIMES_KEPT)
        while True:
            delay = flush_delay(interval, max(recent), self.store.pending_since, time.monotonic())
            due = time.monotonic() + delay
            await asyncio.sleep(delay)
            try:
                write = self.store.prepare_flush()
                if write.tables or write.deleted:
                    # Encoding and disk I/O run on a thread, so requests keep being answered
                    # meanwhile; the next flush, or close(), finishes it first if still going.
                    await asyncio.to_thread(write.run)
                    recent.append(time.monotonic() - due)
            except Exception:  # disk full, permissions: keep serving, keep the buffer
                log.exception("writing the store failed; will retry")


def create_emulator(
    config: Config | None = None, *, sender: Sender | None = None, **settings: Any
) -> Emulator:
    """Build an Emulator from a Config, or from settings as `segemu run` flags would give them.

    `create_emulator(db=":memory:")` is what tests use. `sender` is the HTTP client the
    Webhook destination's deliveries go out through: a running server passes
    `segemu.http.sender.HttpSender()`; without one, such deliveries fail and say why.
    """
    if config is None:
        config = load_config(settings, env={}, discover=False)
    elif settings:
        raise TypeError("pass a Config or settings, not both")
    return Emulator(config, sender)
