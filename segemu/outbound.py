"""Outbound HTTP as the core sees it: a `Sender` that the shell hands in.

The core sends requests (the Webhook destination's deliveries) but never imports an HTTP
client: the shells that run a server (`segemu run`, the pytest plugin) build one with aiohttp
(segemu/http/sender.py) and pass it to `create_emulator(..., sender=...)`. An emulator built
without one (an in-memory emulator of a unit test, `segemu plan check`) has `NoSender`: a
delivery that must really be sent fails, with a reason that says why.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True, slots=True)
class OutboundRequest:
    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes
    # Seconds the whole attempt may take; the core decides it (Segment's own limit).
    timeout: float


@dataclass(frozen=True, slots=True)
class OutboundResponse:
    status: int
    text: str
    # Only those a caller reads (Retry-After, for a 429); lower-case names.
    headers: Mapping[str, str] = field(default_factory=dict)


class SendError(Exception):
    """The request got no answer: a network error, a timeout, a URL that cannot be reached.
    The message is shown as the failed attempt's detail."""


class Sender(Protocol):
    async def send(self, request: OutboundRequest) -> OutboundResponse:
        """Send one request and return the answer; raise SendError when none came."""
        ...

    async def close(self) -> None:
        """Release connections; the emulator calls it when it closes."""
        ...


class NoSender:
    """What an emulator built without an HTTP client has: every send fails, and says why."""

    async def send(self, request: OutboundRequest) -> OutboundResponse:
        raise SendError(
            "this emulator has no HTTP client: build it with "
            "create_emulator(..., sender=HttpSender()) (segemu.http.sender)"
        )

    async def close(self) -> None:
        return None
