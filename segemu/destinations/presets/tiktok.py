"""TikTok Conversions: what TikTok's Events API (business-api.tiktok.com) receives.

Sources (segmentio/action-destinations, packages/destination-actions/src/destinations/
tiktok-conversions):
- index.ts: settings accessToken (the `Access-Token` header) and pixelCode; the quick-setup
  presets, one Report Web Event mapping per spec event (Order Completed -> CompletePayment,
  page -> PageView, Product Viewed -> ViewContent, Signed Up -> CompleteRegistration...), with
  the products (or the product in properties) as `contents`;
- reportWebEvent/index.ts and fields/common_fields.ts, crm_fields.ts, travel_fields.ts,
  vehicle_fields.ts: the fields and their default mappings;
- reportWebEvent/utils.ts: send (POST /open_api/v1.3/event/track/ with event_source "web",
  event_source_id = the pixel code, partner_name "Segment", and one event: its time in unix
  seconds, the user, properties, page and limited_data_use), getUser (ttclid from the page
  URL first), getProps, getTravelProps, getAutoProps;
- reportWebEvent/formatter.ts: emails and external ids lower-cased then SHA-256-hashed; phones
  reduced to `+` and digits (15 characters at most) then hashed; names hashed without spaces;
  city, state and country reduced to lower-case letters and digits, in clear; an empty value is
  "" (lib/hashing-utils.ts processHashing: a digest is kept);
- versioning-info.ts: API v1.3.
Doc page: segment-docs src/connections/destinations/catalog/actions-tiktok-conversions/index.md.

The presets' subscriptions are the definition's own (`event = "..."`, without a type, and
`type="page"`); they parse as they are in segemu's FQL.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from segemu.destinations.base import Action, Request
from segemu.destinations.presets._fields import (
    ActionSpec,
    Field,
    FieldType,
    catalog,
    either,
    f,
    path,
    preset,
)
from segemu.destinations.presets._hashing import process_hashing
from segemu.destinations.presets._support import (
    MISSING,
    defined,
    epoch_ms,
    parse_date,
    request,
)

API_VERSION = "v1.3"
_TRAVEL, _VEHICLE, _WEB, _CRM = "travel_fields", "vehicle_fields", "web", "crm"


def _hash_lower(values: Any) -> list[str]:
    return [process_hashing(value.lower()) for value in values or [] if isinstance(value, str)]


def _clean_phone(phone: str) -> str:
    return ("+" + re.sub(r"[^0-9]", "", phone))[:15]


def _hashed_phones(values: Any) -> list[str]:
    return [
        process_hashing(value, _clean_phone) for value in values or [] if isinstance(value, str)
    ]


def format_string(value: Any) -> str:
    """formatter.ts formatString: no whitespace, lower case, hashed; "" for nothing."""
    if not value or not isinstance(value, str):
        return ""
    return process_hashing(re.sub(r"\s", "", value).lower())


def format_address(value: Any) -> str:
    """formatter.ts formatAddress: letters and digits only, lower case, not hashed."""
    if not value or not isinstance(value, str):
        return ""
    return re.sub(r"[^A-Za-z0-9]", "", value).lower()


def _url_ttclid(url: Any) -> str | None:
    if not isinstance(url, str) or not url:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if not parts.scheme:  # new URL() throws on a relative URL
        return None
    found = parse_qs(parts.query, keep_blank_values=True).get("ttclid")
    return found[0] if found else None


def _user(payload: Mapping[str, Any]) -> dict[str, Any]:
    """utils.ts getUser."""
    address = payload.get("address") or {}
    ttclid, in_url = payload.get("ttclid"), _url_ttclid(payload.get("url"))
    optional = {
        "ttclid": (in_url if in_url is not None else ttclid) if (ttclid or in_url) else MISSING,
        **{key: payload.get(key) or MISSING for key in ("ttp", "ip", "user_agent", "locale")},
    }
    return defined(
        {
            "external_id": _hash_lower(payload.get("external_id")),
            "phone": _hashed_phones(payload.get("phone_number")),
            "email": _hash_lower(payload.get("email")),
            "first_name": format_string(payload.get("first_name")),
            "last_name": format_string(payload.get("last_name")),
            "city": format_address(address.get("city")),
            "state": format_address(address.get("state")),
            "country": format_address(address.get("country")),
            "zip_code": format_string(address.get("zip_code")),
            **optional,
        }
    )


_CONTENT_KEYS = ("price", "quantity", "content_category", "content_id", "content_name", "brand")
_PROPERTY_KEYS = (
    "content_type",
    "currency",
    "value",
    "query",
    "description",
    "order_id",
    "shop_id",
    "content_ids",
    "delivery_category",
    "num_items",
    "predicted_ltv",
    "search_string",
)


def _properties(payload: Mapping[str, Any]) -> dict[str, Any]:
    """utils.ts getProps, then the travel or vehicle properties of a web event."""
    contents = [
        {key: item[key] for key in _CONTENT_KEYS if item.get(key) is not None}
        for item in payload.get("contents") or []
    ]
    properties = {
        "contents": contents,
        **{key: payload[key] for key in _PROPERTY_KEYS if key in payload},
    }
    source = payload.get("event_source", _WEB)
    if payload.get("event_spec_type") == _TRAVEL and source == _WEB:
        properties.update(payload.get("travel_fields") or {})
    if payload.get("event_spec_type") == _VEHICLE and source == _WEB:
        properties.update(_auto(payload.get("vehicle_fields") or {}))
    return properties


def _auto(fields: Mapping[str, Any]) -> dict[str, Any]:
    """utils.ts getAutoProps: mileage and the price range are assembled."""
    assembled = (
        "mileage_unit",
        "mileage_value",
        "preferred_price_range_min",
        "preferred_price_range_max",
    )
    auto = {key: value for key, value in fields.items() if key not in assembled}
    if "mileage_unit" in fields and _is_number(fields.get("mileage_value")):
        auto["mileage"] = {"unit": fields["mileage_unit"], "value": fields["mileage_value"]}
    low, high = fields.get("preferred_price_range_min"), fields.get("preferred_price_range_max")
    if _is_number(low) and _is_number(high):
        auto["preferred_price_range"] = [low, high]
    return auto


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _event_time(payload: Mapping[str, Any]) -> int | None:
    """Math.floor(new Date(timestamp).getTime() / 1000): null (NaN) for a date it cannot read;
    the current time without a timestamp."""
    if not payload.get("timestamp"):
        return math.floor(datetime.now(UTC).timestamp())
    moment = parse_date(payload["timestamp"])
    return None if moment is None else epoch_ms(moment) // 1000


def _report_web_event(payload: dict[str, Any], settings: Mapping[str, Any]) -> list[Request]:
    """utils.ts send."""
    source = payload.get("event_source", _WEB)
    url, referrer = payload.get("url"), payload.get("referrer")
    lead = payload.get("lead_fields") or {}
    event = defined(
        {
            "event": payload["event"],
            "event_time": _event_time(payload),
            "event_id": str(payload["event_id"]) if payload.get("event_id") else MISSING,
            "user": _user(payload),
            "properties": _properties(payload),
            **(
                {
                    "page": {
                        **({"url": url} if url else {}),
                        **({"referrer": referrer} if referrer else {}),
                    }
                }
                if url or referrer
                else {}
            ),
            **(
                {
                    "lead": {
                        "lead_id": lead["lead_id"],
                        **(
                            {"lead_event_source": lead["lead_event_source"]}
                            if lead.get("lead_event_source")
                            else {}
                        ),
                    }
                }
                if source == _CRM and isinstance(lead.get("lead_id"), str)
                else {}
            ),
            "limited_data_use": payload.get("limited_data_use")
            if isinstance(payload.get("limited_data_use"), bool)
            else False,
        }
    )
    body = defined(
        {
            "event_source": source or _WEB,
            "event_source_id": settings.get("pixelCode", ""),
            "partner_name": "Segment",
            "test_event_code": payload.get("test_event_code") or MISSING,
            "data": [event],
        }
    )
    url_ = f"https://business-api.tiktok.com/open_api/{API_VERSION}/event/track/"
    headers = {"Access-Token": str(settings.get("accessToken", ""))}
    return [request("Report Web Event", "POST", url_, body, headers)]


def _properties_of(
    kinds: Mapping[str, FieldType], multiple: tuple[str, ...] = ()
) -> dict[str, Field]:
    return {key: Field(kind, multiple=key in multiple) for key, kind in kinds.items()}


def _from_properties(keys: Mapping[str, str]) -> dict[str, Any]:
    return {key: path(f"$.properties.{source}") for key, source in keys.items()}


_VEHICLE_KINDS: dict[str, FieldType] = {
    "postal_code": "string",
    "make": "string",
    "model": "string",
    "year": "number",
    "state_of_vehicle": "string",
    "mileage_value": "number",
    "mileage_unit": "string",
    "exterior_color": "string",
    "transmission": "string",
    "body_style": "string",
    "fuel_type": "string",
    "drivetrain": "string",
    "preferred_price_range_min": "number",
    "preferred_price_range_max": "number",
    "trim": "string",
    "vin": "string",
    "interior_color": "string",
    "condition_of_vehicle": "string",
    "viewcontent_type": "string",
    "search_type": "string",
    "registration_type": "string",
}
_TRAVEL_KINDS: dict[str, FieldType] = {
    "city": "string",
    "region": "string",
    "country": "string",
    "checkin_date": "string",
    "checkout_date": "string",
    "num_adults": "number",
    "num_children": "number",
    "num_infants": "number",
    "suggested_hotels": "string",
    "departing_departure_date": "string",
    "returning_departure_date": "string",
    "origin_airport": "string",
    "destination_airport": "string",
    "destination_ids": "string",
    "departing_arrival_date": "string",
    "returning_arrival_date": "string",
    "travel_class": "string",
    "user_score": "number",
    "preferred_num_stops": "integer",
    "travel_start": "string",
    "travel_end": "string",
    "suggested_destinations": "string",
}


def _either_property(key: str, trait: str | None = None) -> dict[str, Any]:
    return either(f"$.properties.{key}", f"$.context.traits.{trait or key}")


_CONTENT = _properties_of(
    {
        "price": "number",
        "quantity": "number",
        "content_category": "string",
        "content_id": "string",
        "content_name": "string",
        "brand": "string",
    }
)

REPORT_WEB_EVENT = ActionSpec(
    "reportWebEvent",
    "Report Web Event",
    {
        "event_source": f("string", _WEB, choices=(_WEB, _CRM)),
        "event_spec_type": f("string", choices=(_TRAVEL, _VEHICLE)),
        "event": f("string", required=True),
        "event_id": f("string", path("$.messageId")),
        "timestamp": f("string", path("$.timestamp")),
        "phone_number": f("string", _either_property("phone"), multiple=True),
        "email": f("string", _either_property("email"), multiple=True),
        "first_name": f("string", _either_property("first_name")),
        "last_name": f("string", _either_property("last_name")),
        "address": Field(
            "object",
            {
                "city": _either_property("address.city"),
                "country": _either_property("address.country"),
                "zip_code": _either_property("address.postal_code"),
                "state": _either_property("address.state"),
            },
            properties=_properties_of(
                {"city": "string", "country": "string", "zip_code": "string", "state": "string"}
            ),
        ),
        "order_id": f("string", path("$.properties.order_id")),
        "shop_id": f("string", path("$.properties.shop_id")),
        "external_id": f("string", either("$.userId", "$.anonymousId"), multiple=True),
        "ttclid": f(
            "string", either("$.properties.ttclid", "$.integrations.TikTok Conversions.ttclid")
        ),
        "ttp": f("string", either("$.properties.ttp", "$.integrations.TikTok Conversions.ttp")),
        "locale": f("string", path("$.context.locale")),
        "url": f("string", path("$.context.page.url")),
        "referrer": f("string", path("$.context.page.referrer")),
        "ip": f("string", path("$.context.ip")),
        "user_agent": f("string", path("$.context.userAgent")),
        "contents": Field("object", multiple=True, properties=_CONTENT),
        "content_ids": f("string", path("$.properties.content_ids"), multiple=True),
        "num_items": f("number", path("$.properties.num_items")),
        "content_type": f("string", "product", choices=("product", "product_group")),
        "currency": f("string", path("$.properties.currency")),
        "value": f("number", either("$.properties.value", "$.properties.revenue")),
        "description": f("string"),
        "query": f("string", path("$.properties.query")),
        "limited_data_use": f("boolean", path("$.properties.limited_data_use")),
        "test_event_code": f("string"),
        "delivery_category": f(
            "string",
            path("$.properties.delivery_category"),
            choices=("in_store", "curbside", "home_delivery"),
        ),
        "predicted_ltv": f("number", path("$.properties.predicted_ltv")),
        "search_string": f("string", path("$.properties.search_string")),
        "lead_fields": Field(
            "object",
            _from_properties({"lead_id": "lead_id", "lead_event_source": "lead_event_source"}),
            required=True,
            properties=_properties_of({"lead_id": "string", "lead_event_source": "string"}),
        ),
        "vehicle_fields": Field(
            "object",
            _from_properties(
                {key: "drive_train" if key == "drivetrain" else key for key in _VEHICLE_KINDS}
            ),
            properties=_properties_of(_VEHICLE_KINDS),
        ),
        "travel_fields": Field(
            "object",
            _from_properties({key: key for key in _TRAVEL_KINDS}),
            properties=_properties_of(
                _TRAVEL_KINDS,
                multiple=("suggested_hotels", "destination_ids", "suggested_destinations"),
            ),
        ),
    },
    _report_web_event,
    # No default subscription: the presets below subscribe it.
    'type = "track"',
)

# index.ts productProperties, singleProductContents and multiProductContents.
_PRODUCT = {
    "price": path("$.price"),
    "quantity": path("$.quantity"),
    "content_category": path("$.category"),
    "content_id": path("$.product_id"),
    "content_name": path("$.name"),
    "brand": path("$.brand"),
}
_SINGLE = {"contents": {"@arrayPath": ["$.properties", _PRODUCT]}}
_MULTI = {"contents": {"@arrayPath": ["$.properties.products", _PRODUCT]}}

# (preset name, subscription, TikTok event, contents mapping) in index.ts order.
_PRESETS: tuple[tuple[str, str, str, Mapping[str, Any]], ...] = (
    ("Complete Payment", 'event = "Order Completed"', "CompletePayment", _MULTI),
    ("Contact", 'event = "Callback Started"', "Contact", {}),
    ("Subscribe", 'event = "Subscription Created"', "Subscribe", {}),
    ("Submit Form", 'event = "Form Submitted"', "SubmitForm", {}),
    ("Page View", 'type="page"', "PageView", _MULTI),
    ("View Content", 'event = "Product Viewed"', "ViewContent", _SINGLE),
    ("Click Button", 'event = "Product Clicked"', "ClickButton", _SINGLE),
    ("Search", 'event = "Products Searched"', "Search", _SINGLE),
    ("Add to Wishlist", 'event = "Product Added to Wishlist"', "AddToWishlist", _SINGLE),
    ("Add to Cart", 'event = "Product Added"', "AddToCart", _SINGLE),
    ("Initiate Checkout", 'event = "Checkout Started"', "InitiateCheckout", _MULTI),
    ("Add Payment Info", 'event = "Payment Info Entered"', "AddPaymentInfo", _MULTI),
    ("Place an Order", 'event = "Order Placed"', "PlaceAnOrder", _MULTI),
    ("Download", 'event = "Download Link Clicked"', "Download", {}),
    ("Complete Registration", 'event = "Signed Up"', "CompleteRegistration", {}),
)


def _preset_actions() -> tuple[Action, ...]:
    return tuple(
        REPORT_WEB_EVENT.action(subscribe, name, {**contents, "event": event})
        for name, subscribe, event, contents in _PRESETS
    )


PRESET = preset(
    slug="tiktok-conversions",
    name="TikTok Conversions",
    # index.ts: registered as "Tiktok Conversions"; the catalog spells it "TikTok Conversions".
    aliases=("TikTok Conversions", "Tiktok Conversions"),
    actions=_preset_actions(),
    settings={"accessToken": "segemu-tiktok-access-token", "pixelCode": "SEGEMU0PIXEL0CODE"},
    sources=(
        "action-destinations packages/destination-actions/src/destinations/tiktok-conversions/",
        "segment-docs src/connections/destinations/catalog/actions-tiktok-conversions/index.md",
    ),
)

ACTIONS = catalog(PRESET.settings, REPORT_WEB_EVENT)
