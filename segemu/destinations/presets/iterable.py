"""Iterable (Actions): what Iterable's API (api.iterable.com) receives.

Sources (segmentio/action-destinations, packages/destination-actions/src/destinations/iterable):
- index.ts: settings apiKey (sent as the `Api-Key` header) and dataCenterLocation
  (united_states or europe); the quick-setup presets Track Calls, Identify Calls, Update Cart
  Calls and Order Completed Calls;
- shared-fields.ts: the fields and default mappings the actions share;
- utils.ts: convertDatesInObject (ISO dates in data fields become "YYYY-MM-DD HH:MM:SS
  +00:00"; dates alone stay), transformItems (cart items), getRegionalEndpoint;
- trackEvent/index.ts: Custom Event; batching is on by default, so Segment sends
  /api/events/trackBulk `{events: [...]}`, each event the mapped payload (createdAt in unix
  seconds);
- updateUser/index.ts: Upsert User; batched by default: /api/users/bulkUpdate `{users: [...]}`,
  the phone number moved into dataFields;
- updateCart/index.ts and trackPurchase/index.ts: /api/commerce/updateCart and
  /api/commerce/trackPurchase (no batching), the user's phone number in user.dataFields.
Doc page: segment-docs src/connections/destinations/catalog/actions-iterable/index.md.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from segemu.destinations.base import Request
from segemu.destinations.presets._fields import ActionSpec, Field, catalog, either, f, path, preset
from segemu.destinations.presets._support import (
    MISSING,
    PayloadValidationError,
    defined,
    epoch_seconds,
    iso_string,
    omit,
    parse_date,
    request,
    truthy,
)

_HOSTS = {"united_states": "https://api.iterable.com", "europe": "https://api.eu.iterable.com"}
# utils.ts isoDateRegExp, and the date-only form that is kept as it is.
_ISO_DATE = re.compile(
    r"^(\d{4})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])(?:([ T])(\d{2}):?(\d{2})"
    r"(?::?(\d{2})(?:[,.](\d{1,}))?)?(?:(Z)|([+\-])(\d{2})(?::?(\d{2}))?)?)?$"
)
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ITEM_KEYS = (
    "product_id",
    "id",
    "sku",
    "name",
    "price",
    "quantity",
    "categories",
    "category",
    "url",
    "image_url",
    "imageUrl",
)


def _endpoint(settings: Mapping[str, Any], route: str) -> str:
    host = _HOSTS.get(str(settings.get("dataCenterLocation")), _HOSTS["united_states"])
    return host + route


def _auth(settings: Mapping[str, Any]) -> dict[str, str]:
    return {"Api-Key": str(settings.get("apiKey") or "")}


def _iterable_date(value: str) -> Any:
    if _DATE_ONLY.match(value):
        return value
    moment = parse_date(value)
    if moment is None:
        return None
    return iso_string(moment).replace("T", " ").split(".")[0] + " +00:00"


def convert_dates(value: Any) -> Any:
    """utils.ts convertDatesInObject, on a copy: ISO date-times anywhere in the object become
    Iterable's date format."""
    if isinstance(value, dict):
        return {key: convert_dates(item) for key, item in value.items()}
    if isinstance(value, list):
        return [convert_dates(item) for item in value]
    if isinstance(value, str) and _ISO_DATE.match(value):
        return _iterable_date(value)
    return value


def _unix(value: Any) -> Any:
    moment = parse_date(value) if value is not MISSING else None
    # dayjs(undefined).unix() is now; a field that is unset is left to Iterable instead.
    return epoch_seconds(moment) if moment else MISSING


def _require_user(payload: Mapping[str, Any]) -> None:
    if not truthy(payload.get("email")) and not truthy(payload.get("userId")):
        raise PayloadValidationError("Must include email or userId.")


def _track_event(payload: dict[str, Any], settings: Mapping[str, Any]) -> list[Request]:
    _require_user(payload)
    event = defined(
        {
            **payload,
            "dataFields": convert_dates(payload.get("dataFields") or {}),
            "createdAt": _unix(payload.get("createdAt", MISSING)),
        }
    )
    return [
        request(
            "Custom Event",
            "POST",
            _endpoint(settings, "/api/events/trackBulk"),
            {"events": [event]},
            _auth(settings),
        )
    ]


def _user_update(payload: dict[str, Any]) -> dict[str, Any]:
    """updateUser/index.ts transformIterableUserPayload."""
    return {
        **omit(payload, ("newEmail", "updateOnly", "enable_batching", "batch_size", "phoneNumber")),
        "dataFields": defined(
            {
                **convert_dates(payload.get("dataFields") or {}),
                "phoneNumber": payload.get("phoneNumber", MISSING),
            }
        ),
    }


def _update_user(payload: dict[str, Any], settings: Mapping[str, Any]) -> list[Request]:
    _require_user(payload)
    user = _user_update(payload)
    if truthy(payload.get("newEmail")):
        user["dataFields"] = {**user["dataFields"], "email": payload["newEmail"]}
    body: dict[str, Any] = {"users": [user]}
    if payload.get("updateOnly"):
        body = {"updateOnly": True, **body}
    return [
        request(
            "Upsert User",
            "POST",
            _endpoint(settings, "/api/users/bulkUpdate"),
            body,
            _auth(settings),
        )
    ]


def _items(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """utils.ts transformItems: a product's other keys go to its dataFields; its category
    becomes a list."""
    shaped = []
    for item in items:
        rest = omit(item, ("dataFields", "categories"))
        categories = item.get("categories")
        shaped.append(
            {
                **rest,
                "dataFields": convert_dates(omit(rest, _ITEM_KEYS)),
                **({"categories": [categories]} if truthy(categories) else {}),
            }
        )
    return shaped


def _user_with_phone(user: dict[str, Any]) -> dict[str, Any]:
    phone = user.get("phoneNumber", MISSING)
    rest = omit(user, ("phoneNumber",))
    return {
        **rest,
        "dataFields": defined(
            {**convert_dates(rest.get("dataFields") or {}), "phoneNumber": phone}
        ),
    }


def _update_cart(payload: dict[str, Any], settings: Mapping[str, Any]) -> list[Request]:
    user = payload["user"]
    _require_user(user)
    body = {**payload, "user": _user_with_phone(user), "items": _items(payload["items"])}
    return [
        request(
            "Update Cart",
            "POST",
            _endpoint(settings, "/api/commerce/updateCart"),
            body,
            _auth(settings),
        )
    ]


def _track_purchase(payload: dict[str, Any], settings: Mapping[str, Any]) -> list[Request]:
    user = payload["user"]
    _require_user(user)
    # trackPurchase/index.ts: the products are the items; they are not repeated in dataFields.
    data_fields = omit(payload.get("dataFields") or {}, ("products",))
    body = defined(
        {
            **payload,
            "user": _user_with_phone(user),
            "items": _items(payload["items"]),
            "createdAt": _unix(payload.get("createdAt", MISSING)),
            "dataFields": convert_dates(data_fields),
        }
    )
    return [
        request(
            "Track Purchase",
            "POST",
            _endpoint(settings, "/api/commerce/trackPurchase"),
            body,
            _auth(settings),
        )
    ]


# shared-fields.ts
_EMAIL = f("string", either("$.properties.email", "$.context.traits.email"), format="email")
_USER_ID = f("string", path("$.userId"))
_USER_DATA = f("object", path("$.traits"))
_PHONE = f("string", path("$.traits.phone"), allow_null=True)
_MERGE = f("boolean", False)
_ITEM = {
    "id": f("string", required=True),
    "name": f("string", required=True),
    "sku": f("string"),
    "quantity": f("integer", required=True),
    "price": f("number", required=True),
    "description": f("string"),
    "categories": f("string"),
    "url": f("string"),
    "imageUrl": f("string"),
}
_ITEMS = Field(
    "object",
    {
        "@arrayPath": [
            "$.properties.products",
            {
                "id": path("product_id"),
                "sku": path("sku"),
                "categories": path("category"),
                "name": path("name"),
                "price": path("price"),
                "quantity": path("quantity"),
                "url": path("url"),
                "imageUrl": path("image_url"),
                "description": path("description"),
            },
        ]
    },
    required=True,
    multiple=True,
    properties=_ITEM,
    additional_properties=True,
)
_COMMERCE_USER = Field(
    "object",
    {
        "email": either("$.properties.email", "$.context.traits.email"),
        "userId": path("$.userId"),
        "dataFields": path("$.context.traits"),
        "phoneNumber": path("$.context.traits.phone"),
        "mergeNestedObjects": False,
    },
    required=True,
    properties={
        "email": _EMAIL,
        "userId": _USER_ID,
        "dataFields": _USER_DATA,
        "mergeNestedObjects": _MERGE,
        "phoneNumber": _PHONE,
    },
)
_CREATED_AT = f("datetime", path("$.timestamp"))
_CAMPAIGN_ID = f("integer", path("$.properties.campaignId"))
_TEMPLATE_ID = f("integer", path("$.properties.templateId"))
_EVENT_DATA = f("object", path("$.properties"))

TRACK_EVENT = ActionSpec(
    "trackEvent",
    "Custom Event",
    {
        "email": _EMAIL,
        "userId": _USER_ID,
        "eventName": f("string", path("$.event"), required=True),
        "dataFields": _EVENT_DATA,
        "id": f("string", path("$.messageId")),
        "createdAt": _CREATED_AT,
        "campaignId": _CAMPAIGN_ID,
        "templateId": _TEMPLATE_ID,
        "enable_batching": f("boolean", True),
        "batch_size": f("number", 1001),
    },
    _track_event,
    'type = "track" and event != "Order Completed" and event != "Cart Updated"',
)
UPDATE_USER = ActionSpec(
    "updateUser",
    "Upsert User",
    {
        "email": f("string", path("$.traits.email"), format="email"),
        "userId": _USER_ID,
        "newEmail": f("string", format="email"),
        "dataFields": _USER_DATA,
        "phoneNumber": _PHONE,
        "mergeNestedObjects": _MERGE,
        "enable_batching": f("boolean", True),
        "updateOnly": f("boolean"),
        "batch_size": f("number", 1001),
    },
    _update_user,
    'type = "identify"',
)
UPDATE_CART = ActionSpec(
    "updateCart",
    "Update Cart",
    {"user": _COMMERCE_USER, "items": _ITEMS},
    _update_cart,
    'type = "track" and event = "Cart Updated"',
)
TRACK_PURCHASE = ActionSpec(
    "trackPurchase",
    "Track Purchase",
    {
        "id": f("string", path("$.properties.order_id")),
        "user": _COMMERCE_USER,
        "dataFields": _EVENT_DATA,
        "items": _ITEMS,
        "total": f("number", path("$.properties.total"), required=True),
        "createdAt": _CREATED_AT,
        "campaignId": _CAMPAIGN_ID,
        "templateId": _TEMPLATE_ID,
    },
    _track_purchase,
    # trackPurchase/index.ts writes `event == "Order Completed"`, the same condition.
    'type = "track" and event = "Order Completed"',
)

PRESET = preset(
    slug="iterable",
    name="Iterable (Actions)",
    aliases=("Iterable (Actions)",),
    # index.ts presets of type "automatic", in order.
    actions=(
        TRACK_EVENT.action(
            'type = "track" and event != "Order Completed" and event != "Cart Updated"',
            "Track Calls",
        ),
        UPDATE_USER.action('type = "identify"', "Identify Calls"),
        UPDATE_CART.action('type = "track" and event = "Cart Updated"', "Update Cart Calls"),
        TRACK_PURCHASE.action(
            'type = "track" and event = "Order Completed"', "Order Completed Calls"
        ),
    ),
    settings={"apiKey": "segemu-iterable-api-key", "dataCenterLocation": "united_states"},
    sources=(
        "action-destinations packages/destination-actions/src/destinations/iterable/",
        "segment-docs src/connections/destinations/catalog/actions-iterable/index.md",
    ),
)

ACTIONS = catalog(PRESET.settings, TRACK_EVENT, UPDATE_USER, UPDATE_CART, TRACK_PURCHASE)
