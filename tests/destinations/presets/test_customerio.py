"""Customer.io (Actions) against the Segment spec events: what the Track API v2 would receive.

Expected shapes come from action-destinations src/destinations/customerio (utils.ts
buildPayload/resolveIdentifiers/convertAttributeTimestamps, each action's mapPayload, index.ts
presets)."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from segemu.destinations.base import Action, Preset, Request
from segemu.destinations.engine import compile_action, run_preset
from segemu.destinations.presets import PRESETS
from segemu.destinations.presets._support import PayloadValidationError
from segemu.message import parse_timestamp
from tests.destinations.presets.spec import spec_event, spec_events

CUSTOMERIO = PRESETS["customerio"]
BATCH = "https://track.customer.io/api/v2/batch"
AUTH = "Basic " + base64.b64encode(b"segemu-customerio-site:segemu-customerio-api-key").decode()


def _unix(timestamp: str) -> int:
    moment = parse_timestamp(timestamp)
    assert moment is not None
    return int(moment.timestamp())


def _entity(sent: Request) -> dict[str, Any]:
    assert (sent["method"], sent["url"]) == ("POST", BATCH)
    assert sent["headers"]["Authorization"] == AUTH
    [entity] = sent["body"]["batch"]
    assert isinstance(entity, dict)
    return entity


def test_identify_creates_or_updates_the_person_with_traits_as_attributes() -> None:
    event = spec_event("lifecycle", type="identify")
    [sent] = run_preset(CUSTOMERIO, event)
    assert sent["action"] == "Create or Update Person"
    assert _entity(sent) == {
        "type": "person",
        "action": "identify",
        "attributes": {**event["traits"], "anonymous_id": event["anonymousId"]},
        "timestamp": _unix(event["timestamp"]),
        "identifiers": {"id": event["userId"]},
    }


def test_an_anonymous_track_is_an_event_of_the_anonymous_person() -> None:
    event = spec_event("ecommerce", "Product Viewed")
    assert _entity(run_preset(CUSTOMERIO, event)[0]) == {
        "type": "person",
        "action": "event",
        "name": "Product Viewed",
        "id": event["messageId"],
        "attributes": event["properties"],
        "timestamp": _unix(event["timestamp"]),
        "identifiers": {"anonymous_id": event["anonymousId"]},
    }


def test_iso_dates_in_properties_become_unix_seconds() -> None:
    event = spec_event("lifecycle", "Trial Started")
    attributes = _entity(run_preset(CUSTOMERIO, event)[0])["attributes"]
    properties = event["properties"]
    assert attributes == {
        "trial_start_date": _unix(properties["trial_start_date"]),
        "trial_end_date": _unix(properties["trial_end_date"]),
        "trial_plan_name": properties["trial_plan_name"],
        # A known person: the anonymous id rides along as an attribute.
        "anonymous_id": event["anonymousId"],
    }


def test_page_and_screen_views_are_named_by_url_and_screen_name() -> None:
    page = spec_event("lifecycle", type="page")
    entity = _entity(run_preset(CUSTOMERIO, page)[0])
    assert (entity["action"], entity["name"], entity["id"]) == (
        "page",
        page["properties"]["url"],
        page["messageId"],
    )
    screen = spec_event("lifecycle", type="screen")
    entity = _entity(run_preset(CUSTOMERIO, screen)[0])
    assert (entity["action"], entity["name"]) == ("screen", "Home")
    assert entity["attributes"] == screen["properties"]


def test_group_creates_the_object_related_to_the_user() -> None:
    event = spec_event("lifecycle", type="group")
    assert _entity(run_preset(CUSTOMERIO, event)[0]) == {
        "type": "object",
        "action": "identify",
        "cio_relationships": [{"identifiers": {"id": event["userId"]}}],
        "attributes": {"anonymous_id": event["anonymousId"]},
        "identifiers": {"object_id": event["groupId"], "object_type_id": "1"},
    }


def test_alias_merges_the_previous_id_into_the_user() -> None:
    event = spec_event("lifecycle", type="alias")
    assert _entity(run_preset(CUSTOMERIO, event)[0]) == {
        "type": "person",
        "action": "merge",
        "primary": {"id": event["userId"]},
        "secondary": {"id": event["previousId"]},
    }


def test_an_email_or_cio_id_as_user_id_picks_that_identifier() -> None:
    event = spec_event("lifecycle", "Signed Up")
    event["userId"] = "peter@example.com"
    assert _entity(run_preset(CUSTOMERIO, event)[0])["identifiers"] == {
        "email": "peter@example.com"
    }
    event["userId"] = "cio_03000001"
    assert _entity(run_preset(CUSTOMERIO, event)[0])["identifiers"] == {"cio_id": "03000001"}


def test_without_batching_one_entity_goes_to_the_entity_endpoint_of_the_region() -> None:
    track = CUSTOMERIO.actions[6]
    assert track.name == "Track Event"
    single = Action(
        track.name,
        track.subscribe,
        {**track.mapping, "enable_batching": False},
        track.build,
        track.key,
    )
    preset = Preset("customerio", CUSTOMERIO.name, (), (single,), CUSTOMERIO.settings)
    event = spec_event("video", "Video Playback Started")
    [sent] = run_preset(preset, event, {"accountRegion": "EU 🇪🇺"})
    assert sent["url"] == "https://track-eu.customer.io/api/v2/entity"
    assert sent["body"]["name"] == "Video Playback Started"
    assert sent["body"]["identifiers"] == {"id": event["userId"]}


def test_application_installed_needs_a_device_token_and_a_user() -> None:
    with pytest.raises(PayloadValidationError) as refused:
        run_preset(CUSTOMERIO, spec_event("lifecycle", "Application Installed"))
    assert str(refused.value) == (
        "The root value is missing the required field 'person_id'. "
        "The root value is missing the required field 'device_id'."
    )
    event = spec_event("lifecycle", "Application Opened")
    event["userId"] = "97980cfea0067"
    event["context"]["device"]["token"] = "apns-token-1"
    [sent] = run_preset(CUSTOMERIO, event)
    assert _entity(sent) == {
        "type": "person",
        "action": "add_device",
        "device": {
            "token": "apns-token-1",
            "platform": "ios",
            "last_used": _unix(event["timestamp"]),
            "attributes": {**event["properties"], "app_version": "1.1.2"},
        },
        "identifiers": {"id": "97980cfea0067"},
    }


def test_a_report_delivery_event_goes_to_the_metrics_api() -> None:
    event = spec_event("lifecycle", "Signed In")
    event["event"] = "Report Delivery Event"
    event["properties"] = {"deliveryId": "dlv_1", "metric": "opened", "recipient": "a@b.co"}
    [sent] = run_preset(CUSTOMERIO, event)
    assert sent["url"] == "https://track.customer.io/api/v1/metrics"
    assert sent["body"] == {
        "delivery_id": "dlv_1",
        "metric": "opened",
        "timestamp": _unix(event["timestamp"]),
        "recipient": "a@b.co",
    }


@pytest.mark.parametrize("name", ["ecommerce", "lifecycle", "video"])
def test_every_spec_call_reaches_exactly_the_mappings_its_event_subscribes(name: str) -> None:
    actions = [compile_action(action) for action in CUSTOMERIO.actions]
    by_type = {
        "identify": "Create or Update Person",
        "page": "Track Page View",
        "screen": "Track Screen View",
        "group": "Create or Update Object",
        "alias": "Merge People",
    }
    by_event = {
        "Application Installed": "Create or Update Device",
        "Application Opened": "Create or Update Device",
        "Application Uninstalled": "Delete Device",
    }
    for event in spec_events(name):
        expected = (
            by_event.get(event["event"], "Track Event")
            if event["type"] == "track"
            else by_type[event["type"]]
        )
        assert [compiled.action.name for compiled in actions if compiled.subscribed(event)] == [
            expected
        ], event.get("event", event["type"])
