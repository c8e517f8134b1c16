"""Expectations judged live, as events arrive: those of `--expect FILE`, and the ad-hoc ones
typed into the assertions panel.

Each expectation counts its matches as records arrive (one `matches` per new record), so the
panel turns green the moment the event lands, whatever the log's size. The full verdict, with
its nearest misses, is the shared evaluator's (segemu/expectations.py) and is computed when
someone looks at it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from segemu.expectations import Expectation, Verdict, evaluate
from segemu.message import Record


@dataclass(slots=True)
class LiveExpectation:
    expectation: Expectation
    # "file" or "ad hoc": the panel says where each came from.
    origin: str
    count: int = 0
    # Routing is stored on each record; the requests a destination received are built when
    # read, about a millisecond each: only an expectation about a payload pays for that.
    needs_view: bool = field(init=False)

    def __post_init__(self) -> None:
        self.needs_view = self.expectation.reads_requests or self.expectation.reads_profile

    @property
    def passed(self) -> bool:
        wanted = self.expectation
        if wanted.times is not None:
            return self.count == wanted.times
        return self.count >= wanted.at_least

    def counts(self, record: Record) -> bool:
        wanted = self.expectation
        if wanted.write_key is not None and record["writeKey"] != wanted.write_key:
            return False
        return wanted.matches(record)


class Checks:
    def __init__(self, expectations: Iterable[Expectation] = ()) -> None:
        self.items = [LiveExpectation(e, "file") for e in expectations]
        # The record as every surface shows it (with deliveries), for expectations about them.
        self.view: Callable[[Record], Record] = lambda record: record

    def _scope(self, item: LiveExpectation, records: Iterable[Record]) -> Iterable[Record]:
        return map(self.view, records) if item.needs_view else records

    def add(self, records: list[Record]) -> bool:
        """Count newly arrived records; True if any expectation changed from fail to pass
        or back."""
        flipped = False
        for item in self.items:
            before = item.passed
            item.count += sum(1 for record in self._scope(item, records) if item.counts(record))
            flipped = flipped or before != item.passed
        return flipped

    def add_ad_hoc(self, expectation: Expectation, records: Iterable[Record]) -> LiveExpectation:
        item = LiveExpectation(expectation, "ad hoc")
        item.count = sum(1 for record in self._scope(item, records) if item.counts(record))
        self.items.append(item)
        return item

    def recount(self, records: Iterable[Record]) -> None:
        """Start over from these records (after a clear, or when records went away)."""
        everything = list(records)
        for item in self.items:
            item.count = sum(1 for record in self._scope(item, everything) if item.counts(record))

    def verdict(self, item: LiveExpectation, newest_first: Iterable[Record]) -> Verdict:
        wanted = item.expectation
        scope = (
            r
            for r in self._scope(item, newest_first)
            if wanted.write_key is None or r["writeKey"] == wanted.write_key
        )
        return evaluate(wanted, scope)

    @property
    def failing(self) -> int:
        return sum(1 for item in self.items if not item.passed)
