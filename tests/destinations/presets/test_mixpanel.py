"""Mixpanel (Actions) against the Segment spec events: what api.mixpanel.com would receive.

Expected shapes come from action-destinations src/destinations/mixpanel (trackEvent/functions.ts,
trackPurchase/index.ts, identifyUser/index.ts, groupIdentifyUser/index.ts, alias/index.ts) and
the Mixpanel (Actions) doc page."""

from __future__ import annotations

import base64

import pytest

from segemu.destinations.base import Preset
from segemu.destinations.engine import run_preset
from segemu.destinations.presets import ACTIONS, PRESETS
from segemu.destinations.presets._support import PayloadValidationError
from segemu.destinations.presets.mixpanel import TRACK_EVENT
from tests.destinations.presets.spec import epoch_ms, spec_event, spec_events

MIXPANEL = PRESETS["mixpanel"]
TOKEN = MIXPANEL.settings["projectToken"]


def test_track_event_posts_to_import_with_epoch_ms_time_and_segment_ids() -> None:
    event = spec_event("ecommerce", "Product Added")
    [sent] = run_preset(MIXPANEL, event)
    assert (sent["action"], sent["method"]) == ("Track Event", "POST")
    assert sent["url"] == "https://api.mixpanel.com/import?strict=1"
    # trackEvent/index.ts: Basic auth with the secret, or the project token without one.
    assert sent["headers"]["Authorization"] == (
        "Basic " + base64.b64encode(f"{TOKEN}:".encode()).decode()
    )
    [body] = sent["body"]
    properties = body["properties"]
    assert body["event"] == "Product Added"
    assert properties["time"] == epoch_ms(event["timestamp"])
    # Anonymous shopper: distinct_id falls back to the anonymousId; there is no $user_id.
    assert properties["distinct_id"] == properties["id"] == event["anonymousId"]
    assert properties["$device_id"] == properties["$anon_id"] == event["anonymousId"]
    assert "$user_id" not in properties
    assert "$identified_id" not in properties
    assert properties["$insert_id"] == event["messageId"]
    assert properties["$current_url"] == event["context"]["page"]["url"]
    assert properties["$referrer"] == event["context"]["page"]["referrer"]
    assert properties["$locale"] == "en-US"
    assert properties["$browser"] == "Chrome"
    assert properties["$browser_version"] == "124.0.0.0"
    assert properties["mp_lib"] == "Segment Actions: analytics.js"
    assert properties["$lib_version"] == event["context"]["library"]["version"]
    assert properties["$source"] == "segment"
    assert properties["event_original_name"] == "Product Added"
    # The event's own properties follow, flat, under their own names.
    for key, value in event["properties"].items():
        assert properties[key] == value


def test_a_signed_in_track_has_the_user_id_and_the_group_from_context() -> None:
    event = spec_event("lifecycle", "Signed Up")
    [sent] = run_preset(MIXPANEL, event)
    properties = sent["body"][0]["properties"]
    assert properties["distinct_id"] == properties["$user_id"] == event["userId"]
    assert properties["$identified_id"] == event["userId"]
    assert properties["$group_id"] == event["context"]["groupId"]
    # The mobile context: app, device, OS, network, screen and timezone.
    assert properties["$app_version_string"] == "1.1.2"
    assert properties["$app_build_number"] == "1234"
    assert properties["$app_namespace"] == "com.example.initech"
    assert (properties["$os"], properties["$os_version"]) == ("iOS", "17.5.1")
    assert (properties["$manufacturer"], properties["$model"]) == ("Apple", "iPhone15,2")
    assert properties["$device"] == properties["$device_name"] == "iPhone"
    assert properties["$device_type"] == "ios"
    assert (properties["$wifi_enabled"], properties["$cellular_enabled"]) == (True, False)
    assert (properties["$screen_width"], properties["$screen_height"]) == (393, 852)
    assert properties["timezone"] == "America/Los_Angeles"
    assert "$browser" not in properties  # no userAgent on a mobile call


def test_order_completed_is_track_purchase_with_one_product_purchased_per_product() -> None:
    event = spec_event("ecommerce", "Order Completed")
    [sent] = run_preset(MIXPANEL, event)
    assert sent["action"] == "Track Purchase"
    assert sent["url"] == "https://api.mixpanel.com/import?strict=1"
    order, *purchased = sent["body"]
    assert order["event"] == "Order Completed"
    assert order["properties"]["revenue"] == 22.5
    assert order["properties"]["products"] == event["properties"]["products"]
    time = epoch_ms(event["timestamp"])
    assert order["properties"]["time"] == time
    assert [item["event"] for item in purchased] == ["Product Purchased"] * 2
    for index, (item, product) in enumerate(
        zip(purchased, event["properties"]["products"], strict=True)
    ):
        properties = item["properties"]
        # A millisecond earlier per product, and insert ids that stay unique.
        assert properties["time"] == time - index - 1
        assert properties["$insert_id"] == f"{index}{event['messageId']}"
        for key in ("product_id", "sku", "name", "price", "quantity", "category"):
            assert properties[key] == product[key]
        for order_key in ("revenue", "total", "products", "currency", "coupon", "tax"):
            assert order_key not in properties
        assert properties["distinct_id"] == event["userId"]


def test_page_and_screen_calls_are_viewed_events() -> None:
    page = spec_event("lifecycle", type="page")
    [sent] = run_preset(MIXPANEL, page)
    assert sent["body"][0]["event"] == "Viewed Home"
    assert sent["body"][0]["properties"]["event_original_name"] == "Home"
    assert sent["body"][0]["properties"]["title"] == "Welcome | Initech"
    screen = spec_event("lifecycle", type="screen")
    [sent] = run_preset(MIXPANEL, screen)
    assert sent["body"][0]["event"] == "Viewed Home"
    assert sent["body"][0]["properties"]["Feed Type"] == "private"


def test_identify_sends_identify_to_track_then_people_set_to_engage() -> None:
    event = spec_event("lifecycle", type="identify")
    identify, engage = run_preset(MIXPANEL, event)
    assert identify["url"] == "https://api.mixpanel.com/track"
    assert identify["headers"]["Content-Type"].startswith("application/x-www-form-urlencoded")
    assert identify["body"]["data"] == {
        "event": "$identify",
        "properties": {
            "$identified_id": event["userId"],
            "$anon_id": event["anonymousId"],
            "token": TOKEN,
        },
    }
    assert engage["url"] == "https://api.mixpanel.com/engage"
    data = engage["body"]["data"]
    assert (data["$token"], data["$distinct_id"]) == (TOKEN, event["userId"])
    traits = event["traits"]
    # Special traits become Mixpanel's reserved people properties; the rest keep their names.
    assert data["$set"] == {
        "plan": traits["plan"],
        "logins": traits["logins"],
        "address": traits["address"],
        "$email": traits["email"],
        "$name": traits["name"],
    }


def test_identify_builds_name_from_first_and_last_name() -> None:
    event = spec_event("lifecycle", type="identify")
    event["traits"] = {"firstName": "Peter", "lastName": "Gibbons", "createdAt": "2025-01-01"}
    [_, engage] = run_preset(MIXPANEL, event)
    assert engage["body"]["data"]["$set"] == {
        "$created": "2025-01-01",
        "$first_name": "Peter",
        "$last_name": "Gibbons",
        "$name": "Peter Gibbons",
    }


def test_group_sets_group_properties_under_the_default_group_key() -> None:
    event = spec_event("lifecycle", type="group")
    [sent] = run_preset(MIXPANEL, event)
    assert sent["url"] == "https://api.mixpanel.com/groups"
    traits = event["traits"]
    assert sent["body"]["data"] == {
        "$token": TOKEN,
        "$group_key": "$group_id",
        "$group_id": event["groupId"],
        "$set": {
            "industry": traits["industry"],
            "employees": traits["employees"],
            "plan": traits["plan"],
            "total billed": traits["total billed"],
            "$name": traits["name"],
        },
    }


def test_alias_action_creates_an_alias_of_the_previous_id() -> None:
    event = spec_event("lifecycle", type="alias")
    # Not in Segment's quick setup: enabled from the catalog of actions.
    assert run_preset(MIXPANEL, event) == []
    with_alias = Preset(
        "mixpanel",
        MIXPANEL.name,
        MIXPANEL.aliases,
        (ACTIONS["mixpanel"]["alias"],),
        MIXPANEL.settings,
    )
    [sent] = run_preset(with_alias, event)
    assert sent["url"] == "https://api.mixpanel.com/track"
    assert sent["body"]["data"] == {
        "event": "$create_alias",
        "properties": {
            "distinct_id": event["previousId"],
            "alias": event["userId"],
            "token": TOKEN,
        },
    }


@pytest.mark.parametrize("name", ["ecommerce", "lifecycle", "video"])
def test_every_spec_call_reaches_exactly_the_actions_its_type_subscribes(name: str) -> None:
    expected = {
        "identify": ["Identify User", "Identify User"],
        "group": ["Group Identify User"],
        "alias": [],
        "page": ["Track Event"],
        "screen": ["Track Event"],
    }
    for event in spec_events(name):
        sent = [request["action"] for request in run_preset(MIXPANEL, event)]
        if event["type"] == "track":
            assert sent == (
                ["Track Purchase"] if event["event"] == "Order Completed" else ["Track Event"]
            ), event["event"]
        else:
            assert sent == expected[event["type"]], event["type"]


def test_settings_pick_the_region_host_the_secret_and_the_source_name() -> None:
    event = spec_event("video")
    [sent] = run_preset(
        MIXPANEL,
        event,
        {"apiRegion": "EU 🇪🇺", "apiSecret": "s3cret", "strictMode": "0", "sourceName": "web"},
    )
    assert sent["url"] == "https://api-eu.mixpanel.com/import?strict=0"
    assert sent["headers"]["Authorization"] == "Basic " + base64.b64encode(b"s3cret:").decode()
    assert sent["body"][0]["properties"]["segment_source_name"] == "web"


def test_settings_may_be_spelled_in_snake_case_in_toml() -> None:
    event = spec_event("video")
    [sent] = run_preset(MIXPANEL, event, {"api_secret": "s3cret", "source_name": "web"})
    assert sent["headers"]["Authorization"] == "Basic " + base64.b64encode(b"s3cret:").decode()
    assert sent["body"][0]["properties"]["segment_source_name"] == "web"


def test_a_mapping_without_the_required_event_name_fails_like_segment() -> None:
    # Ajv's message, through @segment/ajv-human-errors, as Event Delivery shows it.
    action = TRACK_EVENT.action(
        'type = "track"', mapping={"event": {"@path": "$.properties.missing"}}
    )
    custom = Preset("mixpanel", MIXPANEL.name, (), (action,), MIXPANEL.settings)
    with pytest.raises(
        PayloadValidationError, match=r"^The root value is missing the required field 'event'\.$"
    ):
        run_preset(custom, spec_event("video"))
