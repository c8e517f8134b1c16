"""Pinterest Conversions API against the Segment spec events: what api.pinterest.com would
receive.

Expected shapes come from action-destinations src/destinations/pinterest-conversions (index.ts
presets, constants.ts, versioning-info.ts, reportConversionEvent/index.ts,
pinterset-capi-user-data.ts, pinterest-capi-custom-data.ts, lib/hashing-utils.ts)."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from segemu.destinations.engine import run_preset
from segemu.destinations.presets import PRESETS
from segemu.destinations.presets._support import IntegrationError
from segemu.destinations.presets.pinterest import hash_user_data
from tests.destinations.presets.spec import epoch_ms, spec_event

PINTEREST = PRESETS["pinterest-conversions"]
URL = "https://api.pinterest.com/v5/ad_accounts/549755885175/events"
HEADERS = {
    "Content-Type": "application/json",
    "Authorization": "Bearer segemu-pinterest-conversion-token",
}
IP = "203.0.113.9"


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _from_browser(event: dict[str, Any]) -> dict[str, Any]:
    # Segment adds context.ip to a browser's call on receipt; the fixtures carry none.
    event["context"]["ip"] = IP
    return event


def _web(event: dict[str, Any], name: str) -> dict[str, Any]:
    user_agent = event["context"]["userAgent"]
    return {
        "event_name": name,
        "action_source": "web",
        "event_time": epoch_ms(event["timestamp"]) // 1000,
        "event_id": event["messageId"],
        "event_source_url": event["context"]["page"]["url"],
        "partner_name": "ss-segment",
        "opt_out": True,
        "user_data": {"client_ip_address": IP, "client_user_agent": user_agent},
    }


def test_order_completed_is_a_checkout_with_contents_and_prices_as_strings() -> None:
    event = _from_browser(spec_event("ecommerce", "Order Completed"))
    [sent] = run_preset(PINTEREST, event)
    assert (sent["action"], sent["method"], sent["url"]) == ("Report Conversion Event", "POST", URL)
    assert sent["headers"] == HEADERS
    first, second = event["properties"]["products"]
    assert sent["body"] == {
        "data": [
            {
                **_web(event, "checkout"),
                "custom_data": {
                    "currency": "USD",
                    # value reads properties.price, else properties.value: an order has neither.
                    "contents": [
                        {
                            "id": first["product_id"],
                            "item_price": "19",
                            "quantity": 1,
                            "item_category": "Games",
                            "item_name": first["name"],
                        },
                        {
                            "id": second["product_id"],
                            "item_price": "3",
                            "quantity": 2,
                            "item_category": "Games",
                            "item_name": second["name"],
                        },
                    ],
                    "order_id": event["properties"]["order_id"],
                    "np": "ss-segment",
                },
                "app_info": {"user_agent": event["context"]["userAgent"]},
                "device_info": {"locale": "en-US"},
            }
        ]
    }


def test_page_is_a_page_visit() -> None:
    event = _from_browser(spec_event("lifecycle", type="page"))
    [sent] = run_preset(PINTEREST, event)
    assert sent["body"] == {
        "data": [
            {
                **_web(event, "page_visit"),
                "custom_data": {"np": "ss-segment"},
                "app_info": {"user_agent": event["context"]["userAgent"]},
                "device_info": {"locale": "en-US"},
            }
        ]
    }


def test_identify_is_not_subscribed_and_is_filtered() -> None:
    assert run_preset(PINTEREST, spec_event("lifecycle", type="identify")) == []


def test_without_email_or_ip_pinterest_refuses_the_call() -> None:
    with pytest.raises(IntegrationError, match=r"^User data must contain values for Email"):
        run_preset(PINTEREST, spec_event("ecommerce", "Order Completed"))


def test_signed_up_is_a_signup_with_the_email_hashed() -> None:
    event = spec_event("lifecycle", "Signed Up")
    [sent] = run_preset(PINTEREST, event)
    [data] = sent["body"]["data"]
    assert data["event_name"] == "signup"
    assert data["user_data"] == {"em": [_sha256(event["properties"]["email"])]}


def test_user_data_is_normalized_then_hashed() -> None:
    digest = _sha256("kept")
    assert hash_user_data(
        {
            "email": [" Peter@Example.COM", digest],
            "phone": ["+1 (410) 555-9412"],
            "gender": ["Non-Binary"],
            "city": ["San Francisco"],
            "client_ip_address": IP,
        }
    ) == {
        "em": [_sha256("peter@example.com"), digest],
        "ph": [_sha256("14105559412")],
        "ge": [_sha256("n")],
        "ct": [_sha256("sanfrancisco")],
        "client_ip_address": IP,
    }
