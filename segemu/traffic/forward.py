"""Forward: a running segemu relays the calls it accepts to a real Tracking API (Segment, a
staging pipeline, another segemu), as Mailpit relays mail. Off unless configured:

    [forward]
    url = "https://api.segment.io"     # a host (/v1/batch is added) or a full URL
    write_keys = ["my_write_key"]      # only these sources' calls leave; "*" for every one
    map = { my_write_key = "REAL_KEY" } # the write key each is sent with (default: its own)

Only accepted calls are relayed (a duplicate messageId or a call Segment would drop is not),
each as the SDK sent it (raw, with what its batch lent it), in batches, retried as the SDKs
retry (shipping.py). Each call's status (queued, retrying, sent, refused, failed, dropped) is
kept for the newest STATUSES_KEPT calls and shown by GET /_segemu/forward.

The relay never holds up ingest: the pipeline's notify hands each record over in O(1) and a
task ships them; a queue bound keeps memory flat when the endpoint is down (calls beyond it
are dropped, and say so).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from segemu.config import Config, ConfigError
from segemu.message import Record, format_timestamp
from segemu.outbound import Sender
from segemu.traffic.calls import record_line, to_call
from segemu.traffic.shipping import (
    DEFAULT_ATTEMPTS,
    MAX_BATCH_BYTES,
    Shipper,
    batch_url,
    encode_batch,
)

log = logging.getLogger("segemu.forward")

STATUSES_KEPT = 10_000
MAX_QUEUE = 50_000
FORWARD_BATCH = 100
# How many queued calls a batch looks through for more calls of its write key.
LOOK_AHEAD = 1000
FORWARD_STATUSES = ("queued", "retrying", "sent", "refused", "failed", "dropped")
_SETTINGS = ("url", "write_keys", "map", "batch_size", "attempts", "max_queue")


class ForwardConfigError(ValueError):
    """A mistake in [forward]; the message names the setting."""


@dataclass(frozen=True, slots=True)
class ForwardConfig:
    url: str
    write_keys: tuple[str, ...]
    key_map: Mapping[str, str] = field(default_factory=dict)
    batch_size: int = FORWARD_BATCH
    attempts: int = DEFAULT_ATTEMPTS
    max_queue: int = MAX_QUEUE

    @property
    def endpoint(self) -> str:
        return batch_url(self.url)

    def allows(self, write_key: str | None) -> bool:
        return write_key is not None and ("*" in self.write_keys or write_key in self.write_keys)


def parse_forward(table: Any, origin: str = "[forward]") -> ForwardConfig | None:
    """The [forward] table (of segemu.toml, or built from `segemu run --forward`); None when
    absent or without a url: forwarding is off by default."""
    if table is None or table == {}:
        return None
    if not isinstance(table, dict):
        raise ForwardConfigError(f"{origin} must be a table")
    unknown = sorted(set(table) - set(_SETTINGS))
    if unknown:
        raise ForwardConfigError(
            f"{origin}: unknown setting {unknown[0]!r}; known: {', '.join(_SETTINGS)}"
        )
    url = table.get("url")
    if not isinstance(url, str) or not url:
        raise ForwardConfigError(f"{origin}: 'url' is required: where the calls are relayed")
    try:
        batch_url(url)
    except ValueError as exc:
        raise ForwardConfigError(f"{origin}: url: {exc}") from None
    keys = table.get("write_keys")
    if isinstance(keys, str):
        keys = [keys]
    if not isinstance(keys, list) or not keys or not all(isinstance(k, str) and k for k in keys):
        raise ForwardConfigError(
            f"{origin}: 'write_keys' must list the write keys whose calls are relayed "
            '(or ["*"] for every one): nothing leaves this machine unless you say so'
        )
    mapping = table.get("map", {})
    if not isinstance(mapping, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and v for k, v in mapping.items()
    ):
        raise ForwardConfigError(f"{origin}: 'map' must map write keys to write keys")
    numbers: dict[str, int] = {}
    for name, low, high in (("batch_size", 1, 2500), ("attempts", 1, 20), ("max_queue", 1, 10**7)):
        value = table.get(name)
        if value is None:
            continue
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise ForwardConfigError(f"{origin}: '{name}' must be an integer from {low} to {high}")
        numbers[name] = value
    return ForwardConfig(url, tuple(keys), dict(mapping), **numbers)


@dataclass(slots=True)
class _Pending:
    record_id: int
    write_key: str
    # The call as it is sent, encoded once when queued.
    body: bytes


class Forwarder:
    def __init__(self, config: ForwardConfig, sender: Sender) -> None:
        self.config = config
        self.shipper = Shipper(sender, config.url, attempts=config.attempts)
        self._queue: deque[_Pending] = deque()
        self._statuses: OrderedDict[int, dict[str, Any]] = OrderedDict()
        self.counts: dict[str, int] = dict.fromkeys(FORWARD_STATUSES, 0)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    # -- the pipeline's side: O(1) per record -------------------------------------------

    def __call__(self, records: list[Record]) -> None:
        """A subscriber of the emulator: queue the accepted calls of allowed write keys."""
        added = False
        for record in records:
            if record["status"] != "accepted" or not self.config.allows(record["writeKey"]):
                continue
            status = self._status(record)
            if len(self._queue) >= self.config.max_queue:
                self._set(status, "dropped", f"the queue of {self.config.max_queue:,} is full")
                continue
            call = to_call(record_line(record))
            key = record["writeKey"] or ""
            self._queue.append(_Pending(record["id"], key, orjson.dumps(call.to_send())))
            added = True
        if added:
            self._wake.set()

    def _status(self, record: Record) -> dict[str, Any]:
        status = {
            "id": record["id"],
            "messageId": record["messageId"],
            "writeKey": record["writeKey"],
            "status": "queued",
            "attempts": 0,
            "detail": None,
            "at": format_timestamp(datetime.now(UTC)),
        }
        self._statuses[record["id"]] = status
        self.counts["queued"] += 1
        while len(self._statuses) > STATUSES_KEPT:
            self._statuses.popitem(last=False)
        return status

    def _set(
        self, status: dict[str, Any], state: str, detail: str | None, attempts: int = 0
    ) -> None:
        previous = status["status"]
        if previous in ("queued", "retrying") and previous != state:
            self.counts[previous] -= 1
        if previous != state:
            self.counts[state] += 1
        status.update(
            status=state,
            detail=detail,
            attempts=attempts or status["attempts"],
            at=format_timestamp(datetime.now(UTC)),
        )

    # -- the relay -----------------------------------------------------------------------

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="segemu-forward")

    async def close(self, drain: float = 5.0) -> None:
        """Stop; calls still queued get up to `drain` seconds to leave."""
        self._closing = True
        self._wake.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), drain)
            except TimeoutError:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            if not self._queue:
                if self._closing:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            batch = self._take()
            try:
                await self._ship(batch)
            except asyncio.CancelledError:
                raise
            except Exception:  # never let one batch stop the relay
                log.exception("forwarding a batch failed")
                for pending in batch:
                    status = self._statuses.get(pending.record_id)
                    if status is not None:
                        self._set(status, "failed", "internal error; see the log")

    def _take(self) -> list[_Pending]:
        """The oldest queued call and the next ones of the same write key, up to a batch."""
        first = self._queue.popleft()
        batch = [first]
        size = len(first.body)
        kept: deque[_Pending] = deque()
        # Looks a bounded way ahead, so a queue of many interleaved keys costs no more.
        looked = 0
        while self._queue and len(batch) < self.config.batch_size and looked < LOOK_AHEAD:
            pending = self._queue.popleft()
            looked += 1
            if pending.write_key != first.write_key:
                kept.append(pending)
            elif size + len(pending.body) + 1 > MAX_BATCH_BYTES:
                kept.append(pending)
                break
            else:
                batch.append(pending)
                size += len(pending.body) + 1
        self._queue.extendleft(reversed(kept))
        return batch

    async def _ship(self, batch: list[_Pending]) -> None:
        statuses = [self._statuses.get(p.record_id) for p in batch]
        key = self.config.key_map.get(batch[0].write_key, batch[0].write_key)

        def retrying(attempt: int, detail: str) -> None:
            for status in statuses:
                if status is not None:
                    self._set(status, "retrying", detail, attempt)

        body = encode_batch(p.body for p in batch)
        shipment = await self.shipper.ship(key, body, retrying)
        for status in statuses:
            if status is not None:
                detail = shipment.detail or f"HTTP {shipment.status}"
                self._set(status, shipment.outcome, detail, shipment.attempts)

    # -- reads ---------------------------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        return {
            "enabled": True,
            "url": self.config.url,
            "endpoint": self.config.endpoint,
            "writeKeys": list(self.config.write_keys),
            "keyMap": dict(self.config.key_map),
            "queued": len(self._queue),
            "counts": dict(self.counts),
        }

    def statuses(self, status: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """The newest calls' statuses, newest first."""
        found: list[dict[str, Any]] = []
        for entry in reversed(self._statuses.values()):
            if status is None or entry["status"] == status:
                found.append(dict(entry))
                if len(found) >= limit:
                    break
        return found

    def status_of(self, record_id: int) -> dict[str, Any] | None:
        entry = self._statuses.get(record_id)
        return dict(entry) if entry is not None else None


def forwarder_for(config: Config, sender: Sender) -> Forwarder | None:
    """The emulator's forwarder, from the config's [forward] table; None (off) without one."""
    origin = f"{config.config_file} [forward]" if config.config_file else "[forward]"
    try:
        settings = parse_forward(config.sections.get("forward"), origin)
    except ForwardConfigError as exc:
        raise ConfigError(str(exc)) from None
    return None if settings is None else Forwarder(settings, sender)
