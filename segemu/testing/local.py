"""The in-process fixture's object: an Emulator in the test's own event loop, no sockets.

For code that wants the Emulator itself: mount `create_app(local.emulator)` on pytest-aiohttp's
`aiohttp_client`, hand `local.send` calls, or read `local.emulator.store` directly. The
assertions are the same as the other fixtures', judged by the same evaluator.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from datetime import UTC, datetime
from typing import Any

from segemu.destinations.runtime import delivery_entry
from segemu.emulator import Emulator
from segemu.expectations import Expectation, summarize
from segemu.message import Envelope, Record
from segemu.query import EventFilter, parse_query
from segemu.testing.api import (
    DEFAULT_WAIT_TIMEOUT,
    Assertions,
    Received,
    scoped,
    verdict_failure,
    wait_failure,
)
from segemu.testing.expect import Spec


class LocalSegemu(Assertions[Awaitable[None]]):
    def __init__(
        self,
        emulator: Emulator,
        write_key: str,
        *,
        wait_timeout: float = DEFAULT_WAIT_TIMEOUT,
        assert_timeout: float | None = None,
    ) -> None:
        self.emulator = emulator
        self.write_key = write_key
        self.wait_timeout = wait_timeout
        if assert_timeout is not None:
            self.assert_timeout = assert_timeout

    def _filter(self, q: str | None) -> EventFilter:
        return EventFilter(write_key=self.write_key, query=parse_query(q) if q else None)

    async def send(self, *calls: Mapping[str, Any], route: str = "/v1/batch") -> list[Record]:
        """Run calls through the pipeline as if an SDK had sent them with this write key."""
        envelope = Envelope(
            route=route,
            items=[dict(call) for call in calls],
            received_at=datetime.now(UTC),
            header_write_key=self.write_key,
        )
        return self.emulator.ingest(envelope)

    async def events(self, q: str | None = None, *, limit: int | None = None) -> list[Record]:
        return self.emulator.events(self._filter(q), limit)[::-1]

    async def wait_for(
        self, q: str | None = None, count: int = 1, timeout: float | None = None
    ) -> list[Record]:
        __tracebackhide__ = True
        seconds = self.wait_timeout if timeout is None else timeout
        found = await self.emulator.wait_for(self._filter(q), count, seconds)
        if len(found) < count:
            recent = self.emulator.events(EventFilter(write_key=self.write_key), 10)
            raise wait_failure(q, count, len(found), seconds, [summarize(r) for r in recent])
        return found[::-1]

    async def destination(self, destination_id: str, q: str | None = None) -> Received:
        """What `destination_id` received for this write key's calls (matching `q`)."""
        found = self.emulator.deliveries(destination_id, self._filter(q))
        return Received(destination_id, [delivery_entry(r, d) for r, d in found][::-1])

    async def violations(self, kind: str = "violations") -> list[Record]:
        """This write key's calls with violations (or lint findings: kind "lint", "all"),
        in arrival order."""

        def wanted(record: Record) -> bool:
            found = (
                record.get("violations")
                if kind == "violations"
                else (
                    record.get("lint")
                    if kind == "lint"
                    else record.get("violations") or record.get("lint")
                )
            )
            return bool(found)

        return [r for r in self.emulator.scope(self.write_key) if wanted(r)][::-1]

    async def reset(self) -> int:
        return self.emulator.reset(self.write_key)

    async def _check(self, spec: Spec, timeout: float) -> None:
        __tracebackhide__ = True
        expectation = Expectation.from_json(scoped(spec, self.write_key, timeout))
        verdict = await self.emulator.check(expectation, timeout)
        failure = verdict_failure(verdict.to_json())
        if failure is not None:
            raise failure

    def _judge(self, spec: Spec, timeout: float) -> Awaitable[None]:
        return self._check(spec, timeout)
