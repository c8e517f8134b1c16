"""Webhooks (Actions): the request the preset builds for a spec event (real delivery is tested
in tests/destinations/test_webhook.py). Facts from action-destinations
src/destinations/webhook (index.ts: the X-Signature HMAC; send/index.ts: the whole event as the
JSON body by default)."""

from __future__ import annotations

import hashlib
import hmac

from segemu.destinations.engine import run_preset
from segemu.destinations.presets import PRESETS
from segemu.destinations.presets.webhook import encode
from tests.destinations.presets.spec import spec_event, spec_events

WEBHOOK = PRESETS["webhook"]
URL = "http://127.0.0.1:9/hook"


def test_the_whole_event_is_posted_as_json_signed_with_the_shared_secret() -> None:
    event = spec_event("lifecycle", type="identify")
    [sent] = run_preset(WEBHOOK, event, {"url": URL, "sharedSecret": "s3cret"})
    assert (sent["action"], sent["method"], sent["url"]) == ("Send", "POST", URL)
    assert sent["body"] == event
    # The hex HMAC-SHA1 of the body exactly as it is sent (JSON.stringify, no spaces).
    assert (
        sent["headers"]["X-Signature"]
        == hmac.new(b"s3cret", encode(event), hashlib.sha1).hexdigest()
    )
    assert b", " not in encode({"a": 1, "b": [1, 2]})


def test_every_call_type_is_sent() -> None:
    for name in ("ecommerce", "lifecycle", "video"):
        for event in spec_events(name):
            [sent] = run_preset(WEBHOOK, event, {"url": URL})
            assert sent["body"]["messageId"] == event["messageId"]
            assert "X-Signature" not in sent["headers"]
