"""Warehouse destination benchmark: prints figures, passes or fails nothing.

    python bench/warehouse.py [--rounds 200]

Runs the warehouse preset (segemu/destinations/warehouse.py) through the destination engine on
every Segment spec event of fixtures/spec/ (89 calls of every type, with nested objects and
arrays), as the pipeline would run it on each stored event, and prints events and rows per
second, and the p50 and p99 cost of one event. The events are normalized once beforehand
(receivedAt, timestamps), so the figures are the preset's own cost.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from segemu.destinations.engine import run_preset
from segemu.destinations.warehouse import WAREHOUSE
from segemu.message import Envelope, normalize

SPEC = Path(__file__).parent.parent / "fixtures" / "spec"


def spec_events() -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    envelope = Envelope(route="/v1/batch", items=[], received_at=now)
    events = []
    for path in sorted(SPEC.glob("*.jsonl")):
        for line in path.read_text().splitlines():
            if line:
                events.append(normalize(json.loads(line), envelope, now.isoformat()).event)
    return events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=200)
    arguments = parser.parse_args()
    events = spec_events()
    settings = {"source": "Web Store"}
    for event in events:  # warm-up: compiled subscriptions, caches
        run_preset(WAREHOUSE, event, settings)

    costs: list[float] = []
    rows = 0
    started = time.perf_counter()
    for _ in range(arguments.rounds):
        for event in events:
            begun = time.perf_counter()
            rows += len(run_preset(WAREHOUSE, event, settings))
            costs.append(time.perf_counter() - begun)
    elapsed = time.perf_counter() - started

    calls = len(costs)
    quantiles = statistics.quantiles(costs, n=100)
    print(
        f"{len(events)} spec events x {arguments.rounds} rounds = {calls:,} events, "
        f"{rows:,} rows in {elapsed:.2f} s"
    )
    print(f"  {calls / elapsed:,.0f} events/s, {rows / elapsed:,.0f} rows/s")
    print(f"  per event: p50 {quantiles[49] * 1e6:.1f} µs, p99 {quantiles[98] * 1e6:.1f} µs")


if __name__ == "__main__":
    main()
