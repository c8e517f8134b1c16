"""The warehouse destination on Segment spec events: the fixtures and the official Python SDK
go through a real segemu server, and the events it stores (what Segment would store) become
the rows Segment's warehouse connector would load (segment-docs
connections/storage/warehouses/schema.md). The naming rules, one by one, are in
test_warehouse_naming.py."""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from segment.analytics import Client

from segemu.destinations.base import Request
from segemu.destinations.engine import run_preset
from segemu.destinations.warehouse import WAREHOUSE, WarehouseTables, check_settings
from segemu.destinations.warehouse_naming import snake_case
from segemu.http.server import RunningServer
from segemu.message import format_timestamp
from tests.conftest import get_json

SPEC = Path(__file__).parent.parent.parent / "fixtures" / "spec"
# The columns whose values depend on when the test runs.
VOLATILE = ("received_at", "uuid_ts")


def spec_lines(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (SPEC / name).read_text().splitlines() if line]


async def send_and_store(
    server: RunningServer, http: aiohttp.ClientSession, batch: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """POST a batch as an SDK would; the events segemu stored, in the order sent."""
    key = base64.b64encode(b"wk_warehouse:").decode()
    async with http.post(
        f"{server.url}/v1/batch", json={"batch": batch}, headers={"Authorization": f"Basic {key}"}
    ) as response:
        assert response.status == 200, await response.text()
    listed = await get_json(http, f"{server.url}/_segemu/events?limit=1000")
    records = list(reversed(listed["events"]))
    assert [record["status"] for record in records] == ["accepted"] * len(batch)
    return [record["event"] for record in records]


def rows_of(events: list[dict[str, Any]], **settings: Any) -> list[Request]:
    return [request for event in events for request in run_preset(WAREHOUSE, event, settings)]


def stable(row: dict[str, Any]) -> dict[str, Any]:
    return {column: value for column, value in row.items() if column not in VOLATILE}


async def test_every_ecommerce_event_gets_a_tracks_row_and_a_row_in_its_own_table(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    before = format_timestamp(datetime.now(UTC))
    events = await send_and_store(server, http, spec_lines("ecommerce.jsonl"))
    requests = rows_of(events, source="Web Store")
    after = format_timestamp(datetime.now(UTC))

    assert len(requests) == 2 * 28
    assert {request["url"] for request in requests[0::2]} == {"warehouse://web_store.tracks"}
    # schema.md: one table per event, named by the snake_case of its name.
    assert [
        request["url"].removeprefix("warehouse://web_store.") for request in requests[1::2]
    ] == [
        "products_searched",
        "product_list_viewed",
        "product_list_filtered",
        "promotion_viewed",
        "promotion_clicked",
        "product_clicked",
        "product_viewed",
        "product_added",
        "product_removed",
        "product_added_to_wishlist",
        "product_shared",
        "wishlist_product_added_to_cart",
        "product_removed_from_wishlist",
        "cart_viewed",
        "cart_shared",
        "coupon_entered",
        "coupon_applied",
        "coupon_removed",
        "coupon_denied",
        "checkout_started",
        "checkout_step_viewed",
        "checkout_step_completed",
        "payment_info_entered",
        "order_completed",
        "product_reviewed",
        "order_updated",
        "order_cancelled",
        "order_refunded",
    ]
    for event, tracks, own in zip(events, requests[0::2], requests[1::2], strict=True):
        assert tracks["method"] == own["method"] == "INSERT"
        assert tracks["action"] == own["action"] == "tracks"
        # The tracks row is the event row without the properties (schema.md §Tracks table).
        assert {column: own["body"][column] for column in tracks["body"]} == tracks["body"]
        assert tracks["body"]["id"] == event["messageId"]
        assert tracks["body"]["received_at"] == event["receivedAt"]
        assert before <= tracks["body"]["uuid_ts"] <= after
        columns = {snake_case(key) for key in event["properties"]}
        assert columns <= set(own["body"])
        assert not columns & set(tracks["body"])


async def test_order_completed_rows_as_the_readme_shows_them(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    [order] = [line for line in spec_lines("ecommerce.jsonl") if line["event"] == "Order Completed"]
    [event] = await send_and_store(server, http, [order])
    tracks, own = rows_of([event], source="Web Store")
    common = {
        "id": "b29b7ae7-d17f-5c45-bc6e-210bbb2f2752",
        # No sentAt in the fixture: no sent_at column, and timestamp = originalTimestamp.
        "timestamp": "2025-05-11T17:24:17.889Z",
        "original_timestamp": "2025-05-11T17:24:17.889Z",
        "anonymous_id": "a2f6c3d1-7b4e-4c59-9e1f-3d8b6a0c5e72",
        "user_id": "019mr8mf4r",
        "event": "order_completed",
        "event_text": "Order Completed",
        "context_library_name": "analytics.js",
        "context_library_version": "next-1.70.0",
        "context_locale": "en-US",
        "context_user_agent": order["context"]["userAgent"],
        "context_page_path": "/checkout/confirmation",
        "context_page_referrer": "https://www.example.com/checkout/payment",
        "context_page_search": "",
        "context_page_title": "Thank you | Example Store",
        "context_page_url": "https://www.example.com/checkout/confirmation",
    }
    assert tracks["url"] == "warehouse://web_store.tracks"
    assert stable(tracks["body"]) == common
    assert own["url"] == "warehouse://web_store.order_completed"
    assert stable(own["body"]) == {
        **common,
        "checkout_id": "fksdjfsdjfisjf9sdfjsd9f",
        "order_id": "50314b8e9bcf000000000000",
        "affiliation": "Google Store",
        "total": 27.5,
        "subtotal": 22.5,
        "revenue": 22.5,
        "shipping": 3,
        "tax": 2,
        "discount": 2.5,
        "coupon": "hasbros",
        "currency": "USD",
        # schema.md: arrays are stringified.
        "products": json.dumps(order["properties"]["products"], separators=(",", ":")),
    }


async def test_lifecycle_calls_fill_identifies_users_groups_aliases_pages_and_screens(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    events = await send_and_store(server, http, spec_lines("lifecycle.jsonl"))
    requests = rows_of(events, schema="initech_ios")
    by_table: dict[str, list[Request]] = {}
    for request in requests:
        by_table.setdefault(request["url"].removeprefix("warehouse://initech_ios."), []).append(
            request
        )
    assert {
        table: len(rows)
        for table, rows in by_table.items()
        if not table.startswith(
            (
                "application_",
                "account_",
                "push_",
                "deep_",
                "trial_",
                "signed_",
                "install_",
                "invite_",
            )
        )
    } == {
        "tracks": 23,
        "screens": 1,
        "aliases": 1,
        "identifies": 1,
        "users": 1,
        "groups": 1,
        "pages": 1,
    }

    [identify] = by_table["identifies"]
    assert identify["action"] == "identifies"
    # schema.md: traits as top-level columns, nested objects flattened; snake_case of
    # postalCode. originalTimestamp -07:00 is held in UTC.
    assert stable(identify["body"]) == {
        "id": "ea86529f-09f3-5679-9b53-af5da6d2e096",
        "timestamp": "2025-06-02T16:13:17.412Z",
        "original_timestamp": "2025-06-02T16:13:17.412Z",
        "anonymous_id": "507f191e810c19729de860ea",
        "user_id": "97980cfea0067",
        **{
            column: value
            for column, value in identify["body"].items()
            if column.startswith("context_")
        },
        "name": "Peter Gibbons",
        "email": "peter@example.com",
        "plan": "premium",
        "logins": 5,
        "address_street": "6th St",
        "address_city": "San Francisco",
        "address_state": "CA",
        "address_postal_code": "94103",
        "address_country": "USA",
    }
    assert identify["body"]["context_app_version"] == "1.1.2"
    assert identify["body"]["context_network_wifi"] is True
    assert identify["body"]["context_screen_width"] == 393

    [users] = by_table["users"]
    # schema.md: upserted on user_id; id is the user_id; no anonymous_id column.
    assert users["method"] == "UPSERT"
    assert users["body"]["id"] == "97980cfea0067"
    assert "anonymous_id" not in users["body"]
    assert "user_id" not in users["body"]
    assert users["body"]["address_city"] == "San Francisco"

    [group] = by_table["groups"]
    assert group["body"]["group_id"] == "0e8c78ea9d97a7b8185e8632"
    assert group["body"]["total_billed"] == 830
    assert group["body"]["employees"] == 329
    [alias] = by_table["aliases"]
    assert alias["body"]["previous_id"] == "507f191e810c19729de860ea"
    assert alias["body"]["user_id"] == "97980cfea0067"
    [screen] = by_table["screens"]
    assert screen["body"]["name"] == "Home"
    assert screen["body"]["feed_type"] == "private"
    [page] = by_table["pages"]
    assert {
        column: page["body"][column]
        for column in ("name", "path", "title", "url", "context_page_path", "context_library_name")
    } == {
        "name": "Home",
        "path": "/",
        "title": "Welcome | Initech",
        "url": "http://www.example.com/",
        "context_page_path": "/",
        "context_library_name": "analytics.js",
    }

    [signed_up] = by_table["signed_up"]
    # `type` is not a warehouse column (data-lakes/comparison.md), so the property keeps its
    # name; the B2B events' context.groupId is a context column.
    assert signed_up["body"]["type"] == "organic"
    assert signed_up["body"]["context_group_id"] == "0e8c78ea9d97a7b8185e8632"
    [installed] = by_table["install_attributed"]
    assert installed["body"]["campaign_ad_creative"] == "Red Hello World Ad"


async def test_video_arrays_are_stringified_and_nulls_leave_no_value(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    events = await send_and_store(server, http, spec_lines("video.jsonl"))
    rows: dict[str, dict[str, Any]] = {}
    for request in rows_of(events, source="web"):
        table = request["url"].removeprefix("warehouse://web.")
        rows.setdefault(table, request["body"])
    started = rows["video_playback_started"]
    assert started["ad_asset_id"] == '["ad123","ad097"]'
    assert started["content_pod_ids"] == '["segA","segB"]'
    assert started["full_screen"] is False
    assert started["position"] == 0
    paused = rows["video_playback_paused"]
    # schema.md: a column is only populated with a non-null value.
    assert "ad_asset_id" not in paused
    assert paused["content_asset_id"] == "0129370"
    quality = rows["video_quality_updated"]
    assert (quality["startup_time"], quality["dropped_frames"], quality["framerate"]) == (
        1.2,
        3,
        29.0,
    )


@pytest.mark.compat
async def test_python_sdk_calls_become_rows_with_its_library_and_utc_timestamps(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    client = Client("wk_warehouse", host=server.url)
    client.identify("user-1", {"email": "a@example.com", "firstName": "Ada"})
    client.track("user-1", "Signed Up", {"plan": "Pro Annual", "accountType": "Facebook"})
    client.page("user-1", "Docs", "Home", {"url": "http://example.com/"})
    try:
        await asyncio.to_thread(client.flush)
    finally:
        await asyncio.to_thread(client.join)
    listed = await get_json(http, f"{server.url}/_segemu/events?limit=10")
    events = list(reversed([record["event"] for record in listed["events"]]))
    identifies, users, tracks, signed_up, page = rows_of(events, source="backend")

    assert identifies["body"]["context_library_name"] == "analytics-python"
    assert identifies["body"]["first_name"] == "Ada"
    assert users["body"]["first_name"] == "Ada"
    assert users["body"]["id"] == "user-1"
    # schema.md's own example: plan and accountType become plan and account_type.
    assert signed_up["url"] == "warehouse://backend.signed_up"
    assert (signed_up["body"]["plan"], signed_up["body"]["account_type"]) == (
        "Pro Annual",
        "Facebook",
    )
    assert "plan" not in tracks["body"]
    assert (page["body"]["name"], page["body"]["category"]) == ("Home", "Docs")
    # The SDK writes sentAt as +00:00 with microseconds; the column holds it in UTC.
    assert signed_up["body"]["sent_at"].endswith("Z")
    assert signed_up["body"]["sent_at"] == format_timestamp(
        datetime.fromisoformat(events[1]["sentAt"])
    )


def identify(
    message_id: str,
    traits: dict[str, Any],
    user_id: str | None = "u-1",
    received_at: str = "2025-01-01T00:00:00.000Z",
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "identify",
        "messageId": message_id,
        "traits": traits,
        "anonymousId": "anon-1",
        "receivedAt": received_at,
        "timestamp": received_at,
        "originalTimestamp": received_at,
        "context": {"library": {"name": "analytics.js"}},
    }
    if user_id:
        event["userId"] = user_id
    return event


def test_users_table_holds_each_users_latest_traits() -> None:
    tables = WarehouseTables()
    tables.load(
        rows_of(
            [
                identify("m-1", {"email": "old@example.com", "plan": "free"}),
                identify(
                    "m-2", {"email": "new@example.com"}, received_at="2025-01-02T00:00:00.000Z"
                ),
                identify("m-3", {"email": "other@example.com"}, user_id="u-2"),
                identify("m-4", {"email": "anon@example.com"}, user_id=None),
            ],
            schema="app",
        )
    )
    users = {row["id"]: stable(row) for row in tables.table("users")}
    assert users == {
        "u-1": {
            "id": "u-1",
            "context_library_name": "analytics.js",
            "email": "new@example.com",
            "plan": "free",
        },
        "u-2": {"id": "u-2", "context_library_name": "analytics.js", "email": "other@example.com"},
    }
    assert tables.table("users")[0]["received_at"] == "2025-01-02T00:00:00.000Z"
    # Every identify call is a row of identifies, with or without a userId.
    assert [row["id"] for row in tables.table("app.identifies")] == ["m-1", "m-2", "m-3", "m-4"]


def test_accounts_table_is_written_only_when_enabled() -> None:
    group = {
        "type": "group",
        "messageId": "g-1",
        "groupId": "acct-1",
        "userId": "u-1",
        "traits": {"name": "Initech", "employees": 329},
        "receivedAt": "2025-01-01T00:00Z",
    }
    assert [r["url"] for r in run_preset(WAREHOUSE, group, {"schema": "app"})] == [
        "warehouse://app.groups"
    ]
    _groups, accounts = run_preset(WAREHOUSE, group, {"schema": "app", "accounts": True})
    assert accounts["url"] == "warehouse://app.accounts"
    assert accounts["method"] == "UPSERT"
    assert stable(accounts["body"]) == {"id": "acct-1", "name": "Initech", "employees": 329}


TRACK = {
    "type": "track",
    "event": "Signed Up",
    "messageId": "t-1",
    "userId": "u-1",
    "receivedAt": "2025-01-01T00:00:00.000Z",
}


@pytest.mark.parametrize(
    ("integrations", "settings", "loaded"),
    [
        # faq.md §Can I control what data is sent to my warehouse?
        ({}, {}, True),
        ({"All": True, "Warehouses": {"all": False}}, {}, False),
        ({"All": False, "Warehouses": {"all": True}}, {}, True),
        # "except data warehouses" (guides/filtering-data.md): All alone leaves them on.
        ({"All": False}, {}, True),
        (
            {"All": False, "Warehouses": {"warehouseIds": ["wh_1", "wh_2"]}},
            {"warehouse_id": "wh_2"},
            True,
        ),
        ({"All": False, "Warehouses": {"warehouseIds": ["wh_1"]}}, {"warehouse_id": "wh_2"}, False),
        ({"Warehouses": False}, {}, False),
        ({"Warehouses": True}, {}, True),
        # Other destinations' switches leave warehouses alone.
        ({"Mixpanel": False, "Amplitude": {"session_id": 1}}, {}, True),
    ],
)
def test_integrations_object_warehouses_option(
    integrations: dict[str, Any], settings: dict[str, Any], loaded: bool
) -> None:
    requests = run_preset(WAREHOUSE, {**TRACK, "integrations": integrations}, settings)
    assert bool(requests) is loaded
    assert WAREHOUSE.aliases == ("Warehouses",)


@pytest.mark.parametrize(
    ("event", "actions"),
    [
        ({**TRACK}, ["tracks", "tracks"]),
        ({**TRACK, "type": "page", "name": "Home"}, ["pages"]),
        ({**TRACK, "type": "screen", "name": "Home"}, ["screens"]),
        ({**TRACK, "type": "identify"}, ["identifies", "identifies"]),
        ({**TRACK, "type": "group", "groupId": "g"}, ["groups"]),
        ({**TRACK, "type": "alias", "previousId": "a"}, ["aliases"]),
        ({**TRACK, "type": "unknown"}, []),
    ],
)
def test_each_call_type_has_its_action(event: dict[str, Any], actions: list[str]) -> None:
    assert [request["action"] for request in run_preset(WAREHOUSE, event)] == actions


@pytest.mark.parametrize(
    "event",
    [
        {**TRACK, "properties": ["not", "an", "object"], "context": "text", "traits": 5},
        {**TRACK, "event": 42},
        {**TRACK, "event": "!!!"},
        {"type": "track"},
        {**TRACK, "properties": {"deep": json.loads("[" * 900 + "]" * 900)}},
        {**TRACK, "receivedAt": "yesterday", "sentAt": 12, "userId": {"id": 1}},
    ],
)
def test_malformed_events_still_give_rows_and_never_raise(event: dict[str, Any]) -> None:
    [tracks, *_] = run_preset(WAREHOUSE, event)
    assert tracks["url"] == "warehouse://_default.tracks"
    assert all(isinstance(value, str | int | float | bool) for value in tracks["body"].values())


def test_a_nesting_too_deep_for_json_is_named_not_raised() -> None:
    deep: dict[str, Any] = {}
    inner = deep
    for _ in range(3000):
        inner["a"] = {}
        inner = inner["a"]
    inner["leaf"] = [1]
    nested: list[Any] = []
    for _ in range(3000):
        nested = [nested]
    [_, own] = run_preset(WAREHOUSE, {**TRACK, "properties": {"deep": deep, "list": nested}})
    [leaf] = [column for column in own["body"] if column.startswith("deep_a")]
    assert len(leaf) == 127
    assert own["body"][leaf] == "[1]"
    assert own["body"]["list"] == "[array nested too deeply to stringify]"


@pytest.mark.parametrize(
    ("settings", "problems"),
    [
        ({"schema": "web_prod", "warehouse_id": "wh_1", "accounts": True}, []),
        (
            {"schema": "Web Prod"},
            [
                "schema 'Web Prod' is not a warehouse schema name (lowercase "
                "letters, digits and underscores, not a reserved word); use "
                "'web_prod'"
            ],
        ),
        ({"accounts": "yes"}, ["setting 'accounts' must be a bool, got 'yes'"]),
        (
            {"shema": "x"},
            [
                "unknown setting 'shema'; known: schema, source, warehouse_id, accounts, "
                "profiles_sync, profiles_schema"
            ],
        ),
    ],
)
def test_settings_are_checked_with_a_message(settings: dict[str, Any], problems: list[str]) -> None:
    assert check_settings(settings) == problems
