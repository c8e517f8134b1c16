"""Facebook Conversions API (Actions): what graph.facebook.com receives.

Sources (segmentio/action-destinations, packages/destination-actions/src/destinations/
facebook-conversions-api):
- index.ts: settings pixelId and testEventCode; no quick-setup presets; Segment authenticates
  with its own system-user token (`authorization: Bearer ...`);
- purchase2/index.ts, pageView2/index.ts, addToCart2/index.ts, initiateCheckout2/index.ts,
  viewContent2/index.ts, search2/index.ts, custom2/index.ts: Purchase V2 (Order Completed), Page
  View V2 (page calls), Add to Cart V2 (Product Added), Initiate Checkout V2 (Checkout Started),
  View Content V2 (Product Viewed), Search V2 (Products Searched), each at its default
  subscription, and Custom Event V2; all in sync mode "add";
- shared/fields.ts: each action's fields with their default mappings (user_data from
  context.traits, context.ip and context.userAgent; contents from the products, or from the
  properties of a single-product event; value from revenue or price);
- shared/functions.ts: send (POST /v{version}/{pixelId}/events, `{data: [event]}` and the test
  event code), validate (a Purchase needs a currency; a currency must be an ISO 4217 code;
  contents need an id; "website" needs the user agent, except for a Custom Event),
  getBaseEventData, the get...EventData of each action, and getUserData, which cleans and
  SHA-256-hashes the user's email, phone, names, city, state, zip, country and external ids
  (lib/hashing-utils.ts: a value already hashed is kept), turning US state and country names
  into their two-letter codes first (shared/constants.ts US_STATE_CODES, COUNTRY_CODES, in
  facebook_codes.py);
- versioning-info.ts: the Graph API version.
Doc page: segment-docs src/connections/destinations/catalog/actions-facebook-conversions-api/
index.md.

Choices: `action_source` is required and has no default; segemu maps "website", what a web
store's workspace picks. Custom Event V2 has no default subscription: segemu subscribes it to
the track calls no other action takes, so every track reaches Facebook once. Identify calls
reach no action, as in Segment.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from segemu.destinations.base import Request
from segemu.destinations.presets._fields import ActionSpec, Field, catalog, either, f, path, preset
from segemu.destinations.presets._hashing import is_sha256, sha256
from segemu.destinations.presets._support import (
    MISSING,
    IntegrationError,
    PayloadValidationError,
    defined,
    request,
    truthy,
)
from segemu.destinations.presets.facebook_codes import COUNTRY_CODES, US_STATE_CODES
from segemu.destinations.presets.ga4_currencies import CURRENCY_CODES

API_VERSION = "24.0"


def _clean(value: Any) -> str | None:
    """functions.ts clean: no whitespace, lower case; None for nothing."""
    if not isinstance(value, str) or not value:
        return None
    return re.sub(r"\s", "", value).lower() or None


def _coded(value: Any, codes: Mapping[str, str]) -> str | None:
    cleaned = _clean(value)
    return codes.get(cleaned, cleaned) if cleaned else None


def _hash(value: str | None) -> str | None:
    return sha256(value) if value else None


def user_data(fields: Mapping[str, Any]) -> dict[str, Any]:
    """functions.ts getUserData: the user's data as Facebook wants it, hashed."""
    value = fields.get
    phone = value("phone")
    ph = None
    if isinstance(phone, str) and phone:
        ph = phone if is_sha256(phone) else _hash(re.sub(r"\D", "", phone))
    gender = value("gender")
    ge = None
    if isinstance(gender, str) and gender:
        short = {"male": "m", "m": "m", "female": "f", "f": "f"}
        ge = gender if is_sha256(gender) else _hash(short.get(re.sub(r"\s", "", gender).lower()))
    external_ids = [
        _hash(_clean(item)) for item in (value("externalId") or []) if _clean(item) is not None
    ]
    hashed = {
        "em": _hash(_clean(value("email"))),
        "ph": ph,
        "ge": ge,
        "db": _hash(_clean(value("dateOfBirth"))),
        "ln": _hash(_clean(value("lastName"))),
        "fn": _hash(_clean(value("firstName"))),
        "ct": _hash(_clean(value("city"))),
        # A US state or country name becomes its code before hashing; other values are
        # hashed as cleaned.
        "st": _hash(_coded(value("state"), US_STATE_CODES)),
        "zp": _hash(_clean(value("zip"))),
        "country": _hash(_coded(value("country"), COUNTRY_CODES)),
        "external_id": [item for item in external_ids if item] or None,
    }
    plain = {
        key: value(key)
        for key in ("client_ip_address", "client_user_agent", "fbc", "fbp", "partner_id")
    }
    return {key: item for key, item in {**hashed, **plain}.items() if truthy(item)}


# shared/constants.ts EventType: the events validate treats apart.
_PURCHASE, _PAGE_VIEW, _CUSTOM = "Purchase", "PageView", "Custom"
_DELIVERY_CATEGORIES = ("in_store", "curbside", "home_delivery")


def _validate(payload: Mapping[str, Any], event_type: str) -> None:
    """functions.ts validate."""
    if event_type not in (_CUSTOM, _PAGE_VIEW):
        currency = payload.get("currency")
        if event_type == _PURCHASE and not truthy(currency):
            raise PayloadValidationError("Must include a currency for Purchase events")
        if isinstance(currency, str) and currency and currency not in CURRENCY_CODES:
            raise IntegrationError(
                f"{currency} is not a valid currency code.", "INVALID_CURRENCY_CODE"
            )
        for index, item in enumerate(payload.get("contents") or []):
            if not truthy(item.get("id")):
                raise PayloadValidationError(f"contents[{index}] must include an 'id' parameter.")
            category = item.get("delivery_category")
            if truthy(category) and category not in _DELIVERY_CATEGORIES:
                raise PayloadValidationError(
                    f"contents[{index}].delivery_category must be one of "
                    "{in_store, home_delivery, curbside}."
                )
    if "user_data" not in payload:
        raise PayloadValidationError("Must include at least one user data property")
    if (
        event_type != _CUSTOM
        and payload["action_source"] == "website"
        and "client_user_agent" not in payload["user_data"]
    ):
        raise PayloadValidationError(
            'If action source is "Website" then client_user_agent must be defined'
        )


def _base(payload: Mapping[str, Any]) -> dict[str, Any]:
    """functions.ts getBaseEventData (app data and data processing options left out)."""
    return defined(
        {
            "event_time": payload["event_time"],
            "event_source_url": payload.get("event_source_url") or MISSING,
            "event_id": payload.get("event_id") or MISSING,
            "action_source": payload["action_source"],
            "user_data": user_data(payload["user_data"]),
        }
    )


def _send(
    title: str, data: dict[str, Any], payload: Mapping[str, Any], settings: Mapping[str, Any]
) -> list[Request]:
    code = payload.get("test_event_code") or settings.get("testEventCode")
    body = {"data": [data], **({"test_event_code": code} if code else {})}
    url = f"https://graph.facebook.com/v{API_VERSION}/{settings.get('pixelId', '')}/events"
    headers = {"authorization": f"Bearer {settings.get('systemUserToken', '')}"}
    return [request(title, "POST", url, body, headers)]


def _custom_data(payload: Mapping[str, Any], currency: bool = True) -> dict[str, Any]:
    base = dict(payload.get("custom_data") or {})
    if currency:
        # `currency: currency as string`: an unset currency is undefined, left out.
        base["currency"] = payload.get("currency", MISSING)
    return base


def _optional(payload: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    """The `...(x && {x})` spreads of the get...EventData functions: content_ids when a
    non-empty list, value and the counts when numbers, the others when truthy."""
    kept: dict[str, Any] = {}
    for key in keys:
        item = payload.get(key)
        if key == "content_ids":
            keep = isinstance(item, list) and len(item) > 0
        elif key in ("value", "net_revenue"):
            keep = isinstance(item, int | float) and not isinstance(item, bool)
        elif key == "num_items":
            keep = isinstance(item, int) and not isinstance(item, bool)
        else:
            keep = truthy(item)
        if keep:
            kept[key] = item
    return kept


def _event(
    title: str,
    event_type: str,
    name: str,
    custom: dict[str, Any] | None,
    payload: Mapping[str, Any],
    settings: Mapping[str, Any],
) -> list[Request]:
    _validate(payload, event_type)
    data = {"event_name": name, **_base(payload)}
    if custom is not None:
        data["custom_data"] = defined(custom)
    return _send(title, data, payload, settings)


def _purchase(payload: dict[str, Any], settings: Mapping[str, Any]) -> list[Request]:
    custom = {
        **_custom_data(payload),
        "value": payload.get("value", MISSING),
        **_optional(
            payload,
            "net_revenue",
            "content_ids",
            "content_name",
            "content_type",
            "contents",
            "num_items",
        ),
    }
    return _event("Purchase V2", _PURCHASE, "Purchase", custom, payload, settings)


def _page_view(payload: dict[str, Any], settings: Mapping[str, Any]) -> list[Request]:
    return _event("Page View V2", _PAGE_VIEW, "PageView", None, payload, settings)


def _add_to_cart(payload: dict[str, Any], settings: Mapping[str, Any]) -> list[Request]:
    custom = {
        **_custom_data(payload),
        **_optional(payload, "value", "content_ids", "content_name", "content_type", "contents"),
    }
    return _event("Add to Cart V2", "AddToCart", "AddToCart", custom, payload, settings)


def _initiate_checkout(payload: dict[str, Any], settings: Mapping[str, Any]) -> list[Request]:
    custom = {
        **_custom_data(payload),
        **_optional(payload, "value", "content_ids", "contents", "num_items", "content_category"),
    }
    return _event(
        "Initiate Checkout V2", "InitiateCheckout", "InitiateCheckout", custom, payload, settings
    )


def _view_content(payload: dict[str, Any], settings: Mapping[str, Any]) -> list[Request]:
    custom = {
        **_custom_data(payload),
        "value": payload.get("value", MISSING),
        **_optional(
            payload, "content_ids", "content_name", "content_type", "contents", "content_category"
        ),
    }
    return _event("View Content V2", "ViewContent", "ViewContent", custom, payload, settings)


def _search(payload: dict[str, Any], settings: Mapping[str, Any]) -> list[Request]:
    custom = {
        **_custom_data(payload),
        "value": payload.get("value", MISSING),
        **_optional(payload, "content_ids", "contents", "content_category", "search_string"),
    }
    return _event("Search V2", "Search", "Search", custom, payload, settings)


def _custom(payload: dict[str, Any], settings: Mapping[str, Any]) -> list[Request]:
    custom = _custom_data(payload, currency=False)
    return _event("Custom Event V2", _CUSTOM, payload["event_name"], custom, payload, settings)


_USER_DATA = Field(
    "object",
    {
        "externalId": either("$.userId", "$.anonymousId"),
        "email": path("$.context.traits.email"),
        "phone": path("$.context.traits.phone"),
        "dateOfBirth": path("$.context.traits.birthday"),
        "lastName": path("$.context.traits.lastName"),
        "firstName": path("$.context.traits.firstName"),
        "city": path("$.context.traits.address.city"),
        "state": path("$.context.traits.address.state"),
        "zip": path("$.context.traits.address.postalCode"),
        "client_ip_address": path("$.context.ip"),
        "client_user_agent": path("$.context.userAgent"),
        "fbc": path("$.properties.fbc"),
        "fbp": path("$.properties.fbp"),
    },
    required=True,
    properties={
        "externalId": f("string", multiple=True),
        **{
            key: f("string")
            for key in (
                "email",
                "phone",
                "gender",
                "dateOfBirth",
                "lastName",
                "firstName",
                "city",
                "state",
                "zip",
                "country",
                "client_ip_address",
                "client_user_agent",
                "fbc",
                "fbp",
                "partner_id",
            )
        },
    },
)
_ACTION_SOURCE = f(
    "string",
    required=True,
    choices=(
        "email",
        "website",
        "app",
        "phone_call",
        "chat",
        "physical_store",
        "system_generated",
        "other",
    ),
)
_COMMON = {
    "action_source": _ACTION_SOURCE,
    "event_time": f("string", path("$.timestamp"), required=True),
    "user_data": _USER_DATA,
    "event_id": f("string", path("$.messageId")),
    "event_source_url": f("string", path("$.context.page.url")),
    "custom_data": f("object"),
    "test_event_code": f("string"),
}

_CONTENT = {
    "id": f("string"),
    "quantity": f("integer"),
    "item_price": f("number"),
    "delivery_category": f("string"),
}


def _contents(at: str) -> Field:
    """shared/fields.ts contents, from the products of an order or checkout, or from the
    properties of a single-product event."""
    item = {
        "id": path("$.product_id"),
        "quantity": path("$.quantity"),
        "item_price": path("$.price"),
    }
    return Field("object", {"@arrayPath": [at, item]}, multiple=True, properties=_CONTENT)


_CURRENCY = f("string", path("$.properties.currency"))
_CONTENT_IDS = f("string", multiple=True)

PURCHASE = ActionSpec(
    "purchase2",
    "Purchase V2",
    {
        **_COMMON,
        "currency": f("string", path("$.properties.currency"), required=True),
        "value": f("number", path("$.properties.revenue"), required=True),
        "net_revenue": f("number"),
        "content_ids": _CONTENT_IDS,
        "content_name": f("string"),
        "content_type": f("string"),
        "contents": _contents("$.properties.products"),
        "num_items": f("integer"),
    },
    _purchase,
    'type = "track" and event = "Order Completed"',
)
PAGE_VIEW = ActionSpec("pageView2", "Page View V2", _COMMON, _page_view, 'type = "page"')
ADD_TO_CART = ActionSpec(
    "addToCart2",
    "Add to Cart V2",
    {
        **_COMMON,
        "content_ids": _CONTENT_IDS,
        "content_name": f("string"),
        "content_type": f("string"),
        "contents": _contents("$.properties"),
        "currency": _CURRENCY,
        "value": f("number", path("$.properties.price")),
    },
    _add_to_cart,
    'type = "track" and event = "Product Added"',
)
INITIATE_CHECKOUT = ActionSpec(
    "initiateCheckout2",
    "Initiate Checkout V2",
    {
        **_COMMON,
        "content_category": f("string"),
        "content_ids": _CONTENT_IDS,
        "contents": _contents("$.properties.products"),
        "currency": _CURRENCY,
        "num_items": f("integer"),
        "value": f("number", path("$.properties.revenue")),
    },
    _initiate_checkout,
    'type = "track" and event = "Checkout Started"',
)
VIEW_CONTENT = ActionSpec(
    "viewContent2",
    "View Content V2",
    {
        **_COMMON,
        "content_category": f("string"),
        "content_ids": f("string", path("$.properties.product_id"), multiple=True),
        "content_name": f("string"),
        "content_type": f("string"),
        "contents": _contents("$.properties"),
        "currency": _CURRENCY,
        "value": f("number", path("$.properties.price")),
    },
    _view_content,
    'type = "track" and event = "Product Viewed"',
)
SEARCH = ActionSpec(
    "search2",
    "Search V2",
    {
        **_COMMON,
        "content_category": f("string"),
        "content_ids": _CONTENT_IDS,
        "contents": _contents("$.properties"),
        "currency": _CURRENCY,
        "search_string": f("string", path("$.properties.query")),
        "value": f("number"),
    },
    _search,
    'type = "track" and event = "Products Searched"',
)
# custom2/index.ts has no default subscription: segemu's choice (module notes), every track the
# other actions leave.
CUSTOM_SUBSCRIPTION = (
    'type = "track" and event != "Order Completed" and event != "Product Added" and '
    'event != "Checkout Started" and event != "Product Viewed" and event != "Products Searched"'
)
CUSTOM = ActionSpec(
    "custom2",
    "Custom Event V2",
    {**_COMMON, "event_name": f("string", path("$.event"), required=True)},
    _custom,
    CUSTOM_SUBSCRIPTION,
)

_SPECS = (PURCHASE, PAGE_VIEW, ADD_TO_CART, INITIATE_CHECKOUT, VIEW_CONTENT, SEARCH, CUSTOM)
_WEBSITE = {"action_source": "website"}

PRESET = preset(
    slug="facebook-conversions",
    name="Facebook Conversions API (Actions)",
    aliases=("Facebook Conversions API (Actions)",),
    actions=tuple(spec.action(mapping=_WEBSITE) for spec in _SPECS),
    settings={
        "pixelId": "123456789012345",
        "systemUserToken": "segemu-facebook-system-user-token",
    },
    sources=(
        "action-destinations packages/destination-actions/src/destinations/"
        "facebook-conversions-api/",
        "segment-docs src/connections/destinations/catalog/"
        "actions-facebook-conversions-api/index.md",
    ),
)

ACTIONS = catalog(PRESET.settings, *_SPECS)
