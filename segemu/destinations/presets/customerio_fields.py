"""Customer.io (Actions): the fields of each action and their default mappings.

Source: segmentio/action-destinations, packages/destination-actions/src/destinations/customerio/
<action>/index.ts for each action below, and customerio-properties.ts (the batching fields).
"""

from __future__ import annotations

from typing import Any

from segemu.destinations.presets._fields import Field, either, f, path

BATCHING: dict[str, Field] = {"enable_batching": f("boolean", True), "batch_size": f("number", 50)}
_CONVERT = {"convert_timestamp": f("boolean", True)}
_USER = path("$.userId")
_ANONYMOUS = path("$.anonymousId")


def _string(default: Any, **options: Any) -> Field:
    return f("string", default, **options)


CREATE_UPDATE_PERSON: dict[str, Field] = {
    "id": _string(either("$.userId", "$.traits.email")),
    "anonymous_id": _string(_ANONYMOUS),
    "email": _string({"@template": "{{traits.email}}"}),
    "created_at": _string(either("$.traits.created_at", "$.traits.createdAt")),
    "group_id": _string(path("$.traits.objectId")),
    "custom_attributes": f("object", path("$.traits")),
    "relationship_attributes": f("object", path("$.traits.relationshipAttributes")),
    "timestamp": _string(path("$.timestamp")),
    **_CONVERT,
    "object_type_id": _string(either("$.traits.object_type_id", "$.traits.objectTypeId")),
    **BATCHING,
}

TRACK_EVENT: dict[str, Field] = {
    "id": _string(_USER),
    "anonymous_id": _string(_ANONYMOUS),
    "name": _string(path("$.event"), required=True),
    "event_id": _string(path("$.messageId")),
    "timestamp": _string(path("$.timestamp")),
    "data": f("object", path("$.properties")),
    **_CONVERT,
    **BATCHING,
}

TRACK_PAGE_VIEW: dict[str, Field] = {
    "id": _string(_USER),
    "anonymous_id": _string(_ANONYMOUS),
    "event_id": _string(path("$.messageId")),
    "url": _string(path("$.properties.url"), required=True),
    "timestamp": _string(path("$.timestamp")),
    "data": f("object", path("$.properties")),
    **_CONVERT,
    **BATCHING,
}

TRACK_SCREEN_VIEW: dict[str, Field] = {
    "id": _string(_USER),
    "anonymous_id": _string(_ANONYMOUS),
    "event_id": _string(path("$.messageId")),
    "name": _string(path("$.name"), required=True),
    "timestamp": _string(path("$.timestamp")),
    "data": f("object", path("$.properties")),
    **_CONVERT,
    **BATCHING,
}

CREATE_UPDATE_DEVICE: dict[str, Field] = {
    "person_id": _string(_USER, required=True),
    "device_id": _string(path("$.context.device.token"), required=True),
    "app_version": _string(path("$.context.app.version")),
    "platform": _string(path("$.context.device.type"), required=True),
    "last_used": _string(path("$.timestamp")),
    "attributes": f("object", path("$.properties")),
    **_CONVERT,
    **BATCHING,
}

DELETE_DEVICE: dict[str, Field] = {
    "person_id": _string(_USER, required=True),
    "device_id": _string(path("$.context.device.token"), required=True),
    **BATCHING,
}

_OBJECT_TYPE = either("$.properties.object_type_id", "$.properties.objectTypeId")

DELETE_RELATIONSHIP: dict[str, Field] = {
    "person_id": _string(_USER, required=True),
    "anonymous_id": _string(_ANONYMOUS),
    "object_id": _string(path("$.properties.objectId"), required=True),
    "object_type_id": _string(_OBJECT_TYPE),
    **BATCHING,
}

PERSON_ONLY: dict[str, Field] = {"person_id": _string(_USER, required=True), **BATCHING}

DELETE_OBJECT: dict[str, Field] = {
    "object_id": _string(path("$.properties.objectId")),
    "object_type_id": _string(_OBJECT_TYPE),
    **BATCHING,
}

CREATE_UPDATE_OBJECT: dict[str, Field] = {
    "id": _string(path("$.groupId"), required=True),
    "created_at": _string(either("$.traits.created_at", "$.traits.createdAt")),
    "custom_attributes": f("object", path("$.traits.objectAttributes")),
    "relationship_attributes": f("object", path("$.traits.relationshipAttributes")),
    "user_id": _string(_USER),
    "anonymous_id": _string(_ANONYMOUS),
    "object_type_id": _string(either("$.traits.object_type_id", "$.traits.objectTypeId")),
    **_CONVERT,
    **BATCHING,
}

MERGE_PEOPLE: dict[str, Field] = {
    "primary": _string(_USER, required=True),
    "secondary": _string(path("$.previousId"), required=True),
    **BATCHING,
}

REPORT_DELIVERY_EVENT: dict[str, Field] = {
    "delivery_id": _string(path("$.properties.deliveryId"), required=True),
    "metric": _string(
        path("$.properties.metric"),
        required=True,
        choices=(
            "delivered",
            "opened",
            "clicked",
            "converted",
            "spammed",
            "bounced",
            "dropped",
            "deferred",
        ),
    ),
    **{
        key: _string(path(f"$.properties.{source}"))
        for key, source in (
            ("recipient", "recipient"),
            ("reason", "reason"),
            ("href", "href"),
            ("action_name", "actionName"),
            ("action_value", "actionValue"),
        )
    },
    # A datetime field: Ajv checks it as date-like (fields-to-jsonschema.ts), not date-time.
    "timestamp": f("datetime", path("$.timestamp")),
    **BATCHING,
}

REPORT_CONTENT_EVENT: dict[str, Field] = {
    "anonymous_id": _string(_ANONYMOUS),
    "actionType": _string(
        path("$.properties.actionType"),
        required=True,
        choices=("viewed_content", "clicked_content"),
    ),
    "timestamp": _string(path("$.timestamp")),
    "data": f("object", path("$.properties")),
    **_CONVERT,
    **BATCHING,
}
