"""Reads that must scan run in slices: the event loop is free between two (DESIGN.md "Bounded
work"), and the answer is what a scan in one go gives, however the store changes meanwhile."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import TypeVar

import pytest

import segemu.emulator
import segemu.expectations
from segemu.emulator import Emulator, create_emulator
from segemu.expectations import Expectation
from segemu.message import Envelope
from segemu.query import EventFilter, parse_query

T = TypeVar("T")


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


async def _turns_during(work: Awaitable[T]) -> tuple[T, int]:
    """What `work` answers, and how often other work ran on the loop while it ran."""
    turns = 0

    async def other_work() -> None:
        nonlocal turns
        while True:
            turns += 1
            await one_turn()

    other = asyncio.create_task(other_work())
    try:
        result = await work
    finally:
        other.cancel()
    return result, turns


async def test_a_scan_lets_the_loop_run_between_slices_and_answers_as_events_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(segemu.emulator, "SCAN_SLICE_SECONDS", 0.0)  # a pause every 8 reads
    emulator = create_emulator(db=":memory:")
    send(emulator, 1000)
    where = EventFilter(query=parse_query("properties.n<100 user~^u3$"))  # no index pins it
    found, turns = await _turns_during(emulator.scan(where))
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
    # A scan in one go would not let it run at all; one that pauses every 8 reads lets it
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


async def test_an_assertion_over_the_whole_store_is_judged_in_slices(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # POST /_segemu/assert judged every stored call in one go: seconds at 100,000 stored.
    monkeypatch.setattr(segemu.emulator, "SCAN_SLICE_SECONDS", 0.0)
    emulator = create_emulator(db=":memory:")
    send(emulator, 1000)
    expectation = Expectation.from_json({"type": "track", "where": "properties.n:500"})
    verdict, turns = await _turns_during(emulator.judge(expectation))
    assert verdict.passed
    assert verdict.count == 1
    assert verdict.considered == 1000
    assert turns >= 10
    # A failing one also finds its nearest misses in slices, and they are the nearest.
    missing = Expectation.from_json({"type": "track", "fields": {"properties": {"n": 5000}}})
    verdict, turns = await _turns_during(emulator.judge(missing))
    assert not verdict.passed
    assert turns >= 20
    assert [miss.record["event"]["properties"]["n"] for miss in verdict.nearest] == [999, 998, 997]


async def test_a_verdict_counts_every_match_and_keeps_the_newest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(segemu.expectations, "MATCHED_KEPT", 10)
    emulator = create_emulator(db=":memory:")
    send(emulator, 50)
    verdict = await emulator.judge(Expectation.from_json({"type": "track", "times": 50}))
    assert verdict.passed
    assert verdict.count == 50
    assert verdict.to_json()["count"] == 50
    # Oldest first, of the newest ten.
    assert [r["event"]["properties"]["n"] for r in verdict.matched] == list(range(40, 50))


async def test_deliveries_and_destination_counts_are_read_in_slices(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(segemu.emulator, "SCAN_SLICE_SECONDS", 0.0)
    emulator = create_emulator(db=":memory:")
    send(emulator, 1000)
    where = EventFilter(query=parse_query("properties.n<3"))
    pairs, turns = await _turns_during(emulator.deliveries("mixpanel", where))
    assert [record["event"]["properties"]["n"] for record, _ in pairs] == [2, 1, 0]
    assert {delivery["status"] for _, delivery in pairs} == {"delivered"}
    assert turns >= 10
    summaries, turns = await _turns_during(emulator.destination_summaries(scan=1000))
    counts = {s["id"]: s["counts"]["delivered"] for s in summaries}
    assert counts == {"mixpanel": 1000, "amplitude": 1000, "ga4": 1000, "warehouse": 1000}
    assert turns >= 10


QUERIES_THAT_PIN = [
    'type:track event:"Order Completed"',
    "user:u3 type:page",
    "anon:a1",
    "event:x",  # also in a list-valued event name, which the query matches
    "source:wk status:rejected event:x",  # the list-valued name, rejected
    "type:track (event:A OR event:B)",
    "writeKey:other",
]
QUERIES_THAT_DO_NOT = ["event:Order*", "user:3", "-type:track", "type:track OR user:u1", ""]


def _mixed_calls(emulator: Emulator) -> None:
    items: list[object] = []
    for n in range(300):
        kind = ("track", "page", "identify")[n % 3]
        item: dict[str, object] = {"type": kind, "userId": f"u{n % 5}", "anonymousId": f"a{n % 4}"}
        if kind == "track":
            item["event"] = ("Order Completed", "A", "B", "x")[n % 4]
        items.append(item)
    items += [
        {"type": "track", "event": ["x", ["y"]], "userId": "u1"},  # rejected: a list for a name
        {"type": "track", "userId": 3, "event": "Order Completed"},  # a number for an id
        {"type": "track"},  # rejected: no event
    ]
    for write_key in ("wk", "other"):
        emulator.ingest(
            Envelope(
                route="/v1/batch",
                items=items,
                header_write_key=write_key,
                received_at=datetime.now(UTC),
            )
        )


@pytest.mark.parametrize("text", QUERIES_THAT_PIN + QUERIES_THAT_DO_NOT)
async def test_field_terms_of_a_query_pin_the_indexes_and_find_every_match(text: str) -> None:
    # `?q=type:track event:"Order Completed"` (the CLI's --where, pytest's where=) read every
    # stored call, where the same filters as parameters went through the indexes.
    emulator = create_emulator(db=":memory:")
    _mixed_calls(emulator)
    query = parse_query(text)
    every = [r["id"] for r in emulator.events() if query.matches(r)]
    where = EventFilter(query=query)
    assert [r["id"] for r in emulator.events(where)] == every
    assert [r["id"] for r in await emulator.scan(where)] == every
    pinned = list(emulator._pinned_ids(where, None))
    assert set(every) <= set(pinned)
    if text in QUERIES_THAT_PIN:
        assert every, "a pinned query that matches nothing proves little"
        assert len(pinned) <= len(emulator.store) / 2
    else:
        assert len(pinned) == len(emulator.store)
