"""Reads that must scan run in slices: the event loop is free between two (DESIGN.md "Bounded
work"), and the answer is what a scan in one go gives, however the store changes meanwhile."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

import segemu.emulator
from segemu.emulator import Emulator, create_emulator
from segemu.message import Envelope
from segemu.query import EventFilter, parse_query


def send(emulator: Emulator, count: int, start: int = 0) -> None:
    items = [
        {"type": "track", "event": "E", "userId": f"u{n % 7}", "properties": {"n": n}}
        for n in range(start, start + count)
    ]
    emulator.ingest(
        Envelope(
            route="/v1/batch", items=items, header_write_key="wk", received_at=datetime.now(UTC)
        )
    )


async def one_turn() -> None:
    """Let the loop run its other callbacks once (what the scan does between two slices)."""
    loop = asyncio.get_running_loop()
    turn = loop.create_future()

    def done() -> None:
        if not turn.done():  # cancelled meanwhile
            turn.set_result(None)

    loop.call_soon(done)
    await turn


async def test_a_scan_lets_the_loop_run_between_slices_and_answers_as_events_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(segemu.emulator, "SCAN_SLICE_SECONDS", 0.0)  # a pause every 32 reads
    emulator = create_emulator(db=":memory:")
    send(emulator, 1000)
    where = EventFilter(query=parse_query("properties.n<100 user:u3"))
    turns = 0

    async def other_work() -> None:
        nonlocal turns
        while True:
            turns += 1
            await one_turn()

    other = asyncio.create_task(other_work())
    try:
        found = await emulator.scan(where)
    finally:
        other.cancel()
    assert [r["id"] for r in found] == [r["id"] for r in emulator.events(where)]
    assert [r["event"]["properties"]["n"] for r in found] == [
        94,
        87,
        80,
        73,
        66,
        59,
        52,
        45,
        38,
        31,
        24,
        17,
        10,
        3,
    ]
    # A scan in one go would not let it run at all; one that pauses every 32 reads lets it
    # run at every pause.
    assert turns >= 10


async def test_a_scan_survives_ingest_and_eviction_between_its_slices(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(segemu.emulator, "SCAN_SLICE_SECONDS", 0.0)
    emulator = create_emulator(db=":memory:", retention=600)
    send(emulator, 600)

    async def flood() -> None:
        for round_ in range(20):
            send(emulator, 50, start=10_000 + round_ * 50)
            await one_turn()

    flooding = asyncio.create_task(flood())
    found = await emulator.scan(EventFilter(type="track"))
    await flooding
    ids = [r["id"] for r in found]
    assert ids == sorted(ids, reverse=True)  # newest first, no record twice
    assert len(set(ids)) == len(ids)
    # It started from the newest record when it was asked, and went down from there: what
    # retention dropped before the scan reached it is not there, nothing is made up.
    assert ids[0] == 600
    assert set(ids) <= set(range(1, 601))
    assert len(emulator.store) == 600


def test_lookups_by_destination_and_routing_status_answer_what_a_scan_would() -> None:
    # Routings are indexed whole (calls alike share one); a lookup by destination and status
    # reads every routing that has it, through retention too.
    emulator = create_emulator(db=":memory:", retention=150)
    items = [
        {
            "type": "track" if n % 3 else "page",
            "event": "Signed Up",
            "name": "Home",
            "userId": "u",
            "integrations": {"All": False} if n % 4 == 0 else {},
        }
        for n in range(200)
    ]
    emulator.ingest(
        Envelope(
            route="/v1/batch", items=items, header_write_key="wk", received_at=datetime.now(UTC)
        )
    )
    stored = emulator.events()
    for destination in ("mixpanel", "ga4", "warehouse", "nowhere"):
        for status in ("delivered", "filtered", None):
            expected = [
                r["id"]
                for r in stored
                if destination in r["routing"]
                and (status is None or r["routing"][destination]["status"] == status)
            ]
            found = emulator.store.ids(destination=destination, delivery_status=status)
            assert found == expected, (destination, status)
    assert emulator.store.ids(destination="mixpanel", delivery_status="filtered")
