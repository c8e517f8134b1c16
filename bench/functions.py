"""Functions benchmark: prints figures, passes or fails nothing.

    python bench/functions.py [--calls 4000] [--workers 2]

Three figures, each in an in-process emulator with real Node workers:

1. warm invocation latency: a trivial onTrack, invoked one at a time through the pool
   (what a function adds to one call's delivery), p50 and p95;
2. ingest while slow functions run: 200 deliveries to a function that awaits 1 s are in
   flight while 2,000 other calls are ingested one by one; the ingest latency of those calls,
   p50 and max, next to the same with no function at all;
3. throughput: `--calls` track calls ingested in batches of 100 and routed to a Destination
   Function, timed from the first ingest until every delivery is `delivered`.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from segemu.emulator import Emulator, create_emulator
from segemu.message import Envelope
from segemu.query import EventFilter, parse_query

FAST = "async function onTrack(event, settings) { return { ok: event.event } }\n"
SLOW = (
    "async function onTrack(event) {\n"
    "  if (event.event === 'Slow') { await new Promise((r) => setTimeout(r, 1000)) }\n"
    "  return 1\n"
    "}\n"
)


def calls(count: int, name: str = "Fast") -> Envelope:
    return Envelope(
        route="/v1/batch",
        received_at=datetime.now(UTC),
        items=[
            {"type": "track", "event": name, "userId": f"u{i}", "writeKey": "wk"}
            for i in range(count)
        ],
    )


async def emulator_with(code: str, workdir: Path, workers: int) -> Emulator:
    path = workdir / "fn.js"
    path.write_text(code)
    emulator = create_emulator(
        db=":memory:",
        retention=1_000_000,
        destinations={"fn": {"function": str(path)}},
        functions={"workers": workers},
    )
    await emulator.start()
    return emulator


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def warm_latency(workdir: Path, workers: int) -> None:
    emulator = await emulator_with(FAST, workdir, workers)
    try:
        destination = emulator.destinations.get("fn")
        assert destination is not None
        assert destination.functions is not None
        file = destination.functions.function
        assert file is not None
        event = {"type": "track", "event": "Fast", "userId": "u1", "properties": {"a": 1}}
        for _ in range(200):  # warm up: the context, V8's JIT
            await emulator.functions.invoke(file, "onTrack", [event])
        timings = []
        for _ in range(2000):
            started = time.perf_counter()
            await emulator.functions.invoke(file, "onTrack", [event])
            timings.append((time.perf_counter() - started) * 1000)
    finally:
        await emulator.close()
    print(
        f"warm invocation (one at a time, 2,000): p50 {statistics.median(timings):.3f} ms, "
        f"p95 {pct(timings, 0.95):.3f} ms"
    )


async def ingest_latency(emulator: Emulator, count: int) -> list[float]:
    timings = []
    for _ in range(count):
        started = time.perf_counter()
        emulator.ingest(calls(1))
        timings.append((time.perf_counter() - started) * 1000)
        await asyncio.sleep(0)  # let the delivery worker and the pool's readers run
    return timings


async def slow_functions(workdir: Path, workers: int) -> None:
    baseline = create_emulator(db=":memory:", retention=1_000_000, destinations={"mixpanel": {}})
    await baseline.start()
    try:
        plain = await ingest_latency(baseline, 2000)
    finally:
        await baseline.close()
    emulator = await emulator_with(SLOW, workdir, workers)
    try:
        emulator.ingest(calls(200, "Slow"))
        slow_started = time.perf_counter()
        timings = await ingest_latency(emulator, 2000)
        during = time.perf_counter() - slow_started
        fast = EventFilter(query=parse_query("event:Fast deliveries.fn.status:delivered"))
        await emulator.wait_for(fast, 2000, timeout=60)
        fast_done = time.perf_counter() - slow_started
        slow = EventFilter(query=parse_query("event:Slow deliveries.fn.status:delivered"))
        await emulator.wait_for(slow, 200, timeout=60)
        slow_done = time.perf_counter() - slow_started
    finally:
        await emulator.close()
    print(
        f"ingest of 2,000 calls, no function:                  p50 "
        f"{statistics.median(plain):.3f} ms, max {max(plain):.3f} ms"
    )
    print(
        f"ingest of 2,000 calls, 200 slow (1 s) functions busy: p50 "
        f"{statistics.median(timings):.3f} ms, max {max(timings):.3f} ms "
        f"(ingested in {during:.2f} s; their 2,000 fast deliveries done at {fast_done:.2f} s, "
        f"the 200 slow ones at {slow_done:.2f} s)"
    )


async def throughput(workdir: Path, workers: int, count: int) -> None:
    emulator = await emulator_with(FAST, workdir, workers)
    # Counted as the delivery worker reports each outcome: a wait_for would add the cost of
    # matching a query against every update, which is the waiter's, not the function's.
    finished = asyncio.Event()
    delivered = 0
    report = emulator._delivery.on_update

    def on_update(live: Any) -> None:
        nonlocal delivered
        report(live)
        if live.status == "delivered":
            delivered += 1
            if delivered >= count:
                finished.set()

    emulator._delivery.on_update = on_update
    try:
        started = time.perf_counter()
        for _ in range(count // 100):
            emulator.ingest(calls(100))
            await asyncio.sleep(0)
        await asyncio.wait_for(finished.wait(), 120)
        elapsed = time.perf_counter() - started
        done = EventFilter(query=parse_query("deliveries.fn.status:delivered"))
        checked = len(await emulator.wait_for(done, count, timeout=10))
    finally:
        await emulator.close()
    print(
        f"destination-function invocations: {delivered:,} in {elapsed:.2f} s = "
        f"{delivered / elapsed:,.0f}/s ({workers} workers; ingest included; "
        f"{checked:,} read back as delivered)"
    )


async def main(arguments: Any) -> None:
    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        await warm_latency(workdir, arguments.workers)
        await slow_functions(workdir, arguments.workers)
        await throughput(workdir, arguments.workers, arguments.calls)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=4000, help="calls in the throughput run")
    parser.add_argument("--workers", type=int, default=2, help="Node workers in the pool")
    asyncio.run(main(parser.parse_args()))
