"""Iterable (Actions) against the Segment spec events: what api.iterable.com would receive.

Expected shapes come from action-destinations src/destinations/iterable (index.ts presets,
shared-fields.ts, utils.ts, trackEvent/index.ts, updateUser/index.ts, trackPurchase/index.ts)."""

from __future__ import annotations

import pytest

from segemu.destinations.engine import run_preset
from segemu.destinations.presets import PRESETS
from segemu.destinations.presets._support import PayloadValidationError
from segemu.destinations.presets.iterable import convert_dates
from tests.destinations.presets.spec import epoch_ms, spec_event

ITERABLE = PRESETS["iterable"]
HEADERS = {"Content-Type": "application/json", "Api-Key": "segemu-iterable-api-key"}


def test_order_completed_is_track_purchase_with_the_products_as_items() -> None:
    event = spec_event("ecommerce", "Order Completed")
    [sent] = run_preset(ITERABLE, event)
    assert sent["action"] == "Track Purchase"
    assert (sent["method"], sent["url"]) == (
        "POST",
        "https://api.iterable.com/api/commerce/trackPurchase",
    )
    assert sent["headers"] == HEADERS
    properties = event["properties"]
    first, second = properties["products"]
    assert sent["body"] == {
        "id": properties["order_id"],
        # No email in the event: the user is known by its id; context.traits is absent.
        "user": {"userId": event["userId"], "mergeNestedObjects": False, "dataFields": {}},
        # The products travel as items, not again in dataFields.
        "dataFields": {key: value for key, value in properties.items() if key != "products"},
        "items": [
            {
                "id": first["product_id"],
                "sku": first["sku"],
                "name": first["name"],
                "price": first["price"],
                "quantity": first["quantity"],
                "url": first["url"],
                "imageUrl": first["image_url"],
                "dataFields": {},
                "categories": [first["category"]],
            },
            {
                "id": second["product_id"],
                "sku": second["sku"],
                "name": second["name"],
                "price": second["price"],
                "quantity": second["quantity"],
                "dataFields": {},
                "categories": [second["category"]],
            },
        ],
        "total": properties["total"],
        "createdAt": epoch_ms(event["timestamp"]) // 1000,
    }


def test_identify_is_a_batched_upsert_user() -> None:
    event = spec_event("lifecycle", type="identify")
    [sent] = run_preset(ITERABLE, event)
    assert sent["action"] == "Upsert User"
    # enable_batching defaults to true: Segment sends the bulk endpoint.
    assert sent["url"] == "https://api.iterable.com/api/users/bulkUpdate"
    assert sent["headers"] == HEADERS
    assert sent["body"] == {
        "users": [
            {
                "email": event["traits"]["email"],
                "userId": event["userId"],
                "dataFields": event["traits"],
                "mergeNestedObjects": False,
            }
        ]
    }


def test_page_is_not_subscribed_and_is_filtered() -> None:
    # No Iterable quick-setup mapping subscribes to page calls.
    assert run_preset(ITERABLE, spec_event("lifecycle", type="page")) == []


def test_other_tracks_are_bulk_custom_events_with_the_batching_fields() -> None:
    event = spec_event("lifecycle", "Signed Up")
    [sent] = run_preset(ITERABLE, event)
    assert sent["url"] == "https://api.iterable.com/api/events/trackBulk"
    [tracked] = sent["body"]["events"]
    # trackEvent/index.ts spreads the whole payload, batching fields included.
    assert tracked == {
        # properties.email first, else context.traits.email (shared-fields.ts EMAIL_FIELD).
        "email": event["properties"]["email"],
        "userId": event["userId"],
        "eventName": "Signed Up",
        "dataFields": event["properties"],
        "id": event["messageId"],
        "createdAt": epoch_ms(event["timestamp"]) // 1000,
        "enable_batching": True,
        "batch_size": 1001,
    }


def test_a_call_without_email_or_user_id_is_refused() -> None:
    event = spec_event("ecommerce", "Product Added")
    event.pop("userId", None)
    with pytest.raises(PayloadValidationError, match=r"^Must include email or userId\.$"):
        run_preset(ITERABLE, event)


def test_dates_in_data_fields_take_iterables_format_and_the_eu_host() -> None:
    assert convert_dates(
        {"at": "2025-05-11T17:24:17.889Z", "day": "2025-05-11", "n": {"t": "2025-05-11T10:00Z"}}
    ) == {
        "at": "2025-05-11 17:24:17 +00:00",
        "day": "2025-05-11",
        "n": {"t": "2025-05-11 10:00:00 +00:00"},
    }
    event = spec_event("lifecycle", type="identify")
    [sent] = run_preset(ITERABLE, event, {"dataCenterLocation": "europe"})
    assert sent["url"] == "https://api.eu.iterable.com/api/users/bulkUpdate"
