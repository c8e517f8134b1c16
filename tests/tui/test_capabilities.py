"""The destinations and violations views, with records that carry the shared contract's keys
(`deliveries`, `violations`, `lint`) and without them, when the capability is off.

The keys are attached by a subscriber registered before the inspector's: records reach the
inspector exactly as they would from the pipeline, keys included.
"""

from __future__ import annotations

from typing import Any

from textual.widgets import DataTable, Static

from segemu.emulator import Emulator
from segemu.message import Record
from segemu.tui.detail import DetailScreen
from segemu.tui.jsontree import JsonTree
from segemu.tui.table import EventTable
from tests.tui.helpers import in_process_app, post, rows, track, until


def cells(table: DataTable[Any]) -> list[list[str]]:
    return [[str(cell) for cell in table.get_row_at(row)] for row in range(table.row_count)]


def delivery(destination: str, name: str, status: str, reason: str | None,
             body: dict[str, Any] | None, attempts: int = 1) -> dict[str, Any]:
    requests = [] if body is None else [{
        "action": "Track Event", "method": "POST", "url": f"https://{destination}.example/api",
        "headers": {"Content-Type": "application/json"}, "body": body}]
    return {"destination": destination, "name": name, "status": status, "reason": reason,
            "requests": requests, "attempts": attempts}


def attach_deliveries(emulator: Emulator) -> None:
    def attach(records: list[Record]) -> None:
        for record in records:
            name = record["event"].get("event")
            record["deliveries"] = {  # type: ignore[typeddict-unknown-key]
                "mixpanel": delivery("mixpanel", "Mixpanel (Actions)", "delivered", None,
                                     {"event": name, "properties": {"distinct_id": "u_1"}}),
                "ga4": delivery("ga4", "Google Analytics 4", "filtered",
                                "consent: advertising denied", None),
                "webhook": delivery("webhook", "Webhook", "retrying", "HTTP 503, retrying",
                                    {"event": name}, attempts=2),
            }

    emulator.subscribe(attach)


def attach_findings(emulator: Emulator) -> None:
    def attach(records: list[Record]) -> None:
        for record in records:
            record["violations"] = [  # type: ignore[typeddict-unknown-key]
                {"type": "required", "path": "properties.price",
                 "message": "properties.price is required"}] if record["event"].get(
                "event") == "Order Completed" else []
            record["lint"] = [  # type: ignore[typeddict-unknown-key]
                {"rule": "dynamic-event-name", "message": "event name holds an id",
                 "path": "event"}] if "42" in str(record["event"].get("event")) else []

    emulator.subscribe(attach)


async def test_destinations_view_counts_deliveries_and_shows_the_last_payloads() -> None:
    app, emulator = in_process_app()
    attach_deliveries(emulator)
    async with app.run_test(size=(150, 45)) as pilot:
        await post(app.backend.url, "/v1/track", track("Order Completed"))
        await post(app.backend.url, "/v1/track", track("Signed Up"))
        table = app.query_one(EventTable)
        await until(pilot, lambda: len(rows(table)) == 2, "two rows")
        assert "destinations" in table.columns
        assert "1✓ 1⊘ 1↻" in rows(table)[0]

        await pilot.press("2")
        destinations = app.query_one("#destinations-table", DataTable)
        await until(pilot, lambda: destinations.row_count == 3, "three destinations")
        by_id = {row[0]: row for row in cells(destinations)}
        assert by_id["mixpanel"][1:3] == ["Mixpanel (Actions)", "2"]
        assert by_id["ga4"][3] == "2"  # filtered
        assert by_id["webhook"][5] == "2"  # retrying
        deliveries = app.query_one("#deliveries-table", DataTable)
        assert [row[2] for row in cells(deliveries)] == ["Signed Up", "Order Completed"]
        request = app.query_one("#delivery-request", JsonTree)
        assert "requests [1]" in [str(node.label) for node in request.root.children]

        # A webhook retried after ingest is delivered: the views catch up.
        for record in emulator.store.newest_first():
            record["deliveries"]["webhook"]["status"] = "delivered"  # type: ignore[typeddict-item]
        await until(pilot, lambda: {r[0]: r for r in cells(destinations)}["webhook"][2] == "2",
                    "the retried deliveries")

        await pilot.click("#deliveries-table")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, DetailScreen), "the detail")
        await pilot.press("right", "right")
        tree = app.screen.query_one("#json-deliveries", JsonTree)
        labels = [str(node.label) for node in tree.root.children]
        assert "ga4 · Google Analytics 4 · filtered (consent: advertising denied) {2}" in labels


async def test_violations_view_lists_findings_and_opens_the_event() -> None:
    app, emulator = in_process_app()
    attach_findings(emulator)
    async with app.run_test(size=(150, 40)) as pilot:
        await post(app.backend.url, "/v1/track", track("Order Completed"))
        await post(app.backend.url, "/v1/track", track("Viewed item 42"))
        await post(app.backend.url, "/v1/track", track("Signed Up"))
        table = app.query_one(EventTable)
        await until(pilot, lambda: len(rows(table)) == 3, "three rows")
        newest, middle, oldest = rows(table)
        assert "ok" in newest and "1 lint" in middle and "1 violation" in oldest

        await pilot.press("3")
        findings = app.query_one("#violations-table", DataTable)
        await until(pilot, lambda: findings.row_count == 2, "two findings")
        (_, _, lint_event, rule, _, _), (_, _, event, kind, path, message) = cells(findings)
        assert (lint_event, rule) == ("Viewed item 42", "lint: dynamic-event-name")
        assert (event, kind, path) == ("Order Completed", "required", "properties.price")
        assert message == "properties.price is required"
        await pilot.click("#violations-table")
        await pilot.press("down", "enter")
        await until(pilot, lambda: isinstance(app.screen, DetailScreen), "the detail")
        assert "Order Completed" in str(app.screen.query_one("#detail-title").render())


async def test_views_say_plainly_when_a_capability_is_off() -> None:
    app, _ = in_process_app()
    async with app.run_test(size=(150, 40)) as pilot:
        await post(app.backend.url, "/v1/track", track("Order Completed"))
        table = app.query_one(EventTable)
        await until(pilot, lambda: len(rows(table)) == 1, "the row")
        assert "destinations" not in table.columns and "violations" not in table.columns
        tabs = app.query_one("#tabs")
        assert str(tabs.get_tab("destinations").label) == "Destinations (off)"
        assert str(tabs.get_tab("violations").label) == "Violations (off)"
        await pilot.press("2")
        note = app.query_one("#destinations-note", Static)
        await until(pilot, lambda: "off" in str(note.render()), "the note")
        assert str(note.render()) == ("Mock destinations are off: this segemu does not run "
                                      "mock destinations.")
        await pilot.press("3")
        note = app.query_one("#violations-note", Static)
        await until(pilot, lambda: "off" in str(note.render()), "the note")
        assert str(note.render()) == ("Tracking plans are off: this segemu does not check "
                                      "tracking plans.")
        await pilot.press("1", "enter")
        await until(pilot, lambda: isinstance(app.screen, DetailScreen), "the detail")
        await pilot.press("right", "right")
        shown = [str(s.render()) for s in app.screen.query(".off")]
        assert "Mock destinations are off: this segemu does not run mock destinations." in shown
