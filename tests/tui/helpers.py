"""Shared by the inspector's tests: building the app the way the CLI does, sending events over
real HTTP, reading the screen as a user sees it, and waiting on conditions (never sleeps)."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import aiohttp
from textual.pilot import Pilot

from segemu import create_emulator
from segemu.emulator import Emulator
from segemu.message import Envelope
from segemu.tui.app import InspectorApp
from segemu.tui.factory import create_app
from segemu.tui.local import InProcessBackend
from segemu.tui.table import EventTable

WRITE_KEY = "tui_key"
# Bounds every wait on the screen; a test never sleeps.
TIMEOUT = 10.0


def in_process_app(**settings: Any) -> tuple[InspectorApp, Emulator]:
    emulator = create_emulator(db=":memory:", port=0, **settings)
    return create_app(InProcessBackend(emulator)), emulator


async def post(url: str, path: str, body: Any, write_key: str = WRITE_KEY) -> Any:
    auth = "Basic " + base64.b64encode(f"{write_key}:".encode()).decode()
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{url}{path}", json=body, headers={"Authorization": auth}) as response,
    ):
        assert response.status == 200, await response.text()
        return await response.json()


def track(event: str, user: str = "u_1", **properties: Any) -> dict[str, Any]:
    return {"type": "track", "event": event, "userId": user, "properties": properties}


async def until(pilot: Pilot[None], condition: Callable[[], bool], what: str) -> None:
    """Let the app run until `condition` holds: new events reach the screen on the app's
    render timer."""
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause()


def screen_lines(table: EventTable) -> list[str]:
    """The table's lines as the user sees them: header first."""
    height = table.scrollable_content_region.height
    return [table.render_line(y).text.rstrip() for y in range(height)]


def rows(table: EventTable) -> list[str]:
    return [line for line in screen_lines(table)[1:] if line.strip()]


# A fixed clock for pictures: the snapshot tests ingest through the emulator, as HTTP would.
FIXED = datetime(2026, 11, 22, 9, 30, 0, tzinfo=UTC)


def ingest(
    emulator: Emulator,
    *items: dict[str, Any],
    seconds: float = 0.0,
    write_key: str = WRITE_KEY,
    route: str = "/v1/batch",
) -> None:
    moment = FIXED.replace(microsecond=0).timestamp() + seconds
    emulator.ingest(
        Envelope(
            route=route,
            items=list(items),
            received_at=datetime.fromtimestamp(moment, UTC),
            header_write_key=write_key,
        )
    )
