"""Reads at scale: prints figures, passes or fails nothing.

    python bench/reads.py                   # 100,000 stored calls
    python bench/reads.py --count 1000000   # a million (retention raised to match)

A `segemu run` with an in-memory store gets `--count` calls over HTTP (100-call batches shaped
like analytics-python's, as bench/ingest.py sends them), then, over real HTTP:
- an indexed listing (`/events?type=track&limit=100`), an indexed listing that pins a userId,
  and a `/wait` that is satisfied at once: the time of each answer;
- a stream resume over everything stored (`/stream?after=0`): the time to the first record;
- `/_segemu/health` polled every 10 ms while a query that must scan runs
  (`/events?q=properties.revenue>1000000`, which no call matches): the slowest health answer,
  and how long the scan took.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

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


async def health_during_scan(session: aiohttp.ClientSession, url: str) -> tuple[float, float]:
    slowest = 0.0
    scan = asyncio.create_task(
        timed_get(session, f"{url}/_segemu/events?q=properties.revenue>1000000")
    )
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
            "wait, satisfied at once": min(
                [await timed_get(session, f"{control}/wait?type=track&timeout=0") for _ in range(5)]
            ),
            "stream resume over all, first record": min(
                [await first_record(session, f"{control}/stream?after=0") for _ in range(3)]
            ),
        }
        slowest, scan = await health_during_scan(session, url)
    print(f"reads with {count:,} stored calls (segemu run --db :memory:), over HTTP, best of runs")
    for label, millis in figures.items():
        print(f"  {label:<40}{millis:9.1f} ms")
    print(f"  {'a query that scans everything':<40}{scan:9.1f} ms")
    print(f"  {'slowest /health meanwhile':<40}{slowest:9.1f} ms")


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
