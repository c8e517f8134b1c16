"""The property names of Segment's semantic events, from the spec pages of segment-docs:
- DOCS connections/spec/ecommerce/v2.md (e-commerce v2),
- DOCS connections/spec/video.md (playback, content and ad events; Video Quality Updated),
- DOCS connections/spec/mobile.md (application lifecycle and campaign events),
- DOCS connections/spec/b2b-saas.md (accounts, sign-up, trials),
- DOCS connections/spec/track.md (revenue, currency, value: reserved on every track call),
- DOCS connections/spec/identify.md and group.md (reserved traits).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class SpecEvent:
    page: str
    properties: frozenset[str]
    # Properties that are lists of objects (products) or objects (campaign), and their keys.
    nested: Mapping[str, frozenset[str]] = field(default_factory=dict)


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


ECOMMERCE = "connections/spec/ecommerce/v2.md"
VIDEO = "connections/spec/video.md"
MOBILE = "connections/spec/mobile.md"
B2B = "connections/spec/b2b-saas.md"

_PRODUCT = _names(
    "product_id sku category name brand variant price quantity coupon position url image_url"
)
_ORDER = _names("order_id affiliation total revenue shipping tax discount coupon currency products")
_CHECKOUT_STEP = _names("checkout_id step shipping_method payment_method")
_COUPON = _names("order_id cart_id coupon_id coupon_name discount")
_WISHLIST = _names("wishlist_id wishlist_name") | _PRODUCT
_PROMOTION = _names("promotion_id creative name position")
_PRODUCTS = {"products": _PRODUCT}
_PLAYBACK = _names(
    "session_id content_asset_id content_asset_ids content_pod_id "
    "content_pod_ids ad_asset_id ad_pod_id ad_type position total_length bitrate "
    "framerate video_player sound full_screen ad_enabled quality method "
    "livestream seek_position"
)
_CONTENT = _names(
    "session_id asset_id pod_id title description keywords season episode genre "
    "program publisher position total_length channel full_episode livestream "
    "airdate bitrate framerate"
)
_AD = _names(
    "session_id asset_id pod_id pod_position pod_length type title publisher position "
    "total_length load_type content quartile"
)
_CAMPAIGN = {"campaign": _names("name medium content source")}
_TRIAL = _names("trial_start_date trial_end_date trial_plan_name")

SPEC_EVENTS: dict[str, SpecEvent] = {
    "Products Searched": SpecEvent(ECOMMERCE, _names("query")),
    "Product List Viewed": SpecEvent(ECOMMERCE, _names("list_id category products"), _PRODUCTS),
    "Product List Filtered": SpecEvent(
        ECOMMERCE,
        _names("list_id category filters sorts products"),
        {**_PRODUCTS, "filters": _names("type value"), "sorts": _names("type value")},
    ),
    "Promotion Viewed": SpecEvent(ECOMMERCE, _PROMOTION),
    "Promotion Clicked": SpecEvent(ECOMMERCE, _PROMOTION),
    "Product Clicked": SpecEvent(ECOMMERCE, _PRODUCT),
    "Product Viewed": SpecEvent(ECOMMERCE, _PRODUCT | _names("currency value")),
    "Product Added": SpecEvent(ECOMMERCE, _PRODUCT | _names("cart_id")),
    "Product Removed": SpecEvent(ECOMMERCE, _PRODUCT | _names("cart_id")),
    "Cart Viewed": SpecEvent(ECOMMERCE, _names("cart_id products"), _PRODUCTS),
    "Checkout Started": SpecEvent(ECOMMERCE, _ORDER | _names("value"), _PRODUCTS),
    "Checkout Step Viewed": SpecEvent(ECOMMERCE, _CHECKOUT_STEP),
    "Checkout Step Completed": SpecEvent(ECOMMERCE, _CHECKOUT_STEP),
    "Payment Info Entered": SpecEvent(ECOMMERCE, _CHECKOUT_STEP | _names("order_id")),
    "Order Updated": SpecEvent(ECOMMERCE, _ORDER, _PRODUCTS),
    "Order Completed": SpecEvent(ECOMMERCE, _ORDER | _names("checkout_id subtotal"), _PRODUCTS),
    "Order Refunded": SpecEvent(ECOMMERCE, _ORDER, _PRODUCTS),
    "Order Cancelled": SpecEvent(ECOMMERCE, _ORDER, _PRODUCTS),
    "Coupon Entered": SpecEvent(ECOMMERCE, _names("order_id cart_id coupon_id")),
    "Coupon Applied": SpecEvent(ECOMMERCE, _COUPON),
    "Coupon Denied": SpecEvent(ECOMMERCE, _COUPON | _names("reason")),
    "Coupon Removed": SpecEvent(ECOMMERCE, _COUPON),
    "Product Added to Wishlist": SpecEvent(ECOMMERCE, _WISHLIST),
    "Product Removed from Wishlist": SpecEvent(ECOMMERCE, _WISHLIST),
    "Wishlist Product Added to Cart": SpecEvent(ECOMMERCE, _WISHLIST | _names("cart_id")),
    "Product Shared": SpecEvent(ECOMMERCE, _PRODUCT | _names("share_via share_message recipient")),
    "Cart Shared": SpecEvent(
        ECOMMERCE, _names("share_via share_message recipient cart_id products"), _PRODUCTS
    ),
    "Product Reviewed": SpecEvent(ECOMMERCE, _names("product_id review_id review_body rating")),
    **{
        f"Video Playback {action}": SpecEvent(VIDEO, _PLAYBACK)
        for action in (
            "Started",
            "Paused",
            "Interrupted",
            "Buffer Started",
            "Buffer Completed",
            "Seek Started",
            "Seek Completed",
            "Resumed",
            "Completed",
            "Exited",
        )
    },
    **{
        f"Video Content {action}": SpecEvent(VIDEO, _CONTENT)
        for action in ("Started", "Playing", "Completed")
    },
    **{
        f"Video Ad {action}": SpecEvent(VIDEO, _AD)
        for action in ("Started", "Playing", "Completed")
    },
    # The page lists these in camelCase, and so they are the spec's names.
    "Video Quality Updated": SpecEvent(
        VIDEO, _names("session_id bitrate framerate startupTime droppedFrames")
    ),
    "Application Installed": SpecEvent(MOBILE, _names("version build")),
    "Application Opened": SpecEvent(
        MOBILE, _names("from_background url referring_application version build")
    ),
    "Application Backgrounded": SpecEvent(MOBILE, frozenset()),
    "Application Foregrounded": SpecEvent(MOBILE, frozenset()),
    "Application Updated": SpecEvent(
        MOBILE, _names("previous_version previous_build version build")
    ),
    "Application Uninstalled": SpecEvent(MOBILE, frozenset()),
    "Application Crashed": SpecEvent(MOBILE, frozenset()),
    "Install Attributed": SpecEvent(
        MOBILE,
        _names("provider campaign"),
        {"campaign": _CAMPAIGN["campaign"] | _names("ad_creative ad_group")},
    ),
    "Push Notification Received": SpecEvent(MOBILE, _names("campaign"), _CAMPAIGN),
    "Push Notification Tapped": SpecEvent(MOBILE, _names("action campaign"), _CAMPAIGN),
    "Push Notification Bounced": SpecEvent(MOBILE, _names("action campaign"), _CAMPAIGN),
    "Deep Link Opened": SpecEvent(MOBILE, _names("provider url")),
    "Deep Link Clicked": SpecEvent(MOBILE, _names("provider url")),
    "Account Created": SpecEvent(B2B, _names("account_name")),
    "Account Deleted": SpecEvent(B2B, _names("account_name")),
    "Signed Up": SpecEvent(B2B, _names("type first_name last_name email phone username title")),
    "Signed In": SpecEvent(B2B, _names("username")),
    "Signed Out": SpecEvent(B2B, _names("username")),
    "Invite Sent": SpecEvent(
        B2B, _names("invitee_email invitee_first_name invitee_last_name invitee_role")
    ),
    "Account Added User": SpecEvent(B2B, _names("role")),
    "Account Removed User": SpecEvent(B2B, frozenset()),
    "Trial Started": SpecEvent(B2B, _TRIAL),
    "Trial Ended": SpecEvent(B2B, _TRIAL),
}

# DOCS connections/spec/track.md: properties with a meaning on every track call.
TRACK_RESERVED = _names("revenue currency value")
# DOCS connections/spec/identify.md and group.md: reserved traits, spelled as Segment does.
IDENTIFY_TRAITS = _names(
    "address age avatar birthday company createdAt description email "
    "firstName gender id lastName name phone title username website"
)
GROUP_TRAITS = _names(
    "address avatar createdAt description email employees id industry name phone website plan"
)
