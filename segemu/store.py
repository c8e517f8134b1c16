"""The event store: TinyDB on disk (or in memory), compact records and indexes in memory.

How it stays small and fast as it grows (DESIGN.md "Storage"; reference §B.11):
- A record is kept in compact form (segemu/compact.py: the call as sent once, what the record
  adds as a difference), packed with others into shared buffers, and decoded on read; ids
  and receivedAt sit beside it in arrays.
- Indexes (segemu/indexes.py) hold, for each field a lookup can pin (type, event name, userId,
  anonymousId, write key, status, messageId, source, each destination's routing status), the
  ids of the records that have each value; their sizes are the running counts. What calls
  alike share (type, write key, status, source, routing) is one class per combination, with
  one posting list, and each record's class number beside it.
- Records are buffered for TinyDB. One flush (every `flush_interval`, and at close) inserts the
  buffer with `insert_multiple`, one call per chunk table of `CHUNK_SIZE` records, so TinyDB's
  rebuild of the table it writes is bounded by the chunk size, and TableFileStorage rewrites
  only that chunk's file, from the bytes of the records it already holds.
- A chunk is in TinyDB's memory only while it is the one being filled: once its file is
  written the storage lets its documents go (the store has them in compact form). At open,
  chunks are read one at a time, so a restart never holds every record as dicts at once.
- The periodic flush changes memory on the event loop and leaves encoding and disk I/O to a
  thread (`prepare_flush`); `flush()` and `close()` write before they return.
- A clean stop leaves a snapshot of this memory beside the files (segemu/snapshot.py); the
  next open takes it instead of reading every record again, while the files are as it saw.
- Full chunks are never written again. Retention drops the oldest records, and whole chunks
  once they hold nothing newer.
- A reset of one write key appends a tombstone instead of rewriting old chunks.
"""

from __future__ import annotations

import logging
import time
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any, TypedDict, Unpack, cast

from tinydb import TinyDB

from segemu.collector import collector_paused
from segemu.compact import Blobs, CompactRecord, Shapes, decode, encode, indexed_fields
from segemu.indexes import (
    Classes,
    ClassKey,
    Facet,
    HashedIds,
    Index,
    TestedFacet,
    bounded,
    intersect,
)
from segemu.jsonlimits import RECORD_DEPTH, encoder_within
from segemu.message import Record, parse_timestamp
from segemu.record_check import record_problem, tombstone_problem
from segemu.snapshot import FILE as SNAPSHOT_FILE
from segemu.snapshot import Reader, SnapshotError, Writer
from segemu.snapshot import take as take_snapshot
from segemu.storage import FileWrite, StorageError, TableFileStorage

CHUNK_SIZE = 1000
CHUNK_PREFIX = "events_"
RESETS_TABLE = "resets"
# Records at the start of the arrays that retention dropped; cut off once this many and half.
_CUT_AT = 1024
# How far out of arrival order receivedAt may be and still bound a lookup by time exactly:
# receivedAt is taken when a request comes in and requests are handled concurrently.
_RECEIVED_SKEW_MS = 10_000

__all__ = ["CHUNK_SIZE", "EventStore", "StorageError"]

log = logging.getLogger(__name__)

OnEvict = Callable[[Iterable[int]], None]


def flush_delay(interval: float, writing: float, oldest: float | None, now: float) -> float:
    """Seconds to wait before the next flush starts, so that a call is on disk at most
    `interval` seconds after it was acknowledged: the flush starts `writing` seconds (what a
    write takes) before the oldest waiting call is `interval` old. Sleeping `interval` between
    flushes instead let the write time add to the window.

    A call acknowledged just after a write took the buffer waits for that write, then for its
    own: the window holds while a write takes at most half the interval (bench/durability.py
    measures it). With nothing waiting, a call may arrive at any moment: the delay is what
    one arriving now could wait, but never under a tenth of the interval, so that slow writes
    cannot make a busy loop of it."""
    if oldest is None:
        return max(interval - writing, interval / 10)
    return max(interval - writing - (now - oldest), 0.0)


def chunk_name(number: int) -> str:
    """The table of chunk `number`: records `number * chunk_size` up to the next chunk."""
    return f"{CHUNK_PREFIX}{number:06d}"


# The fields a lookup can pin, as `ids()` names them.
_FIELDS = ("type", "event", "user_id", "anonymous_id", "write_key", "status", "source")


class Lookup(TypedDict, total=False):
    """What `EventStore.ids()` and `iter_ids()` look up; a None is the same as leaving the
    field out. The first seven are the indexes of `_FIELDS`."""

    type: str | None
    event: str | None
    user_id: str | None
    anonymous_id: str | None
    write_key: str | None
    status: str | None
    source: str | None
    message_id: str | None
    destination: str | None
    delivery_status: str | None
    since_id: int | None
    until_id: int | None
    before: int | None
    received_since: datetime | None
    received_until: datetime | None


_EVENT_FIELDS = (("event", "event"), ("user_id", "userId"), ("anonymous_id", "anonymousId"))


def _texts_in(value: list[Any]) -> dict[str, None]:
    """The texts in a list, at any depth, once each: a query's `event:x` matches a call whose
    event name is a list holding "x" (a rejected call), so the index has it under "x" too.
    A loop, not recursion, as in the query's own walk (query/fields.py `_any`)."""
    texts: dict[str, None] = {}
    pending = [value]
    while pending:
        for element in pending.pop():
            if type(element) is str:
                texts[element] = None
            elif type(element) is list:
                pending.append(element)
    return texts


# The fields of a record's class (indexes.Classes), by position in its key; the routing last.
_CLASS_AT = {"type": 0, "write_key": 1, "status": 2, "source": 3, "destination": 4}
# The fields with an index of their own: a value per event name, per user.
_OWN_FIELDS = ("event", "user_id", "anonymous_id")


# Routing keys remembered by the identity of their routing object (a routing object lives as
# long as its calls are being routed alike; the entry holds it, so its id is not reused).
_ROUTINGS_KEPT = 4096

Facets = tuple[ClassKey, list[tuple[str, Any]]]


def _facets(record: Record, routings: dict[int, tuple[Any, ClassKey]] | None = None) -> Facets:
    """The class of a record (type, write key, status, source, routing) and the (field, value)
    of every index of its own it is in (messageId apart)."""
    return _class_key(record, routings), _own_facets(record)


def _class_key(record: Record, routings: dict[int, tuple[Any, ClassKey]] | None) -> ClassKey:
    """The routing is one value, ((destination id, status), ...): calls alike share their
    routing object (destinations/runtime.py), whose key `routings` remembers by identity, so
    most calls do not build it again."""
    fields = cast(dict[str, Any], record)
    source = fields.get("source")
    routing = fields.get("routing")
    routed: ClassKey = ()
    if type(routing) is dict and routing:
        known = routings.get(id(routing)) if routings is not None else None
        if known is not None and known[0] is routing:
            routed = known[1]
        else:
            routed = tuple(
                (destination_id, verdict.get("status") if type(verdict) is dict else None)
                for destination_id, verdict in routing.items()
            )
            if routings is not None:
                if len(routings) >= _ROUTINGS_KEPT:
                    routings.clear()
                routings[id(routing)] = (routing, routed)
    return (
        fields.get("type"),
        fields.get("writeKey"),
        fields.get("status"),
        source if type(source) is str else None,
        routed,
    )


def _own_facets(record: Record) -> list[tuple[str, Any]]:
    own: list[tuple[str, Any]] = []
    event = cast(dict[str, Any], record).get("event")
    if type(event) is dict:
        for field, name in _EVENT_FIELDS:
            value = event.get(name)
            if type(value) is str:
                own.append((field, value))
            elif type(value) is list:
                own.extend((field, text) for text in _texts_in(value))
    return own


class EventStore:
    def __init__(
        self,
        path: str | None,
        *,
        retention: int,
        chunk_size: int = CHUNK_SIZE,
        on_evict: OnEvict | None = None,
        on_load: Callable[[Record], None] | None = None,
        restore_if: Callable[[int], bool] | None = None,
    ) -> None:
        self.path = path
        self.retention = retention
        self.chunk_size = chunk_size
        # Told the ids of records that retention or a reset removed.
        self.on_evict = on_evict
        # Told each record read from disk at open, oldest first (the identity graph rebuilds
        # from them while they are dicts, without decoding them again).
        self.on_load = on_load
        # Whether the caller has what `on_load` would have given it for the records up to an
        # id (the identity graph a clean stop saved): then a snapshot may stand in for them.
        self.restore_if = restore_if
        self._db = TinyDB(path, storage=TableFileStorage, deferred_prefix=CHUNK_PREFIX)
        self._storage = cast(TableFileStorage, self._db.storage)
        self._shapes = Shapes()
        # The stored records, oldest first from `_start`: ids ascending, where each record's
        # compact form is, its receivedAt (ms since the epoch) and the highest receivedAt up
        # to it.
        self._ids = array("q")
        # Where each record's compact form is in `_blobs`: its span and length.
        self._blobs = Blobs()
        self._spans = array("q")
        self._lengths = array("q")
        self._received = array("q")
        self._received_max = array("q")
        self._start = 0
        self._indexes: dict[str, Index] = {name: Index() for name in _OWN_FIELDS}
        # Type, write key, status, source and routing, as one class per combination; each
        # record's class number sits beside it.
        self._classes = Classes()
        self._class = array("i")
        self._routings: dict[int, tuple[Any, ClassKey]] = {}
        # By hash(messageId): the first record that carried it, and the others (retries);
        # a candidate is confirmed against its record (two messageIds may share a hash).
        self._message_ids = HashedIds()
        self._message_repeats = Index()
        # Chunk tables whose documents are in TinyDB's memory (the one being filled).
        self._materialized: set[int] = set()
        self._pending: list[Record] = []
        # When the oldest record in the buffer was added (time.monotonic), None when empty.
        self._pending_since: float | None = None
        self._next_id = 1
        self.evicted = 0
        with collector_paused():
            if not self._restore():
                self._load()

    @property
    def problems(self) -> list[str]:
        """What went wrong when opening the database (corrupt files set aside)."""
        return self._storage.problems

    def __len__(self) -> int:
        return len(self._ids) - self._start

    @property
    def pending(self) -> int:
        return len(self._pending)

    @property
    def pending_since(self) -> float | None:
        """When (time.monotonic) the oldest record not yet on its way to disk was added, that
        is, about when its call was acknowledged; None when there is none."""
        return self._pending_since

    @property
    def oldest_id(self) -> int:
        """The id of the oldest stored record; the next id when none is stored."""
        return self._ids[self._start] if len(self) else self._next_id

    @property
    def next_id(self) -> int:
        """The id the next record will get."""
        return self._next_id

    def allocate_id(self) -> int:
        record_id = self._next_id
        self._next_id += 1
        return record_id

    def add(self, record: Record) -> None:
        """Index a record now; it reaches TinyDB with the next flush. The record is never
        changed afterwards, by the store or anyone else."""
        if not self._pending:
            self._pending_since = time.monotonic()
        self._index(record)
        self._pending.append(record)
        if len(self) > self.retention:
            evicted = [self._evict_oldest() for _ in range(len(self) - self.retention)]
            if self.on_evict is not None:
                self.on_evict(evicted)

    # -- reads -----------------------------------------------------------------------------

    def get(self, record_id: int) -> Record | None:
        """The stored record with this id; None once evicted or reset."""
        at = self._position(record_id)
        return None if at is None else decode(self._compact(at), record_id, self._shapes)

    def records(self, ids: Iterable[int]) -> list[Record]:
        """The stored records with these ids, in that order (those still stored)."""
        found = []
        for record_id in ids:
            record = self.get(record_id)
            if record is not None:
                found.append(record)
        return found

    def with_message_id(self, message_id: str) -> list[Record]:
        """Every stored record that carried this messageId: the original first, then retries."""
        return [r for r in self._candidates(message_id) if r["messageId"] == message_id]

    def first_with_message_id(self, message_id: str) -> Record | None:
        if not self._message_ids.get(hash(message_id)):
            return None  # dedupe asks for every call, and most messageIds are new
        for record in self._candidates(message_id):
            if record["messageId"] == message_id:
                return record
        return None

    def newest_first(self) -> Iterator[Record]:
        """Every stored record, newest first; records stored meanwhile are not included, and
        those removed meanwhile are skipped."""
        return self.iter_records(self._all_newest_first())

    def newest_first_for(self, write_key: str | None) -> Iterator[Record]:
        """The records of one write key, newest first, through its index."""
        return self.iter_records(self._iter_ids({"write_key": write_key}))

    def ids(self, *, limit: int | None = None, **lookup: Unpack[Lookup]) -> list[int]:
        """Ids of the stored records that match every argument given (Lookup), newest first,
        at most `limit` of them.

        Each argument pins an index: the answer costs in proportion to the smallest of them
        (or to `limit`), never to the store. `before` is the paging cursor (ids below it);
        `since_id` and `until_id` are inclusive, and so are the receivedAt bounds.
        `delivery_status` without `destination` matches records routed with that status to
        any destination.
        """
        found = self.iter_ids(**lookup)
        return list(islice(found, limit) if limit is not None else found)

    def iter_ids(self, **lookup: Unpack[Lookup]) -> Iterator[int]:
        """`ids()` as a lazy iterator, for a reader that pages or stops early."""
        given = cast(dict[str, Any], lookup)
        return self._iter_ids(
            {field: given[field] for field in _FIELDS if given.get(field) is not None},
            message_id=lookup.get("message_id"),
            destination=lookup.get("destination"),
            delivery_status=lookup.get("delivery_status"),
            since_id=lookup.get("since_id"),
            until_id=lookup.get("until_id"),
            before=lookup.get("before"),
            received_since=lookup.get("received_since"),
            received_until=lookup.get("received_until"),
        )

    def _iter_ids(
        self,
        pinned: dict[str, Any],
        *,
        message_id: str | None = None,
        destination: str | None = None,
        delivery_status: str | None = None,
        since_id: int | None = None,
        until_id: int | None = None,
        before: int | None = None,
        received_since: datetime | None = None,
        received_until: datetime | None = None,
    ) -> Iterator[int]:
        """The lookup behind `iter_ids`: `pinned` maps fields to the value they must have
        (None included: `newest_first_for(None)` wants the calls without a write key)."""
        lowest, highest = since_id, until_id
        if before is not None:
            highest = before - 1 if highest is None else min(highest, before - 1)
        exact_times = received_since is not None or received_until is not None
        if exact_times:
            lowest, highest = self._received_bounds(received_since, received_until, lowest, highest)
        facets: list[Facet] = []
        by_class: dict[int, Any] = {}
        for field, value in pinned.items():
            if field in _CLASS_AT:
                by_class[_CLASS_AT[field]] = value
                continue
            run = self._indexes[field].run(value)
            if run is None:
                return iter(())
            facets.append(Facet([bounded(run, lowest, highest)]))
        if by_class or destination is not None or delivery_status is not None:
            numbers = self._classes_matching(by_class, destination, delivery_status)
            if not numbers:
                return iter(())
            facets.append(self._class_facet(numbers, lowest, highest))
        if message_id is not None:
            candidates = self._with_hash(hash(message_id))
            if not candidates:
                return iter(())
            facets.append(Facet([bounded((candidates, 0, len(candidates)), lowest, highest)]))
        found = intersect(facets) if facets else self._all_newest_first(lowest, highest)
        if message_id is not None:
            found = (i for i in found if self._message_id_of(i) == message_id)
        if exact_times:
            found = self._within_times(found, received_since, received_until)
        return found

    def counts(self, field: str) -> dict[Any, int]:
        """How many stored records have each value of a field (`ids()` names): running counts,
        no scan. For "destination", keys are whole routings: ((destination id, status), ...)."""
        if field not in _CLASS_AT:
            return self._indexes[field].counts()
        at = _CLASS_AT[field]
        counts: dict[Any, int] = {}
        for number, key in self._classes.live():
            value = key[at]
            if (value is None and at >= _CLASS_AT["source"]) or value == ():
                continue  # no source, no routing: not in those indexes
            counts[value] = counts.get(value, 0) + self._classes.count(number)
        return counts

    def count(self, field: str, value: Any) -> int:
        if field not in _CLASS_AT:
            return self._indexes[field].count(value)
        return self.counts(field).get(value, 0)

    # -- resets ----------------------------------------------------------------------------

    def reset_all(self) -> int:
        removed = len(self)
        gone = list(self._ids[self._start :])
        self._forget_memory()
        self._pending.clear()
        self._pending_since = None
        self._db.drop_tables()
        if gone and self.on_evict is not None:
            self.on_evict(gone)
        return removed

    def reset_write_key(self, write_key: str | None) -> int:
        runs = [
            run
            for number in self._classes_matching({_CLASS_AT["write_key"]: write_key}, None, None)
            if (run := self._classes.postings.run(number)) is not None
        ]
        if not runs:
            return 0
        gone = sorted(record_id for ids, lo, hi in runs for record_id in ids[lo:hi])
        self._remove(gone)
        self._pending = [r for r in self._pending if self._position(r["id"]) is not None]
        if self.path is not None:
            self._add_tombstone(write_key)
        if self.on_evict is not None:
            self.on_evict(gone)
        return len(gone)

    # -- writing ---------------------------------------------------------------------------

    def flush(self) -> int:
        """Write buffered records to disk now; returns how many were written.

        If the disk write fails (disk full), TinyDB's data already holds the records and the
        storage keeps the file marked as changed: the next flush writes it again. A record
        that cannot be encoded is left out and set aside (`_set_aside_unwritable`).
        """
        try:
            return self._commit()
        finally:
            self._storage.sync()
            self._set_aside_unwritable()
            self._release_full_chunks({})  # written now: no need to wait for the next flush

    def prepare_flush(self) -> FileWrite:
        """Move buffered records into TinyDB; the returned FileWrite encodes and writes the
        files that changed, so that the caller can do that off its event loop.

        Until it has run, a hard kill loses what it holds, as it would lose the buffer; any
        later flush, reset or close finishes it first. A failed write is redone by the next
        flush, as with `flush()`.
        """
        try:
            self._set_aside_unwritable()  # what the last write could not encode
            self._commit()
        finally:
            write = self._storage.prepare()
        return write

    def close(self) -> None:
        self.flush()
        try:
            self._save_snapshot()
        finally:
            self._db.close()

    # -- snapshots (segemu/snapshot.py) ----------------------------------------------------

    def _save_snapshot(self) -> None:
        """Picture the memory the files give, for the next open to take instead of reading
        them; nothing is lost without it, so a failure only leaves it out."""
        if self.path is None:
            return
        directory = Path(self.path)
        try:
            if self._start:
                self._cut()  # the arrays from the oldest stored record on
            out = Writer()
            out.values.update(next_id=self._next_id, chunks=sorted(self._materialized))
            for name in ("ids", "spans", "lengths", "received", "received_max"):
                out.array(name, getattr(self, f"_{name}"))
            out.array("class", self._class)
            # str hashes differ from one process to the next: the messageIds, not their hashes.
            out.json(
                "message_ids",
                [
                    indexed_fields(self._compact(at), self._ids[at], self._shapes)[0]["messageId"]
                    for at in range(len(self._ids))
                ],
            )
            self._blobs.save(out)
            self._shapes.save(out)
            self._classes.save(out, "classes")
            for field, index in self._indexes.items():
                index.save(out, field)
            out.save(directory)
        except (OSError, TypeError, ValueError) as exc:
            (directory / SNAPSHOT_FILE).unlink(missing_ok=True)
            log.warning("no snapshot of the store for the next start (%s)", exc)

    def _restore(self) -> bool:
        """Take the snapshot a clean stop left, if it still describes the files; False: read
        the files instead."""
        if self.path is None:
            return False
        source = take_snapshot(Path(self.path))
        if source is None:
            return False
        newest = int(source.values["next_id"]) - 1
        if self.on_load is not None and not (self.restore_if and self.restore_if(newest)):
            return False
        try:
            self._restore_from(source)
        except (SnapshotError, KeyError, TypeError, ValueError, IndexError, OverflowError):
            self._forget_memory()
            return False
        return True

    def _restore_from(self, source: Reader) -> None:
        for name in ("ids", "spans", "lengths", "received", "received_max"):
            setattr(self, f"_{name}", source.array(name))
        self._class = source.array("class")
        self._start = 0
        count = len(self._ids)
        if any(
            len(values) != count
            for values in (self._spans, self._lengths, self._received, self._class)
        ):
            raise SnapshotError("its arrays differ in length")
        self._blobs.restore(source)
        self._shapes.restore(source)
        self._classes.restore(source, "classes")
        for field, index in self._indexes.items():
            index.restore(source, field)
        message_ids = source.json("message_ids")
        if len(message_ids) != count:
            raise SnapshotError("it has a messageId per record")
        for record_id, message_id in zip(self._ids, message_ids, strict=True):
            self._add_message_id(hash(message_id), record_id)
        self._next_id = int(source.values["next_id"])
        names = sorted(n for n in self._storage.read() if n.startswith(CHUNK_PREFIX))
        if names:  # the newest chunk may still be filled: TinyDB adds to it
            self._storage.materialize(names[-1])
            self._materialized.add(int(names[-1][len(CHUNK_PREFIX) :]))
        while len(self) > self.retention:  # a smaller retention than last time
            self._evict_oldest()
        self.evicted = 0

    def _forget_memory(self) -> None:
        """Every record out of memory (a reset, a snapshot that did not fit); the files and
        the buffer of records on their way to them are the caller's."""
        self._ids, self._spans, self._lengths = array("q"), array("q"), array("q")
        self._received, self._received_max, self._class = array("q"), array("q"), array("i")
        self._start = 0
        self._blobs.clear()
        self._shapes.clear()
        self._classes.clear()
        for index in self._indexes.values():
            index.clear()
        self._message_ids.clear()
        self._message_repeats.clear()
        self._materialized.clear()

    # -- internals -----------------------------------------------------------------------

    def _compact(self, at: int) -> CompactRecord | memoryview:
        return self._blobs.get(self._spans[at], self._lengths[at])

    def count_between(self, lowest: int, highest: int) -> int:
        """How many stored records have an id in [lowest, highest]: two binary searches."""
        ids = self._ids
        return max(
            bisect_right(ids, highest, self._start) - bisect_left(ids, lowest, self._start), 0
        )

    def _position(self, record_id: int) -> int | None:
        ids = self._ids
        at = bisect_left(ids, record_id, self._start)
        return at if at < len(ids) and ids[at] == record_id else None

    def iter_records(self, ids: Iterable[int]) -> Iterator[Record]:
        """The stored records with these ids, decoded one at a time as the reader asks."""
        for record_id in ids:
            record = self.get(record_id)
            if record is not None:
                yield record

    def _all_newest_first(
        self, lowest: int | None = None, highest: int | None = None
    ) -> Iterator[int]:
        """Every stored id in [lowest, highest], newest first; robust to records added or
        removed while a reader pauses between two (it looks each position up again)."""
        ids = self._ids
        upper = bisect_right(ids, highest, self._start) if highest is not None else len(ids)
        if upper <= self._start:
            return
        current = ids[upper - 1]
        while True:
            ids = self._ids
            at = bisect_right(ids, current, self._start) - 1
            if at < self._start:
                return
            current = ids[at]
            if lowest is not None and current < lowest:
                return
            yield current
            current -= 1

    def _candidates(self, message_id: str) -> Iterator[Record]:
        return self.iter_records(iter(self._with_hash(hash(message_id))))

    def _with_hash(self, hashed: int) -> list[int]:
        first = self._message_ids.get(hashed)
        if not first:
            return []
        run = self._message_repeats.run(hashed)
        if run is None:
            return [first]
        # Sorted: a record may be stored after a newer one (store.add takes any order).
        return sorted([first, *run[0][run[1] : run[2]]])

    def _add_message_id(self, hashed: int, record_id: int) -> None:
        if self._message_ids.get(hashed):
            self._message_repeats.add(hashed, record_id)
        else:
            self._message_ids.set(hashed, record_id)

    def _remove_message_id(self, hashed: int, record_id: int) -> None:
        if self._message_ids.get(hashed) != record_id:
            self._message_repeats.remove(hashed, [record_id])
            return
        run = self._message_repeats.run(hashed)
        if run is None:
            self._message_ids.remove(hashed)
        else:  # the oldest retry takes the first's place
            following = run[0][run[1]]
            self._message_ids.set(hashed, following)
            self._message_repeats.drop_oldest(hashed, following)

    def _message_id_of(self, record_id: int) -> Any:
        record = self.get(record_id)
        return None if record is None else record["messageId"]

    def _classes_matching(
        self, pinned: dict[int, Any], destination: str | None, status: str | None
    ) -> list[int]:
        """The classes whose fields have the pinned values (by position in the class key) and,
        if asked, whose routing has the destination and the delivery status."""
        routed = destination is not None or status is not None
        return [
            number
            for number, key in self._classes.live()
            if all(key[at] == value for at, value in pinned.items())
            and (
                not routed
                or any(
                    (destination is None or name == destination)
                    and (status is None or verdict == status)
                    for name, verdict in key[4]
                )
            )
        ]

    def _class_facet(self, numbers: list[int], lowest: int | None, highest: int | None) -> Facet:
        runs = []
        for number in numbers:
            run = self._classes.postings.run(number)
            if run is not None:
                runs.append(bounded(run, lowest, highest))
        if len(runs) <= 2:
            return Facet(runs)
        wanted = set(numbers)

        def in_class(record_id: int) -> bool:
            at = self._position(record_id)
            return at is not None and self._class[at] in wanted

        return TestedFacet(runs, in_class)

    def _received_bounds(
        self,
        since: datetime | None,
        until: datetime | None,
        lowest: int | None,
        highest: int | None,
    ) -> tuple[int | None, int | None]:
        """Narrow an id range to receivedAt bounds, through the running maximum of receivedAt
        (ids ascend with arrival; receivedAt almost does)."""
        start, ids, top = self._start, self._ids, self._received_max
        if since is not None:
            at = bisect_left(top, _millis(since), start)
            first = ids[at] if at < len(ids) else self._next_id
            lowest = first if lowest is None else max(lowest, first)
        if until is not None:
            at = bisect_right(top, _millis(until) + _RECEIVED_SKEW_MS, start)
            last = ids[at - 1] if at > start else 0
            highest = last if highest is None else min(highest, last)
        return lowest, highest

    def _within_times(
        self, ids: Iterator[int], since: datetime | None, until: datetime | None
    ) -> Iterator[int]:
        low = _millis(since) if since is not None else None
        high = _millis(until) if until is not None else None
        for record_id in ids:
            at = self._position(record_id)
            if at is None:
                continue
            received = self._received[at]
            if received < 0 or (low is not None and received < low):
                continue
            if high is not None and received > high:
                continue
            yield record_id

    def _index(self, record: Record) -> None:
        record_id = record["id"]
        # Everything that can fail on a malformed record (one read from a damaged file) is
        # done before anything changes.
        key, facets = _facets(record, self._routings)
        hash(key)
        for _field, value in facets:
            hash(value)
        hashed = hash(record["messageId"])
        compact = encode(record, self._shapes)
        received = _received_millis(record.get("receivedAt"))
        ids = self._ids
        if len(ids) == self._start or ids[-1] < record_id:
            ids.append(record_id)
            self._class.append(self._classes.add(key, record_id))
            span, length = self._blobs.put(compact)
            self._spans.append(span)
            self._lengths.append(length)
            self._received.append(received)
            top = self._received_max[-1] if len(self._received_max) > self._start else received
            self._received_max.append(max(top, received))
        else:
            self._insert(record_id, compact, received, self._classes.add(key, record_id))
        for field, value in facets:
            self._indexes[field].add(value, record_id)
        self._add_message_id(hashed, record_id)

    def _insert(self, record_id: int, compact: CompactRecord, received: int, number: int) -> None:
        """A record older than the newest stored one (ids are allocated before a record is
        complete): into its place, keeping the arrays sorted."""
        at = bisect_left(self._ids, record_id, self._start)
        if at < len(self._ids) and self._ids[at] == record_id:
            raise ValueError(f"record {record_id} is already stored")
        self._ids.insert(at, record_id)
        self._class.insert(at, number)
        span, length = self._blobs.put(compact)
        self._spans.insert(at, span)
        self._lengths.insert(at, length)
        self._received.insert(at, received)
        top = self._received_max[at - 1] if at > self._start else received
        self._received_max.insert(at, max(top, received))
        for later in range(at + 1, len(self._received_max)):
            if self._received_max[later] >= self._received_max[later - 1]:
                break
            self._received_max[later] = self._received_max[later - 1]

    def _evict_oldest(self) -> int:
        start = self._start
        record_id = self._ids[start]
        self._classes.drop_oldest(self._class[start], record_id)
        record, shape = indexed_fields(self._compact(start), record_id, self._shapes)
        for field, value in _own_facets(record):
            self._indexes[field].drop_oldest(value, record_id)
        self._remove_message_id(hash(record["messageId"]), record_id)
        if shape is not None:
            self._shapes.release(shape)
        self._blobs.release(self._spans[start], self._lengths[start])
        self._start = start + 1
        if self._start >= _CUT_AT and self._start * 2 >= len(self._ids):
            self._cut()
        self.evicted += 1
        return record_id

    def _cut(self) -> None:
        start = self._start
        del self._ids[:start]
        del self._class[:start]
        del self._spans[:start]
        del self._lengths[:start]
        del self._received[:start]
        del self._received_max[:start]
        self._start = 0

    def _remove(self, gone: list[int]) -> None:
        """Take stored records (ascending ids) out of the arrays and every index."""
        by_value: dict[tuple[str, Any], list[int]] = {}
        by_class: dict[int, list[int]] = {}
        message_ids: dict[int, list[int]] = {}
        for record_id in gone:
            at = cast(int, self._position(record_id))
            by_class.setdefault(self._class[at], []).append(record_id)
            record, shape = indexed_fields(self._compact(at), record_id, self._shapes)
            self._blobs.release(self._spans[at], self._lengths[at])
            for facet in _own_facets(record):
                by_value.setdefault(facet, []).append(record_id)
            message_ids.setdefault(hash(record["messageId"]), []).append(record_id)
            if shape is not None:
                self._shapes.release(shape)
        for (field, value), record_ids in by_value.items():
            self._indexes[field].remove(value, record_ids)
        for number, record_ids in by_class.items():
            self._classes.remove(number, record_ids)
        for hashed, record_ids in message_ids.items():
            for record_id in record_ids:
                self._remove_message_id(hashed, record_id)
        self._remove_positions(gone)

    def _remove_positions(self, record_ids: list[int]) -> None:
        """Take some records (ascending ids) out of the arrays: rewritten from the first."""
        first = self._position(record_ids[0])
        if first is None:
            return
        gone = set(record_ids)
        keep = [at for at in range(first, len(self._ids)) if self._ids[at] not in gone]
        ids = array("q", (self._ids[at] for at in keep))
        spans = array("q", (self._spans[at] for at in keep))
        lengths = array("q", (self._lengths[at] for at in keep))
        received = array("q", (self._received[at] for at in keep))
        classes = array("i", (self._class[at] for at in keep))
        del self._ids[first:], self._spans[first:], self._lengths[first:], self._received[first:]
        del self._received_max[first:], self._class[first:]
        self._ids.extend(ids)
        self._class.extend(classes)
        self._spans.extend(spans)
        self._lengths.extend(lengths)
        self._received.extend(received)
        top = self._received_max[-1] if len(self._received_max) > self._start else None
        for value in received:
            top = value if top is None else max(top, value)
            self._received_max.append(top)

    def _commit(self) -> int:
        """Insert the buffer into TinyDB (memory only: the caller writes the files)."""
        by_chunk: dict[int, list[Record]] = {}
        for record in self._pending:
            if self._position(record["id"]) is not None:  # not reset or evicted meanwhile
                by_chunk.setdefault(record["id"] // self.chunk_size, []).append(record)
        self._pending = []
        self._pending_since = None
        self._release_full_chunks(by_chunk)
        written = 0
        with self._storage.deferring():
            for number, records in by_chunk.items():
                name = chunk_name(number)
                # A record that comes after its chunk was let go (its id was allocated long
                # before it was complete) takes the chunk back into memory first.
                self._storage.materialize(name)
                self._db.table(name).insert_multiple(records)
                self._materialized.add(number)
                written += len(records)
            self._drop_expired_chunks()
        return written

    def _release_full_chunks(self, filling: dict[int, list[Record]]) -> None:
        """Let TinyDB's copy of the chunks behind the one being filled go, once written."""
        current = (self._next_id - 1) // self.chunk_size
        for number in sorted(self._materialized):
            if (
                number < current
                and number not in filling
                and self._storage.release(chunk_name(number))
            ):
                self._materialized.discard(number)

    def _set_aside_unwritable(self) -> None:
        """Take the records the storage could not encode out of the store: out of their chunk
        (so no later write tries them again) and out of every index (so no page that would
        hold one fails). The storage has reported each one, and kept it beside its file."""
        unwritable = self._storage.take_unwritable()
        if not unwritable:
            return
        with self._storage.deferring():  # the next flush writes the chunk without them
            for left_out in unwritable:
                table = self._storage.read().get(left_out.table, {})
                document = table.get(left_out.doc_id)
                if document is None:
                    continue  # reset or dropped meanwhile
                self._db.table(left_out.table).remove(doc_ids=[int(left_out.doc_id)])
                record_id = document.get("id")
                if isinstance(record_id, int) and self._position(record_id) is not None:
                    self._remove([record_id])
                    if self.on_evict is not None:
                        self.on_evict((record_id,))

    def _drop_expired_chunks(self) -> None:
        """Drop chunk tables that hold only records older than the oldest one kept."""
        oldest = self._ids[self._start] if len(self) else self._next_id
        dropped = False
        for name in self._db.tables():
            if name.startswith(CHUNK_PREFIX):
                number = int(name[len(CHUNK_PREFIX) :])
                last_id = (number + 1) * self.chunk_size - 1
                if last_id < oldest:
                    self._db.drop_table(name)
                    self._materialized.discard(number)
                    dropped = True
        if dropped and RESETS_TABLE in self._db.tables():
            # Tombstones that hide nothing any more can go.
            table = self._db.table(RESETS_TABLE)
            if any(doc["beforeId"] <= oldest for doc in table.all()):
                table.remove(lambda doc: doc["beforeId"] <= oldest)

    def _add_tombstone(self, write_key: str | None) -> None:
        table = self._db.table(RESETS_TABLE)
        table.remove(lambda doc: doc["writeKey"] == write_key)
        table.insert({"writeKey": write_key, "beforeId": self._next_id})

    def _load(self) -> None:
        """Index every record on disk. Each document is checked first (record_check.py): one
        that is not a record this store could have written is set aside with its file and
        the reason, and neither counted nor indexed, so that no page fails on it later."""
        data = self._storage.read()
        hidden = self._load_tombstones(data)
        last_id = 0
        names = sorted(n for n in data if n.startswith(CHUNK_PREFIX))
        for position, name in enumerate(names):
            number = name[len(CHUNK_PREFIX) :]
            if not (number.isascii() and number.isdigit()) or chunk_name(int(number)) != name:
                self._storage.set_aside_table(name, _NOT_A_CHUNK)
                continue
            # One chunk at a time: its documents as dicts are let go before the next is read.
            table = self._storage.load_table(name)
            if table is None:
                continue
            bad: dict[str, str] = {}
            records: list[Record] = []
            # The table is one level above its records.
            shallow = encoder_within(table, RECORD_DEPTH + 1)
            for doc_id, document in table.items():
                problem = _doc_id_problem(doc_id) or record_problem(document, shallow=shallow)
                if problem is None:
                    record_id = document["id"]
                    if record_id // self.chunk_size != int(number):
                        problem = f"its record id {record_id} belongs in another chunk"
                    elif record_id <= last_id:
                        problem = f"its record id {record_id} is not after the one before it"
                if problem is not None:
                    bad[doc_id] = problem
                    continue
                last_id = document["id"]
                records.append(cast(Record, document))
            if bad:
                table = self._storage.set_aside_documents(name, bad, table)
            for record in records:
                if record["id"] >= hidden.get(record["writeKey"], 0):
                    self._index(record)
                    if self.on_load is not None:
                        self.on_load(record)
            # Retention as it goes, so that memory never holds more than it allows.
            while len(self) > self.retention:
                self._evict_oldest()
            if position == len(names) - 1:
                # The newest chunk may still be filled: TinyDB adds to it.
                self._storage.materialize(name, table)
                self._materialized.add(int(number))
        # Not below a reset either: a record given an id it hides would vanish on a restart.
        self._next_id = max([last_id + 1, *hidden.values()])
        self.evicted = 0

    def _load_tombstones(self, data: dict[str, dict[str, Any]]) -> dict[str | None, int]:
        """The resets of one write key: records before `beforeId` are hidden."""
        bad = {
            doc_id: problem
            for doc_id, document in data.get(RESETS_TABLE, {}).items()
            if (problem := _doc_id_problem(doc_id) or tombstone_problem(document))
        }
        if bad:
            self._storage.set_aside_documents(RESETS_TABLE, bad)
        return {doc["writeKey"]: doc["beforeId"] for doc in data.get(RESETS_TABLE, {}).values()}


_NOT_A_CHUNK = f"is named like a chunk of events ({CHUNK_PREFIX}NNNNNN) but is not one"


def _doc_id_problem(doc_id: str) -> str | None:
    # TinyDB reads every document id as an integer.
    if doc_id.isascii() and doc_id.isdigit():
        return None
    return f"its id {doc_id!r} is not a number"


def _millis(moment: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# The epoch milliseconds of each second seen lately ("2026-11-22T04:21:28"): receivedAt texts
# come in bursts within one second (bounded, as message.format_timestamp's cache is).
_SECONDS: dict[str, int] = {}
_SECONDS_KEPT = 1024


def _received_millis(text: Any) -> int:
    """receivedAt as ms since the epoch; -1 if it is not a timestamp."""
    if type(text) is str and len(text) == 24 and text[19] == "." and text[23] == "Z":
        millis = text[20:23]
        if millis.isdigit():
            second = _SECONDS.get(text[:19])
            if second is None:
                moment = parse_timestamp(text[:19])
                if moment is None:
                    return -1
                if len(_SECONDS) >= _SECONDS_KEPT:
                    _SECONDS.clear()
                second = _SECONDS[text[:19]] = _millis(moment)
            return second + int(millis)
    moment = parse_timestamp(text)
    return -1 if moment is None else _millis(moment)
