"""Facebook Conversions API (Actions) against the Segment spec events: what graph.facebook.com
would receive.

Expected shapes come from action-destinations src/destinations/facebook-conversions-api
(purchase2/index.ts, pageView2/index.ts, shared/fields.ts, shared/functions.ts,
lib/hashing-utils.ts, versioning-info.ts)."""

from __future__ import annotations

import hashlib
from typing import Any

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


# The other V2 actions (addToCart2, initiateCheckout2, viewContent2, search2, custom2 and
# shared/fields.ts, shared/functions.ts), at their default subscriptions.


def _base(event: dict[str, Any], name: str) -> dict[str, Any]:
    return {
        "event_name": name,
        "event_time": event["timestamp"],
        "event_source_url": event["context"]["page"]["url"],
        "event_id": event["messageId"],
        "action_source": "website",
        "user_data": {
            "external_id": [_sha256(event["anonymousId"])],
            "client_user_agent": event["context"]["userAgent"],
        },
    }


def test_product_added_is_add_to_cart_with_the_product_as_contents() -> None:
    event = spec_event("ecommerce", "Product Added")
    assert "userId" not in event  # the anonymous id is the external id
    [sent] = run_preset(FACEBOOK, event)
    assert (sent["action"], sent["url"]) == ("Add to Cart V2", URL)
    properties = event["properties"]
    assert sent["body"] == {
        "data": [
            {
                **_base(event, "AddToCart"),
                # The spec Product Added has no currency: it is left out.
                "custom_data": {
                    "value": properties["price"],
                    "contents": [
                        {"id": properties["product_id"], "quantity": 1, "item_price": 18.99}
                    ],
                },
            }
        ]
    }


def test_checkout_started_is_initiate_checkout_with_every_product() -> None:
    event = spec_event("ecommerce", "Checkout Started")
    [sent] = run_preset(FACEBOOK, event)
    assert sent["action"] == "Initiate Checkout V2"
    first, second = event["properties"]["products"]
    [data] = sent["body"]["data"]
    assert data["event_name"] == "InitiateCheckout"
    assert data["custom_data"] == {
        "currency": "USD",
        "value": event["properties"]["revenue"],
        "contents": [
            {"id": first["product_id"], "quantity": 1, "item_price": 19},
            {"id": second["product_id"], "quantity": 2, "item_price": 3},
        ],
    }


def test_product_viewed_is_view_content_and_a_lower_case_currency_is_refused() -> None:
    event = spec_event("ecommerce", "Product Viewed")
    # The spec's Product Viewed writes "usd": not an ISO 4217 code as Facebook checks them.
    with pytest.raises(IntegrationError, match=r"^usd is not a valid currency code\.$"):
        run_preset(FACEBOOK, event)
    event["properties"]["currency"] = "USD"
    [sent] = run_preset(FACEBOOK, event)
    assert sent["action"] == "View Content V2"
    properties = event["properties"]
    assert sent["body"]["data"][0]["custom_data"] == {
        "currency": "USD",
        "value": properties["price"],
        "content_ids": [properties["product_id"]],
        "contents": [{"id": properties["product_id"], "quantity": 1, "item_price": 18.99}],
    }


def test_products_searched_is_search_and_needs_a_product_id_in_its_contents() -> None:
    event = spec_event("ecommerce", "Products Searched")
    # contents default to the properties as one product: the spec search has no product_id.
    with pytest.raises(PayloadValidationError, match=r"^contents\[0\] must include an 'id'"):
        run_preset(FACEBOOK, event)
    event["properties"]["product_id"] = "507f1f77bcf86cd799439011"
    [sent] = run_preset(FACEBOOK, event)
    assert sent["action"] == "Search V2"
    assert sent["body"]["data"][0]["custom_data"] == {
        "contents": [{"id": "507f1f77bcf86cd799439011"}],
        "search_string": "blue roses",
    }


def test_other_tracks_are_custom_events_named_after_the_event() -> None:
    event = spec_event("lifecycle", "Signed Up")
    [sent] = run_preset(FACEBOOK, event)
    assert sent["action"] == "Custom Event V2"
    [data] = sent["body"]["data"]
    assert (data["event_name"], data["custom_data"]) == ("Signed Up", {})
    # A custom event needs no user agent, even from a website.
    assert "client_user_agent" not in data["user_data"]


def test_us_state_and_country_names_become_codes_before_hashing() -> None:
    assert user_data({"state": "New York", "country": "United States"}) == {
        "st": _sha256("ny"),
        "country": _sha256("us"),
    }
    # Codes, and names the tables do not list, are hashed as cleaned.
    assert user_data({"state": " CA ", "country": "Deutschland"}) == {
        "st": _sha256("ca"),
        "country": _sha256("deutschland"),
    }
