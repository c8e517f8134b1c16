"""The stages one call goes through after the HTTP layer, in Segment's order.

Today: normalize (message.py), the batch-size rule, messageId dedupe, the tracking plan and
lint rules (protocols/), store. Identity and routing to destinations slot in between dedupe
and store.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from segemu.arrival import ArrivalTracker
from segemu.message import Envelope, Normalized, Record, format_timestamp, normalize
from segemu.sources import Sources
from segemu.store import EventStore

if TYPE_CHECKING:
    from segemu.protocols import Protocols

# DOCS http-api §Errors: a batch of more than 2,500 events is accepted with a 200 and dropped.
# segemu drops the whole batch the same way and stores each item as rejected, with the reason.
MAX_BATCH_EVENTS = 2500


class Pipeline:
    def __init__(
        self, store: EventStore, sources: Sources | None = None, protocols: Protocols | None = None
    ) -> None:
        self.store = store
        self.sources = sources or Sources([])
        self.arrivals = ArrivalTracker()
        self.protocols = protocols

    def process(self, envelope: Envelope) -> list[Record]:
        received_at = format_timestamp(envelope.received_at)
        oversized = len(envelope.items) > MAX_BATCH_EVENTS
        records: list[Record] = []
        for item in envelope.items:
            normalized = normalize(item, envelope, received_at)
            if oversized:
                normalized.reason = (
                    f"batch has {len(envelope.items):,} events; Segment drops batches of more "
                    f"than {MAX_BATCH_EVENTS:,}"
                )
            record = self._record(normalized, envelope, received_at)
            self.arrivals.note(record, envelope)
            self.store.add(record)
            records.append(record)
        if self.protocols is not None:
            # "Violation Generated" calls go to the source named by forwardingViolationsTo,
            # as new calls of that source (DOCS protocols/validate/forward-violations.md).
            for forwarded in self.protocols.take_forwarded():
                records.extend(self.process(forwarded))
        return records

    def _record(self, normalized: Normalized, envelope: Envelope, received_at: str) -> Record:
        record: Record = {
            "id": self.store.allocate_id(),
            "messageId": normalized.message_id,
            "writeKey": normalized.write_key,
            "type": normalized.type,
            "status": "accepted",
            "reason": normalized.reason,
            "receivedAt": received_at,
            "route": envelope.route,
            "raw": normalized.raw,
            "event": normalized.event,
            "warnings": normalized.warnings,
        }
        if record["reason"] is not None:
            record["status"] = "rejected"
            return record
        source = self.sources.for_write_key(normalized.write_key)
        if source is None:
            record["status"] = "rejected"
            record["reason"] = self.sources.unknown_key_reason(normalized.write_key)
            return record
        record["source"] = source.name
        # DOCS guides/duplicate-data.md: Segment dedupes by messageId across all sources. A retry
        # is kept, marked as a duplicate of the first call, so it stays visible.
        first = (
            None if envelope.forwarded else self.store.first_with_message_id(normalized.message_id)
        )
        if first is not None:
            record["status"] = "duplicate"
            record["reason"] = f"duplicate messageId; first received as record {first['id']}"
            record["duplicateOf"] = first["id"]
        elif self.protocols is not None:
            # Protocols: the tracking plan (violations, block / omit) and the lint rules.
            self.protocols.check(record, source)
        return record
