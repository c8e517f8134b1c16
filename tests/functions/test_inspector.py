"""The inspector's Functions screen (key F): Source Function invocations with their console
output and errors, and a Destination Function's delivery in an event's detail."""

from __future__ import annotations

import aiohttp
from textual.widgets import DataTable

from segemu.tui.detail import deliveries_view
from segemu.tui.functions import FunctionsScreen
from segemu.tui.jsontree import JsonTree
from tests.functions.conftest import FIXTURES
from tests.tui.helpers import in_process_app, until


async def test_source_function_invocations_show_with_logs_and_errors() -> None:
    app, emulator = in_process_app(
        sources={"auth0": {"function": str(FIXTURES / "auth0.js")}},
        destinations={"crm": {"function": str(FIXTURES / "crm.js")}},
    )
    async with app.run_test(size=(140, 40)) as pilot:
        url = app.backend.url
        async with aiohttp.ClientSession() as http:
            for body in (b'[{"log_id": "1", "data": {"type": "s", "user_id": "u1"}}]', b"{}"):
                async with http.post(f"{url}/functions/auth0", data=body) as response:
                    await response.read()
        await pilot.press("F")
        screen = app.screen
        assert isinstance(screen, FunctionsScreen)
        table = screen.query_one("#invocations-table", DataTable)
        await until(pilot, lambda: table.row_count == 2, "two invocations")
        newest = [str(cell) for cell in table.get_row_at(0)]
        oldest = [str(cell) for cell in table.get_row_at(1)]
        assert newest[1:3] == ["auth0", "✗ 400 InvalidEventPayload"]
        assert oldest[1:4] == ["auth0", "✓ 200", "1"]
        tree = screen.query_one(JsonTree)
        assert tree.data["error"]["message"] == "Auth0 log streams send a JSON array"
        table.move_cursor(row=1)
        await until(
            pilot, lambda: screen.query_one(JsonTree).data["error"] is None, "the older one"
        )
        assert screen.query_one(JsonTree).data["emitted"][0]["event"] == "Signed In"
    # The call it emitted went to the Destination Function: its detail shows the invocation.
    [record] = emulator.events()
    shown = deliveries_view(emulator.with_deliveries(record))
    assert shown is not None
    assert any(label.startswith("crm · crm ·") for label in shown)
