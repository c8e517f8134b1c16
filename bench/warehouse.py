"""Warehouse destination benchmark: prints figures, passes or fails nothing.

    python bench/warehouse.py [--rounds 200]

Runs the warehouse preset (segemu/destinations/warehouse.py) through the destination engine on
every Segment spec event of fixtures/spec/ (89 calls of every type, with nested objects and
arrays), as the pipeline would run it on each stored event, and prints events and rows per
second, and the p50 and p99 cost of one event. The events are normalized once beforehand
(receivedAt, timestamps), so the figures are the preset's own cost. A second pass gives each
event the identity outcome of a call that creates a profile with two identifiers, so its
Profiles Sync rows are built too (segemu/destinations/profiles_sync.py): the most a call that
merges nothing costs.
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


# What record["identity"] holds for a call that created a profile (segemu/identity/stage.py).
NEW_PROFILE: dict[str, Any] = {
    "space": "default",
    "segment_id": "use_bench",
    "changes": [
        {"action": "created", "segment_id": "use_bench"},
        *(
            {
                "action": "added",
                "segment_id": "use_bench",
                "type": id_type,
                "id": value,
                "external_id": f"{id_type}:{value}",
            }
            for id_type, value in (("user_id", "u1"), ("anonymous_id", "a1"))
        ),
    ],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=200)
    arguments = parser.parse_args()
    events = spec_events()
    measure(events, {"source": "Web Store"}, arguments.rounds, "event tables")
    measure(
        events,
        {"source": "Web Store", "identity": NEW_PROFILE},
        arguments.rounds,
        "event tables and Profiles Sync, a new profile per call",
    )


def measure(events: list[dict[str, Any]], settings: dict[str, Any], rounds: int, what: str) -> None:
    for event in events:  # warm-up: compiled subscriptions, caches
        run_preset(WAREHOUSE, event, settings)

    costs: list[float] = []
    rows = 0
    started = time.perf_counter()
    for _ in range(rounds):
        for event in events:
            begun = time.perf_counter()
            rows += len(run_preset(WAREHOUSE, event, settings))
            costs.append(time.perf_counter() - begun)
    elapsed = time.perf_counter() - started

    calls = len(costs)
    quantiles = statistics.quantiles(costs, n=100)
    print(
        f"{what}: {len(events)} spec events x {rounds} rounds = {calls:,} events, "
        f"{rows:,} rows in {elapsed:.2f} s"
    )
    print(f"  {calls / elapsed:,.0f} events/s, {rows / elapsed:,.0f} rows/s")
    print(f"  per event: p50 {quantiles[49] * 1e6:.1f} µs, p99 {quantiles[98] * 1e6:.1f} µs")


if __name__ == "__main__":
    main()
