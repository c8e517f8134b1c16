"""The async twin of SegemuClient, for async tests (pytest-aiohttp / pytest-asyncio): the same
API, awaited, over an aiohttp session opened in the test's own event loop."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from segemu.expectations import summarize
from segemu.message import Record
from segemu.testing.api import (
    DEFAULT_WAIT_TIMEOUT,
    Assertions,
    ControlApiError,
    EventPages,
    Received,
    api_error,
    deliveries_params,
    events_params,
    recent_params,
    scoped,
    verdict_failure,
    wait_failure,
)
from segemu.testing.client import NETWORK_MARGIN, PREFIX
from segemu.testing.expect import Spec
from segemu.testing.snapshot import SnapshotStore, normalize


class AsyncSegemuClient(Assertions[Awaitable[None]]):
    def __init__(
        self,
        url: str,
        write_key: str,
        *,
        before_read: Callable[[], None] | None = None,
        wait_timeout: float = DEFAULT_WAIT_TIMEOUT,
        assert_timeout: float | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.write_key = write_key
        # Sync on purpose: flushing the Python SDK blocks until its queue is sent.
        self.before_read = before_read
        self.wait_timeout = wait_timeout
        # Set by the pytest fixture (one place per test); None until then.
        self.snapshots: SnapshotStore | None = None
        if assert_timeout is not None:
            self.assert_timeout = assert_timeout
        self._session: aiohttp.ClientSession | None = None

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def request(
        self,
        method: str,
        path: str,
        params: dict[str, str] | None = None,
        body: Any = None,
        timeout: float = NETWORK_MARGIN,
    ) -> Any:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        try:
            async with self._session.request(
                method,
                f"{self.url}{PREFIX}{path}",
                params=params,
                json=body,
                timeout=aiohttp.ClientTimeout(total=timeout),
            ) as response:
                answer = await response.json(content_type=None)
                if response.status >= 400:
                    raise api_error(response.status, answer, f"{method} {PREFIX}{path}")
                return answer
        except aiohttp.ClientConnectionError as error:
            raise ControlApiError(f"cannot reach segemu at {self.url}: {error}") from None

    def _read(self) -> None:
        if self.before_read is not None:
            self.before_read()

    async def events(self, q: str | None = None, *, limit: int | None = None) -> list[Record]:
        """This write key's calls matching `q`, in the order they arrived."""
        self._read()
        pages = EventPages(self.write_key, q, limit)
        while pages.params is not None:
            pages.add(await self.request("GET", "/events", pages.params))
        return pages.in_arrival_order()

    async def wait_for(
        self, q: str | None = None, count: int = 1, timeout: float | None = None
    ) -> list[Record]:
        __tracebackhide__ = True
        self._read()
        seconds = self.wait_timeout if timeout is None else timeout
        answer = await self.request(
            "GET",
            "/wait",
            events_params(self.write_key, q, count=count, timeout=seconds),
            timeout=seconds + NETWORK_MARGIN,
        )
        if not answer["satisfied"]:
            recent = await self.request("GET", "/events", recent_params(self.write_key))
            raise wait_failure(
                q, count, answer["count"], seconds, [summarize(r) for r in recent["events"]]
            )
        matched: list[Record] = answer["events"]
        return matched[::-1]

    async def destination(self, destination_id: str, q: str | None = None) -> Received:
        """What `destination_id` received for this write key's calls (matching `q`)."""
        self._read()
        answer = await self.request(
            "GET",
            f"/destinations/{destination_id}/deliveries",
            deliveries_params(self.write_key, q),
        )
        return Received(destination_id, answer["deliveries"][::-1])

    async def violations(self, kind: str = "violations", limit: int = 1000) -> dict[str, Any]:
        """This write key's calls that broke the tracking plan (GET /_segemu/violations)."""
        self._read()
        answer: dict[str, Any] = await self.request(
            "GET", "/violations", events_params(self.write_key, None, kind=kind, limit=limit)
        )
        return answer

    async def reset(self) -> int:
        answer = await self.request("POST", "/reset", body={"writeKey": self.write_key})
        return int(answer["removed"])

    async def verdict(self, spec: Spec, timeout: float = 0.0) -> dict[str, Any]:
        self._read()
        answer: dict[str, Any] = await self.request(
            "POST",
            "/assert",
            body=scoped(spec, self.write_key, timeout),
            timeout=timeout + NETWORK_MARGIN,
        )
        return answer

    async def _check(self, spec: Spec, timeout: float) -> None:
        __tracebackhide__ = True
        failure = verdict_failure(await self.verdict(spec, timeout))
        if failure is not None:
            raise failure

    def _judge(self, spec: Spec, timeout: float) -> Awaitable[None]:
        return self._check(spec, timeout)

    async def snapshot(self, q: str | None = None) -> list[dict[str, Any]]:
        """This write key's calls in arrival order, volatile fields normalized
        (segemu/testing/snapshot.py)."""
        return normalize(await self.events(q), self.write_key or None)

    async def assert_snapshot(self, name: str | None = None, q: str | None = None) -> None:
        """Compare this write key's calls with the stored snapshot; pytest writes it with
        --segemu-update-snapshots."""
        __tracebackhide__ = True
        if self.snapshots is None:
            raise RuntimeError(
                "no snapshot location: use the pytest fixture, or set "
                ".snapshots = SnapshotStore(path)"
            )
        self.snapshots.check(await self.snapshot(q), name)
