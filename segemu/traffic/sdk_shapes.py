"""The shape each SDK gives a call: what it puts in `context`, its messageIds, timestamps and
metadata, from reference/sdk-captures (python.json, node.json, browser.json; README "Wire
summary") and, for mobile, the analytics-swift context of fixtures/spec/lifecycle.jsonl.
`segemu trigger --sdk` imitates them (segemu/traffic/flows.py)."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

SDKS: dict[str, str] = {
    "python": "analytics-python 2.4.0: context.library only, explicit nulls, +00:00 times",
    "node": "@segment/analytics-node 3.1.0: context.library, node-next- messageIds, _metadata",
    "browser": "analytics.js next-1.84.3: page, userAgent, locale, timezone in context; "
    "ajs-next- messageIds; sent to /v1/b as the batching dispatcher does",
    "swift": "analytics-swift 1.5.11: app, device, os, network, screen in context",
}
DEFAULT_SDK = {"web": "browser", "mobile": "swift", "server": "node"}
_USER_AGENT = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
DEVICES = (
    ("Apple", "iPhone15,2", "ios", "iOS", "17.5.1"),
    ("Apple", "iPhone14,5", "ios", "iOS", "17.4"),
    ("Google", "Pixel 8", "android", "Android", "14"),
)


def shape(
    sdk: str,
    call: dict[str, Any],
    *,
    moment: datetime,
    unique: str,
    page: dict[str, Any] | None,
    user: dict[str, Any],
    rng: random.Random,
    extra_context: dict[str, Any],
) -> dict[str, Any]:
    """`call` as `sdk` sends it at `moment`; `unique` is a uuid for its messageId."""
    millis = int(moment.timestamp() * 1000)
    stamp = moment.astimezone(UTC).isoformat(timespec="milliseconds")
    context: dict[str, Any]
    if sdk == "python":
        call = {"integrations": {}, "anonymousId": None, "userId": None, **call}
        if call["type"] in ("page", "screen"):
            call.setdefault("category", None)
        context = {"library": {"name": "analytics-python", "version": "2.4.0"}}
        call["messageId"] = unique
        call["timestamp"] = stamp  # +00:00, as Python's isoformat writes it
    elif sdk == "node":
        context = {"library": {"name": "@segment/analytics-node", "version": "3.1.0"}}
        call["integrations"] = {}
        call["messageId"] = f"node-next-{millis}-{unique}"
        call["timestamp"] = stamp.replace("+00:00", "Z")
        call["_metadata"] = {"nodeVersion": "v20.20.2", "jsRuntime": "node"}
    elif sdk == "browser":
        context = {
            "library": {"name": "analytics.js", "version": "next-1.84.3"},
            "userAgent": _USER_AGENT,
            "locale": "en-US",
            "timezone": "America/New_York",
        }
        if page is not None:
            context["page"] = page
        call["integrations"] = {"Segment.io": True}
        call["messageId"] = f"ajs-next-{millis}-{unique}"
        call["timestamp"] = stamp.replace("+00:00", "Z")
        call["_metadata"] = {"bundled": ["Segment.io"], "unbundled": [], "bundledIds": []}
    else:  # swift
        manufacturer, model, device_type, os_name, os_version = user["device"]
        context = {
            "app": {
                "name": "Initech",
                "version": "1.2.0",
                "build": "1456",
                "namespace": "com.example.initech",
            },
            "device": {
                "id": user["deviceId"],
                "manufacturer": manufacturer,
                "model": model,
                "type": device_type,
            },
            "os": {"name": os_name, "version": os_version},
            "library": {"name": "analytics-swift", "version": "1.5.11"},
            "locale": "en-US",
            "timezone": "America/Los_Angeles",
            "network": {"wifi": rng.random() < 0.7, "cellular": True},
            "screen": {"width": 393, "height": 852},
        }
        call["integrations"] = {}
        call["messageId"] = unique
        call["timestamp"] = stamp.replace("+00:00", "Z")
    if extra_context:
        context.update(extra_context)
    call["context"] = context
    return call
