"""Replaying calls to a Tracking API: batches in flight at once, a rate, write keys mapped, a
checkpoint to take up again after an interruption, and a summary of what became of each call.

The checkpoint is the number of input calls before which every call has been answered for
(sent, refused or given up on). After an interruption, the calls from there on are sent again:
those of the batches that were in flight may arrive twice, with their messageIds, which
Segment (and segemu) deduplicate (DOCS guides/duplicate-data.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson

from segemu.traffic.calls import Call
from segemu.traffic.shipping import Batch, Batcher, Shipper

# Refusals kept for the summary: enough to see what went wrong.
ERRORS_KEPT = 5


@dataclass(slots=True)
class Summary:
    sent: int = 0
    refused: int = 0
    failed: int = 0
    # Calls without a write key after mapping: not sent.
    no_write_key: int = 0
    # Retries of a batch (each retry of a batch of n calls counts n).
    retried: int = 0
    batches: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def answered(self) -> int:
        return self.sent + self.refused + self.failed + self.no_write_key

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class KeyMap:
    """Which write key each call goes with: `--write-key` for all, `--map-key old=new` for
    some, else the call's own."""

    mapping: Mapping[str, str] = field(default_factory=dict)
    default: str | None = None
    override: str | None = None

    def __call__(self, call: Call) -> str | None:
        if self.override:
            return self.override
        own = call.own_write_key
        if own is not None:
            return self.mapping.get(own, own)
        return self.default


class ReplayState:
    """The checkpoint file: which input, to where, and how many calls are done."""

    def __init__(self, path: Path, source: str, target: str) -> None:
        self.path = path
        self.source = source
        self.target = target

    def load(self) -> int:
        """Calls done by an earlier, interrupted run of the same replay; 0 if none."""
        try:
            data = orjson.loads(self.path.read_bytes())
        except (OSError, orjson.JSONDecodeError):
            return 0
        if (
            not isinstance(data, dict)
            or data.get("source") != self.source
            or data.get("target") != self.target
        ):
            return 0
        done = data.get("done")
        return done if isinstance(done, int) and done > 0 else 0

    def save(self, done: int, complete: bool = False) -> None:
        body = {"source": self.source, "target": self.target, "done": done, "complete": complete}
        temporary = self.path.with_name(self.path.name + ".tmp")
        temporary.write_bytes(orjson.dumps(body))
        os.replace(temporary, self.path)

    def clear(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


Progress = Callable[[int], None]


async def replay(
    calls: Iterable[Call],
    shipper: Shipper,
    keys: KeyMap,
    *,
    batch_size: int = 100,
    concurrency: int = 4,
    rate: float | None = None,
    skip: int = 0,
    on_progress: Progress | None = None,
    on_checkpoint: Callable[[int], None] | None = None,
) -> Summary:
    """Ship `calls` (the first `skip` are passed over: a resumed replay); returns the summary.
    `on_progress` hears how many calls were answered for, `on_checkpoint` the checkpoint."""
    summary = Summary(skipped=skip)
    batcher = Batcher(batch_size)
    slots = asyncio.Semaphore(concurrency)
    in_flight: dict[int, Batch] = {}
    tasks: set[asyncio.Task[None]] = set()
    started = time.monotonic()
    queued = 0  # calls handed to batches so far, for the rate
    position = skip
    last_checkpoint = skip

    def checkpoint() -> None:
        nonlocal last_checkpoint
        lows = [batch.tags[0] for batch in in_flight.values()]
        lowest = batcher.lowest_tag()
        if lowest is not None:
            lows.append(lowest)
        done = min(lows) if lows else position
        if done > last_checkpoint:
            last_checkpoint = done
            if on_checkpoint is not None:
                on_checkpoint(done)

    async def run(number: int, batch: Batch) -> None:
        try:
            count = len(batch.items)

            def retried(attempt: int, detail: str) -> None:
                summary.retried += count

            shipment = await shipper.ship(batch.write_key, batch.body(), retried)
        finally:
            slots.release()
        # Only an answered batch leaves `in_flight`: one cancelled by an interruption holds
        # the checkpoint back, so the next run sends it again.
        del in_flight[number]
        summary.batches += 1
        if shipment.outcome == "sent":
            summary.sent += count
        else:
            if shipment.outcome == "refused":
                summary.refused += count
            else:
                summary.failed += count
            if len(summary.errors) < ERRORS_KEPT:
                summary.errors.append(
                    f"{count} call(s) of {batch.write_key!r} {shipment.outcome}: {shipment.detail}"
                )
        if on_progress is not None:
            on_progress(count)
        checkpoint()

    async def dispatch(batch: Batch) -> None:
        nonlocal queued
        number = id(batch)
        # Counted as in flight while it waits for a slot: the checkpoint must not pass it.
        in_flight[number] = batch
        await slots.acquire()
        if rate:
            # Paced by batch: the batch leaves when the calls before it have had their time.
            due = started + queued / rate
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        queued += len(batch.items)
        task = asyncio.create_task(run(number, batch))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    try:
        for index, call in enumerate(calls):
            if index < skip:
                continue
            position = index + 1
            write_key = keys(call)
            if write_key is None:
                summary.no_write_key += 1
                if on_progress is not None:
                    on_progress(1)
                continue
            for full in batcher.add(write_key, call.encoded(), index):
                await dispatch(full)
            if not in_flight and batcher.lowest_tag() is None:
                checkpoint()
        for batch in list(batcher.rest()):
            await dispatch(batch)
        while tasks:
            await asyncio.gather(*tasks)
        checkpoint()
    finally:
        for task in tasks:
            task.cancel()
        summary.seconds = time.monotonic() - started
    return summary
