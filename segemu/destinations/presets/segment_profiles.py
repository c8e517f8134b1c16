"""Segment Profiles: the calls Segment sends back into a Profile Space's own source.

Sources (segmentio/action-destinations, packages/destination-actions/src/destinations/
segment-profiles):
- index.ts: no settings and no quick-setup presets; actions sendGroup, sendIdentify,
  sendSubscription, sendTrack;
- segment-properties.ts: the shared fields (engage_space required; timestamp, message_id and
  consent mapped by default; user_id, anonymous_id, traits, properties and event_name left to
  the workspace) and validateConsentObject;
- sendIdentify/index.ts, sendGroup/index.ts, sendTrack/index.ts: each returns `{batch: [call]}`
  with `integrations: {All: false}` (so the call reaches no destination of the space), and
  refuses a payload without a user or anonymous id (errors.ts).
Doc page: segment-docs src/connections/destinations/catalog/actions-segment-profiles/index.md.

perform returns the batch instead of sending it: Segment's own delivery sends it to the
Tracking API of the chosen Profile Space. segemu records it as that request, a POST of the
batch to api.segment.io/v1/batch with the space's write key (the `engageSpaceWriteKey`
setting, a placeholder), so it can be read like any other.

The fields the definition leaves unmapped are mapped to the call's own ids, traits, properties
and name, and Send Track, which has no default subscription, takes track calls: that is what
this destination is for (copying calls into a space), and what a workspace maps. Page calls
reach no action.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from segemu.destinations.base import Request
from segemu.destinations.presets._fields import ActionSpec, Fields, catalog, f, path, preset
from segemu.destinations.presets._support import (
    MISSING,
    PayloadValidationError,
    basic_auth,
    defined,
    request,
    truthy,
)

TRACKING_API = "https://api.segment.io/v1/batch"
PLACEHOLDER_SPACE = "segemu-profile-space"

_COMMON: Fields = {
    "engage_space": f("string", required=True),
    "user_id": f("string"),
    "anonymous_id": f("string"),
    "group_id": f("string"),
    "timestamp": f("datetime", path("$.timestamp")),
    "message_id": f("string", path("$.messageId")),
    "consent": f("object", path("$.context.consent")),
}
# What a workspace maps for the fields without a default (segemu's choice, see above).
_IDS = {
    "engage_space": PLACEHOLDER_SPACE,
    "user_id": path("$.userId"),
    "anonymous_id": path("$.anonymousId"),
}


def _consent(consent: Any) -> dict[str, Any]:
    """segment-properties.ts validateConsentObject: a consent object whose categoryPreferences
    are all booleans is kept; anything else becomes {}. (The source throws `false`, not an
    error, for a consent that is not an object; the field's object type refuses it earlier.)"""
    if consent is MISSING or consent is None:
        return {}
    preferences = consent.get("categoryPreferences") if isinstance(consent, dict) else None
    if isinstance(preferences, dict) and all(isinstance(v, bool) for v in preferences.values()):
        return dict(consent)
    return {}


def _send(
    title: str, call_type: str, body: dict[str, Any], settings: Mapping[str, Any]
) -> list[Request]:
    call = defined(
        {
            **body,
            # errors.ts: Setting All to false keeps the call from the space's destinations.
            "integrations": {"All": False},
            "type": call_type,
        }
    )
    write_key = str(settings.get("engageSpaceWriteKey") or "")
    return [
        request(
            title,
            "POST",
            TRACKING_API,
            {"batch": [call]},
            {"Authorization": basic_auth(write_key)},
        )
    ]


def _require_id(payload: dict[str, Any]) -> None:
    if not truthy(payload.get("anonymous_id")) and not truthy(payload.get("user_id")):
        raise PayloadValidationError("Either `Anonymous ID` or `User ID` must be defined.")


def _identify_or_group(title: str, call_type: str) -> Any:
    def perform(payload: dict[str, Any], settings: Mapping[str, Any]) -> list[Request]:
        _require_id(payload)
        body = {
            "userId": payload.get("user_id", MISSING),
            "anonymousId": payload.get("anonymous_id", MISSING),
            "groupId": payload.get("group_id", MISSING),
            "messageId": payload.get("message_id", MISSING),
            "traits": dict(payload.get("traits") or {}),
            "timestamp": payload.get("timestamp", MISSING),
            "context": {"consent": _consent(payload.get("consent", MISSING))},
        }
        return _send(title, call_type, body, settings)

    return perform


def _send_track(payload: dict[str, Any], settings: Mapping[str, Any]) -> list[Request]:
    _require_id(payload)
    body = {
        "userId": payload.get("user_id", MISSING),
        "anonymousId": payload.get("anonymous_id", MISSING),
        "timestamp": payload.get("timestamp", MISSING),
        "event": payload["event_name"],
        "messageId": payload.get("message_id", MISSING),
        "properties": dict(payload.get("properties") or {}),
        "context": {"consent": _consent(payload.get("consent", MISSING))},
    }
    return _send("Send Track", "track", body, settings)


_TRAITS = f("object", additional_properties=True)

SEND_IDENTIFY = ActionSpec(
    "sendIdentify",
    "Send Identify",
    {**_COMMON, "traits": _TRAITS},
    _identify_or_group("Send Identify", "identify"),
    'type = "identify"',
)
SEND_GROUP = ActionSpec(
    "sendGroup",
    "Send Group",
    {**_COMMON, "group_id": f("string", required=True), "traits": _TRAITS},
    _identify_or_group("Send Group", "group"),
    'type = "group"',
)
SEND_TRACK = ActionSpec(
    "sendTrack",
    "Send Track",
    {
        **_COMMON,
        "event_name": f("string", required=True),
        "properties": f("object", additional_properties=True),
    },
    _send_track,
    # No default subscription in the definition: segemu's choice.
    'type = "track"',
)

PRESET = preset(
    slug="segment-profiles",
    name="Segment Profiles",
    aliases=("Segment Profiles",),
    actions=(
        SEND_IDENTIFY.action(mapping={**_IDS, "traits": path("$.traits")}),
        SEND_GROUP.action(
            mapping={**_IDS, "group_id": path("$.groupId"), "traits": path("$.traits")}
        ),
        SEND_TRACK.action(
            mapping={**_IDS, "event_name": path("$.event"), "properties": path("$.properties")}
        ),
    ),
    settings={"engageSpaceWriteKey": "segemu-profile-space-write-key"},
    sources=(
        "action-destinations packages/destination-actions/src/destinations/segment-profiles/",
        "segment-docs src/connections/destinations/catalog/actions-segment-profiles/index.md",
    ),
)

ACTIONS = catalog(PRESET.settings, SEND_IDENTIFY, SEND_GROUP, SEND_TRACK)
