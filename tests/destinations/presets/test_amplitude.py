"""Actions Amplitude against the Segment spec events: what Amplitude's APIs would receive.

Expected shapes come from action-destinations src/destinations/amplitude (logEventV2,
logPurchase, identifyUser, groupIdentifyUser, mapUser, user-agent.ts and its tests)."""

from __future__ import annotations

from typing import Any

import pytest

from segemu.destinations.base import Action, Preset, Request
from segemu.destinations.engine import run_preset
from segemu.destinations.presets import ACTIONS, PRESETS
from segemu.destinations.presets._support import PayloadValidationError
from segemu.destinations.presets.amplitude import LOG_PURCHASE
from tests.destinations.presets.spec import epoch_ms, spec_event, spec_events

AMPLITUDE = PRESETS["amplitude"]
API_KEY = AMPLITUDE.settings["apiKey"]
REVENUE_KEYS = ("revenue", "price", "quantity", "productId", "revenueType")


def _only(*actions: Action) -> Preset:
    return Preset("amplitude", AMPLITUDE.name, AMPLITUDE.aliases, actions, AMPLITUDE.settings)


def _event(sent: Request) -> dict[str, Any]:
    [event] = sent["body"]["events"]
    assert isinstance(event, dict)
    return event


def test_a_web_track_is_a_log_event_with_parsed_user_agent_and_referrer_user_properties() -> None:
    event = spec_event("ecommerce", "Product Viewed")
    [sent] = run_preset(AMPLITUDE, event)
    assert (sent["action"], sent["method"]) == ("Log Event V2", "POST")
    assert sent["url"] == "https://api2.amplitude.com/2/httpapi"
    assert sent["body"]["api_key"] == API_KEY
    body = _event(sent)
    assert body["event_type"] == "Product Viewed"
    assert body["device_id"] == event["anonymousId"]
    assert "user_id" not in body  # the shopper is still anonymous
    assert body["time"] == epoch_ms(event["timestamp"])
    assert body["event_properties"] == event["properties"]
    # logEventV2 leaves the revenue fields out, even where the properties have a price.
    assert event["properties"]["price"] == 18.99
    for key in REVENUE_KEYS:
        assert key not in body
    # analytics.js without a device type: platform "Web"; library from context.library.name.
    assert (body["platform"], body["library"]) == ("Web", "analytics.js")
    # user-agent.ts: OS name, the browser's major version as os_version, OS name as model.
    assert (body["os_name"], body["os_version"], body["device_model"]) == (
        "Mac OS",
        "124",
        "Mac OS",
    )
    referrer = event["context"]["page"]["referrer"]
    assert body["user_properties"] == {
        "$setOnce": {"initial_referrer": referrer},
        "$set": {"referrer": referrer},
    }
    assert body["language"] == "en-US"


def test_a_mobile_track_keeps_the_device_context_and_spells_ios() -> None:
    event = spec_event("lifecycle", "Application Opened")
    body = _event(run_preset(AMPLITUDE, event)[0])
    device = event["context"]["device"]
    assert body["device_id"] == body["idfv"] == device["id"]
    assert body["platform"] == "iOS"  # context.device.type "ios"
    assert (body["os_name"], body["os_version"]) == ("iOS", "17.5.1")
    assert (body["device_manufacturer"], body["device_model"]) == ("Apple", "iPhone15,2")
    assert body["app_version"] == "1.1.2"
    assert body["library"] == "analytics-swift"
    assert "user_properties" not in body  # no traits, no campaign, no referrer


def test_order_completed_is_log_purchase_with_revenue_and_product_purchased_events() -> None:
    event = spec_event("ecommerce", "Order Completed")
    [sent] = run_preset(AMPLITUDE, event)
    assert sent["action"] == "Log Purchase"
    order, *products = sent["body"]["events"]
    assert order["event_type"] == "Order Completed"
    assert (order["revenue"], order["revenueType"]) == (event["properties"]["revenue"], "Purchase")
    assert "products" not in order
    assert [item["event_type"] for item in products] == ["Product Purchased"] * 2
    for item, product in zip(products, event["properties"]["products"], strict=True):
        # The default item mapping reads price, revenue, quantity, productId and revenueType:
        # the spec's product_id is not among them.
        assert item["event_properties"] == {
            "price": product["price"],
            "quantity": product["quantity"],
        }
        assert "revenue" not in item
        assert (item["user_id"], item["time"]) == (event["userId"], epoch_ms(event["timestamp"]))


def test_revenue_per_product_moves_revenue_from_the_order_to_each_product() -> None:
    per_product = LOG_PURCHASE.action('type = "track"', mapping={"trackRevenuePerProduct": True})
    event = spec_event("ecommerce", "Order Completed")
    order, first, second = run_preset(_only(per_product), event)[0]["body"]["events"]
    assert "revenue" not in order
    # price times quantity, and the quantity rounded.
    assert (first["revenue"], first["price"], first["quantity"]) == (19, 19, 1)
    assert (second["revenue"], second["price"], second["quantity"]) == (6, 3, 2)


def test_page_and_screen_calls_log_viewed_events() -> None:
    for kind in ("page", "screen"):
        body = _event(run_preset(AMPLITUDE, spec_event("lifecycle", type=kind))[0])
        assert body["event_type"] == "Viewed Home"


def test_identify_posts_a_form_with_the_identification_and_undefined_options() -> None:
    event = spec_event("lifecycle", type="identify")
    [sent] = run_preset(AMPLITUDE, event)
    assert sent["url"] == "https://api2.amplitude.com/identify"
    assert sent["headers"]["Content-Type"].startswith("application/x-www-form-urlencoded")
    assert sent["body"]["api_key"] == API_KEY
    # URLSearchParams({..., options: undefined}) sends the text "undefined".
    assert sent["body"]["options"] == "undefined"
    identification = sent["body"]["identification"]
    assert identification["user_id"] == event["userId"]
    assert identification["device_id"] == event["context"]["device"]["id"]
    assert identification["user_properties"] == event["traits"]
    assert identification["platform"] == "iOS"
    assert identification["library"] == "segment"


def test_map_user_maps_the_previous_id_to_the_user_id() -> None:
    event = spec_event("lifecycle", type="alias")
    assert run_preset(AMPLITUDE, event) == []  # not in the quick setup
    [sent] = run_preset(_only(ACTIONS["amplitude"]["mapUser"]), event)
    assert sent["url"] == "https://api.amplitude.com/usermap"
    assert sent["body"] == {
        "api_key": API_KEY,
        "mapping": [{"user_id": event["previousId"], "global_user_id": event["userId"]}],
    }


def test_group_identify_needs_a_group_type_and_then_sends_identify_and_groupidentify() -> None:
    event = spec_event("lifecycle", type="group")
    assert run_preset(AMPLITUDE, event) == []
    with pytest.raises(PayloadValidationError) as refused:
        run_preset(_only(ACTIONS["amplitude"]["groupIdentifyUser"]), event)
    assert str(refused.value) == (
        "The root value is missing the required field 'group_type'. "
        "The root value is missing the required field 'group_value'."
    )
    mapped = ACTIONS["amplitude"]["groupIdentifyUser"]
    action = Action(
        mapped.name,
        mapped.subscribe,
        {**mapped.mapping, "group_type": "company", "group_value": {"@path": "$.groupId"}},
        mapped.build,
        mapped.key,
    )
    identify, group = run_preset(_only(action), event)
    association = {"company": event["groupId"]}
    assert identify["url"] == "https://api2.amplitude.com/identify"
    assert identify["body"]["identification"] == [
        {
            "device_id": event["context"]["device"]["id"],
            "groups": association,
            "library": "segment",
            "time": epoch_ms(event["timestamp"]),
            "user_id": event["userId"],
            "user_properties": association,
        }
    ]
    assert group["url"] == "https://api2.amplitude.com/groupidentify"
    assert group["body"]["identification"] == [
        {
            "group_properties": event["traits"],
            "group_value": event["groupId"],
            "group_type": "company",
            "library": "segment",
        }
    ]


@pytest.mark.parametrize("name", ["ecommerce", "lifecycle", "video"])
def test_every_spec_call_reaches_exactly_the_actions_its_type_subscribes(name: str) -> None:
    expected = {
        "identify": ["Identify User"],
        "group": [],
        "alias": [],
        "page": ["Log Event V2"],
        "screen": ["Log Event V2"],
    }
    for event in spec_events(name):
        sent = [request["action"] for request in run_preset(AMPLITUDE, event)]
        if event["type"] == "track":
            assert sent == (
                ["Log Purchase"] if event["event"] == "Order Completed" else ["Log Event V2"]
            ), event["event"]
        else:
            assert sent == expected[event["type"]], event["type"]


def test_region_batch_endpoint_session_id_and_min_id_length() -> None:
    event = spec_event("video")
    # The Amplitude browser plugin puts the session start here (a unix time in ms).
    event["integrations"] = {"Actions Amplitude": {"session_id": 1748880000000}}
    action = AMPLITUDE.actions[0]
    custom = Action(
        action.name,
        action.subscribe,
        {**action.mapping, "use_batch_endpoint": True, "min_id_length": 3},
        action.build,
        action.key,
    )
    [sent] = run_preset(_only(custom), event, {"endpoint": "europe"})
    assert sent["url"] == "https://api.eu.amplitude.com/batch"
    assert sent["body"]["options"] == {"min_id_length": 3}
    assert _event(sent)["session_id"] == 1748880000000
