"""Customer.io (Actions): what Customer.io's Track API v2 receives for each Segment call.

Sources (segmentio/action-destinations, packages/destination-actions/src/destinations/customerio):
- index.ts: the quick-setup presets and settings (Basic auth with the site id and API key,
  the US or EU track host);
- utils.ts: buildPayload (type, action, identifiers resolved from cio_/email/id/anonymous id,
  timestamps as unix seconds, ISO dates in attributes converted), sendSingle (/api/v2/entity)
  and sendBatch (/api/v2/batch);
- each action's index.ts: its fields and its mapPayload.
Every action but Report Delivery Event has "Batch Data to Customer.io" on by default, and then
Segment calls performBatch: the request is a batch (here of the one event), not an entity.
Doc page: segment-docs src/connections/destinations/catalog/actions-customerio/index.md.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from segemu.destinations.base import Request
from segemu.destinations.presets import customerio_fields as fields
from segemu.destinations.presets._fields import ActionSpec, catalog, is_email, preset
from segemu.destinations.presets._support import (
    MISSING,
    basic_auth,
    epoch_seconds,
    omit,
    parse_date,
    request,
    truthy,
)

# utils.ts isIsoDate (after segmentio/isostring).
_ISO_DATE = re.compile(
    r"^\d{4}-\d{2}-\d{2}((T\d{2}:\d{2}(:\d{2})?)(\.\d{1,9})?"
    r"(Z|(\+|-)\d{2}:?\d{2})?)?$"
)
MapPayload = Callable[[dict[str, Any]], tuple[str, str, dict[str, Any]]]


def _host(settings: Mapping[str, Any]) -> str:
    region = str(settings.get("accountRegion") or "").split(" ")[0].upper()
    return "https://track-eu.customer.io" if region == "EU" else "https://track.customer.io"


def _auth(settings: Mapping[str, Any]) -> dict[str, str]:
    return {
        "Authorization": basic_auth(
            str(settings.get("siteId", "")), str(settings.get("apiKey", ""))
        )
    }


def _unix(text: str) -> int | None:
    moment = parse_date(text)
    return epoch_seconds(moment) if moment else None


def convert_attribute_timestamps(values: dict[str, Any]) -> dict[str, Any]:
    """utils.ts convertAttributeTimestamps: ISO-8601 dates, at any depth of plain objects,
    become unix seconds (arrays are left alone)."""
    converted: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, str) and _ISO_DATE.match(value) and _unix(value) is not None:
            converted[key] = _unix(value)
        elif isinstance(value, dict):
            converted[key] = convert_attribute_timestamps(value)
        else:
            converted[key] = value
    return converted


def _convert_valid_timestamp(value: Any) -> Any:
    # utils.ts convertValidTimestamp: numbers and numeric text are already unix times.
    if not isinstance(value, str) or re.fullmatch(r"\d+(\.\d+)?", value):
        return value
    unix = _unix(value)
    return unix if unix is not None else value


def resolve_identifiers(
    person_id: Any = MISSING,
    anonymous_id: Any = MISSING,
    email: Any = MISSING,
    object_id: Any = MISSING,
    object_type_id: Any = MISSING,
) -> Any:
    """utils.ts resolveIdentifiers: an object; else a cio_ id, an email or an id; else the
    email field; else the anonymous id."""
    if object_type_id is MISSING:
        object_type_id = "1"
    if truthy(object_id) and truthy(object_type_id):
        return {"object_id": object_id, "object_type_id": object_type_id}
    if isinstance(person_id, str) and person_id.startswith("cio_"):
        return {"cio_id": person_id[4:]}
    if is_email(person_id):
        return {"email": person_id}
    if truthy(person_id):
        return {"id": person_id}
    if truthy(email):
        return {"email": email}
    if truthy(anonymous_id):
        return {"anonymous_id": anonymous_id}
    return MISSING


_IDENTIFYING = (
    "convert_timestamp",
    "person_id",
    "anonymous_id",
    "email",
    "object_id",
    "object_type_id",
    "timestamp",
)


def build_payload(action: str, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    """utils.ts buildPayload: one entity of the Track API v2."""
    payload = {key: value for key, value in payload.items() if value is not MISSING}
    get = payload.get
    rest = omit(payload, (*_IDENTIFYING, "enable_batching", "batch_size"))
    if "convert_timestamp" in payload and get("convert_timestamp") is not False:
        rest = convert_attribute_timestamps(rest)
    if truthy(get("timestamp")):
        # Customer.io only takes unix timestamps, whatever convert_timestamp says.
        rest["timestamp"] = _convert_valid_timestamp(get("timestamp"))
    body: dict[str, Any] = {"type": kind, "action": action, **rest}
    if truthy(get("anonymous_id")):
        body["attributes"] = {**(body.get("attributes") or {}), "anonymous_id": get("anonymous_id")}
    if action != "merge":
        body["identifiers"] = resolve_identifiers(
            get("person_id", MISSING),
            get("anonymous_id", MISSING),
            get("email", MISSING),
            get("object_id", MISSING),
            get("object_type_id", MISSING),
        )
        if isinstance(body["identifiers"], dict) and "anonymous_id" in body["identifiers"]:
            body["attributes"].pop("anonymous_id", None)
    return {key: value for key, value in body.items() if value is not MISSING}


def _perform(title: str, map_payload: MapPayload) -> Callable[..., list[Request]]:
    def perform(payload: dict[str, Any], settings: Mapping[str, Any]) -> list[Request]:
        action, kind, mapped = map_payload(payload)
        entity = build_payload(action, kind, mapped)
        if payload.get("enable_batching"):
            return [
                request(
                    title,
                    "POST",
                    f"{_host(settings)}/api/v2/batch",
                    {"batch": [entity]},
                    _auth(settings),
                )
            ]
        return [request(title, "POST", f"{_host(settings)}/api/v2/entity", entity, _auth(settings))]

    return perform


def _person(payload: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    """createUpdatePerson mapPayload: traits become attributes, and a group id in the traits a
    relationship to that object."""
    attributes = omit(
        payload.get("custom_attributes"),
        ("createdAt", "created_at", "object_type_id", "relationshipAttributes", "objectTypeId"),
    )
    if truthy(payload.get("created_at")):
        attributes["created_at"] = payload["created_at"]
    if truthy(payload.get("email")):
        attributes["email"] = payload["email"]
    rest = omit(
        payload,
        (
            "id",
            "custom_attributes",
            "relationship_attributes",
            "created_at",
            "group_id",
            "object_type_id",
        ),
    )
    body: dict[str, Any] = {
        **rest,
        "person_id": payload.get("id", MISSING),
        "attributes": attributes,
    }
    if truthy(payload.get("group_id")):
        relationship: dict[str, Any] = {
            "identifiers": {
                "object_type_id": payload.get("object_type_id", "1"),
                "object_id": payload["group_id"],
            }
        }
        if truthy(payload.get("relationship_attributes")):
            relationship["relationship_attributes"] = payload["relationship_attributes"]
        body["cio_relationships"] = [relationship]
    return "identify", "person", body


def _event(action: str, name_key: str = "name") -> MapPayload:
    """trackEvent, trackPageView and trackScreenView mapPayload."""

    def map_payload(payload: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
        rest = omit(payload, ("id", "event_id", "data", "url"))
        body = {**rest, "person_id": payload.get("id", MISSING)}
        if action == "event":
            body["id"] = payload.get("event_id", MISSING)
        if name_key == "url":
            body["name"] = payload["url"]
        body["attributes"] = payload.get("data", MISSING)
        if action != "event" and truthy(payload.get("event_id")):
            body["id"] = payload["event_id"]
        return action, "person", body

    return map_payload


def _device(payload: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    rest = omit(payload, ("app_version", "device_id", "platform", "last_used", "attributes"))
    version = {"app_version": payload["app_version"]} if truthy(payload.get("app_version")) else {}
    return (
        "add_device",
        "person",
        {
            **rest,
            "device": {
                "token": payload["device_id"],
                "platform": payload["platform"],
                "last_used": payload.get("last_used", MISSING),
                "attributes": {**(payload.get("attributes") or {}), **version},
            },
        },
    )


def _object(payload: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    """createUpdateObject mapPayload: the group, related to the user (or the anonymous id)."""
    attributes = payload.get("custom_attributes", MISSING)
    if isinstance(attributes, dict):
        attributes = omit(attributes, ("object_type_id", "objectTypeId", "relationshipAttributes"))
    rest = omit(
        payload,
        (
            "id",
            "convert_timestamp",
            "custom_attributes",
            "relationship_attributes",
            "user_id",
            "anonymous_id",
            "object_type_id",
        ),
    )
    body: dict[str, Any] = {
        **rest,
        "anonymous_id": payload.get("anonymous_id", MISSING),
        "person_id": payload.get("user_id", MISSING),
        "attributes": attributes,
        "object_type_id": payload.get("object_type_id", "1"),
        "object_id": payload["id"],
    }
    relationship_attributes = payload.get("relationship_attributes", MISSING)
    if "convert_timestamp" in payload and payload["convert_timestamp"] is not False:
        body = convert_attribute_timestamps(body)
        if isinstance(relationship_attributes, dict):
            relationship_attributes = convert_attribute_timestamps(relationship_attributes)
    action = "identify"
    identifiers: Any = MISSING
    if truthy(payload.get("user_id")):
        identifiers = resolve_identifiers(person_id=payload["user_id"])
    elif truthy(payload.get("anonymous_id")):
        action, identifiers = "identify_anonymous", {"anonymous_id": payload["anonymous_id"]}
    if identifiers is not MISSING:
        relationship = {"identifiers": identifiers}
        if truthy(relationship_attributes):
            relationship["relationship_attributes"] = relationship_attributes
        body["cio_relationships"] = [relationship]
    return action, "object", body


def _fixed(action: str, kind: str) -> MapPayload:
    return lambda payload: (action, kind, payload)


def _relationship(payload: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    identifiers = resolve_identifiers(
        payload.get("person_id", MISSING), payload.get("anonymous_id", MISSING)
    )
    return (
        "delete_relationships",
        "object",
        {**payload, "cio_relationships": [{"identifiers": identifiers}]},
    )


def _merge(payload: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    return (
        "merge",
        "person",
        {
            "primary": resolve_identifiers(payload["primary"]),
            "secondary": resolve_identifiers(payload["secondary"]),
        },
    )


def _content(payload: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    data = payload.get("data", MISSING)
    if isinstance(data, dict) and truthy(data.get("actionType")):
        data = omit(data, ("actionType",))
    return (
        payload["actionType"],
        "person",
        {
            **omit(payload, ("actionType", "data")),
            "name": payload["actionType"],
            "attributes": data,
        },
    )


def _report_delivery(payload: dict[str, Any], settings: Mapping[str, Any]) -> list[Request]:
    """reportDeliveryEvent: the Metrics API v1, never batched."""
    metric: dict[str, Any] = {
        "delivery_id": payload["delivery_id"],
        "metric": payload["metric"],
        "timestamp": int(datetime.now(UTC).timestamp()),
    }
    unix = _convert_valid_timestamp(payload.get("timestamp"))
    if isinstance(unix, int | float) and not isinstance(unix, bool):
        metric["timestamp"] = unix
    elif isinstance(unix, str) and re.fullmatch(r"\d+(\.\d+)?", unix):
        metric["timestamp"] = float(unix) if "." in unix else int(unix)
    metric.update(
        {key: payload[key] for key in ("recipient", "reason", "href") if truthy(payload.get(key))}
    )
    metadata = {
        key: payload[key] for key in ("action_name", "action_value") if truthy(payload.get(key))
    }
    if metadata:
        metric["metadata"] = metadata
    return [
        request(
            "Report Delivery Event",
            "POST",
            f"{_host(settings)}/api/v1/metrics",
            metric,
            _auth(settings),
        )
    ]


def _spec(
    key: str, title: str, table: Mapping[str, Any], map_payload: MapPayload, subscribe: str
) -> ActionSpec:
    return ActionSpec(key, title, table, _perform(title, map_payload), subscribe)


_EXCLUDED_FROM_TRACK = (
    "Application Installed",
    "Application Opened",
    "Application Uninstalled",
    "Device Created or Updated",
    "Device Deleted",
    "Relationship Deleted",
    "User Deleted",
    "User Suppressed",
    "User Unsuppressed",
    "Object Deleted",
    "Report Delivery Event",
    "Report Content Event",
)

SPECS = (
    _spec(
        "createUpdatePerson",
        "Create or Update Person",
        fields.CREATE_UPDATE_PERSON,
        _person,
        'type = "identify"',
    ),
    _spec(
        "createUpdateDevice",
        "Create or Update Device",
        fields.CREATE_UPDATE_DEVICE,
        _device,
        'event = "Application Installed" or event = "Application Opened" or '
        'event = "Device Created or Updated"',
    ),
    _spec(
        "deleteDevice",
        "Delete Device",
        fields.DELETE_DEVICE,
        lambda payload: (
            "delete_device",
            "person",
            {**omit(payload, ("device_id",)), "device": {"token": payload["device_id"]}},
        ),
        'event = "Application Uninstalled" or event = "Device Deleted"',
    ),
    _spec(
        "deleteRelationship",
        "Delete Relationship",
        fields.DELETE_RELATIONSHIP,
        _relationship,
        'event = "Relationship Deleted"',
    ),
    _spec(
        "deletePerson",
        "Delete Person",
        fields.PERSON_ONLY,
        _fixed("delete", "person"),
        'event = "User Deleted"',
    ),
    _spec(
        "deleteObject",
        "Delete Object",
        fields.DELETE_OBJECT,
        _fixed("delete", "object"),
        'event = "Object Deleted"',
    ),
    _spec(
        "trackEvent",
        "Track Event",
        fields.TRACK_EVENT,
        _event("event"),
        'type = "track"' + "".join(f' and event != "{name}"' for name in _EXCLUDED_FROM_TRACK),
    ),
    _spec(
        "trackPageView",
        "Track Page View",
        fields.TRACK_PAGE_VIEW,
        _event("page", "url"),
        'type = "page"',
    ),
    _spec(
        "trackScreenView",
        "Track Screen View",
        fields.TRACK_SCREEN_VIEW,
        _event("screen"),
        'type = "screen"',
    ),
    _spec(
        "createUpdateObject",
        "Create or Update Object",
        fields.CREATE_UPDATE_OBJECT,
        _object,
        'type = "group"',
    ),
    _spec("mergePeople", "Merge People", fields.MERGE_PEOPLE, _merge, 'type = "alias"'),
    _spec(
        "suppressPerson",
        "Suppress Person",
        fields.PERSON_ONLY,
        _fixed("suppress", "person"),
        'event = "User Suppressed"',
    ),
    _spec(
        "unsuppressPerson",
        "Unsuppress Person",
        fields.PERSON_ONLY,
        _fixed("unsuppress", "person"),
        'event = "User Unsuppressed"',
    ),
    ActionSpec(
        "reportDeliveryEvent",
        "Report Delivery Event",
        fields.REPORT_DELIVERY_EVENT,
        _report_delivery,
        'event = "Report Delivery Event"',
    ),
    _spec(
        "reportContentEvent",
        "Report Content Event",
        fields.REPORT_CONTENT_EVENT,
        _content,
        'event = "Report Content Event"',
    ),
)

PRESET = preset(
    slug="customerio",
    name="Customer.io (Actions)",
    # segment-docs src/_data/catalog/destinations.yml previous_names.
    aliases=("Customer.io (Actions)", "Actions Customerio", "Customer.io Actions"),
    # index.ts presets of type "automatic": each action at its own subscription, named as the
    # action (the warehouse and journeys presets answer events Segment generates itself).
    actions=tuple(spec.action() for spec in SPECS),
    settings={
        "siteId": "segemu-customerio-site",
        "apiKey": "segemu-customerio-api-key",
        "accountRegion": "US 🇺🇸",
    },
    sources=(
        "action-destinations packages/destination-actions/src/destinations/customerio/",
        "segment-docs src/connections/destinations/catalog/actions-customerio/index.md",
    ),
)

ACTIONS = catalog(PRESET.settings, *SPECS)
