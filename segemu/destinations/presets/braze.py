"""Braze Cloud Mode (Actions): what Braze's /users/track endpoint receives for each Segment call.

Sources (segmentio/action-destinations, packages/destination-actions/src/destinations/braze):
- index.ts: the quick-setup presets (Track Calls, the e-commerce (beta) mappings, Identify
  Calls), the settings (api_key as a Bearer token, app_id, REST endpoint);
- trackEvent/index.ts, updateUserProfile/index.ts, trackPurchase/index.ts: fields and defaults;
- utils.ts: sendTrackEvent, updateUserProfile (custom attributes, gender codes, dates), and
  sendTrackPurchase (one purchase per product); userAlias.ts.
The presets of type "specificEvent" (warehouse entities, audiences, journeys) answer events
Segment itself generates, so they are left out.
Doc page: segment-docs src/connections/destinations/catalog/actions-braze-cloud/index.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from segemu.destinations.base import Request
from segemu.destinations.presets import braze_ecommerce as ecommerce
from segemu.destinations.presets._fields import ActionSpec, Field, catalog, either, f, path, preset
from segemu.destinations.presets._support import (
    MISSING,
    IntegrationError,
    PayloadValidationError,
    defined,
    iso_string,
    omit,
    parse_date,
    request,
    truthy,
)

_ALIAS = f("object", properties={"alias_name": f("string"), "alias_label": f("string")})
_BATCHING: dict[str, Field] = {
    "_update_existing_only": f("boolean", False),
    "enable_batching": f("boolean", True),
    "batch_size": f("number", 75),
}
# constants.ts MAX_BATCH_SIZE: purchases (one per product) in one request.
_MAX_BATCH_SIZE = 75
_GENDERS = {
    "M": ("man", "male", "m"),
    "F": ("woman", "female", "w", "f"),
    "O": ("other", "o"),
    "N": ("not applicable", "n"),
    "P": ("prefer not to say", "p"),
}


def _alias(value: Any) -> Any:
    # userAlias.ts: an alias counts only with both its name and its label.
    if isinstance(value, dict) and value.get("alias_label") and value.get("alias_name"):
        return {"alias_label": value["alias_label"], "alias_name": value["alias_name"]}
    return MISSING


def _identified(payload: dict[str, Any]) -> None:
    if (
        not any(truthy(payload.get(key)) for key in ("braze_id", "external_id", "email"))
        and _alias(payload.get("user_alias")) is MISSING
    ):
        raise IntegrationError(
            'One of "external_id" or "user_alias" or "braze_id" or "email" is required.',
            "Missing required fields",
        )


def _iso(value: Any) -> Any:
    """utils.ts toISO8601: null and undefined pass through; an unreadable date is dropped."""
    if value is None or value is MISSING:
        return value
    moment = parse_date(value)
    return iso_string(moment) if moment else MISSING


def _users_track(
    title: str, body: dict[str, Any], settings: Mapping[str, Any], batch: bool = False
) -> list[Request]:
    headers = {"Authorization": f"Bearer {settings.get('api_key', '')}"}
    if batch:
        headers["X-Braze-Batch"] = "true"
    return [request(title, "POST", f"{settings.get('endpoint')}/users/track", body, headers)]


def _track_event(payload: dict[str, Any], settings: Mapping[str, Any]) -> list[Request]:
    _identified(payload)
    event = defined(
        {
            **{key: payload.get(key, MISSING) for key in ("braze_id", "external_id", "email")},
            "user_alias": _alias(payload.get("user_alias")),
            "app_id": settings.get("app_id", MISSING),
            "name": payload["name"],
            "time": _iso(payload["time"]),
            "properties": payload.get("properties", MISSING),
            "_update_existing_only": payload.get("_update_existing_only", MISSING),
        }
    )
    return _users_track("Track Event", {"events": [event]}, settings)


def _gender(value: Any) -> Any:
    if not isinstance(value, str) or not value:
        return value
    return next((code for code, words in _GENDERS.items() if value.lower() in words), value)


def _update_user_profile(payload: dict[str, Any], settings: Mapping[str, Any]) -> list[Request]:
    _identified(payload)
    # Custom attributes lose every key that is a field of the action (and firstName, lastName,
    # avatar), so a mapped field is never contradicted by a trait of the same name.
    custom = omit(
        payload.get("custom_attributes"),
        (*UPDATE_USER_PROFILE.fields, "firstName", "lastName", "avatar"),
    )
    # utils.ts removeEmpty: an empty location is left out, null is sent as null.
    location = payload.get("current_location", MISSING)
    if isinstance(location, dict) and not location:
        location = MISSING
    value = payload.get
    groups = value("subscription_groups")
    attributes = defined(
        {
            **custom,
            "braze_id": value("braze_id", MISSING),
            "external_id": value("external_id", MISSING),
            "user_alias": _alias(value("user_alias")),
            "country": value("country", MISSING),
            "current_location": location,
            "date_of_first_session": _iso(value("date_of_first_session", MISSING)),
            "date_of_last_session": _iso(value("date_of_last_session", MISSING)),
            "dob": _date_only(value("dob", MISSING)),
            **{
                key: value(key, MISSING)
                for key in (
                    "email",
                    "email_subscribe",
                    "email_open_tracking_disabled",
                    "email_click_tracking_disabled",
                    "facebook",
                    "first_name",
                )
            },
            "gender": _gender(value("gender", MISSING)),
            **{
                key: value(key, MISSING)
                for key in ("home_city", "image_url", "language", "last_name")
            },
            "marked_email_as_spam_at": _iso(value("marked_email_as_spam_at", MISSING)),
            **{
                key: value(key, MISSING)
                for key in ("phone", "push_subscribe", "push_tokens", "time_zone", "twitter")
            },
            **({"subscription_groups": groups} if isinstance(groups, list) and groups else {}),
            "_update_existing_only": value("_update_existing_only", MISSING),
        }
    )
    return _users_track("Update User Profile", {"attributes": [attributes]}, settings)


def _date_only(value: Any) -> Any:
    if value is None or value is MISSING:
        return value
    moment = parse_date(value)
    return moment.strftime("%Y-%m-%d") if moment else MISSING


def _track_purchase(payload: dict[str, Any], settings: Mapping[str, Any]) -> list[Request]:
    _identified(payload)
    products = payload["products"]
    if not products:
        # utils.ts: sendTrackPurchase sends nothing; sendBatchedTrackPurchase, which Segment
        # uses while batching is on (the default), reports the event as not sent.
        if payload.get("enable_batching"):
            raise PayloadValidationError(
                "This event was not sent to Braze because it did not contain any products."
            )
        return []
    if payload.get("enable_batching") and len(products) > _MAX_BATCH_SIZE:
        raise PayloadValidationError(
            f"Max batch size exceeded. This payload contains {len(products)} products, which "
            f"is more than Braze's maximum batch size of {_MAX_BATCH_SIZE} objects per batch.",
            "PAYLOAD_TOO_LARGE",
            413,
        )
    base = defined(
        {
            **{key: payload.get(key, MISSING) for key in ("braze_id", "external_id", "email")},
            "user_alias": _alias(payload.get("user_alias")),
            "app_id": settings.get("app_id", MISSING),
            "time": _iso(payload["time"]),
            "_update_existing_only": payload.get("_update_existing_only", MISSING),
        }
    )
    event_properties = omit(payload.get("properties"), ("products",))
    purchases = [
        defined(
            {
                **base,
                "product_id": product["product_id"],
                "currency": product.get("currency")
                if product.get("currency") is not None
                else "USD",
                "price": product["price"],
                "quantity": product.get("quantity", MISSING),
                "properties": {
                    **omit(product, ("product_id", "currency", "price", "quantity")),
                    **event_properties,
                },
            }
        )
        for product in products
    ]
    return _users_track(
        "Track Purchase", {"purchases": purchases}, settings, batch=len(products) > 1
    )


TRACK_EVENT = ActionSpec(
    "trackEvent",
    "Track Event",
    {
        "external_id": f("string", path("$.userId")),
        "user_alias": _ALIAS,
        "email": f("string", either("$.context.traits.email", "$.properties.email")),
        "braze_id": f("string", path("$.properties.braze_id"), allow_null=True),
        "name": f("string", path("$.event"), required=True),
        "time": f("datetime", path("$.receivedAt"), required=True),
        "properties": f("object", path("$.properties")),
        **_BATCHING,
    },
    _track_event,
    'type = "track" and event != "Order Completed"',
)

_NULLABLE_DATE = f("datetime", allow_null=True)
UPDATE_USER_PROFILE = ActionSpec(
    "updateUserProfile",
    "Update User Profile",
    {
        "external_id": f("string", path("$.userId")),
        "user_alias": _ALIAS,
        "braze_id": f("string", path("$.properties.braze_id"), allow_null=True),
        "country": f("string", path("$.context.location.country"), allow_null=True),
        "current_location": f(
            "object",
            {
                "latitude": path("$.context.location.latitude"),
                "longitude": path("$.context.location.longitude"),
            },
            allow_null=True,
            properties={"latitude": f("number"), "longitude": f("number")},
        ),
        "date_of_first_session": _NULLABLE_DATE,
        "date_of_last_session": _NULLABLE_DATE,
        "dob": _NULLABLE_DATE,
        "email": f("string", path("$.traits.email"), allow_null=True),
        "email_subscribe": f("string"),
        "email_open_tracking_disabled": f("boolean"),
        "email_click_tracking_disabled": f("boolean"),
        "facebook": f(
            "object",
            properties={
                "id": f("string"),
                "likes": f("string", multiple=True),
                "num_friends": f("integer"),
            },
        ),
        "first_name": f("string", path("$.traits.firstName"), allow_null=True),
        "gender": f("string", path("$.traits.gender"), allow_null=True),
        "home_city": f("string", path("$.traits.address.city"), allow_null=True),
        "image_url": f("string", path("$.traits.avatar"), allow_null=True, format="uri"),
        "language": f("string", allow_null=True),
        "last_name": f("string", path("$.traits.lastName")),
        "marked_email_as_spam_at": _NULLABLE_DATE,
        "phone": f("string", path("$.traits.phone"), allow_null=True),
        "push_subscribe": f("string"),
        "push_tokens": f(
            "object",
            multiple=True,
            properties={
                "app_id": f("string", required=True),
                "token": f("string", required=True),
                "device_id": f("string"),
            },
        ),
        "time_zone": f("string"),
        "twitter": f(
            "object",
            properties={
                "id": f("string"),
                "screen_name": f("string"),
                **{
                    key: f("integer")
                    for key in ("followers_count", "friends_count", "statuses_count")
                },
            },
        ),
        "subscription_groups": f(
            "object",
            multiple=True,
            properties={
                "subscription_group_id": f("string", required=True),
                "subscription_state": f(
                    "string", required=True, choices=("subscribed", "unsubscribed")
                ),
            },
        ),
        "custom_attributes": f("object", path("$.traits")),
        **_BATCHING,
    },
    _update_user_profile,
    'type = "identify"',
)

TRACK_PURCHASE = ActionSpec(
    "trackPurchase",
    "Track Purchase",
    {
        "external_id": f("string", path("$.userId")),
        "user_alias": _ALIAS,
        "email": f("string", path("$.traits.email")),
        "braze_id": f("string", path("$.properties.braze_id"), allow_null=True),
        "time": f("datetime", path("$.receivedAt"), required=True),
        "products": f(
            "object",
            path("$.properties.products"),
            multiple=True,
            required=True,
            additional_properties=True,
            properties={
                "product_id": f("string", required=True),
                "currency": f("string"),
                "price": f("number", required=True),
                "quantity": f("integer"),
            },
        ),
        "properties": f("object", path("$.properties")),
        **_BATCHING,
    },
    _track_purchase,
    'event = "Order Completed"',
)


def _cart_item(action: str) -> dict[str, Any]:
    # index.ts Product Added/Removed (beta): the event's own properties are the one product.
    return {
        "name": ecommerce.CART_UPDATED,
        "action": action,
        "products": [
            {
                "product_id": path("$.properties.product_id"),
                "product_name": path("$.properties.name"),
                "variant_id": path("$.properties.variant"),
                "image_url": path("$.properties.image_url"),
                "product_url": path("$.properties.url"),
                "quantity": path("$.properties.quantity"),
                "price": path("$.properties.price"),
            }
        ],
    }


def _order(name: str, url: str) -> dict[str, Any]:
    return {"name": name, "metadata": {url: path(f"$.properties.{url}")}}


_BETA_EVENTS = (
    "Order Completed",
    "Checkout Started",
    "Order Refunded",
    "Order Cancelled",
    "Product Viewed",
    "Product Added",
    "Product Removed",
)

PRESET = preset(
    slug="braze",
    name="Braze Cloud Mode (Actions)",
    # segment-docs src/_data/catalog/destinations.yml previous_names.
    aliases=("Braze Cloud Mode (Actions)",),
    # index.ts presets of type "automatic", in order, named as the workspace names them.
    actions=(
        TRACK_EVENT.action(
            'type = "track"' + "".join(f' and event != "{event}"' for event in _BETA_EVENTS),
            "Track Calls",
        ),
        ecommerce.ECOMMERCE.action(
            'event = "Order Completed"',
            "Order Placed (beta)",
            _order(ecommerce.ORDER_PLACED, "order_status_url"),
        ),
        ecommerce.ECOMMERCE.action(
            'event = "Checkout Started"',
            "Checkout Started (beta)",
            _order(ecommerce.CHECKOUT_STARTED, "checkout_url"),
        ),
        ecommerce.ECOMMERCE.action(
            'event = "Order Refunded"',
            "Order Refunded (beta)",
            _order(ecommerce.ORDER_REFUNDED, "order_status_url"),
        ),
        ecommerce.ECOMMERCE.action(
            'event = "Order Cancelled"',
            "Order Cancelled (beta)",
            _order(ecommerce.ORDER_CANCELLED, "order_status_url"),
        ),
        ecommerce.ECOMMERCE_SINGLE_PRODUCT.action(
            'event = "Product Viewed"', "Product Viewed (beta)", {"name": ecommerce.PRODUCT_VIEWED}
        ),
        ecommerce.ECOMMERCE.action(
            'event = "Product Added"', "Product Added (beta)", _cart_item("add")
        ),
        ecommerce.ECOMMERCE.action(
            'event = "Product Removed"', "Product Removed (beta)", _cart_item("remove")
        ),
        UPDATE_USER_PROFILE.action('type = "identify"', "Identify Calls"),
    ),
    settings={"api_key": "segemu-braze-api-key", "endpoint": "https://rest.iad-01.braze.com"},
    sources=(
        "action-destinations packages/destination-actions/src/destinations/braze/",
        "segment-docs src/connections/destinations/catalog/actions-braze-cloud/index.md",
    ),
)

# The e-commerce actions have no default subscription (their presets give one).
ACTIONS = catalog(PRESET.settings, TRACK_EVENT, UPDATE_USER_PROFILE, TRACK_PURCHASE)
