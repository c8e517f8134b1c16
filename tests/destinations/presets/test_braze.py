"""Braze Cloud Mode (Actions) against the Segment spec events: what /users/track would receive.

Expected shapes come from action-destinations src/destinations/braze (index.ts presets, utils.ts,
trackEvent, updateUserProfile, trackPurchase, ecommerce/functions.ts and fields.ts)."""

from __future__ import annotations

from typing import Any

import pytest

from segemu.destinations.base import Preset
from segemu.destinations.engine import compile_action, run_preset
from segemu.destinations.presets import ACTIONS, PRESETS
from segemu.destinations.presets._support import IntegrationError, PayloadValidationError
from tests.destinations.presets.spec import spec_event, spec_events

BRAZE = PRESETS["braze"]
TRACK = "https://rest.iad-01.braze.com/users/track"
BEARER = f"Bearer {BRAZE.settings['api_key']}"


def _complete(event: dict[str, Any]) -> dict[str, Any]:
    """A spec e-commerce event with what Braze's e-commerce events also require: the store it
    happened in (`source`), a currency, and a variant for each product."""
    properties = event["properties"]
    properties["source"] = "web-store"
    properties.setdefault("currency", "USD")
    for product in properties.get("products", []):
        product.setdefault("variant", "standard")
    return event


def test_a_track_call_is_a_custom_event_attributed_to_the_user() -> None:
    event = spec_event("lifecycle", "Signed Up")
    [sent] = run_preset(BRAZE, event)
    assert (sent["action"], sent["method"], sent["url"]) == ("Track Event", "POST", TRACK)
    assert sent["headers"]["Authorization"] == BEARER
    assert sent["body"] == {
        "events": [
            {
                "external_id": event["userId"],
                "email": event["properties"]["email"],
                "name": "Signed Up",
                "time": event["receivedAt"],
                "properties": event["properties"],
                "_update_existing_only": False,
            }
        ]
    }


def test_an_anonymous_track_call_is_refused_for_want_of_an_identifier() -> None:
    with pytest.raises(IntegrationError) as refused:
        run_preset(BRAZE, spec_event("ecommerce", "Products Searched"))
    assert str(refused.value) == (
        'One of "external_id" or "user_alias" or "braze_id" or "email" is required.'
    )


def test_identify_updates_the_profile_with_traits_as_custom_attributes() -> None:
    event = spec_event("lifecycle", type="identify")
    [sent] = run_preset(BRAZE, event)
    assert (sent["action"], sent["url"]) == ("Update User Profile", TRACK)
    traits = event["traits"]
    assert sent["body"] == {
        "attributes": [
            {
                "name": traits["name"],
                "plan": traits["plan"],
                "logins": traits["logins"],
                "address": traits["address"],
                "external_id": event["userId"],
                "email": traits["email"],
                "home_city": traits["address"]["city"],
                "_update_existing_only": False,
            }
        ]
    }


def test_identify_maps_names_gender_and_avatar_to_braze_attributes() -> None:
    event = spec_event("lifecycle", type="identify")
    event["traits"] = {
        "firstName": "Peter",
        "lastName": "Gibbons",
        "gender": "Male",
        "avatar": "https://example.com/peter.png",
        "phone": None,
    }
    [attributes] = run_preset(BRAZE, event)[0]["body"]["attributes"]
    assert attributes == {
        "external_id": event["userId"],
        "first_name": "Peter",
        "gender": "M",
        "image_url": "https://example.com/peter.png",
        "last_name": "Gibbons",
        "phone": None,
        "_update_existing_only": False,
    }


def test_order_completed_is_an_order_placed_event_that_needs_source_and_variants() -> None:
    event = spec_event("ecommerce", "Order Completed")
    with pytest.raises(PayloadValidationError) as refused:
        run_preset(BRAZE, event)
    # The spec's order has neither a source nor product variants; Braze's event needs both.
    assert str(refused.value) == (
        "The value at /products/0 is missing the required field 'variant_id'. "
        "The value at /products/1 is missing the required field 'variant_id'. "
        "The root value is missing the required field 'source'."
    )
    event = _complete(event)
    [sent] = run_preset(BRAZE, event)
    properties = event["properties"]
    assert (sent["action"], sent["url"]) == ("Ecommerce Event (multi product)", TRACK)
    # Batching is on by default, and performBatch marks every request as a batch.
    assert sent["headers"]["X-Braze-Batch"] == "true"
    [placed] = sent["body"]["events"]
    assert placed == {
        "external_id": event["userId"],
        "name": "ecommerce.order_placed",
        "time": event["timestamp"],
        "properties": {
            "currency": "USD",
            "source": "web-store",
            "metadata": {},
            "products": [
                {
                    "quantity": product["quantity"],
                    "product_id": product["product_id"],
                    "product_name": product["name"],
                    "variant_id": "standard",
                    "price": product["price"],
                    **({"image_url": product["image_url"]} if "image_url" in product else {}),
                    **({"product_url": product["url"]} if "url" in product else {}),
                }
                for product in properties["products"]
            ],
            "total_value": properties["total"],
            "order_id": properties["order_id"],
            "subtotal_value": properties["subtotal"],
            "tax": properties["tax"],
            "shipping": properties["shipping"],
            "total_discounts": properties["discount"],
        },
    }


def test_product_added_is_a_cart_update_that_adds_the_one_product() -> None:
    event = _complete(spec_event("ecommerce", "Product Added"))
    event["userId"] = "019mr8mf4r"
    [sent] = run_preset(BRAZE, event)
    [cart] = sent["body"]["events"]
    properties = event["properties"]
    assert cart["name"] == "ecommerce.cart_updated"
    assert cart["properties"]["action"] == "add"
    assert cart["properties"]["cart_id"] == properties["cart_id"]
    assert cart["properties"]["products"] == [
        {
            "quantity": 1,
            "product_id": properties["product_id"],
            "product_name": properties["name"],
            "variant_id": properties["variant"],
            "price": properties["price"],
            "image_url": properties["image_url"],
            "product_url": properties["url"],
        }
    ]
    assert "total_value" not in cart["properties"]  # optional when adding or removing


def test_product_viewed_currency_must_be_one_of_the_upper_case_codes() -> None:
    event = _complete(spec_event("ecommerce", "Product Viewed"))
    event["userId"] = "019mr8mf4r"
    assert event["properties"]["currency"] == "usd"  # the spec page's example
    with pytest.raises(PayloadValidationError, match=r"^The value at /currency must be one of: "):
        run_preset(BRAZE, event)
    event["properties"]["currency"] = "USD"
    [viewed] = run_preset(BRAZE, event)[0]["body"]["events"]
    assert viewed["name"] == "ecommerce.product_viewed"
    assert viewed["properties"]["product_id"] == event["properties"]["product_id"]
    assert viewed["properties"]["price"] == event["properties"]["price"]


def test_track_purchase_without_products_is_reported_not_sent() -> None:
    event = spec_event("ecommerce", "Order Completed")
    event["properties"]["products"] = []
    preset = Preset("braze", BRAZE.name, (), (ACTIONS["braze"]["trackPurchase"],), BRAZE.settings)
    with pytest.raises(PayloadValidationError, match=r"did not contain any products\.$"):
        run_preset(preset, event)


def test_track_purchase_sends_one_purchase_per_product_in_usd_by_default() -> None:
    event = spec_event("ecommerce", "Order Completed")
    preset = Preset("braze", BRAZE.name, (), (ACTIONS["braze"]["trackPurchase"],), BRAZE.settings)
    [sent] = run_preset(preset, event)
    assert sent["headers"]["X-Braze-Batch"] == "true"  # more than one product
    order = {key: value for key, value in event["properties"].items() if key != "products"}
    purchases = sent["body"]["purchases"]
    for purchase, product in zip(purchases, event["properties"]["products"], strict=True):
        extra = {
            key: value
            for key, value in product.items()
            if key not in ("product_id", "price", "quantity")
        }
        assert purchase == {
            "external_id": event["userId"],
            "time": event["receivedAt"],
            "_update_existing_only": False,
            "product_id": product["product_id"],
            "currency": "USD",
            "price": product["price"],
            "quantity": product["quantity"],
            "properties": {**extra, **order},
        }


BETA = {
    "Order Completed": "Order Placed (beta)",
    "Checkout Started": "Checkout Started (beta)",
    "Order Refunded": "Order Refunded (beta)",
    "Order Cancelled": "Order Cancelled (beta)",
    "Product Viewed": "Product Viewed (beta)",
    "Product Added": "Product Added (beta)",
    "Product Removed": "Product Removed (beta)",
}


@pytest.mark.parametrize("name", ["ecommerce", "lifecycle", "video"])
def test_every_spec_call_reaches_exactly_the_mappings_its_event_subscribes(name: str) -> None:
    actions = [compile_action(action) for action in BRAZE.actions]
    for event in spec_events(name):
        expected = (
            ["Identify Calls"]
            if event["type"] == "identify"
            else [BETA.get(event["event"], "Track Calls")]
            if event["type"] == "track"
            else []
        )
        assert [
            compiled.action.name for compiled in actions if compiled.subscribed(event)
        ] == expected, event.get("event", event["type"])
