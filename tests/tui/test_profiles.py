"""The inspector's profiles, driven as a user drives it: calls POSTed over real HTTP (an
anonymous visit, a sign-up, a shared laptop, an order that puts the user in an Engage audience),
then `p` on a call's detail opens the profile it joined, and the Profiles view (6) searches
and opens the others. The same steps run in process and attached over the control API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from textual.widgets import DataTable, Static

from segemu import create_emulator
from segemu.http.server import start_server
from segemu.tui.app import InspectorApp
from segemu.tui.detail import DetailScreen
from segemu.tui.factory import create_app
from segemu.tui.local import InProcessBackend
from segemu.tui.profile import ProfileScreen
from segemu.tui.remote import RemoteBackend
from segemu.tui.table import EventTable
from tests.tui.helpers import post, rows, until

ENGAGE: dict[str, Any] = {
    "computed_traits": {
        "lifetime_revenue": {
            "type": "sum",
            "event": "Order Completed",
            "property": "properties.revenue",
        }
    },
    "audiences": {
        "big_spenders": {"traits": "traits.lifetime_revenue>=100", "send": ["track"]},
    },
}

# The story of one laptop: an anonymous visit, a sign-up that merges the visit into the user,
# a second user on the same laptop (who must not merge: user_id allows 1), and an order.
# Fixed messageIds: segment ids derive from the call that created the profile.
CALLS: list[dict[str, Any]] = [
    {"type": "page", "name": "Pricing", "anonymousId": "a_1", "timestamp": "2026-11-22T09:00:00Z"},
    {
        "type": "track",
        "event": "Signed Up",
        "userId": "u_1",
        "timestamp": "2026-11-22T09:01:00Z",
    },
    {
        "type": "identify",
        "userId": "u_1",
        "anonymousId": "a_1",
        "traits": {"plan": "free", "email": "ada@example.com"},
        "timestamp": "2026-11-22T09:02:00Z",
    },
    {
        "type": "identify",
        "userId": "u_2",
        "anonymousId": "a_1",
        "traits": {"plan": "free"},
        "timestamp": "2026-11-22T09:03:00Z",
    },
    {
        "type": "identify",
        "userId": "u_1",
        "traits": {"plan": "pro"},
        "timestamp": "2026-11-22T09:04:00Z",
    },
    {
        "type": "track",
        "event": "Order Completed",
        "userId": "u_1",
        "properties": {"revenue": 150},
        "timestamp": "2026-11-22T09:05:00Z",
    },
]
for number, call in enumerate(CALLS, 1):
    call["messageId"] = f"m-{number}"


def cells(table: DataTable[Any]) -> list[list[str]]:
    return [[str(cell) for cell in table.get_row_at(row)] for row in range(table.row_count)]


def text_of(table: DataTable[Any]) -> str:
    return "\n".join(" | ".join(row) for row in cells(table))


@asynccontextmanager
async def in_process() -> AsyncIterator[InspectorApp]:
    emulator = create_emulator(db=":memory:", port=0, engage=ENGAGE)
    yield create_app(InProcessBackend(emulator))


@asynccontextmanager
async def attached() -> AsyncIterator[InspectorApp]:
    server = await start_server(create_emulator(db=":memory:", engage=ENGAGE), "127.0.0.1", 0)
    try:
        yield create_app(RemoteBackend(server.url))
    finally:
        await server.stop()


BACKENDS: dict[str, Callable[[], Any]] = {"in process": in_process, "attached": attached}


@pytest.mark.parametrize("backend", list(BACKENDS))
async def test_a_calls_profile_and_the_profiles_view(backend: str) -> None:
    async with BACKENDS[backend]() as app, app.run_test(size=(150, 40)) as pilot:
        table = app.query_one(EventTable)
        # Attached, the backend learns what the server offers on attaching.
        await until(pilot, lambda: app.backend.identity().on, "the server's capabilities")
        for call in CALLS:
            await post(app.backend.url, "/v1/batch", {"batch": [call]})
        # Six calls and Engage's Audience Entered.
        await until(pilot, lambda: len(rows(table)) == 7, "seven rows")

        # From the order's detail, p opens the profile the call joined.
        app.filter_bar.input.value = 'event:"Order Completed"'
        await pilot.press("slash", "end", "enter")
        await until(pilot, lambda: len(rows(table)) == 1, "the filter")
        await pilot.press("escape", "enter")
        await until(pilot, lambda: isinstance(app.screen, DetailScreen), "the detail")
        await pilot.press("p")
        await until(pilot, lambda: isinstance(app.screen, ProfileScreen), "the profile")
        screen = app.screen
        assert isinstance(screen, ProfileScreen)
        title = str(screen.query_one("#profile-title", Static).render())
        assert "anonymous_id:a_1, user_id:u_1, email:ada@example.com" in title
        assert "1 computed traits · 1 audiences · 6 calls · 1 profiles merged in" in title

        # The identity graph: each identifier and the call that linked it.
        graph = cells(screen.query_one("#profile-ids", DataTable))
        assert [row[:2] for row in graph] == [
            ["anonymous_id:a_1", "#1 page Pricing"],
            ["user_id:u_1", "#2 track Signed Up"],
            ["email:ada@example.com", "#3 identify"],
        ]
        assert graph[0][3] == "2026-11-22 09:00:00.000"  # first seen
        assert graph[2][3:] == ["2026-11-22 09:02:00.000", "2026-11-22 09:02:00.000"]

        # Traits with their history: plan was free before the later identify made it pro.
        traits = cells(screen.query_one("#profile-traits", DataTable))
        assert ["plan", "pro", "trait", "2026-11-22 09:04:00.000", "#5"] in traits
        assert ["  earlier plan", "free", "trait", "2026-11-22 09:02:00.000", "#3"] in traits

        # Engage: the computed trait, and the audience the order put the user in.
        engage = cells(screen.query_one("#profile-audiences", DataTable))
        assert [row[:3] for row in engage] == [
            ["big_spenders", "true", "audience"],
            ["lifetime_revenue", "150", "computed trait"],
        ]

        # Merges: the visit merged into the user by the identify that carried both ids.
        await pilot.press("right", "right", "right")
        merges = text_of(screen.query_one("#profile-changes", DataTable))
        assert "#3 | identify | merged | merged use_" in merges
        assert "(both have anonymous_id:a_1)" in merges or "(both have user_id:u_1)" in merges

        # The calls in order, the anonymous one from before the merge first.
        calls = cells(screen.query_one("#profile-calls", DataTable))
        assert [row[1:4] for row in calls] == [
            ["#1", "page", "Pricing"],
            ["#2", "track", "Signed Up"],
            ["#3", "identify", ""],
            ["#5", "identify", ""],
            ["#6", "track", "Order Completed"],
            ["#7", "track", "Audience Entered"],  # Engage's own call joins the profile too
        ]
        # Enter on a call opens it.
        await pilot.press("right", "right")
        calls_table = screen.query_one("#profile-calls", DataTable)
        calls_table.focus()
        await pilot.press("home", "enter")
        await until(pilot, lambda: isinstance(app.screen, DetailScreen), "the first call")
        assert app.screen is not screen
        await pilot.press("escape", "escape", "escape")
        await until(pilot, lambda: app.screen is app.screen_stack[0], "the main screen")

        # The Profiles view searches; the second user of the laptop was refused a merge.
        await pilot.press("6")
        listing = app.query_one("#profiles-table", DataTable)
        await until(pilot, lambda: listing.row_count == 2, "two profiles")
        app.query_one("#profiles-search").focus()
        await pilot.press("u", "_", "2")
        await until(pilot, lambda: listing.row_count == 1, "the search")
        assert "user_id:u_2" in cells(listing)[0][1]
        await pilot.press("enter", "enter")
        await until(pilot, lambda: isinstance(app.screen, ProfileScreen), "u_2's profile")
        refused = text_of(app.screen.query_one("#profile-changes", DataTable))
        assert "refused | anonymous_id:a_1 was not used: adding it to use_" in refused
        # The highlighted change in full, under the table.
        why = str(app.screen.query_one("#profile-change-why", Static).render())
        assert why.startswith("#4 identify at 2026-11-22 09:03:00.000: refused")
        assert "would give one profile 2 user_id values (u_1, u_2); user_id allows 1" in why


async def test_a_call_that_joined_no_profile_says_why() -> None:
    async with in_process() as app, app.run_test(size=(150, 40)) as pilot:
        await post(app.backend.url, "/v1/identify", {"userId": "null", "traits": {"a": 1}})
        table = app.query_one(EventTable)
        await until(pilot, lambda: len(rows(table)) == 1, "the call")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, DetailScreen), "the detail")
        await pilot.press("p")
        await until(pilot, lambda: bool(app._notifications), "the notification")
        message = str(next(iter(app._notifications)).message)
        assert message.startswith("This call joined no profile: ")
        assert "null" in message
        assert isinstance(app.screen, DetailScreen)
