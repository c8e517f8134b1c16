from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from segemu.emulator import Emulator, create_emulator
from segemu.http.sender import HttpSender
from segemu.message import Envelope
from segemu.query import EventFilter, parse_query

FIXTURES = Path(__file__).parents[2] / "fixtures" / "functions"


class Api:
    """A local HTTP service a function's fetch reaches: answers `statuses` in turn, then 200."""

    def __init__(self) -> None:
        self.statuses: list[int] = []
        self.received: list[tuple[str, dict[str, str], Any]] = []

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json() if request.can_read_body else None
        self.received.append((request.path, dict(request.headers), body))
        status = self.statuses.pop(0) if self.statuses else 200
        return web.json_response({"id": f"crm-{len(self.received)}"}, status=status)


@pytest.fixture
async def api() -> AsyncIterator[tuple[Api, str]]:
    target = Api()
    app = web.Application()
    app.router.add_post("/{tail:.*}", target.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield target, str(server.make_url("")).rstrip("/")
    await server.close()


async def started(**settings: Any) -> Emulator:
    emulator = create_emulator(db=":memory:", sender=HttpSender(), **settings)
    await emulator.start()
    return emulator


def send(emulator: Emulator, *calls: dict[str, Any]) -> None:
    emulator.ingest(
        Envelope(
            route="/v1/batch",
            received_at=datetime.now(UTC),
            items=[{"writeKey": "wk", "userId": "u1", **call} for call in calls],
        )
    )


async def settled(
    emulator: Emulator, destination: str, status: str, count: int = 1
) -> list[dict[str, Any]]:
    """The deliveries to `destination` that reached `status`, oldest first, once `count` have."""
    where = EventFilter(query=parse_query(f"deliveries.{destination}.status:{status}"))
    records = await emulator.wait_for(where, count, timeout=15)
    assert len(records) >= count, f"{len(records)} deliveries reached {status}"
    return [dict(emulator.deliveries_of(r)[destination]) for r in reversed(records)]
