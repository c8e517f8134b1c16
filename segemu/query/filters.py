"""The structured filters of the control API (EventFilter), and select() that applies them."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import islice

from segemu.message import Record, parse_timestamp
from segemu.query.parser import Query


@dataclass(frozen=True, slots=True)
class EventFilter:
    type: str | None = None
    event: str | None = None
    user_id: str | None = None
    anonymous_id: str | None = None
    write_key: str | None = None
    status: str | None = None
    # Bounds on receivedAt, inclusive.
    since: datetime | None = None
    until: datetime | None = None
    # Only records with a smaller id: the paging cursor (ids grow with arrival).
    before_id: int | None = None
    query: Query | None = None

    @property
    def reads_requests(self) -> bool:
        """Whether matching needs what destinations received (built when read)."""
        return self.query is not None and self.query.reads_requests

    @property
    def reads_profile(self) -> bool:
        """Whether matching reads the call's profile (`profile.` paths), looked up when read."""
        return self.query is not None and self.query.reads_profile

    @property
    def reads_view(self) -> bool:
        return self.reads_requests or self.reads_profile

    @property
    def answered_by_indexes(self) -> bool:
        """Whether every record the store's indexes give for this filter matches it
        (Emulator._pinned_ids), so that counting them needs no record decoded. True for the
        structured filters on a record's own fields (type, writeKey, status; `before_id`
        bounds the ids) and a query of pins alone on other fields. Not for the event's name
        and ids as structured filters, which must equal the text while the index also holds
        calls whose value is a list with it (as the query matches them), nor for receivedAt
        bounds (the index reads them to the millisecond)."""
        if self.event is not None or self.user_id is not None or self.anonymous_id is not None:
            return False
        if self.since is not None or self.until is not None:
            return False
        if self.query is None:
            return True
        # A structured filter wins over a pin on the same field, which the index then ignores.
        structured = {"type": self.type, "write_key": self.write_key, "status": self.status}
        return self.query.only_pins and not any(
            structured.get(field) is not None for field in self.query.pins
        )

    def matches(self, record: Record) -> bool:
        event = record["event"]
        if self.type is not None and record["type"] != self.type:
            return False
        if self.event is not None and event.get("event") != self.event:
            return False
        if self.user_id is not None and event.get("userId") != self.user_id:
            return False
        if self.anonymous_id is not None and event.get("anonymousId") != self.anonymous_id:
            return False
        if self.write_key is not None and record["writeKey"] != self.write_key:
            return False
        if self.status is not None and record["status"] != self.status:
            return False
        if self.before_id is not None and record["id"] >= self.before_id:
            return False
        if self.since is not None or self.until is not None:
            received = parse_timestamp(record["receivedAt"])
            if received is None:
                return False
            if self.since is not None and received < self.since:
                return False
            if self.until is not None and received > self.until:
                return False
        # Last: the structured filters above are cheaper than most queries.
        return self.query is None or self.query.matches(record)


def select(records: Iterable[Record], where: EventFilter, limit: int | None = None) -> list[Record]:
    matching: Iterator[Record] = (r for r in records if where.matches(r))
    return list(islice(matching, limit) if limit is not None else matching)
