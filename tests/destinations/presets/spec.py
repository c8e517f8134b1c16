"""Segment spec events (fixtures/spec/*.jsonl) as Segment stores them: each file is sent
through the emulator's own ingest (normalization, receivedAt, the skew-corrected timestamp),
so the presets see exactly what the pipeline hands a destination."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from segemu.emulator import create_emulator
from segemu.message import Envelope, parse_timestamp

SPEC = Path(__file__).parents[3] / "fixtures" / "spec"
# A fixed arrival time: the fixtures carry no sentAt, so timestamp is the client's own, in UTC.
RECEIVED_AT = datetime(2025, 6, 3, 12, 0, 0, tzinfo=UTC)


@cache
def _stored(name: str) -> tuple[dict[str, Any], ...]:
    lines = (SPEC / f"{name}.jsonl").read_text().splitlines()
    items = [json.loads(line) for line in lines if line.strip()]
    emulator = create_emulator(db=":memory:")
    records = emulator.ingest(
        Envelope(
            route="/v1/batch",
            items=items,
            received_at=RECEIVED_AT,
            header_write_key="spec_write_key",
        )
    )
    assert [record["status"] for record in records] == ["accepted"] * len(items)
    return tuple(record["event"] for record in records)


def spec_events(name: str) -> list[dict[str, Any]]:
    return copy.deepcopy(list(_stored(name)))


def spec_event(name: str, event: str | None = None, *, type: str = "track") -> dict[str, Any]:
    """The first call of a fixture file with this type (and event name, for track calls)."""
    for stored in _stored(name):
        if stored["type"] == type and (event is None or stored.get("event") == event):
            return copy.deepcopy(stored)
    raise LookupError(f"no {type} {event or ''} in fixtures/spec/{name}.jsonl")


def epoch_ms(timestamp: str) -> int:
    moment = parse_timestamp(timestamp)
    assert moment is not None, timestamp
    return round(moment.timestamp() * 1000)
