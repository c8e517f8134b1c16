"""TikTok Conversions against the Segment spec events: what business-api.tiktok.com would
receive.

Expected shapes come from action-destinations src/destinations/tiktok-conversions (index.ts
presets, reportWebEvent/fields/common_fields.ts, reportWebEvent/utils.ts,
reportWebEvent/formatter.ts, versioning-info.ts, lib/hashing-utils.ts)."""

from __future__ import annotations

import hashlib
from typing import Any

from segemu.destinations.engine import run_preset
from segemu.destinations.presets import PRESETS
from segemu.destinations.presets.tiktok import format_address, format_string
from tests.destinations.presets.spec import epoch_ms, spec_event

TIKTOK = PRESETS["tiktok-conversions"]
URL = "https://business-api.tiktok.com/open_api/v1.3/event/track/"
HEADERS = {"Content-Type": "application/json", "Access-Token": "segemu-tiktok-access-token"}


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _anonymous_user(event: dict[str, Any]) -> dict[str, Any]:
    """A user known by its id only: every hashed list empty, every hashed field ""."""
    return {
        "external_id": [_sha256(event["userId"].lower())],
        "phone": [],
        "email": [],
        "first_name": "",
        "last_name": "",
        "city": "",
        "state": "",
        "country": "",
        "zip_code": "",
        "user_agent": event["context"]["userAgent"],
        "locale": event["context"]["locale"],
    }


def test_order_completed_is_complete_payment_with_every_product_as_contents() -> None:
    event = spec_event("ecommerce", "Order Completed")
    [sent] = run_preset(TIKTOK, event)
    assert (sent["action"], sent["method"], sent["url"]) == ("Report Web Event", "POST", URL)
    assert sent["headers"] == HEADERS
    properties = event["properties"]
    first, second = properties["products"]
    page = event["context"]["page"]
    assert sent["body"] == {
        "event_source": "web",
        "event_source_id": "SEGEMU0PIXEL0CODE",
        "partner_name": "Segment",
        "data": [
            {
                "event": "CompletePayment",
                "event_time": epoch_ms(event["timestamp"]) // 1000,
                "event_id": event["messageId"],
                "user": _anonymous_user(event),
                "properties": {
                    "contents": [
                        {
                            "price": 19,
                            "quantity": 1,
                            "content_category": "Games",
                            "content_id": first["product_id"],
                            "content_name": first["name"],
                        },
                        {
                            "price": 3,
                            "quantity": 2,
                            "content_category": "Games",
                            "content_id": second["product_id"],
                            "content_name": second["name"],
                        },
                    ],
                    "content_type": "product",
                    "currency": "USD",
                    # properties.value, else the revenue.
                    "value": properties["revenue"],
                    "order_id": properties["order_id"],
                },
                "page": {"url": page["url"], "referrer": page["referrer"]},
                "limited_data_use": False,
            }
        ],
    }


def test_page_is_a_page_view_without_contents() -> None:
    event = spec_event("lifecycle", type="page")
    [sent] = run_preset(TIKTOK, event)
    [data] = sent["body"]["data"]
    assert data == {
        "event": "PageView",
        "event_time": epoch_ms(event["timestamp"]) // 1000,
        "event_id": event["messageId"],
        "user": _anonymous_user(event),
        "properties": {"contents": [], "content_type": "product"},
        # The spec page's referrer is "", which Segment drops from the payload.
        "page": {"url": event["context"]["page"]["url"]},
        "limited_data_use": False,
    }


def test_identify_is_not_subscribed_and_is_filtered() -> None:
    assert run_preset(TIKTOK, spec_event("lifecycle", type="identify")) == []


def test_signed_up_is_complete_registration_with_hashed_contact_details() -> None:
    event = spec_event("lifecycle", "Signed Up")
    [sent] = run_preset(TIKTOK, event)
    [data] = sent["body"]["data"]
    assert data["event"] == "CompleteRegistration"
    properties = event["properties"]
    assert properties["phone"] == "410-555-9412"
    user = data["user"]
    assert user["email"] == [_sha256(properties["email"].lower())]
    assert user["phone"] == [_sha256("+4105559412")]
    assert user["first_name"] == _sha256("peter")
    assert user["last_name"] == _sha256("gibbons")


def test_the_ttclid_of_the_page_url_wins_and_test_event_code_and_address_are_sent() -> None:
    event = spec_event("ecommerce", "Order Completed")
    event["context"]["page"]["url"] += "?ttclid=from-url"
    event["properties"]["ttclid"] = "from-properties"
    event["context"]["traits"] = {"address": {"city": "San Francisco", "country": "U.S."}}
    event["context"]["ip"] = "203.0.113.9"
    [sent] = run_preset(TIKTOK, event)
    user = sent["body"]["data"][0]["user"]
    assert (user["ttclid"], user["ip"]) == ("from-url", "203.0.113.9")
    assert (user["city"], user["country"]) == ("sanfrancisco", "us")
    assert format_address(" New-York ") == "newyork"
    assert format_string(" Peter Gibbons") == _sha256("petergibbons")
    assert format_string(None) == ""
