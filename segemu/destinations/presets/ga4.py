"""Google Analytics 4 Cloud: what GA4's Measurement Protocol (/mp/collect) receives.

Sources (segmentio/action-destinations, packages/destination-actions/src/destinations/
google-analytics-4):
- each action's index.ts: its default subscription (the Segment spec event it stands for),
  fields, the GA4 event name and the order of its params, and the checks perform applies;
- ga4-functions.ts: the stream (measurement_id + client_id for web, firebase_app_id +
  app_instance_id for apps), timestamp_micros, currency codes, flat params and user properties;
- ga4-properties.ts: user_properties as {name: {value}}, engagement_time_msec 1.
The definition has no quick-setup presets: the doc page (segment-docs src/connections/
destinations/catalog/actions-google-analytics-4/index.md, "Recommended events") describes
prebuilt mappings of the spec events, which are the actions' default subscriptions. segemu
also sends every other track call as a Custom Event, as that page advises for events GA4 has no
recommended event for; Generate Lead (subscribed to every track by default) is left to config.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from segemu.destinations.base import Request
from segemu.destinations.presets import ga4_fields as g
from segemu.destinations.presets._fields import ActionSpec, Field, catalog, f, path, preset
from segemu.destinations.presets._support import (
    MISSING,
    IntegrationError,
    PayloadValidationError,
    defined,
    epoch_ms,
    parse_date,
    request,
    truthy,
)
from segemu.destinations.presets.ga4_currencies import CURRENCY_CODES

Check = Callable[[dict[str, Any]], None]


def _verify_currency(code: str) -> None:
    if code.upper() not in CURRENCY_CODES:
        raise IntegrationError(f"{code} is not a valid currency code.", "INVALID_CURRENCY_CODE")


def _currency_if_value(payload: dict[str, Any]) -> None:
    # Google requires the event's currency when a value is set.
    if truthy(payload.get("value", MISSING)) and "currency" not in payload:
        raise IntegrationError("Currency is required if value is set.", "INVALID_CURRENCY_CODE")


def _currency_if_value_payload(payload: dict[str, Any]) -> None:
    # addPaymentInfo/index.ts words the same rule as a payload validation error.
    if truthy(payload.get("value", MISSING)) and "currency" not in payload:
        raise PayloadValidationError("Currency is required if value is set.")


def _currency_somewhere(payload: dict[str, Any]) -> None:
    # Without an event currency, GA4 reads the first item's.
    first = (payload.get("items") or [{}])[0]
    if "currency" not in payload and not truthy(first.get("currency")):
        raise PayloadValidationError(
            "One of item-level currency or top-level currency is required."
        )


def _some_products(payload: dict[str, Any]) -> None:
    if "items" in payload and not payload["items"]:
        raise PayloadValidationError(
            "Google requires one or more products in add_payment_info events."
        )


def _flat(values: Any, kind: str, allow_null: bool) -> None:
    """ga4-functions.ts verifyParams / verifyUserProps: GA4 drops nested values silently, so
    Segment refuses them."""
    if not isinstance(values, dict):
        return
    accepted = (
        "null, array, or object values for event parameters and item parameters"
        if kind == "params"
        else "array or object values for user properties"
    )
    for key, value in values.items():
        if kind == "params" and key == "items" and isinstance(value, list):
            continue
        found = (
            "Array"
            if isinstance(value, list)
            else "NULL"
            if value is None and not allow_null
            else "object"
            if isinstance(value, dict)
            else None
        )
        if found:
            raise PayloadValidationError(
                f"Param [{key}] has unsupported value of type "
                f"[{found}]. GA4 does not accept {accepted}."
            )


_JS_NUMBER = re.compile(r"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*")


def _timestamp_micros(value: Any) -> Any:
    """convertTimestamp: a number (or text of one) stays; anything else is
    Date.parse(text) * 1000, microseconds."""
    if not truthy(value):
        return MISSING
    if _JS_NUMBER.fullmatch(str(value)):
        number = float(value)
        return int(number) if number.is_integer() else number
    moment = parse_date(value)
    # Date.parse of what it cannot read is NaN, which JSON writes as null.
    return epoch_ms(moment) * 1000 if isinstance(moment, datetime) else None


def _stream(
    payload: dict[str, Any], settings: Mapping[str, Any], client_key: str
) -> tuple[str, dict[str, Any]]:
    secret = settings.get("apiSecret", "")
    if payload.get("data_stream_type") == "Mobile App":
        if not settings.get("firebaseAppId"):
            raise PayloadValidationError("Firebase App ID is required for mobile app streams")
        if not payload.get("app_instance_id"):
            raise PayloadValidationError(
                "Firebase App Instance ID is required for mobile app streams"
            )
        return (
            f"api_secret={secret}&firebase_app_id={settings['firebaseAppId']}",
            {"app_instance_id": payload["app_instance_id"]},
        )
    if not settings.get("measurementId"):
        raise PayloadValidationError("Measurement ID is required for web streams")
    if not payload.get(client_key):
        raise PayloadValidationError("Client ID is required for web streams")
    return (
        f"api_secret={secret}&measurement_id={settings['measurementId']}",
        {"client_id": payload[client_key]},
    )


@dataclass(frozen=True, slots=True)
class _Ga4Action:
    key: str
    title: str
    # The Segment spec event of the default subscription, or the whole subscription.
    trigger: str
    event: str
    # The action's own fields, between the shared head and tail, and in params order.
    own: Mapping[str, Field]
    checks: tuple[Check, ...] = ()
    item_error: str = (
        "One of product name or product id is required for product or impression data."
    )
    client_key: str = "client_id"

    def spec(self) -> ActionSpec:
        head = {
            (self.client_key if name == "client_id" else name): field
            for name, field in g.HEAD.items()
        }
        return ActionSpec(
            self.key, self.title, {**head, **self.own, **g.TAIL}, self._perform, self.subscribe
        )

    @property
    def subscribe(self) -> str:
        if self.trigger.startswith("type ="):
            return self.trigger
        return f'type = "track" and event = "{self.trigger}"'

    def _name(self, payload: dict[str, Any]) -> str:
        if self.event:
            return self.event
        # customEvent normalizeEventName: trim, whitespace to "_", optionally lower case.
        name = re.sub(r"\s", "_", payload["name"].strip())
        return name.lower() if payload.get("lowercase") else name

    def _perform(self, payload: dict[str, Any], settings: Mapping[str, Any]) -> list[Request]:
        query, identifier = _stream(payload, settings, self.client_key)
        if truthy(payload.get("currency")) or self.key == "purchase":
            _verify_currency(payload.get("currency", ""))
        for check in self.checks:
            check(payload)
        for item in payload.get("items") or []:
            if "item_name" not in item and "item_id" not in item:
                raise PayloadValidationError(self.item_error)
            if truthy(item.get("currency")):
                _verify_currency(item["currency"])
        _flat(payload.get("params"), "params", False)
        _flat(payload.get("user_properties"), "user_properties", True)
        params = {
            name: payload.get(name, MISSING)
            for name in self.own
            if name not in ("name", "lowercase")
        }
        if "items" in self.own:
            params["items"] = payload.get("items") or []
        event = {
            "name": self._name(payload),
            "params": defined(
                {
                    **params,
                    "engagement_time_msec": payload.get("engagement_time_msec", MISSING),
                    **(payload.get("params") or {}),
                }
            ),
        }
        user_properties = payload.get("user_properties")
        consent = {
            "ad_user_data": payload.get("ad_user_data_consent", MISSING),
            "ad_personalization": payload.get("ad_personalization_consent", MISSING),
        }
        body = defined(
            {
                **identifier,
                "user_id": payload.get("user_id", MISSING),
                "events": [event],
                **(
                    {
                        "user_properties": {
                            key: {"value": value} for key, value in user_properties.items()
                        }
                    }
                    if isinstance(user_properties, dict)
                    else {}
                ),
                "timestamp_micros": _timestamp_micros(payload.get("timestamp_micros", MISSING)),
                **(
                    {"consent": defined(consent)}
                    if any(value is not MISSING for value in consent.values())
                    else {}
                ),
            }
        )
        return [
            request(
                self.title, "POST", f"https://www.google-analytics.com/mp/collect?{query}", body
            )
        ]


_VALUE_CHECKS = (_currency_if_value, _currency_somewhere)
_ACTIONS = (
    _Ga4Action(
        "pageView",
        "Page View",
        'type = "page"',
        "page_view",
        {
            "page_location": f("string", path("$.context.page.url")),
            "page_referrer": f("string", path("$.context.page.referrer")),
            "page_title": f("string", path("$.context.page.title")),
        },
        client_key="clientId",
    ),
    _Ga4Action(
        "search",
        "Search",
        "Products Searched",
        "search",
        {"search_term": f("string", path("$.properties.query"), required=True)},
    ),
    _Ga4Action(
        "viewItemList",
        "View Item List",
        "Product List Viewed",
        "view_item_list",
        {
            "item_list_id": f("string", path("$.properties.list_id")),
            "item_list_name": f("string", path("$.properties.category")),
            "items": g.items(g.MULTI_PRODUCTS, required=True),
        },
    ),
    _Ga4Action(
        "viewPromotion",
        "View Promotion",
        "Promotion Viewed",
        "view_promotion",
        {
            **g.PROMOTION,
            "location_id": f("string", path("$.properties.position")),
            **g.PROMOTION_IDS,
            "items": g.items(g.SINGLE_PRODUCT, required=True, promotion=True),
        },
        item_error="One of item id or item name is required.",
    ),
    _Ga4Action(
        "selectPromotion",
        "Select Promotion",
        "Promotion Clicked",
        "select_promotion",
        {
            **g.PROMOTION,
            "location_id": f("string"),
            **g.PROMOTION_IDS,
            "items": g.items(g.SINGLE_PRODUCT, promotion=True),
        },
    ),
    _Ga4Action(
        "selectItem",
        "Select Item",
        "Product Clicked",
        "select_item",
        {
            "items": g.items(g.SINGLE_PRODUCT, required=True),
            "item_list_name": f("string"),
            "item_list_id": f("string"),
        },
    ),
    _Ga4Action(
        "viewItem",
        "View Item",
        "Product Viewed",
        "view_item",
        {
            "currency": g.CURRENCY,
            "items": g.items(g.SINGLE_PRODUCT, required=True),
            "value": g.VALUE,
        },
    ),
    _Ga4Action(
        "addToCart",
        "Add to Cart",
        "Product Added",
        "add_to_cart",
        {
            "currency": g.CURRENCY,
            "items": g.items(g.SINGLE_PRODUCT, required=True),
            "value": g.VALUE,
        },
    ),
    _Ga4Action(
        "removeFromCart",
        "Remove from Cart",
        "Product Removed",
        "remove_from_cart",
        {
            "currency": g.CURRENCY,
            "value": g.VALUE,
            "items": g.items(g.SINGLE_PRODUCT, required=True),
        },
        _VALUE_CHECKS,
    ),
    _Ga4Action(
        "viewCart",
        "View Cart",
        "Cart Viewed",
        "view_cart",
        {
            "currency": g.CURRENCY,
            "value": g.VALUE,
            "items": g.items(g.MULTI_PRODUCTS, required=True),
        },
        _VALUE_CHECKS,
    ),
    _Ga4Action(
        "beginCheckout",
        "Begin Checkout",
        "Checkout Started",
        "begin_checkout",
        {
            "coupon": g.SPEC_COUPON,
            "currency": g.CURRENCY,
            "items": g.items(g.MULTI_PRODUCTS, required=True),
            "value": g.VALUE,
        },
    ),
    _Ga4Action(
        "addPaymentInfo",
        "Add Payment Info",
        "Payment Info Entered",
        "add_payment_info",
        {
            "currency": g.CURRENCY,
            "value": g.VALUE,
            "coupon": g.COUPON,
            "payment_type": f("string", path("$.properties.payment_method")),
            "items": g.items(g.MULTI_PRODUCTS, required=True),
        },
        (_some_products, _currency_if_value_payload, _currency_somewhere),
    ),
    _Ga4Action(
        "purchase",
        "Purchase",
        "Order Completed",
        "purchase",
        {
            "affiliation": g.AFFILIATION,
            "coupon": g.SPEC_COUPON,
            "currency": f("string", path("$.properties.currency"), required=True),
            "items": g.items(g.MULTI_PRODUCTS, required=True),
            "transaction_id": g.TRANSACTION_ID,
            "shipping": g.SHIPPING,
            "value": g.TOTAL_VALUE,
            "tax": g.TAX,
        },
    ),
    _Ga4Action(
        "refund",
        "Refund",
        "Order Refunded",
        "refund",
        {
            "currency": g.CURRENCY,
            "transaction_id": g.TRANSACTION_ID,
            "value": g.TOTAL_VALUE,
            "affiliation": g.AFFILIATION,
            "coupon": g.COUPON,
            "shipping": g.SHIPPING,
            "tax": f("number"),
            "items": g.items(g.MULTI_PRODUCTS),
        },
        _VALUE_CHECKS,
    ),
    _Ga4Action(
        "addToWishlist",
        "Add to Wishlist",
        "Product Added to Wishlist",
        "add_to_wishlist",
        {
            "currency": g.CURRENCY,
            "value": g.VALUE,
            "items": g.items(g.SINGLE_PRODUCT, required=True),
        },
        _VALUE_CHECKS,
    ),
    _Ga4Action(
        "signUp",
        "Sign Up",
        "Signed Up",
        "sign_up",
        {"method": f("string", path("$.properties.type"))},
    ),
    _Ga4Action("login", "Login", "Signed In", "login", {"method": f("string")}),
    _Ga4Action(
        "generateLead",
        "Generate Lead",
        'type = "track"',
        "generate_lead",
        {"currency": g.CURRENCY, "value": g.VALUE},
        (_currency_if_value,),
    ),
    _Ga4Action(
        "customEvent",
        "Custom Event",
        'type = "track"',
        "",
        {"name": f("string", path("$.event"), required=True), "lowercase": f("boolean", False)},
        client_key="clientId",
    ),
)
SPECS = {action.key: action.spec() for action in _ACTIONS}

# The spec events the prebuilt mappings cover; every other track call is a Custom Event.
_OTHER_TRACKS = 'type = "track"' + "".join(
    f' and event != "{action.trigger}"'
    for action in _ACTIONS
    if not action.trigger.startswith("type =")
)

PRESET = preset(
    slug="ga4",
    name="Google Analytics 4 Cloud",
    # segment-docs src/_data/catalog/destinations.yml previous_names.
    aliases=(
        "Google Analytics 4 Cloud",
        "Google Analytics 4",
        "Actions Google Analytics 4",
        "Actions Google Analytic 4",
    ),
    actions=(
        *(
            SPECS[action.key].action()
            for action in _ACTIONS
            if action.key not in ("generateLead", "customEvent")
        ),
        SPECS["customEvent"].action(_OTHER_TRACKS),
    ),
    settings={"measurementId": "G-SEGEMU0000", "apiSecret": "segemu-ga4-api-secret"},
    sources=(
        "action-destinations packages/destination-actions/src/destinations/google-analytics-4/",
        "segment-docs src/connections/destinations/catalog/actions-google-analytics-4/index.md",
    ),
)

ACTIONS = catalog(PRESET.settings, *SPECS.values())
