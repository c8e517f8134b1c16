"""SendGrid Marketing Campaigns: what SendGrid's Marketing Contacts API receives.

Sources (segmentio/action-destinations, packages/destination-actions/src/destinations/sendgrid):
- index.ts: settings sendGridApiKey (`Authorization: Bearer ...`, `Accept: application/json`)
  and endpoint (https://api.sendgrid.com, or https://api.eu.sendgrid.com in the EU); no
  quick-setup presets;
- updateUserProfile/index.ts: Upsert Contact, no default subscription; its fields read traits
  first, then properties; batching is on by default, and perform and performBatch send the same
  request: PUT {endpoint}/v3/marketing/contacts `{contacts: [...]}`;
- sendgrid-properties.ts: convertPayload (state becomes state_province_region, primary_email
  becomes email, custom fields go to custom_fields with booleans, arrays and objects
  JSON-encoded), validatePayload (an email, phone number id, external id or anonymous id is
  required), and the custom field lookup.
Doc page: segment-docs src/connections/destinations/catalog/actions-sendgrid/index.md.

Choices: Upsert Contact has no default subscription; segemu subscribes it to identify calls.
Before the upsert, Segment reads the account's custom field definitions (GET
/v3/marketing/field_definitions) to turn custom field names into ids; segemu's SendGrid account
defines none, so a mapped custom field is refused as SendGrid's lookup would refuse it
("Unknown custom field"), and the request shown is the upsert alone. Send Email with Dynamic
Template is not modeled.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from segemu.destinations.base import Request
from segemu.destinations.presets._fields import ActionSpec, Field, catalog, f, path, preset
from segemu.destinations.presets._support import IntegrationError, omit, request, truthy

GLOBAL_ENDPOINT = "https://api.sendgrid.com"
EU_ENDPOINT = "https://api.eu.sendgrid.com"


def _accepted(value: Any) -> Any:
    """tranformValueToAcceptedDataType: JSON.stringify for booleans, arrays, objects and null
    (typeof null is 'object')."""
    if isinstance(value, bool | list | dict) or value is None:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return value


def contact(payload: Mapping[str, Any]) -> dict[str, Any]:
    """sendgrid-properties.ts convertPayload, for an account without custom fields."""
    identifiers = ("primary_email", "phone_number_id", "external_id", "anonymous_id")
    if not any(truthy(payload.get(key)) for key in identifiers):
        raise IntegrationError(
            "Contact must have at least one identifying field included (email, "
            "phone_number_id, external_id, anonymous_id).",
            "Invalid value",
        )
    custom = payload.get("customFields") or {}
    for key in custom:
        raise IntegrationError(
            f"Unknown custom field '{key}'. To see your defined custom fields, visit "
            "https://mc.sendgrid.com/custom-fields",
            "Invalid value",
        )
    rest = omit(payload, ("state", "primary_email", "enable_batching", "customFields"))
    shaped: dict[str, Any] = {**rest}
    if "state" in payload:
        shaped["state_province_region"] = payload["state"]
    if "primary_email" in payload:
        shaped["email"] = payload["primary_email"]
    shaped["custom_fields"] = {key: _accepted(value) for key, value in custom.items()}
    return shaped


def _upsert_contact(payload: dict[str, Any], settings: Mapping[str, Any]) -> list[Request]:
    endpoint = settings.get("endpoint") or GLOBAL_ENDPOINT
    headers = {
        "Authorization": f"Bearer {settings.get('sendGridApiKey', '')}",
        "Accept": "application/json",
    }
    body = {"contacts": [contact(payload)]}
    return [request("Upsert Contact", "PUT", f"{endpoint}/v3/marketing/contacts", body, headers)]


def _trait(key: str) -> Field:
    """The fields read the trait, else the property of the same path."""
    default = {
        "@if": {
            "exists": path(f"$.traits.{key}"),
            "then": path(f"$.traits.{key}"),
            "else": path(f"$.properties.{key}"),
        }
    }
    return f("string", default, allow_null=True)


UPSERT_CONTACT = ActionSpec(
    "updateUserProfile",
    "Upsert Contact",
    {
        "enable_batching": f("boolean", True),
        "first_name": _trait("first_name"),
        "last_name": _trait("last_name"),
        "country": _trait("address.country"),
        "postal_code": _trait("address.postal_code"),
        "city": _trait("address.city"),
        "state": _trait("address.state"),
        "address_line_1": _trait("address.line1"),
        "address_line_2": _trait("address.line2"),
        "phone_number": _trait("phone"),
        "whatsapp": _trait("whatsapp"),
        "line": _trait("line"),
        "facebook": _trait("facebook"),
        "unique_name": _trait("unique_name"),
        "primary_email": _trait("email"),
        "phone_number_id": _trait("phone"),
        "external_id": _trait("external_id"),
        "anonymous_id": f("string", path("$.anonymousId"), allow_null=True),
        "customFields": f("object"),
    },
    _upsert_contact,
    # No default subscription in the definition: segemu's choice, as above.
    'type = "identify"',
)

PRESET = preset(
    slug="sendgrid",
    name="SendGrid Marketing Campaigns",
    # The Actions destination is registered as "SendGrid" (index.ts); its catalog entry is
    # SendGrid Marketing Campaigns.
    aliases=("SendGrid Marketing Campaigns", "SendGrid"),
    actions=(UPSERT_CONTACT.action(),),
    settings={"sendGridApiKey": "segemu-sendgrid-api-key", "endpoint": GLOBAL_ENDPOINT},
    sources=(
        "action-destinations packages/destination-actions/src/destinations/sendgrid/",
        "segment-docs src/connections/destinations/catalog/actions-sendgrid/index.md",
    ),
)

ACTIONS = catalog(PRESET.settings, UPSERT_CONTACT)
