"""Webhooks (Actions): the one destination segemu really delivers, to a URL of your own.

Facts from action-destinations packages/destination-actions/src/destinations/webhook/:
- index.ts: one action, Send; the optional Shared Secret setting signs each request with an
  `X-Signature` header, the hex HMAC-SHA1 of the JSON-encoded data;
- send/index.ts: fields url (required), method (POST, PUT or PATCH; default POST), headers,
  and data (default `{"@path": "$."}`: the whole event); perform sends `data` as the JSON body.
The definition has no default subscription (a user picks one in the workspace); segemu
subscribes Send to every call type, so a configured URL receives everything until the config
narrows it. The URL may be given as the `url` setting instead of a mapping field.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from segemu.destinations.base import Action, Preset, Request

METHODS = ("POST", "PUT", "PATCH")


def encode(data: Any) -> bytes:
    """The body as JSON.stringify writes it (no spaces), which the signature covers."""
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


def _send(fields: dict[str, Any], settings: Mapping[str, Any]) -> list[Request]:
    url = fields.get("url") or settings.get("url") or ""
    method = str(fields.get("method") or "POST").upper()
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    headers = {
        "Content-Type": "application/json",
        **{str(k): str(v) for k, v in (fields.get("headers") or {}).items()},
    }
    data = fields.get("data")
    # "sharedSecret" is the setting's name in Segment (index.ts); "shared_secret" reads better
    # in TOML, and both work.
    secret = settings.get("sharedSecret") or settings.get("shared_secret")
    if secret and data is not None:
        headers["X-Signature"] = hmac.new(
            str(secret).encode(), encode(data), hashlib.sha1
        ).hexdigest()
    return [{"action": "Send", "method": method, "url": str(url), "headers": headers, "body": data}]


SEND = Action(
    name="Send",
    key="send",
    subscribe=(
        'type = "track" or type = "identify" or type = "page" or type = "screen" '
        'or type = "group" or type = "alias"'
    ),
    mapping={"method": "POST", "data": {"@path": "$."}},
    build=_send,
)

PRESET = Preset(
    slug="webhook",
    name="Webhooks (Actions)",
    aliases=("Webhooks (Actions)", "Actions Webhook", "Webhook"),
    actions=(SEND,),
    settings={},
    sources=("action-destinations packages/destination-actions/src/destinations/webhook/",),
)
