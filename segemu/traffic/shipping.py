"""Calls shipped to a Tracking API (a segemu, Segment itself, any endpoint that speaks it): in
batches, with the write key as Basic auth, retried the way Segment's SDKs retry.

`send`, `trigger`, `replay` and `forward` all ship through here, over the `Sender` the shell
hands in (segemu/outbound.py), so the core never imports an HTTP client.

Retries follow analytics-python and analytics-node (reference/sdk-captures/README.md
"Retries"): 5xx except 501 and 505, and 408, 410, 429 and 460 are tried again with backoff,
honouring `Retry-After`, and `X-Retry-Count: n` says which retry it is; any other answer is
final. Calls go without `sentAt`, so the receiving end keeps each call's own timestamp
(DOCS spec/common.md: the skew correction needs sentAt).
"""

from __future__ import annotations

import asyncio
import base64
import random
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

from segemu.outbound import OutboundRequest, OutboundResponse, Sender, SendError

# DOCS http-api §Max request size: 500 KB a batch, 32 KB a call. A little under, as the SDKs
# keep (analytics-python ~475 KB).
MAX_BATCH_BYTES = 475_000
DEFAULT_BATCH_SIZE = 100
DEFAULT_ATTEMPTS = 5
REQUEST_TIMEOUT = 15.0
MAX_BACKOFF = 30.0
_RETRIED = frozenset({408, 410, 429, 460})
_NOT_RETRIED_5XX = frozenset({501, 505})

Outcome = Literal["sent", "refused", "failed"]
Sleep = Callable[[float], Awaitable[None]]


def batch_url(url: str) -> str:
    """A host (`http://127.0.0.1:7878`, as the SDKs take it) gets `/v1/batch`; a URL with a
    path of its own is used as given (`https://api.segment.io/v1/batch`, a stand-in's path)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"expected an http:// or https:// URL, got {url!r}")
    if parts.path in ("", "/"):
        return url.rstrip("/") + "/v1/batch"
    return url


def retryable(status: int) -> bool:
    return status in _RETRIED or (500 <= status < 600 and status not in _NOT_RETRIED_5XX)


@dataclass(slots=True)
class Shipment:
    """What became of one batch."""

    outcome: Outcome
    attempts: int
    status: int | None
    detail: str


@dataclass(slots=True)
class Shipper:
    sender: Sender
    url: str
    attempts: int = DEFAULT_ATTEMPTS
    backoff: float = 0.5
    timeout: float = REQUEST_TIMEOUT
    sleep: Sleep = asyncio.sleep
    endpoint: str = field(init=False)

    def __post_init__(self) -> None:
        self.endpoint = batch_url(self.url)

    async def ship(
        self,
        write_key: str,
        body: bytes,
        on_retry: Callable[[int, str], None] | None = None,
    ) -> Shipment:
        """POST one encoded batch; retry what Segment's SDKs retry."""
        auth = base64.b64encode(f"{write_key}:".encode()).decode()
        detail = ""
        status: int | None = None
        for attempt in range(self.attempts):
            headers = {
                "Authorization": f"Basic {auth}",
                "Content-Type": "application/json",
                "User-Agent": "segemu",
            }
            if attempt:
                headers["X-Retry-Count"] = str(attempt)
            request = OutboundRequest("POST", self.endpoint, headers, body, self.timeout)
            wait: float | None = None
            try:
                response = await self.sender.send(request)
            except SendError as exc:
                status, detail = None, str(exc)
            else:
                status = response.status
                if 200 <= status < 300:
                    return Shipment("sent", attempt + 1, status, "")
                detail = f"HTTP {status}: {response.text[:200]}".strip()
                if not retryable(status):
                    return Shipment("refused", attempt + 1, status, detail)
                wait = _retry_after(response)
            if attempt + 1 < self.attempts:
                if on_retry is not None:
                    on_retry(attempt + 1, detail)
                if wait is None:
                    # Full jitter, as analytics-node's backoff: spread retries of many clients.
                    wait = random.uniform(0, min(MAX_BACKOFF, self.backoff * 2**attempt))
                await self.sleep(min(wait, MAX_BACKOFF))
        return Shipment("failed", self.attempts, status, detail)


def _retry_after(response: OutboundResponse) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def encode_batch(items: Iterable[bytes]) -> bytes:
    return b'{"batch":[' + b",".join(items) + b"]}"


@dataclass(slots=True)
class Batch:
    write_key: str
    items: list[bytes] = field(default_factory=list)
    # Input positions of its calls (replay's checkpoint) or any tag the caller keeps.
    tags: list[int] = field(default_factory=list)
    size: int = 0

    def body(self) -> bytes:
        return encode_batch(self.items)


@dataclass(slots=True)
class Batcher:
    """Calls grouped by write key into batches within Segment's limits."""

    batch_size: int = DEFAULT_BATCH_SIZE
    max_bytes: int = MAX_BATCH_BYTES
    open: dict[str, Batch] = field(default_factory=dict)

    def add(self, write_key: str, encoded: bytes, tag: int) -> list[Batch]:
        """Add a call, encoded as JSON; returns the batches that are full (at most two)."""
        full: list[Batch] = []
        batch = self.open.get(write_key)
        if batch is not None and batch.size + len(encoded) + 1 > self.max_bytes:
            full.append(self.open.pop(write_key))
            batch = None
        if batch is None:
            batch = self.open[write_key] = Batch(write_key)
        batch.items.append(encoded)
        batch.tags.append(tag)
        batch.size += len(encoded) + 1
        if len(batch.items) >= self.batch_size:
            full.append(self.open.pop(write_key))
        return full

    def rest(self) -> Iterator[Batch]:
        while self.open:
            yield self.open.pop(next(iter(self.open)))

    def lowest_tag(self) -> int | None:
        tags = [batch.tags[0] for batch in self.open.values() if batch.tags]
        return min(tags) if tags else None
