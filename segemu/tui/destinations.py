"""The destinations view: per destination, how many calls were delivered, filtered, failed or
are being retried, the last error, and the last payloads it would have received."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from segemu.message import Record
from segemu.tui.backend import Capability
from segemu.tui.columns import event_name
from segemu.tui.deliveries import COUNTED, DestinationSummary, summarize
from segemu.tui.jsontree import JsonTree
from segemu.tui.messages import OpenRecord

TONES = {
    "delivered": "green",
    "filtered": "dim",
    "failed": "red",
    "retrying": "yellow",
    "pending": "dim",
}


class DestinationsView(Vertical):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.summaries: list[DestinationSummary] = []
        self._selected: str | None = None
        self._shown: list[Any] | None = None
        self._capability: Capability | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="destinations-note", classes="off")
        yield DataTable(id="destinations-table", cursor_type="row", zebra_stripes=True)
        yield Static("", id="deliveries-title", classes="section")
        yield DataTable(id="deliveries-table", cursor_type="row")
        yield JsonTree("request", None, id="delivery-request")

    def on_mount(self) -> None:
        self.query_one("#destinations-table", DataTable).add_columns(
            "destination", "name", *COUNTED, "last error"
        )
        self.query_one("#deliveries-table", DataTable).add_columns(
            "time", "#", "event", "status", "reason / request"
        )

    def show(
        self,
        newest_first: Iterable[Record],
        capability: Capability,
        listing: list[dict[str, Any]] | None,
    ) -> None:
        summaries = summarize(newest_first, listing)
        shown = [
            (
                s.id,
                s.name,
                s.enabled,
                sorted(s.counts.items()),
                s.last_error,
                [(r["id"], d.get("status")) for r, d in s.recent],
            )
            for s in summaries
        ]
        if shown == self._shown and capability == self._capability:
            return  # rebuilding the tables costs a layout: only when something changed
        self._shown, self._capability = shown, capability
        self.summaries = summaries
        if not self.summaries:
            text = (
                f"Mock destinations are off: {capability.why}."
                if not capability.on
                else "No destination has received anything yet: configure "
                "[destinations.<id>] in segemu.toml and send an event."
            )
        else:
            text = "" if capability.on else f"({capability.why}; showing what events carry)"
        note = self.query_one("#destinations-note", Static)
        note.update(text)
        note.display = bool(text)
        table = self.query_one("#destinations-table", DataTable)
        row = table.cursor_row
        table.clear()
        for summary in self.summaries:
            counts = [
                Text(
                    f"{summary.counts.get(s, 0):,}",
                    style=TONES[s] if summary.counts.get(s) else "dim",
                )
                for s in COUNTED
            ]
            name = summary.name + ("" if summary.enabled is not False else " (disabled)")
            table.add_row(
                summary.id,
                name,
                *counts,
                Text(summary.last_error or "", style="red"),
                key=summary.id,
            )
        if self.summaries:
            table.move_cursor(row=min(row, len(self.summaries) - 1))
            self._show_deliveries(self.summaries[table.cursor_row])
        for widget in (
            "#destinations-table",
            "#deliveries-title",
            "#deliveries-table",
            "#delivery-request",
        ):
            self.query_one(widget).display = bool(self.summaries)

    @on(DataTable.RowHighlighted, "#destinations-table")
    def _destination(self, event: DataTable.RowHighlighted) -> None:
        if 0 <= event.cursor_row < len(self.summaries):
            self._show_deliveries(self.summaries[event.cursor_row])

    def _show_deliveries(self, summary: DestinationSummary) -> None:
        self._selected = summary.id
        self.query_one("#deliveries-title", Static).update(
            f"Last calls for {summary.name} ({summary.id}), newest first; Enter opens the event"
        )
        table = self.query_one("#deliveries-table", DataTable)
        row = table.cursor_row
        table.clear()
        for record, delivery in summary.recent:
            status = str(delivery.get("status"))
            requests = delivery.get("requests") or []
            first = requests[0] if requests and isinstance(requests[0], dict) else {}
            about = delivery.get("reason") or " ".join(
                str(first.get(k)) for k in ("action", "method", "url") if first.get(k)
            )
            table.add_row(
                record["receivedAt"][11:23],
                str(record["id"]),
                event_name(record),
                Text(status, style=TONES.get(status, "")),
                about or "",
                key=str(record["id"]),
            )
        if summary.recent:
            table.move_cursor(row=min(row, len(summary.recent) - 1))
            self._show_request(summary.recent[table.cursor_row][1])
        else:
            self.query_one("#delivery-request", JsonTree).load(None)

    @on(DataTable.RowHighlighted, "#deliveries-table")
    def _delivery(self, event: DataTable.RowHighlighted) -> None:
        summary = self._current()
        if summary is not None and 0 <= event.cursor_row < len(summary.recent):
            self._show_request(summary.recent[event.cursor_row][1])

    @on(DataTable.RowSelected, "#deliveries-table")
    def _open(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            self.post_message(OpenRecord(int(event.row_key.value), tab="tab-deliveries"))

    def _current(self) -> DestinationSummary | None:
        return next((s for s in self.summaries if s.id == self._selected), None)

    def _show_request(self, delivery: dict[str, Any]) -> None:
        shown = {k: v for k, v in delivery.items() if k in ("requests", "attempts", "reason")}
        self.query_one("#delivery-request", JsonTree).load(shown)
