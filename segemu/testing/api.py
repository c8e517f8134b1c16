"""The API every segemu fixture offers, whatever carries it: HTTP from a sync test, HTTP from an
async test, or direct calls on an in-process Emulator.

`Assertions[R]` holds the assertion helpers once: each builds an expectation (expect.py) and
hands it to `_judge`, which returns None (sync) or an awaitable (async).
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from segemu.testing import expect
from segemu.testing.expect import Spec

R = TypeVar("R")
# Seconds a positive assertion waits for its events by default: an SDK that sends from a
# background thread (or a browser) may still be on the way. It returns as soon as they arrive.
DEFAULT_ASSERT_TIMEOUT = 2.0
DEFAULT_WAIT_TIMEOUT = 5.0


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


class Assertions(ABC, Generic[R]):
    write_key: str
    assert_timeout: float = DEFAULT_ASSERT_TIMEOUT

    @abstractmethod
    def _judge(self, spec: Spec, timeout: float) -> R:
        """Send the expectation (scoped to this write key) and fail if it does not hold."""

    def _timeout(self, timeout: float | None) -> float:
        return self.assert_timeout if timeout is None else timeout

    def assert_tracked(
        self,
        event: str,
        *,
        properties: Mapping[str, Any] | None = None,
        user_id: Any = None,
        anonymous_id: Any = None,
        context: Mapping[str, Any] | None = None,
        times: int | None = None,
        exact: bool = False,
        where: str | None = None,
        timeout: float | None = None,
    ) -> R:
        """A track call named `event` whose fields include these (all of them, with
        `exact=True`); `times` asks for exactly that many."""
        __tracebackhide__ = True
        return self._judge(
            expect.tracked(
                event,
                properties=properties,
                user_id=user_id,
                anonymous_id=anonymous_id,
                context=context,
                times=times,
                exact=exact,
                where=where,
            ),
            self._timeout(timeout),
        )

    def assert_identified(
        self,
        user_id: Any = None,
        *,
        traits: Mapping[str, Any] | None = None,
        anonymous_id: Any = None,
        context: Mapping[str, Any] | None = None,
        times: int | None = None,
        exact: bool = False,
        where: str | None = None,
        timeout: float | None = None,
    ) -> R:
        __tracebackhide__ = True
        return self._judge(
            expect.identified(
                user_id,
                traits=traits,
                anonymous_id=anonymous_id,
                context=context,
                times=times,
                exact=exact,
                where=where,
            ),
            self._timeout(timeout),
        )

    def assert_page(
        self,
        name: str | None = None,
        *,
        category: str | None = None,
        properties: Mapping[str, Any] | None = None,
        user_id: Any = None,
        anonymous_id: Any = None,
        context: Mapping[str, Any] | None = None,
        times: int | None = None,
        exact: bool = False,
        where: str | None = None,
        timeout: float | None = None,
    ) -> R:
        __tracebackhide__ = True
        return self._judge(
            expect.viewed(
                "page",
                name,
                category=category,
                properties=properties,
                user_id=user_id,
                anonymous_id=anonymous_id,
                context=context,
                times=times,
                exact=exact,
                where=where,
            ),
            self._timeout(timeout),
        )

    def assert_screen(
        self,
        name: str | None = None,
        *,
        properties: Mapping[str, Any] | None = None,
        user_id: Any = None,
        anonymous_id: Any = None,
        context: Mapping[str, Any] | None = None,
        times: int | None = None,
        exact: bool = False,
        where: str | None = None,
        timeout: float | None = None,
    ) -> R:
        __tracebackhide__ = True
        return self._judge(
            expect.viewed(
                "screen",
                name,
                properties=properties,
                user_id=user_id,
                anonymous_id=anonymous_id,
                context=context,
                times=times,
                exact=exact,
                where=where,
            ),
            self._timeout(timeout),
        )

    def assert_grouped(
        self,
        group_id: Any = None,
        *,
        traits: Mapping[str, Any] | None = None,
        user_id: Any = None,
        anonymous_id: Any = None,
        context: Mapping[str, Any] | None = None,
        times: int | None = None,
        exact: bool = False,
        where: str | None = None,
        timeout: float | None = None,
    ) -> R:
        __tracebackhide__ = True
        return self._judge(
            expect.grouped(
                group_id,
                traits=traits,
                user_id=user_id,
                anonymous_id=anonymous_id,
                context=context,
                times=times,
                exact=exact,
                where=where,
            ),
            self._timeout(timeout),
        )

    def assert_aliased(
        self,
        user_id: Any = None,
        previous_id: Any = None,
        *,
        times: int | None = None,
        where: str | None = None,
        timeout: float | None = None,
    ) -> R:
        __tracebackhide__ = True
        return self._judge(
            expect.aliased(user_id, previous_id, times=times, where=where), self._timeout(timeout)
        )

    def assert_event(
        self,
        where: str,
        *,
        times: int | None = None,
        at_least: int = 1,
        timeout: float | None = None,
    ) -> R:
        """Any call matching a query, e.g. `assert_event("type:page name:Home", times=1)`."""
        __tracebackhide__ = True
        return self._judge(
            expect.matching(where, times=times, at_least=at_least), self._timeout(timeout)
        )

    def assert_no_events(self, where: str | None = None) -> R:
        """No accepted call (matching `where`, if given) arrived. Judged at once."""
        __tracebackhide__ = True
        return self._judge(expect.no_events(where), 0.0)

    def assert_delivered(
        self,
        destination: str,
        *,
        event: str | None = None,
        payload: Any = None,
        where: str | None = None,
        times: int | None = None,
        timeout: float | None = None,
    ) -> R:
        """An event (named `event`, matching `where`) that `destination` received, with a
        request whose body includes `payload` (a subset; matchers allowed)."""
        __tracebackhide__ = True
        return self._judge(
            expect.delivered(destination, event=event, payload=payload, where=where, times=times),
            self._timeout(timeout),
        )

    def assert_not_delivered(
        self, destination: str, *, event: str | None = None, where: str | None = None
    ) -> R:
        """No event (named `event`, matching `where`) was delivered to `destination`: it was
        filtered (see the delivery's reason) or never sent. Judged at once."""
        __tracebackhide__ = True
        return self._judge(expect.not_delivered(destination, event=event, where=where), 0.0)

    def assert_no_rejections(self) -> R:
        """No call was rejected (see each record's `reason`). Judged at once."""
        __tracebackhide__ = True
        return self._judge(expect.no_rejections(), 0.0)

    def assert_no_violations(self) -> R:
        """No accepted call broke its source's tracking plan: the failure lists each call with
        its violations. Judged at once."""
        __tracebackhide__ = True
        return self._judge(expect.no_violations(), 0.0)

    def assert_no_lint(self, rule: str | None = None) -> R:
        """No accepted call got a lint finding (of `rule`, e.g. "dynamic-event-name").
        Judged at once."""
        __tracebackhide__ = True
        return self._judge(expect.no_lint(rule), 0.0)


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


def deliveries_params(write_key: str | None, q: str | None) -> dict[str, str]:
    return events_params(write_key, q, limit=PAGE)


class ControlApiError(RuntimeError):
    """segemu answered a control-API call with an error (a bad query, say), or was unreachable."""


def events_params(write_key: str | None, q: str | None, **extra: Any) -> dict[str, str]:
    params = {"writeKey": write_key, "q": q, **extra}
    return {name: str(value) for name, value in params.items() if value not in (None, "")}


def scoped(spec: Spec, write_key: str | None, timeout: float) -> Spec:
    return {**spec, "writeKey": write_key, "timeout": timeout}


def verdict_failure(verdict: Mapping[str, Any]) -> SegemuAssertionError | None:
    if verdict.get("passed"):
        return None
    return SegemuAssertionError(str(verdict.get("message")))


def api_error(status: int, body: Any, what: str) -> ControlApiError:
    message = body.get("message") if isinstance(body, dict) else None
    return ControlApiError(f"{what} failed ({status}): {message or body!r}")


# Records per page when a client reads a whole listing.
PAGE = 1000
# How many recent calls a wait_for failure lists.
RECENT_SHOWN = 10


class EventPages:
    """Reading `GET /_segemu/events` page by page, without the I/O, so the sync and async
    clients share it: while `params` is not None, fetch it and `add` the answer."""

    def __init__(self, write_key: str | None, q: str | None, limit: int | None) -> None:
        self.limit = limit
        self.found: list[Any] = []
        self.params: dict[str, str] | None = events_params(write_key, q, limit=PAGE)

    def add(self, page: Mapping[str, Any]) -> None:
        assert self.params is not None
        self.found.extend(page["events"])
        full = self.limit is not None and len(self.found) >= self.limit
        if full or not page["next"]:
            self.params = None
        else:
            self.params["before"] = str(page["events"][-1]["id"])

    def in_arrival_order(self) -> list[Any]:
        found = self.found if self.limit is None else self.found[: self.limit]
        return found[::-1]


def recent_params(write_key: str | None) -> dict[str, str]:
    """The listing a wait_for failure shows: the write key's latest calls."""
    return events_params(write_key, None, limit=RECENT_SHOWN)
