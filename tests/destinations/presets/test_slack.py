"""Slack (Actions) against the Segment spec events: what Slack's incoming webhook receives.

Expected shapes come from action-destinations src/destinations/slack (index.ts,
postToChannel/index.ts). The definition has no quick setup; segemu's mapping is documented in
segemu/destinations/presets/slack.py."""

from __future__ import annotations

import pytest

from segemu.destinations.engine import run_preset
from segemu.destinations.presets import ACTIONS, PRESETS
from segemu.destinations.presets._support import IntegrationError
from segemu.destinations.presets.slack import PLACEHOLDER_URL
from tests.destinations.presets.spec import spec_event

SLACK = PRESETS["slack"]


def test_order_completed_posts_a_message_to_the_webhook() -> None:
    event = spec_event("ecommerce", "Order Completed")
    [sent] = run_preset(SLACK, event)
    assert sent == {
        "action": "Post Message",
        "method": "POST",
        "url": PLACEHOLDER_URL,
        "headers": {"Content-Type": "application/json"},
        "body": {
            "text": "Order Completed (userId: 019mr8mf4r)",
            "username": "Segment",
            "icon_url": "https://logo.clearbit.com/segment.com",
        },
    }


@pytest.mark.parametrize("call_type", ["identify", "page"])
def test_identify_and_page_are_not_subscribed_and_are_filtered(call_type: str) -> None:
    assert run_preset(SLACK, spec_event("lifecycle", type=call_type)) == []


def test_a_url_off_slack_is_refused_as_perform_refuses_it() -> None:
    post = ACTIONS["slack"]["postToChannel"]
    with pytest.raises(IntegrationError, match=r"^Invalid Slack URL$"):
        post.build({"url": "https://example.com/hook", "text": "hi"}, {})
    [sent] = post.build({"url": PLACEHOLDER_URL, "text": "hi", "channel": "general"}, {})
    assert sent["body"] == {"channel": "general", "text": "hi"}
