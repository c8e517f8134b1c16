"""Errors at the edge: inputs that were 500s are 400s (issue 13, finding 6), an unknown
method on a known route is a 405 (finding 9), and any error a handler did not expect becomes a
JSON 500 naming a problem id, logged, with the server still serving."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp
import orjson
import pytest

from segemu.http.server import RunningServer
from tests.conftest import get_json


async def raw_request(server: RunningServer, head: bytes, body: bytes = b"") -> tuple[int, Any]:
    """Send bytes exactly as written (aiohttp's client would refuse to send non-ASCII headers);
    returns the status and the JSON body."""
    reader, writer = await asyncio.open_connection(server.host, server.port)
    try:
        writer.write(
            head
            + b"\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: %d\r\n\r\n" % len(body)
            + body
        )
        await writer.drain()
        async with asyncio.timeout(10):
            answer = await reader.read()
    finally:
        writer.close()
    status_line, _, rest = answer.partition(b"\r\n")
    _, _, payload = rest.partition(b"\r\n\r\n")
    return int(status_line.split()[1]), orjson.loads(payload)


async def test_stream_after_a_unicode_digit_is_a_400(server: RunningServer) -> None:
    """`int('²')`: "²".isdigit() is true, but it is no number."""
    status, body = await raw_request(server, b"GET /_segemu/stream?after=%C2%B2 HTTP/1.1")
    assert status == 400
    assert body["code"] == "invalid_query"
    assert "after must be an integer" in body["message"]


async def test_a_non_ascii_authorization_header_is_a_400(server: RunningServer) -> None:
    status, body = await raw_request(
        server,
        b"POST /v1/track HTTP/1.1\r\nAuthorization: Basic \xff\xfe",
        b'{"userId":"u","event":"Clicked"}',
    )
    assert status == 400
    assert body["code"] == "no_write_key"
    # The body's write key still counts: the header only carries none.
    status, body = await raw_request(
        server,
        b"POST /v1/track HTTP/1.1\r\nAuthorization: Basic \xff\xfe",
        b'{"userId":"u","event":"Clicked","writeKey":"key_a"}',
    )
    assert (status, body) == (200, {"success": True})
    assert len(server.emulator.store) == 1


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("TRACE", "/v1/track", "POST"),
        ("GET", "/v1/batch", "POST"),
        ("DELETE", "/_segemu/events", "GET, HEAD"),
        ("PATCH", "/_segemu/destinations/hook", "DELETE, GET, HEAD, PUT"),
    ],
)
async def test_an_unknown_method_on_a_known_route_is_a_405(
    server: RunningServer, http: aiohttp.ClientSession, method: str, path: str, allowed: str
) -> None:
    async with http.request(method, f"{server.url}{path}") as response:
        assert response.status == 405
        assert response.headers["Allow"] == allowed
        body = await response.json()
    assert body["code"] == "method_not_allowed"
    assert allowed in body["message"]


async def test_an_unexpected_error_is_a_json_500_with_a_problem_id(
    server: RunningServer,
    http: aiohttp.ClientSession,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(*args: Any) -> Any:
        raise RuntimeError("a bug nobody foresaw")

    monkeypatch.setattr(server.emulator, "summary", broken)
    with caplog.at_level(logging.ERROR, logger="segemu.http"):
        async with http.get(f"{server.url}/_segemu/summary") as response:
            assert response.status == 500
            assert response.content_type == "application/json"
            body = await response.json()
    assert body["code"] == "internal_error"
    problem = body["problem"]
    assert problem in body["message"]
    # The log has the traceback under the same id.
    logged = [r for r in caplog.records if problem in r.getMessage()]
    assert logged
    assert logged[0].exc_info is not None
    assert "a bug nobody foresaw" in str(logged[0].exc_info[1])
    # The server keeps serving, and says what failed where a developer looks.
    assert (await get_json(http, f"{server.url}/_segemu/health"))["status"] == "ok"
    assert server.emulator.counters.request_errors[-1]["status"] == 500


async def test_a_failing_tracking_call_loses_nothing_else(
    server: RunningServer, http: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = server.emulator.ingest

    def ingest_once_broken(envelope: Any) -> Any:
        monkeypatch.setattr(server.emulator, "ingest", original)
        raise RuntimeError("one bad call")

    monkeypatch.setattr(server.emulator, "ingest", ingest_once_broken)
    call = orjson.dumps({"userId": "u", "event": "Clicked", "writeKey": "key_a"})
    async with http.post(f"{server.url}/v1/track", data=call) as response:
        assert response.status == 500
        # A browser still reads the answer: the Tracking API's CORS is on it.
        assert response.headers["Access-Control-Allow-Origin"] == "*"
    async with http.post(f"{server.url}/v1/track", data=call) as response:
        assert response.status == 200
    assert len(server.emulator.store) == 1
