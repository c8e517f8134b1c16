"""Loading calls into a store through the pipeline: what `segemu import` does, so that a stored
call is exactly what the Tracking API would have stored.

Each call keeps the envelope it came with (write key, time of arrival, route, what its batch
lent it). A messageId already in the store is skipped, so importing a file twice changes
nothing. Live deliveries (Webhook destinations) do not run: importing history sends nothing.

It is bulk work, and three things make it cheaper than a call at a time (bench/traffic.py):
- consecutive calls that share their envelope (a plain call file: all of them) go through the
  pipeline together, as one request of up to BATCH_CALLS would, which pays what the pipeline
  does per request (timestamp, notify) once per batch;
- the progress callback hears once per batch, not once per call;
- the cyclic garbage collector is paused while the store fills up (collect_young).
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from segemu.collector import collector_paused
from segemu.emulator import Emulator
from segemu.message import Channel, Envelope
from segemu.pipeline import MAX_BATCH_EVENTS
from segemu.store import CHUNK_SIZE
from segemu.traffic.calls import CLIENT_ROUTES, IMPORT_ROUTE, Call, precise_received_at

# Calls imported between two writes of the store: a hard kill loses at most these, and the
# store holds at most these as whole records until written (then only their compact form).
FLUSH_EVERY = CHUNK_SIZE
# Calls given to the pipeline as one request: a batch well within Segment's limit (the
# pipeline drops a larger one, as Segment does), and half a flush window.
BATCH_CALLS = 500
assert BATCH_CALLS <= MAX_BATCH_EVENTS


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


def collect_young() -> None:
    """What the pipeline leaves behind, while the collector is paused for an import.

    Every stored record is a handful of long-lived containers, and CPython's automatic full
    collections walk all of them each time the heap has grown by a quarter: a cost that grows
    with the store, about a tenth of an import's time at 50,000 calls (bench/traffic.py). So
    the collector is paused (segemu/collector.py) and the young generations, where the
    pipeline's garbage is, are collected at each flush instead: memory stays as it was.
    `segemu run` does the same on a timer (segemu/cli/gc.py). In an embedding process
    (pytest), the import is a pause like any long call."""
    gc.collect(1)


# What a call's request held: the calls of one batch share all of it.
_Shape = tuple[datetime, str, str, str | None, Any, Any, Any, Channel]


def import_calls(
    emulator: Emulator,
    calls: Iterable[Call],
    write_key: str | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> ImportSummary:
    summary = ImportSummary()
    store = emulator.store
    now = datetime.now(UTC)
    # A call that makes Segment forward calls (violations, blocked calls, Engage's audience
    # calls) has them run after its whole request: batching would move them in the store.
    limit = 1 if _forwards(emulator) else BATCH_CALLS
    items: list[Any] = []
    # The messageIds of `items`: a repeat within the batch is skipped like one in the store.
    pending_ids: set[str] = set()
    shape: _Shape | None = None
    unreported = 0  # calls read since the progress callback last heard
    unflushed = 0  # calls ingested since the last write

    def ingest() -> None:
        nonlocal unreported, unflushed
        assert shape is not None
        received_at, route, key, route_type, sent_at, context, integrations, channel = shape
        envelope = Envelope(
            route=route,
            items=items[:],
            received_at=received_at,
            route_type=route_type,
            header_write_key=key,
            sent_at=sent_at,
            context=context,
            integrations=integrations,
            channel=channel,
        )
        statuses = summary.statuses
        for record in emulator.ingest(envelope):
            statuses[record["status"]] += 1
        summary.imported += len(items)
        unflushed += len(items)
        items.clear()
        pending_ids.clear()
        if unflushed >= FLUSH_EVERY:
            store.flush()
            collect_young()
            unflushed = 0
        if on_progress is not None:
            on_progress(unreported)
            unreported = 0

    with collector_paused():
        for call in calls:
            unreported += 1
            message_id = call.message_id
            if message_id is not None and (
                message_id in pending_ids or store.first_with_message_id(message_id) is not None
            ):
                summary.skipped += 1
                continue
            key = call.own_write_key or write_key
            if key is None:
                summary.refused += 1
                continue
            route = call.route or IMPORT_ROUTE
            call_shape: _Shape = (
                precise_received_at(call) or now,
                route,
                key,
                call.route_type,
                call.sent_at,
                call.context,
                call.integrations,
                call.channel or ("client" if route in CLIENT_ROUTES else "server"),
            )
            if items and call_shape != shape:
                ingest()
            shape = call_shape
            items.append(call.item)
            if message_id is not None:
                pending_ids.add(message_id)
            if len(items) >= limit:
                ingest()
            elif unreported >= BATCH_CALLS and on_progress is not None:
                # Skipped or refused calls, or a batch cut short: the bar still moves.
                on_progress(unreported)
                unreported = 0
        if items:
            ingest()
        if unreported and on_progress is not None:
            on_progress(unreported)
    return summary


def _forwards(emulator: Emulator) -> bool:
    if emulator.engage.enabled:
        return True
    for source in emulator.sources.all:
        settings = emulator.protocols.settings_for(source.name)
        if settings.forward_violations_to is not None or settings.forward_blocked_to is not None:
            return True
    return False
