"""A computed trait's running state for one profile, and its value.

Each trait keeps what its value needs, updated call by call (Engage computes real-time traits
"as Segment receives new events": segment-docs engage/audiences/index.md §Real-time compute):
a count, a sum, the values seen with how often, the first and last value. A trait with a time
window also keeps the matching calls inside the window, oldest first, and forgets each one as
it leaves the window, so its value follows the clock even when no call arrives.

Values, per segment-docs engage/audiences/computed-traits.md:
- event_counter: the number of matching calls;
- sum / average / min / max: of the property's numeric values (other values are skipped: "you
  can only compute an aggregation trait for event properties that have a numeric value");
- most_frequent: the most common value, once some value was seen at least twice; a tie goes
  to "the first alphabetical value";
- first / last: the value of the earliest / latest matching call by its timestamp;
- unique_list / unique_list_count: the distinct values (in alphabetical order, segemu's
  choice: Segment does not document one) and how many there are.
A trait without any matching call has no value (None): the profile does not show it.
"""

from __future__ import annotations

import bisect
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

import orjson

from segemu.engage.config import (
    AGGREGATIONS,
    COUNTER,
    FIRST,
    LAST,
    MOST_FREQUENT,
    UNIQUE_LIST,
    UNIQUE_LIST_COUNT,
    ComputedTrait,
)

# How many matching calls a windowed trait keeps per profile; beyond it the oldest are
# forgotten early. Bounds memory whatever a client sends; a developer's session rarely nears it.
MAX_WINDOW_ENTRIES = 10_000
# How many distinct values a trait tracks per profile (unique lists, most frequent).
MAX_DISTINCT_VALUES = 1_000

# A value as a Counter key: JSON text, so that 1, 1.0 and true stay distinct, and lists and
# objects can be counted.
ValueKey = bytes


def value_key(value: Any) -> ValueKey:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


@dataclass(slots=True)
class TraitState:
    """One trait's state for one profile. `seen` is False until a call matched."""

    seen: bool = False
    count: int = 0
    total: float = 0.0
    numbers: int = 0
    values: Counter[ValueKey] = field(default_factory=Counter)
    # (timestamp, value key) of the earliest and latest call, when there is no window.
    first: tuple[float, ValueKey] | None = None
    last: tuple[float, ValueKey] | None = None
    # With a window: (timestamp, value key or None when the call had no value) of each
    # matching call in it, oldest first.
    entries: deque[tuple[float, ValueKey | None]] | None = None

    def add(self, trait: ComputedTrait, moment: float, value: Any, found: bool) -> None:
        key = value_key(value) if found and value is not None else None
        if trait.window is not None:
            if self.entries is None:
                self.entries = deque()
            entry = (moment, key)
            if not self.entries or self.entries[-1][0] <= moment:
                self.entries.append(entry)
            else:  # a call that arrived late: kept in timestamp order
                position = bisect.bisect_right(self.entries, moment, key=lambda e: e[0])
                self.entries.insert(position, entry)
            if len(self.entries) > MAX_WINDOW_ENTRIES:
                self._remove(self.entries.popleft())
        else:
            if key is not None:
                if self.first is None or moment < self.first[0]:
                    self.first = (moment, key)
                if self.last is None or moment >= self.last[0]:
                    self.last = (moment, key)
        self.seen = True
        self.count += 1
        if key is not None:
            self._count_value(key, value)

    def _count_value(self, key: ValueKey, value: Any) -> None:
        if isinstance(value, int | float) and not isinstance(value, bool):
            self.total += value
            self.numbers += 1
        if key in self.values or len(self.values) < MAX_DISTINCT_VALUES:
            self.values[key] += 1

    def expire(self, before: float) -> bool:
        """Forget the calls older than `before`; whether any was forgotten."""
        if not self.entries or self.entries[0][0] >= before:
            return False
        while self.entries and self.entries[0][0] < before:
            self._remove(self.entries.popleft())
        return True

    def next_expiry(self) -> float | None:
        """The timestamp of the oldest call still in the window: the value changes when it
        leaves."""
        return self.entries[0][0] if self.entries else None

    def _remove(self, entry: tuple[float, ValueKey | None]) -> None:
        self.count -= 1
        key = entry[1]
        if key is None:
            return
        value = orjson.loads(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            self.total -= value
            self.numbers -= 1
            if self.numbers == 0:
                self.total = 0.0  # no float residue once the window is empty
        if key in self.values:
            self.values[key] -= 1
            if self.values[key] <= 0:
                del self.values[key]

    def merge(self, trait: ComputedTrait, other: TraitState) -> None:
        """Take in the state of a profile merged into this one (segment-docs unify/
        identity-resolution: merged profiles are one profile from then on)."""
        if not other.seen:
            return
        if trait.window is not None:
            mine = list(self.entries or ())
            theirs = list(other.entries or ())
            self.count, self.total, self.numbers = 0, 0.0, 0
            self.values = Counter()
            self.entries = deque()
            self.seen = True
            for moment, key in sorted(mine + theirs, key=lambda e: e[0]):
                self.entries.append((moment, key))
                self.count += 1
                if key is not None:
                    self._count_value(key, orjson.loads(key))
            while len(self.entries) > MAX_WINDOW_ENTRIES:
                self._remove(self.entries.popleft())
            return
        self.seen = True
        self.count += other.count
        self.total += other.total
        self.numbers += other.numbers
        for key, times in other.values.items():
            if key in self.values or len(self.values) < MAX_DISTINCT_VALUES:
                self.values[key] += times
        if other.first is not None and (self.first is None or other.first[0] < self.first[0]):
            self.first = other.first
        if other.last is not None and (self.last is None or other.last[0] >= self.last[0]):
            self.last = other.last

    def value(self, trait: ComputedTrait) -> Any:
        """The trait's value now; None when no matching call counts."""
        if not self.seen:
            return None
        kind = trait.type
        if kind == COUNTER:
            return self.count
        if kind in AGGREGATIONS:
            return self._aggregate(kind)
        if kind == MOST_FREQUENT:
            return self._most_frequent()
        if kind in (FIRST, LAST):
            return self._first_or_last(kind)
        distinct = sorted(self.values, key=_sort_key)
        if kind == UNIQUE_LIST:
            return [orjson.loads(key) for key in distinct]
        assert kind == UNIQUE_LIST_COUNT
        return len(distinct)

    def _aggregate(self, kind: str) -> Any:
        if self.numbers == 0:
            return None
        if kind == "sum":
            return _tidy(self.total)
        if kind == "average":
            return _tidy(self.total / self.numbers)
        numbers = [
            value
            for value in map(orjson.loads, self.values)
            if isinstance(value, int | float) and not isinstance(value, bool)
        ]
        if not numbers:
            return None
        return min(numbers) if kind == "min" else max(numbers)

    def _most_frequent(self) -> Any:
        if not self.values:
            return None
        top = max(self.values.values())
        if top < 2:  # computed-traits.md: "requires the event property to have been tracked
            return None  # at least twice"
        tied = [key for key, times in self.values.items() if times == top]
        return orjson.loads(min(tied, key=_sort_key))

    def _first_or_last(self, kind: str) -> Any:
        if self.entries is not None:
            ordered = self.entries if kind == FIRST else reversed(self.entries)
            key = next((key for _, key in ordered if key is not None), None)
            return None if key is None else orjson.loads(key)
        edge = self.first if kind == FIRST else self.last
        return None if edge is None else orjson.loads(edge[1])


def _sort_key(key: ValueKey) -> tuple[int, Any]:
    """Alphabetical for text, numeric for numbers, numbers before text, then the rest."""
    value = orjson.loads(key)
    if isinstance(value, str):
        return (1, value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (0, value)
    return (2, key.decode())


def _tidy(number: float) -> int | float:
    """A sum of whole numbers is shown as a whole number, as the values were."""
    rounded = round(number, 10)
    return int(rounded) if rounded == int(rounded) and abs(rounded) < 2**53 else rounded
