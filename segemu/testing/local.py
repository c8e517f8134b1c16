"""The in-process fixture's object: an Emulator in the test's own event loop, no sockets.

For code that wants the Emulator itself: mount `create_app(local.emulator)` on pytest-aiohttp's
`aiohttp_client`, hand `local.send` calls, or read `local.emulator.store` directly. Its API is
the clients' (api.py): each control-API call is answered here, from the same functions and with
the same shape of answer as the HTTP route gives.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from segemu.destinations.runtime import delivery_entry
from segemu.emulator import Emulator
from segemu.expectations import Expectation, ExpectationError
from segemu.faults import FaultError
from segemu.http.waits import WAIT_EVENTS_SHOWN
from segemu.identity.views import lookup, search_profiles
from segemu.message import Envelope, Record
from segemu.protocols.report import listing_kind_problem, violations_listing
from segemu.query import EventFilter, QueryError, parse_query
from segemu.testing.api import DEFAULT_WAIT_TIMEOUT, AsyncSegemuApi
from segemu.testing.calls import (
    AddFault,
    Assert,
    Call,
    ControlApiError,
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
from segemu.testing.functions import FunctionInvocation, FunctionRequest


class LocalSegemu(AsyncSegemuApi):
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

    async def send(self, *calls: Mapping[str, Any], route: str = "/v1/batch") -> list[Record]:
        """Run calls through the pipeline as if an SDK had sent them with this write key."""
        envelope = Envelope(
            route=route,
            items=[dict(call) for call in calls],
            received_at=datetime.now(UTC),
            header_write_key=self.write_key,
        )
        return self.emulator.ingest(envelope)

    async def _call(self, call: Call) -> Any:
        # A mistake the control API answers with a 4xx raises the same ControlApiError here.
        try:
            return await answer(self.emulator, call)
        except (ExpectationError, FaultError) as exc:
            raise ControlApiError(str(exc)) from None


async def answer(emulator: Emulator, call: Call) -> Any:
    """What the control API would answer `call` with, read as `call.read` does."""
    match call:
        case EventsPage():
            found = emulator.events(_filter(call.write_key, call.q, call.before), call.size + 1)
            return Page(found[: call.size], len(found) > call.size)
        case Wait():
            where = _filter(call.write_key, call.q)
            waited = await emulator.wait(where, call.count, call.timeout, WAIT_EVENTS_SHOWN)
            return WaitAnswer(waited.count >= call.count, waited.count, waited.newest)
        case Deliveries():
            if emulator.destinations.get(call.destination) is None:
                known = ", ".join(d.id for d in emulator.destinations.current) or "none"
                raise ControlApiError(f"no destination {call.destination!r}; configured: {known}")
            where = _filter(call.write_key, call.q)
            pairs = await emulator.deliveries(call.destination, where, call.limit)
            return [delivery_entry(record, delivery) for record, delivery in pairs]
        case Violations():
            return violations_now(emulator, call.write_key, call.kind, call.limit)
        case Reset():
            return emulator.reset(call.write_key)
        case Assert():
            expectation = Expectation.from_json(call.body)
            verdict = await emulator.check(expectation, call.timeout)
            return verdict.to_json()
        case ProfileLookup():
            _check_space(emulator, call.space)
            newest = emulator.store.next_id - 1
            return lookup(emulator.identity, call.external_id, call.space, call.collection, newest)
        case ProfileSearch():
            _check_space(emulator, call.space)
            profiles, _more = await search_profiles(
                emulator.identity, call.space, call.collection, call.q, call.limit, 0
            )
            return [profile.summary() for profile in profiles]
        case FunctionRequest():
            from segemu.functions.requests import invoke_by_name

            invocation, problem = await invoke_by_name(
                emulator, call.name, call.payload(), "http://localhost"
            )
            if problem is not None:
                raise ControlApiError(problem)
            return FunctionInvocation(invocation)
        case AddFault():
            return emulator.faults.add(call.rule, "faults()").to_json()
        case RemoveFault():
            if not emulator.faults.remove(call.rule_id):
                raise ControlApiError(f"no fault rule {call.rule_id!r}")
            return True
        case FaultListing():
            return emulator.faults.listing(call.write_key, call.limit)
    raise TypeError(f"no in-process answer to {call!r}")


def _check_space(emulator: Emulator, space: str | None) -> None:
    if space is not None and emulator.identity.space(space) is None:
        known = ", ".join(s.name for s in emulator.identity.spaces.all)
        raise ControlApiError(f"no space {space!r}; segemu's spaces: {known}")


def violations_now(
    emulator: Emulator, write_key: str | None, kind: str = "violations", limit: int = 1000
) -> dict[str, Any]:
    """GET /_segemu/violations for one write key, read in this process (also what strict mode
    checks after an in-process test)."""
    problem = listing_kind_problem(kind)
    if problem is not None:
        raise ControlApiError(problem)
    records = emulator.events(_filter(write_key, None))
    return violations_listing(records, kind, limit, emulator.protocols.strict)


def _filter(write_key: str | None, q: str | None, before: int | None = None) -> EventFilter:
    try:
        query = parse_query(q) if q and q.strip() else None
    except QueryError as exc:  # worded as the control API words it (http/params.py)
        raise ControlApiError(f"q: {exc}") from None
    return EventFilter(write_key=write_key or None, query=query, before_id=before)
