"""Reads at scale: prints figures, passes or fails nothing.

    python bench/reads.py                   # 100,000 stored calls
    python bench/reads.py --count 1000000   # a million (retention raised to match)

A `segemu run` with an in-memory store gets `--count` calls over HTTP (100-call batches shaped
like analytics-python's, as bench/ingest.py sends them), then, over real HTTP:
- an indexed listing (`/events?type=track&limit=100`), an indexed listing that pins a userId,
  and a `/wait` that is satisfied at once: the time of each answer;
- a stream resume over everything stored (`/stream?after=0`): the time to the first record;
- the same listing and wait written in the query language (`?q=user:user-1`), whose
  `field:value` terms pin the same indexes;
- `/_segemu/health` polled every 10 ms while a query that must scan runs
  (`/events?q=properties.revenue>1000000`, which no call matches), and while a failing
  `POST /_segemu/assert` judges every stored call: the slowest health answer, and how long
  each took.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import aiohttp

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from ingest import serve  # noqa: E402
from memory import send  # noqa: E402


async def timed_get(session: aiohttp.ClientSession, url: str) -> float:
    started = time.perf_counter()
    async with session.get(url) as answer:
        await answer.read()
        assert answer.status == 200, answer.status
    return (time.perf_counter() - started) * 1000


async def first_record(session: aiohttp.ClientSession, url: str) -> float:
    started = time.perf_counter()
    async with session.get(url) as answer:
        async for line in answer.content:
            if line.startswith(b"event: record"):
                return (time.perf_counter() - started) * 1000
    raise AssertionError("the stream sent no record")


async def timed_assert(session: aiohttp.ClientSession, url: str) -> float:
    """An assertion that fails: every stored call is judged, then searched for near misses."""
    started = time.perf_counter()
    expectation = {"type": "track", "fields": {"properties": {"revenue": 1}}}
    async with session.post(f"{url}/_segemu/assert", json=expectation) as answer:
        verdict = await answer.json()
        assert answer.status == 200, answer.status
        assert verdict["passed"] is False, verdict
    return (time.perf_counter() - started) * 1000


async def health_during(
    session: aiohttp.ClientSession, url: str, work: Coroutine[Any, Any, float]
) -> tuple[float, float]:
    """The slowest /health answer while `work` runs, and how long `work` took."""
    slowest = 0.0
    scan = asyncio.create_task(work)
    while not scan.done():
        slowest = max(slowest, await timed_get(session, f"{url}/_segemu/health"))
        await asyncio.sleep(0.01)
    return slowest, await scan


async def measure(url: str, count: int) -> None:
    await send(url, count)
    control = f"{url}/_segemu"
    async with aiohttp.ClientSession() as session:
        figures = {
            "listing, type=track, limit 100": min(
                [
                    await timed_get(session, f"{control}/events?type=track&limit=100")
                    for _ in range(5)
                ]
            ),
            "listing, one userId": min(
                [
                    await timed_get(session, f"{control}/events?userId=user-1&limit=100")
                    for _ in range(5)
                ]
            ),
            "listing, q=user:user-1 (query language)": min(
                [
                    await timed_get(session, f"{control}/events?q=user:user-1&limit=100")
                    for _ in range(5)
                ]
            ),
            "wait, q=type:track user:user-1, at once": min(
                [
                    await timed_get(session, f"{control}/wait?q=type:track+user:user-1&timeout=0")
                    for _ in range(5)
                ]
            ),
            "wait, satisfied at once": min(
                [await timed_get(session, f"{control}/wait?type=track&timeout=0") for _ in range(5)]
            ),
            "stream resume over all, first record": min(
                [await first_record(session, f"{control}/stream?after=0") for _ in range(3)]
            ),
        }
        scanning = timed_get(session, f"{url}/_segemu/events?q=properties.revenue>1000000")
        slowest, scan = await health_during(session, url, scanning)
        slowest_judging, judging = await health_during(session, url, timed_assert(session, url))
    print(f"reads with {count:,} stored calls (segemu run --db :memory:), over HTTP, best of runs")
    for label, millis in figures.items():
        print(f"  {label:<44}{millis:9.1f} ms")
    print(f"  {'a query that scans everything':<44}{scan:9.1f} ms")
    print(f"  {'slowest /health meanwhile':<44}{slowest:9.1f} ms")
    print(f"  {'a failing assertion over everything':<44}{judging:9.1f} ms")
    print(f"  {'slowest /health meanwhile':<44}{slowest_judging:9.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=100_000)
    options = parser.parse_args()
    command = [
        sys.executable,
        "-m",
        "segemu",
        "run",
        "-p",
        "0",
        "--no-ui",
        "--quiet",
        "--db",
        ":memory:",
        "--retention",
        str(max(options.count, 100_000)),
    ]
    with serve(command) as (url, _pid):
        asyncio.run(measure(url, options.count))


if __name__ == "__main__":
    main()
