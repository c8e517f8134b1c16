"""The assertions panel: expectations from --expect FILE turn from failing to passing as
events arrive over HTTP, ad-hoc queries, and the verdicts of assertions test suites made
through the control API."""

from __future__ import annotations

import json
from pathlib import Path

from textual.widgets import DataTable, Input, Static

from segemu import create_emulator
from segemu.cli.expect_file import load_expectations
from segemu.tui.factory import create_app
from segemu.tui.local import InProcessBackend
from tests.tui.helpers import post, track, until


def cells(table: DataTable[object]) -> list[list[str]]:
    return [[str(cell) for cell in table.get_row_at(row)] for row in range(table.row_count)]


def expect_file(tmp_path: Path) -> Path:
    path = tmp_path / "expect.json"
    path.write_text(
        json.dumps(
            [
                {
                    "description": "checkout tracks the order",
                    "type": "track",
                    "fields": {
                        "event": "Order Completed",
                        "properties": {"revenue": {"$approx": 99.99}},
                    },
                },
                {"type": "identify", "where": "traits.email:*"},
            ]
        )
    )
    return path


async def test_expectations_from_a_file_turn_from_failing_to_passing(tmp_path: Path) -> None:
    path = expect_file(tmp_path)
    app = create_app(
        InProcessBackend(create_emulator(db=":memory:", port=0)),
        expectations=load_expectations(path),
        expect_file=str(path),
    )
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.press("4")
        checks = app.query_one("#checks-table", DataTable)
        assert [row[0] for row in cells(checks)] == ["✗ fail", "✗ fail"]
        assert cells(checks)[0][2] == "checkout tracks the order"
        assert "Assertions (2 failing)" in str(app.tabs.get_tab("assertions").label)

        # A near miss first: the verdict below names what differs.
        await post(app.backend.url, "/v1/track", track("Order Completed", revenue=89.99))
        await until(
            pilot,
            lambda: cells(checks)[0][3] == "0" and app.event_log.ids != [],
            "the near miss to arrive",
        )
        await pilot.click("#checks-table")
        message = app.query_one("#verdict-message", Static)
        await until(pilot, lambda: "nearest misses" in str(message.render()), "the misses")
        assert "properties.revenue: expected ≈ 99.99, got 89.99" in str(message.render())

        await post(app.backend.url, "/v1/track", track("Order Completed", revenue=99.99))
        await until(pilot, lambda: cells(checks)[0][0] == "✓ pass", "the first to pass")
        assert cells(checks)[1][0] == "✗ fail"
        await post(
            app.backend.url,
            "/v1/identify",
            {"userId": "u_1", "traits": {"email": "ada@example.com"}},
        )
        await until(pilot, lambda: cells(checks)[1][0] == "✓ pass", "the second to pass")
        assert str(app.tabs.get_tab("assertions").label) == "Assertions"


async def test_an_ad_hoc_query_is_judged_live() -> None:
    app = create_app(InProcessBackend(create_emulator(db=":memory:", port=0)))
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.press("4")
        await pilot.click("#ad-hoc")
        app.query_one("#ad-hoc", Input).value = 'event:"Signed Up"'
        await pilot.press("enter")
        checks = app.query_one("#checks-table", DataTable)
        await until(pilot, lambda: cells(checks)[0][1] == "ad hoc", "the ad hoc row")
        assert cells(checks)[0][0] == "✗ fail"
        assert "no events were received at all" in str(
            app.query_one("#verdict-message", Static).render()
        )
        await post(app.backend.url, "/v1/track", track("Signed Up"))
        await until(pilot, lambda: cells(checks)[0][0] == "✓ pass", "the query to pass")

        # A mistake is explained, and nothing is added.
        app.query_one("#ad-hoc", Input).value = "properties.x>>1"
        await pilot.press("enter")
        assert len(cells(checks)) == 1


async def test_assertions_made_through_the_control_api_show_with_their_verdicts() -> None:
    app = create_app(InProcessBackend(create_emulator(db=":memory:", port=0)))
    async with app.run_test(size=(140, 40)) as pilot:
        await post(app.backend.url, "/v1/track", track("Signed Up"))
        await post(
            app.backend.url,
            "/_segemu/assert",
            {
                "type": "track",
                "fields": {"event": "Signed Up"},
                "description": "sign-up is tracked",
            },
        )
        await post(
            app.backend.url, "/_segemu/assert", {"type": "track", "fields": {"event": "Logged Out"}}
        )
        await pilot.press("4")
        verdicts = app.query_one("#verdicts-table", DataTable)
        await until(pilot, lambda: verdicts.row_count == 2, "both verdicts")
        (_, failed, expected, found), (_, passed, described, _) = cells(verdicts)
        assert (failed, passed, described) == ("✗ fail", "✓ pass", "sign-up is tracked")
        assert "Logged Out" in expected
        assert found == "0"
        await pilot.click("#verdicts-table")
        message = app.query_one("#verdict-message", Static)
        await until(pilot, lambda: "nearest misses" in str(message.render()), "its message")
        assert 'event: expected "Logged Out", got "Signed Up"' in str(message.render())


async def test_an_expectation_about_a_destination_passes_in_the_inspector_too(
    tmp_path: Path,
) -> None:
    # The same `--expect` entry passes through POST /_segemu/assert and in the inspector: both
    # read the routing stored on the record (the inspector used to ignore `destination`).
    path = tmp_path / "expect.json"
    path.write_text(
        json.dumps(
            [
                {"type": "track", "fields": {"event": "Signed Up"}, "destination": "mixpanel"},
                {
                    "type": "track",
                    "fields": {"event": "Signed Up"},
                    "destination": "mixpanel",
                    "payload": {"event": "Signed Up"},
                },
            ]
        )
    )
    emulator = create_emulator(db=":memory:", port=0)
    app = create_app(
        InProcessBackend(emulator), expectations=load_expectations(path), expect_file=str(path)
    )
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.press("4")
        checks = app.query_one("#checks-table", DataTable)
        assert [row[0] for row in cells(checks)] == ["✗ fail", "✗ fail"]
        await post(app.backend.url, "/v1/track", track("Signed Up"))
        await until(
            pilot,
            lambda: [row[0] for row in cells(checks)] == ["✓ pass", "✓ pass"],
            "both destination expectations to pass",
        )
        for expectation in load_expectations(path):
            assert (await emulator.check(expectation)).passed
