"""Klaviyo (Actions) against the Segment spec events: what a.klaviyo.com would receive.

Expected shapes come from action-destinations src/destinations/klaviyo (config.ts,
versioning-info.ts, properties.ts, functions.ts buildHeaders / sendBatchedTrackEvent /
createImportJobPayload / processPhoneNumber, trackEvent/index.ts, upsertProfile/index.ts,
orderCompleted/index.ts)."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from segemu.destinations.engine import compile_action, run_preset
from segemu.destinations.presets import ACTIONS, PRESETS
from segemu.destinations.presets._support import PayloadValidationError
from tests.destinations.presets.spec import epoch_ms, spec_event

KLAVIYO = PRESETS["klaviyo"]
HEADERS = {
    "Content-Type": "application/json",
    "Authorization": "Klaviyo-API-Key segemu-klaviyo-private-api-key",
    "Accept": "application/json",
    "revision": "2025-01-15",
}


def _iso(timestamp: str) -> str:
    moment = datetime.fromtimestamp(epoch_ms(timestamp) / 1000, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{epoch_ms(timestamp) % 1000:03d}Z"


def _metric(name: str) -> dict[str, object]:
    return {"data": {"type": "metric", "attributes": {"name": name}}}


def test_order_completed_is_one_order_completed_event() -> None:
    event = spec_event("ecommerce", "Order Completed")
    [sent] = run_preset(KLAVIYO, event)
    assert (sent["action"], sent["method"], sent["url"]) == (
        "Order Completed",
        "POST",
        "https://a.klaviyo.com/api/events/",
    )
    assert sent["headers"] == HEADERS
    assert sent["body"] == {
        "data": {
            "type": "event",
            "attributes": {
                # products has no default mapping: they stay in the order's properties.
                "properties": event["properties"],
                "time": "2025-05-11T17:24:17.889Z",
                "unique_id": event["messageId"],
                "metric": _metric("Order Completed"),
                "profile": {
                    "data": {
                        "type": "profile",
                        "attributes": {
                            "external_id": event["userId"],
                            "anonymous_id": event["anonymousId"],
                        },
                    }
                },
            },
        }
    }


def test_mapped_products_become_one_ordered_product_event_each() -> None:
    event = spec_event("ecommerce", "Order Completed")
    action = replace(
        ACTIONS["klaviyo"]["orderCompleted"],
        mapping={
            **ACTIONS["klaviyo"]["orderCompleted"].mapping,
            "products": {"@path": "$.properties.products"},
        },
    )
    order, first, second = compile_action(action).run(event, KLAVIYO.settings)
    assert "products" in order["body"]["data"]["attributes"]["properties"]
    shared = {key: value for key, value in event["properties"].items() if key != "products"}
    for sent, product in zip((first, second), event["properties"]["products"], strict=True):
        attributes = sent["body"]["data"]["attributes"]
        assert sent["url"] == "https://a.klaviyo.com/api/events/"
        assert attributes["properties"] == {**shared, **product}
        assert attributes["metric"] == _metric("Ordered Product")
        assert re.fullmatch(r"[0-9a-f-]{36}", attributes["unique_id"])
        assert attributes["time"] == "2025-05-11T17:24:17.889Z"
        assert attributes["profile"] == order["body"]["data"]["attributes"]["profile"]


def test_identify_is_an_upsert_profile_with_its_location() -> None:
    event = spec_event("lifecycle", type="identify")
    [sent] = run_preset(KLAVIYO, event)
    assert (sent["action"], sent["url"]) == (
        "Upsert Profile",
        "https://a.klaviyo.com/api/profiles/",
    )
    assert sent["headers"] == HEADERS
    address = event["traits"]["address"]
    assert sent["body"] == {
        "data": {
            "type": "profile",
            "attributes": {
                "email": event["traits"]["email"],
                # zip reads traits.address.postal_code; the spec's postalCode is not it.
                "location": {
                    "city": address["city"],
                    "region": address["state"],
                    "address1": address["street"],
                    "country": address["country"],
                },
            },
        }
    }


def test_page_is_not_subscribed_and_is_filtered() -> None:
    assert run_preset(KLAVIYO, spec_event("lifecycle", type="page")) == []


def test_other_tracks_go_to_the_event_bulk_create_job() -> None:
    event = spec_event("lifecycle", "Signed Up")
    [sent] = run_preset(KLAVIYO, event)
    assert (sent["action"], sent["url"]) == (
        "Track Event",
        "https://a.klaviyo.com/api/event-bulk-create-jobs/",
    )
    profile = {"external_id": event["userId"], "anonymous_id": event["anonymousId"]}
    assert sent["body"] == {
        "data": {
            "type": "event-bulk-create-job",
            "attributes": {
                "events-bulk-create": {
                    "data": [
                        {
                            "type": "event-bulk-create",
                            "attributes": {
                                "profile": {"data": {"type": "profile", "attributes": profile}},
                                "events": {
                                    "data": [
                                        {
                                            "type": "event",
                                            "attributes": {
                                                "metric": _metric("Signed Up"),
                                                "properties": event["properties"],
                                                "time": _iso(event["timestamp"]),
                                                "unique_id": event["messageId"],
                                            },
                                        }
                                    ]
                                },
                            },
                        }
                    ]
                }
            },
        }
    }


def test_batched_upsert_profile_is_a_profile_bulk_import_job_with_its_list() -> None:
    event = spec_event("lifecycle", type="identify")
    event["integrations"] = {"Klaviyo": {"listId": "Xy12Ab"}}
    event["context"]["traits"] = {"phone": "+14155550100"}
    action = replace(
        ACTIONS["klaviyo"]["upsertProfile"],
        mapping={**ACTIONS["klaviyo"]["upsertProfile"].mapping, "enable_batching": True},
    )
    [sent] = compile_action(action).run(event, KLAVIYO.settings)
    assert sent["url"] == "https://a.klaviyo.com/api/profile-bulk-import-jobs/"
    job = sent["body"]["data"]
    assert job["type"] == "profile-bulk-import-job"
    assert job["relationships"] == {"lists": {"data": [{"type": "list", "id": "Xy12Ab"}]}}
    [profile] = job["attributes"]["profiles"]["data"]
    assert profile["type"] == "profile"
    assert profile["attributes"]["email"] == event["traits"]["email"]
    assert profile["attributes"]["phone_number"] == "+14155550100"
    assert not {"enable_batching", "batch_size", "batch_keys", "override_list_id"} & set(
        profile["attributes"]
    )


def test_a_profile_needs_an_identifier_and_a_phone_in_e164() -> None:
    event = spec_event("lifecycle", type="identify")
    del event["traits"]["email"]
    with pytest.raises(PayloadValidationError, match=r"^One of External ID, Phone Number and"):
        run_preset(KLAVIYO, event)
    event["context"]["traits"] = {"phone": "415 555 0100"}
    with pytest.raises(PayloadValidationError, match=r"cannot be converted to E\.164 format"):
        run_preset(KLAVIYO, event)
