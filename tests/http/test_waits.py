"""The control API for test suites in any language: the long-poll wait, assertions with nearest
misses, the verdict log, and `?q=` on the listing. Real server, real sockets."""

from __future__ import annotations

import asyncio
import time
import urllib.parse
from typing import Any

import aiohttp
import orjson
import pytest

from segemu.http.server import RunningServer
from tests.conftest import get_json
from tests.http.test_control import auth

# A wait answered because the event arrived, not because its timeout ran out, answers well
# inside this many seconds; the waits below all have timeout=10.
PROMPT = 2.0


async def track(
    http: aiohttp.ClientSession,
    server: RunningServer,
    event: str,
    key: str = "key_a",
    **fields: Any,
) -> None:
    body = {"event": event, "userId": "u_1", **fields}
    async with http.post(
        f"{server.url}/v1/track", data=orjson.dumps(body), headers=auth(key)
    ) as response:
        assert response.status == 200, await response.text()


def parked(server: RunningServer, method: str = "wait") -> asyncio.Event:
    """Set once a long-poll has parked its waiter in the emulator: the only way to know that
    an event posted next wakes a waiter instead of being found already there.

    The emulator's `method` (wait for /wait, check for /assert) is wrapped to say when it
    is entered; it parks its waiter before it first yields to the loop, so by the time the
    test runs again the waiter is in place.
    """
    entered = asyncio.Event()
    original = getattr(server.emulator, method)

    async def entering(*args: Any, **kwargs: Any) -> Any:
        entered.set()
        return await original(*args, **kwargs)

    setattr(server.emulator, method, entering)
    return entered


async def until(event: asyncio.Event) -> None:
    async with asyncio.timeout(5):
        await event.wait()


def url(server: RunningServer, path: str, **params: Any) -> str:
    return f"{server.url}/_segemu/{path}?{urllib.parse.urlencode(params)}"


async def timed_get(http: aiohttp.ClientSession, address: str) -> tuple[Any, float]:
    started = time.monotonic()
    answer = await get_json(http, address)
    return answer, time.monotonic() - started


async def error(
    http: aiohttp.ClientSession, method: str, address: str, body: bytes | None = None
) -> dict[str, Any]:
    async with http.request(method, address, data=body) as response:
        assert response.status == 400, await response.text()
        answer: dict[str, Any] = await response.json()
        return answer


# -- GET /_segemu/wait ---------------------------------------------------------------------


async def test_wait_wakes_when_the_event_arrives(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    waiting = parked(server)
    task = asyncio.create_task(
        timed_get(http, url(server, "wait", q='event:"Order Completed"', timeout=10))
    )
    await until(waiting)
    await track(http, server, "Product Viewed")  # does not match: the wait goes on
    # Ingest wakes waiters before the POST is answered: the waiter is still parked.
    assert len(server.emulator._waiters) == 1
    await track(http, server, "Order Completed", properties={"revenue": 99.99})
    answer, seconds = await task
    assert seconds < PROMPT
    assert answer["satisfied"] is True
    assert answer["count"] == 1
    assert answer["wanted"] == 1
    assert [e["event"]["event"] for e in answer["events"]] == ["Order Completed"]
    assert answer["events"][0]["event"]["properties"] == {"revenue": 99.99}


async def test_wait_is_satisfied_at_once_by_events_already_there(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    await track(http, server, "Signed Up")
    answer, seconds = await timed_get(http, url(server, "wait", q='event:"Signed Up"', timeout=10))
    assert seconds < PROMPT
    assert answer["satisfied"] is True
    assert answer["count"] == 1


async def test_wait_for_two_needs_two(server: RunningServer, http: aiohttp.ClientSession) -> None:
    await track(http, server, "Clicked", messageId="m1")
    waiting = parked(server)
    task = asyncio.create_task(
        timed_get(http, url(server, "wait", q="event:Clicked", count=2, timeout=10))
    )
    await until(waiting)
    assert len(server.emulator._waiters) == 1  # one of two is there; still waiting
    await track(http, server, "Clicked", messageId="m2")
    answer, seconds = await task
    assert seconds < PROMPT
    assert answer["satisfied"] is True
    assert answer["count"] == 2
    assert answer["wanted"] == 2
    # Newest first, as every listing.
    assert [e["messageId"] for e in answer["events"]] == ["m2", "m1"]


async def test_wait_timeout_answers_unsatisfied_with_what_it_found(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    await track(http, server, "Clicked")
    answer, seconds = await timed_get(
        http, url(server, "wait", q="event:Clicked", count=3, timeout=0.2)
    )
    assert 0.2 <= seconds < PROMPT
    assert answer["satisfied"] is False
    assert answer["count"] == 1
    assert answer["wanted"] == 3
    assert len(answer["events"]) == 1
    assert answer["waitedMs"] >= 200


async def test_wait_is_scoped_by_write_key(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    waiting = parked(server)
    task = asyncio.create_task(
        timed_get(http, url(server, "wait", writeKey="key_a", q="event:Clicked", timeout=10))
    )
    await until(waiting)
    await track(http, server, "Clicked", key="key_b")  # another source: not woken
    # Ingest wakes waiters before the POST is answered: the waiter is still parked.
    assert len(server.emulator.events()) == 1
    assert len(server.emulator._waiters) == 1
    await track(http, server, "Clicked", key="key_a")
    answer, seconds = await task
    assert seconds < PROMPT
    assert answer["satisfied"] is True
    assert [e["writeKey"] for e in answer["events"]] == ["key_a"]


async def test_wait_q_uses_the_query_language(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    await track(http, server, "Order Completed", properties={"revenue": 10})
    await track(http, server, "Order Completed", properties={"revenue": 120})
    answer = await get_json(http, url(server, "wait", q="properties.revenue>100", timeout=0))
    assert answer["count"] == 1
    assert answer["events"][0]["event"]["properties"]["revenue"] == 120


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({"count": 0}, "count must be between 1 and 100000, got 0"),
        ({"timeout": -1}, "timeout must be between 0 and 300, got -1"),
        ({"timeout": "abc"}, "timeout must be a number of seconds, got 'abc'"),
        ({"timeout": 301}, "timeout must be between 0 and 300"),
        ({"timeout": "nan"}, "timeout must be a number of seconds"),
        ({"timeout": "1_0"}, "timeout must be a number of seconds"),
        ({"timeout": ""}, "timeout must be a number of seconds"),
        ({"status": "lost"}, "status must be one of"),
    ],
)
async def test_wait_refuses_bad_params(
    server: RunningServer, http: aiohttp.ClientSession, params: dict[str, Any], problem: str
) -> None:
    answer = await error(http, "GET", url(server, "wait", **params))
    assert answer["code"] == "invalid_query"
    assert problem in answer["message"]


async def test_wait_bad_q_points_at_the_problem(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    answer = await error(http, "GET", url(server, "wait", q="type:track AND (event:x"))
    message = answer["message"]
    assert message.startswith("q: ")
    problem, shown, caret = message.split("\n")
    assert problem == "q: unclosed '(' at column 16"
    assert shown == "  type:track AND (event:x"
    assert caret.index("^") == shown.index("(")


async def test_a_wait_in_flight_answers_when_the_server_stops(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    waiting = parked(server)
    task = asyncio.create_task(timed_get(http, url(server, "wait", q="event:Never", timeout=30)))
    await until(waiting)
    assert len(server.emulator._waiters) == 1
    started = time.monotonic()
    await server.stop()
    # Not held up by the long-poll (aiohttp would wait 5 s for it, the wait 30 s).
    assert time.monotonic() - started < PROMPT
    answer, seconds = await task
    assert seconds < PROMPT
    assert answer["satisfied"] is False
    assert answer["count"] == 0


# -- POST /_segemu/assert ------------------------------------------------------------------


async def check(
    http: aiohttp.ClientSession, server: RunningServer, expectation: dict[str, Any]
) -> dict[str, Any]:
    async with http.post(
        f"{server.url}/_segemu/assert", data=orjson.dumps(expectation)
    ) as response:
        assert response.status == 200, await response.text()
        answer: dict[str, Any] = await response.json()
        return answer


async def test_assert_passes(server: RunningServer, http: aiohttp.ClientSession) -> None:
    await track(http, server, "Order Completed", properties={"revenue": 99.99})
    verdict = await check(
        http,
        server,
        {"type": "track", "fields": {"event": "Order Completed", "properties": {"revenue": 99.99}}},
    )
    assert verdict["passed"] is True
    assert verdict["count"] == 1
    assert verdict["nearest"] == []
    assert verdict["message"].startswith("passed: ")


async def test_assert_fails_with_the_nearest_miss_on_a_wrong_property(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    await track(http, server, "Product Viewed", properties={"revenue": 99.99})
    await track(http, server, "Order Completed", properties={"revenue": 89.99})
    verdict = await check(
        http,
        server,
        {"type": "track", "fields": {"event": "Order Completed", "properties.revenue": 99.99}},
    )
    assert verdict["passed"] is False
    assert verdict["count"] == 0
    assert verdict["considered"] == 2
    nearest = verdict["nearest"][0]
    assert "'Order Completed'" in nearest["summary"]
    assert nearest["differences"] == [
        {
            "path": "properties.revenue",
            "expected": 99.99,
            "actual": 89.99,
            "missing": False,
            "message": "properties.revenue: expected 99.99, got 89.99",
        }
    ]
    assert "nearest misses:" in verdict["message"]
    assert "properties.revenue: expected 99.99, got 89.99" in verdict["message"]


async def test_assert_fails_with_the_nearest_miss_on_a_misspelled_event(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    await track(http, server, "Product Viewed")
    await track(http, server, "Order Completed")
    verdict = await check(http, server, {"type": "track", "fields": {"event": "Order Complted"}})
    assert verdict["passed"] is False
    # The typo ranks above the different event.
    first, second = verdict["nearest"][:2]
    assert first["differences"][0]["actual"] == "Order Completed"
    assert second["differences"][0]["actual"] == "Product Viewed"
    lines = verdict["message"].split("\n")
    assert lines[1] == "nearest misses:"
    assert "'Order Completed'" in lines[2]
    assert lines[3].strip() == 'event: expected "Order Complted", got "Order Completed"'


async def test_assert_where_misses_name_the_query_term(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    await track(http, server, "Order Completed", properties={"revenue": 10})
    await track(http, server, "Product Viewed")  # no properties.revenue at all
    verdict = await check(http, server, {"where": "properties.revenue>100"})
    assert verdict["passed"] is False
    by_event = {miss["summary"].split("'")[1]: miss["differences"] for miss in verdict["nearest"]}
    [present] = by_event["Order Completed"]
    assert present["path"] == "where properties.revenue>100"
    assert present["actual"] == 10
    [absent] = by_event["Product Viewed"]
    assert absent["path"] == "where properties.revenue>100"
    assert absent["actual"] is None
    assert absent["missing"] is True
    assert "where properties.revenue>100: no match, got 10" in verdict["message"]


async def test_assert_with_timeout_waits_for_a_late_event(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    started = time.monotonic()
    waiting = parked(server, "check")
    task = asyncio.create_task(check(http, server, {"fields": {"event": "Late"}, "timeout": 10}))
    await until(waiting)
    assert len(server.emulator._waiters) == 1
    await track(http, server, "Late")
    verdict = await task
    assert time.monotonic() - started < PROMPT
    assert verdict["passed"] is True


async def test_assert_times_is_exact(server: RunningServer, http: aiohttp.ClientSession) -> None:
    await track(http, server, "Clicked", messageId="c1")
    await track(http, server, "Clicked", messageId="c2")
    once = await check(http, server, {"fields": {"event": "Clicked"}, "times": 1})
    assert once["passed"] is False
    assert once["count"] == 2
    # Too many: the message lists what matched, not near misses.
    assert "expected exactly 1" in once["message"]
    assert "matching events:" in once["message"]
    twice = await check(http, server, {"fields": {"event": "Clicked"}, "times": 2})
    assert twice["passed"] is True
    none = await check(http, server, {"fields": {"event": "Clicked"}, "times": 0})
    assert none["passed"] is False


async def test_assert_on_rejections(server: RunningServer, http: aiohttp.ClientSession) -> None:
    # assert_no_rejections's expectation.
    no_rejections = {"status": "rejected", "times": 0}
    await track(http, server, "Fine")
    assert (await check(http, server, no_rejections))["passed"] is True
    async with http.post(
        f"{server.url}/v1/track", data=b'{"event": "Anonymous"}', headers=auth("key_a")
    ) as response:
        assert response.status == 200  # answered as Segment does, stored as rejected
    verdict = await check(http, server, no_rejections)
    assert verdict["passed"] is False
    assert verdict["count"] == 1
    assert "rejected" in verdict["message"]
    # A rejected call is never what a plain expectation matches, but it is the nearest miss.
    plain = await check(http, server, {"fields": {"event": "Anonymous"}})
    assert plain["passed"] is False
    assert plain["nearest"][0]["differences"][0]["path"] == "status"


@pytest.mark.parametrize(
    ("matcher", "passes"),
    [
        ({"properties.sku": {"$any": True}}, True),
        ({"properties.missing": {"$any": True}}, False),
        ({"properties.sku": {"$anyString": True}}, True),
        ({"properties.price": {"$anyString": True}}, False),
        ({"properties.sku": {"$regex": "^SKU-\\d+$"}}, True),
        ({"properties.sku": {"$regex": "^sku"}}, False),
        ({"properties.price": {"$approx": 9.99, "rel": 1e-3}}, True),
        ({"properties.price": {"$approx": 9.0}}, False),
        ({"properties.coupon": {"$absent": True}}, True),
        ({"properties.sku": {"$absent": True}}, False),
        ({"properties": {"sku": {"$regex": "SKU"}, "price": {"$approx": 9.99}}}, True),
    ],
)
async def test_assert_matchers(
    server: RunningServer, http: aiohttp.ClientSession, matcher: dict[str, Any], passes: bool
) -> None:
    await track(http, server, "Product Added", properties={"sku": "SKU-42", "price": 9.990001})
    verdict = await check(http, server, {"fields": {"event": "Product Added", **matcher}})
    assert verdict["passed"] is passes, verdict["message"]


@pytest.mark.parametrize(
    ("body", "code", "problem"),
    [
        (b"{not json", "invalid_json", "body is not valid JSON"),
        (b"[]", "invalid_expectation", "must be a JSON object"),
        (b'{"evnt": "x"}', "invalid_expectation", "unknown field(s) in the expectation: evnt"),
        (b'{"fields": {"a": {"$nope": 1}}}', "invalid_expectation", "unknown matcher '$nope'"),
        (b'{"fields": {"a": {"$regex": "("}}}', "invalid_expectation", "bad $regex"),
        (b'{"fields": {"a": {"$approx": "x"}}}', "invalid_expectation", "must be numbers"),
        (b'{"type": "purchase"}', "invalid_expectation", "type must be one of"),
        (b'{"fields": "event"}', "invalid_expectation", "fields must be an object"),
        (b'{"times": -1}', "invalid_expectation", "times must be a whole number >= 0, got -1"),
        (b'{"atLeast": 1.5}', "invalid_expectation", "atLeast must be a whole number"),
        (b'{"timeout": -1}', "invalid_expectation", "timeout must be a number of seconds"),
        (b'{"timeout": "5"}', "invalid_expectation", "timeout must be a number of seconds"),
        (b'{"timeout": true}', "invalid_expectation", "timeout must be a number of seconds"),
        (b'{"status": "lost"}', "invalid_expectation", "status must be one of"),
        (b'{"where": "event:("}', "invalid_expectation", "where: "),
    ],
)
async def test_assert_refuses_invalid_expectations(
    server: RunningServer, http: aiohttp.ClientSession, body: bytes, code: str, problem: str
) -> None:
    answer = await error(http, "POST", f"{server.url}/_segemu/assert", body)
    assert answer["code"] == code
    assert problem in answer["message"]


async def test_assertions_lists_recent_verdicts_newest_first(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    await track(http, server, "Clicked")
    await check(http, server, {"fields": {"event": "Clicked"}, "description": "first"})
    await check(http, server, {"fields": {"event": "Nope"}, "description": "second"})
    listed = (await get_json(http, f"{server.url}/_segemu/assertions"))["assertions"]
    assert [(a["expected"], a["passed"]) for a in listed] == [("second", False), ("first", True)]
    assert all(a["at"].endswith("Z") for a in listed)


# -- GET /_segemu/events?q= ----------------------------------------------------------------


async def test_events_q_filters(server: RunningServer, http: aiohttp.ClientSession) -> None:
    await track(http, server, "Order Completed", properties={"revenue": 10}, messageId="o1")
    await track(http, server, "Order Completed", properties={"revenue": 120}, messageId="o2")
    await track(http, server, "Product Viewed", messageId="p1", key="key_b")
    answer = await get_json(
        http, url(server, "events", q='event:"Order Completed" properties.revenue>=100')
    )
    assert [e["messageId"] for e in answer["events"]] == ["o2"]
    answer = await get_json(http, url(server, "events", q="writeKey:key_b"))
    assert [e["messageId"] for e in answer["events"]] == ["p1"]
    # q and the structured filters combine.
    answer = await get_json(http, url(server, "events", q="type:track", writeKey="key_a"))
    assert [e["messageId"] for e in answer["events"]] == ["o2", "o1"]


async def test_events_bad_q_is_a_400(server: RunningServer, http: aiohttp.ClientSession) -> None:
    answer = await error(http, "GET", url(server, "events", q="properties.revenue>"))
    assert answer["code"] == "invalid_query"
    assert answer["message"].startswith("q: ")
    assert answer["message"].endswith("^")
