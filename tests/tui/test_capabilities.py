"""The destinations and violations views, with records that carry the shared contract's keys
(`deliveries`, `violations`, `lint`) and without them, when the capability is off.

The keys are attached by a subscriber registered before the inspector's: records reach the
inspector exactly as they would from the pipeline, keys included.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.widgets import DataTable, Static, TabbedContent

from segemu.tui.detail import DetailScreen
from segemu.tui.jsontree import JsonTree
from segemu.tui.table import EventTable
from tests.tui.helpers import in_process_app, post, rows, track, until

SHOP_PLAN = Path(__file__).parents[2] / "fixtures" / "plans" / "shop.yaml"


def cells(table: DataTable[Any]) -> list[list[str]]:
    return [[str(cell) for cell in table.get_row_at(row)] for row in range(table.row_count)]


# Mock destinations from config (segemu/destinations/config.py): Mixpanel's API fails twice
# (an injected fault) and is retried, Amplitude drops internal events with a filter.
DESTINATIONS = {
    "mixpanel": {"failures": {"status": 503, "times": 2}, "retry": {"backoff": 0.3}},
    "amplitude": {
        "filters": [{"name": "drop internal events", "if": 'event = "Internal Test"', "drop": True}]
    },
}


async def test_destinations_view_counts_deliveries_and_shows_the_last_payloads() -> None:
    app, _ = in_process_app(destinations=DESTINATIONS)
    async with app.run_test(size=(150, 45)) as pilot:
        await post(app.backend.url, "/v1/track", track("Internal Test"))
        await post(app.backend.url, "/v1/track", track("Signed Up"))
        table = app.query_one(EventTable)
        await until(pilot, lambda: len(rows(table)) == 2, "two rows")
        assert "destinations" in table.columns

        await pilot.press("2")
        destinations = app.query_one("#destinations-table", DataTable)
        await until(pilot, lambda: destinations.row_count >= 2, "the destinations")
        # Mixpanel's deliveries are retried after ingest, then delivered: the view follows.
        await until(
            pilot,
            lambda: {r[0]: r for r in cells(destinations)}["mixpanel"][2] == "2",
            "the retried deliveries to be delivered",
        )
        by_id = {row[0]: row for row in cells(destinations)}
        assert by_id["mixpanel"][1] == "Mixpanel (Actions)"
        assert by_id["amplitude"][2:4] == ["1", "1"]  # one delivered, one filtered
        deliveries = app.query_one("#deliveries-table", DataTable)
        assert [row[2] for row in cells(deliveries)] == ["Signed Up", "Internal Test"]
        request = app.query_one("#delivery-request", JsonTree)
        labels = [str(node.label) for node in request.root.children]
        assert "attempts: 3" in labels
        assert "requests [1]" in labels

        await pilot.press("down")  # Amplitude
        await until(
            pilot,
            lambda: "filter 'drop internal events'" in str(cells(deliveries)),
            "Amplitude's deliveries",
        )
        await pilot.press("tab", "down", "enter")
        await until(pilot, lambda: isinstance(app.screen, DetailScreen), "the detail")
        await pilot.press("right", "right")
        tree = app.screen.query_one("#json-deliveries", JsonTree)
        labels = [str(node.label) for node in tree.root.children]
        assert (
            "amplitude · Actions Amplitude · filtered "
            "(filter 'drop internal events' (drop event)) {2}"
        ) in labels


async def test_violations_view_lists_findings_and_opens_the_event() -> None:
    # The shop's tracking plan (fixtures/plans/shop.yaml), checked by segemu/protocols.
    app, _ = in_process_app(protocols={"tracking_plan": str(SHOP_PLAN)})
    async with app.run_test(size=(150, 40)) as pilot:
        library = {"library": {"name": "analytics-python", "version": "2.4.0"}}
        await post(
            app.backend.url,
            "/v1/track",
            {**track("Order Completed", revenue="12"), "context": library},
        )
        await post(
            app.backend.url, "/v1/track", {**track("Signed Up", plan="pro"), "context": library}
        )
        table = app.query_one(EventTable)
        await until(pilot, lambda: len(rows(table)) == 2, "two rows")
        newest, oldest = rows(table)
        assert "4 violations" in oldest
        assert newest.endswith(" ok")

        await pilot.press("3")
        findings = app.query_one("#violations-table", DataTable)
        await until(pilot, lambda: findings.row_count > 0, "the findings")
        found = cells(findings)
        assert {row[2] for row in found} == {"Order Completed"}
        by_path = {row[4]: row for row in found}
        assert by_path["properties.revenue"][3:] == [
            "type",
            "properties.revenue",
            'properties.revenue must be a number, got string "12"',
        ]
        assert by_path["properties.order_id"][3] == "required"
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, DetailScreen), "the detail")
        assert "Order Completed" in str(app.screen.query_one("#detail-title").render())
        # From the violations, the detail opens on what they are about (issue 18, item 5).
        assert app.screen.query_one(TabbedContent).active == "tab-plan"
        plan = app.screen.query_one("#json-plan", JsonTree)
        assert "violations [" in str([str(node.label) for node in plan.root.children])


async def test_views_say_plainly_when_no_destination_is_configured() -> None:
    # An empty [destinations] table: no mock destination runs.
    app, _ = in_process_app(destinations={})
    async with app.run_test(size=(150, 40)) as pilot:
        await post(app.backend.url, "/v1/track", track("Order Completed"))
        table = app.query_one(EventTable)
        await until(pilot, lambda: len(rows(table)) == 1, "the row")
        assert "destinations" not in table.columns
        assert str(app.tabs.get_tab("destinations").label) == "Destinations (off)"
        await pilot.press("2")
        note = app.query_one("#destinations-note", Static)
        await until(pilot, lambda: "off" in str(note.render()), "the note")
        assert str(note.render()) == (
            "Mock destinations are off: no destination is configured "
            "([destinations.<id>] in segemu.toml)."
        )
        await pilot.press("1", "enter")
        await until(pilot, lambda: isinstance(app.screen, DetailScreen), "the detail")
        await pilot.press("right", "right")
        shown = [str(s.render()) for s in app.screen.query(".off")]
        assert (
            "Mock destinations are off: no destination is configured ([destinations.<id>] "
            "in segemu.toml)."
        ) in shown
