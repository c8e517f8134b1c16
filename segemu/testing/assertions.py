"""The assertion helpers every segemu fixture offers, written once.

Each builds an expectation (expect.py) and hands it to `_judge`, which returns None (sync) or
an awaitable (async): the fixtures (api.py) differ only in how the expectation reaches the
emulator.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, Generic, TypeVar

from segemu.testing import expect
from segemu.testing.expect import Spec

R = TypeVar("R")
# Seconds a positive assertion waits for its events by default: an SDK that sends from a
# background thread (or a browser) may still be on the way. It returns as soon as they arrive.
DEFAULT_ASSERT_TIMEOUT = 2.0


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
