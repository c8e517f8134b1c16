"""What the live event table holds: record ids in arrival order, the ones the filter lets
through, and the counts the footer shows. No Textual here, so it is tested on its own.

The log keeps ids, not records: the backend owns the records (in process, the store's own
dicts), so the inspector costs a few bytes per event and always shows a record as it is now.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterator

from segemu.message import Record
from segemu.query import Query

Lookup = Callable[[int], Record | None]


class EventLog:
    def __init__(self, lookup: Lookup, retention: int, view: Lookup | None = None) -> None:
        # `lookup` gives a record as stored, its routing included: what filters read. `view`
        # adds what destinations received (built when read), for a filter that reads it.
        self.lookup = lookup
        self.view = view or lookup
        self.retention = retention
        # All three ascend with arrival and stay aligned: the id, status and write key of every
        # record held, so counts stay right when records go, without looking them up.
        self.ids: list[int] = []
        self._status: list[str] = []
        self._key: list[str] = []
        # The ids the filter shows, ascending.
        self.shown: list[int] = []
        self.where: Query | None = None
        self.statuses: Counter[str] = Counter()
        self.write_keys: Counter[str] = Counter()
        self.paused = False
        # Records that arrived while paused: shown on resume, counted in the footer meanwhile.
        self.held: list[Record] = []

    def __len__(self) -> int:
        return len(self.ids)

    def add(self, records: list[Record]) -> int:
        """Take newly arrived records; returns how many of them the filter shows."""
        if self.paused:
            self.held.extend(records)
            return 0
        shown = 0
        where = self.where
        get = self.view if where is not None and where.reads_view else self.lookup
        for record in records:
            record_id = record["id"]
            if self.ids and record_id <= self.ids[-1]:
                continue  # already there (history and live records can overlap at start)
            status, key = record["status"], record["writeKey"] or "(none)"
            self.ids.append(record_id)
            self._status.append(status)
            self._key.append(key)
            self.statuses[status] += 1
            self.write_keys[key] += 1
            if where is None or where.matches(get(record_id) or record):
                self.shown.append(record_id)
                shown += 1
        if len(self.ids) > self.retention:
            self._drop_first(len(self.ids) - self.retention)
        return shown

    def pause(self) -> None:
        self.paused = True

    def resume(self) -> int:
        self.paused = False
        held, self.held = self.held, []
        return self.add(held)

    def clear(self) -> None:
        """Forget every event received so far (the store keeps them)."""
        self.ids.clear()
        self._status.clear()
        self._key.clear()
        self.shown.clear()
        self.held.clear()
        self.statuses.clear()
        self.write_keys.clear()

    def set_filter(self, where: Query | None) -> None:
        self.where = where
        if where is None:
            self.shown = list(self.ids)
            return
        lookup = self.view if where.reads_view else self.lookup
        shown = []
        for record_id in self.ids:
            record = lookup(record_id)
            if record is not None and where.matches(record):
                shown.append(record_id)
        self.shown = shown

    def prune(self) -> int:
        """Drop the ids of records the backend no longer has (retention, a reset); returns
        how many went."""
        lookup = self.lookup
        oldest_gone = 0
        # Retention removes the oldest first: the cheap common case.
        while oldest_gone < len(self.ids) and lookup(self.ids[oldest_gone]) is None:
            oldest_gone += 1
        self._drop_first(oldest_gone)
        gone = {i for i in self.ids if lookup(i) is None}
        if gone:
            kept = [n for n, i in enumerate(self.ids) if i not in gone]
            for n in range(len(self.ids)):
                if self.ids[n] in gone:
                    self._uncount(n)
            self.ids = [self.ids[n] for n in kept]
            self._status = [self._status[n] for n in kept]
            self._key = [self._key[n] for n in kept]
            self.shown = [i for i in self.shown if i not in gone]
        return oldest_gone + len(gone)

    def shown_newest_first(self, index: int) -> Record | None:
        """The record at row `index` of the table (0 is the newest shown)."""
        if not 0 <= index < len(self.shown):
            return None
        return self.lookup(self.shown[len(self.shown) - 1 - index])

    def row_of(self, record_id: int) -> int | None:
        """The table row of a record id, if the filter shows it."""
        at = bisect_right(self.shown, record_id) - 1
        if at >= 0 and self.shown[at] == record_id:
            return len(self.shown) - 1 - at
        return None

    def newest_first(self) -> Iterator[Record]:
        """Every record the log holds (whatever the filter), newest first."""
        lookup = self.lookup
        for record_id in reversed(self.ids):
            record = lookup(record_id)
            if record is not None:
                yield record

    def _drop_first(self, count: int) -> None:
        if count <= 0:
            return
        for n in range(count):
            self._uncount(n)
        last_dropped = self.ids[count - 1]
        del self.ids[:count]
        del self._status[:count]
        del self._key[:count]
        del self.shown[: bisect_right(self.shown, last_dropped)]

    def _uncount(self, n: int) -> None:
        for counter, value in ((self.statuses, self._status[n]), (self.write_keys, self._key[n])):
            counter[value] -= 1
            if counter[value] <= 0:
                del counter[value]
