"""HubSpot Cloud Mode (Actions): what HubSpot's API (api.hubapi.com) receives.

Sources (segmentio/action-destinations, packages/destination-actions/src/destinations/hubspot):
- index.ts: OAuth, sent as `authorization: Bearer <access token>`; setting portalId (the Hub
  ID); no quick-setup presets;
- properties.ts: HUBSPOT_BASE_URL; versioning-info.ts: the CRM API version (v3);
- sendCustomBehavioralEvent/index.ts: POST /events/v3/send; the event name must be HubSpot's
  internal name `pe<HubID>_...` (lower-cased, spaces and dots as `_`: utils.ts
  transformEventName); email, user token or object id required; properties flattened
  (utils.ts flattenObject: arrays joined with `;`, objects JSON-encoded, strings trimmed);
- upsertContact/index.ts: PATCH /crm/v3/objects/contacts/{email}?idProperty=email, and on
  HubSpot's 404 a POST /crm/v3/objects/contacts with the same properties.
Doc page: segment-docs src/connections/destinations/catalog/actions-hubspot-cloud/index.md.

Choices, since the workspace makes them: each action at its own default subscription (track
calls to Send Custom Behavioral Event, identify calls to Upsert Contact; page calls reach no
action). The event name has no default: segemu maps `pe<portalId>_{{event}}` with the
placeholder Hub ID 12345678 (change both together, or HubSpot's check refuses the name).
segemu's HubSpot holds no contacts, so an upsert is the PATCH and then the create.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from segemu.destinations.base import Request
from segemu.destinations.presets._fields import ActionSpec, catalog, either, f, path, preset
from segemu.destinations.presets._support import (
    MISSING,
    PayloadValidationError,
    defined,
    js_string,
    request,
    truthy,
)

API = "https://api.hubapi.com"
PORTAL_ID = "12345678"


def _auth(settings: Mapping[str, Any]) -> dict[str, str]:
    return {"authorization": f"Bearer {settings.get('accessToken', '')}"}


def flatten(properties: Any) -> Any:
    """utils.ts flattenObject."""
    if not isinstance(properties, dict):
        return MISSING if properties is MISSING or properties is None else properties
    flat: dict[str, Any] = {}
    for key, value in properties.items():
        if value is None:
            continue
        if isinstance(value, list):
            flat[key] = ";".join(
                json.dumps(item, separators=(",", ":"))
                if isinstance(item, dict | list) or item is None
                else js_string(item)
                for item in value
            )
        elif isinstance(value, dict):
            flat[key] = json.dumps(value, separators=(",", ":"))
        elif isinstance(value, str):
            flat[key] = value.strip()
        else:
            flat[key] = value
    return flat


def _send_event(payload: dict[str, Any], settings: Mapping[str, Any]) -> list[Request]:
    name = re.sub(r"[\s.]+", "_", payload["eventName"]).lower()
    hub_id = settings.get("portalId")
    if not hub_id and not re.match(r"^pe\d+_", name):
        raise PayloadValidationError("EventName should begin with pe<hubId>_")
    if hub_id and not name.startswith(f"pe{hub_id}_"):
        raise PayloadValidationError(f"EventName should begin with pe{hub_id}_")
    if not any(truthy(payload.get(key)) for key in ("utk", "email", "objectId")):
        raise PayloadValidationError(
            "One of the following parameters: email, user token, or objectId is required"
        )
    body = defined(
        {
            "eventName": name,
            "occurredAt": payload.get("occurredAt", MISSING),
            "utk": payload.get("utk", MISSING),
            "email": payload.get("email", MISSING),
            "objectId": payload.get("objectId", MISSING),
            "properties": flatten(payload.get("properties", MISSING)),
        }
    )
    return [
        request(
            "Send Custom Behavioral Event", "POST", f"{API}/events/v3/send", body, _auth(settings)
        )
    ]


_CONTACT_KEYS = (
    "company",
    "firstname",
    "lastname",
    "phone",
    "address",
    "city",
    "state",
    "country",
    "zip",
    "email",
    "website",
)


def _upsert_contact(payload: dict[str, Any], settings: Mapping[str, Any]) -> list[Request]:
    properties = {
        key: payload[key].strip() if isinstance(payload.get(key), str) else MISSING
        for key in _CONTACT_KEYS
    }
    stage = payload.get("lifecyclestage")
    properties["lifecyclestage"] = stage.lower().strip() if isinstance(stage, str) else MISSING
    extra = flatten(payload.get("properties", MISSING))
    body = {"properties": defined({**properties, **(extra if isinstance(extra, dict) else {})})}
    contacts = f"{API}/crm/v3/objects/contacts"
    return [
        request(
            "Upsert Contact",
            "PATCH",
            f"{contacts}/{payload['email']}?idProperty=email",
            body,
            _auth(settings),
        ),
        # HubSpot answers 404 (no such contact here): the contact is created.
        request("Upsert Contact", "POST", contacts, body, _auth(settings)),
    ]


SEND_CUSTOM_BEHAVIORAL_EVENT = ActionSpec(
    "sendCustomBehavioralEvent",
    "Send Custom Behavioral Event",
    {
        "eventName": f("string", required=True),
        "occurredAt": f("datetime", path("$.timestamp")),
        "email": f(
            "string", either("$.properties.email", "$.context.traits.email"), format="email"
        ),
        "utk": f("string"),
        "objectId": f("string"),
        "properties": f("object"),
    },
    _send_event,
    'type = "track"',
)


UPSERT_CONTACT = ActionSpec(
    "upsertContact",
    "Upsert Contact",
    {
        "email": f("string", path("$.traits.email"), required=True, format="email"),
        "company": f("string", path("$.traits.company")),
        "firstname": f("string", either("$.traits.first_name", "$.traits.firstName")),
        "lastname": f("string", either("$.traits.last_name", "$.traits.lastName")),
        "phone": f("string", path("$.traits.phone")),
        "address": f("string", path("$.traits.address.street")),
        "city": f("string", path("$.traits.address.city")),
        "state": f("string", path("$.traits.address.state")),
        "country": f("string", path("$.traits.address.country")),
        "zip": f("string", either("$.traits.address.postalCode", "$.traits.address.postal_code")),
        "website": f("string", path("$.traits.website")),
        "lifecyclestage": f("string"),
        "properties": f("object"),
        "enable_batching": f("boolean", False),
    },
    _upsert_contact,
    'type = "identify"',
)

PRESET = preset(
    slug="hubspot",
    name="HubSpot Cloud Mode (Actions)",
    aliases=(
        "HubSpot Cloud Mode (Actions)",
        "Hubspot Cloud Mode (Actions)",
        "Hubspot Cloud Mode (actions)",
    ),
    actions=(
        SEND_CUSTOM_BEHAVIORAL_EVENT.action(
            mapping={"eventName": {"@template": f"pe{PORTAL_ID}_{{{{event}}}}"}}
        ),
        UPSERT_CONTACT.action(),
    ),
    settings={"portalId": PORTAL_ID, "accessToken": "segemu-hubspot-access-token"},
    sources=(
        "action-destinations packages/destination-actions/src/destinations/hubspot/",
        "segment-docs src/connections/destinations/catalog/actions-hubspot-cloud/index.md",
    ),
)

ACTIONS = catalog(PRESET.settings, SEND_CUSTOM_BEHAVIORAL_EVENT, UPSERT_CONTACT)
