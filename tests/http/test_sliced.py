"""A stream resume's records are encoded a record at a time, with pauses on the loop."""

from __future__ import annotations

import asyncio

import aiohttp
import orjson
import pytest

import segemu.http.sliced
from segemu.http.server import RunningServer
from segemu.http.sliced import encoded_sliced
from tests.http.test_control import send
from tests.test_scan import one_turn


async def test_encoding_pauses_between_slices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(segemu.http.sliced, "ENCODE_SLICE_SECONDS", 0.0)
    turns = 0

    async def other_work() -> None:
        nonlocal turns
        while True:
            turns += 1
            await one_turn()

    other = asyncio.create_task(other_work())
    try:
        encoded = await encoded_sliced([{"n": n} for n in range(50)], orjson.dumps)
    finally:
        other.cancel()
    assert encoded == [orjson.dumps({"n": n}) for n in range(50)]
    # In one go it would not run at all; one_turn takes two loop turns of the 50 pauses.
    assert turns >= 20


async def test_a_resume_sends_its_backlog_encoded_in_slices_in_order(
    server: RunningServer, http: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(segemu.http.sliced, "ENCODE_SLICE_SECONDS", 0.0)  # a pause each record
    batch = [{"type": "track", "event": f"Step {n}", "userId": "u_1"} for n in range(5)]
    await send(http, server, "key_a", batch)
    ids: list[int] = []
    async with http.get(f"{server.url}/_segemu/stream?after=0") as answer:
        assert answer.status == 200
        async for line in answer.content:
            if line.startswith(b"data: "):
                record = orjson.loads(line[len(b"data: ") :])
                ids.append(record["id"])
                assert record["event"]["event"] == f"Step {len(ids) - 1}"
                if len(ids) == len(batch):
                    break
    assert ids == sorted(ids)
