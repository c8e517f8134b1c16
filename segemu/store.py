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

from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from typing import Any, cast

from tinydb import TinyDB

from segemu.message import Record
from segemu.storage import FileWrite, StorageError, TableFileStorage

CHUNK_SIZE = 1000
CHUNK_PREFIX = "events_"
RESETS_TABLE = "resets"

__all__ = ["CHUNK_SIZE", "EventStore", "StorageError"]


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
    def next_id(self) -> int:
        """The id the next record will get."""
        return self._next_id

    def allocate_id(self) -> int:
        record_id = self._next_id
        self._next_id += 1
        return record_id

    def add(self, record: Record) -> None:
        """Index a record now; it reaches TinyDB with the next flush."""
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
        storage keeps the file marked as changed: the next flush writes it again.
        """
        try:
            return self._commit()
        finally:
            self._storage.sync()

    def prepare_flush(self) -> FileWrite:
        """Move buffered records into TinyDB; the returned FileWrite encodes and writes the
        files that changed, so that the caller can do that off its event loop.

        Until it has run, a hard kill loses what it holds, as it would lose the buffer; any
        later flush, reset or close finishes it first. A failed write is redone by the next
        flush, as with `flush()`.
        """
        try:
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
        record_id, record = self._records.popitem(last=False)
        keyed = self._by_write_key.get(record["writeKey"])
        if keyed is not None:
            keyed.pop(record_id, None)
            if not keyed:
                del self._by_write_key[record["writeKey"]]
        self._forget(record)
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
        data = self._storage.read()
        hidden: dict[Any, int] = {
            doc["writeKey"]: doc["beforeId"]
            for doc in data.get(RESETS_TABLE, {}).values()
            if isinstance(doc.get("beforeId"), int)
        }
        for name in sorted(n for n in data if n.startswith(CHUNK_PREFIX)):
            for raw_id, doc in data[name].items():
                record = cast(Record, doc)
                try:
                    record_id = record["id"]
                    if not isinstance(record_id, int):
                        raise TypeError
                    if record_id < hidden.get(record["writeKey"], 0):
                        continue
                    self._index(record)
                except (ValueError, KeyError, TypeError):
                    self._storage.problems.append(
                        f"{name}.json: document {raw_id} is not a segemu record; skipped"
                    )
                    continue
                self._next_id = max(self._next_id, record_id + 1)
        # Chunks were read in name order, ids ascend within each: the index is oldest-first.
        while len(self._records) > self.retention:
            self._evict_oldest()
        self.evicted = 0
