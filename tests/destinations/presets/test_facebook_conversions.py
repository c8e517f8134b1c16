"""Facebook Conversions API (Actions) against the Segment spec events: what graph.facebook.com
would receive.

Expected shapes come from action-destinations src/destinations/facebook-conversions-api
(purchase2/index.ts, pageView2/index.ts, shared/fields.ts, shared/functions.ts,
lib/hashing-utils.ts, versioning-info.ts)."""

from __future__ import annotations

import hashlib

import pytest

from segemu.destinations.engine import run_preset
from segemu.destinations.presets import PRESETS
from segemu.destinations.presets._support import IntegrationError, PayloadValidationError
from segemu.destinations.presets.facebook_conversions import user_data
from tests.destinations.presets.spec import spec_event

FACEBOOK = PRESETS["facebook-conversions"]
URL = "https://graph.facebook.com/v24.0/123456789012345/events"


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_order_completed_is_a_purchase_with_hashed_external_id_and_contents() -> None:
    event = spec_event("ecommerce", "Order Completed")
    [sent] = run_preset(FACEBOOK, event)
    assert (sent["action"], sent["method"], sent["url"]) == ("Purchase V2", "POST", URL)
    assert sent["headers"] == {
        "Content-Type": "application/json",
        "authorization": "Bearer segemu-facebook-system-user-token",
    }
    first, second = event["properties"]["products"]
    assert sent["body"] == {
        "data": [
            {
                "event_name": "Purchase",
                "event_time": event["timestamp"],
                "event_source_url": event["context"]["page"]["url"],
                "event_id": event["messageId"],
                "action_source": "website",
                "user_data": {
                    "external_id": [_sha256(event["userId"].lower())],
                    "client_user_agent": event["context"]["userAgent"],
                },
                "custom_data": {
                    "currency": "USD",
                    "value": event["properties"]["revenue"],
                    "contents": [
                        {"id": first["product_id"], "quantity": 1, "item_price": 19},
                        {"id": second["product_id"], "quantity": 2, "item_price": 3},
                    ],
                },
            }
        ]
    }


def test_page_is_a_page_view() -> None:
    event = spec_event("lifecycle", type="page")
    [sent] = run_preset(FACEBOOK, event, {"testEventCode": "TEST123"})
    assert sent["body"] == {
        "data": [
            {
                "event_name": "PageView",
                "event_time": event["timestamp"],
                "event_source_url": event["context"]["page"]["url"],
                "event_id": event["messageId"],
                "action_source": "website",
                "user_data": {
                    "external_id": [_sha256(event["userId"])],
                    "client_user_agent": event["context"]["userAgent"],
                },
            }
        ],
        "test_event_code": "TEST123",
    }


def test_identify_is_not_subscribed_and_is_filtered() -> None:
    assert run_preset(FACEBOOK, spec_event("lifecycle", type="identify")) == []


def test_user_data_is_cleaned_then_hashed_and_a_hash_is_kept() -> None:
    already = _sha256("x")
    assert user_data(
        {
            "email": " Peter@Example.com ",
            "phone": "+1 (410) 555-9412",
            "gender": "Male",
            "city": "San Francisco",
            "externalId": ["U1", already],
            "client_ip_address": "203.0.113.9",
        }
    ) == {
        "em": _sha256("peter@example.com"),
        "ph": _sha256("14105559412"),
        "ge": _sha256("m"),
        "ct": _sha256("sanfrancisco"),
        "external_id": [_sha256("u1"), already],
        "client_ip_address": "203.0.113.9",
    }


def test_a_purchase_needs_a_known_currency_and_a_website_call_a_user_agent() -> None:
    event = spec_event("ecommerce", "Order Completed")
    event["properties"]["currency"] = "XXQ"
    with pytest.raises(IntegrationError, match=r"^XXQ is not a valid currency code\.$"):
        run_preset(FACEBOOK, event)
    page = spec_event("lifecycle", type="page")
    del page["context"]["userAgent"]
    with pytest.raises(PayloadValidationError, match="client_user_agent must be defined"):
        run_preset(FACEBOOK, page)
