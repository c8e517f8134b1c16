"""The one API every segemu fixture offers, whatever carries it: HTTP from a sync test
(SegemuClient), HTTP from an async test (AsyncSegemuClient), or direct calls on an Emulator
in the test's own loop (LocalSegemu).

What each method does is written once, as a plan: a generator that yields the control-API
calls it needs (calls.py) and receives their answers. `SegemuApi` runs plans synchronously,
`AsyncSegemuApi` awaits each call; a flavour only says how one call is carried (`_call`). The
assertion helpers are written once too (assertions.py). tests/testing/test_fixture_api.py runs
one suite against all three flavours.
"""

from __future__ import annotations

import contextlib
import re
import time
from abc import abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from segemu.expectations import summarize
from segemu.message import Record
from segemu.testing.assertions import Assertions
from segemu.testing.calls import (
    PAGE,
    AddFault,
    Assert,
    Call,
    Deliveries,
    EventsPage,
    FaultListing,
    Page,
    ProfileLookup,
    ProfileSearch,
    RemoveFault,
    Reset,
    Violations,
    Wait,
    WaitAnswer,
)
from segemu.testing.expect import Spec
from segemu.testing.functions import FunctionInvocation, function_request_call
from segemu.testing.profiles import (
    ProfileInfo,
    merged_message,
    missing_profile,
    not_merged_message,
    profile_info,
    profile_problems,
)
from segemu.testing.snapshot import SnapshotStore, normalize

T = TypeVar("T")
# A fixture method's logic: yields calls, is sent their answers, returns the result.
Plan = Generator[Call, Any, T]

DEFAULT_WAIT_TIMEOUT = 5.0
# How many recent calls a wait_for failure lists.
RECENT_SHOWN = 10


class SegemuAssertionError(AssertionError):
    """An expectation about received events failed; the message shows the nearest misses."""


class WaitTimeout(AssertionError):
    """wait_for ran out of time before enough matching events arrived."""


class ServerError(RuntimeError):
    """segemu itself failed while handling the test's requests."""


def new_write_key(label: str, token: str) -> str:
    """A write key that reads well in listings: `test-checkout_total-3fa2c1d0`.

    Only characters that survive Basic auth and URLs; Segment's own keys are alphanumeric.
    """
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "_", label).strip("_")[-40:] or "test"
    return f"test-{cleaned}-{token}"


def wait_failure(
    query: str | None, count: int, found: int, timeout: float, received: list[str]
) -> WaitTimeout:
    shown = "\n".join(f"  {line}" for line in received[:10]) or "  (nothing)"
    return WaitTimeout(
        f"waited {timeout:g}s for {count} event(s) matching {query or '(anything)'!r}; "
        f"{found} matched. Received for this write key, newest first:\n{shown}"
    )


def verdict_failure(verdict: dict[str, Any]) -> SegemuAssertionError | None:
    if verdict.get("passed"):
        return None
    return SegemuAssertionError(str(verdict.get("message")))


@dataclass(frozen=True, slots=True)
class Received:
    """What one destination received for a test's calls, oldest first (a snapshot).

    `received` holds the body of every request its API would have received, `deliveries`
    every decision, including the filtered ones with their reason.
    """

    destination: str
    deliveries: list[dict[str, Any]]

    @property
    def requests(self) -> list[dict[str, Any]]:
        return [
            request
            for delivery in self.deliveries
            if delivery["status"] == "delivered"
            for request in delivery["requests"]
        ]

    @property
    def received(self) -> list[Any]:
        return [request["body"] for request in self.requests]

    @property
    def filtered(self) -> list[dict[str, Any]]:
        return [delivery for delivery in self.deliveries if delivery["status"] == "filtered"]


# The Python spellings of a fault rule's keys (segemu/faults/rules.py takes the JSON ones).
_FAULT_KEYS = {"write_key": "writeKey", "retry_after": "retryAfter", "rule_id": "id"}
FAULTED_SHOWN = 1000


def fault_rule(write_key: str | None, settings: dict[str, Any]) -> dict[str, Any]:
    """A rule from `faults(...)` keywords: scoped to the fixture's write key unless it names
    one, so that tests sharing one segemu never fail each other's calls."""
    rule = {_FAULT_KEYS.get(key, key): value for key, value in settings.items()}
    rule = {key: value for key, value in rule.items() if value is not None}
    if write_key and "writeKey" not in rule:
        rule["writeKey"] = write_key
    return rule


class Plans:
    """The fixture API's logic, free of I/O; the public methods below only run these."""

    # "" reads every source: what the CLI's client does.
    write_key: str
    wait_timeout: float = DEFAULT_WAIT_TIMEOUT
    # Flushes the SDKs the test wired up, so a read sees every call they queued. Sync on
    # purpose, for the async fixture too: flushing the Python SDK blocks until it is sent.
    before_read: Callable[[], None] | None = None
    # Set by the pytest fixture (one place per test); None until then.
    snapshots: SnapshotStore | None = None

    @property
    def _scope(self) -> str | None:
        return self.write_key or None

    def _events(self, q: str | None, limit: int | None) -> Plan[list[Record]]:
        size = PAGE if limit is None else min(limit, PAGE)
        found: list[Record] = []
        before = None
        while True:
            page: Page = yield EventsPage(self._scope, q, size, before)
            found.extend(page.events)
            if not page.more or (limit is not None and len(found) >= limit):
                break
            before = page.events[-1]["id"]
        return (found if limit is None else found[:limit])[::-1]

    def _wait_for(self, q: str | None, count: int, timeout: float | None) -> Plan[list[Record]]:
        __tracebackhide__ = True
        seconds = self.wait_timeout if timeout is None else timeout
        answer: WaitAnswer = yield Wait(self._scope, q, count, seconds)
        if not answer.satisfied:
            recent: Page = yield EventsPage(self._scope, None, RECENT_SHOWN)
            received = [summarize(record) for record in recent.events]
            raise wait_failure(q, count, answer.matched, seconds, received)
        return answer.events[::-1]

    def _destination(self, destination_id: str, q: str | None) -> Plan[Received]:
        deliveries: list[dict[str, Any]] = yield Deliveries(destination_id, self._scope, q, PAGE)
        return Received(destination_id, deliveries[::-1])

    def _violations(self, kind: str, limit: int) -> Plan[dict[str, Any]]:
        listing: dict[str, Any] = yield Violations(self._scope, kind, limit)
        return listing

    def _reset(self) -> Plan[int]:
        removed: int = yield Reset(self._scope)
        return removed

    def _verdict(self, spec: Spec, timeout: float) -> Plan[dict[str, Any]]:
        verdict: dict[str, Any] = yield Assert(spec, self._scope, timeout)
        return verdict

    def _check(self, spec: Spec, timeout: float) -> Plan[None]:
        __tracebackhide__ = True
        failure = verdict_failure((yield from self._verdict(spec, timeout)))
        if failure is not None:
            raise failure

    # -- profiles (segemu/identity) ------------------------------------------------------------

    def _lookup(
        self, external_id: str, space: str | None, collection: str = "users"
    ) -> Plan[tuple[ProfileInfo | None, int]]:
        answer: dict[str, Any] = yield ProfileLookup(external_id, space, collection)
        found = answer["profiles"]
        return (profile_info(found[0]) if found else None), int(answer["newest"])

    def _profile(
        self, external_id: str, space: str | None, collection: str
    ) -> Plan[ProfileInfo | None]:
        info, _newest = yield from self._lookup(external_id, space, collection)
        return info

    def _profiles(self, q: str | None, space: str | None, limit: int) -> Plan[list[dict[str, Any]]]:
        found: list[dict[str, Any]] = yield ProfileSearch(q, space, "users", limit)
        return found

    def _eventually(
        self, attempt: Callable[[], Plan[tuple[str | None, int, T]]], timeout: float | None
    ) -> Plan[T]:
        """Run `attempt` until it finds no problem; between two tries wait (event-driven) for
        a call newer than the newest it saw, until `timeout` runs out. Fails with the last
        problem: the nearest miss."""
        __tracebackhide__ = True
        seconds = self.assert_timeout_or(timeout)
        deadline = time.monotonic() + seconds
        while True:
            problem, newest, result = yield from attempt()
            if problem is None:
                return result
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise SegemuAssertionError(problem)
            yield Wait(self._scope, f"id>{newest}", 1, remaining)

    def assert_timeout_or(self, timeout: float | None) -> float:
        return getattr(self, "assert_timeout", DEFAULT_WAIT_TIMEOUT) if timeout is None else timeout

    def _assert_profile(
        self,
        external_id: str,
        traits: Mapping[str, Any] | None,
        external_ids: Mapping[str, Any] | None,
        audiences: Mapping[str, Any] | None,
        space: str | None,
        timeout: float | None,
    ) -> Plan[ProfileInfo]:
        __tracebackhide__ = True

        def attempt() -> Plan[tuple[str | None, int, ProfileInfo | None]]:
            info, newest = yield from self._lookup(external_id, space)
            if info is None:
                value = external_id.partition(":")[2]
                nearby = yield from self._profiles(value, space, 8)
                return missing_profile(external_id, nearby), newest, None
            problems = profile_problems(info, traits, external_ids, audiences)
            if problems:
                lines = "\n".join(f"  {p}" for p in problems)
                header = f"profile {info.segment_id} ({external_id}) does not match:"
                return f"{header}\n{lines}", newest, info
            return None, newest, info

        info = yield from self._eventually(attempt, timeout)
        assert info is not None
        return info

    def _assert_merged(
        self, a: str, b: str, space: str | None, timeout: float | None
    ) -> Plan[ProfileInfo]:
        __tracebackhide__ = True

        def attempt() -> Plan[tuple[str | None, int, ProfileInfo | None]]:
            info_a, newest_a = yield from self._lookup(a, space)
            info_b, newest_b = yield from self._lookup(b, space)
            newest = max(newest_a, newest_b)
            if info_a is not None and info_b is not None and info_a.segment_id == info_b.segment_id:
                return None, newest, info_a
            return not_merged_message(a, b, info_a, info_b), newest, None

        info = yield from self._eventually(attempt, timeout)
        assert info is not None
        return info

    def _assert_not_merged(self, a: str, b: str, space: str | None) -> Plan[None]:
        __tracebackhide__ = True
        info_a, _ = yield from self._lookup(a, space)
        info_b, _ = yield from self._lookup(b, space)
        if info_a is not None and info_b is not None and info_a.segment_id == info_b.segment_id:
            raise SegemuAssertionError(merged_message(a, b, info_a))

    def _function_request(self, name: str, **request: Any) -> Plan[FunctionInvocation]:
        invocation: FunctionInvocation = yield function_request_call(name, **request)
        return invocation

    def _add_fault(self, settings: dict[str, Any]) -> Plan[dict[str, Any]]:
        rule: dict[str, Any] = yield AddFault(fault_rule(self._scope, settings))
        return rule

    def _remove_fault(self, rule_id: str) -> Plan[bool]:
        removed: bool = yield RemoveFault(rule_id)
        return removed

    def _faulted(self, limit: int) -> Plan[list[dict[str, Any]]]:
        listing: dict[str, Any] = yield FaultListing(self._scope, limit)
        faulted: list[dict[str, Any]] = listing["faulted"]
        return faulted[::-1]

    def _snapshot(self, q: str | None) -> Plan[list[dict[str, Any]]]:
        return normalize((yield from self._events(q, None)), self._scope)

    def _assert_snapshot(self, name: str | None, q: str | None) -> Plan[None]:
        __tracebackhide__ = True
        if self.snapshots is None:
            raise RuntimeError(
                "no snapshot location: use the pytest fixture, or set "
                ".snapshots = SnapshotStore(path)"
            )
        self.snapshots.check((yield from self._snapshot(q)), name)


class SegemuApi(Plans, Assertions[None]):
    """The fixture API for sync code; a flavour says how one call is carried."""

    @abstractmethod
    def _call(self, call: Call) -> Any:
        """Make one control-API call and return what `call.read` would."""

    def _run(self, plan: Plan[T], *, read: bool = True) -> T:
        __tracebackhide__ = True
        if read and self.before_read is not None:
            self.before_read()
        try:
            call = next(plan)
            while True:
                call = plan.send(self._call(call))
        except StopIteration as done:
            result: T = done.value
            return result

    def _judge(self, spec: Spec, timeout: float) -> None:
        __tracebackhide__ = True
        self._run(self._check(spec, timeout))

    def events(self, q: str | None = None, *, limit: int | None = None) -> list[Record]:
        """This write key's calls matching `q`, in the order they arrived."""
        return self._run(self._events(q, limit))

    def wait_for(
        self, q: str | None = None, count: int = 1, timeout: float | None = None
    ) -> list[Record]:
        """Block until `count` calls match `q`; returns them in arrival order. The server
        answers within milliseconds of the event that satisfies it (a long-poll)."""
        __tracebackhide__ = True
        return self._run(self._wait_for(q, count, timeout))

    def destination(self, destination_id: str, q: str | None = None) -> Received:
        """What `destination_id` received for this write key's calls (matching `q`):
        `.received` is the list of request bodies, oldest first."""
        return self._run(self._destination(destination_id, q))

    def violations(self, kind: str = "violations", limit: int = 1000) -> dict[str, Any]:
        """This write key's calls that broke the tracking plan (GET /_segemu/violations):
        `events` (newest first, each with `violations` and `lint`), `totals`, `strict`."""
        return self._run(self._violations(kind, limit))

    def reset(self) -> int:
        """Forget this write key's calls (every call, for a client with no write key)."""
        return self._run(self._reset(), read=False)

    def verdict(self, spec: Spec, timeout: float = 0.0) -> dict[str, Any]:
        """Judge an expectation (the body of POST /_segemu/assert) without failing."""
        return self._run(self._verdict(spec, timeout))

    def profile(
        self, external_id: str, *, space: str | None = None, collection: str = "users"
    ) -> ProfileInfo | None:
        """The profile with an external id (`user_id:u1`, `anonymous_id:a1`, `email:x@y.z`,
        `segment_id:use_…`) as it is now: traits, external_ids, events, audiences; None if
        no profile has it."""
        return self._run(self._profile(external_id, space, collection))

    def profiles(
        self, q: str | None = None, *, space: str | None = None, limit: int = 50
    ) -> list[dict[str, Any]]:
        """Profiles whose identifiers or traits contain `q`, most recently updated first."""
        return self._run(self._profiles(q, space, limit))

    def assert_profile(
        self,
        external_id: str,
        *,
        traits: Mapping[str, Any] | None = None,
        external_ids: Mapping[str, Any] | None = None,
        audiences: Mapping[str, Any] | None = None,
        space: str | None = None,
        timeout: float | None = None,
    ) -> ProfileInfo:
        """A profile has `external_id`, these traits (values equal) and these identifiers
        (`{"email": "x@y.z"}` or a list of values); waits up to `timeout` for calls still on
        their way, then fails with the nearest miss."""
        __tracebackhide__ = True
        return self._run(
            self._assert_profile(external_id, traits, external_ids, audiences, space, timeout)
        )

    def assert_merged(
        self, a: str, b: str, *, space: str | None = None, timeout: float | None = None
    ) -> ProfileInfo:
        """`a` and `b` (external ids) are on one profile; fails naming each one's profile and
        the refused merge that kept them apart, with its reason."""
        __tracebackhide__ = True
        return self._run(self._assert_merged(a, b, space, timeout))

    def assert_not_merged(self, a: str, b: str, *, space: str | None = None) -> None:
        """`a` and `b` are not on one profile (judged now); fails naming the merge."""
        __tracebackhide__ = True
        self._run(self._assert_not_merged(a, b, space))

    def function_request(
        self,
        name: str,
        *,
        json: Any = None,
        data: str | bytes | None = None,
        headers: dict[str, str] | None = None,
        query: dict[str, str] | None = None,
        method: str = "POST",
    ) -> FunctionInvocation:
        """Call Source Function `name` as its webhook would be called; what it emitted,
        fetched and logged (segemu/testing/functions.py)."""
        return self._run(
            self._function_request(
                name, json=json, data=data, headers=headers, query=query, method=method
            ),
            read=False,
        )

    @contextlib.contextmanager
    def faults(self, **rule: Any) -> Iterator[dict[str, Any]]:
        """Fail this write key's Tracking API requests while the block runs:
        `with segemu.faults(status=503, times=2): ...` (keys: docs/faults.md). Yields the
        rule as segemu keeps it; the rule is removed when the block ends."""
        added = self._run(self._add_fault(rule), read=False)
        try:
            yield added
        finally:
            self._run(self._remove_fault(added["id"]), read=False)

    def faulted(self, limit: int = FAULTED_SHOWN) -> list[dict[str, Any]]:
        """This write key's faulted requests, oldest first: what was refused and why, the
        X-Retry-Count sent, and which refused calls `arrived` later."""
        return self._run(self._faulted(limit), read=False)

    def snapshot(self, q: str | None = None) -> list[dict[str, Any]]:
        """This write key's calls in arrival order, volatile fields normalized
        (segemu/testing/snapshot.py)."""
        return self._run(self._snapshot(q))

    def assert_snapshot(self, name: str | None = None, q: str | None = None) -> None:
        """Compare this write key's calls with the stored snapshot; pytest writes it with
        --segemu-update-snapshots."""
        __tracebackhide__ = True
        self._run(self._assert_snapshot(name, q))


class AsyncSegemuApi(Plans, Assertions[Awaitable[None]]):
    """The same API, awaited; a flavour says how one call is carried."""

    @abstractmethod
    async def _call(self, call: Call) -> Any:
        """Make one control-API call and return what `call.read` would."""

    async def _run(self, plan: Plan[T], *, read: bool = True) -> T:
        __tracebackhide__ = True
        if read and self.before_read is not None:
            self.before_read()
        try:
            call = next(plan)
            while True:
                call = plan.send(await self._call(call))
        except StopIteration as done:
            result: T = done.value
            return result

    def _judge(self, spec: Spec, timeout: float) -> Awaitable[None]:
        return self._run(self._check(spec, timeout))

    async def events(self, q: str | None = None, *, limit: int | None = None) -> list[Record]:
        """This write key's calls matching `q`, in the order they arrived."""
        return await self._run(self._events(q, limit))

    async def wait_for(
        self, q: str | None = None, count: int = 1, timeout: float | None = None
    ) -> list[Record]:
        """Wait until `count` calls match `q`; returns them in arrival order."""
        __tracebackhide__ = True
        return await self._run(self._wait_for(q, count, timeout))

    async def destination(self, destination_id: str, q: str | None = None) -> Received:
        """What `destination_id` received for this write key's calls (matching `q`)."""
        return await self._run(self._destination(destination_id, q))

    async def violations(self, kind: str = "violations", limit: int = 1000) -> dict[str, Any]:
        """This write key's calls that broke the tracking plan (GET /_segemu/violations)."""
        return await self._run(self._violations(kind, limit))

    async def reset(self) -> int:
        """Forget this write key's calls."""
        return await self._run(self._reset(), read=False)

    async def verdict(self, spec: Spec, timeout: float = 0.0) -> dict[str, Any]:
        """Judge an expectation (the body of POST /_segemu/assert) without failing."""
        return await self._run(self._verdict(spec, timeout))

    async def profile(
        self, external_id: str, *, space: str | None = None, collection: str = "users"
    ) -> ProfileInfo | None:
        """The profile with an external id (`user_id:u1`, `anonymous_id:a1`, `email:x@y.z`,
        `segment_id:use_…`) as it is now: traits, external_ids, events, audiences; None if
        no profile has it."""
        return await self._run(self._profile(external_id, space, collection))

    async def profiles(
        self, q: str | None = None, *, space: str | None = None, limit: int = 50
    ) -> list[dict[str, Any]]:
        """Profiles whose identifiers or traits contain `q`, most recently updated first."""
        return await self._run(self._profiles(q, space, limit))

    async def assert_profile(
        self,
        external_id: str,
        *,
        traits: Mapping[str, Any] | None = None,
        external_ids: Mapping[str, Any] | None = None,
        audiences: Mapping[str, Any] | None = None,
        space: str | None = None,
        timeout: float | None = None,
    ) -> ProfileInfo:
        """A profile has `external_id`, these traits (values equal) and these identifiers
        (`{"email": "x@y.z"}` or a list of values); waits up to `timeout` for calls still on
        their way, then fails with the nearest miss."""
        __tracebackhide__ = True
        return await self._run(
            self._assert_profile(external_id, traits, external_ids, audiences, space, timeout)
        )

    async def assert_merged(
        self, a: str, b: str, *, space: str | None = None, timeout: float | None = None
    ) -> ProfileInfo:
        """`a` and `b` (external ids) are on one profile; fails naming each one's profile and
        the refused merge that kept them apart, with its reason."""
        __tracebackhide__ = True
        return await self._run(self._assert_merged(a, b, space, timeout))

    async def assert_not_merged(self, a: str, b: str, *, space: str | None = None) -> None:
        """`a` and `b` are not on one profile (judged now); fails naming the merge."""
        __tracebackhide__ = True
        await self._run(self._assert_not_merged(a, b, space))

    async def function_request(
        self,
        name: str,
        *,
        json: Any = None,
        data: str | bytes | None = None,
        headers: dict[str, str] | None = None,
        query: dict[str, str] | None = None,
        method: str = "POST",
    ) -> FunctionInvocation:
        """Call Source Function `name` as its webhook would be called."""
        return await self._run(
            self._function_request(
                name, json=json, data=data, headers=headers, query=query, method=method
            ),
            read=False,
        )

    @contextlib.asynccontextmanager
    async def faults(self, **rule: Any) -> AsyncIterator[dict[str, Any]]:
        """Fail this write key's Tracking API requests while the block runs:
        `async with segemu.faults(status=503, times=2): ...`."""
        added = await self._run(self._add_fault(rule), read=False)
        try:
            yield added
        finally:
            await self._run(self._remove_fault(added["id"]), read=False)

    async def faulted(self, limit: int = FAULTED_SHOWN) -> list[dict[str, Any]]:
        """This write key's faulted requests, oldest first."""
        return await self._run(self._faulted(limit), read=False)

    async def snapshot(self, q: str | None = None) -> list[dict[str, Any]]:
        """This write key's calls in arrival order, volatile fields normalized."""
        return await self._run(self._snapshot(q))

    async def assert_snapshot(self, name: str | None = None, q: str | None = None) -> None:
        """Compare this write key's calls with the stored snapshot."""
        __tracebackhide__ = True
        await self._run(self._assert_snapshot(name, q))
