"""Mixpanel (Actions): what api.mixpanel.com receives for each Segment call.

Sources (segmentio/action-destinations, packages/destination-actions/src/destinations/mixpanel):
- index.ts: the quick-setup presets (subscriptions, and the page/screen `Viewed {{name}}`
  override), settings (projectToken, apiSecret, apiRegion, strictMode, sourceName);
- trackEvent/index.ts, trackEvent/functions.ts: POST /import?strict=1, Basic auth with the
  secret (or the project token), `time` in epoch ms, the `$`-prefixed reserved properties;
- trackPurchase/index.ts: Order Completed, plus one "Product Purchased" per product;
- identifyUser/index.ts: `$identify` on /track, then `$set` on /engage (form bodies);
- groupIdentifyUser/index.ts: `$set` on /groups; alias/index.ts: `$create_alias` on /track;
- common/utils.ts: regional hosts, the Import API credential, getConcatenatedName.
Doc page: segment-docs src/connections/destinations/catalog/actions-mixpanel/index.md.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from segemu.destinations.base import Request
from segemu.destinations.presets._fields import ActionSpec, catalog, either, f, path, preset
from segemu.destinations.presets._support import (
    MISSING,
    IntegrationError,
    basic_auth,
    defined,
    epoch_ms,
    first,
    omit,
    parse_date,
    request,
    truthy,
)
from segemu.destinations.presets.mixpanel_properties import (
    EVENT_PROPERTIES,
    PRODUCTS,
    browser,
    browser_version,
)

_HOSTS = {"EU": "https://api-eu.mixpanel.com", "IN": "https://api-in.mixpanel.com"}
_RESERVED = ("time", "id", "$anon_id", "distinct_id", "$group_id", "$insert_id", "$user_id")
_ORDER_KEYS = (
    "affiliation",
    "subtotal",
    "total",
    "revenue",
    "shipping",
    "tax",
    "discount",
    "coupon",
    "currency",
    "order_number",
    "products",
)
_SPECIAL_TRAITS = (
    "created",
    "createdAt",
    "created_at",
    "email",
    "firstName",
    "lastName",
    "name",
    "username",
    "phone",
)


def _host(settings: Mapping[str, Any]) -> str:
    # The settings' choices are "US 🇺🇸", "EU 🇪🇺" and "IN 🇮🇳"; segemu also takes the bare
    # code. Anything else is the US host, as getApiServerUrl does.
    region = str(settings.get("apiRegion") or "").split(" ")[0].upper()
    return _HOSTS.get(region, "https://api.mixpanel.com")


def _time(value: Any) -> int:
    moment = parse_date(value) if truthy(value) else None
    return epoch_ms(moment or datetime.now(UTC))


def _cheap_guid() -> str:
    alphabet = string.ascii_lowercase + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(16))


def _event_properties(payload: dict[str, Any], settings: Mapping[str, Any]) -> dict[str, Any]:
    """trackEvent/functions.ts getEventProperties, key for key and in the same order."""
    value = payload.get
    user_agent = value("userAgent", MISSING)
    agent_browser: Any = MISSING
    agent_version: Any = MISSING
    if truthy(user_agent):
        agent_browser = browser(user_agent)
        agent_version = browser_version(user_agent) or MISSING
    context = value("context")
    integration = context.get("integration") if isinstance(context, dict) else None
    utm = value("utm_properties") or {}
    agent_data = value("userAgentData") or {}
    library = value("library_name", MISSING)
    return defined(
        {
            "time": _time(value("time", MISSING)),
            "ip": value("ip", MISSING),
            "id": value("distinct_id", MISSING),
            "$anon_id": value("anonymous_id", MISSING),
            # An event without a user is sent with "" (the Import API requires the key).
            "distinct_id": first(value("distinct_id", MISSING), ""),
            "$app_build_number": value("app_build", MISSING),
            "$app_version_string": value("app_version", MISSING),
            "$app_namespace": value("app_namespace", MISSING),
            "$app_name": value("app_name", MISSING),
            "$browser": agent_browser,
            "$browser_version": agent_version,
            "$bluetooth_enabled": value("bluetooth", MISSING),
            "$cellular_enabled": value("cellular", MISSING),
            "$carrier": value("carrier", MISSING),
            "$current_url": value("url", MISSING),
            "$device": value("device_name", MISSING),
            # The anonymous id, not context.device.id: that is what getEventProperties sends.
            "$device_id": value("anonymous_id", MISSING),
            "$device_type": value("device_type", MISSING),
            "$device_name": value("device_name", MISSING),
            "$group_id": value("group_id", MISSING),
            "$identified_id": value("user_id", MISSING),
            "$insert_id": payload["insert_id"] if "insert_id" in payload else _cheap_guid(),
            "$ios_ifa": value("idfa", MISSING),
            "$lib_version": value("library_version", MISSING),
            "$locale": value("language", MISSING),
            "$manufacturer": value("device_manufacturer", MISSING),
            "$model": value("device_model", MISSING),
            "$os": value("os_name", MISSING),
            "$os_version": value("os_version", MISSING),
            "$referrer": value("referrer", MISSING),
            "$screen_height": value("screen_height", MISSING),
            "$screen_width": value("screen_width", MISSING),
            "$screen_density": value("screen_density", MISSING),
            "$source": "Iterable"
            if isinstance(integration, dict) and integration.get("name") == "Iterable"
            else "segment",
            "$user_id": value("user_id", MISSING),
            "$wifi_enabled": value("wifi", MISSING),
            "mp_country_code": value("country", MISSING),
            "mp_lib": f"Segment Actions: {library}" if truthy(library) else library,
            "segment_source_name": settings.get("sourceName", MISSING),
            **{
                key: utm.get(key, MISSING)
                for key in ("utm_campaign", "utm_content", "utm_medium", "utm_source", "utm_term")
            },
            "advertising_id": value("advertising_id", MISSING),
            "ad_tracking_enabled": value("ad_tracking_enabled", MISSING),
            "timezone": value("timezone", MISSING),
            "app_platform": value("app_platform", MISSING),
            "event_original_name": value("name", MISSING),
            **{
                f"${key}": agent_data.get(key, MISSING)
                for key in (
                    "mobile",
                    "platform",
                    "bitness",
                    "platformVersion",
                    "uaFullVersion",
                    "wow64",
                )
            },
            **omit(value("event_properties"), _RESERVED),
        }
    )


def _import(
    action: str, events: list[dict[str, Any]], settings: Mapping[str, Any]
) -> list[Request]:
    # The Import API authenticates with the project secret, or the token when there is none.
    credential = str(settings.get("apiSecret") or settings.get("projectToken") or "")
    strict = settings.get("strictMode") or "1"
    return [
        request(
            action,
            "POST",
            f"{_host(settings)}/import?strict={strict}",
            events,
            {"Authorization": basic_auth(credential)},
        )
    ]


def _track_event(payload: dict[str, Any], settings: Mapping[str, Any]) -> list[Request]:
    event = {"event": payload["event"], "properties": _event_properties(payload, settings)}
    return _import("Track Event", [event], settings)


def _track_purchase(payload: dict[str, Any], settings: Mapping[str, Any]) -> list[Request]:
    order = {"event": payload["event"], "properties": _event_properties(payload, settings)}
    events = [order]
    products = payload.get("products")
    if products is not None and payload.get("generatePurchaseEventPerProduct"):
        # Each product is its own event, a millisecond further back than the last, with an
        # insert id of its index before the order's.
        time = _time(payload.get("time", MISSING))
        insert_id = payload.get("insert_id") or _cheap_guid()
        for index, product in enumerate(products):
            events.append(
                {
                    "event": "Product Purchased",
                    "properties": {
                        **omit(order["properties"], _ORDER_KEYS),
                        "$insert_id": f"{index}{insert_id}",
                        "time": time - index - 1,
                        **product,
                    },
                }
            )
    return _import("Track Purchase", events, settings)


def _token(settings: Mapping[str, Any]) -> str:
    token = settings.get("projectToken")
    if not token:
        raise IntegrationError("Missing project token", "Missing required field")
    return str(token)


def _identify_user(payload: dict[str, Any], settings: Mapping[str, Any]) -> list[Request]:
    token, host = _token(settings), _host(settings)
    requests: list[Request] = []
    if truthy(payload.get("anonymous_id")):
        data = {
            "event": "$identify",
            "properties": defined(
                {
                    "$identified_id": payload.get("user_id", MISSING),
                    "$anon_id": payload["anonymous_id"],
                    "token": token,
                    "segment_source_name": settings.get("sourceName", MISSING),
                }
            ),
        }
        requests.append(
            request("Identify User", "POST", f"{host}/track", {"data": data}, form=True)
        )
    traits = payload.get("traits")
    if isinstance(traits, dict) and traits:
        name = first(traits.get("name", MISSING))
        if name is MISSING and truthy(traits.get("firstName")) and truthy(traits.get("lastName")):
            name = f"{traits['firstName']} {traits['lastName']}"
        reserved = {
            "$created": first(
                traits.get("created", MISSING),
                traits.get("createdAt", MISSING),
                traits.get("created_at", MISSING),
            ),
            "$email": traits.get("email", MISSING),
            "$first_name": traits.get("firstName", MISSING),
            "$last_name": traits.get("lastName", MISSING),
            "$name": name,
            "$username": traits.get("username", MISSING),
            "$phone": traits.get("phone", MISSING),
        }
        data = defined(
            {
                "$token": token,
                "$distinct_id": first(
                    payload.get("user_id", MISSING), payload.get("anonymous_id", MISSING)
                ),
                "$ip": payload.get("ip", MISSING),
                "$set": defined({**omit(traits, _SPECIAL_TRAITS), **reserved}),
            }
        )
        requests.append(
            request("Identify User", "POST", f"{host}/engage", {"data": data}, form=True)
        )
    return requests


def _group_identify_user(payload: dict[str, Any], settings: Mapping[str, Any]) -> list[Request]:
    group_key = payload.get("group_key") or "$group_id"
    traits = payload.get("traits")
    if not isinstance(traits, dict):
        raise IntegrationError('"traits" is a required field', "Missing required fields")
    # The classic integration took the group id from the trait named like the group key.
    group_id = traits.get(group_key) if truthy(traits.get(group_key)) else payload["group_id"]
    group_traits = defined(
        {
            **omit(traits, ("created", "createdAt", "created_at", "name")),
            "$name": traits.get("name", MISSING),
            "$created": first(
                traits.get("created", MISSING),
                traits.get("createdAt", MISSING),
                traits.get("created_at", MISSING),
            ),
        }
    )
    data = {
        "$token": settings.get("projectToken", MISSING),
        "$group_key": group_key,
        "$group_id": group_id,
        "$set": group_traits,
    }
    return [
        request(
            "Group Identify User",
            "POST",
            f"{_host(settings)}/groups",
            {"data": defined(data)},
            form=True,
        )
    ]


def _alias(payload: dict[str, Any], settings: Mapping[str, Any]) -> list[Request]:
    data = {
        "event": "$create_alias",
        "properties": defined(
            {
                "distinct_id": payload.get("distinct_id", MISSING),
                "alias": payload.get("alias", MISSING),
                "token": settings.get("projectToken", MISSING),
                "segment_source_name": settings.get("sourceName", MISSING),
            }
        ),
    }
    return [request("Alias", "POST", f"{_host(settings)}/track", {"data": data}, form=True)]


TRACK_EVENT = ActionSpec(
    "trackEvent",
    "Track Event",
    {"event": f("string", path("$.event"), required=True), **EVENT_PROPERTIES},
    _track_event,
    'type = "track"',
)
TRACK_PURCHASE = ActionSpec(
    "trackPurchase",
    "Track Purchase",
    {
        "generatePurchaseEventPerProduct": f("boolean", True),
        **EVENT_PROPERTIES,
        **PRODUCTS,
        "event": f("string", path("$.event"), required=True),
    },
    _track_purchase,
    'type = "track"',
)
IDENTIFY_USER = ActionSpec(
    "identifyUser",
    "Identify User",
    {
        "ip": f("string", path("$.context.ip")),
        "user_id": f("string", path("$.userId"), allow_null=True),
        "anonymous_id": f("string", path("$.anonymousId"), allow_null=True),
        "traits": f("object", path("$.traits")),
    },
    _identify_user,
    'type = "identify"',
)
GROUP_IDENTIFY_USER = ActionSpec(
    "groupIdentifyUser",
    "Group Identify User",
    {
        "group_key": f("string"),
        "group_id": f("string", path("$.groupId"), required=True),
        "traits": f("object", path("$.traits")),
    },
    _group_identify_user,
    'type = "group"',
)
# Alias has no default subscription in action-destinations; segemu gives it alias calls, the
# only calls its default mapping (previousId to userId) makes sense for.
ALIAS = ActionSpec(
    "alias",
    "Alias",
    {
        "alias": f("string", either("$.userId", "$.anonymousId"), allow_null=True),
        "distinct_id": f("string", path("$.previousId")),
    },
    _alias,
    'type = "alias"',
)

_VIEWED = {"event": {"@template": "Viewed {{name}}"}}

PRESET = preset(
    slug="mixpanel",
    name="Mixpanel (Actions)",
    # segment-docs src/_data/catalog/destinations.yml previous_names: the names the
    # integrations object accepts for this destination.
    aliases=("Mixpanel (Actions)",),
    # index.ts presets (the quick setup), in order, named as the workspace names them.
    actions=(
        TRACK_EVENT.action('type = "track" and event != "Order Completed"', "Track Calls"),
        TRACK_PURCHASE.action(
            'type = "track" and event = "Order Completed"', "Order Completed Calls"
        ),
        TRACK_EVENT.action('type = "page"', "Page Calls", _VIEWED),
        TRACK_EVENT.action('type = "screen"', "Screen Calls", _VIEWED),
        IDENTIFY_USER.action('type = "identify"', "Identify Calls"),
        GROUP_IDENTIFY_USER.action('type = "group"', "Group Calls"),
    ),
    settings={"projectToken": "segemu-mixpanel-token", "apiRegion": "US 🇺🇸", "strictMode": "1"},
    sources=(
        "action-destinations packages/destination-actions/src/destinations/mixpanel/",
        "segment-docs src/connections/destinations/catalog/actions-mixpanel/index.md",
    ),
)

# Every action segemu models, at its own default subscription: for config that enables one the
# quick setup leaves out (Alias), or replaces a mapping.
ACTIONS = catalog(
    PRESET.settings, TRACK_EVENT, TRACK_PURCHASE, IDENTIFY_USER, GROUP_IDENTIFY_USER, ALIAS
)
