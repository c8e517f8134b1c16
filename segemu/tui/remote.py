"""The inspector attached to an emulator running elsewhere (`segemu tui --url`): a test
session's, or a headless `segemu run`. It reads the control API: the recent events first
(GET /_segemu/events), then every new one from GET /_segemu/stream (server-sent events).

When the emulator goes away the backend says so and reconnects every second, resuming after
the last record it saw (the stream's `after`), so nothing is missed. If it comes back as a new
process (its `startedAt` changed), the view starts over from what that one holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import urllib.parse
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import aiohttp
import orjson

from segemu.message import Record
from segemu.tui.backend import UNKNOWN, Backend, Capability, Listener

PREFIX = "/_segemu"
RECONNECT_SECONDS = 1.0
# Longer than the stream's heartbeat (15 s): silence beyond this means the server is gone.
READ_TIMEOUT = 45.0
DEFAULT_HISTORY = 10_000
DEFAULT_RETENTION = 100_000
PAGE = 1000


class RemoteError(Exception):
    """The control API answered something other than what the inspector needs."""


class RemoteBackend(Backend):
    mode = "attached"

    def __init__(
        self, url: str, *, history: int | None = None, retention: int = DEFAULT_RETENTION
    ) -> None:
        self.url = url.rstrip("/")
        # How many recent events to load on attaching; new ones are all kept, up to retention.
        self.history = DEFAULT_HISTORY if history is None else history
        self.retention = max(retention, self.history)
        self._records: OrderedDict[int, Record] = OrderedDict()
        self._session: aiohttp.ClientSession | None = None
        self._task: asyncio.Task[None] | None = None
        self._listener: Listener = lambda records: None
        self._restarted: Callable[[], None] = lambda: None
        self._problem: str | None = f"connecting to {self.url}..."
        self._started_at: str | None = None
        self._destinations = UNKNOWN
        self._protocols = UNKNOWN
        self._identity = UNKNOWN
        self._last_verdicts: list[dict[str, Any]] = []
        self.last_id = 0
        self.lost = 0

    # -- Backend ---------------------------------------------------------------------------

    async def open(
        self, listener: Listener, restarted: Callable[[], None] | None = None
    ) -> list[Record]:
        self._listener = listener
        if restarted is not None:
            self._restarted = restarted
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=5, sock_read=READ_TIMEOUT)
        )
        # History comes through the listener too, from the follower: opening never waits on
        # the network, so the screen is up at once even if segemu is not (yet).
        self._task = asyncio.create_task(self._follow(), name="segemu-tui-follow")
        return []

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    def get(self, record_id: int) -> Record | None:
        return self._records.get(record_id)

    def held(self) -> int:
        return len(self._records)

    async def latest(self, record: Record) -> Record:
        try:
            answer = await self._get(f"/events/{record['messageId']}")
        except (RemoteError, aiohttp.ClientError, OSError, TimeoutError):
            return record
        if isinstance(answer, dict) and answer.get("id") == record["id"]:
            answer.pop("duplicates", None)
            fresh: Record = answer  # type: ignore[assignment]
            if record["id"] in self._records:
                self._records[record["id"]] = fresh
            return fresh
        return record

    async def verdicts(self) -> list[dict[str, Any]]:
        try:
            answer = await self._get("/assertions")
            self._last_verdicts = list(answer["assertions"])
        except (RemoteError, aiohttp.ClientError, OSError, TimeoutError, KeyError, TypeError):
            pass
        return self._last_verdicts

    def destinations(self) -> Capability:
        return self._destinations

    def protocols(self) -> Capability:
        return self._protocols

    def identity(self) -> Capability:
        return self._identity

    async def profiles(self, q: str | None, limit: int) -> list[dict[str, Any]] | None:
        if not self._identity.on:
            return None
        params = {"limit": str(limit), **({"q": q} if q else {})}
        try:
            answer = await self._get("/profiles", params)
            listing = answer.get("profiles") if isinstance(answer, dict) else None
        except (RemoteError, aiohttp.ClientError, OSError, TimeoutError):
            return None
        return listing if isinstance(listing, list) else None

    async def profile(self, external_id: str, space: str | None = None) -> dict[str, Any] | None:
        if not self._identity.on:
            return None
        path = "/profiles/" + urllib.parse.quote(external_id, safe=":@")
        try:
            answer = await self._get(path, {"space": space} if space else None)
        except (RemoteError, aiohttp.ClientError, OSError, TimeoutError):
            return None  # 404: no such profile; or segemu went away (the footer says so)
        return answer if isinstance(answer, dict) else None

    async def destination_list(self) -> list[dict[str, Any]] | None:
        if not self._destinations.on:
            return None
        try:
            answer = await self._get("/destinations")
            listing = answer.get("destinations") if isinstance(answer, dict) else None
        except (RemoteError, aiohttp.ClientError, OSError, TimeoutError):
            return None
        return listing if isinstance(listing, list) else None

    async def function_invocations(self) -> list[dict[str, Any]] | None:
        try:
            answer = await self._get("/functions/invocations")
        except (RemoteError, aiohttp.ClientError, OSError, TimeoutError):
            return None
        found = answer.get("invocations") if isinstance(answer, dict) else None
        return found if isinstance(found, list) else None

    async def faults(self) -> dict[str, Any] | None:
        try:
            answer = await self._get("/faults")
        except (RemoteError, aiohttp.ClientError, OSError, TimeoutError):
            return None
        return answer if isinstance(answer, dict) else None

    @property
    def problem(self) -> str | None:
        if self.lost and not self._problem:
            return f"{self.lost:,} calls not shown (the inspector fell behind)"
        return self._problem

    # -- following -------------------------------------------------------------------------

    async def _follow(self) -> None:
        while True:
            try:
                await self._attach()
                self._problem = None
                await self._stream()
                self._problem = f"segemu at {self.url} stopped; waiting for it..."
            except (aiohttp.ClientError, OSError, TimeoutError, RemoteError) as exc:
                self._problem = f"cannot reach segemu at {self.url} ({_reason(exc)}); retrying"
            await asyncio.sleep(RECONNECT_SECONDS)

    async def _attach(self) -> None:
        """On every (re)connection: is it the same emulator? Then resume; if not, start over
        from its recent events."""
        summary = await self._get("/summary")
        started_at = summary.get("startedAt") if isinstance(summary, dict) else None
        if started_at != self._started_at:
            if self._started_at is not None:
                self._records.clear()
                self.last_id = 0
                self._restarted()
            self._started_at = started_at
            self._destinations = await self._probe("/destinations", "mock destinations")
            self._protocols = await self._probe("/violations", "tracking plans")
            self._identity = await self._probe("/profiles?limit=1", "identity resolution")
            history = await self._history()
            self._keep(history)
            if history:
                self._listener(history)

    async def _history(self) -> list[Record]:
        found: list[Record] = []
        params: dict[str, str] | None = {"limit": str(min(PAGE, max(self.history, 1)))}
        while params is not None and len(found) < self.history:
            page = await self._get("/events", params)
            found.extend(page["events"])
            last = page["events"][-1]["id"] if page["events"] else None
            params = (
                {"limit": str(PAGE), "before": str(last)}
                if page.get("next") and last is not None
                else None
            )
        found = found[: self.history]
        found.reverse()
        return found

    async def _stream(self) -> None:
        assert self._session is not None
        params = {"after": str(self.last_id)} if self.last_id else {"backlog": "0"}
        async with self._session.get(f"{self.url}{PREFIX}/stream", params=params) as response:
            if response.status != 200:
                raise RemoteError(f"GET {PREFIX}/stream answered {response.status}")
            kind, data = "message", []
            async for raw in response.content:
                line = raw.decode().rstrip("\r\n")
                if line.startswith("event:"):
                    kind = line[6:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].strip())
                elif not line:
                    if data:
                        self._message(kind, "\n".join(data))
                    kind, data = "message", []

    def _message(self, kind: str, data: str) -> None:
        if kind == "record":
            record: Record = orjson.loads(data)
            self._keep([record])
            self._listener([record])
        elif kind == "lagged":
            self.lost += int(orjson.loads(data).get("lost", 0))

    def _keep(self, records: list[Record]) -> None:
        for record in records:
            self._records[record["id"]] = record
            self.last_id = max(self.last_id, record["id"])
        while len(self._records) > self.retention:
            self._records.popitem(last=False)

    async def _probe(self, path: str, what: str) -> Capability:
        try:
            await self._get(path)
        except RemoteError as exc:
            return Capability(False, f"the segemu at {self.url} has no {what} ({exc})")
        return Capability(True)

    async def _get(self, path: str, params: dict[str, str] | None = None) -> Any:
        assert self._session is not None
        async with self._session.get(
            f"{self.url}{PREFIX}{path}", params=params, timeout=aiohttp.ClientTimeout(total=10)
        ) as response:
            if response.status != 200:
                raise RemoteError(f"GET {PREFIX}{path} answered {response.status}")
            return await response.json(loads=orjson.loads, content_type=None)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, aiohttp.ClientConnectorError):
        return exc.os_error.strerror or str(exc.os_error)
    return str(exc) or type(exc).__name__
