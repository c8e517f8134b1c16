"""SendGrid Marketing Campaigns against the Segment spec events: what api.sendgrid.com would
receive.

Expected shapes come from action-destinations src/destinations/sendgrid (index.ts,
updateUserProfile/index.ts, sendgrid-properties.ts)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from segemu.destinations.engine import compile_action, run_preset
from segemu.destinations.presets import ACTIONS, PRESETS
from segemu.destinations.presets._support import IntegrationError
from tests.destinations.presets.spec import spec_event

SENDGRID = PRESETS["sendgrid"]


def test_identify_is_an_upsert_contact() -> None:
    event = spec_event("lifecycle", type="identify")
    [sent] = run_preset(SENDGRID, event)
    assert (sent["action"], sent["method"], sent["url"]) == (
        "Upsert Contact",
        "PUT",
        "https://api.sendgrid.com/v3/marketing/contacts",
    )
    assert sent["headers"] == {
        "Content-Type": "application/json",
        "Authorization": "Bearer segemu-sendgrid-api-key",
        "Accept": "application/json",
    }
    address = event["traits"]["address"]
    assert sent["body"] == {
        "contacts": [
            {
                # postal_code reads address.postal_code (the spec writes postalCode), and
                # first_name/last_name read first_name/last_name (the spec has name).
                "country": address["country"],
                "city": address["city"],
                "anonymous_id": event["anonymousId"],
                "state_province_region": address["state"],
                "email": event["traits"]["email"],
                "custom_fields": {},
            }
        ]
    }


def test_order_completed_and_page_are_not_subscribed_and_are_filtered() -> None:
    assert run_preset(SENDGRID, spec_event("ecommerce", "Order Completed")) == []
    assert run_preset(SENDGRID, spec_event("lifecycle", type="page")) == []


def test_the_eu_endpoint_and_an_unknown_custom_field() -> None:
    event = spec_event("lifecycle", type="identify")
    [sent] = run_preset(SENDGRID, event, {"endpoint": "https://api.eu.sendgrid.com"})
    assert sent["url"] == "https://api.eu.sendgrid.com/v3/marketing/contacts"
    upsert = ACTIONS["sendgrid"]["updateUserProfile"]
    with_custom = replace(
        upsert, mapping={**upsert.mapping, "customFields": {"plan": {"@path": "$.traits.plan"}}}
    )
    with pytest.raises(IntegrationError, match=r"^Unknown custom field 'plan'\."):
        compile_action(with_custom).run(event, SENDGRID.settings)


def test_a_contact_needs_an_identifier() -> None:
    event = spec_event("lifecycle", type="identify")
    del event["traits"]["email"]
    del event["anonymousId"]
    with pytest.raises(IntegrationError, match="at least one identifying field"):
        run_preset(SENDGRID, event)
