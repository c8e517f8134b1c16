"""`segemu tui --url`: the inspector attached to an emulator running elsewhere, through the
control API and /_segemu/stream, over real sockets."""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler
from textual.css.query import NoMatches
from textual.widgets import DataTable

from segemu import create_emulator
from segemu.http.app import create_app as create_http_app
from segemu.http.server import RunningServer, start_server
from segemu.tui.app import InspectorApp
from segemu.tui.factory import create_app
from segemu.tui.remote import RemoteBackend
from segemu.tui.table import EventTable
from tests.tui.helpers import post, rows, track, until


async def test_attached_inspector_shows_history_then_live_events(server: RunningServer) -> None:
    await post(server.url, "/v1/track", track("Before Attaching"))
    app = create_app(RemoteBackend(server.url))
    async with app.run_test(size=(140, 30)) as pilot:
        table = app.query_one(EventTable)
        await until(pilot, lambda: len(rows(table)) == 1, "the history")
        assert "Before Attaching" in rows(table)[0]
        await post(server.url, "/v1/batch", {"batch": [track("Live One"), track("Live Two")]})
        await until(pilot, lambda: len(rows(table)) == 3, "the live events")
        assert "Live Two" in rows(table)[0]
        assert "Live One" in rows(table)[1]
        status = str(app.query_one("#status").render())
        assert f"{server.url} (attached)" in status
        assert "3 calls (3 accepted)" in status

        # The same filter language, applied to what the stream brought.
        app.filter_bar.input.value = "event:Live*"
        await pilot.press("slash", "end", "enter")
        await until(pilot, lambda: len(rows(table)) == 2, "the filter")


def capability_labels(app: InspectorApp) -> list[str]:
    """The labels of the views that depend on the server's capabilities."""
    try:
        return [str(app.tabs.get_tab(view).label) for view in ("violations", "destinations")]
    except NoMatches:  # the tabs are not mounted yet
        return []


async def test_attached_views_follow_the_capabilities_the_server_reports(
    server: RunningServer,
) -> None:
    app = create_app(RemoteBackend(server.url))
    async with app.run_test(size=(140, 30)) as pilot:
        # This segemu serves GET /_segemu/violations and /destinations: neither view is off.
        # (A segemu without them: test_attached_views_say_which_capability_is_off.)
        await until(
            pilot,
            lambda: capability_labels(app) == ["Violations", "Destinations"],
            "the capabilities",
        )
        # The destinations it runs are listed before any event reaches them.
        await pilot.press("2")
        destinations = app.query_one("#destinations-table", DataTable)
        await until(pilot, lambda: destinations.row_count == 4, "the default destinations")
        assert [str(destinations.get_row_at(n)[0]) for n in range(4)] == [
            "mixpanel",
            "amplitude",
            "ga4",
            "warehouse",
        ]


async def test_attached_inspector_lists_test_suite_assertions(server: RunningServer) -> None:
    app = create_app(RemoteBackend(server.url))
    async with app.run_test(size=(140, 40)) as pilot:
        await post(
            server.url,
            "/_segemu/assert",
            {"type": "track", "fields": {"event": "Checkout"}, "description": "checkout"},
        )
        await pilot.press("4")
        verdicts = app.query_one("#verdicts-table", DataTable)
        await until(pilot, lambda: str(verdicts.get_row_at(0)[2]) == "checkout", "the verdict")
        assert str(verdicts.get_row_at(0)[1]) == "✗ fail"


async def test_attached_inspector_waits_for_segemu_and_follows_a_restart() -> None:
    first = await start_server(create_emulator(db=":memory:"), "127.0.0.1", 0)
    app = create_app(RemoteBackend(first.url))
    try:
        async with app.run_test(size=(140, 30)) as pilot:
            table = app.query_one(EventTable)
            await post(first.url, "/v1/track", track("From The First"))
            await until(pilot, lambda: len(rows(table)) == 1, "the first event")
            await first.stop()
            status = app.query_one("#status")
            await until(
                pilot,
                lambda: "retrying" in str(status.render()) or "waiting" in str(status.render()),
                "the lost connection",
            )

            # A new process on the same port: its ids start again at 1, the view starts over.
            second = await start_server(create_emulator(db=":memory:"), "127.0.0.1", first.port)
            try:
                await post(second.url, "/v1/track", track("From The Second"))
                await until(
                    pilot,
                    lambda: len(rows(table)) == 1 and "From The Second" in rows(table)[0],
                    "the new process",
                )
                await post(second.url, "/v1/track", track("Live Again"))
                await until(pilot, lambda: len(rows(table)) == 2, "live events again")
                assert "attached)" in str(status.render())
                assert "retrying" not in str(status.render())
            finally:
                await second.stop()
    finally:
        await first.stop()


@web.middleware
async def without_capabilities(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A segemu that predates mock destinations and tracking plans: those routes are 404."""
    if request.path.startswith(("/_segemu/destinations", "/_segemu/violations")):
        return web.json_response({"success": False, "code": "not_found"}, status=404)
    return await handler(request)


async def test_attached_views_say_which_capability_is_off() -> None:
    older = create_http_app(create_emulator(db=":memory:"))
    older.middlewares.append(without_capabilities)
    runner = web.AppRunner(older)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        app = create_app(RemoteBackend(url))
        async with app.run_test(size=(140, 30)) as pilot:
            await until(
                pilot,
                lambda: capability_labels(app) == ["Violations (off)", "Destinations (off)"],
                "the capabilities",
            )
            await pilot.press("3")
            note = app.query_one("#violations-note")
            await until(pilot, lambda: "404" in str(note.render()), "the note")
            assert str(note.render()) == (
                f"Tracking plans are off: the segemu at {url} has no tracking plans "
                "(GET /_segemu/violations answered 404)."
            )
            await pilot.press("2")
            note = app.query_one("#destinations-note")
            await until(pilot, lambda: "404" in str(note.render()), "the note")
            assert str(note.render()) == (
                f"Mock destinations are off: the segemu at {url} has no mock destinations "
                "(GET /_segemu/destinations answered 404)."
            )
    finally:
        await runner.cleanup()
