"""A function's fetch, answered by segemu: mocked, sent to an allowed host, or refused.

Functions run on a developer's laptop, often with code pasted from production: by default no
request leaves the machine. Each fetch is matched against `[[functions.mocks]]` (first match
wins: its status, headers and body); a host in `[functions] allow_hosts` is really reached
through the emulator's Sender; anything else gets a 200 with an empty JSON body, so that code
which ignores the answer runs on, and the request is recorded as unmatched. Every fetch is
recorded with the invocation that made it, as a destination's requests are.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import orjson

from segemu.functions.config import FunctionsSettings
from segemu.outbound import OutboundRequest, Sender, SendError

# Segment gives a partner API 10 s per attempt (destinations/delivery.py); a function's own
# timeout cuts it shorter.
FETCH_TIMEOUT = 10.0
_BODY_KEPT = 64 * 1024


def host_allowed(url: str, allowed: tuple[str, ...]) -> bool:
    if not allowed:
        return False
    if "*" in allowed:
        return True
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    port = parts.port
    return host in allowed or (port is not None and f"{host}:{port}" in allowed)


class FetchPolicy:
    def __init__(self, settings: FunctionsSettings, sender: Sender) -> None:
        self.settings = settings
        self.sender = sender

    async def answer(
        self, request: dict[str, Any], recorded: list[dict[str, Any]]
    ) -> dict[str, Any]:
        """The worker's answer to one fetch; appends the fetch's record to `recorded`."""
        method = str(request.get("method", "GET")).upper()
        url = str(request.get("url", ""))
        headers = {str(k): str(v) for k, v in (request.get("headers") or {}).items()}
        body = request.get("body")
        entry: dict[str, Any] = {
            "method": method,
            "url": url,
            "headers": headers,
            "body": _readable(body),
        }
        recorded.append(entry)
        for mock in self.settings.mocks:
            if mock.matches(method, url):
                entry["answeredBy"] = f"mock {mock.url}"
                entry["response"] = {"status": mock.status, "body": _readable(mock.body)}
                return {
                    "ok": True,
                    "status": mock.status,
                    "headers": dict(mock.headers),
                    "body": mock.body,
                }
        if host_allowed(url, self.settings.allow_hosts):
            outbound = OutboundRequest(method, url, headers, (body or "").encode(), FETCH_TIMEOUT)
            try:
                response = await self.sender.send(outbound)
            except SendError as exc:
                entry["answeredBy"] = "network"
                entry["error"] = str(exc)
                return {"ok": False, "error": str(exc)}
            entry["answeredBy"] = "network"
            entry["response"] = {"status": response.status, "body": _readable(response.text)}
            return {"ok": True, "status": response.status, "headers": {}, "body": response.text}
        entry["answeredBy"] = "default"
        entry["response"] = {"status": 200, "body": {}}
        entry["note"] = (
            "no [[functions.mocks]] entry matched and the host is not in [functions] "
            "allow_hosts: answered 200 {} without sending"
        )
        return {
            "ok": True,
            "status": 200,
            "headers": {"content-type": "application/json"},
            "body": "{}",
        }


def _readable(body: Any) -> Any:
    """A body as a reader wants it: parsed JSON when it is JSON, else text, capped."""
    if not isinstance(body, str):
        return body
    text = body[:_BODY_KEPT]
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return text
