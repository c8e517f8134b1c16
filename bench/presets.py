"""Destination presets benchmark: prints figures, passes or fails nothing.

    python bench/presets.py

The cost of computing one delivery: every preset runs over the Segment spec events
(fixtures/spec/*.jsonl, normalized by the emulator's own ingest), subscriptions, mappings,
validation and request building included, as the runtime does when a delivery is first read.
A refusal (a failed delivery) counts as a delivery: it costs the same work. Times are CPU time
of this process, so other work on a shared machine does not inflate them.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from segemu.destinations.engine import compile_action
from segemu.destinations.presets import PRESETS
from segemu.destinations.presets._support import ActionError
from segemu.emulator import create_emulator
from segemu.message import Envelope

SPEC = Path(__file__).parent.parent / "fixtures" / "spec"


def spec_events() -> list[dict[str, Any]]:
    items = [
        json.loads(line)
        for path in sorted(SPEC.glob("*.jsonl"))
        for line in path.read_text().splitlines()
        if line.strip()
    ]
    records = create_emulator(db=":memory:").ingest(
        Envelope(
            route="/v1/batch", items=items, received_at=datetime.now(UTC), header_write_key="bench"
        )
    )
    return [record["event"] for record in records]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=200, help="passes over the spec events")
    args = parser.parse_args()
    events = spec_events()
    print(f"segemu presets benchmark  ({len(events)} spec events x {args.rounds} rounds)")
    print(f"  {'preset':<11} {'CPU us/event':>12} {'requests':>9} {'refused':>8}")
    for slug, preset in PRESETS.items():
        actions = [compile_action(action) for action in preset.actions]
        settings = {**preset.settings, "url": "http://127.0.0.1:9/hook"}
        requests = refused = 0
        started = time.process_time()
        for _ in range(args.rounds):
            for event in events:
                for action in actions:
                    if not action.subscribed(event):
                        continue
                    try:
                        requests += len(action.run(event, settings))
                    except ActionError:
                        refused += 1
        elapsed = time.process_time() - started
        per_event = elapsed / (len(events) * args.rounds) * 1e6
        print(
            f"  {slug:<11} {per_event:>12.1f} {requests // args.rounds:>9} "
            f"{refused // args.rounds:>8}"
        )


if __name__ == "__main__":
    main()
