"""Keys a newcomer presses and what they expect (issue 18, items 1, 2 and 5): the column
picker applies with Enter, Esc leaves the ad-hoc assertion box, e/E work in the detail
whatever has the focus."""

from __future__ import annotations

from textual.widgets import Input, Label, SelectionList, Static

from segemu.tui.columnpicker import ColumnPicker
from segemu.tui.detail import DetailScreen
from segemu.tui.jsontree import JsonTree
from segemu.tui.table import EventTable
from tests.tui.helpers import in_process_app, post, rows, screen_lines, track, until


async def test_the_column_picker_applies_with_enter_and_space_toggles() -> None:
    app, _ = in_process_app()
    async with app.run_test(size=(140, 30)) as pilot:
        table = app.query_one(EventTable)
        before = table.columns
        await pilot.press("C")
        await until(pilot, lambda: isinstance(app.screen, ColumnPicker), "the picker")
        picker = app.screen
        # Its help line is whole, not cut to "Esc can".
        labels = [str(label.render()) for label in picker.query(Label)]
        assert "Space toggles · Enter applies · Esc cancels" in labels
        choices = picker.query_one(SelectionList)
        assert choices.highlighted == 0
        await pilot.press("space")  # the highlighted column (time) off
        assert choices.selected[0] != before[0]
        await pilot.press("enter")  # applies, rather than toggling it back on
        await until(pilot, lambda: not isinstance(app.screen, ColumnPicker), "the picker to close")
        assert table.columns == before[1:]
        assert "time (UTC)" not in screen_lines(table)[0]


async def test_esc_leaves_the_ad_hoc_box_and_the_view_keys_work_again() -> None:
    app, _ = in_process_app()
    async with app.run_test(size=(140, 30)) as pilot:
        await pilot.press("4", "tab")
        box = app.query_one("#ad-hoc", Input)
        await until(pilot, lambda: box.has_focus, "the ad-hoc box")
        await pilot.press("escape")
        await until(pilot, lambda: not box.has_focus, "Esc to leave the box")
        assert app.focused is not None
        assert app.focused.id == "checks-table"
        await pilot.press("1")
        assert box.value == ""
        await until(pilot, lambda: app.tabs.active == "events", "the events view")
        assert app.query_one(EventTable).has_focus


async def test_e_and_E_unfold_and_fold_in_the_detail_with_the_focus_on_the_tabs() -> None:
    app, _ = in_process_app()
    async with app.run_test(size=(140, 40)) as pilot:
        table = app.query_one(EventTable)
        body = track("Order Completed", revenue=42.5)
        body["properties"]["products"] = [{"sku": "a", "price": 1}]
        await post(app.backend.url, "/v1/track", body)
        await until(pilot, lambda: len(rows(table)) == 1, "the row")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, DetailScreen), "the detail")
        tree = app.screen.query_one("#json-event", JsonTree)
        assert not tree.has_focus  # the tab strip has it, as on opening
        products = next(node for node in tree.root.children if "properties" in str(node.label))
        await pilot.press("e")
        assert all(node.is_expanded for node in products.children)
        await pilot.press("E")
        assert not products.is_expanded


async def test_a_filter_that_matches_nothing_says_so_and_a_typo_is_named() -> None:
    app, _ = in_process_app()
    async with app.run_test(size=(140, 30)) as pilot:
        table = app.query_one(EventTable)
        await post(app.backend.url, "/v1/track", track("Signed Up"))
        await until(pilot, lambda: len(rows(table)) == 1, "the row")
        bar = app.filter_bar
        await pilot.press("slash")
        bar.input.value = "evnt:Foo"
        await pilot.press("enter")
        await until(pilot, lambda: bar.has_class("-invalid"), "the error")
        error = str(app.query_one("#filter-error", Static).render())
        assert "unknown field 'evnt' (did you mean 'event'?)" in error
        # Valid, but nothing matches: the status line says so, with what was searched.
        bar.input.value = "event:Foo"
        await pilot.press("enter")
        await until(pilot, lambda: not app.event_log.shown, "the empty view")
        status = str(app.query_one("#status").render())
        assert "the filter matched nothing (searched 1)" in status
