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

Each figure is given twice: the wall time the client saw, and the CPU time the server's event
loop spent meanwhile (its thread's on-CPU time, /proc/<pid>/task/<pid>/schedstat). On a shared
machine the wall time also counts the moments the server waited for a CPU; the CPU time is
what the server itself did, and so what decides whether a read holds the loop. It is an
upper bound: it also counts what the server did after answering while the client itself waited
for a CPU. The last column compares each figure with the target of issue 12 (CPU time where
it is measured). A filter "over 100,000" is scaled from the scan over everything when
`--count` differs.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from ingest import serve  # noqa: E402
from memory import send  # noqa: E402


@dataclass(frozen=True, slots=True)
class Timing:
    """Milliseconds: the wall time the client saw, the server loop's CPU time meanwhile."""

    wall: float
    cpu: float


class ServerClock:
    """The on-CPU time of the server's main thread (its event loop), in nanoseconds."""

    def __init__(self, pid: int) -> None:
        self.path = Path(f"/proc/{pid}/task/{pid}/schedstat")

    def now(self) -> int:
        return int(self.path.read_text().split()[0])

    async def timed(self, work: Callable[[], Awaitable[None]]) -> Timing:
        cpu, wall = self.now(), time.perf_counter()
        await work()
        return Timing((time.perf_counter() - wall) * 1000, (self.now() - cpu) / 1e6)


def best(timings: list[Timing]) -> Timing:
    return Timing(min(t.wall for t in timings), min(t.cpu for t in timings))


def slowest(timings: list[Timing]) -> Timing:
    return Timing(max(t.wall for t in timings), max(t.cpu for t in timings))


async def timed_get(session: aiohttp.ClientSession, clock: ServerClock, url: str) -> Timing:
    async def get() -> None:
        async with session.get(url) as answer:
            await answer.read()
            assert answer.status == 200, answer.status

    return await clock.timed(get)


async def first_record(session: aiohttp.ClientSession, clock: ServerClock, url: str) -> Timing:
    async def until_first() -> None:
        async with session.get(url) as answer:
            async for line in answer.content:
                if line.startswith(b"event: record"):
                    return
        raise AssertionError("the stream sent no record")

    return await clock.timed(until_first)


async def timed_assert(session: aiohttp.ClientSession, clock: ServerClock, url: str) -> Timing:
    """An assertion that fails: every stored call is judged, then searched for near misses."""

    async def judge() -> None:
        expectation = {"type": "track", "fields": {"properties": {"revenue": 1}}}
        async with session.post(f"{url}/_segemu/assert", json=expectation) as answer:
            verdict = await answer.json()
            assert answer.status == 200, answer.status
            assert verdict["passed"] is False, verdict

    return await clock.timed(judge)


async def health_during(
    session: aiohttp.ClientSession,
    clock: ServerClock,
    url: str,
    work: Coroutine[Any, Any, Timing],
) -> tuple[Timing, Timing]:
    """The slowest /health answer while `work` runs (wall and the server's CPU time, each
    the largest of its polls), and how long `work` took."""
    polls: list[Timing] = []
    scan = asyncio.create_task(work)
    while not scan.done():
        polls.append(await timed_get(session, clock, f"{url}/_segemu/health"))
        await asyncio.sleep(0.01)
    return slowest(polls), await scan


def show(label: str, timing: Timing, target: str = "", limit: float | None = None) -> None:
    verdict = ""
    if limit is not None:
        verdict = f"{target:>9}  {'pass' if timing.cpu <= limit else 'MISS'}"
    print(f"  {label:<46}{timing.wall:10.1f}{timing.cpu:10.1f}  {verdict}")


async def measure(url: str, pid: int, count: int) -> None:
    await send(url, count)
    clock = ServerClock(pid)
    control = f"{url}/_segemu"
    async with aiohttp.ClientSession() as session:

        async def runs(times: int, timing: Callable[[], Awaitable[Timing]]) -> Timing:
            return best([await timing() for _ in range(times)])

        def get(path: str) -> Callable[[], Awaitable[Timing]]:
            return lambda: timed_get(session, clock, f"{control}{path}")

        listings = {
            "listing, type=track, limit 100": await runs(5, get("/events?type=track&limit=100")),
            "listing, one userId": await runs(5, get("/events?userId=user-1&limit=100")),
            "listing, q=user:user-1 (query language)": await runs(
                5, get("/events?q=user:user-1&limit=100")
            ),
        }
        waits = {
            "wait, q=type:track user:user-1, at once": await runs(
                5, get("/wait?q=type:track+user:user-1&timeout=0")
            ),
            "wait, satisfied at once": await runs(5, get("/wait?type=track&timeout=0")),
        }
        resume = await runs(3, lambda: first_record(session, clock, f"{control}/stream?after=0"))
        scanning = timed_get(session, clock, f"{control}/events?q=properties.revenue>1000000")
        health_scan, scan = await health_during(session, clock, url, scanning)
        health_judge, judge = await health_during(
            session, clock, url, timed_assert(session, clock, url)
        )
    print(f"reads with {count:,} stored calls (segemu run --db :memory:), over HTTP, best of runs")
    print(f"  {'':<46}{'wall ms':>10}{'cpu ms':>10}  {'target':>9}")
    for label, timing in listings.items():
        show(label, timing, "<= 50", 50)
    for label, timing in waits.items():
        show(label, timing, "<= 50", 50)
    show("stream resume over all, first record", resume, "<= 100", 100)
    show("a query that scans everything", scan)
    per_100k = 100_000 / count
    show(
        "  the same filter over 100,000",
        Timing(scan.wall * per_100k, scan.cpu * per_100k),
        "<= 1500",
        1500,
    )
    show("slowest /health meanwhile", health_scan, "<= 50", 50)
    show("a failing assertion over everything", judge)
    show("slowest /health meanwhile", health_judge, "<= 50", 50)


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
    with serve(command) as (url, pid):
        asyncio.run(measure(url, pid, options.count))


if __name__ == "__main__":
    main()
