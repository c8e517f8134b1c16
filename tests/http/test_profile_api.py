"""The Profile API at Segment's paths (segment-docs src/unify/profile-api.md) and the control
API's profiles, over real HTTP: answers, parameters, cursors, errors, auth and access rules."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest

from segemu import create_emulator
from segemu.http.server import RunningServer, start_server
from segemu.message import Envelope
from tests.identity.profile_api import auth, profile_api


def ingest(server: RunningServer, *items: dict[str, Any]) -> None:
    server.emulator.ingest(
        Envelope(
            route="/v1/batch",
            items=list(items),
            header_write_key="wk",
            received_at=datetime.now(UTC),
        )
    )


@pytest.fixture
async def server() -> AsyncIterator[RunningServer]:
    running = await start_server(
        create_emulator(
            db=":memory:",
            spaces={"default": {"space_id": "spa_1"}, "locked": {"access_tokens": ["secret"]}},
        ),
        "127.0.0.1",
        0,
    )
    ingest(
        running,
        {"type": "page", "anonymousId": "a1"},
        {
            "type": "identify",
            "userId": "u1",
            "anonymousId": "a1",
            "traits": {"plan": "pro", "name": "Ada", "age": 36, "city": "Paris"},
        },
        {"type": "track", "userId": "u1", "event": "Order Completed"},
        {"type": "group", "userId": "u1", "groupId": "g1", "traits": {"name": "Acme"}},
    )
    yield running
    await running.stop()


async def test_traits_with_include_limit_cursor_and_verbose(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    first = await profile_api(http, server.url, "user_id:u1/traits?limit=2", space="spa_1")
    assert first["traits"] == {"age": 36, "city": "Paris"}
    assert first["cursor"]["has_more"] is True
    assert first["cursor"]["next"] == "name"
    assert first["cursor"]["limit"] == 2
    second = await profile_api(
        http, server.url, "user_id:u1/traits?limit=2&next=name", space="spa_1"
    )
    assert second["traits"] == {"name": "Ada", "plan": "pro"}
    assert second["cursor"]["has_more"] is False
    verbose = await profile_api(
        http, server.url, "anonymous_id:a1/traits?include=plan&verbose=true", space="spa_1"
    )
    assert list(verbose["traits"]) == ["plan"]
    assert verbose["traits"]["plan"]["value"] == "pro"
    assert set(verbose["traits"]["plan"]) == {"value", "source_id", "updated_at"}
    # The space is also found by its name.
    assert (await profile_api(http, server.url, "user_id:u1/traits"))["traits"]["plan"] == "pro"


async def test_trait_classes_for_computed_traits_and_audiences(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    identity = server.emulator.identity
    profile = identity.profile("user_id:u1")
    assert profile is not None
    identity.set_trait(profile, "orders", 1, timestamp="2026-01-01T00:00:00.000Z")
    identity.set_trait(
        profile, "big_spender", True, trait_class="audience", timestamp="2026-01-01T00:00:00.000Z"
    )
    audiences = await profile_api(http, server.url, "user_id:u1/traits?class=audience")
    assert audiences["traits"] == {"big_spender": True}
    computed = await profile_api(http, server.url, "user_id:u1/traits?class=computed_trait")
    assert computed["traits"] == {"orders": 1}


async def test_external_ids_events_metadata_and_links(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    ids = await profile_api(http, server.url, "user_id:u1/external_ids?limit=1")
    assert ids["data"] == [
        {
            "source_id": "default",
            "collection": "users",
            "id": "a1",
            "type": "anonymous_id",
            "created_at": ids["data"][0]["created_at"],
            "encoding": "none",
            "first_message_id": ids["data"][0]["first_message_id"],
        }
    ]
    assert ids["cursor"]["next"] == "1"
    rest = await profile_api(http, server.url, "user_id:u1/external_ids?next=1")
    assert [e["type"] for e in rest["data"]] == ["user_id"]

    newest = await profile_api(http, server.url, "user_id:u1/events?limit=1")
    assert [e["type"] for e in newest["data"]] == ["group"]
    older = await profile_api(
        http, server.url, f"user_id:u1/events?limit=2&next={newest['cursor']['next']}"
    )
    assert [e["type"] for e in older["data"]] == ["track", "identify"]
    assert older["data"][0]["related"]["users"].startswith("use_")
    excluded = await profile_api(http, server.url, "user_id:u1/events?exclude=Order%20Completed")
    assert "track" not in [e["type"] for e in excluded["data"]]

    metadata = (await profile_api(http, server.url, "anonymous_id:a1/metadata"))["metadata"]
    assert set(metadata) == {
        "created_at",
        "updated_at",
        "expires_at",
        "first_message_id",
        "first_source_id",
        "last_message_id",
        "last_source_id",
    }

    links = await profile_api(http, server.url, "user_id:u1/links")
    assert links["data"][0]["to_collection"] == "accounts"
    assert links["data"][0]["external_ids"][0]["type"] == "group_id"
    account = await profile_api(http, server.url, "group_id:g1/traits", collection="accounts")
    assert account["traits"] == {"name": "Acme"}
    users = await profile_api(http, server.url, "group_id:g1/links", collection="accounts")
    assert {e["type"] for e in users["data"][0]["external_ids"]} == {"user_id", "anonymous_id"}


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("user_id:nobody/traits", 404, "not_found"),
        ("nocolon/traits", 400, "validation_error"),
        ("User_Id:u1/traits", 400, "validation_error"),
        ("user_id:u1/traits?limit=500", 400, "validation_error"),
        ("user_id:u1/traits?limit=abc", 400, "validation_error"),
        ("user_id:u1/traits?class=segment", 400, "validation_error"),
        ("user_id:u1/events?sort=up", 400, "validation_error"),
        ("user_id:u1/events?start=yesterday", 400, "validation_error"),
        ("user_id:u1/events?next=zz", 400, "invalid_request_error"),
        ("user_id:u1/links?limit=21", 400, "validation_error"),
    ],
)
async def test_segment_s_errors(
    server: RunningServer, http: aiohttp.ClientSession, path: str, status: int, code: str
) -> None:
    body = await profile_api(http, server.url, path, status=status)
    assert body["error"]["code"] == code
    assert body["error"]["message"]


async def test_basic_auth_any_token_unless_the_space_lists_tokens(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    url = f"{server.url}/v1/spaces/default/collections/users/profiles/user_id:u1/traits"
    async with http.get(url) as response:
        assert response.status == 401
        assert (await response.json())["error"]["code"] == "authentication_error"
        assert response.headers["WWW-Authenticate"].startswith("Basic")
    locked = f"{server.url}/v1/spaces/locked/collections/users/profiles/user_id:u1/traits"
    async with http.get(locked, headers=auth("wrong")) as response:
        assert response.status == 401
    async with http.get(locked, headers=auth("secret")) as response:
        assert response.status == 404  # the locked space has no profiles: its sources are none
    unknown = f"{server.url}/v1/spaces/nope/collections/users/profiles/user_id:u1/traits"
    async with http.get(unknown, headers=auth()) as response:
        assert response.status == 404
        assert "segemu's spaces" in (await response.json())["error"]["message"]
    collection = f"{server.url}/v1/spaces/default/collections/things/profiles/user_id:u1/traits"
    async with http.get(collection, headers=auth()) as response:
        assert response.status == 400


async def test_no_page_on_another_origin_can_read_profiles(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    url = f"{server.url}/v1/spaces/default/collections/users/profiles/user_id:u1/traits"
    headers = {**auth(), "Origin": "https://evil.example"}
    async with http.get(url, headers=headers) as response:
        assert response.status == 403
        assert "Access-Control-Allow-Origin" not in response.headers
    async with http.get(url, headers={**auth(), "Host": "rebound.example"}) as response:
        assert response.status in (400, 403, 421)


async def test_control_api_lists_searches_and_shows_profiles(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    async with http.get(f"{server.url}/_segemu/profiles") as response:
        listing = await response.json()
    assert listing["count"] == 1
    assert listing["profiles"][0]["traits"]["plan"] == "pro"
    async with http.get(f"{server.url}/_segemu/profiles?q=PARIS") as response:
        assert (await response.json())["count"] == 1
    async with http.get(f"{server.url}/_segemu/profiles?q=nobody") as response:
        assert (await response.json())["count"] == 0
    async with http.get(f"{server.url}/_segemu/profiles?collection=accounts") as response:
        assert (await response.json())["profiles"][0]["traits"] == {"name": "Acme"}
    async with http.get(f"{server.url}/_segemu/profiles/anonymous_id:a1") as response:
        detail = await response.json()
    assert [e["type"] for e in detail["events"]] == ["page", "identify", "track", "group"]
    assert detail["trait_details"]["plan"]["value"] == "pro"
    assert [c["type"] for c in detail["identity_changes"]] == ["page", "identify", "group"]
    assert detail["accounts"][0]["traits"] == {"name": "Acme"}
    async with http.get(f"{server.url}/_segemu/profiles/user_id:nobody") as response:
        assert response.status == 404
    async with http.get(f"{server.url}/_segemu/profiles/plain") as response:
        assert response.status == 400
    async with http.get(f"{server.url}/_segemu/profiles?space=nope") as response:
        assert response.status == 404
    async with http.get(f"{server.url}/_segemu/profiles?limit=0") as response:
        assert response.status == 400

    [identify] = server.emulator.events(limit=None)[2:3]
    message_id = identify["messageId"]
    async with http.get(f"{server.url}/_segemu/events/{message_id}/identity") as response:
        call = await response.json()
    assert call["identity"]["changes"][0]["external_id"] == "user_id:u1"
    assert call["profiles"][call["identity"]["segment_id"]]["traits"]["plan"] == "pro"
    async with http.get(f"{server.url}/_segemu/events/nope/identity") as response:
        assert response.status == 404
