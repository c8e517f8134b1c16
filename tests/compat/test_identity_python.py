"""Identity resolution with the official segment-analytics-python against a real segemu:
server calls by userId, a mobile-style call with device ids, an alias from a CRM id, a shared
device whose second user must not merge, and a blocked userId ("null") that merges no one.
Each result is read through the Profile API at Segment's paths and through the pytest API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from segment.analytics import Client

from segemu.http.server import RunningServer
from segemu.testing.aclient import AsyncSegemuClient
from tests.identity.profile_api import profile_api

pytestmark = pytest.mark.compat
WRITE_KEY = "py_identity"


async def sent(
    server: RunningServer, *calls: tuple[str, tuple[object, ...], dict[str, object]]
) -> None:
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


@pytest.fixture
async def reader(server: RunningServer) -> AsyncIterator[AsyncSegemuClient]:
    client = AsyncSegemuClient(server.url, WRITE_KEY)
    yield client
    await client.aclose()


async def test_server_calls_by_user_id_and_a_mobile_call_with_device_ids(
    server: RunningServer, http: aiohttp.ClientSession, reader: AsyncSegemuClient
) -> None:
    device = {"type": "ios", "id": "dev-1", "advertisingId": "idfa-1", "adTrackingEnabled": True}
    await sent(
        server,
        ("identify", ("u1", {"plan": "pro", "email": "ada@example.com"}), {}),
        ("track", ("u1", "Order Completed", {"revenue": 42}), {}),
        ("track", ("u1", "App Opened"), {"context": {"device": device}}),
    )
    profile = await reader.assert_profile(
        "user_id:u1",
        traits={"plan": "pro"},
        external_ids={"email": "ada@example.com", "ios.id": "dev-1", "ios.idfa": "idfa-1"},
    )
    assert [e["event"] for e in profile.events] == [None, "Order Completed", "App Opened"]

    traits = await profile_api(http, server.url, "ios.id:dev-1/traits?verbose=true")
    assert traits["traits"]["plan"]["value"] == "pro"
    assert traits["traits"]["plan"]["source_id"] == "default"
    ids = await profile_api(http, server.url, "user_id:u1/external_ids?limit=100")
    assert {(e["type"], e["id"]) for e in ids["data"]} == {
        ("user_id", "u1"),
        ("email", "ada@example.com"),
        ("ios.id", "dev-1"),
        ("ios.idfa", "idfa-1"),
    }
    events = await profile_api(http, server.url, "user_id:u1/events?include=App%20Opened")
    assert [e["event"] for e in events["data"]] == ["App Opened"]


async def test_alias_from_a_crm_id_merges_its_history(
    server: RunningServer, http: aiohttp.ClientSession, reader: AsyncSegemuClient
) -> None:
    await sent(
        server,
        ("track", (), {"anonymous_id": "crm-42", "event": "Lead Created"}),
        ("identify", ("u3", {"plan": "team"}), {}),
        ("alias", ("crm-42", "u3"), {}),
    )
    await reader.assert_merged("user_id:u3", "anonymous_id:crm-42")
    events = await profile_api(http, server.url, "anonymous_id:crm-42/events?sort=asc")
    assert [e["type"] for e in events["data"]] == ["track", "identify", "alias"]
    assert (await profile_api(http, server.url, "anonymous_id:crm-42/traits"))["traits"] == {
        "plan": "team"
    }


async def test_a_second_user_on_a_shared_device_does_not_merge(
    server: RunningServer, http: aiohttp.ClientSession, reader: AsyncSegemuClient
) -> None:
    await sent(
        server,
        ("identify", ("u4", {"name": "Ada"}), {"anonymous_id": "kiosk"}),
        ("identify", ("u5", {"name": "Bob"}), {"anonymous_id": "kiosk"}),
    )
    await reader.assert_profile("user_id:u5", traits={"name": "Bob"})
    await reader.assert_not_merged("user_id:u4", "user_id:u5")
    with pytest.raises(AssertionError, match="user_id allows 1"):
        await reader.assert_merged("user_id:u5", "anonymous_id:kiosk", timeout=0)
    u5 = await profile_api(http, server.url, "user_id:u5/external_ids")
    assert [(e["type"], e["id"]) for e in u5["data"]] == [("user_id", "u5")]
    kiosk = await profile_api(http, server.url, "anonymous_id:kiosk/traits")
    assert kiosk["traits"] == {"name": "Ada"}


async def test_a_blocked_user_id_merges_no_one(
    server: RunningServer, http: aiohttp.ClientSession, reader: AsyncSegemuClient
) -> None:
    await sent(
        server,
        ("track", ("null", "Viewed"), {"anonymous_id": "visitor-1"}),
        ("track", ("null", "Viewed"), {"anonymous_id": "visitor-2"}),
    )
    await reader.assert_profile("anonymous_id:visitor-2")
    await reader.assert_not_merged("anonymous_id:visitor-1", "anonymous_id:visitor-2")
    assert await reader.profile("user_id:null") is None
    missing = await profile_api(http, server.url, "user_id:null/traits", status=404)
    assert missing == {"error": {"code": "not_found", "message": "Profile was not found."}}
    [record] = await reader.events("anon:visitor-1")
    assert record["identity"]["changes"][0]["reason"] == "'null' is a blocked value"
