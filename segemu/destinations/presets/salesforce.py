"""Salesforce (Actions): what a Salesforce org's REST API receives.

Sources (segmentio/action-destinations, packages/destination-actions/src/destinations/
salesforce):
- index.ts: OAuth (`authorization: Bearer <access token>`), setting instanceUrl; no
  quick-setup presets;
- lead2/index.ts: Lead V2, default subscription identify, sync mode "add" by default: perform
  refuses a lead without last_name ("Missing last_name value") and creates the record;
- sf-operations.ts createRecord and buildJSONData: POST
  {instanceUrl}/services/data/v53.0/sobjects/Lead (versioning-info.ts), the body shaped by
  sf-object-to-shape.ts (LastName, Company, FirstName, State, Street, Country, PostalCode,
  City, Email), custom fields over it.
Doc page: segment-docs src/connections/destinations/catalog/actions-salesforce/index.md.

segemu maps Lead V2 at its default subscription and sync mode: identify calls create a lead;
tracks and pages reach no action (Salesforce's other objects have no default subscription).
The instance URL is a placeholder. Segment's spec identify has a `name` but no `last_name`, so
Salesforce refuses it, as it would in a workspace.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from segemu.destinations.base import Request
from segemu.destinations.presets._fields import ActionSpec, catalog, either, f, preset
from segemu.destinations.presets._support import (
    MISSING,
    IntegrationError,
    defined,
    request,
    truthy,
)

API_VERSION = "v53.0"


def _lead_shape(payload: Mapping[str, Any]) -> dict[str, Any]:
    """sf-object-to-shape.ts LeadShape."""
    return {
        "LastName": payload.get("last_name", MISSING),
        "Company": payload.get("company", MISSING),
        "FirstName": payload.get("first_name", MISSING),
        "State": payload.get("state", MISSING),
        "Street": payload.get("street", MISSING),
        "Country": payload.get("country", MISSING),
        "PostalCode": payload.get("postal_code", MISSING),
        "City": payload.get("city", MISSING),
        "Email": payload.get("email", MISSING),
    }


def _create_lead(payload: dict[str, Any], settings: Mapping[str, Any]) -> list[Request]:
    if not truthy(payload.get("last_name")):
        raise IntegrationError("Missing last_name value", "Misconfigured required field", 400)
    instance = str(settings.get("instanceUrl") or "")
    if not instance.endswith("/"):
        instance += "/"
    body = defined({**_lead_shape(payload), **(payload.get("customFields") or {})})
    return [
        request(
            "Lead V2",
            "POST",
            f"{instance}services/data/{API_VERSION}/sobjects/Lead",
            body,
            {"authorization": f"Bearer {settings.get('accessToken', '')}"},
        )
    ]


def _trait(name: str) -> dict[str, Any]:
    # lead2/index.ts: each field reads the trait, else the property of the same name.
    return either(f"$.traits.{name}", f"$.properties.{name}")


LEAD = ActionSpec(
    "lead2",
    "Lead V2",
    {
        "enable_batching": f("boolean", False),
        "customFields": f("object"),
        "company": f("string", _trait("company")),
        "last_name": f("string", _trait("last_name")),
        "first_name": f("string", _trait("first_name")),
        "email": f("string", _trait("email")),
        "city": f("string", _trait("address.city")),
        "postal_code": f("string", _trait("address.postal_code")),
        "country": f("string", _trait("address.country")),
        "street": f("string", _trait("address.street")),
        "state": f("string", _trait("address.state")),
    },
    _create_lead,
    'type = "identify"',
)

PRESET = preset(
    slug="salesforce",
    name="Salesforce (Actions)",
    aliases=("Salesforce (Actions)",),
    actions=(LEAD.action(),),
    settings={
        "instanceUrl": "https://segemu.my.salesforce.com",
        "accessToken": "segemu-salesforce-access-token",
    },
    sources=(
        "action-destinations packages/destination-actions/src/destinations/salesforce/",
        "segment-docs src/connections/destinations/catalog/actions-salesforce/index.md",
    ),
)

ACTIONS = catalog(PRESET.settings, LEAD)
