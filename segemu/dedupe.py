"""The dedupe stage: messageId duplicates, and how a call arrived (SDK retries, re-sends and
arrival order), decided in one place and written onto the record once.

- Duplicates: Segment dedupes by messageId across all sources (DOCS guides/duplicate-data.md).
  A retry is kept, marked as a duplicate of the first call, so it stays visible; the reason
  says which retry it was and why it came.

- Retries: analytics-next, analytics-node and analytics-python send a failed request again
  with the same messageIds and `X-Retry-Count: n`; analytics-next also puts
  `_metadata.retryCount` in each event (sdk-captures/README.md "Retries";
  plugins/segmentio/normalize.ts). Segment dedupes by messageId (DOCS guides/duplicate-data.md):
  a retry whose first attempt had arrived is stored as a duplicate that says which retry it was.
- Re-sends: analytics-next moves the events still in flight when a page is left into
  localStorage and sends them again on the next page load, same messageId
  (plugins/segmentio/index.ts `pagehide`, lib/priority-queue/persisted.ts). If the first
  attempt had arrived after all, the re-send is a duplicate, from a browser route.
- Order: analytics-next sends each call in its own concurrent request, so calls arrive in
  another order than they were made (sdk-captures/README.md). Segment orders by timestamp; a
  browser call that arrives after a call the same browser made later is marked, so the
  arrival order of a listing does not mislead.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from segemu.message import Arrival, Envelope, Record, parse_timestamp

if TYPE_CHECKING:
    from segemu.store import EventStore

# Browsers whose latest call is remembered for the order check: a bound on memory.
REMEMBERED_BROWSERS = 10_000


class Dedupe:
    def __init__(self, store: EventStore, remembered: int = REMEMBERED_BROWSERS) -> None:
        self.store = store
        self.remembered = remembered
        # (writeKey, anonymousId or userId) -> (client time, record id) of the latest call.
        self._latest: OrderedDict[tuple[str | None, str], tuple[datetime, int]] = OrderedDict()

    def __call__(
        self, record: Record, envelope: Envelope, earlier: Mapping[Any, Record] | None = None
    ) -> None:
        """Mark a duplicate messageId (status, reason, duplicateOf) and set `arrival`.
        `earlier`: the first call of each messageId among the calls of this request before
        this one, which are not stored yet (pipeline.py runs the request stage by stage)."""
        client = envelope.channel == "client"
        # Calls Protocols forwards keep the messageId of the call they came from: the same
        # call on another source, not a retry.
        first = None
        if not envelope.forwarded and record["status"] == "accepted":
            first = self.store.first_with_message_id(record["messageId"])
            if first is None and earlier:
                first = earlier.get(record["messageId"])
        if first is not None:
            record["status"] = "duplicate"
            record["duplicateOf"] = first["id"]
            record["reason"] = _duplicate_reason(first["id"], envelope.retry_count, client)
        elif not client and envelope.retry_count is None:
            return  # the server SDKs' common case: nothing to say
        arrival: Arrival = {}
        retry = envelope.retry_count or (_metadata_retry_count(record) if client else None)
        if retry:
            arrival["retryCount"] = retry
        if client and record["status"] == "accepted":
            self._check_order(record, arrival)
        if arrival:
            record["arrival"] = arrival

    def forget(self) -> None:
        """Every call is gone (a reset): no browser's latest call is remembered."""
        self._latest.clear()

    def _check_order(self, record: Record, arrival: Arrival) -> None:
        event = record["event"]
        browser = event.get("anonymousId") or event.get("userId")
        moment = parse_timestamp(event.get("originalTimestamp"))
        if not isinstance(browser, str) or moment is None:
            return
        key = (record["writeKey"], browser)
        latest = self._latest.get(key)
        if latest is not None and moment < latest[0]:
            later_by = (latest[0] - moment).total_seconds() * 1000
            arrival["outOfOrder"] = latest[1]
            arrival["note"] = (
                f"arrived after record {latest[1]}, which this browser called "
                f"{later_by:.0f} ms later; Segment orders calls by timestamp"
            )
            return
        self._latest[key] = (moment, record["id"])
        self._latest.move_to_end(key)
        while len(self._latest) > self.remembered:
            self._latest.popitem(last=False)


def _duplicate_reason(first: int, retry: int | None, client: bool) -> str:
    """Why a call with a known messageId came again. A browser sends one again in two cases
    that look alike on the wire (X-Retry-Count from analytics-next 1.84 on, none before): a
    retry after a failed request, and the re-send on the next page load of a call that was
    still in flight when a page was left (the attempt count survives in localStorage)."""
    which = (
        f"retry {retry} (X-Retry-Count) of record {first}"
        if retry
        else (f"the messageId of record {first}, sent again")
    )
    if client:
        why = (
            "analytics.js got no answer to it: a failed request, or a page left before the "
            "answer came, whose calls it re-sends on the next page load"
        )
        return f"{which}: {why}; Segment keeps only the first call with a messageId"
    return f"{which}; Segment keeps only the first call with a messageId"


def _metadata_retry_count(record: Record) -> int | None:
    raw = record["raw"]
    metadata = raw.get("_metadata") if isinstance(raw, dict) else None
    count = metadata.get("retryCount") if isinstance(metadata, dict) else None
    if isinstance(count, int) and not isinstance(count, bool) and count > 0:
        return count
    return None
