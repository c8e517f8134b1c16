"""Loading calls into a store through the pipeline: what `segemu import` does, a call at a
time, so that a stored call is exactly what the Tracking API would have stored.

Each call keeps the envelope it came with (write key, time of arrival, route, what its batch
lent it). A messageId already in the store is skipped, so importing a file twice changes
nothing. Live deliveries (Webhook destinations) do not run: importing history sends nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from segemu.emulator import Emulator
from segemu.message import Envelope
from segemu.store import CHUNK_SIZE
from segemu.traffic.calls import CLIENT_ROUTES, IMPORT_ROUTE, Call, precise_received_at

# Calls imported between two writes of the store: a hard kill loses at most these, and the
# store holds at most these as whole records until written (then only their compact form).
FLUSH_EVERY = CHUNK_SIZE


@dataclass(slots=True)
class ImportSummary:
    imported: int = 0
    # Already in the store (same messageId).
    skipped: int = 0
    # No write key: the Tracking API answers such a call 400.
    refused: int = 0
    statuses: dict[str, int] = field(
        default_factory=lambda: {"accepted": 0, "rejected": 0, "duplicate": 0}
    )


def import_calls(
    emulator: Emulator,
    calls: Iterable[Call],
    write_key: str | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> ImportSummary:
    summary = ImportSummary()
    store = emulator.store
    now = datetime.now(UTC)
    for call in calls:
        if on_progress is not None:
            on_progress(1)
        message_id = call.message_id
        if message_id is not None and store.first_with_message_id(message_id) is not None:
            summary.skipped += 1
            continue
        key = call.own_write_key or write_key
        if key is None:
            summary.refused += 1
            continue
        route = call.route or IMPORT_ROUTE
        envelope = Envelope(
            route=route,
            items=[call.item],
            received_at=precise_received_at(call) or now,
            route_type=call.route_type,
            header_write_key=key,
            sent_at=call.sent_at,
            context=call.context,
            integrations=call.integrations,
            channel=call.channel or ("client" if route in CLIENT_ROUTES else "server"),
        )
        for record in emulator.ingest(envelope):
            summary.statuses[record["status"]] += 1
        summary.imported += 1
        if summary.imported % FLUSH_EVERY == 0:
            store.flush()
    return summary
