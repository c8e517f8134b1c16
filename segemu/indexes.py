"""The store's memory indexes: for each value of a field, the ids of the records that have it.

A posting list is an ascending array of record ids (8 bytes an id, no Python int per entry).
Retention drops the oldest record first, which is the first live entry of every list it is in:
dropping it moves a start offset, and the dead prefix is cut off once it is half the list. A
value held by one record keeps its id as a plain int, so a field with a value per record (a
userId per call) costs a dict entry, not a list.

Reads give runs (a sequence and the live range within it); `newest_first` intersects the runs
of several fields by walking the smallest and probing the others, so a lookup costs in
proportion to its smallest field, not to the store.
"""

from __future__ import annotations

import heapq
from array import array
from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from segemu.snapshot import SnapshotError

if TYPE_CHECKING:
    from segemu.snapshot import Reader, Writer

# A dead prefix shorter than this is not worth a copy.
_CUT_AT = 512


class Postings:
    __slots__ = ("ids", "start")

    def __init__(self, ids: Iterable[int]) -> None:
        self.ids = array("q", ids)
        self.start = 0

    def __len__(self) -> int:
        return len(self.ids) - self.start

    def add(self, record_id: int) -> None:
        ids = self.ids
        if len(ids) == self.start or ids[-1] < record_id:
            ids.append(record_id)
        else:  # an id that arrives after a newer one (rare): keep the list sorted
            insort(ids, record_id, self.start)

    def drop_oldest(self, record_id: int) -> None:
        ids = self.ids
        if ids[self.start] != record_id:
            self.remove([record_id])
            return
        self.start += 1
        if self.start >= _CUT_AT and self.start * 2 >= len(ids):
            del ids[: self.start]
            self.start = 0

    def remove(self, record_ids: Sequence[int]) -> None:
        """Remove these ids (ascending): the list is rewritten from the first one on."""
        ids = self.ids
        at = bisect_left(ids, record_ids[0], self.start)
        gone = set(record_ids)
        tail = array("q", (i for i in ids[at:] if i not in gone))
        del ids[at:]
        ids.extend(tail)


Run = tuple[Sequence[int], int, int]


class Index:
    """One field: value -> the ids of the records that have it, ascending."""

    __slots__ = ("terms",)

    def __init__(self) -> None:
        self.terms: dict[Any, int | Postings] = {}

    def add(self, key: Any, record_id: int) -> None:
        terms = self.terms
        found = terms.get(key, None)
        if found is None:
            terms[key] = record_id
        elif type(found) is int:
            terms[key] = Postings(sorted((found, record_id)))
        else:
            found.add(record_id)  # type: ignore[union-attr]

    def drop_oldest(self, key: Any, record_id: int) -> None:
        """Drop a record that is the oldest of those with this value (retention)."""
        found = self.terms.get(key)
        if found is None:
            return
        if type(found) is int:
            if found == record_id:
                del self.terms[key]
            return
        postings: Postings = found  # type: ignore[assignment]
        postings.drop_oldest(record_id)
        self._settle(key, postings)

    def remove(self, key: Any, record_ids: Sequence[int]) -> None:
        """Drop some records of this value (ascending ids), wherever they are."""
        found = self.terms.get(key)
        if found is None:
            return
        if type(found) is int:
            if found in record_ids:
                del self.terms[key]
            return
        postings: Postings = found  # type: ignore[assignment]
        postings.remove(record_ids)
        self._settle(key, postings)

    def _settle(self, key: Any, postings: Postings) -> None:
        left = len(postings)
        if left == 0:
            del self.terms[key]
        elif left == 1:
            self.terms[key] = postings.ids[postings.start]

    def count(self, key: Any) -> int:
        found = self.terms.get(key)
        if found is None:
            return 0
        return 1 if type(found) is int else len(found)  # type: ignore[arg-type]

    def counts(self) -> dict[Any, int]:
        return {key: self.count(key) for key in self.terms}

    def run(self, key: Any) -> Run | None:
        found = self.terms.get(key)
        if found is None:
            return None
        if type(found) is int:
            return (found,), 0, 1
        postings: Postings = found  # type: ignore[assignment]
        return postings.ids, postings.start, len(postings.ids)

    def clear(self) -> None:
        self.terms.clear()

    def save(self, out: Writer, name: str) -> None:
        """Into a snapshot: the keys (JSON), a value per key (an id, or -1 - n for the n-th
        posting list) and the live part of every posting list, end to end."""
        values = array("q")
        postings = array("q")
        ends = array("q")
        for found in self.terms.values():
            if type(found) is int:
                values.append(found)
            else:
                live: Postings = found  # type: ignore[assignment]
                values.append(-1 - len(ends))
                postings.extend(live.ids[live.start :])
                ends.append(len(postings))
        out.json(f"{name}.keys", list(self.terms))
        out.array(f"{name}.values", values)
        out.array(f"{name}.postings", postings)
        out.array(f"{name}.ends", ends)

    def restore(self, source: Reader, name: str) -> None:
        keys = source.json(f"{name}.keys")
        values = source.array(f"{name}.values")
        postings = source.array(f"{name}.postings")
        ends = source.array(f"{name}.ends")
        if type(keys) is not list or len(keys) != len(values):
            raise SnapshotError(f"its index {name!r} does not fit")
        terms: dict[Any, int | Postings] = dict(zip(keys, values, strict=True))
        if ends:
            for key, value in zip(keys, values, strict=True):
                if value < 0:
                    number = -1 - value
                    begin = ends[number - 1] if number else 0
                    terms[key] = Postings(postings[begin : ends[number]])
        self.terms = terms


def bounded(run: Run, lowest: int | None, highest: int | None) -> Run:
    """The part of a run with ids in [lowest, highest]."""
    ids, lo, hi = run
    if lowest is not None:
        lo = bisect_left(ids, lowest, lo, hi)
    if highest is not None:
        hi = bisect_right(ids, highest, lo, hi)
    return ids, lo, hi


class Facet:
    """Records that have one of several values of a field (usually one): a union of runs."""

    __slots__ = ("runs", "size")

    def __init__(self, runs: list[Run]) -> None:
        self.runs = [run for run in runs if run[2] > run[1]]
        self.size = sum(hi - lo for _ids, lo, hi in self.runs)

    def newest_first(self) -> Iterator[int]:
        if len(self.runs) == 1:
            return _descending(*self.runs[0])
        # One generator per run, each bound to its own run (a generator expression over the
        # runs would bind every one to the last run).
        return heapq.merge(*(_descending(*run) for run in self.runs), reverse=True)

    def __contains__(self, record_id: int) -> bool:
        for ids, lo, hi in self.runs:
            at = bisect_left(ids, record_id, lo, hi)
            if at < hi and ids[at] == record_id:
                return True
        return False


def _descending(ids: Sequence[int], lo: int, hi: int) -> Iterator[int]:
    return (ids[i] for i in range(hi - 1, lo - 1, -1))


def intersect(facets: list[Facet]) -> Iterator[int]:
    """Ids in every facet, newest first: the smallest facet is walked, the others probed."""
    if not facets:
        return iter(())
    facets = sorted(facets, key=lambda facet: facet.size)
    smallest, others = facets[0], facets[1:]
    if smallest.size == 0:
        return iter(())
    if not others:
        return smallest.newest_first()
    return (i for i in smallest.newest_first() if all(i in other for other in others))


class HashedIds:
    """Record ids by the hash of a value that is different on almost every record (the first
    record with each messageId): an open-addressing table in two arrays, 16 bytes a slot and no
    Python object per record, where a dict would hold a key, a value and an entry for each (and
    scatter them over the heap for as long as the record is stored). Linear probing; a slot is
    empty when its id is 0 (ids start at 1); deletion shifts the following entries back, so no
    tombstones pile up. One id per hash: the store keeps the repeats elsewhere."""

    __slots__ = ("_hashes", "_ids", "_mask", "_size")

    def __init__(self) -> None:
        self.clear()

    def __len__(self) -> int:
        return self._size

    def clear(self, capacity: int = 1024) -> None:
        self._hashes = array("q", bytes(8 * capacity))
        self._ids = array("q", bytes(8 * capacity))
        self._mask = capacity - 1
        self._size = 0

    def _slot(self, hashed: int) -> int:
        hashes, ids, mask = self._hashes, self._ids, self._mask
        slot = hashed & mask
        while ids[slot] and hashes[slot] != hashed:
            slot = (slot + 1) & mask
        return slot

    def get(self, hashed: int) -> int:
        """The id stored under this hash; 0 if none."""
        return self._ids[self._slot(hashed)]

    def set(self, hashed: int, record_id: int) -> None:
        """Store an id under this hash, in place of the one there was."""
        slot = self._slot(hashed)
        if not self._ids[slot]:
            if (self._size + 1) * 3 > (self._mask + 1) * 2:
                self._resize((self._mask + 1) * 2)
                slot = self._slot(hashed)
            self._size += 1
            self._hashes[slot] = hashed
        self._ids[slot] = record_id

    def remove(self, hashed: int) -> None:
        hashes, ids, mask = self._hashes, self._ids, self._mask
        hole = self._slot(hashed)
        if not ids[hole]:
            return
        self._size -= 1
        # Backward shift: move up each following entry whose probe started at or before the
        # hole, so every entry stays reachable from its home slot without a gap.
        probe = hole
        while True:
            probe = (probe + 1) & mask
            if not ids[probe]:
                break
            home = hashes[probe] & mask
            if (probe - home) & mask >= (probe - hole) & mask:
                hashes[hole], ids[hole] = hashes[probe], ids[probe]
                hole = probe
        ids[hole] = 0
        if self._mask > 1023 and self._size * 8 < self._mask + 1:
            self._resize(max(1024, (self._mask + 1) // 4))

    def _resize(self, capacity: int) -> None:
        entries = [(h, i) for h, i in zip(self._hashes, self._ids, strict=True) if i]
        self.clear(capacity)
        for hashed, record_id in entries:
            self.set(hashed, record_id)


ClassKey = tuple[Any, ...]


class Classes:
    """What calls alike share, interned as one "class" per combination: (type, write key,
    status, source, routing as ((destination id, status), ...)). An app's calls fall into a few
    dozen classes, so a record is in one posting list for all five fields, where five indexes
    would take five additions on arrival and five removals on eviction; the store keeps each
    record's class number beside it (4 bytes), so eviction needs no decoding to find it.

    A lookup by any of the five (or by destination and delivery status) reads the classes that
    match, one run each. A class is dropped with its last record, and its number reused."""

    __slots__ = ("_free", "_numbers", "keys", "postings")

    def __init__(self) -> None:
        self._numbers: dict[ClassKey, int] = {}
        self.keys: list[ClassKey | None] = []
        self._free: list[int] = []
        self.postings = Index()

    def add(self, key: ClassKey, record_id: int) -> int:
        number = self._numbers.get(key)
        if number is None:
            if self._free:
                number = self._free.pop()
                self.keys[number] = key
            else:
                number = len(self.keys)
                self.keys.append(key)
            self._numbers[key] = number
        self.postings.add(number, record_id)
        return number

    def drop_oldest(self, number: int, record_id: int) -> None:
        self.postings.drop_oldest(number, record_id)
        self._settle(number)

    def remove(self, number: int, record_ids: Sequence[int]) -> None:
        self.postings.remove(number, record_ids)
        self._settle(number)

    def _settle(self, number: int) -> None:
        if number not in self.postings.terms:
            key = self.keys[number]
            if key is not None:
                del self._numbers[key]
                self.keys[number] = None
                self._free.append(number)

    def count(self, number: int) -> int:
        return self.postings.count(number)

    def live(self) -> Iterator[tuple[int, ClassKey]]:
        """(number, key) of every class that has records."""
        for number, key in enumerate(self.keys):
            if key is not None:
                yield number, key

    def clear(self) -> None:
        self._numbers.clear()
        self.keys.clear()
        self._free.clear()
        self.postings.clear()

    def save(self, out: Writer, name: str) -> None:
        out.json(f"{name}.keys", self.keys)
        self.postings.save(out, f"{name}.postings")

    def restore(self, source: Reader, name: str) -> None:
        self.clear()
        for number, key in enumerate(source.json(f"{name}.keys")):
            if key is None:
                self.keys.append(None)
                self._free.append(number)
                continue
            # JSON gives lists: the key is a tuple again, its routing a tuple of pairs.
            *fields, routing = key
            restored = (*fields, tuple(tuple(pair) for pair in routing))
            self.keys.append(restored)
            self._numbers[restored] = number
        self.postings.restore(source, f"{name}.postings")


class TestedFacet(Facet):
    """A union of many runs (a lookup by class) whose membership is answered by a test of the
    record (its class is one of them) instead of a binary search in every run."""

    __slots__ = ("_test",)

    def __init__(self, runs: list[Run], test: Callable[[int], bool]) -> None:
        super().__init__(runs)
        self._test = test

    def __contains__(self, record_id: int) -> bool:
        return self._test(record_id)
