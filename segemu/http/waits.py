"""Event-driven waits and assertions for test suites in any language.

`GET /_segemu/wait` is a server-side long-poll: it answers within one loop turn of the event
that satisfies it, so no test suite needs a polling loop. `POST /_segemu/assert` judges an
expectation (segemu/expectations.py) and answers pass or fail with the nearest misses.

Every pending wait costs each ingested call a check, so at most `max_waits` are pending at
once (a wait, or an assert with a timeout); one more is answered 503.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from aiohttp import web

from segemu.expectations import Expectation, ExpectationError
from segemu.http.body import BodyError, read_json
from segemu.http.keys import EMULATOR
from segemu.http.params import ParamError, event_filter, float_param, int_param
from segemu.http.responses import error_response, json_response

# A long-poll longer than this is almost surely a mistake, and would pin a connection.
MAX_TIMEOUT = 300.0
DEFAULT_TIMEOUT = 5.0
# Events returned by a wait, newest first.
WAIT_EVENTS_SHOWN = 100


class WaitSlots:
    """How many long-polls are pending, against the cap."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.held = 0

    @contextmanager
    def hold(self) -> Iterator[bool]:
        """Yields False (holding nothing) when all slots are taken."""
        if self.held >= self.limit:
            yield False
            return
        self.held += 1
        try:
            yield True
        finally:
            self.held -= 1


WAIT_SLOTS = web.AppKey("wait_slots", WaitSlots)


def _full(request: web.Request) -> web.Response:
    limit = request.app[WAIT_SLOTS].limit
    answer = error_response(
        request,
        503,
        "too_many_waits",
        f"{limit} waits are pending, the most segemu holds at once (max_waits); retry when "
        f"one has answered, or raise max_waits",
    )
    answer.headers["Retry-After"] = "1"
    return answer


async def wait(request: web.Request) -> web.Response:
    """GET /_segemu/wait?q=&writeKey=&count=1&timeout=5 (plus every /events filter)."""
    try:
        where = event_filter(request)
        count = int_param(request, "count", 1, 1, 100_000)
        timeout = float_param(request, "timeout", DEFAULT_TIMEOUT, 0.0, MAX_TIMEOUT)
    except ParamError as exc:
        return error_response(request, 400, "invalid_query", str(exc))
    assert count is not None
    started = time.perf_counter()
    with request.app[WAIT_SLOTS].hold() as held:
        if not held:
            return _full(request)
        found = await request.app[EMULATOR].wait(where, count, timeout, WAIT_EVENTS_SHOWN)
    return json_response(
        request,
        {
            "satisfied": found.count >= count,
            "count": found.count,
            "wanted": count,
            "waitedMs": round((time.perf_counter() - started) * 1000, 3),
            "events": found.newest,
        },
    )


async def check(request: web.Request) -> web.Response:
    """POST /_segemu/assert with an expectation; `timeout` (seconds) waits for it first."""
    try:
        body = await read_json(request)
    except BodyError as error:
        return error_response(request, 400, error.code, error.message)
    try:
        expectation = Expectation.from_json(body)
        timeout = body.get("timeout", 0)
        if (
            not isinstance(timeout, int | float)
            or isinstance(timeout, bool)
            or not 0 <= timeout <= MAX_TIMEOUT
        ):
            raise ExpectationError(
                f"timeout must be a number of seconds from 0 to {MAX_TIMEOUT:g}, got {timeout!r}"
            )
    except ExpectationError as exc:
        return error_response(request, 400, "invalid_expectation", str(exc))
    if not timeout:
        verdict = await request.app[EMULATOR].check(expectation)
    else:
        with request.app[WAIT_SLOTS].hold() as held:
            if not held:
                return _full(request)
            verdict = await request.app[EMULATOR].check(expectation, float(timeout))
    return json_response(request, verdict.to_json())


async def verdicts(request: web.Request) -> web.Response:
    """GET /_segemu/assertions: the latest assertions made through the API, newest first."""
    recent = reversed(request.app[EMULATOR].verdicts)
    return json_response(
        request, {"assertions": [{"at": at, **verdict.to_json()} for at, verdict in recent]}
    )


def setup_routes(app: web.Application, prefix: str) -> None:
    app[WAIT_SLOTS] = WaitSlots(app[EMULATOR].config.max_waits)
    app.router.add_get(f"{prefix}/wait", wait)
    app.router.add_post(f"{prefix}/assert", check)
    app.router.add_get(f"{prefix}/assertions", verdicts)
