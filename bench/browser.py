"""Browser-side benchmark: prints figures, passes or fails nothing.

    python bench/browser.py [--seconds 4]

Figures, on whatever machine runs it, against `segemu run` (in-memory store, pinned to CPU 0;
the load generator runs on CPU 1 when there are two):
- requests/s, p50 and p99 of single /v1/t calls shaped like analytics-next's (text/plain,
  Basic auth, an Origin, one anonymousId per simulated browser, one call in ten arriving after
  a later one), beside the same calls to the server route /v1/track: the cost of the browser
  path (CORS headers, the arrival-order check);
- requests/s and p50 of the CDN routes a page load fetches: the settings, and analytics.min.js
  (the built-in library, and the official bundle when node_modules has it).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
from ingest import TWO_CPUS, serve

WRITE_KEY = "bench_browser_key"
AUTH = "Basic " + base64.b64encode(f"{WRITE_KEY}:".encode()).decode()
ORIGIN = "http://localhost:3000"
BROWSERS = 32
OFFICIAL = Path(__file__).parent.parent / "tests" / "browser" / "node"


def browser_track(browser: int, call: int) -> bytes:
    """A track as analytics-next 1.84.3 sends it (reference/sdk-captures/browser.json)."""
    # Every tenth call carries a clock 50 ms earlier than the one before: it arrives late.
    millis = call * 10 - (50 if call % 10 == 9 else 0)
    stamp = (
        f"2026-11-22T04:{millis // 60000 % 60:02d}:{millis // 1000 % 60:02d}.{millis % 1000:03d}Z"
    )
    return json.dumps(
        {
            "timestamp": stamp,
            "integrations": {"Segment.io": True},
            "event": "Order Completed",
            "type": "track",
            "properties": {"revenue": 42.5, "currency": "USD"},
            "context": {
                "page": {
                    "path": "/checkout",
                    "referrer": "",
                    "search": "",
                    "title": "Checkout",
                    "url": f"{ORIGIN}/checkout",
                },
                "userAgent": "Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome/156.0.0.0",
                "locale": "en-US",
                "library": {"name": "analytics.js", "version": "next-1.84.3"},
                "timezone": "UTC",
            },
            "messageId": f"ajs-next-{time.monotonic_ns()}-{browser}-{call}",
            "userId": None,
            "anonymousId": f"anon-{browser}",
            "writeKey": WRITE_KEY,
            "sentAt": stamp,
            "_metadata": {"bundled": ["Segment.io"], "unbundled": [], "bundledIds": []},
        }
    ).encode()


Send = Callable[[aiohttp.ClientSession, int, int], Awaitable[None]]


async def run_load(seconds: float, send: Send) -> dict[str, float]:
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def browser(session: aiohttp.ClientSession, number: int) -> None:
        call = 0
        while time.perf_counter() < deadline:
            call += 1
            started = time.perf_counter()
            await send(session, number, call)
            latencies.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(browser(session, n) for n in range(BROWSERS)))
    elapsed = time.perf_counter() - started
    cuts = statistics.quantiles(latencies, n=100)
    return {"rps": len(latencies) / elapsed, "p50": cuts[49], "p99": cuts[98]}


async def post(
    session: aiohttp.ClientSession, url: str, body: bytes, headers: dict[str, str]
) -> None:
    async with session.post(url, data=body, headers=headers) as response:
        await response.read()
        if response.status != 200:
            raise SystemExit(f"{url} answered {response.status}")


async def get(session: aiohttp.ClientSession, url: str) -> None:
    async with session.get(url, headers={"Origin": ORIGIN}) as response:
        await response.read()
        if response.status != 200:
            raise SystemExit(f"{url} answered {response.status}")


async def measure(url: str, seconds: float) -> list[tuple[str, dict[str, float]]]:
    browser_headers = {"Authorization": AUTH, "Content-Type": "text/plain", "Origin": ORIGIN}
    server_headers = {"Authorization": AUTH, "Content-Type": "application/json"}
    return [
        (
            "browser calls, POST /v1/t",
            await run_load(
                seconds,
                lambda s, b, c: post(s, f"{url}/v1/t", browser_track(b, c), browser_headers),
            ),
        ),
        (
            "the same to POST /v1/track",
            await run_load(
                seconds,
                lambda s, b, c: post(s, f"{url}/v1/track", browser_track(b, c), server_headers),
            ),
        ),
        (
            "GET /v1/projects/<key>/settings",
            await run_load(
                seconds, lambda s, b, c: get(s, f"{url}/v1/projects/{WRITE_KEY}/settings")
            ),
        ),
        (
            "GET analytics.min.js",
            await run_load(
                seconds,
                lambda s, b, c: get(s, f"{url}/analytics.js/v1/{WRITE_KEY}/analytics.min.js"),
            ),
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=4, help="length of each load run")
    args = parser.parse_args()
    libraries = [("built-in analytics.js", "builtin")]
    if (OFFICIAL / "node_modules" / "@segment" / "analytics-next").is_dir():
        libraries.append(("official bundle", str(OFFICIAL)))
    if TWO_CPUS and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {1})  # the load generator; segemu gets CPU 0 (serve pins it)
    print(f"{BROWSERS} concurrent browsers, {args.seconds:g} s per figure")
    for label, library in libraries:
        command = [
            sys.executable,
            "-m",
            "segemu",
            "run",
            "-p",
            "0",
            "--db",
            ":memory:",
            "-q",
            "--analytics-js",
            library,
        ]
        with serve(command) as (url, _pid):
            print(f"\nsegemu serving the {label}")
            for name, figures in asyncio.run(measure(url, args.seconds)):
                print(
                    f"  {name:<34} {figures['rps']:>8,.0f} req/s   p50 {figures['p50']:6.2f} ms"
                    f"   p99 {figures['p99']:6.2f} ms"
                )


if __name__ == "__main__":
    main()
