"""Google Analytics 4 Cloud: the fields its actions share, and their default mappings.

Source: segmentio/action-destinations, packages/destination-actions/src/destinations/
google-analytics-4/ga4-properties.ts (shared fields, item shapes) and each action's index.ts
(which fields it declares, which are required, the defaults it overrides).
"""

from __future__ import annotations

from segemu.destinations.presets._fields import Field, either, f, path

_ITEM: dict[str, Field] = {
    **{key: f("string") for key in ("item_id", "item_name", "affiliation", "coupon", "currency")},
    "discount": f("number"),
    "index": f("number"),
    **{
        key: f("string")
        for key in (
            "item_brand",
            "item_category",
            "item_category2",
            "item_category3",
            "item_category4",
            "item_category5",
            "item_list_id",
            "item_list_name",
            "item_variant",
            "location_id",
        )
    },
    "price": f("number"),
    "quantity": f("integer"),
}
_PROMOTION_ITEM: dict[str, Field] = {
    **_ITEM,
    **{
        key: f("string")
        for key in ("creative_name", "creative_slot", "promotion_name", "promotion_id")
    },
}

# Segment spec product -> GA4 item (ga4-properties.ts items_single_products/_multi_products).
_ITEM_MAPPING = {
    "item_id": path("$.product_id"),
    "item_name": path("$.name"),
    "affiliation": path("$.affiliation"),
    "coupon": path("$.coupon"),
}
_ITEM_MAPPING_TAIL = {
    "item_brand": path("$.brand"),
    "item_category": path("$.category"),
    "item_variant": path("$.variant"),
    "price": path("$.price"),
    "quantity": path("$.quantity"),
}
SINGLE_PRODUCT = {"@arrayPath": ["$.properties", {**_ITEM_MAPPING, **_ITEM_MAPPING_TAIL}]}
MULTI_PRODUCTS = {
    "@arrayPath": [
        "$.properties.products",
        {**_ITEM_MAPPING, "index": path("$.position"), **_ITEM_MAPPING_TAIL},
    ]
}


def items(default: object, *, required: bool = False, promotion: bool = False) -> Field:
    return f(
        "object",
        default,
        multiple=True,
        additional_properties=True,
        required=required,
        properties=_PROMOTION_ITEM if promotion else _ITEM,
    )


_CONSENT = ("GRANTED", "DENIED")

# Every action starts with these, in this order...
HEAD: dict[str, Field] = {
    "data_stream_type": f("string", "Web", choices=("Web", "Mobile App")),
    "app_instance_id": f("string"),
    "client_id": f("string", either("$.userId", "$.anonymousId")),
    # No default: GA4's User-ID is opt-in (doc page, "User identification").
    "user_id": f("string"),
    "timestamp_micros": f("string", path("$.timestamp")),
}
# ... and ends with these.
TAIL: dict[str, Field] = {
    "user_properties": f("object", additional_properties=True),
    # The doc page: 1 by default, so that GA4 counts the user as active.
    "engagement_time_msec": f("number", 1),
    "params": f("object", additional_properties=True),
    "ad_user_data_consent": f("string", choices=_CONSENT),
    "ad_personalization_consent": f("string", choices=_CONSENT),
}

CURRENCY = f("string", path("$.properties.currency"))
VALUE = f("number", path("$.properties.value"))
TOTAL_VALUE = f("number", path("$.properties.total"))
COUPON = f("string")
SPEC_COUPON = f("string", path("$.properties.coupon"))
TRANSACTION_ID = f("string", path("$.properties.order_id"), required=True)
AFFILIATION = f("string", path("$.properties.affiliation"))
SHIPPING = f("number", path("$.properties.shipping"))
TAX = f("number", path("$.properties.tax"))
PROMOTION: dict[str, Field] = {
    "creative_name": f("string"),
    "creative_slot": f("string", path("$.properties.creative")),
}
PROMOTION_IDS: dict[str, Field] = {
    "promotion_id": f("string", path("$.properties.promotion_id")),
    "promotion_name": f("string", path("$.properties.name")),
}
