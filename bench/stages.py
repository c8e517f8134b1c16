"""What each pipeline stage costs per call: prints microseconds per stage, passes nothing.

    python bench/stages.py [--calls 20000] [--rounds 3]

segemu's default configuration (lint on, the default destinations, a durable store in a
temporary directory), in process, without HTTP: the calls are shaped like analytics-python's
(reference/sdk-captures/python.json), with a few event names, as an app sends them. Each stage
runs over every call of a round before the next stage starts, in the pipeline's order, so the
figure of a stage is its own cost, with the garbage collector paused as `segemu run` pauses it.
The best of the rounds is printed. The figures are CPU time of this process, so that they hold
on a machine busy with other work (wall-clock time would count the waits for a core).
"""

from __future__ import annotations

import argparse
import gc
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from segemu.emulator import Emulator, create_emulator
from segemu.message import Envelope, Record, format_timestamp
from segemu.sources import Source

NAMES = ("Order Completed", "Product Viewed", "Signed Up", "Checkout Started", "Page Scrolled")


def calls(count: int) -> list[dict[str, Any]]:
    return [
        {
            "type": "track",
            "event": NAMES[number % len(NAMES)],
            "userId": f"user-{number % 500}",
            "messageId": str(uuid.uuid4()),
            "timestamp": "2026-11-22T04:21:28.648364+00:00",
            "properties": {"revenue": 42.5, "currency": "USD", "order_id": f"o-{number}"},
            "context": {"library": {"name": "analytics-python", "version": "2.3.3"}},
            "integrations": {},
        }
        for number in range(count)
    ]


def timed(label: str, count: int, figures: dict[str, float], run: Callable[[], None]) -> None:
    # `segemu run` collects garbage on a timer of its own, not in the middle of a request
    # (segemu/cli/gc.py): the stages are timed the same way.
    gc.collect()
    gc.disable()
    try:
        started = time.process_time()
        run()
    finally:
        gc.enable()
    micros = (time.process_time() - started) / count * 1e6
    figures[label] = min(figures.get(label, float("inf")), micros)


def one_round(emulator: Emulator, count: int, figures: dict[str, float]) -> None:
    pipeline = emulator.pipeline
    envelope = Envelope(
        route="/v1/batch",
        items=calls(count),
        received_at=datetime.now(UTC),
        header_write_key="bench_write_key",
    )
    received_at = format_timestamp(envelope.received_at)
    records: list[Record] = []
    sources: list[Source | None] = []

    def normalize() -> None:
        records.extend(
            pipeline._normalize(item, envelope, received_at, None) for item in envelope.items
        )

    def dedupe() -> None:
        for record in records:
            pipeline.dedupe(record, envelope)

    def source() -> None:
        sources.extend(pipeline._source(record, envelope.source) for record in records)

    def tracking_plan() -> None:
        for record, found in zip(records, sources, strict=True):
            if found is not None:
                pipeline.protocols.check(record, found)

    def identity() -> None:
        if pipeline.identity is not None:
            for record, found in zip(records, sources, strict=True):
                if found is not None:
                    pipeline.identity(record)

    def engage() -> None:
        if pipeline.engage is not None:
            for record, found in zip(records, sources, strict=True):
                if found is not None:
                    pipeline.engage(record)

    def routing() -> None:
        for record, found in zip(records, sources, strict=True):
            if found is not None:
                record["routing"] = pipeline.destinations.route(record, found)

    def store() -> None:
        for record in records:
            pipeline.store.add(record)

    def notify() -> None:
        if pipeline.notify is not None:
            pipeline.notify(records)

    for label, stage in (
        ("normalize", normalize),
        ("dedupe", dedupe),
        ("source", source),
        ("tracking plan + lint", tracking_plan),
        ("identity", identity),
        ("engage (none configured)", engage),
        ("routing", routing),
        ("store", store),
        ("notify", notify),
    ):
        timed(label, count, figures, stage)

    def flush() -> None:
        emulator.store.flush()

    timed("flush (to disk, off the loop)", count, figures, flush)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as folder:
        emulator = create_emulator(db=str(Path(folder) / "db"))
        destinations = ", ".join(d.id for d in emulator.destinations.current)
        for _ in range(options.rounds):
            one_round(emulator, options.calls, figures)
        emulator.store.close()
    print(f"per-stage cost, best of {options.rounds} rounds of {options.calls:,} calls")
    print(f"destinations: {destinations}")
    ingest = 0.0
    for label, micros in figures.items():
        print(f"  {label:<32}{micros:8.2f} us/call")
        if not label.startswith("flush"):
            ingest += micros
    print(f"  {'ingest (all stages but flush)':<32}{ingest:8.2f} us/call")


if __name__ == "__main__":
    main()
