"""Patterns users write cannot freeze the server: issue 13, finding 4. Any web page can send
these (a GET, or a simple POST), and each froze the server for seconds, doubling with every
character, deaf to SIGTERM while it ran:
- `q=event~"(a+)+$"` against a 27-character name (5.7 s);
- `q=*a*a*a*a*a*b`, wildcards only, against a 60-character name (4.9 s);
- `POST /_segemu/assert` with `{"$regex": "(a+)+$"}` (7.4 s).
Regexes now run on RE2 and wildcards are matched part by part (segemu/query/regex.py, Glob in
segemu/query/fields.py), both linear in the text. Each case is also tried with a longer name, for
which the old engine would have run for hours. What RE2 cannot do is a 400 that says so.
bench/hostile.py prints the time of each.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

import aiohttp
import orjson
import pytest

from segemu.http.server import RunningServer
from tests.http.test_control import auth

NAMES = {
    "the issue's": ("a" * 26 + "!", "a" * 60),
    "longer": ("a" * 48 + "!", "a" * 400),
}


async def track(http: aiohttp.ClientSession, server: RunningServer, event: str) -> None:
    body = {"event": event, "userId": "u_1"}
    async with http.post(
        f"{server.url}/v1/track", data=orjson.dumps(body), headers=auth("key_a")
    ) as response:
        assert response.status == 200, await response.text()


async def events(http: aiohttp.ClientSession, server: RunningServer, q: str) -> tuple[int, Any]:
    url = f"{server.url}/_segemu/events?q={urllib.parse.quote(q)}"
    async with http.get(url) as response:
        return response.status, await response.json()


async def check(
    http: aiohttp.ClientSession, server: RunningServer, body: dict[str, Any]
) -> tuple[int, Any]:
    async with http.post(f"{server.url}/_segemu/assert", json=body) as response:
        return response.status, await response.json()


@pytest.mark.parametrize("size", list(NAMES))
async def test_a_nested_quantifier_in_q_answers_at_once(
    server: RunningServer, http: aiohttp.ClientSession, size: str
) -> None:
    name, _ = NAMES[size]
    await track(http, server, name)
    status, page = await events(http, server, 'event~"(a+)+$"')
    assert (status, page["events"]) == (200, [])
    status, page = await events(http, server, 'event~"(a+)+!$"')
    assert status == 200
    assert [event["event"]["event"] for event in page["events"]] == [name]


@pytest.mark.parametrize("size", list(NAMES))
async def test_wildcards_in_q_answer_at_once(
    server: RunningServer, http: aiohttp.ClientSession, size: str
) -> None:
    _, name = NAMES[size]
    await track(http, server, name)
    for q in ("*a*a*a*a*a*b", "event:*a*a*a*a*a*b"):
        status, page = await events(http, server, q)
        assert (status, page["events"]) == (200, [])
    for q in ("*a*a*a*a*a*a", "event:a*a*a*a*a*a", "event:*aa*a*"):
        status, page = await events(http, server, q)
        assert status == 200
        assert [event["event"]["event"] for event in page["events"]] == [name], q


@pytest.mark.parametrize("size", list(NAMES))
async def test_a_nested_quantifier_in_an_assertion_answers_at_once(
    server: RunningServer, http: aiohttp.ClientSession, size: str
) -> None:
    name, _ = NAMES[size]
    await track(http, server, name)
    status, verdict = await check(http, server, {"fields": {"event": {"$regex": "(a+)+$"}}})
    assert (status, verdict["passed"]) == (200, False)
    status, verdict = await check(http, server, {"fields": {"event": {"$regex": "^(a+)+!$"}}})
    assert (status, verdict["passed"]) == (200, True)


@pytest.mark.parametrize(
    ("pattern", "problem"),
    [
        ("(?=a)b", "look-ahead '(?=' is not supported"),
        ("(?<!a)b", "negative look-behind '(?<!' is not supported"),
        ("(a)\\1", "a backreference '\\1' is not supported"),
        ("a++", "a possessive quantifier '++' is not supported"),
        ("a\\Z", "'\\Z' is not supported; use '\\z'"),
        ("a(b", "missing ), unterminated group"),
    ],
)
async def test_what_the_linear_engine_cannot_take_is_a_400_that_says_why(
    server: RunningServer, http: aiohttp.ClientSession, pattern: str, problem: str
) -> None:
    status, answer = await events(http, server, f'event~"{pattern}"')
    assert status == 400
    assert problem in answer["message"]
    status, answer = await check(http, server, {"fields": {"event": {"$regex": pattern}}})
    assert (status, answer["code"]) == (400, "invalid_expectation")
    assert problem in answer["message"]
    assert f"bad $regex {pattern!r}" in answer["message"]
