"""Actions Amplitude: what Amplitude's HTTP V2, Identify, Group Identify and User Mapping APIs
receive for each Segment call.

Sources (segmentio/action-destinations, packages/destination-actions/src/destinations/amplitude):
- index.ts: the quick-setup presets (Log Event V2 for track, page and screen with
  `Viewed {{name}}`, Log Purchase for Order Completed, Identify User) and the settings;
- logEventV2/index.ts, logPurchase/index.ts: the event shape (time and session_id in epoch ms,
  platform spelled iOS/Android, "Web" for analytics.js, parsed user agent, $set/$setOnce/$add,
  revenue and one "Product Purchased" per product);
- identifyUser/index.ts, groupIdentifyUser/index.ts, mapUser/index.ts: form bodies;
- regional-endpoints.ts, convert-timestamp.ts, merge-user-properties.ts, utm.ts, referrer.ts.
Doc page: segment-docs src/connections/destinations/catalog/actions-amplitude/index.md.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from segemu.destinations.base import Request
from segemu.destinations.presets import amplitude_fields as fields
from segemu.destinations.presets._fields import ActionSpec, catalog, preset
from segemu.destinations.presets._support import (
    MISSING,
    defined,
    epoch_ms,
    first,
    omit,
    parse_date,
    request,
    truthy,
)
from segemu.destinations.presets.amplitude_user_agent import parse_user_agent

_HOSTS = {
    "north_america": {
        "httpapi": "https://api2.amplitude.com/2/httpapi",
        "batch": "https://api2.amplitude.com/batch",
        "identify": "https://api2.amplitude.com/identify",
        "groupidentify": "https://api2.amplitude.com/groupidentify",
        "usermap": "https://api.amplitude.com/usermap",
    },
    "europe": {
        "httpapi": "https://api.eu.amplitude.com/2/httpapi",
        "batch": "https://api.eu.amplitude.com/batch",
        "identify": "https://api.eu.amplitude.com/identify",
        "groupidentify": "https://api.eu.amplitude.com/groupidentify",
        "usermap": "https://api.eu.amplitude.com/usermap",
    },
}
_REVENUE_KEYS = ("revenue", "price", "productId", "quantity", "revenueType")
# Fields perform() takes out of the payload before the rest becomes the event.
_LOG_EVENT_V2_OWN = (
    "time",
    "session_id",
    "userAgent",
    "userAgentParsing",
    "includeRawUserAgent",
    "userAgentData",
    "min_id_length",
    "library",
    "library2",
    "setOnce",
    "setAlways",
    "add",
)
_LOG_PURCHASE_OWN = (
    "products",
    "trackRevenuePerProduct",
    "time",
    "session_id",
    "userAgent",
    "userAgentParsing",
    "includeRawUserAgent",
    "userAgentData",
    "utm_properties",
    "referrer",
    "min_id_length",
    "library",
    "library2",
)
_IDENTIFY_OWN = (
    "utm_properties",
    "referrer",
    "userAgent",
    "userAgentParsing",
    "includeRawUserAgent",
    "userAgentData",
    "min_id_length",
    "library",
)


def _endpoint(name: str, settings: Mapping[str, Any]) -> str:
    # regional-endpoints.ts: an unknown region is North America.
    return _HOSTS.get(str(settings.get("endpoint")), _HOSTS["north_america"])[name]


def _api_key(settings: Mapping[str, Any]) -> Any:
    return settings.get("apiKey", MISSING)


def _platform(payload: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
    """Platform spelled iOS / Android, and "Web" for analytics.js without one."""
    platform = event.get("platform")
    if isinstance(platform, str) and platform:
        event["platform"] = re.sub(
            "(?i)android", "Android", re.sub("(?i)ios", "iOS", platform, count=1), count=1
        )
    if payload.get("library") == "analytics.js" and not truthy(event.get("platform")):
        event["platform"] = "Web"
    return event


def _common(payload: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
    """What every event shares: the platform rules, and time and session_id in epoch ms."""
    _platform(payload, event)
    time = parse_date(payload.get("time")) if truthy(payload.get("time")) else None
    if time is not None:
        event["time"] = epoch_ms(time)
    session = payload.get("session_id")
    if truthy(session) and parse_date(session) is not None:
        # convert-timestamp.ts formatSessionId: digits are already a unix time.
        event["session_id"] = (
            int(session)
            if isinstance(session, str) and session.isdigit()
            else epoch_ms(parse_date(session))  # type: ignore[arg-type]
        )
    return event


def _user_agent(payload: dict[str, Any]) -> dict[str, Any]:
    parsed: dict[str, Any] = {}
    if payload.get("userAgentParsing"):
        parsed = {
            key: value
            for key, value in parse_user_agent(
                payload.get("userAgent"), payload.get("userAgentData")
            ).items()
            if value is not None
        }
    if payload.get("includeRawUserAgent"):
        parsed["user_agent"] = payload.get("userAgent", MISSING)
    return parsed


def _library(payload: dict[str, Any]) -> Any:
    library = payload.get("library2") or {}
    return (
        library.get("mapping", MISSING) if library.get("behavior") == "use_mapping" else "segment"
    )


def _options(payload: dict[str, Any]) -> dict[str, int] | None:
    length = payload.get("min_id_length")
    return {"min_id_length": length} if isinstance(length, int) and length > 0 else None


def _http_api(
    action: str, payload: dict[str, Any], events: list[dict[str, Any]], settings: Mapping[str, Any]
) -> list[Request]:
    endpoint = _endpoint("batch" if payload.get("use_batch_endpoint") else "httpapi", settings)
    body = defined(
        {"api_key": _api_key(settings), "events": events, "options": _options(payload) or MISSING}
    )
    return [request(action, "POST", endpoint, body)]


def _has_values(value: Any) -> bool:
    # compact.ts: an object counts when one of its values is not "".
    return isinstance(value, dict) and any(item != "" for item in value.values())


def _log_event_v2(payload: dict[str, Any], settings: Mapping[str, Any]) -> list[Request]:
    event = _common(payload, omit(payload, (*_REVENUE_KEYS, *_LOG_EVENT_V2_OWN)))
    for name, key in (("$setOnce", "setOnce"), ("$set", "setAlways"), ("$add", "add")):
        if _has_values(payload.get(key)):
            event["user_properties"] = {**(event.get("user_properties") or {}), name: payload[key]}
    return _http_api(
        "Log Event V2",
        payload,
        [defined({**_user_agent(payload), **event, "library": _library(payload)})],
        settings,
    )


def _merge_user_properties(*objects: dict[str, Any]) -> dict[str, Any]:
    """merge-user-properties.ts: later objects win, and $set/$setOnce merge key by key."""
    merged: dict[str, Any] = {}
    for current in objects:
        result = {**merged, **current}
        for key in ("$set", "$setOnce"):
            if truthy(merged.get(key)) or truthy(current.get(key)):
                result[key] = {**(merged.get(key) or {}), **(current.get(key) or {})}
        merged = result
    return merged


def _utm_and_referrer(payload: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    utm = payload.get("utm_properties")
    converted_utm: dict[str, Any] = {}
    if isinstance(utm, dict):
        converted_utm = {
            "$set": dict(utm),
            "$setOnce": {f"initial_{key}": value for key, value in utm.items()},
        }
    referrer = payload.get("referrer")
    converted_referrer = (
        {"$set": {"referrer": referrer}, "$setOnce": {"initial_referrer": referrer}}
        if truthy(referrer)
        else {}
    )
    return converted_utm, converted_referrer


def _wants_utm(payload: dict[str, Any]) -> bool:
    return bool(payload.get("utm_properties")) or truthy(payload.get("referrer"))


def _revenue(values: dict[str, Any]) -> dict[str, Any]:
    """logPurchase/index.ts getRevenueProperties: price times quantity wins over revenue."""
    revenue = values.get("revenue", MISSING)
    price, quantity = values.get("price", MISSING), values.get("quantity", MISSING)
    numeric = (int, float)
    if isinstance(quantity, numeric) and isinstance(price, numeric):
        revenue = quantity * price
    if not truthy(revenue):
        return {}
    return defined(
        {
            "revenue": revenue,
            "revenueType": first(values.get("revenueType", MISSING), "Purchase"),
            "quantity": round(quantity) if isinstance(quantity, numeric) else MISSING,
            "price": price,
            "productId": values.get("productId", MISSING),
        }
    )


def _log_purchase(payload: dict[str, Any], settings: Mapping[str, Any]) -> list[Request]:
    event = _common(payload, omit(payload, (*_REVENUE_KEYS, *_LOG_PURCHASE_OWN)))
    if _wants_utm(payload):
        utm, referrer = _utm_and_referrer(payload)
        event["user_properties"] = _merge_user_properties(
            utm, referrer, omit(event.get("user_properties") or {}, ("utm_properties", "referrer"))
        )
    products = payload.get("products") or []
    per_product = bool(payload.get("trackRevenuePerProduct"))
    library = _library(payload)
    events = [
        defined(
            {
                **_user_agent(payload),
                **event,
                **({} if products and per_product else _revenue(payload)),
                "library": library,
            }
        )
    ]
    insert_id = event.get("insert_id")
    for product in products:
        events.append(
            defined(
                {
                    **event,
                    **(_revenue(product) if per_product else {}),
                    "event_properties": product,
                    "event_type": "Product Purchased",
                    "insert_id": f"{insert_id}-{len(events) + 1}" if truthy(insert_id) else MISSING,
                    "library": library,
                }
            )
        )
    return _http_api("Log Purchase", payload, events, settings)


def _form(
    action: str,
    url: str,
    settings: Mapping[str, Any],
    fields: dict[str, Any],
    options: dict[str, int] | None,
    keep_undefined_options: bool,
) -> list[Request]:
    body = {"api_key": first(_api_key(settings), "undefined"), **fields}
    if options is not None:
        body["options"] = options
    elif keep_undefined_options:
        # identify and groupidentify build URLSearchParams({..., options}) even without
        # options, so the API receives the text "undefined" (identifyUser/index.ts).
        body["options"] = "undefined"
    return [request(action, "POST", url, body, form=True)]


def _identify_user(payload: dict[str, Any], settings: Mapping[str, Any]) -> list[Request]:
    identification = _platform(payload, omit(payload, _IDENTIFY_OWN))
    if _wants_utm(payload):
        utm, referrer = _utm_and_referrer(payload)
        identification["user_properties"] = _merge_user_properties(
            omit(identification.get("user_properties") or {}, ("utm_properties", "referrer")),
            utm,
            referrer,
        )
    body = defined({**_user_agent(payload), **identification, "library": "segment"})
    return _form(
        "Identify User",
        _endpoint("identify", settings),
        settings,
        {"identification": body},
        _options(payload),
        True,
    )


def _group_identify_user(payload: dict[str, Any], settings: Mapping[str, Any]) -> list[Request]:
    association = {payload["group_type"]: payload["group_value"]}
    options = _options(payload)
    requests: list[Request] = []
    if truthy(payload.get("user_id")) or truthy(payload.get("device_id")):
        # dayjs.utc(time).valueOf(): the current time when there is no (valid) time.
        moment = parse_date(payload.get("time")) or datetime.now(UTC)
        requests += _form(
            "Group Identify User",
            _endpoint("identify", settings),
            settings,
            {
                "identification": [
                    defined(
                        {
                            "device_id": payload.get("device_id", MISSING),
                            "groups": association,
                            "insert_id": payload.get("insert_id", MISSING),
                            "library": "segment",
                            "time": epoch_ms(moment),
                            "user_id": payload.get("user_id", MISSING),
                            "user_properties": association,
                        }
                    )
                ]
            },
            options,
            True,
        )
    requests += _form(
        "Group Identify User",
        _endpoint("groupidentify", settings),
        settings,
        {
            "identification": [
                defined(
                    {
                        "group_properties": payload.get("group_properties", MISSING),
                        "group_value": payload["group_value"],
                        "group_type": payload["group_type"],
                        "library": "segment",
                    }
                )
            ]
        },
        options,
        True,
    )
    return requests


def _map_user(payload: dict[str, Any], settings: Mapping[str, Any]) -> list[Request]:
    return _form(
        "Map User",
        _endpoint("usermap", settings),
        settings,
        {"mapping": [payload]},
        _options(payload),
        False,
    )


LOG_EVENT_V2 = ActionSpec(
    "logEventV2", "Log Event V2", fields.LOG_EVENT_V2, _log_event_v2, 'type = "track"'
)
LOG_PURCHASE = ActionSpec(
    "logPurchase", "Log Purchase", fields.LOG_PURCHASE, _log_purchase, 'type = "track"'
)
IDENTIFY_USER = ActionSpec(
    "identifyUser", "Identify User", fields.IDENTIFY_USER, _identify_user, 'type = "identify"'
)
# Not in the quick setup: Segment has no group type, so the mapping must supply group_type and
# group_value (both required, without defaults); with the defaults alone it fails validation.
GROUP_IDENTIFY_USER = ActionSpec(
    "groupIdentifyUser",
    "Group Identify User",
    fields.GROUP_IDENTIFY_USER,
    _group_identify_user,
    'type = "group"',
)
MAP_USER = ActionSpec("mapUser", "Map User", fields.MAP_USER, _map_user, 'type = "alias"')

_VIEWED = {"event_type": {"@template": "Viewed {{name}}"}}

PRESET = preset(
    slug="amplitude",
    name="Actions Amplitude",
    # segment-docs src/_data/catalog/destinations.yml previous_names; the doc page's dossier
    # names "Actions Amplitude" for the integrations object.
    aliases=("Actions Amplitude", "Amplitude (Actions)"),
    # index.ts presets, in order and named as the workspace names them. "Browser Session
    # Tracking" is a device-mode plugin of analytics.js (it sets integrations["Actions
    # Amplitude"].session_id in the browser) and sends nothing from Segment's servers, so it
    # has no counterpart here.
    actions=(
        LOG_EVENT_V2.action('type = "track" and event != "Order Completed"', "Track Calls"),
        LOG_PURCHASE.action(
            'type = "track" and event = "Order Completed"', "Order Completed Calls"
        ),
        LOG_EVENT_V2.action('type = "page"', "Page Calls", _VIEWED),
        LOG_EVENT_V2.action('type = "screen"', "Screen Calls", _VIEWED),
        IDENTIFY_USER.action('type = "identify"', "Identify Calls"),
    ),
    settings={
        "apiKey": "segemu-amplitude-api-key",
        "secretKey": "segemu-amplitude-secret",
        "endpoint": "north_america",
    },
    sources=(
        "action-destinations packages/destination-actions/src/destinations/amplitude/",
        "segment-docs src/connections/destinations/catalog/actions-amplitude/index.md",
    ),
)

ACTIONS = catalog(
    PRESET.settings, LOG_EVENT_V2, LOG_PURCHASE, IDENTIFY_USER, GROUP_IDENTIFY_USER, MAP_USER
)
