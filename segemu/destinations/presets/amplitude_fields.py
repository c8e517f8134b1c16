"""Actions Amplitude: the fields of its actions and their default mappings.

Sources (segmentio/action-destinations, packages/destination-actions/src/destinations/amplitude):
event-schema.ts (the fields every event action shares), properties.ts (userAgentData),
logEventV2/index.ts, logPurchase/index.ts, identifyUser/index.ts, groupIdentifyUser/index.ts,
mapUser/index.ts.
"""

from __future__ import annotations

from typing import Any

from segemu.destinations.presets._fields import Field, either, f, path

_CAMPAIGN = (
    ("source", "source"),
    ("medium", "medium"),
    ("campaign", "name"),
    ("term", "term"),
    ("content", "content"),
)

_ADVERTISING_ID = either("$.context.device.advertisingId", "$.context.device.idfa")

EVENT_SCHEMA: dict[str, Field] = {
    "user_id": f("string", path("$.userId"), allow_null=True),
    "device_id": f("string", either("$.context.device.id", "$.anonymousId")),
    "event_type": f("string", path("$.event"), required=True),
    "session_id": f("datetime", path("$.integrations.Actions Amplitude.session_id")),
    "time": f("datetime", path("$.timestamp")),
    "event_properties": f("object", path("$.properties")),
    "user_properties": f("object", path("$.traits")),
    "groups": f("object"),
    "app_version": f("string", path("$.context.app.version")),
    "platform": f("string", path("$.context.device.type")),
    "os_name": f("string", path("$.context.os.name")),
    "os_version": f("string", path("$.context.os.version")),
    "device_brand": f("string", path("$.context.device.brand")),
    "device_manufacturer": f("string", path("$.context.device.manufacturer")),
    "device_model": f("string", path("$.context.device.model")),
    "carrier": f("string", path("$.context.network.carrier")),
    "country": f("string", path("$.context.location.country")),
    "region": f("string", path("$.context.location.region")),
    "city": f("string", path("$.context.location.city")),
    "dma": f("string"),
    "language": f("string", path("$.context.locale")),
    "price": f("number", path("$.properties.price")),
    "quantity": f("integer", path("$.properties.quantity")),
    "revenue": f("number", path("$.properties.revenue")),
    "productId": f("string", path("$.properties.productId")),
    "revenueType": f("string", path("$.properties.revenueType")),
    "location_lat": f("number", path("$.context.location.latitude")),
    "location_lng": f("number", path("$.context.location.longitude")),
    "ip": f("string", path("$.context.ip")),
    "idfa": f("string", _ADVERTISING_ID),
    "idfv": f("string", path("$.context.device.id")),
    "adid": f("string", _ADVERTISING_ID),
    "android_id": f("string"),
    "event_id": f("integer"),
    "insert_id": f("string"),
    # Hidden in Segment's UI; still mapped, and read by the platform rule ("Web" for
    # analytics.js).
    "library": f("string", path("$.context.library.name")),
    "library2": f(
        "object",
        {"behavior": "use_mapping", "mapping": path("$.context.library.name")},
        properties={
            "behavior": f("string", choices=("auto", "use_mapping")),
            "mapping": f("string"),
        },
    ),
}

_PRODUCT = {
    "price": f("number"),
    "quantity": f("integer"),
    "revenue": f("number"),
    "productId": f("string"),
    "revenueType": f("string"),
}

PRODUCTS = f(
    "object",
    {
        "@arrayPath": [
            "$.properties.products",
            {
                key: path(key)
                for key in ("price", "revenue", "quantity", "productId", "revenueType")
            },
        ]
    },
    multiple=True,
    additional_properties=True,
    properties=_PRODUCT,
)

USER_AGENT_DATA = f(
    "object",
    {
        "model": path("$.context.userAgentData.model"),
        "platformVersion": path("$.context.userAgentData.platformVersion"),
    },
    properties={"model": f("string"), "platformVersion": f("string")},
)

USER_AGENT: dict[str, Field] = {
    "userAgent": f("string", path("$.context.userAgent")),
    "userAgentParsing": f("boolean", True),
    "includeRawUserAgent": f("boolean", False),
}

MIN_ID_LENGTH = f("integer", allow_null=True)

UTM_PROPERTIES = f(
    "object",
    {f"utm_{key}": path(f"$.context.campaign.{source}") for key, source in _CAMPAIGN},
    properties={f"utm_{key}": f("string") for key, _ in _CAMPAIGN},
)


def _user_property_object(prefix: str) -> Field:
    default: dict[str, Any] = {f"{prefix}referrer": path("$.context.page.referrer")}
    default.update(
        {f"{prefix}utm_{key}": path(f"$.context.campaign.{source}") for key, source in _CAMPAIGN}
    )
    return f(
        "object",
        default,
        additional_properties=True,
        properties={key: f("string") for key in default},
    )


LOG_EVENT_V2: dict[str, Field] = {
    **EVENT_SCHEMA,
    "products": PRODUCTS,
    "setOnce": _user_property_object("initial_"),
    "setAlways": _user_property_object(""),
    "add": f("object", additional_properties=True),
    "use_batch_endpoint": f("boolean", False),
    **USER_AGENT,
    "min_id_length": MIN_ID_LENGTH,
    "userAgentData": USER_AGENT_DATA,
}

LOG_PURCHASE: dict[str, Field] = {
    "trackRevenuePerProduct": f("boolean", False),
    **EVENT_SCHEMA,
    "products": PRODUCTS,
    "use_batch_endpoint": f("boolean", False),
    **USER_AGENT,
    "utm_properties": UTM_PROPERTIES,
    "referrer": f("string", path("$.context.page.referrer")),
    "min_id_length": MIN_ID_LENGTH,
    "userAgentData": USER_AGENT_DATA,
}

IDENTIFY_USER: dict[str, Field] = {
    **{
        key: EVENT_SCHEMA[key]
        for key in (
            "user_id",
            "device_id",
            "user_properties",
            "groups",
            "app_version",
            "platform",
            "os_name",
            "os_version",
            "device_brand",
            "device_manufacturer",
            "device_model",
            "carrier",
            "country",
            "region",
            "city",
            "dma",
            "language",
        )
    },
    "paying": f("boolean"),
    "start_version": f("string"),
    "insert_id": f("string"),
    **USER_AGENT,
    "utm_properties": UTM_PROPERTIES,
    "referrer": f("string", path("$.context.page.referrer")),
    "min_id_length": MIN_ID_LENGTH,
    "library": f("string", path("$.context.library.name")),
    "userAgentData": USER_AGENT_DATA,
}

GROUP_IDENTIFY_USER: dict[str, Field] = {
    "user_id": EVENT_SCHEMA["user_id"],
    "device_id": EVENT_SCHEMA["device_id"],
    "insert_id": f("string"),
    "time": f("string", path("$.timestamp")),
    "group_properties": f("object", path("$.traits")),
    # No defaults: Segment has no group type, so a mapping must name one.
    "group_type": f("string", required=True),
    "group_value": f("string", required=True),
    "min_id_length": MIN_ID_LENGTH,
}

MAP_USER: dict[str, Field] = {
    "user_id": f("string", path("$.previousId")),
    "global_user_id": f("string", path("$.userId")),
    "min_id_length": MIN_ID_LENGTH,
}
