"""HubSpot Cloud Mode (Actions) against the Segment spec events: what api.hubapi.com would
receive from segemu's HubSpot, which holds no contacts.

Expected shapes come from action-destinations src/destinations/hubspot (index.ts,
sendCustomBehavioralEvent/index.ts, upsertContact/index.ts, utils.ts, properties.ts)."""

from __future__ import annotations

import pytest

from segemu.destinations.engine import run_preset
from segemu.destinations.presets import PRESETS
from segemu.destinations.presets._support import PayloadValidationError
from segemu.destinations.presets.hubspot import flatten
from tests.destinations.presets.spec import spec_event

HUBSPOT = PRESETS["hubspot"]
AUTH = {"Content-Type": "application/json", "authorization": "Bearer segemu-hubspot-access-token"}


def test_order_completed_without_an_email_is_refused_as_hubspot_refuses_it() -> None:
    # The spec Order Completed has no properties.email nor context.traits.email.
    event = spec_event("ecommerce", "Order Completed")
    with pytest.raises(
        PayloadValidationError,
        match=r"^One of the following parameters: email, user token, or objectId is required$",
    ):
        run_preset(HUBSPOT, event)


def test_order_completed_with_an_email_is_a_custom_behavioral_event() -> None:
    event = spec_event("ecommerce", "Order Completed")
    event["context"]["traits"] = {"email": "shopper@example.com"}
    [sent] = run_preset(HUBSPOT, event)
    assert (sent["action"], sent["method"], sent["url"]) == (
        "Send Custom Behavioral Event",
        "POST",
        "https://api.hubapi.com/events/v3/send",
    )
    assert sent["headers"] == AUTH
    # Event properties have no default mapping: none are sent.
    assert sent["body"] == {
        "eventName": "pe12345678_order_completed",
        "occurredAt": event["timestamp"],
        "email": "shopper@example.com",
    }


def test_identify_patches_the_contact_by_email_then_creates_it() -> None:
    event = spec_event("lifecycle", type="identify")
    update, create = run_preset(HUBSPOT, event)
    address = event["traits"]["address"]
    properties = {
        "email": "peter@example.com",
        "address": address["street"],
        "city": address["city"],
        "state": address["state"],
        "country": address["country"],
        "zip": address["postalCode"],
    }
    assert (update["method"], update["url"]) == (
        "PATCH",
        "https://api.hubapi.com/crm/v3/objects/contacts/peter@example.com?idProperty=email",
    )
    assert update["body"] == {"properties": properties}
    assert (create["method"], create["url"]) == (
        "POST",
        "https://api.hubapi.com/crm/v3/objects/contacts",
    )
    assert create["body"] == {"properties": properties}
    assert create["headers"] == AUTH


def test_page_is_not_subscribed_and_is_filtered() -> None:
    assert run_preset(HUBSPOT, spec_event("lifecycle", type="page")) == []


def test_an_event_name_of_another_hub_is_refused_and_properties_are_flattened() -> None:
    event = spec_event("lifecycle", "Signed Up")
    with pytest.raises(PayloadValidationError, match=r"^EventName should begin with pe999_$"):
        run_preset(HUBSPOT, event, {"portalId": "999"})
    assert flatten({"a": [1, "x", {"b": 2}], "o": {"k": True}, "s": " t ", "n": None}) == {
        "a": '1;x;{"b":2}',
        "o": '{"k":true}',
        "s": "t",
    }
