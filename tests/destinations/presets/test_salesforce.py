"""Salesforce (Actions) against the Segment spec events: what a Salesforce org's REST API
would receive.

Expected shapes come from action-destinations src/destinations/salesforce (lead2/index.ts,
sf-operations.ts, sf-object-to-shape.ts, versioning-info.ts)."""

from __future__ import annotations

import pytest

from segemu.destinations.engine import run_preset
from segemu.destinations.presets import PRESETS
from segemu.destinations.presets._support import IntegrationError
from tests.destinations.presets.spec import spec_event

SALESFORCE = PRESETS["salesforce"]


def test_the_spec_identify_has_no_last_name_and_is_refused() -> None:
    event = spec_event("lifecycle", type="identify")
    with pytest.raises(IntegrationError, match=r"^Missing last_name value$"):
        run_preset(SALESFORCE, event)


def test_identify_with_a_last_name_creates_a_lead() -> None:
    event = spec_event("lifecycle", type="identify")
    event["traits"].update(first_name="Peter", last_name="Gibbons", company="Initech")
    [sent] = run_preset(SALESFORCE, event)
    assert (sent["action"], sent["method"], sent["url"]) == (
        "Lead V2",
        "POST",
        "https://segemu.my.salesforce.com/services/data/v53.0/sobjects/Lead",
    )
    assert sent["headers"] == {
        "Content-Type": "application/json",
        "authorization": "Bearer segemu-salesforce-access-token",
    }
    address = event["traits"]["address"]
    # The spec's address has postalCode; the lead reads address.postal_code, so none is sent.
    assert sent["body"] == {
        "LastName": "Gibbons",
        "Company": "Initech",
        "FirstName": "Peter",
        "State": address["state"],
        "Street": address["street"],
        "Country": address["country"],
        "City": address["city"],
        "Email": "peter@example.com",
    }


@pytest.mark.parametrize(
    ("fixture", "event_name", "call_type"),
    [("ecommerce", "Order Completed", "track"), ("lifecycle", None, "page")],
)
def test_order_completed_and_page_are_not_subscribed_and_are_filtered(
    fixture: str, event_name: str | None, call_type: str
) -> None:
    assert run_preset(SALESFORCE, spec_event(fixture, event_name, type=call_type)) == []
