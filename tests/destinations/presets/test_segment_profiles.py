"""Segment Profiles against the Segment spec events: the batch Segment sends to the Profile
Space's Tracking API.

Expected shapes come from action-destinations src/destinations/segment-profiles
(segment-properties.ts, sendIdentify/index.ts, sendTrack/index.ts, sendGroup/index.ts,
errors.ts)."""

from __future__ import annotations

import base64

import pytest

from segemu.destinations.engine import run_preset
from segemu.destinations.presets import PRESETS
from segemu.destinations.presets._support import PayloadValidationError
from tests.destinations.presets.spec import spec_event

PROFILES = PRESETS["segment-profiles"]
AUTH = "Basic " + base64.b64encode(b"segemu-profile-space-write-key:").decode()


def test_order_completed_is_sent_track_with_all_destinations_off() -> None:
    event = spec_event("ecommerce", "Order Completed")
    [sent] = run_preset(PROFILES, event)
    assert (sent["action"], sent["method"], sent["url"]) == (
        "Send Track",
        "POST",
        "https://api.segment.io/v1/batch",
    )
    assert sent["headers"] == {"Content-Type": "application/json", "Authorization": AUTH}
    assert sent["body"] == {
        "batch": [
            {
                "userId": event["userId"],
                "anonymousId": event["anonymousId"],
                "timestamp": event["timestamp"],
                "event": "Order Completed",
                "messageId": event["messageId"],
                "properties": event["properties"],
                "integrations": {"All": False},
                "context": {"consent": {}},
                "type": "track",
            }
        ]
    }


def test_identify_is_sent_identify_with_its_traits_and_consent() -> None:
    event = spec_event("lifecycle", type="identify")
    preferences = {"Analytics": True, "Advertising": False}
    event["context"]["consent"] = {"categoryPreferences": preferences}
    [sent] = run_preset(PROFILES, event)
    assert sent["body"] == {
        "batch": [
            {
                "userId": event["userId"],
                "anonymousId": event["anonymousId"],
                "messageId": event["messageId"],
                "traits": event["traits"],
                "timestamp": event["timestamp"],
                "integrations": {"All": False},
                "type": "identify",
                "context": {"consent": {"categoryPreferences": preferences}},
            }
        ]
    }


def test_page_is_not_subscribed_and_is_filtered() -> None:
    assert run_preset(PROFILES, spec_event("lifecycle", type="page")) == []


def test_a_call_without_ids_is_refused() -> None:
    event = spec_event("lifecycle", type="identify")
    del event["userId"], event["anonymousId"]
    with pytest.raises(
        PayloadValidationError, match=r"^Either `Anonymous ID` or `User ID` must be defined\.$"
    ):
        run_preset(PROFILES, event)
