"""Pinterest Conversions API: what Pinterest's API (api.pinterest.com/v5) receives.

Sources (segmentio/action-destinations, packages/destination-actions/src/destinations/
pinterest-conversions):
- index.ts: settings ad_account_id and conversion_token (`Authorization: Bearer ...`); the
  quick-setup presets, one Report Conversion Event mapping per spec event (Order Completed ->
  checkout, page -> page_visit, Product Added -> add_to_cart...);
- constants.ts: the event names and the partner name "ss-segment"; versioning-info.ts: v5;
- reportConversionEvent/index.ts: the fields (data_format "latest" by default, action_source
  "web", opt_out true...), processPayload (an email, a mobile ad id, or both IP and user agent
  are required) and createPinterestPayload (POST /ad_accounts/{id}/events `{data: [event]}`,
  event_time in unix seconds, custom_data with value and prices as strings, app_info and
  device_info when they hold something);
- pinterset-capi-user-data.ts (sic): the user data field and hash_user_data: every value
  stripped of whitespace and lower-cased (phones to digits, genders to m/f/n), then
  SHA-256-hashed (lib/hashing-utils.ts processHashing: a digest is kept);
- pinterest-capi-custom-data.ts: custom data (latest and legacy) and contents from the
  products.
Doc page: segment-docs src/connections/destinations/catalog/actions-pinterest-conversions-api/
index.md.

The definition's subscriptions read `type = "track" AND event = "..."`: written here with `and`,
which segemu's FQL parses today. Calls from a browser carry context.ip, which Segment adds on
receipt; without it (and without an email), Pinterest refuses the call, as Segment would.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

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
    IntegrationError,
    PayloadValidationError,
    defined,
    epoch_seconds,
    js_string,
    parse_date,
    request,
    truthy,
)

API_VERSION = "v5"
PARTNER_NAME = "ss-segment"


def _normalize(value: str) -> str:
    return re.sub(r"\s", "", value).lower()


def _normalize_phone(value: str) -> str:
    return re.sub(r"\D", "", value)


def _normalize_gender(value: str) -> str:
    value = _normalize(value)
    return {"male": "m", "female": "f", "non-binary": "n"}.get(value, value)


_HASHED: tuple[tuple[str, str, Callable[[str], str]], ...] = (
    ("em", "email", _normalize),
    ("ph", "phone", _normalize_phone),
    ("ge", "gender", _normalize_gender),
    ("db", "date_of_birth", _normalize),
    ("ln", "last_name", _normalize),
    ("fn", "first_name", _normalize),
    ("ct", "city", _normalize),
    ("st", "state", _normalize),
    ("zp", "zip", _normalize),
    ("country", "country", _normalize),
    ("external_id", "external_id", _normalize),
)


def hash_user_data(user: Mapping[str, Any]) -> dict[str, Any]:
    """pinterset-capi-user-data.ts hash_user_data, keys in its order."""

    def hashed(key: str, clean: Callable[[str], str]) -> Any:
        values = user.get(key)
        if not values:
            return values if values is not None else MISSING
        return [process_hashing(value, clean) for value in values]

    return defined(
        {
            **{short: hashed(key, clean) for short, key, clean in _HASHED},
            "client_ip_address": user.get("client_ip_address", MISSING),
            "client_user_agent": user.get("client_user_agent", MISSING),
            "hashed_maids": hashed("hashed_maids", _normalize),
            "click_id": user.get("click_id", MISSING),
            "partner_id": user.get("partner_id", MISSING),
        }
    )


def _as_string(value: Any) -> Any:
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    return js_string(value) if is_number else MISSING


def _custom_data(payload: Mapping[str, Any]) -> dict[str, Any]:
    """reportConversionEvent/index.ts buildCustomData."""
    latest = payload.get("data_format") == "latest"
    custom = (payload.get("custom_data_2") if latest else payload.get("custom_data")) or {}
    contents = payload.get("contents") if latest else custom.get("contents")
    return defined(
        {
            "currency": custom.get("currency", MISSING),
            "value": _as_string(custom.get("value")),
            "content_ids": custom.get("content_ids", MISSING),
            "contents": [
                {**item, "item_price": _as_string(item.get("item_price"))} for item in contents
            ]
            if isinstance(contents, list)
            else MISSING,
            **{
                key: custom.get(key, MISSING)
                for key in (
                    "num_items",
                    "order_id",
                    "search_string",
                    "opt_out_type",
                    "content_brand",
                    "content_category",
                    "content_name",
                )
            },
            "predicted_ltv": _as_string(custom.get("predicted_ltv")),
            "np": PARTNER_NAME,
        }
    )


def _install_time(value: Any) -> Any:
    """convertInstallTime: numbers and digit strings are unix seconds already."""
    if value is None or value == "":
        return MISSING
    if isinstance(value, int | float):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    moment = parse_date(value)
    return epoch_seconds(moment) if moment else MISSING


def _app_info(payload: Mapping[str, Any]) -> Any:
    info = defined(
        {
            **(payload.get("app_info") or {}),
            "install_time": _install_time((payload.get("app_info") or {}).get("install_time")),
        }
    )
    return info if any(value is not None for value in info.values()) else MISSING


def _device_info(payload: Mapping[str, Any]) -> Any:
    info = payload.get("device_info")
    if not info or not any(value is not None for value in info.values()):
        return MISSING
    for language in info.get("languages") or []:
        if not isinstance(language, str) or len(language) != 2:
            raise PayloadValidationError(
                "Device Info languages must each be a 2-character ISO 639-1 code. "
                f'Received invalid value: "{js_string(language)}".'
            )
    return info


def _report(payload: dict[str, Any], settings: Mapping[str, Any]) -> list[Request]:
    user = payload.get("user_data") or {}
    if (
        not user.get("email")
        and not user.get("hashed_maids")
        and not (truthy(user.get("client_ip_address")) and truthy(user.get("client_user_agent")))
    ):
        raise IntegrationError(
            "User data must contain values for Email or Phone Number or Mobile Ad Identifier "
            "or both IP Address and User Agent fields",
            "Misconfigured required field",
        )
    latest = payload.get("data_format") == "latest"
    moment = parse_date(payload["event_time"])
    legacy = ("app_id", "app_name", "app_version") if not latest else ()
    device = (
        ("device_brand", "device_carrier", "device_model", "device_type", "os_version")
        if not latest
        else ()
    )
    event = defined(
        {
            "event_name": payload["event_name"],
            "action_source": payload["action_source"],
            # dayjs.utc(...).unix() is NaN for a date it cannot read: null in JSON.
            "event_time": epoch_seconds(moment) if moment else None,
            "event_id": payload["event_id"],
            "event_source_url": payload.get("event_source_url", MISSING),
            "partner_name": PARTNER_NAME,
            "opt_out": payload.get("opt_out", MISSING),
            "advertiser_tracking_enabled": payload.get("advertiser_tracking_enabled", MISSING),
            "user_data": hash_user_data(user),
            "custom_data": _custom_data(payload),
            **{key: payload.get(key, MISSING) for key in legacy},
            "app_info": _app_info(payload) if latest else MISSING,
            **{key: payload.get(key, MISSING) for key in device},
            "device_info": _device_info(payload) if latest else MISSING,
            "wifi": payload.get("wifi", MISSING),
            "language": payload.get("language", MISSING),
        }
    )
    url = (
        f"https://api.pinterest.com/{API_VERSION}/ad_accounts/"
        f"{settings.get('ad_account_id', '')}/events"
    )
    headers = {"Authorization": f"Bearer {settings.get('conversion_token', '')}"}
    return [request("Report Conversion Event", "POST", url, {"data": [event]}, headers)]


def _typed(kinds: Mapping[str, FieldType], multiple: tuple[str, ...] = ()) -> dict[str, Field]:
    return {key: Field(kind, multiple=key in multiple) for key, kind in kinds.items()}


_HASHED_KEYS = (*(key for _, key, _ in _HASHED), "hashed_maids")
_USER_DATA = Field(
    "object",
    {
        "email": either("$.properties.email", "$.traits.email"),
        "client_ip_address": path("$.context.ip"),
        "client_user_agent": path("$.context.userAgent"),
    },
    properties={
        **{key: Field("string", multiple=True) for key in _HASHED_KEYS},
        "client_ip_address": f("string"),
        "client_user_agent": f("string"),
        "click_id": f("string", allow_null=True),
        "partner_id": f("string", allow_null=True),
    },
)
_CONTENT = _typed(
    {
        "id": "string",
        "item_price": "number",
        "quantity": "integer",
        "item_brand": "string",
        "item_brand_id": "string",
        "item_category": "string",
        "item_name": "string",
    }
)
_CUSTOM_KINDS: dict[str, FieldType] = {
    "currency": "string",
    "value": "number",
    "content_ids": "string",
    "num_items": "integer",
    "order_id": "string",
    "search_string": "string",
    "opt_out_type": "string",
    "content_brand": "string",
    "content_category": "string",
    "content_name": "string",
    "predicted_ltv": "number",
}
_CUSTOM_DEFAULT = {
    "currency": path("$.properties.currency"),
    "value": either("$.properties.price", "$.properties.value"),
    "order_id": path("$.properties.order_id"),
    "search_string": path("$.properties.query"),
}
_OS_FAMILIES = ("ios", "android", "macos", "windows", "linux", "bsd", "other")
_FORM_FACTORS = ("desktop", "laptop", "cellphone", "tablet", "smartwatch", "tv", "vr")
_NETWORKS = ("wifi", "cellular_2g", "cellular_3g", "cellular_4g", "cellular_5g", "cellular_6g")
_DEVICE_INFO = {
    **_typed(
        {
            "battery_level": "integer",
            "brand": "string",
            "carrier": "string",
            "cpu_cores": "integer",
            "external_storage_free_space": "integer",
            "external_storage_size": "integer",
            "kernel_version": "string",
            "languages": "string",
            "locale": "string",
            "model": "string",
            "os_name": "string",
            "os_release_name": "string",
            "os_version": "string",
            "screen_density": "integer",
            "screen_height": "integer",
            "screen_width": "integer",
            "storage_free_space": "integer",
            "storage_size": "integer",
            "timezone": "string",
            "timezone_abbr": "string",
            "type": "string",
        },
        multiple=("languages",),
    ),
    "form_factor": f("string", choices=(*_FORM_FACTORS, "console", "other")),
    "network_type": f("string", choices=(*_NETWORKS, "ethernet", "unknown")),
    "os_family": f("string", choices=_OS_FAMILIES),
}

REPORT_CONVERSION_EVENT = ActionSpec(
    "reportConversionEvent",
    "Report Conversion Event",
    {
        "data_format": f("string", "latest", choices=("latest", "legacy")),
        "event_name": f("string", required=True),
        "action_source": f(
            "string", "web", required=True, choices=("app_android", "app_ios", "web", "offline")
        ),
        "event_time": f("string", path("$.timestamp"), required=True),
        "event_id": f("string", path("$.messageId"), required=True),
        "event_source_url": f("string", path("$.context.page.url")),
        "opt_out": f("boolean", True),
        "advertiser_tracking_enabled": f("boolean", path("$.context.device.adTrackingEnabled")),
        "user_data": _USER_DATA,
        # Legacy fields, used when data_format is "legacy".
        "custom_data": Field(
            "object",
            _CUSTOM_DEFAULT,
            properties={
                **_typed(_CUSTOM_KINDS, multiple=("content_ids",)),
                "contents": Field("object", multiple=True, properties=_CONTENT),
            },
        ),
        # The definition writes 'context.app.id' and 'context.device.carrier' without `$.`.
        "app_id": f("string", path("context.app.id")),
        "app_name": f("string", path("$.context.app.name")),
        "app_version": f("string", path("$.context.app.version")),
        "device_brand": f("string", path("$.context.device.brand")),
        "device_carrier": f("string", path("context.device.carrier")),
        "device_model": f("string", path("$.context.device.model")),
        "device_type": f("string", path("$.context.device.type")),
        "os_version": f("string", path("$.context.os.version")),
        # Latest fields.
        "custom_data_2": Field(
            "object",
            _CUSTOM_DEFAULT,
            properties=_typed(_CUSTOM_KINDS, multiple=("content_ids",)),
        ),
        "contents": Field(
            "object",
            {
                "@arrayPath": [
                    "$.properties.products",
                    {
                        "id": path("$.product_id"),
                        "item_price": path("$.price"),
                        "quantity": path("$.quantity"),
                        "item_brand": path("$.brand"),
                        "item_category": path("$.category"),
                        "item_name": path("$.name"),
                    },
                ]
            },
            multiple=True,
            properties=_CONTENT,
        ),
        "app_info": Field(
            "object",
            {
                "app_name": path("$.context.app.name"),
                "app_package_name": path("$.context.app.namespace"),
                "app_version": path("$.context.app.version"),
                "user_agent": path("$.context.userAgent"),
                "window_height": path("$.context.screen.height"),
                "window_width": path("$.context.screen.width"),
            },
            properties={
                **_typed(
                    {
                        "app_id": "string",
                        "app_name": "string",
                        "app_package_name": "string",
                        "app_store": "string",
                        "app_version": "string",
                        "user_agent": "string",
                        "window_height": "integer",
                        "window_width": "integer",
                    }
                ),
                "install_time": f("datetime"),
            },
        ),
        "device_info": Field(
            "object",
            {
                "brand": path("$.context.device.manufacturer"),
                "carrier": path("$.context.network.carrier"),
                "model": path("$.context.device.model"),
                "type": path("$.context.device.type"),
                "os_version": path("$.context.os.version"),
                "locale": path("$.context.locale"),
                "screen_density": path("$.context.screen.density"),
                "screen_height": path("$.context.screen.height"),
                "screen_width": path("$.context.screen.width"),
                "timezone": path("$.context.timezone"),
            },
            properties=_DEVICE_INFO,
        ),
        "wifi": f("boolean", path("$.context.network.wifi")),
        "language": f("string"),
    },
    _report,
    # No default subscription: the presets below subscribe it.
    'type = "track"',
)

# index.ts presets, in order: (name, event or None for page calls, Pinterest event name).
_PRESETS: tuple[tuple[str, str | None, str], ...] = (
    ("Add Payment Info", "Payment Info Entered", "add_payment_info"),
    ("Add to Cart", "Product Added", "add_to_cart"),
    ("Add to Wishlist", "Product Added to Wishlist", "add_to_wishlist"),
    ("App Install", "Application Installed", "app_install"),
    ("App Open", "Application Opened", "app_open"),
    ("Checkout", "Order Completed", "checkout"),
    ("Initiate Checkout", "Checkout Started", "initiate_checkout"),
    ("Lead", "Generate Lead", "lead"),
    ("Page Visit", None, "page_visit"),
    ("Search", "Products Searched", "search"),
    ("Sign Up", "Signed Up", "signup"),
    ("Start Trial", "Trial Started", "start_trial"),
    ("Subscribe", "Subscription Created", "subscribe"),
    ("View Category", "Product Category Viewed", "view_category"),
    ("View Content", "Product Viewed", "view_content"),
    ("Watch Video", "Product Video Watched", "watch_video"),
)


def _preset_actions() -> tuple[Action, ...]:
    return tuple(
        REPORT_CONVERSION_EVENT.action(
            f'type = "track" and event = "{event}"' if event else 'type = "page"',
            name,
            {"event_name": event_name},
        )
        for name, event, event_name in _PRESETS
    )


PRESET = preset(
    slug="pinterest-conversions",
    name="Pinterest Conversions API",
    aliases=("Pinterest Conversions API",),
    actions=_preset_actions(),
    settings={
        "ad_account_id": "549755885175",
        "conversion_token": "segemu-pinterest-conversion-token",
    },
    sources=(
        "action-destinations packages/destination-actions/src/destinations/pinterest-conversions/",
        "segment-docs src/connections/destinations/catalog/"
        "actions-pinterest-conversions-api/index.md",
    ),
)

ACTIONS = catalog(PRESET.settings, REPORT_CONVERSION_EVENT)
