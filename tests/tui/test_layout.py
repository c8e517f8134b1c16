"""The event table's layout at each terminal width (issue 18, item 3), as text: which columns
show and what each row reads. The pictures are in test_snapshots.py."""

from __future__ import annotations

from segemu.tui.columns import DEFAULT_COLUMNS, layout
from segemu.tui.table import EventTable
from tests.tui.helpers import in_process_app, post, rows, screen_lines, until

UUID = "0f6d5c3e-8a1b-4d2e-9c7f-3b5a6e8d1f20"


def test_every_width_is_filled_exactly_and_nothing_essential_goes() -> None:
    for total in range(40, 260):
        shown = layout(DEFAULT_COLUMNS, total)
        keys = [key for key, _ in shown]
        used = sum(width for _, width in shown) + len(shown) - 1
        assert used == total or total < 60, total
        for key in ("type", "name", "user", "destinations", "violations"):
            assert key in keys, (total, keys)


async def test_at_80_columns_destinations_plan_and_counts_show() -> None:
    app, _ = in_process_app(destinations={"mixpanel": {}})
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.query_one(EventTable)
        body = {"type": "track", "event": "Signed Up", "anonymousId": UUID}
        await post(app.backend.url, "/v1/track", body)
        await until(pilot, lambda: len(rows(table)) == 1, "the row")
        header = screen_lines(table)[0]
        assert "destinations" in header
        assert "plan" in header
        assert "source" not in header  # left out first
        status = str(app.query_one("#status").render())
        assert "1 call (1 accepted)" in status


async def test_a_wide_terminal_shows_the_whole_anonymous_id() -> None:
    app, _ = in_process_app()
    async with app.run_test(size=(180, 30)) as pilot:
        table = app.query_one(EventTable)
        await post(app.backend.url, "/v1/track", {"event": "Signed Up", "anonymousId": UUID})
        await until(pilot, lambda: len(rows(table)) == 1, "the row")
        assert f"anon {UUID}" in rows(table)[0]
