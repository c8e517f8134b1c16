"""What deciding on faults costs a Tracking API request: prints microseconds per request,
passes nothing.

    python bench/faults.py [--requests 20000] [--batch 100]

Every request with a fault rule set asks `Faults.decide` (segemu/faults); with none, the edge
only tests that the rule list is empty. Figures, for a single call and for a batch of
`--batch` calls (the best of three rounds, CPU time of this process):
- 10 rules for other write keys (the pytest fixture's case: every test scopes its rules);
- a rule with a query (`where`) that reads every call of the request and never fires;
- a rule that fires on every request (logged, messageIds indexed for the retry link).
"""

from __future__ import annotations

import argparse
import time
import uuid
from typing import Any

from segemu.faults import Faults


def calls(count: int) -> list[dict[str, Any]]:
    return [
        {
            "type": "track",
            "event": "Order Completed",
            "userId": f"user-{number}",
            "messageId": str(uuid.uuid4()),
            "properties": {"revenue": 42.5, "currency": "USD"},
        }
        for number in range(count)
    ]


def per_request(faults: Faults, requests: list[list[dict[str, Any]]]) -> float:
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        for items in requests:
            faults.decide("/v1/batch", "wk_bench", items, None)
        best = min(best, (time.process_time() - started) / len(requests) * 1e6)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=100)
    args = parser.parse_args()

    setups: dict[str, list[dict[str, Any]]] = {
        "10 rules of other write keys": [
            {"status": 503, "writeKey": f"test-other-{n}"} for n in range(10)
        ],
        "a query rule that never fires": [{"status": 503, "where": "properties.revenue>1000"}],
        "a rule that fires every time": [{"status": 503}],
    }
    for size in (1, args.batch):
        count = max(1, args.requests // size)
        requests = [calls(size) for _ in range(count)]
        for label, rules in setups.items():
            faults = Faults()
            for rule in rules:
                faults.add(rule)
            micros = per_request(faults, requests)
            print(f"{size:>4} call(s) a request, {label:<32} {micros:8.2f} us a request")


if __name__ == "__main__":
    main()
