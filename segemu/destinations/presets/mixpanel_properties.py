"""Mixpanel (Actions): the event fields shared by Track Event and Track Purchase, and the
browser detection their perform applies to the user agent.

Sources (segmentio/action-destinations, packages/destination-actions/src/destinations/mixpanel):
mixpanel-properties.ts (fields and default mappings), common/utils.ts (getBrowser,
getBrowserVersion, API regions).
"""

from __future__ import annotations

import re

from segemu.destinations.presets._fields import Field, either, f, path

_USER_AGENT_DATA = (
    "mobile",
    "platform",
    "architecture",
    "bitness",
    "model",
    "platformVersion",
    "uaFullVersion",
    "wow64",
)

EVENT_PROPERTIES: dict[str, Field] = {
    "distinct_id": f("string", either("$.userId", "$.anonymousId")),
    "anonymous_id": f("string", path("$.anonymousId")),
    "user_id": f("string", path("$.userId")),
    "group_id": f("string", path("$.context.groupId")),
    "insert_id": f("string", path("$.messageId")),
    "time": f("datetime", path("$.timestamp")),
    "app_name": f("string", path("$.context.app.name")),
    "app_namespace": f("string", path("$.context.app.namespace")),
    "app_build": f("string", path("$.context.app.build")),
    "app_version": f("string", path("$.context.app.version")),
    "os_name": f("string", path("$.context.os.name")),
    "os_version": f("string", path("$.context.os.version")),
    "device_id": f("string", path("$.context.device.id")),
    "device_type": f("string", path("$.context.device.type")),
    "device_name": f("string", path("$.context.device.name")),
    "device_manufacturer": f("string", path("$.context.device.manufacturer")),
    "device_model": f("string", path("$.context.device.model")),
    "bluetooth": f("boolean", path("$.context.network.bluetooth")),
    "carrier": f("string", path("$.context.network.carrier")),
    "cellular": f("boolean", path("$.context.network.cellular")),
    "wifi": f("boolean", path("$.context.network.wifi")),
    "country": f("string", path("$.context.location.country")),
    "region": f("string", path("$.context.location.region")),
    "language": f("string", path("$.context.locale")),
    "library_name": f("string", path("$.context.library.name")),
    "library_version": f("string", path("$.context.library.version")),
    "ip": f("string", path("$.context.ip")),
    "idfa": f("string", either("$.context.device.advertisingId", "$.context.device.idfa")),
    "url": f("string", path("$.context.page.url")),
    "screen_width": f("number", path("$.context.screen.width")),
    "screen_height": f("number", path("$.context.screen.height")),
    "screen_density": f("number", path("$.context.screen.density")),
    "referrer": f("string", path("$.context.page.referrer")),
    "userAgent": f("string", path("$.context.userAgent")),
    "advertising_id": f("string", path("$.context.device.advertisingId")),
    # A string field: a boolean adTrackingEnabled arrives as "true"/"false" (Ajv coercion).
    "ad_tracking_enabled": f("string", path("$.context.device.adTrackingEnabled")),
    "timezone": f("string", path("$.context.timezone")),
    "app_platform": f("string", path("$.context.app.platform")),
    "name": f("string", either("$.event", "$.name")),
    "event_properties": f("object", path("$.properties")),
    "context": f("object", path("$.context")),
    "utm_properties": f(
        "object",
        {
            f"utm_{key}": path(f"$.context.campaign.{source}")
            for key, source in (
                ("source", "source"),
                ("medium", "medium"),
                ("campaign", "name"),
                ("term", "term"),
                ("content", "content"),
            )
        },
        properties={
            f"utm_{key}": f("string") for key in ("source", "medium", "campaign", "term", "content")
        },
    ),
    "enable_batching": f("boolean", True),
    "batch_size": f("number", 1000),
    "userAgentData": f(
        "object",
        {key: path(f"$.context.userAgentData.{key}") for key in _USER_AGENT_DATA},
        properties={
            key: f("boolean" if key in ("mobile", "wow64") else "string")
            for key in _USER_AGENT_DATA
        },
    ),
}

_PRODUCT = {
    **{key: f("string") for key in ("product_id", "sku", "category", "name", "brand", "variant")},
    "price": f("number"),
    "quantity": f("integer"),
    "coupon": f("string"),
    "position": f("number"),
    "url": f("string"),
    "image_url": f("string"),
}

PRODUCTS: dict[str, Field] = {
    "products": f(
        "object",
        {"@arrayPath": ["$.properties.products", {key: path(key) for key in _PRODUCT}]},
        multiple=True,
        additional_properties=True,
        properties=_PRODUCT,
    ),
}

# common/utils.ts getBrowser: substring tests in this order, first match wins.
_BROWSERS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern))
    for name, pattern in (
        ("Opera Mini", r" OPR/.*Mini|Mini.* OPR/"),
        ("Opera", r" OPR/"),
        ("BlackBerry", r"(?i)BlackBerry|PlayBook|BB10"),
        ("Internet Explorer Mobile", r"IEMobile|WPDesktop"),
        ("Samsung Internet", r"SamsungBrowser/"),
        ("Microsoft Edge", r"Edge|Edg/"),
        ("Facebook Mobile", r"FBIOS"),
        ("Chrome", r"Chrome"),
        ("Chrome iOS", r"CriOS"),
        ("UC Browser", r"UCWEB|UCBrowser"),
        ("Firefox iOS", r"FxiOS"),
        ("Mobile Safari", r"Safari.*iPhone|iPhone.*Safari"),
        ("Safari", r"Safari"),
        ("Android Mobile", r"Android"),
        ("Konqueror", r"Konqueror"),
        ("Firefox", r"Firefox"),
        ("Internet Explorer", r"MSIE|Trident/"),
        ("Mozilla", r"Gecko"),
    )
)

# common/utils.ts getBrowserVersion: the version is the second-to-last match group.
_VERSIONS: dict[str, re.Pattern[str]] = {
    name: re.compile(pattern)
    for name, pattern in (
        ("Internet Explorer Mobile", r"rv:(\d+(\.\d+)+)"),
        ("Microsoft Edge", r"Edge?\/(\d+(\.\d+)+)"),
        ("Chrome", r"Chrome\/(\d+(\.\d+)+)"),
        ("Chrome iOS", r"CriOS\/(\d+(\.\d+)+)"),
        ("UC Browser", r"(UCBrowser|UCWEB)\/(\d+(\.\d+)+)"),
        ("Safari", r"Version\/(\d+(\.\d+)+)"),
        ("Mobile Safari", r"Version\/(\d+(\.\d+)+)"),
        ("Opera", r"(Opera|OPR)\/(\d+(\.\d+)+)"),
        ("Firefox", r"Firefox\/(\d+(\.\d+)+)"),
        ("Firefox iOS", r"FxiOS\/(\d+(\.\d+)+)"),
        ("Konqueror", r"Konqueror:(\d+(\.\d+)+)"),
        ("BlackBerry", r"BlackBerry (\d+(\.\d+)+)"),
        ("Android Mobile", r"android\s(\d+(\.\d+)+)"),
        ("Samsung Internet", r"SamsungBrowser\/(\d+(\.\d+)+)"),
        ("Internet Explorer", r"(rv:|MSIE )(\d+(\.\d+)+)"),
        ("Mozilla", r"rv:(\d+(\.\d+)+)"),
    )
}


def browser(user_agent: str) -> str:
    for name, pattern in _BROWSERS:
        if pattern.search(user_agent):
            return name
    return ""


def browser_version(user_agent: str) -> str | None:
    pattern = _VERSIONS.get(browser(user_agent))
    match = pattern.search(user_agent) if pattern else None
    if match is None:
        return None
    groups = (match.group(0), *match.groups())
    return groups[len(groups) - 2]
