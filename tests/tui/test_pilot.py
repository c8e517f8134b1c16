"""The inspector driven as a user drives it (App.run_test): events POSTed over real HTTP to
the server running in the app's own loop appear as rows, filters narrow them, detail opens."""

from __future__ import annotations

from textual.widgets import Static

from segemu.tui.detail import DetailScreen
from segemu.tui.diff import DiffScreen
from segemu.tui.filterbar import FilterBar
from segemu.tui.jsontree import JsonTree
from segemu.tui.table import EventTable
from tests.tui.helpers import in_process_app, post, rows, screen_lines, track, until


async def test_events_posted_over_http_appear_newest_first() -> None:
    app, _ = in_process_app()
    async with app.run_test(size=(140, 30)) as pilot:
        table = app.query_one(EventTable)
        assert "No calls yet. Point an SDK at http://127.0.0.1:" in "\n".join(screen_lines(table))
        url = app.backend.url
        await post(url, "/v1/track", track("Order Completed", revenue=42.5))
        await post(
            url,
            "/v1/batch",
            {
                "batch": [
                    {"type": "page", "name": "Home", "anonymousId": "a_1"},
                    {"type": "track", "userId": "u_2"},  # no event name: Segment drops it
                ]
            },
        )
        await until(pilot, lambda: len(rows(table)) == 3, "three rows")
        newest, middle, oldest = rows(table)
        assert "rejected" in newest
        assert "track" in newest
        assert "u_2" in newest
        assert "accepted" in middle
        assert "page" in middle
        assert "Home" in middle
        assert "anon a_1" in middle
        assert "Order Completed" in oldest
        assert "u_1" in oldest
        assert "tui_key" in oldest
        status = str(app.query_one("#status").render())
        assert url in status
        assert "keys: tui_key 3" in status
        assert "3 calls (2 accepted, 1 rejected)" in status


async def test_the_filter_bar_narrows_rows_with_the_query_language() -> None:
    app, _ = in_process_app()
    async with app.run_test(size=(140, 30)) as pilot:
        table = app.query_one(EventTable)
        for name, revenue in (
            ("Order Completed", 10),
            ("Order Completed", 99),
            ("Product Viewed", 0),
        ):
            await post(app.backend.url, "/v1/track", track(name, revenue=revenue))
        await until(pilot, lambda: len(rows(table)) == 3, "three rows")

        await pilot.press("slash")
        bar = app.query_one(FilterBar)
        assert bar.input.has_focus
        bar.input.value = 'event:"Order Completed" properties.revenue>5'
        await pilot.press("end", "0", "enter")
        await until(pilot, lambda: len(rows(table)) == 1, "the filter to apply")
        assert "Order Completed" in rows(table)[0]
        assert "showing 1" in str(app.query_one("#status").render())
        assert table.has_focus

        # A new matching event shows; one that does not match stays out.
        await post(app.backend.url, "/v1/track", track("Order Completed", revenue=500))
        await post(app.backend.url, "/v1/track", track("Product Viewed"))
        await until(pilot, lambda: len(rows(table)) == 2, "the new matching event")

        # A query that does not parse says where, and leaves the last good filter in place.
        await pilot.press("slash")
        bar.input.value = "properties.revenue>"
        await pilot.press("end", ">", "5", "enter")
        await until(pilot, lambda: bar.has_class("-invalid"), "the error")
        error = str(app.query_one("#filter-error").render())
        assert "expected a value after '>' at column 20" in error
        assert len(rows(table)) == 2


async def test_enter_opens_the_detail_with_normalized_and_raw_json() -> None:
    app, _ = in_process_app()
    async with app.run_test(size=(140, 40)) as pilot:
        table = app.query_one(EventTable)
        await post(
            app.backend.url,
            "/v1/track",
            {**track("Signed Up", plan="pro"), "timestamp": "2026-01-01T00:00:00Z"},
        )
        await until(pilot, lambda: len(rows(table)) == 1, "the row")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, DetailScreen), "the detail")
        normalized = app.screen.query_one("#json-event", JsonTree)
        labels = [str(node.label) for node in normalized.root.children]
        assert 'event: "Signed Up"' in labels
        assert 'originalTimestamp: "2026-01-01T00:00:00Z"' in labels
        assert "properties {1}" in labels
        raw = app.screen.query_one("#json-raw", JsonTree)
        assert "originalTimestamp" not in str([str(n.label) for n in raw.root.children])
        await pilot.press("y")
        assert '"event": "Signed Up"' in app.clipboard
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, DetailScreen), "back")


async def test_pause_holds_new_events_and_resume_shows_them() -> None:
    app, _ = in_process_app()
    async with app.run_test(size=(140, 30)) as pilot:
        table = app.query_one(EventTable)
        await post(app.backend.url, "/v1/track", track("First"))
        await until(pilot, lambda: len(rows(table)) == 1, "the first row")
        await pilot.press("p")
        await post(app.backend.url, "/v1/track", track("Second"))
        status = app.query_one("#status")
        await until(pilot, lambda: "PAUSED, 1 new" in str(status.render()), "the count")
        assert len(rows(table)) == 1
        await pilot.press("p")
        await until(pilot, lambda: len(rows(table)) == 2, "the held event")
        assert "Second" in rows(table)[0]
        assert "PAUSED" not in str(status.render())


async def test_clear_empties_the_view_but_not_the_store() -> None:
    app, emulator = in_process_app()
    async with app.run_test(size=(140, 30)) as pilot:
        table = app.query_one(EventTable)
        await post(app.backend.url, "/v1/track", track("Before"))
        await until(pilot, lambda: len(rows(table)) == 1, "the row")
        await pilot.press("c")
        await until(pilot, lambda: not rows(table) or "View cleared" in rows(table)[0], "clear")
        # It says the calls are still there, not "No calls yet ... 0 calls" (issue 18, item 4).
        screen = "\n".join(screen_lines(table))
        assert "View cleared; the store still holds the 1 earlier call" in screen
        assert "No calls yet" not in screen
        status = str(app.query_one("#status").render())
        assert "0 calls, 1 cleared from the view (still stored)" in status
        assert len(emulator.store) == 1
        await post(app.backend.url, "/v1/track", track("After"))
        await until(
            pilot, lambda: len(rows(table)) == 1 and "After" in rows(table)[0], "only the new event"
        )


async def test_mark_then_diff_shows_what_changed() -> None:
    app, _ = in_process_app()
    async with app.run_test(size=(140, 40)) as pilot:
        table = app.query_one(EventTable)
        await post(app.backend.url, "/v1/track", track("Checkout", step=1))
        await post(app.backend.url, "/v1/track", track("Checkout", step=2))
        await until(pilot, lambda: len(rows(table)) == 2, "two rows")
        await pilot.press("m")
        assert rows(table)[0].startswith("◆")
        await pilot.press("down", "d")
        await until(pilot, lambda: isinstance(app.screen, DiffScreen), "the diff")
        shown = str(app.screen.query_one("#diff-event Static", Static).render())
        assert '-    "step": 1' in shown
        assert '+    "step": 2' in shown
        await pilot.press("y")
        assert '+    "step": 2' in app.clipboard


async def test_the_newest_row_is_followed_but_a_reader_keeps_their_place() -> None:
    app, _ = in_process_app()
    async with app.run_test(size=(140, 12)) as pilot:
        table = app.query_one(EventTable)
        await post(app.backend.url, "/v1/batch", {"batch": [track(f"E{n}") for n in range(30)]})
        await until(pilot, lambda: table.current is not None, "rows")
        assert "E29" in rows(table)[0]
        await pilot.press("down", "down")  # reading E27
        reading = table.current
        await post(app.backend.url, "/v1/track", track("New"))
        await until(pilot, lambda: len(app.event_log) == 31, "the new event")
        assert table.current == reading
        await pilot.press("home")
        await post(app.backend.url, "/v1/track", track("Newer"))
        await until(pilot, lambda: "Newer" in rows(table)[0], "following again")
        await pilot.press("end")
        assert "E0" in rows(table)[-1]


async def test_the_cursor_row_brightens_when_the_table_takes_the_focus_back() -> None:
    # Lines are cached; the cursor's colour depends on the focus, so a focus change redraws.
    app, _ = in_process_app()
    async with app.run_test(size=(140, 30)) as pilot:
        table = app.query_one(EventTable)
        await post(app.backend.url, "/v1/track", track("Order Completed"))
        await until(pilot, lambda: len(rows(table)) == 1, "the row")

        def cursor_background() -> object:
            first = next(iter(table.render_line(1)))
            return first.style.bgcolor if first.style else None

        focused = cursor_background()
        await pilot.press("slash")
        await pilot.pause()
        blurred = cursor_background()
        await pilot.press("enter")
        await until(pilot, lambda: table.has_focus, "the focus back on the table")
        assert blurred != focused
        assert cursor_background() == focused


async def test_a_refresh_that_fires_while_the_inspector_closes_does_nothing() -> None:
    # Textual removes the widgets before it stops the timers: a tick that still fires, on
    # any view, must not fail the exit with a missing widget.
    for view in ("2", "3", "4"):
        app, _ = in_process_app()
        async with app.run_test(size=(140, 30)) as pilot:
            await post(app.backend.url, "/v1/track", track("Order Completed"))
            await pilot.press(view)
            await pilot.pause()
        await app._slow_tick()
        app._flush_batch()
