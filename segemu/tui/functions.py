"""The Functions screen (key F): Source Function invocations, newest first, and for the
highlighted one its webhook, the calls it emitted, its console output, fetches and error.
Destination and Insert Function deliveries show in each event's detail (Destinations tab),
with the same console output, fetches and errors."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from segemu.tui.jsontree import JsonTree

Invocations = Callable[[], Awaitable[list[dict[str, Any]] | None]]


def outcome(invocation: dict[str, Any]) -> Text:
    if invocation.get("ok"):
        return Text(f"✓ {invocation.get('status')}", style="bold green")
    error = invocation.get("error") or {}
    return Text(f"✗ {invocation.get('status')} {error.get('name', '')}", style="bold red")


class FunctionsScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "app.pop_screen", "Back"),
        Binding("r", "reload", "Refresh"),
    ]

    def __init__(self, invocations: Invocations) -> None:
        super().__init__()
        self.fetch_invocations = invocations
        self.invocations: list[dict[str, Any]] = []

    def compose(self) -> ComposeResult:
        yield Static("Source Function invocations, newest first", classes="section")
        yield DataTable(id="invocations-table", cursor_type="row")
        with VerticalScroll(id="invocation-detail"):
            yield Static("", id="invocation-empty")
            yield JsonTree("invocation", {}, id="invocation-tree")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#invocations-table", DataTable)
        table.add_columns("at", "function", "outcome", "emitted", "logs", "ms")
        self.action_reload()

    @work(exclusive=True)
    async def action_reload(self) -> None:
        found = await self.fetch_invocations()
        table = self.query_one("#invocations-table", DataTable)
        table.clear()
        empty = self.query_one("#invocation-empty", Static)
        if found is None:
            empty.update("This segemu does not run Functions.")
            return
        self.invocations = found
        for invocation in found:
            table.add_row(
                str(invocation.get("at", ""))[11:23],
                str(invocation.get("function", "")),
                outcome(invocation),
                str(len(invocation.get("emitted") or [])),
                str(len(invocation.get("logs") or [])),
                f"{invocation.get('durationMs', 0):.1f}",
            )
        if not found:
            empty.update("No invocation yet: POST a webhook to /functions/<source name>.")
        else:
            empty.update("")
            self._show(0)

    @on(DataTable.RowHighlighted, "#invocations-table")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show(event.cursor_row)

    def _show(self, row: int) -> None:
        if not 0 <= row < len(self.invocations):
            return
        invocation = self.invocations[row]
        shown = {
            "error": invocation.get("error"),
            "logs": [line.get("message") for line in invocation.get("logs") or []],
            "emitted": invocation.get("emitted"),
            "fetches": invocation.get("fetches"),
            "request": invocation.get("request"),
            "recordIds": invocation.get("recordIds"),
        }
        self.query_one("#invocation-tree", JsonTree).load(shown)
