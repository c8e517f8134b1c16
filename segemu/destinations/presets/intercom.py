"""Intercom Cloud Mode (Actions): what Intercom's REST API (api.intercom.io) receives.

Sources (segmentio/action-destinations, packages/destination-actions/src/destinations/intercom):
- index.ts: OAuth, sent as `Authorization: Bearer <access token>`; no quick-setup presets;
- identifyContact/index.ts: search the contact (by external_id, else email), update the one
  found or create one; signed_up_at and last_seen_at as unix seconds;
- groupIdentifyContact/index.ts: search the contact, create or update the company, attach the
  contact when there is one;
- trackEvent/index.ts: POST /events; revenue becomes metadata.price in cents; an event with only
  an email needs the contact's id from a search first; util.ts: the search and the timestamps.
Doc page: segment-docs src/connections/destinations/catalog/actions-intercom-cloud/index.md.

Two choices, since Segment leaves them to the workspace and segemu has no Intercom account:
- the definition has no presets, so segemu maps every identify, group and track call to the
  action whose default subscription names its type. Identify Contact's `role` has no default
  (the workspace must pick one); segemu picks "user", a contact known by its userId;
- perform's requests depend on Intercom's answers. segemu's Intercom holds no contacts: every
  search finds none, so identify creates the contact, group creates the company without
  attaching anyone, and a track with only an email fails as Intercom's 404 would.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from segemu.destinations.base import Request
from segemu.destinations.presets._fields import ActionSpec, catalog, f, path, preset
from segemu.destinations.presets._support import (
    IntegrationError,
    epoch_seconds,
    js_number,
    omit,
    parse_date,
    request,
    truthy,
)

API = "https://api.intercom.io"


def _auth(settings: Mapping[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {settings.get('accessToken', '')}"}


def _unix(value: Any) -> Any:
    """util.ts convertValidTimestamp: numbers and digits stay; dates become unix seconds."""
    if not isinstance(value, str) or re.fullmatch(r"\d+", value):
        return value
    moment = parse_date(value)
    return epoch_seconds(moment) if moment else value


def _search(title: str, payload: dict[str, Any], settings: Mapping[str, Any]) -> list[Request]:
    """util.ts getUniqueIntercomContact's request, when it has something to search by."""
    for field in ("external_id", "email"):
        if truthy(payload.get(field)):
            query = {"field": field, "operator": "=", "value": payload[field]}
            return [
                request(title, "POST", f"{API}/contacts/search", {"query": query}, _auth(settings))
            ]
    return []


def _identify_contact(payload: dict[str, Any], settings: Mapping[str, Any]) -> list[Request]:
    for key in ("signed_up_at", "last_seen_at"):
        if key in payload:
            payload[key] = _unix(payload[key])
    # The search finds no contact here, so the contact is created.
    return [
        *_search("Identify Contact", payload, settings),
        request("Identify Contact", "POST", f"{API}/contacts", payload, _auth(settings)),
    ]


def _identify_company(payload: dict[str, Any], settings: Mapping[str, Any]) -> list[Request]:
    search = _search("Identify Company", payload, settings)
    company = omit(payload, ("email", "external_id"))
    # No contact is found to attach to the company (POST /contacts/{id}/companies).
    return [
        *search,
        request("Identify Company", "POST", f"{API}/companies", company, _auth(settings)),
    ]


def _track_event(payload: dict[str, Any], settings: Mapping[str, Any]) -> list[Request]:
    payload["created_at"] = _unix(payload["created_at"])
    metadata = payload.get("metadata")
    if isinstance(metadata, dict):
        metadata = payload["metadata"] = omit(metadata, ("email", "revenue", "currency"))
    if (
        truthy(payload.get("email"))
        and not truthy(payload.get("user_id"))
        and not truthy(payload.get("id"))
    ):
        # Perhaps a lead: the contact's id comes from a search by email, which finds none.
        raise IntegrationError("No unique contact found", "Contact not found", 404)
    revenue, currency = payload.pop("revenue", None), payload.pop("currency", None)
    if revenue is not None and (truthy(revenue) or revenue == 0):
        # Intercom wants the amount in cents.
        price = {
            "amount": js_number(revenue * 100),
            "currency": currency if truthy(currency) else "USD",
        }
        payload["metadata"] = {**(metadata or {}), "price": price}
    return [request("Track Event", "POST", f"{API}/events", payload, _auth(settings))]


IDENTIFY_CONTACT = ActionSpec(
    "identifyContact",
    "Identify Contact",
    {
        "role": f("string", required=True, choices=("lead", "user")),
        "external_id": f("string", path("$.userId")),
        "email": f("string", path("$.traits.email"), format="email"),
        "phone": f("string", path("$.traits.phone")),
        "name": f("string", path("$.traits.name")),
        "avatar": f("string", path("$.traits.avatar"), format="uri"),
        "signed_up_at": f("datetime"),
        "last_seen_at": f("datetime", path("$.timestamp")),
        "owner_id": f("number"),
        "unsubscribed_from_emails": f("boolean"),
        "custom_attributes": f("object"),
    },
    _identify_contact,
    'type = "identify"',
)

IDENTIFY_COMPANY = ActionSpec(
    "groupIdentifyContact",
    "Identify Company",
    {
        "remote_created_at": f("datetime", path("$.traits.createdAt")),
        "external_id": f("string", path("$.userId")),
        "email": f("string", path("$.traits.email"), format="email"),
        "company_id": f("string", path("$.groupId"), required=True),
        "contact_id": f("string"),
        "name": f("string", path("$.traits.name")),
        "monthly_spend": f("number", path("$.traits.monthly_spend")),
        "plan": f("string", path("$.traits.plan")),
        "size": f("number", path("$.traits.employees")),
        "website": f("string", path("$.traits.website")),
        "industry": f("string", path("$.traits.industry")),
        "custom_attributes": f("object"),
    },
    _identify_company,
    'type = "group"',
)

TRACK_EVENT = ActionSpec(
    "trackEvent",
    "Track Event",
    {
        "event_name": f("string", path("$.event"), required=True),
        "created_at": f("datetime", path("$.timestamp"), required=True),
        "user_id": f("string", path("$.userId")),
        "email": f("string", path("$.properties.email"), format="email"),
        "revenue": f("number", path("$.properties.revenue")),
        "currency": f("string", path("$.properties.currency")),
        "id": f("string"),
        "metadata": f("object", path("$.properties")),
    },
    _track_event,
    'type = "track"',
)

PRESET = preset(
    slug="intercom",
    name="Intercom Cloud Mode (Actions)",
    # segment-docs src/_data/catalog/destinations.yml previous_names.
    aliases=("Intercom Cloud Mode (Actions)",),
    actions=(
        IDENTIFY_CONTACT.action(mapping={"role": "user"}),
        IDENTIFY_COMPANY.action(),
        TRACK_EVENT.action(),
    ),
    settings={"accessToken": "segemu-intercom-access-token"},
    sources=(
        "action-destinations packages/destination-actions/src/destinations/intercom/",
        "segment-docs src/connections/destinations/catalog/actions-intercom-cloud/index.md",
    ),
)

ACTIONS = catalog(PRESET.settings, IDENTIFY_CONTACT, IDENTIFY_COMPANY, TRACK_EVENT)
