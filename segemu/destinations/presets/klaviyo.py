"""Klaviyo (Actions): what Klaviyo's API (a.klaviyo.com/api) receives.

Sources (segmentio/action-destinations, packages/destination-actions/src/destinations/klaviyo):
- index.ts, config.ts, versioning-info.ts: setting api_key, sent as `Authorization:
  Klaviyo-API-Key {api_key}` with `revision: 2025-01-15` (functions.ts buildHeaders); the
  definition's presets are only for Engage, Journeys and warehouse audiences, none for a
  source's calls;
- trackEvent/index.ts: Track Event (default subscription `type = "track"`). Batching is on by
  default (enable_batching true), so Segment calls performBatch: functions.ts
  sendBatchedTrackEvent POSTs /event-bulk-create-jobs/ with one `event-bulk-create` per call
  (the profile, and the event with its metric, properties, ISO time and unique id). Turned off,
  perform POSTs /events/;
- upsertProfile/index.ts: Upsert Profile (default subscription `type = "identify"`); its
  enable_batching has no default, so perform POSTs /profiles/. Turned on, performBatch POSTs
  /profile-bulk-import-jobs/ (functions.ts createImportJobPayload: each profile without the
  batching and list fields, the list as a relationship);
- orderCompleted/index.ts: Order Completed (default subscription `type = "track"`): POST
  /events/ with metric "Order Completed", and, when `products` is mapped, one "Ordered Product"
  event per product (the order's properties without products, merged with the product, a new
  uuid as unique id);
- properties.ts: the shared fields (country_code, location...); functions.ts processPhoneNumber
  and validateAndConvertPhoneNumber, validateExternalId (255 characters at most),
  validateProfilePayload.
Doc page: segment-docs src/connections/destinations/catalog/actions-klaviyo/index.md.

Choices: Track Event and Order Completed share the default subscription `type = "track"`;
segemu subscribes Track Event to every track but Order Completed, so an order is not sent
twice. The profile object of both has no default as a whole; segemu maps the defaults of its
properties (external_id from userId, anonymous_id from anonymousId), as Segment's mapping editor
fills them in. Order Completed's `products` has no default: the order is one event until it is
mapped. A phone number must already be E.164: Segment converts a national number with
libphonenumber when a country code is mapped, which segemu does not (it refuses the number with
Segment's message). Upsert Profile with a list id adds the profile to the list by the id
Klaviyo answers; segemu's Klaviyo holds no profiles, so that second request is not shown.
Subscriptions use the FQL segemu parses today (`and`, `=`, `!=`).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import Any

from segemu.destinations.base import Request
from segemu.destinations.presets._fields import ActionSpec, Field, catalog, f, path, preset
from segemu.destinations.presets._support import (
    MISSING,
    PayloadValidationError,
    defined,
    iso_string,
    omit,
    parse_date,
    request,
    truthy,
)

API_URL = "https://a.klaviyo.com/api"
REVISION = "2025-01-15"
_MAX_EXTERNAL_ID = 255
_E164 = re.compile(r"^\+[1-9]\d{1,14}$")


def _headers(settings: Mapping[str, Any]) -> dict[str, str]:
    return {
        "Authorization": f"Klaviyo-API-Key {settings.get('api_key', '')}",
        "Accept": "application/json",
        "revision": REVISION,
    }


def _post(title: str, route: str, body: Any, settings: Mapping[str, Any]) -> Request:
    return request(title, "POST", f"{API_URL}{route}", body, _headers(settings))


def phone_number(value: Any, country_code: Any = None) -> Any:
    """functions.ts processPhoneNumber, for numbers already in E.164 (see the module notes)."""
    if not truthy(value):
        return MISSING
    if isinstance(value, str) and _E164.match(value):
        return value
    raise PayloadValidationError(
        f"{value} is not a valid phone number and cannot be converted to E.164 format."
    )


def _check_external_id(external_id: Any) -> None:
    if isinstance(external_id, str) and len(external_id) > _MAX_EXTERNAL_ID:
        raise PayloadValidationError(
            f"Length of external_id must be no more than {_MAX_EXTERNAL_ID} characters."
        )


def _event_profile(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The profile of trackEvent/orderCompleted perform: phone checked, country code dropped,
    and one identifier required."""
    profile = dict(payload["profile"])
    phone = phone_number(profile.get("phone_number"), profile.get("country_code"))
    profile = defined({**omit(profile, ("country_code",)), "phone_number": phone})
    if not any(
        truthy(profile.get(key)) for key in ("email", "phone_number", "external_id", "anonymous_id")
    ):
        raise PayloadValidationError(
            "One of External ID, Anonymous ID, Phone Number or Email is required."
        )
    _check_external_id(profile.get("external_id"))
    return profile


def _time(payload: Mapping[str, Any]) -> Any:
    """dayjs(time).toISOString(), or undefined without a time."""
    if not truthy(payload.get("time")):
        return MISSING
    moment = parse_date(payload["time"])
    if moment is None:
        raise PayloadValidationError("Invalid time value")  # toISOString on an Invalid Date
    return iso_string(moment)


def _metric(name: Any) -> dict[str, Any]:
    return {"data": {"type": "metric", "attributes": {"name": name}}}


def _track_event(payload: dict[str, Any], settings: Mapping[str, Any]) -> list[Request]:
    profile = _event_profile(payload)
    event = defined(
        {
            "properties": dict(payload.get("properties") or {}),
            "time": _time(payload),
            "value": payload.get("value", MISSING),
            "unique_id": payload.get("unique_id", MISSING),
        }
    )
    profile_data = {"data": {"type": "profile", "attributes": profile}}
    if payload.get("enable_batching") is not True:
        body = {
            "data": {
                "type": "event",
                "attributes": {
                    **event,
                    "metric": _metric(payload["metric_name"]),
                    "profile": profile_data,
                },
            }
        }
        return [_post("Track Event", "/events/", body, settings)]
    # functions.ts sendBatchedTrackEvent and constructBulkCreateEventPayload.
    bulk_event = {
        "type": "event",
        "attributes": {"metric": _metric(payload["metric_name"]), **event},
    }
    item = {
        "type": "event-bulk-create",
        "attributes": {"profile": profile_data, "events": {"data": [bulk_event]}},
    }
    body = {
        "data": {
            "type": "event-bulk-create-job",
            "attributes": {"events-bulk-create": {"data": [item]}},
        }
    }
    return [_post("Track Event", "/event-bulk-create-jobs/", body, settings)]


_PROFILE_CONTROL = (
    "enable_batching",
    "batch_size",
    "list_id",
    "override_list_id",
    "country_code",
    "batch_keys",
)


def _upsert_profile(payload: dict[str, Any], settings: Mapping[str, Any]) -> list[Request]:
    phone = phone_number(payload.get("phone_number"), payload.get("country_code"))
    batched = payload.get("enable_batching") is True
    identifiers = (payload.get("email"), phone, payload.get("external_id"))
    if not any(truthy(value) for value in identifiers):
        raise PayloadValidationError(
            "One of External ID, Phone Number or Email is required."
            if batched
            else "One of External ID, Phone Number and Email is required."
        )
    _check_external_id(payload.get("external_id"))
    if batched:
        # functions.ts createImportJobPayload: the list is the override, else the list id.
        list_id = payload.get("override_list_id") or payload.get("list_id")
        attributes = defined({**omit(payload, _PROFILE_CONTROL), "phone_number": phone})
        job: dict[str, Any] = {
            "type": "profile-bulk-import-job",
            "attributes": {"profiles": {"data": [{"type": "profile", "attributes": attributes}]}},
        }
        if list_id:
            job["relationships"] = {"lists": {"data": [{"type": "list", "id": list_id}]}}
        return [_post("Upsert Profile", "/profile-bulk-import-jobs/", {"data": job}, settings)]
    rest = omit(payload, ("email", "external_id", "phone_number", *_PROFILE_CONTROL))
    attributes = defined(
        {
            "email": payload.get("email", MISSING),
            "external_id": payload.get("external_id", MISSING),
            "phone_number": phone,
            **rest,
        }
    )
    body = {"data": {"type": "profile", "attributes": attributes}}
    return [_post("Upsert Profile", "/profiles/", body, settings)]


def _order_completed(payload: dict[str, Any], settings: Mapping[str, Any]) -> list[Request]:
    profile = _event_profile(payload)
    time = _time(payload)
    order = defined(
        {
            "properties": dict(payload.get("properties") or {}),
            "time": time,
            "value": payload.get("value", MISSING),
            "unique_id": payload.get("unique_id", MISSING),
            "metric": _metric(payload.get("event_name") or "Order Completed"),
            "profile": {"data": {"type": "profile", "attributes": profile}},
        }
    )
    sent = [
        _post(
            "Order Completed",
            "/events/",
            {"data": {"type": "event", "attributes": order}},
            settings,
        )
    ]
    products = payload.get("products")
    if isinstance(products, list):
        # sendProductRequests runs after Klaviyo accepts the order, and deletes the products
        # from the order's properties object it was given.
        shared = omit(order["properties"], ("products",))
        for product in products:
            product_event = defined(
                {
                    "properties": {**shared, **product},
                    "unique_id": str(uuid.uuid4()),
                    "metric": _metric(payload.get("product_event_name") or "Ordered Product"),
                    "time": time,
                    "profile": order["profile"],
                }
            )
            sent.append(
                _post(
                    "Order Completed",
                    "/events/",
                    {"data": {"type": "event", "attributes": product_event}},
                    settings,
                )
            )
    return sent


_COUNTRY_CODE = f("string")
_EVENT_PROFILE = Field(
    "object",
    # The properties' own defaults, as the mapping editor fills them in (see the notes above).
    {"external_id": path("$.userId"), "anonymous_id": path("$.anonymousId")},
    required=True,
    additional_properties=True,
    properties={
        "email": f("string", format="email"),
        "phone_number": f("string"),
        "country_code": _COUNTRY_CODE,
        "external_id": f("string"),
        "anonymous_id": f("string"),
    },
)
_EVENT_FIELDS = {
    "profile": _EVENT_PROFILE,
    "properties": f("object", path("$.properties"), required=True),
    "time": f("datetime", path("$.timestamp")),
    "value": f("number"),
    "unique_id": f("string", path("$.messageId")),
}
_NULLABLE = f("string", allow_null=True)

TRACK_EVENT = ActionSpec(
    "trackEvent",
    "Track Event",
    {
        **_EVENT_FIELDS,
        "metric_name": f("string", path("$.event"), required=True),
        "enable_batching": f("boolean", True),
        "batch_size": f("number", 1000),
    },
    _track_event,
    # The definition's default is `type = "track"`; segemu leaves Order Completed to its own
    # action (see the notes above).
    'type = "track" and event != "Order Completed"',
)
UPSERT_PROFILE = ActionSpec(
    "upsertProfile",
    "Upsert Profile",
    {
        "email": f("string", path("$.traits.email"), format="email"),
        "enable_batching": f("boolean"),
        "phone_number": f("string", path("$.context.traits.phone")),
        "country_code": _COUNTRY_CODE,
        "external_id": f("string"),
        "first_name": f("string", path("$.traits.firstName")),
        "last_name": f("string", path("$.traits.lastName")),
        "organization": f("string", path("$.traits.company.name")),
        "title": f("string", path("$.traits.title")),
        "image": f("string", path("$.traits.avatar")),
        "location": Field(
            "object",
            {
                "city": path("$.traits.address.city"),
                "region": path("$.traits.address.state"),
                "zip": path("$.traits.address.postal_code"),
                "address1": path("$.traits.address.street"),
                "country": path("$.traits.address.country"),
            },
            properties={
                key: _NULLABLE
                for key in (
                    "address1",
                    "address2",
                    "city",
                    "region",
                    "zip",
                    "latitude",
                    "longitude",
                    "country",
                )
            },
        ),
        "properties": f("object", path("$.properties")),
        "list_id": f("string"),
        "batch_size": f("number", 10000),
        "override_list_id": f("string", path("$.integrations.Klaviyo.listId")),
        "batch_keys": f("string", ["list_id", "override_list_id"], multiple=True),
    },
    _upsert_profile,
    'type = "identify"',
)
ORDER_COMPLETED = ActionSpec(
    "orderCompleted",
    "Order Completed",
    {
        **_EVENT_FIELDS,
        "products": f("object", multiple=True),
        "event_name": f("string", "Order Completed"),
        "product_event_name": f("string", "Ordered Product"),
    },
    _order_completed,
    # The definition's default is `type = "track"`; segemu's choice, as above.
    'type = "track" and event = "Order Completed"',
)

PRESET = preset(
    slug="klaviyo",
    name="Klaviyo (Actions)",
    aliases=("Klaviyo (Actions)",),
    actions=(TRACK_EVENT.action(), UPSERT_PROFILE.action(), ORDER_COMPLETED.action()),
    settings={"api_key": "segemu-klaviyo-private-api-key"},
    sources=(
        "action-destinations packages/destination-actions/src/destinations/klaviyo/",
        "segment-docs src/connections/destinations/catalog/actions-klaviyo/index.md",
    ),
)

ACTIONS = catalog(PRESET.settings, TRACK_EVENT, UPSERT_PROFILE, ORDER_COMPLETED)
