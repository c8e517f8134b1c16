"""What clients held open cost ingest (issue 13, finding 5): prints figures, passes or fails
nothing.

    python bench/limits.py [--calls 10000]

For each scenario, a fresh `segemu run --db :memory:` (default caps), the time to ingest
`--calls` single /v1/track calls from 8 concurrent clients, while:
- nothing is open;
- 500 streams are asked for (max_streams of them are served and read, the rest refused);
- 1,000 long-polls are asked for (max_waits of them pending, the rest refused);
- 20 stream clients that never read are open (and, to compare, none): the resident memory
  before, with them open, and after they close.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import sys
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).parent))
from ingest import rss_mib, serve

AUTH = {"Authorization": "Basic " + base64.b64encode(b"bench:").decode()}
CALL = b'{"userId":"u","event":"Order Completed","properties":{"revenue":42.5,"n":%d}}'


async def ingest(url: str, calls: int, clients: int = 8) -> float:
    async with aiohttp.ClientSession() as session:
        counter = iter(range(calls))

        async def client() -> None:
            for number in counter:
                async with session.post(f"{url}/v1/track", data=CALL % number, headers=AUTH) as r:
                    assert r.status == 200, r.status

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(clients)))
        return time.perf_counter() - started


async def readers(url: str, session: aiohttp.ClientSession, count: int) -> tuple[int, list[Any]]:
    """Ask for `count` streams; the served ones are read to the end in the background."""
    served = 0
    tasks = []

    async def drain(response: aiohttp.ClientResponse) -> None:
        async for _ in response.content.iter_any():
            pass

    for _ in range(count):
        response = await session.get(f"{url}/_segemu/stream")
        if response.status == 200:
            served += 1
            tasks.append(asyncio.create_task(drain(response)))
        else:
            response.release()
    return served, tasks


async def scenario_streams(url: str, calls: int) -> str:
    async with aiohttp.ClientSession() as session:
        served, tasks = await readers(url, session, 500)
        seconds = await ingest(url, calls)
        for task in tasks:
            task.cancel()
    return f"{seconds:6.2f} s  ({served} of 500 streams served)"


async def scenario_waits(url: str, calls: int) -> str:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        query = "q=event:Never&timeout=120"
        pending = [
            asyncio.create_task(session.get(f"{url}/_segemu/wait?{query}")) for _ in range(1000)
        ]
        done, _ = await asyncio.wait(pending, timeout=5)
        refused = sum(1 for task in done if task.result().status == 503)
        seconds = await ingest(url, calls)
        for task in pending:
            task.cancel()
    return f"{seconds:6.2f} s  ({refused} of 1,000 long-polls refused)"


async def scenario_idle(url: str, calls: int) -> str:
    return f"{await ingest(url, calls):6.2f} s"


async def scenario_stalled(url: str, calls: int, pid: int, clients: int) -> str:
    before = rss_mib(pid)
    host, port = url.removeprefix("http://").rsplit(":", 1)
    stalled = []
    for _ in range(clients):
        _, writer = await asyncio.open_connection(host, int(port))
        writer.write(b"GET /_segemu/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        await writer.drain()
        stalled.append(writer)  # and never read
    seconds = await ingest(url, calls * 5)
    during = rss_mib(pid)
    for writer in stalled:
        writer.close()
    await ingest(url, 10)  # a few turns of the server's loop after the closes
    after = rss_mib(pid)
    return (
        f"{seconds:6.2f} s for {calls * 5:,} calls; RSS {before:.0f} MiB before, "
        f"{during:.0f} MiB with them open, {after:.0f} MiB after they closed"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=10_000)
    args = parser.parse_args()
    command = [sys.executable, "-m", "segemu", "run", "-p", "0", "--quiet", "--db", ":memory:"]
    scenarios: list[tuple[str, Callable[[str, int], Coroutine[Any, Any, str]]]] = [
        ("nothing open", scenario_idle),
        ("500 streams asked for", scenario_streams),
        ("1,000 long-polls asked for", scenario_waits),
    ]
    print(f"ingest of {args.calls:,} single calls, 8 clients:")
    for name, scenario in scenarios:
        with serve(command) as (url, _pid):
            print(f"  {name:28} {asyncio.run(scenario(url, args.calls))}")
    # The store's own growth, for comparison: the same calls with no stalled client.
    for clients in (0, 20):
        with serve(command) as (url, pid):
            figure = asyncio.run(scenario_stalled(url, args.calls, pid, clients))
            print(f"  {f'{clients} streams never read':28} {figure}")


if __name__ == "__main__":
    main()
