"""What the SDK fault tests share: adding a rule over the control API, reading the faulted
requests, and checking that every call arrived exactly once."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

import aiohttp

from segemu.http.server import RunningServer
from segemu.message import Record
from tests.conftest import get_json


async def add_fault(
    http: aiohttp.ClientSession, server: RunningServer, **rule: Any
) -> dict[str, Any]:
    async with http.post(f"{server.url}/_segemu/faults", json=rule) as response:
        body: dict[str, Any] = await response.json()
        assert response.status == 201, body
    return body


async def faulted(
    http: aiohttp.ClientSession, server: RunningServer, write_key: str
) -> list[dict[str, Any]]:
    """The write key's faulted requests, oldest first."""
    listing = await get_json(http, f"{server.url}/_segemu/faults?writeKey={write_key}")
    entries: list[dict[str, Any]] = listing["faulted"][::-1]
    return entries


def gaps(entries: list[dict[str, Any]], last: str | None = None) -> list[float]:
    """Seconds between consecutive attempts (and the attempt that got through, at `last`)."""
    times = [datetime.fromisoformat(entry["at"]) for entry in entries]
    if last is not None:
        times.append(datetime.fromisoformat(last))
    return [(later - earlier).total_seconds() for earlier, later in itertools.pairwise(times)]


def arrived_once(server: RunningServer, message_ids: list[str]) -> list[Record]:
    """Each messageId stored once and accepted (retries that got through after a success
    would be stored as duplicates: there must be none). Returns the records in order."""
    records = []
    for message_id in message_ids:
        stored = server.emulator.store.with_message_id(message_id)
        assert [r["status"] for r in stored] == ["accepted"], (message_id, stored)
        records.append(stored[0])
    return records
