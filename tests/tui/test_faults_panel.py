"""The faults panel, driven as a user drives it: a rule fails a call POSTed over real HTTP, the
SDK's retry gets through, and the panel shows the rule, the refused request with its
X-Retry-Count, and that its call arrived later."""

from __future__ import annotations

import base64

import aiohttp
import pytest
from textual.widgets import DataTable

from segemu.http.server import RunningServer
from segemu.tui.factory import create_app
from segemu.tui.remote import RemoteBackend
from tests.tui.helpers import WRITE_KEY, in_process_app, track, until


async def send(url: str, message_id: str, retry: int | None = None) -> int:
    headers = {"Authorization": "Basic " + base64.b64encode(f"{WRITE_KEY}:".encode()).decode()}
    if retry is not None:
        headers["X-Retry-Count"] = str(retry)
    body = {**track("Order Completed"), "messageId": message_id}
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{url}/v1/track", json=body, headers=headers) as response,
    ):
        return response.status


def cells(table: DataTable[object]) -> list[list[str]]:
    return [[str(cell) for cell in table.get_row_at(y)] for y in range(table.row_count)]


async def test_the_panel_shows_rules_refused_requests_and_what_arrived_later() -> None:
    app, emulator = in_process_app()
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.press("5")
        rules = app.query_one("#fault-rules", DataTable)
        faulted = app.query_one("#faulted", DataTable)
        await until(pilot, lambda: rules.row_count == 1, "the empty-state row")
        assert "No fault rules" in cells(rules)[0][1]

        emulator.faults.add({"id": "outage", "status": 503, "times": 2, "type": "track"})
        assert await send(app.backend.url, "m-1") == 503
        assert await send(app.backend.url, "m-1", retry=1) == 503
        assert await send(app.backend.url, "m-1", retry=2) == 200
        await until(pilot, lambda: faulted.row_count == 2, "two faulted requests")

        [rule] = cells(rules)
        assert rule[:2] == ["outage", "503"]
        assert "type=track times=2" in rule[2]
        assert rule[3:] == ["3", "2"]
        newest, oldest = cells(faulted)
        assert newest[1:7] == ["outage", "503", "/v1/track", WRITE_KEY, "1", "1"]
        assert oldest[5] == "-"  # the first attempt sends no X-Retry-Count
        assert newest[7] == "all 1 arrived later"
        assert app.query_one("#faulted").has_focus


async def test_the_attached_inspector_shows_the_same_panel(server: RunningServer) -> None:
    server.emulator.faults.add({"id": "flaky", "reset": True, "every": 2})
    assert await send(server.url, "r-1") == 200
    app = create_app(RemoteBackend(server.url))
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.press("5")
        faulted = app.query_one("#faulted", DataTable)
        rules = app.query_one("#fault-rules", DataTable)
        with pytest.raises(aiohttp.ClientConnectionError):  # the reset, as a client sees it
            await send(server.url, "r-2")
        await until(pilot, lambda: faulted.row_count == 1, "the faulted request")
        assert cells(rules)[0][:2] == ["flaky", "connection reset"]
        [entry] = cells(faulted)
        assert entry[1:3] == ["flaky", "connection reset"]
        assert entry[7] == "1 of 1 missing"
