"""Export -> import -> replay, as a user runs them (the CLI in a subprocess), comparing every
field of every call: calls from the real Python SDK, a batch that lends its context, a
browser route, a call without a messageId and one Segment would drop."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from segment.analytics import Client

from segemu import create_emulator
from segemu.emulator import Emulator
from segemu.http.server import start_server
from segemu.message import Record, format_timestamp, parse_timestamp
from segemu.query import EventFilter

from .support import segemu

KEY = "source_key"


def records_of(emulator: Emulator) -> list[Record]:
    return sorted(emulator.events(EventFilter()), key=lambda r: r["id"])


def without(record: Mapping[str, Any], *names: str) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k not in names}


async def post(url: str, path: str, body: Any, key: str = KEY) -> None:
    auth = base64.b64encode(f"{key}:".encode()).decode()
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{url}{path}", json=body, headers={"Authorization": f"Basic {auth}"}
        ) as answer,
    ):
        assert answer.status == 200


@pytest.fixture
async def original(tmp_path: Path) -> list[Record]:
    """The records of a durable segemu that got calls of every kind, stopped (so that every
    call is on disk) in tmp_path / "a"."""
    server = await start_server(create_emulator(db=str(tmp_path / "a")), "127.0.0.1", 0)
    client = Client(KEY, host=server.url, sync_mode=True)
    await asyncio.to_thread(client.identify, "u1", {"email": "ada@example.com", "plan": "pro"})
    await asyncio.to_thread(client.track, "u1", "Order Completed", {"revenue": 9.5, "n": [1, 2]})
    await asyncio.to_thread(client.page, "u1", "Docs", "Home", {"path": "/"})
    await post(
        server.url,
        "/v1/batch",
        {
            "batch": [
                {
                    "type": "track",
                    "event": "Batched",
                    "anonymousId": "a1",
                    "messageId": "b-1",
                    "context": {"own": 1},
                },
                {
                    "type": "group",
                    "groupId": "g1",
                    "userId": "u1",
                    "messageId": "b-2",
                    "traits": {"name": "Initech"},
                },
            ],
            "context": {"app": {"name": "lent by the batch"}},
            "integrations": {"Mixpanel": False},
            "sentAt": "2030-01-01T00:00:00.000Z",
        },
    )
    await post(
        server.url,
        "/v1/t",
        {
            "type": "track",
            "event": "Clicked",
            "anonymousId": "a2",
            "messageId": "browser-1",
            "timestamp": "2026-01-01T00:00:00Z",
        },
    )
    await post(server.url, "/v1/track", {"event": "No id", "userId": "u2"})
    await post(server.url, "/v1/track", {"userId": "u3", "messageId": "dropped-1"})  # no event
    records = records_of(server.emulator)
    await server.stop()
    return records


async def test_export_import_round_trip_keeps_every_field(
    original: list[Record], tmp_path: Path
) -> None:
    before = original
    assert len(before) == 8
    assert [r["status"] for r in before].count("rejected") == 1
    db = str(tmp_path / "a")

    done = await segemu("export", "--db", db, "-o", "calls.jsonl", cwd=tmp_path)
    assert done.status == 0, done.stderr
    assert "exported 8 call(s)" in done.stderr
    done = await segemu("import", "--db", "b", "calls.jsonl", cwd=tmp_path)
    assert done.status == 0, done.stderr
    assert "imported 8 call(s)" in done.stdout
    assert "(7 accepted, 1 rejected)" in done.stdout

    imported = create_emulator(db=str(tmp_path / "b"))
    after = records_of(imported)
    imported.store.close()
    # Every field, but the record's own id in its store; the call that was sent without a
    # messageId keeps the one it was given (segemu/traffic/calls.py record_line).
    for old, new in zip(before, after, strict=True):
        if old["event"].get("event") == "No id":
            assert new["raw"] == {**old["raw"], "messageId": old["messageId"]}
            assert without(new, "id", "raw") == without(old, "id", "raw")
        else:
            assert without(new, "id") == without(old, "id")

    # Idempotent by messageId: a second import adds nothing.
    done = await segemu("import", "--db", "b", "calls.jsonl", cwd=tmp_path)
    assert "imported 0 call(s)" in done.stdout
    assert "8 already there" in done.stdout


@pytest.mark.parametrize("layout", ["normalized", "archive"])
async def test_the_stored_shape_round_trips_what_segment_stores(
    original: list[Record], tmp_path: Path, layout: str
) -> None:
    before = original
    target = "archive" if layout == "archive" else "stored.jsonl"
    done = await segemu(
        "export", "--db", str(tmp_path / "a"), "-f", layout, "-o", target, cwd=tmp_path
    )
    assert done.status == 0, done.stderr
    if layout == "archive":
        days = list((tmp_path / "archive" / "segment-logs" / "default").iterdir())
        assert days
        assert all(d.name.isdigit() and int(d.name) % 86_400_000 == 0 for d in days)
    done = await segemu("import", "--db", "c", target, cwd=tmp_path)
    assert done.status == 0, done.stderr
    imported = create_emulator(db=str(tmp_path / "c"))
    after = records_of(imported)
    imported.store.close()
    # What Segment stores is all the archive has: the stored call, field for field, and
    # the record's verdicts; the call as sent is the stored one taken back.
    for old, new in zip(before, after, strict=True):
        for name in ("messageId", "writeKey", "type", "status", "reason", "receivedAt", "event"):
            assert new[name] == old[name], name


async def test_replay_sends_every_call_to_another_segemu(
    original: list[Record], tmp_path: Path
) -> None:
    before = [r for r in original if r["status"] == "accepted"]
    await segemu("export", "--db", str(tmp_path / "a"), "-o", "calls.jsonl", cwd=tmp_path)
    second = await start_server(create_emulator(db=":memory:"), "127.0.0.1", 0)
    try:
        done = await segemu(
            "replay",
            "calls.jsonl",
            "--to",
            second.url,
            "--map-key",
            f"{KEY}=replayed",
            cwd=tmp_path,
        )
        assert done.status == 0, done.stdout + done.stderr
        assert f"8 sent, 0 retried to {second.url}/v1/batch" in done.stdout
        after = {r["messageId"]: r for r in records_of(second.emulator)}
    finally:
        await second.stop()
    for old in before:
        new = after[old["messageId"]]
        assert new["writeKey"] == "replayed"
        assert new["status"] == "accepted"
        # The call as sent, but for its sentAt (replay leaves it out so that the receiving
        # end keeps the call's timestamp) and the batch's context now inside it.
        sent = {k: v for k, v in old["raw"].items() if k not in ("sentAt", "writeKey")}
        if old["event"]["context"]:
            sent["context"] = old["event"]["context"]
        if old["event"].get("integrations"):
            sent["integrations"] = old["event"]["integrations"]
        if "messageId" not in sent:
            sent["messageId"] = old["messageId"]
        sent["type"] = old["type"]  # a call to /v1/track need not name its type; a batch's must
        assert new["raw"] == sent
        # The stored call: the same, but for when it arrived, and the channel of the route
        # (replay posts to /v1/batch, a server route). A call sent without a timestamp gets
        # the time of its arrival, there as here.
        moved = ["receivedAt", "sentAt", "timestamp", "channel"]
        if "timestamp" not in old["raw"]:
            moved.append("originalTimestamp")
        assert without(new["event"], *moved) == without(old["event"], *moved)
        if "timestamp" in old["raw"]:
            original_time = parse_timestamp(old["event"]["originalTimestamp"])
            assert original_time is not None
            assert new["event"]["timestamp"] == format_timestamp(original_time)
