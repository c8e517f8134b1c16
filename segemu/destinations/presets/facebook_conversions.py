"""Facebook Conversions API (Actions): what graph.facebook.com receives.

Sources (segmentio/action-destinations, packages/destination-actions/src/destinations/
facebook-conversions-api):
- index.ts: settings pixelId and testEventCode; no quick-setup presets; Segment authenticates
  with its own system-user token (`authorization: Bearer ...`);
- purchase2/index.ts, pageView2/index.ts: Purchase V2 (track "Order Completed") and Page View V2
  (page calls), each at its default subscription and sync mode "add";
- shared/fields.ts: purchaseFields and pageFields with their default mappings (user_data from
  context.traits, context.ip and context.userAgent; contents from the products);
- shared/functions.ts: send (POST /v{version}/{pixelId}/events, `{data: [event]}` and the test
  event code), validate (a Purchase needs a currency; an ISO 4217 code; "website" needs the
  user agent), getBaseEventData, getPurchaseEventData, getPageViewEventData, and getUserData,
  which cleans and SHA-256-hashes the user's email, phone, names, city, state, zip, country
  and external ids (lib/hashing-utils.ts: a value already hashed is kept);
- versioning-info.ts: the Graph API version.
Doc page: segment-docs src/connections/destinations/catalog/actions-facebook-conversions-api/
index.md.

Choices: `action_source` is required and has no default; segemu maps "website", what a web
store's workspace picks. The other V2 actions (Add to Cart, Initiate Checkout, View Content,
Search, Custom Event) are not modeled yet, so identify calls and other tracks reach no action.
State and country names are cleaned and hashed as given; Segment first turns US state and
country names into their codes (shared/constants.ts), which segemu does not.
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
from segemu.destinations.presets.ga4_currencies import CURRENCY_CODES

API_VERSION = "24.0"


def _clean(value: Any) -> str | None:
    """functions.ts clean: no whitespace, lower case; None for nothing."""
    if not isinstance(value, str) or not value:
        return None
    return re.sub(r"\s", "", value).lower() or None


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
        "st": _hash(_clean(value("state"))),
        "zp": _hash(_clean(value("zip"))),
        "country": _hash(_clean(value("country"))),
        "external_id": [item for item in external_ids if item] or None,
    }
    plain = {
        key: value(key)
        for key in ("client_ip_address", "client_user_agent", "fbc", "fbp", "partner_id")
    }
    return {key: item for key, item in {**hashed, **plain}.items() if truthy(item)}


def _validate(payload: Mapping[str, Any], purchase: bool) -> None:
    if purchase:
        currency = payload.get("currency")
        if not truthy(currency):
            raise PayloadValidationError("Must include a currency for Purchase events")
        if isinstance(currency, str) and currency not in CURRENCY_CODES:
            raise IntegrationError(
                f"{currency} is not a valid currency code.", "INVALID_CURRENCY_CODE"
            )
        for index, item in enumerate(payload.get("contents") or []):
            if not truthy(item.get("id")):
                raise PayloadValidationError(f"contents[{index}] must include an 'id' parameter.")
    if "user_data" not in payload:
        raise PayloadValidationError("Must include at least one user data property")
    if payload["action_source"] == "website" and "client_user_agent" not in payload["user_data"]:
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


def _purchase(payload: dict[str, Any], settings: Mapping[str, Any]) -> list[Request]:
    _validate(payload, purchase=True)
    custom = {
        **(payload.get("custom_data") or {}),
        "currency": payload["currency"],
        "value": payload["value"],
    }
    if isinstance(payload.get("net_revenue"), int | float):
        custom["net_revenue"] = payload["net_revenue"]
    for key in ("content_ids", "content_name", "content_type", "contents"):
        if truthy(payload.get(key)) and payload[key] != []:
            custom[key] = payload[key]
    if isinstance(payload.get("num_items"), int):
        custom["num_items"] = payload["num_items"]
    data = {"event_name": "Purchase", **_base(payload), "custom_data": custom}
    return _send("Purchase V2", data, payload, settings)


def _page_view(payload: dict[str, Any], settings: Mapping[str, Any]) -> list[Request]:
    _validate(payload, purchase=False)
    return _send("Page View V2", {"event_name": "PageView", **_base(payload)}, payload, settings)


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

PURCHASE = ActionSpec(
    "purchase2",
    "Purchase V2",
    {
        **_COMMON,
        "currency": f("string", path("$.properties.currency"), required=True),
        "value": f("number", path("$.properties.revenue"), required=True),
        "net_revenue": f("number"),
        "content_ids": f("string", multiple=True),
        "content_name": f("string"),
        "content_type": f("string"),
        "contents": Field(
            "object",
            {
                "@arrayPath": [
                    "$.properties.products",
                    {
                        "id": path("$.product_id"),
                        "quantity": path("$.quantity"),
                        "item_price": path("$.price"),
                    },
                ]
            },
            multiple=True,
            properties={
                "id": f("string"),
                "quantity": f("integer"),
                "item_price": f("number"),
                "delivery_category": f("string"),
            },
        ),
        "num_items": f("integer"),
    },
    _purchase,
    'type = "track" and event = "Order Completed"',
)
PAGE_VIEW = ActionSpec("pageView2", "Page View V2", _COMMON, _page_view, 'type = "page"')

_WEBSITE = {"action_source": "website"}

PRESET = preset(
    slug="facebook-conversions",
    name="Facebook Conversions API (Actions)",
    aliases=("Facebook Conversions API (Actions)",),
    actions=(PURCHASE.action(mapping=_WEBSITE), PAGE_VIEW.action(mapping=_WEBSITE)),
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

ACTIONS = catalog(PRESET.settings, PURCHASE, PAGE_VIEW)
