"""The violations view: every tracking-plan violation and lint finding the events carry,
newest first; Enter opens the event."""

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
from segemu.tui.columns import event_name, findings
from segemu.tui.messages import OpenRecord

# Findings listed; the newest are the ones being worked on.
SHOWN = 1000


def rows(newest_first: Iterable[Record]) -> tuple[list[tuple[Record, str, str, str, str]], int]:
    """(record, kind, tone, path, message) per finding, newest first, and how many records
    carried the keys at all."""
    found: list[tuple[Record, str, str, str, str]] = []
    checked = 0
    for record in newest_first:
        if "violations" not in record and "lint" not in record:
            continue
        checked += 1
        violations, lint = findings(record)
        for violation in violations:
            if isinstance(violation, dict):
                found.append(
                    (
                        record,
                        str(violation.get("type", "violation")),
                        "red",
                        str(violation.get("path") or ""),
                        str(violation.get("message", "")),
                    )
                )
        for finding in lint:
            if isinstance(finding, dict):
                found.append(
                    (
                        record,
                        f"lint: {finding.get('rule', '?')}",
                        "yellow",
                        str(finding.get("path") or ""),
                        str(finding.get("message", "")),
                    )
                )
        if len(found) >= SHOWN:
            break
    return found[:SHOWN], checked


class ViolationsView(Vertical):
    _shown: Any = None

    def compose(self) -> ComposeResult:
        yield Static("", id="violations-note", classes="off")
        yield DataTable(id="violations-table", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns("time", "#", "event", "finding", "path", "message")

    def show(self, newest_first: Iterable[Record], capability: Capability) -> None:
        found, checked = rows(newest_first)
        shown = (
            [(r["id"], kind, path, message) for r, kind, _, path, message in found],
            checked,
            capability,
        )
        if shown == self._shown:
            return  # rebuilding the table costs a layout: only when something changed
        self._shown = shown
        if not checked and not capability.on:
            text = f"Tracking plans are off: {capability.why}."
        elif not found:
            text = (
                f"No violations or lint findings in {checked:,} checked events."
                if checked
                else "No events checked against a tracking plan yet."
            )
        else:
            text = ""
        note = self.query_one("#violations-note", Static)
        note.update(text)
        note.display = bool(text)
        table = self.query_one(DataTable)
        row = table.cursor_row
        table.clear()
        for number, (record, kind, tone, path, message) in enumerate(found):
            table.add_row(
                record["receivedAt"][11:23],
                str(record["id"]),
                event_name(record),
                Text(kind, style=tone),
                path,
                message,
                key=f"{record['id']}:{number}",
            )
        table.display = bool(found)
        if found:
            table.move_cursor(row=min(row, len(found) - 1))

    @on(DataTable.RowSelected)
    def _open(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            record_id = int(event.row_key.value.split(":")[0])
            self.post_message(OpenRecord(record_id, tab="tab-plan"))
