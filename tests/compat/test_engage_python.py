"""Engage end to end with the official segment-analytics-python against a real segemu: the
SDK's calls compute traits and put a user in audiences; the clock moves on (engage_tick with
the test's own moment) and the user leaves the windowed audience. Each step is read back as an
app would, through the Profile API at Segment's paths (traits of class computed_trait and
audience), and through the pytest API (segemu.profile(...).audiences); Engage's own
Audience Entered / Exited calls are stored and routed like any other."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from segment.analytics import Client

from segemu import create_emulator
from segemu.http.server import RunningServer, start_server
from segemu.testing.aclient import AsyncSegemuClient
from tests.identity.profile_api import profile_api

pytestmark = pytest.mark.compat
WRITE_KEY = "py_engage"
ENGAGE: dict[str, Any] = {
    "computed_traits": {
        "lifetime_revenue": {
            "type": "sum",
            "event": "Order Completed",
            "property": "properties.revenue",
        },
        "orders_7d": {"type": "event_counter", "event": "Order Completed", "window": "7d"},
    },
    "audiences": {
        "big_spenders": {"traits": "traits.lifetime_revenue>=100", "send": ["identify"]},
        "recent_buyers": {
            "performed": [{"event": "Order Completed", "within": "7d"}],
            "send": ["identify", "track"],
        },
    },
}


@pytest.fixture
async def engage_server() -> AsyncIterator[RunningServer]:
    running = await start_server(create_emulator(db=":memory:", engage=ENGAGE), "127.0.0.1", 0)
    yield running
    await running.stop()


async def sent(server: RunningServer, *calls: tuple[str, tuple[Any, ...], dict[str, Any]]) -> None:
    """Send calls with the SDK (method, args, kwargs), flushed from its own thread."""
    errors: list[Exception] = []
    client = Client(WRITE_KEY, host=server.url, on_error=lambda e, _b: errors.append(e))
    try:
        for method, args, kwargs in calls:
            ok, _message = getattr(client, method)(*args, **kwargs)
            assert ok
        await asyncio.to_thread(client.flush)
    finally:
        await asyncio.to_thread(client.join)
    assert errors == []


async def traits_of_class(
    http: aiohttp.ClientSession, server: RunningServer, trait_class: str
) -> dict[str, Any]:
    answer = await profile_api(http, server.url, f"user_id:u1/traits?class={trait_class}")
    traits: dict[str, Any] = answer["traits"]
    return traits


async def test_a_computed_trait_and_an_audience_entered_then_exited(
    engage_server: RunningServer, http: aiohttp.ClientSession
) -> None:
    reader = AsyncSegemuClient(engage_server.url, WRITE_KEY)
    # Engage's calls come from a source of its own, one per space (write key engage:<space>).
    engage = AsyncSegemuClient(engage_server.url, "engage:default")
    now = datetime.now(UTC)
    # Two orders six days ago: within recent_buyers' 7 days until tomorrow.
    ordered = now - timedelta(days=6)
    try:
        await sent(
            engage_server,
            ("identify", ("u1", {"email": "ada@example.com", "plan": "pro"}), {}),
            ("track", ("u1", "Order Completed", {"revenue": 60}), {"timestamp": ordered}),
            (
                "track",
                ("u1", "Order Completed", {"revenue": 50}),
                {"timestamp": ordered + timedelta(hours=1)},
            ),
        )
        # The Profile API: computed traits and audiences are traits of their own class.
        assert await traits_of_class(http, engage_server, "computed_trait") == {
            "lifetime_revenue": 110,
            "orders_7d": 2,
        }
        assert await traits_of_class(http, engage_server, "audience") == {
            "big_spenders": True,
            "recent_buyers": True,
        }
        every = await profile_api(http, engage_server.url, "email:ada@example.com/traits")
        assert every["traits"]["plan"] == "pro"  # the identify's own traits stay beside them
        assert every["traits"]["recent_buyers"] is True

        # The pytest API.
        profile = await reader.profile("user_id:u1")
        assert profile is not None
        assert profile.audiences == {"big_spenders": True, "recent_buyers": True}
        assert profile.computed_traits == {"lifetime_revenue": 110, "orders_7d": 2}
        await reader.assert_profile("user_id:u1", audiences={"recent_buyers": True})

        # Engage's own calls: an Audience Entered track, stored and routed like any other.
        entered = await engage.events('event:"Audience Entered"')
        assert [e["event"]["properties"] for e in entered] == [
            {"audience_key": "recent_buyers", "recent_buyers": True}
        ]
        assert entered[0]["event"]["userId"] == "u1"
        assert entered[0]["routing"]["warehouse"]["status"] == "delivered"

        # Two days on, the orders are 8 days old: the windowed trait and audience follow.
        exited = engage_server.emulator.engage_tick(now + timedelta(days=2))
        assert [(r["type"], r["event"].get("event")) for r in exited] == [
            ("identify", None),
            ("track", "Audience Exited"),
        ]
        assert exited[0]["event"]["traits"] == {"recent_buyers": False}
        assert await traits_of_class(http, engage_server, "computed_trait") == {
            "lifetime_revenue": 110,
            "orders_7d": 0,
        }
        assert await traits_of_class(http, engage_server, "audience") == {
            "big_spenders": True,
            "recent_buyers": False,
        }
        profile = await reader.profile("user_id:u1")
        assert profile is not None
        assert profile.audiences == {"big_spenders": True, "recent_buyers": False}
        assert profile.computed_traits["orders_7d"] == 0
        left = await engage.events('event:"Audience Exited"')
        assert [e["event"]["properties"]["audience_key"] for e in left] == ["recent_buyers"]
    finally:
        await reader.aclose()
        await engage.aclose()
