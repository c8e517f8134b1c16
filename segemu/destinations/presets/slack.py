"""Slack (Actions): the message Slack's incoming webhook receives.

Sources (segmentio/action-destinations, packages/destination-actions/src/destinations/slack):
- index.ts: no settings, no authentication, no quick-setup presets, one action;
- postToChannel/index.ts: fields url (required, a Slack webhook URL), text (required), channel,
  username (default "Segment"), icon_url (default Segment's logo); perform refuses a URL that is
  not on slack.com ("Invalid Slack URL") and POSTs {channel, text, username, icon_url}.
Doc page: segment-docs src/connections/destinations/catalog/actions-slack/index.md.

The action has no default subscription and its url and text have no default mapping: a
workspace fills them in. segemu's choices, so that a configured Slack shows something: Post
Message subscribes to track calls, posts `{{event}}` with who did it, and sends to a placeholder
webhook URL (inspectable, never called). Replace them with an `actions` entry named "Post
Message" in config, as the workspace's mapping would.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from segemu.destinations.base import Request
from segemu.destinations.presets._fields import ActionSpec, catalog, f, preset
from segemu.destinations.presets._support import MISSING, IntegrationError, defined, request

# postToChannel/index.ts isValidSlackUrl: the pattern is not anchored to slack.com's own dot,
# as in the source.
_SLACK_URL = re.compile(r"^https://[a-zA-Z0-9.-]+\.slack.com[/a-zA-Z0-9]+$")
PLACEHOLDER_URL = "https://hooks.slack.com/services/T00000000/B00000000/segemu"


def _post_to_channel(payload: dict[str, Any], settings: Mapping[str, Any]) -> list[Request]:
    url = payload["url"]
    if not _SLACK_URL.match(url):
        raise IntegrationError("Invalid Slack URL", "Bad Request", 400)
    body = defined(
        {
            "channel": payload.get("channel", MISSING),
            "text": payload["text"],
            "username": payload.get("username", MISSING),
            "icon_url": payload.get("icon_url", MISSING),
        }
    )
    return [request("Post Message", "POST", url, body)]


POST_TO_CHANNEL = ActionSpec(
    "postToChannel",
    "Post Message",
    {
        "url": f("string", required=True, format="uri"),
        # A `text` field in the definition: a string in the payload's schema.
        "text": f("string", required=True),
        "channel": f("string"),
        "username": f("string", "Segment"),
        "icon_url": f("string", "https://logo.clearbit.com/segment.com"),
    },
    _post_to_channel,
    # No default subscription in the definition: segemu's choice, as above.
    'type = "track"',
)

PRESET = preset(
    slug="slack",
    name="Slack (Actions)",
    # segment-docs src/_data/catalog/destinations.yml: "Actions Slack" is its previous name.
    aliases=("Slack (Actions)", "Actions Slack"),
    actions=(
        POST_TO_CHANNEL.action(
            mapping={
                "url": PLACEHOLDER_URL,
                "text": {"@template": "{{event}} (userId: {{userId}})"},
            },
        ),
    ),
    settings={},
    sources=(
        "action-destinations packages/destination-actions/src/destinations/slack/",
        "segment-docs src/connections/destinations/catalog/actions-slack/index.md",
    ),
)

ACTIONS = catalog(PRESET.settings, POST_TO_CHANNEL)
