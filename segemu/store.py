"""The event store: TinyDB on disk (or in memory), memory indexes for every read.

How it stays fast as it grows (DESIGN.md "Storage"; reference §B.11):
- Records are indexed in memory the moment they arrive, and buffered for TinyDB.
- One flush (every `flush_interval`, and at close) inserts the buffer with `insert_multiple`,
  one call per chunk table of `CHUNK_SIZE` records, so TinyDB's rebuild of the table it writes
  is bounded by the chunk size, and TableFileStorage rewrites only that chunk's file, from the
  bytes of the records it already holds (each record is encoded once).
- The periodic flush changes memory on the event loop and leaves encoding and disk I/O to a
  thread (`prepare_flush`); `flush()` and `close()` write before they return.
- Full chunks are never written again. Retention drops whole chunks, oldest first.
- A reset of one write key appends a tombstone instead of rewriting old chunks.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from typing import Any, cast

from tinydb import TinyDB

from segemu.message import Record
from segemu.record_check import record_problem, tombstone_problem
from segemu.storage import FileWrite, StorageError, TableFileStorage

CHUNK_SIZE = 1000
CHUNK_PREFIX = "events_"
RESETS_TABLE = "resets"

__all__ = ["CHUNK_SIZE", "EventStore", "StorageError"]


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


class EventStore:
    def __init__(
        self,
        path: str | None,
        *,
        retention: int,
        chunk_size: int = CHUNK_SIZE,
        on_evict: Callable[[Iterable[int]], None] | None = None,
    ) -> None:
        self.path = path
        # Told the ids of records that retention or a write key's reset removed, so that
        # state kept beside them (live deliveries) goes with them.
        self.on_evict = on_evict
        self.retention = retention
        self.chunk_size = chunk_size
        self._db = TinyDB(path, storage=TableFileStorage)
        self._storage = cast(TableFileStorage, self._db.storage)
        self._records: OrderedDict[int, Record] = OrderedDict()
        # Every record that carried a messageId, first one first (dedupe and lookup).
        self._by_message_id: dict[str, list[int]] = {}
        # Insertion-ordered sets of record ids per write key (None: calls without a key).
        self._by_write_key: dict[str | None, dict[int, None]] = {}
        self._pending: list[Record] = []
        # When the oldest record in the buffer was added (time.monotonic), None when empty.
        self._pending_since: float | None = None
        self._next_id = 1
        self.evicted = 0
        self._load()

    @property
    def problems(self) -> list[str]:
        """What went wrong when opening the database (corrupt files set aside)."""
        return self._storage.problems

    def __len__(self) -> int:
        return len(self._records)

    @property
    def pending(self) -> int:
        return len(self._pending)

    @property
    def pending_since(self) -> float | None:
        """When (time.monotonic) the oldest record not yet on its way to disk was added, that
        is, about when its call was acknowledged; None when there is none."""
        return self._pending_since

    @property
    def next_id(self) -> int:
        """The id the next record will get."""
        return self._next_id

    def allocate_id(self) -> int:
        record_id = self._next_id
        self._next_id += 1
        return record_id

    def add(self, record: Record) -> None:
        """Index a record now; it reaches TinyDB with the next flush."""
        if not self._pending:
            self._pending_since = time.monotonic()
        self._index(record)
        self._pending.append(record)
        while len(self._records) > self.retention:
            self._evict_oldest()

    def with_message_id(self, message_id: str) -> list[Record]:
        """Every stored record that carried this messageId: the original first, then retries."""
        return [self._records[i] for i in self._by_message_id.get(message_id, ())]

    def get(self, record_id: int) -> Record | None:
        """The stored record with this id; None once evicted or reset."""
        return self._records.get(record_id)

    def first_with_message_id(self, message_id: str) -> Record | None:
        ids = self._by_message_id.get(message_id)
        return self._records[ids[0]] if ids else None

    def newest_first(self) -> Iterator[Record]:
        return reversed(self._records.values())

    def newest_first_for(self, write_key: str | None) -> Iterator[Record]:
        """The records of one write key, newest first, through its index."""
        for record_id in reversed(self._by_write_key.get(write_key, {})):
            yield self._records[record_id]

    def reset_all(self) -> int:
        removed = len(self._records)
        self._records.clear()
        self._by_message_id.clear()
        self._by_write_key.clear()
        self._pending.clear()
        self._pending_since = None
        self._db.drop_tables()
        return removed

    def reset_write_key(self, write_key: str | None) -> int:
        ids = self._by_write_key.pop(write_key, {})
        for record_id in ids:
            self._forget(self._records.pop(record_id))
        if ids and self.on_evict is not None:
            self.on_evict(ids)
        if ids:
            self._pending = [r for r in self._pending if r["id"] in self._records]
            if self.path is not None:
                self._add_tombstone(write_key)
        return len(ids)

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
        self._db.close()

    # -- internals -----------------------------------------------------------------------

    def _commit(self) -> int:
        """Insert the buffer into TinyDB (memory only: the caller writes the files)."""
        by_chunk: dict[int, list[Record]] = {}
        for record in self._pending:
            if record["id"] in self._records:  # not reset or evicted meanwhile
                by_chunk.setdefault(record["id"] // self.chunk_size, []).append(record)
        self._pending = []
        self._pending_since = None
        written = 0
        with self._storage.deferring():
            for number, records in by_chunk.items():
                name = chunk_name(number)
                doc_ids = self._db.table(name).insert_multiple(records)
                # TinyDB stores a shallow copy of each document: index that copy and let the
                # original go, so a stored record costs one dict, not two.
                stored = self._storage.read()[name]
                for doc_id, record in zip(doc_ids, records, strict=True):
                    if record["id"] in self._records:
                        self._records[record["id"]] = cast(Record, stored[str(doc_id)])
                written += len(records)
            self._drop_expired_chunks()
        return written

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
                if self._records.get(record_id) is document:
                    self._discard(record_id)
                    if self.on_evict is not None:
                        self.on_evict((record_id,))

    def _discard(self, record_id: int) -> None:
        record = self._records.pop(record_id)
        keyed = self._by_write_key.get(record["writeKey"])
        if keyed is not None:
            keyed.pop(record_id, None)
            if not keyed:
                del self._by_write_key[record["writeKey"]]
        self._forget(record)

    def _index(self, record: Record) -> None:
        record_id = record["id"]
        self._records[record_id] = record
        # Not setdefault: it would build an empty container for every record.
        keyed = self._by_write_key.get(record["writeKey"])
        if keyed is None:
            keyed = self._by_write_key[record["writeKey"]] = {}
        keyed[record_id] = None
        retries = self._by_message_id.get(record["messageId"])
        if retries is None:
            self._by_message_id[record["messageId"]] = [record_id]
        else:
            retries.append(record_id)

    def _forget(self, record: Record) -> None:
        ids = self._by_message_id.get(record["messageId"])
        if ids is not None:
            ids.remove(record["id"])
            if not ids:
                del self._by_message_id[record["messageId"]]

    def _evict_oldest(self) -> None:
        record_id = next(iter(self._records))
        self._discard(record_id)
        self.evicted += 1
        if self.on_evict is not None:
            self.on_evict((record_id,))

    def _drop_expired_chunks(self) -> None:
        """Drop chunk tables that hold only records older than the oldest one kept."""
        oldest = next(iter(self._records), self._next_id)
        dropped = False
        for name in self._db.tables():
            if name.startswith(CHUNK_PREFIX):
                last_id = (int(name[len(CHUNK_PREFIX) :]) + 1) * self.chunk_size - 1
                if last_id < oldest:
                    self._db.drop_table(name)
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
        for name in sorted(n for n in data if n.startswith(CHUNK_PREFIX)):
            number = name[len(CHUNK_PREFIX) :]
            if not (number.isascii() and number.isdigit()) or chunk_name(int(number)) != name:
                self._storage.set_aside_table(name, _NOT_A_CHUNK)
                continue
            bad: dict[str, str] = {}
            records: list[Record] = []
            for doc_id, document in data[name].items():
                problem = _doc_id_problem(doc_id) or record_problem(document)
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
                self._storage.set_aside_documents(name, bad)
            for record in records:
                if record["id"] >= hidden.get(record["writeKey"], 0):
                    self._index(record)
        # Not below a reset either: a record given an id it hides would vanish on a restart.
        self._next_id = max([last_id + 1, *hidden.values()])
        # Chunks were read in name order, ids ascend within each: the index is oldest-first.
        while len(self._records) > self.retention:
            self._evict_oldest()
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
