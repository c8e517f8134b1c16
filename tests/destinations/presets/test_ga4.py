"""Google Analytics 4 Cloud against the Segment spec events: what /mp/collect would receive.

Expected shapes come from action-destinations src/destinations/google-analytics-4 (each
action's index.ts, ga4-functions.ts, ga4-properties.ts) and the GA4 Cloud doc page."""

from __future__ import annotations

from typing import Any

import pytest

from segemu.destinations.base import Action, Preset, Request
from segemu.destinations.engine import compile_action, run_preset
from segemu.destinations.presets import ACTIONS, PRESETS
from segemu.destinations.presets._support import (
    ActionError,
    IntegrationError,
    PayloadValidationError,
)
from tests.destinations.presets.spec import epoch_ms, spec_event, spec_events

GA4 = PRESETS["ga4"]
COLLECT = (
    "https://www.google-analytics.com/mp/collect?api_secret=segemu-ga4-api-secret"
    "&measurement_id=G-SEGEMU0000"
)


def _only(action: Action, **mapping: Any) -> Preset:
    custom = Action(
        action.name, action.subscribe, {**action.mapping, **mapping}, action.build, action.key
    )
    return Preset("ga4", GA4.name, GA4.aliases, (custom,), GA4.settings)


def _ga4_event(sent: Request) -> dict[str, Any]:
    [event] = sent["body"]["events"]
    assert isinstance(event, dict)
    return event


def test_a_page_call_is_a_page_view_with_client_id_and_timestamp_micros() -> None:
    event = spec_event("lifecycle", type="page")
    [sent] = run_preset(GA4, event)
    assert (sent["action"], sent["method"], sent["url"]) == ("Page View", "POST", COLLECT)
    body = sent["body"]
    # client_id is the userId, falling back to the anonymousId; GA4's user_id is opt-in.
    assert body["client_id"] == event["userId"]
    assert "user_id" not in body
    assert body["timestamp_micros"] == epoch_ms(event["timestamp"]) * 1000
    page = event["context"]["page"]
    # The page's referrer is "": Segment drops empty strings from the mapped fields.
    assert _ga4_event(sent) == {
        "name": "page_view",
        "params": {
            "page_location": page["url"],
            "page_title": page["title"],
            "engagement_time_msec": 1,
        },
    }


def test_order_completed_is_a_purchase_with_items_from_products() -> None:
    event = spec_event("ecommerce", "Order Completed")
    [sent] = run_preset(GA4, event)
    properties = event["properties"]
    items = [
        {
            "item_id": product["product_id"],
            "item_name": product["name"],
            "item_category": product["category"],
            "price": product["price"],
            "quantity": product["quantity"],
        }
        for product in properties["products"]
    ]
    assert _ga4_event(sent) == {
        "name": "purchase",
        "params": {
            "affiliation": properties["affiliation"],
            "coupon": properties["coupon"],
            "currency": properties["currency"],
            "items": items,
            "transaction_id": properties["order_id"],
            "shipping": properties["shipping"],
            "value": properties["total"],
            "tax": properties["tax"],
            "engagement_time_msec": 1,
        },
    }
    assert sent["body"]["client_id"] == event["userId"]


def test_product_added_is_add_to_cart_with_the_product_as_the_only_item() -> None:
    event = spec_event("ecommerce", "Product Added")
    [sent] = run_preset(GA4, event)
    properties = event["properties"]
    assert sent["body"]["client_id"] == event["anonymousId"]  # still anonymous
    assert _ga4_event(sent) == {
        "name": "add_to_cart",
        "params": {
            "items": [
                {
                    "item_id": properties["product_id"],
                    "item_name": properties["name"],
                    "coupon": properties["coupon"],
                    "item_brand": properties["brand"],
                    "item_category": properties["category"],
                    "item_variant": properties["variant"],
                    "price": properties["price"],
                    "quantity": properties["quantity"],
                }
            ],
            "engagement_time_msec": 1,
        },
    }


def test_promotion_viewed_maps_creative_position_and_name() -> None:
    event = spec_event("ecommerce", "Promotion Viewed")
    properties = event["properties"]
    assert _ga4_event(run_preset(GA4, event)[0]) == {
        "name": "view_promotion",
        "params": {
            "creative_slot": properties["creative"],
            "location_id": properties["position"],
            "promotion_id": properties["promotion_id"],
            "promotion_name": properties["name"],
            "items": [{"item_name": properties["name"]}],
            "engagement_time_msec": 1,
        },
    }


def test_other_track_calls_are_custom_events_with_spaces_replaced() -> None:
    event = spec_event("ecommerce", "Product List Filtered")
    [sent] = run_preset(GA4, event)
    assert sent["action"] == "Custom Event"
    assert _ga4_event(sent) == {
        "name": "Product_List_Filtered",
        "params": {"engagement_time_msec": 1},
    }
    nested = _only(GA4.actions[-1], params={"sorts": {"@path": "$.properties.sorts"}})
    with pytest.raises(PayloadValidationError) as refused:
        run_preset(nested, event)  # GA4 silently drops nested params, so Segment refuses them
    assert str(refused.value) == (
        "Param [sorts] has unsupported value of type [Array]. GA4 does not accept null, array, "
        "or object values for event parameters and item parameters."
    )
    flat = _only(
        GA4.actions[-1], lowercase=True, params={"list_id": {"@path": "$.properties.list_id"}}
    )
    assert _ga4_event(run_preset(flat, event)[0]) == {
        "name": "product_list_filtered",
        "params": {"engagement_time_msec": 1, "list_id": event["properties"]["list_id"]},
    }


EXPECTED = {
    "Products Searched": "Search",
    "Product List Viewed": "View Item List",
    "Promotion Viewed": "View Promotion",
    "Promotion Clicked": "Select Promotion",
    "Product Clicked": "Select Item",
    "Product Viewed": "View Item",
    "Product Added": "Add to Cart",
    "Product Removed": "Remove from Cart",
    "Cart Viewed": "View Cart",
    "Checkout Started": "Begin Checkout",
    "Payment Info Entered": "Add Payment Info",
    "Order Completed": "Purchase",
    "Order Refunded": "Refund",
    "Product Added to Wishlist": "Add to Wishlist",
    "Signed Up": "Sign Up",
    "Signed In": "Login",
}


@pytest.mark.parametrize("name", ["ecommerce", "lifecycle", "video"])
def test_every_track_call_reaches_one_action_and_other_types_only_page_view(name: str) -> None:
    actions = [compile_action(action) for action in GA4.actions]
    for event in spec_events(name):
        expected = (
            ["Page View"]
            if event["type"] == "page"
            else [EXPECTED.get(event["event"], "Custom Event")]
            if event["type"] == "track"
            else []
        )
        assert [
            compiled.action.name for compiled in actions if compiled.subscribed(event)
        ] == expected, event.get("event", event["type"])


@pytest.mark.parametrize(
    ("event", "error", "message"),
    [
        # The spec's Product Removed has no currency and GA4 needs one at some level.
        (
            "Product Removed",
            PayloadValidationError,
            "One of item-level currency or top-level currency is required.",
        ),
        (
            "Cart Viewed",
            PayloadValidationError,
            "One of item-level currency or top-level currency is required.",
        ),
        # Payment Info Entered has no products: GA4's add_payment_info requires items.
        (
            "Payment Info Entered",
            PayloadValidationError,
            "The root value is missing the required field 'items'.",
        ),
    ],
)
def test_spec_events_ga4_refuses_fail_with_segments_message(
    event: str, error: type[ActionError], message: str
) -> None:
    with pytest.raises(error) as refused:
        run_preset(GA4, spec_event("ecommerce", event))
    assert str(refused.value) == message


def test_an_unknown_currency_code_is_refused_before_sending() -> None:
    event = spec_event("ecommerce", "Order Completed")
    event["properties"]["currency"] = "DOLLARS"
    with pytest.raises(IntegrationError, match=r"^DOLLARS is not a valid currency code\.$"):
        run_preset(GA4, event)


def test_signed_up_sends_sign_up_with_user_properties_and_consent() -> None:
    event = spec_event("lifecycle", "Signed Up")
    sign_up = ACTIONS["ga4"]["signUp"]
    preset = _only(
        sign_up,
        user_id={"@path": "$.userId"},
        user_properties={"plan": "premium", "source": {"@path": "$.properties.type"}},
        ad_user_data_consent="GRANTED",
        ad_personalization_consent="DENIED",
    )
    [sent] = run_preset(preset, event)
    body = sent["body"]
    assert body["user_id"] == event["userId"]
    assert body["user_properties"] == {"plan": {"value": "premium"}, "source": {"value": "organic"}}
    assert body["consent"] == {"ad_user_data": "GRANTED", "ad_personalization": "DENIED"}
    assert _ga4_event(sent) == {
        "name": "sign_up",
        "params": {"method": "organic", "engagement_time_msec": 1},
    }


def test_a_mobile_stream_needs_the_firebase_app_and_the_app_instance() -> None:
    event = spec_event("lifecycle", "Application Opened")
    preset = _only(
        GA4.actions[-1],
        data_stream_type="Mobile App",
        app_instance_id={"@path": "$.context.device.id"},
    )
    with pytest.raises(
        PayloadValidationError, match=r"^Firebase App ID is required for mobile app streams$"
    ):
        run_preset(preset, event)
    [sent] = run_preset(preset, event, {"firebaseAppId": "1:123:ios:abc"})
    assert sent["url"] == (
        "https://www.google-analytics.com/mp/collect?"
        "api_secret=segemu-ga4-api-secret&firebase_app_id=1:123:ios:abc"
    )
    assert sent["body"]["app_instance_id"] == event["context"]["device"]["id"]
    assert "client_id" not in sent["body"]
