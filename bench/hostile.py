"""Hostile inputs benchmark (issue 13, findings 3 and 4): prints figures, passes or fails nothing.

    python bench/hostile.py [--skip-http] [--scaling]

1. Through a real server on 127.0.0.1 (in-memory store), the time of each request of the issue:
   - a 466 KB /v1/batch of 15 track calls named "a" * 31000 (plus one letter each, so that lint
     judges each name: it judges a name once), a 31 KB track call, a 31 KB page call;
   - a batch of 15 calls, each with a 31 KB property value ending in "@" (the PII check);
   - `q=event~"(a+)+$"` against a 27-character name; `q=*a*a*a*a*a*b` against a 60-character
     name; `POST /_segemu/assert` with `{"$regex": "(a+)+$"}`.
2. In-process, the checks alone on those inputs, and a tracking-plan `pattern` (jsonschema-rs).
3. With --scaling, the time of each check on texts of 1x, 4x and 16x the size: time that grows
   4x per step is linear, 16x quadratic.

Run it on an older checkout (PYTHONPATH=that checkout) for the "before" figures: it uses only
interfaces both have. Before the fix, part 1 takes minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import time
import urllib.parse
from collections.abc import Callable
from typing import Any, cast

import aiohttp
import jsonschema_rs
import orjson

from segemu import create_emulator
from segemu.http.server import start_server
from segemu.message import Record
from segemu.protocols.lint.naming import _DYNAMIC
from segemu.protocols.lint.payload import _EMAIL
from segemu.query import parse_query

AUTH = {"Authorization": "Basic " + base64.b64encode(b"wk_bench:").decode()}
LONG = "a" * 31_000


def show(label: str, seconds: float) -> None:
    print(f"  {label:<62} {seconds * 1000:>10.2f} ms")


class Server:
    """A fresh segemu on 127.0.0.1, and the time of each request made to it."""

    async def __aenter__(self) -> Server:
        self.running = await start_server(create_emulator(db=":memory:"), "127.0.0.1", 0)
        self.http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None))
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.close()
        await self.running.stop()

    async def timed(self, label: str, method: str, path: str, body: Any = None) -> None:
        data = orjson.dumps(body) if body is not None else None
        headers = {**AUTH, "Content-Type": "application/json"}
        started = time.perf_counter()
        url = self.running.url + path
        async with self.http.request(method, url, data=data, headers=headers) as answer:
            await answer.read()
            status = answer.status
        show(f"{label} -> {status}", time.perf_counter() - started)


async def over_http() -> None:
    print("1. Through the server (one request each)")
    names = [
        {"type": "track", "event": LONG + letter, "userId": "u", "messageId": letter}
        for letter in "bcdefghijklmnop"
    ]
    values = [
        {
            "type": "track",
            "event": "Note Saved",
            "userId": "u",
            "properties": {"note": f"{LONG}{i}@"},
            "messageId": f"n{i}",
        }
        for i in range(15)
    ]
    async with Server() as server:
        await server.timed(
            "/v1/batch, 15 names of 31 KB (466 KB)", "POST", "/v1/batch", {"batch": names}
        )
        await server.timed(
            "/v1/track, a name of 31 KB", "POST", "/v1/track", {"event": LONG, "userId": "u"}
        )
        await server.timed(
            "/v1/page, a name of 31 KB", "POST", "/v1/page", {"name": LONG, "userId": "u"}
        )
        await server.timed(
            "/v1/batch, 15 values of 31 KB ending in @", "POST", "/v1/batch", {"batch": values}
        )
    # A store of its own, with only the names: against the 31 KB names above, the old
    # engine would never finish.
    async with Server() as server:
        for name in ("a" * 26 + "!", "a" * 60):
            await server.timed(
                f"/v1/track, an event of {len(name)} characters",
                "POST",
                "/v1/track",
                {"event": name, "userId": "u"},
            )
        for q in ('event~"(a+)+$"', "*a*a*a*a*a*b"):
            path = "/_segemu/events?q=" + urllib.parse.quote(q)
            await server.timed(f"GET /_segemu/events?q={q}", "GET", path)
        expectation = {"fields": {"event": {"$regex": "(a+)+$"}}}
        await server.timed(
            'POST /_segemu/assert {"$regex": "(a+)+$"}', "POST", "/_segemu/assert", expectation
        )


def best(call: Callable[[], object], rounds: int = 3) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return min(times)


def record(name: str) -> Record:
    return cast(
        Record,
        {"id": 1, "type": "track", "status": "accepted", "writeKey": "wk", "messageId": "m",
         "event": {"event": name, "type": "track"}, "raw": {}},
    )  # fmt: skip


def search_all(text: str) -> None:
    for _, pattern in _DYNAMIC:
        pattern.search(text)


# The lint rules' patterns themselves, without the cap on how much of a text the rules read
# (segemu/protocols/lint/base.py) and without their caches, so that the figures are the patterns'.
CHECKS: list[tuple[str, Callable[[int], Callable[[], object]]]] = [
    ("dynamic-event-name patterns on 'a' * n", lambda n: lambda: search_all("a" * n)),
    ("dynamic-event-name patterns on '1' * n", lambda n: lambda: search_all("1" * n)),
    ("pii email pattern on 'a' * n + '@'", lambda n: lambda: _EMAIL.search("a" * n + "@")),
    ("pii email pattern on 'a@' * (n / 2)", lambda n: lambda: _EMAIL.search("a@" * (n // 2))),
    (
        "q event~\"(a+)+$\" on 'a' * n + '!'",
        lambda n: lambda: parse_query('event~"(a+)+$"').matches(record("a" * n + "!")),
    ),
    (
        "q *a*a*a*a*a*b on 'a' * n",
        lambda n: lambda: parse_query("*a*a*a*a*a*b").matches(record("a" * n)),
    ),
    (
        "plan pattern ^(a+)+$ on 'a' * n + '!' (jsonschema-rs)",
        lambda n: (
            lambda: list(
                jsonschema_rs.Draft7Validator({"type": "string", "pattern": "^(a+)+$"}).iter_errors(
                    "a" * n + "!"
                )
            )
        ),
    ),
]
# The sizes for each check: 31 KB names and values; 27 and 60 characters for the
# backtracking patterns (which grow exponentially and polynomially with the size before the fix).
SIZES = [31_000, 31_000, 31_000, 31_000, 26, 60, 31_000]


def in_process(scaling: bool) -> None:
    print("2. The checks alone, in-process (best of 3)")
    for (label, make), size in zip(CHECKS, SIZES, strict=True):
        show(f"{label}, n={size}", best(make(size)))
    if not scaling:
        return
    print("3. Scaling: n, 4n, 16n (4x per step is linear; never ends on the old code)")
    for label, make in CHECKS:
        base = 4_000
        figures = [best(make(base * k)) * 1000 for k in (1, 4, 16)]
        print(f"  {label:<52} " + "  ".join(f"{f:9.3f} ms" for f in figures))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--scaling", action="store_true")
    args = parser.parse_args()
    if not args.skip_http:
        asyncio.run(over_http())
    in_process(args.scaling)


if __name__ == "__main__":
    main()
