"""Braze Cloud Mode (Actions): the e-commerce actions (beta) that Braze's quick setup maps the
spec's order and cart events to, as Braze's recommended `ecommerce.*` events.

Sources (segmentio/action-destinations, packages/destination-actions/src/destinations/braze):
ecommerce/fields.ts (fields, conditionally required ones, the currency choices),
ecommerce/functions.ts (validate, getJSONItem: the event per name, products with metadata),
ecommerce/constants.ts (event names), ecommerce/index.ts and ecommerceSingleProduct/index.ts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from segemu.destinations.base import Request
from segemu.destinations.presets._fields import ActionSpec, Field, either, f, path
from segemu.destinations.presets._support import (
    PayloadValidationError,
    iso_string,
    parse_date,
    request,
    truthy,
)

PRODUCT_VIEWED = "ecommerce.product_viewed"
CHECKOUT_STARTED = "ecommerce.checkout_started"
CART_UPDATED = "ecommerce.cart_updated"
ORDER_PLACED = "ecommerce.order_placed"
ORDER_CANCELLED = "ecommerce.order_cancelled"
ORDER_REFUNDED = "ecommerce.order_refunded"
_NAMES = (
    PRODUCT_VIEWED,
    CART_UPDATED,
    CHECKOUT_STARTED,
    ORDER_PLACED,
    ORDER_CANCELLED,
    ORDER_REFUNDED,
)

# fields.ts `currencies()`: the choices of the currency field, so Ajv refuses any other code.
CURRENCIES = (
    "AFN",
    "EUR",
    "ALL",
    "DZD",
    "USD",
    "AOA",
    "XCD",
    "XAD",
    "ARS",
    "AMD",
    "AWG",
    "AUD",
    "AZN",
    "BSD",
    "BHD",
    "BDT",
    "BBD",
    "BYN",
    "BZD",
    "XOF",
    "BMD",
    "INR",
    "BTN",
    "BOB",
    "BOV",
    "BAM",
    "BWP",
    "NOK",
    "BRL",
    "BND",
    "BGN",
    "BIF",
    "CVE",
    "KHR",
    "XAF",
    "CAD",
    "KYD",
    "CLP",
    "CLF",
    "CNY",
    "COP",
    "COU",
    "KMF",
    "CDF",
    "NZD",
    "CRC",
    "CUP",
    "XCG",
    "CZK",
    "DKK",
    "DJF",
    "DOP",
    "EGP",
    "SVC",
    "ERN",
    "SZL",
    "ETB",
    "FKP",
    "FJD",
    "XPF",
    "GMD",
    "GEL",
    "GHS",
    "GIP",
    "GTQ",
    "GBP",
    "GNF",
    "GYD",
    "HTG",
    "HNL",
    "HKD",
    "HUF",
    "ISK",
    "IDR",
    "XDR",
    "IRR",
    "IQD",
    "ILS",
    "JMD",
    "JPY",
    "JOD",
    "KZT",
    "KES",
    "KPW",
    "KRW",
    "KWD",
    "KGS",
    "LAK",
    "LBP",
    "LSL",
    "ZAR",
    "LRD",
    "LYD",
    "CHF",
    "MOP",
    "MGA",
    "MWK",
    "MYR",
    "MVR",
    "MRU",
    "MUR",
    "XUA",
    "MXN",
    "MXV",
    "MDL",
    "MNT",
    "MAD",
    "MZN",
    "MMK",
    "NAD",
    "NPR",
    "NIO",
    "NGN",
    "MKD",
    "OMR",
    "PKR",
    "PAB",
    "PGK",
    "PYG",
    "PEN",
    "PHP",
    "PLN",
    "QAR",
    "RON",
    "RUB",
    "RWF",
    "SHP",
    "WST",
    "STN",
    "SAR",
    "RSD",
    "SCR",
    "SLE",
    "SGD",
    "XSU",
    "SBD",
    "SOS",
    "SSP",
    "LKR",
    "SDG",
    "SRD",
    "SEK",
    "CHE",
    "CHW",
    "SYP",
    "TWD",
    "TJS",
    "TZS",
    "THB",
    "TOP",
    "TTD",
    "TND",
    "TRY",
    "TMT",
    "UGX",
    "UAH",
    "AED",
    "USN",
    "UYU",
    "UYI",
    "UYW",
    "UZS",
    "VUV",
    "VES",
    "VED",
    "VND",
    "YER",
    "ZMW",
    "ZWG",
)


def _when(*names: str) -> tuple[str, tuple[str, ...]]:
    return ("name", names)


def _traits_or_properties(key: str) -> dict[str, Any]:
    return either(f"$.context.traits.{key}", f"$.properties.{key}")


_PRODUCT = {
    "product_id": f("string", required=True),
    "product_name": f("string", required=True),
    "variant_id": f("string", required=True),
    "image_url": f("string", format="uri"),
    "product_url": f("string", format="uri"),
}

COMMON: dict[str, Field] = {
    "name": f("string", required=True, choices=_NAMES),
    "external_id": f("string", path("$.userId")),
    "user_alias": f(
        "object",
        properties={
            "alias_name": f("string", required=True),
            "alias_label": f("string", required=True),
        },
    ),
    "email": f("string", _traits_or_properties("email"), format="email"),
    "phone": f("string", _traits_or_properties("phone"), allow_null=True),
    "braze_id": f("string", _traits_or_properties("braze_id"), allow_null=True),
    "cancel_reason": f("string", path("$.properties.reason"), required_if=_when(ORDER_CANCELLED)),
    "time": f("string", path("$.timestamp"), required=True, format="date-time"),
    "checkout_id": f(
        "string", path("$.properties.checkout_id"), required_if=_when(CHECKOUT_STARTED)
    ),
    "order_id": f(
        "string",
        path("$.properties.order_id"),
        required_if=_when(ORDER_PLACED, ORDER_CANCELLED, ORDER_REFUNDED),
    ),
    "cart_id": f("string", path("$.properties.cart_id"), required_if=_when(CART_UPDATED)),
    "total_value": f(
        "number",
        path("$.properties.total"),
        required_if=_when(CHECKOUT_STARTED, ORDER_PLACED, ORDER_CANCELLED, ORDER_REFUNDED),
    ),
    "action": f("string", path("$.properties.action"), choices=("add", "remove", "replace")),
    "subtotal_value": f("number", path("$.properties.subtotal")),
    "tax": f("number", path("$.properties.tax")),
    "shipping": f("number", path("$.properties.shipping")),
    "total_discounts": f("number", path("$.properties.discount")),
    "discounts": f(
        "object",
        {
            "@arrayPath": [
                "$.properties.discount_items",
                {"code": path("$.code"), "amount": path("$.amount")},
            ]
        },
        multiple=True,
        properties={"code": f("string", required=True), "amount": f("number", required=True)},
    ),
    "currency": f("string", path("$.properties.currency"), required=True, choices=CURRENCIES),
    "source": f("string", path("$.properties.source"), required=True),
    "metadata": f("object", additional_properties=True),
    "enable_batching": f("boolean", True, required=True),
    "batch_size": f("number", 75, required=True),
}

PRODUCTS = f(
    "object",
    {
        "@arrayPath": [
            "$.properties.products",
            {
                "product_id": path("$.product_id"),
                "product_name": path("$.name"),
                "variant_id": path("$.variant"),
                "image_url": path("$.image_url"),
                "product_url": path("$.url"),
                "quantity": path("$.quantity"),
                "price": path("$.price"),
            },
        ]
    },
    multiple=True,
    additional_properties=True,
    required=True,
    properties={
        **_PRODUCT,
        "quantity": f("number", required=True),
        "price": f("number", required=True),
    },
)

PRODUCT = f(
    "object",
    {
        "product_id": path("$.properties.product_id"),
        "product_name": path("$.properties.name"),
        "variant_id": path("$.properties.variant"),
        "image_url": path("$.properties.image_url"),
        "product_url": path("$.properties.url"),
        "price": path("$.properties.price"),
    },
    required=True,
    properties={**_PRODUCT, "price": f("number", required=True)},
)

CATALOG_TYPE = f(
    "string", path("$.properties.type"), multiple=True, choices=("price_drop", "back_in_stock")
)


def _validate(payload: dict[str, Any]) -> None:
    """functions.ts validate(): someone to attribute the event to, and a cart total unless the
    cart update only adds or removes."""
    if not any(
        truthy(payload.get(key))
        for key in ("braze_id", "user_alias", "external_id", "email", "phone")
    ):
        raise PayloadValidationError(
            'One of "external_id" or "user_alias" or "braze_id" or "email" or "phone" is required.'
        )
    if (
        payload["name"] == CART_UPDATED
        and not isinstance(payload.get("total_value"), int | float)
        and payload.get("action") not in ("add", "remove")
    ):
        raise PayloadValidationError(
            'total_value is required for cart_updated events unless action is "add" or "remove".'
        )


def _products(payload: dict[str, Any]) -> list[dict[str, Any]]:
    # Declared product keys stay at the top of each product; the rest become its metadata.
    declared = (
        "quantity",
        "product_id",
        "product_name",
        "variant_id",
        "price",
        "image_url",
        "product_url",
    )
    products = []
    for product in payload.get("products") or []:
        item = {key: product[key] for key in declared if key in product}
        metadata = {key: value for key, value in product.items() if key not in declared}
        products.append({**item, **({"metadata": metadata} if metadata else {})})
    return products


def _numbers(payload: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {
        key: payload[key]
        for key in keys
        if isinstance(payload.get(key), int | float) and not isinstance(payload.get(key), bool)
    }


def _truthy(payload: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {key: payload[key] for key in keys if truthy(payload.get(key))}


def _event(payload: dict[str, Any], settings: Mapping[str, Any]) -> dict[str, Any]:
    """functions.ts getJSONItem for the default sync mode ("add")."""
    name = payload["name"]
    moment = parse_date(payload["time"])
    alias = payload.get("user_alias") or {}
    base = {
        **_truthy(payload, "external_id", "braze_id", "email", "phone", "user_alias"),
        **({"app_id": settings["app_id"]} if truthy(settings.get("app_id")) else {}),
        "name": name,
        "time": iso_string(moment) if moment else None,
        "properties": {
            "currency": payload["currency"],
            "source": payload["source"],
            **_truthy(payload, "metadata"),
        },
        # Sending to an alias only updates an existing profile.
        **(
            {"_update_existing_only": True}
            if alias.get("alias_label") and alias.get("alias_name")
            else {}
        ),
    }
    properties = base["properties"]
    if name == PRODUCT_VIEWED:
        kinds = payload.get("catalog_type") or []
        properties.update({**payload["product"], **({"type": kinds} if kinds else {})})
        return base
    properties.update({"products": _products(payload), "total_value": payload.get("total_value")})
    if name == CART_UPDATED:
        properties.update(
            {
                "cart_id": payload.get("cart_id"),
                **_truthy(payload, "action"),
                **_numbers(payload, "subtotal_value", "tax", "shipping"),
            }
        )
    elif name == CHECKOUT_STARTED:
        properties.update(
            {
                "checkout_id": payload.get("checkout_id"),
                **_truthy(payload, "cart_id"),
                **_numbers(payload, "subtotal_value", "tax", "shipping"),
            }
        )
    elif name == ORDER_PLACED:
        properties.update(
            {
                "order_id": payload.get("order_id"),
                **_truthy(payload, "cart_id"),
                **_numbers(payload, "subtotal_value", "tax", "shipping", "total_discounts"),
                **_truthy(payload, "discounts"),
            }
        )
    elif name == ORDER_REFUNDED:
        properties.update(
            {
                "order_id": payload.get("order_id"),
                **_numbers(payload, "total_discounts"),
                **_truthy(payload, "discounts"),
            }
        )
    else:
        properties.update(
            {
                "order_id": payload.get("order_id"),
                "cancel_reason": payload.get("cancel_reason"),
                **_numbers(payload, "subtotal_value", "tax", "shipping", "total_discounts"),
                **_truthy(payload, "discounts"),
            }
        )
    # JSON.stringify leaves out what is undefined.
    base["properties"] = {key: value for key, value in properties.items() if value is not None}
    return base


def _send(title: str) -> Any:
    def perform(payload: dict[str, Any], settings: Mapping[str, Any]) -> list[Request]:
        _validate(payload)
        headers = {"Authorization": f"Bearer {settings.get('api_key', '')}"}
        # enable_batching is on by default: Segment then calls performBatch, which marks the
        # request as a batch even for one event (functions.ts send).
        if payload.get("enable_batching"):
            headers["X-Braze-Batch"] = "true"
        return [
            request(
                title,
                "POST",
                f"{settings.get('endpoint')}/users/track",
                {"events": [_event(payload, settings)]},
                headers,
            )
        ]

    return perform


ECOMMERCE = ActionSpec(
    "ecommerce",
    "Ecommerce Event (multi product)",
    {**COMMON, "products": PRODUCTS},
    _send("Ecommerce Event (multi product)"),
)
ECOMMERCE_SINGLE_PRODUCT = ActionSpec(
    "ecommerceSingleProduct",
    "Ecommerce Event (single product)",
    {**COMMON, "catalog_type": CATALOG_TYPE, "product": PRODUCT},
    _send("Ecommerce Event (single product)"),
)
