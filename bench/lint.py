"""Lint benchmark: prints figures, passes or fails nothing.

    python bench/lint.py [--calls 20000] [--rounds 5]

A mix of calls shaped like the SDKs' (reference/sdk-captures/): analytics-python track calls,
browser page and track calls with their context, identify calls with traits, one in ten with a
value a rule fires on (an email in properties, a naive timestamp, a spec property misspelled).
Figures, best of the rounds, in CPU microseconds per call, with the garbage collector off as
`segemu run` has it (segemu/cli/gc.py), so that a collection does not land on one figure:
1. the whole linter (Linter.run), and each rule alone;
2. the pipeline's ingest per call (Emulator.ingest, in-memory store) with lint on and off, and
   the share of ingest that lint costs.
"""

from __future__ import annotations

import argparse
import gc
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from segemu.emulator import create_emulator
from segemu.message import Envelope, Record
from segemu.protocols.lint import RULE_IDS, Linter

LIBRARY = {"library": {"name": "analytics-python", "version": "2.4.0"}}
BROWSER = {
    "library": {"name": "analytics.js", "version": "next-1.84.3"},
    "page": {
        "path": "/cart",
        "referrer": "",
        "search": "",
        "title": "Cart",
        "url": "http://127.0.0.1:8000/cart",
    },
    "userAgent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36",
    "locale": "en-US",
}


def call(n: int) -> dict[str, Any]:
    odd = (n // 4) % 10 == 9  # one call in ten of each kind
    match n % 4:
        case 0:
            return {
                "type": "track",
                "event": "Order Completed",
                "userId": f"user-{n % 500}",
                "properties": {
                    "order_id": f"o-{n}",
                    "revenue": 42.5,
                    "currency": "USD",
                    **({"orderId": "x"} if odd else {}),
                },
                "timestamp": "2026-11-22T04:21:28.151+00:00",
                "context": dict(LIBRARY),
            }
        case 1:
            return {
                "type": "page",
                "name": "Cart",
                "anonymousId": f"anon-{n % 300}",
                "properties": {"path": "/cart", "title": "Cart", "url": "http://x/cart"},
                "timestamp": "2026-11-22T04:21:28.151Z",
                "context": dict(BROWSER),
            }
        case 2:
            return {
                "type": "track",
                "event": "Product Viewed",
                "anonymousId": f"anon-{n % 300}",
                "properties": {
                    "product_id": f"p-{n % 50}",
                    "price": 9.99,
                    "name": "Mug",
                    **({"contact": "ada@example.com"} if odd else {}),
                },
                "timestamp": "2026-11-22T04:21:28" if odd else "2026-11-22T04:21:28.151Z",
                "context": dict(BROWSER),
            }
        case _:
            return {
                "type": "identify",
                "userId": f"user-{n % 300}",
                "anonymousId": f"anon-{n % 300}",
                "traits": {"email": f"u{n}@example.com", "plan": "pro", "createdAt": "2026-01-01"},
                "timestamp": "2026-11-22T04:21:28.151Z",
                "context": dict(LIBRARY),
            }


def envelopes(calls: int, offset: int) -> list[Envelope]:
    items = [{**call(n), "messageId": f"m-{offset}-{n}"} for n in range(calls)]
    return [
        Envelope(
            route="/v1/batch",
            items=items[start : start + 100],
            received_at=datetime.now(UTC),
            header_write_key="wk",
        )
        for start in range(0, calls, 100)
    ]


def best(rounds: int, run: Callable[[], int]) -> float:
    costs = []
    for _ in range(rounds):
        gc.collect()
        gc.disable()
        start = time.process_time()
        count = run()
        costs.append((time.process_time() - start) / count)
        gc.enable()
    return min(costs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    emulator = create_emulator(db=":memory:", lint={rule: False for rule in RULE_IDS})
    records: list[Record] = [
        record for envelope in envelopes(args.calls, 0) for record in emulator.ingest(envelope)
    ]
    linter = Linter()
    findings = sum(len(linter.run(record)) for record in records)
    print(f"{len(records):,} calls, {findings:,} findings; best of {args.rounds} rounds")

    def whole() -> int:
        for record in records:
            linter.run(record)
        return len(records)

    print("1. lint per call")
    print(f"   {'the whole linter':<30} {best(args.rounds, whole) * 1e6:6.2f} us")
    for rule in linter.rules:

        def one(rule: Any = rule) -> int:
            for record in records:
                rule.check(record, record["event"], [])
            return len(records)

        print(f"   {rule.id:<30} {best(args.rounds, one) * 1e6:6.2f} us")

    print("2. ingest per call (Emulator.ingest, in-memory store)")
    costs = {}
    for label, lint in (("lint on", {}), ("lint off", {rule: False for rule in RULE_IDS})):
        seconds = []
        for round_ in range(args.rounds):
            batch = envelopes(args.calls, round_ + 1)
            fresh = create_emulator(db=":memory:", lint=lint)
            gc.collect()
            gc.disable()
            start = time.process_time()
            for envelope in batch:
                fresh.ingest(envelope)
            seconds.append((time.process_time() - start) / args.calls)
            gc.enable()
        costs[label] = min(seconds)
        print(f"   {label:<30} {costs[label] * 1e6:6.2f} us")
    share = (costs["lint on"] - costs["lint off"]) / costs["lint on"]
    print(f"   lint's share of ingest         {share:6.0%}")


if __name__ == "__main__":
    main()
