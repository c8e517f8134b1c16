"""The control API belongs to the developer: what a web page on another origin can and cannot
do to segemu, over real sockets, with the headers a browser sends (issue 13, finding 2).

Requests without an Origin (the CLI, the pytest plugin, test runners) keep working as before.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson
import pytest

from segemu import create_emulator
from segemu.http.server import RunningServer, start_server
from tests.http.test_control import auth

EVIL = "http://evil.example"
APP = "http://localhost:3000"
TRACK = orjson.dumps({"userId": "u", "event": "Clicked", "writeKey": "key_a"})


@pytest.fixture
async def allowing() -> AsyncIterator[RunningServer]:
    """A segemu whose user allowed the app's origin and one host name."""
    running = await start_server(
        create_emulator(
            db=":memory:", allowed_origins=[APP], allowed_hosts=["host.docker.internal"]
        ),
        "127.0.0.1",
        0,
    )
    yield running
    await running.stop()


async def ingest_one(http: aiohttp.ClientSession, server: RunningServer) -> None:
    async with http.post(f"{server.url}/v1/track", data=TRACK, headers=auth("key_a")) as answer:
        assert answer.status == 200


async def answer(
    http: aiohttp.ClientSession, method: str, url: str, headers: dict[str, str], data: Any = None
) -> tuple[int, dict[str, str], Any]:
    async with http.request(method, url, headers=headers, data=data) as response:
        body = await response.json(content_type=None)
        return response.status, dict(response.headers), body


# -- finding 2, as written ---------------------------------------------------------------------


async def test_a_foreign_page_cannot_read_events(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    await ingest_one(http, server)
    status, headers, body = await answer(
        http, "GET", f"{server.url}/_segemu/events", {"Origin": EVIL}
    )
    assert status == 403
    assert body["code"] == "forbidden_origin"
    assert "events" not in body
    # No CORS grant: the page could not even read the refusal.
    assert "Access-Control-Allow-Origin" not in headers
    assert "Access-Control-Allow-Credentials" not in headers


async def test_a_text_plain_reset_from_a_foreign_page_wipes_nothing(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    await ingest_one(http, server)
    status, _, body = await answer(
        http,
        "POST",
        f"{server.url}/_segemu/reset",
        {"Origin": EVIL, "Content-Type": "text/plain"},
        data="{}",
    )
    assert status == 403
    assert body["code"] == "forbidden_origin"
    assert len(server.emulator.store) == 1


@pytest.mark.parametrize("host", ["evil.example", "evil.example:7878", "127.0.0.1.nip.io"])
async def test_dns_rebinding_is_refused(
    server: RunningServer, http: aiohttp.ClientSession, host: str
) -> None:
    """The page's own name, pointed at 127.0.0.1: the browser sends it as Host, and the
    request is same-origin for the page (so it carries no Origin on a GET)."""
    await ingest_one(http, server)
    for method, path in [("GET", "/_segemu/events"), ("POST", "/_segemu/reset")]:
        status, _, body = await answer(http, method, f"{server.url}{path}", {"Host": host})
        assert status == 403, path
        assert body["code"] == "forbidden_host"
        assert "allowed_hosts" in body["message"]
    assert len(server.emulator.store) == 1


# -- what stays allowed ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "host", [None, "localhost:7878", "127.0.0.1", "[::1]:7878", "app.localhost", "10.0.0.7:80"]
)
async def test_tools_without_an_origin_keep_working(
    server: RunningServer, http: aiohttp.ClientSession, host: str | None
) -> None:
    """The CLI, the pytest plugin and test runners send no Origin; loopback names and IP
    addresses cannot be rebound."""
    await ingest_one(http, server)
    headers = {"Host": host} if host else {}
    status, response_headers, body = await answer(
        http, "GET", f"{server.url}/_segemu/events", headers
    )
    assert status == 200
    assert body["count"] == 1
    assert "Access-Control-Allow-Origin" not in response_headers
    status, _, body = await answer(
        http,
        "POST",
        f"{server.url}/_segemu/reset",
        {**headers, "Content-Type": "application/json"},
        data=b'{"writeKey": "key_a"}',
    )
    assert (status, body["removed"]) == (200, 1)


async def test_a_body_less_post_needs_no_content_type(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    status, _, body = await answer(http, "POST", f"{server.url}/_segemu/flush", {})
    assert (status, body["success"]) == (200, True)


async def test_the_tracking_api_answers_every_origin_and_host(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    """As Segment's does: browsers on any site must reach it, through any name."""
    status, headers, body = await answer(
        http,
        "POST",
        f"{server.url}/v1/t",
        {"Origin": EVIL, "Host": "evil.example", "Content-Type": "text/plain"},
        data=TRACK.decode(),
    )
    assert (status, body) == (200, {"success": True})
    assert headers["Access-Control-Allow-Origin"] == EVIL
    assert len(server.emulator.store) == 1


async def test_the_openapi_document_is_public(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    status, headers, _ = await answer(
        http, "GET", f"{server.url}/_segemu/openapi.json", {"Origin": EVIL}
    )
    assert status == 200
    assert headers["Access-Control-Allow-Origin"] == EVIL


async def test_an_allowed_origin_may_read_and_reset(
    allowing: RunningServer, http: aiohttp.ClientSession
) -> None:
    await ingest_one(http, allowing)
    status, headers, body = await answer(
        http, "GET", f"{allowing.url}/_segemu/events", {"Origin": APP}
    )
    assert (status, body["count"]) == (200, 1)
    assert headers["Access-Control-Allow-Origin"] == APP
    assert "Access-Control-Allow-Credentials" not in headers
    status, headers, body = await answer(
        http,
        "POST",
        f"{allowing.url}/_segemu/reset",
        {"Origin": APP, "Content-Type": "application/json"},
        data=b"{}",
    )
    assert (status, body["removed"]) == (200, 1)
    # Other origins stay refused.
    status, _, _ = await answer(http, "GET", f"{allowing.url}/_segemu/events", {"Origin": EVIL})
    assert status == 403


async def test_an_allowed_host_name(allowing: RunningServer, http: aiohttp.ClientSession) -> None:
    headers = {"Host": f"host.docker.internal:{allowing.port}"}
    status, _, _ = await answer(http, "GET", f"{allowing.url}/_segemu/health", headers)
    assert status == 200
    status, _, _ = await answer(
        http, "GET", f"{allowing.url}/_segemu/health", {"Host": "other.internal"}
    )
    assert status == 403


async def test_segemus_own_origin_is_allowed(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    """A page segemu serves itself calls back to the origin it came from."""
    status, headers, _ = await answer(
        http, "GET", f"{server.url}/_segemu/health", {"Origin": server.url}
    )
    assert status == 200
    assert headers["Access-Control-Allow-Origin"] == server.url


async def test_the_null_origin_is_foreign(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    """Sandboxed iframes and file:// pages send `Origin: null`."""
    status, _, _ = await answer(http, "GET", f"{server.url}/_segemu/events", {"Origin": "null"})
    assert status == 403


# -- simple requests and embeds ------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded"],
)
@pytest.mark.parametrize("origin", [None, APP])
async def test_state_changes_refuse_simple_bodies(
    allowing: RunningServer, http: aiohttp.ClientSession, content_type: str, origin: str | None
) -> None:
    """What a page can send without a preflight, and what old browsers send without an
    Origin, never changes state, even from an allowed origin."""
    await ingest_one(http, allowing)
    headers = {"Content-Type": content_type, **({"Origin": origin} if origin else {})}
    for method, path in [
        ("POST", "/_segemu/reset"),
        ("PUT", "/_segemu/destinations/hook"),
        ("DELETE", "/_segemu/destinations/hook"),
    ]:
        status, _, body = await answer(http, method, f"{allowing.url}{path}", headers, data="{}")
        assert status == 415, path
        assert body["code"] == "unsupported_content_type"
        assert "application/json" in body["message"]
    assert len(allowing.emulator.store) == 1


async def test_an_embed_from_another_site_is_refused(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    """<img src="http://127.0.0.1:7878/_segemu/wait?timeout=300"> on a page: no Origin, but
    the browser says where it comes from."""
    headers = {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors"}
    status, _, body = await answer(http, "GET", f"{server.url}/_segemu/wait?timeout=1", headers)
    assert (status, body["code"]) == (403, "forbidden_origin")
    # A link the developer follows to a listing is theirs to read.
    headers = {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"}
    status, _, _ = await answer(http, "GET", f"{server.url}/_segemu/health", headers)
    assert status == 200


# -- preflights ------------------------------------------------------------------------------


def preflight_headers(origin: str, method: str = "POST") -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "content-type",
        "Access-Control-Request-Private-Network": "true",
    }


@pytest.mark.parametrize("path", ["/v1/t", "/v1/batch", "/v1/projects/key_a/settings"])
async def test_private_network_access_is_granted_to_the_tracking_api(
    server: RunningServer, http: aiohttp.ClientSession, path: str
) -> None:
    """A public site's page reaching segemu on the loopback address: Chrome asks first
    (wicg.github.io/private-network-access)."""
    async with http.options(f"{server.url}{path}", headers=preflight_headers(EVIL)) as response:
        assert response.status == 204
        assert response.headers["Access-Control-Allow-Private-Network"] == "true"
        assert response.headers["Access-Control-Allow-Origin"] == EVIL


async def test_private_network_access_is_refused_to_the_control_api(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    async with http.options(
        f"{server.url}/_segemu/reset", headers=preflight_headers(EVIL)
    ) as response:
        assert response.status == 403
        assert "Access-Control-Allow-Private-Network" not in response.headers
        assert "Access-Control-Allow-Origin" not in response.headers


async def test_an_allowed_origin_gets_its_preflight(
    allowing: RunningServer, http: aiohttp.ClientSession
) -> None:
    async with http.options(
        f"{allowing.url}/_segemu/destinations/hook", headers=preflight_headers(APP, "PUT")
    ) as response:
        assert response.status == 204
        assert response.headers["Access-Control-Allow-Origin"] == APP
        assert response.headers["Access-Control-Allow-Private-Network"] == "true"
        assert "PUT" in response.headers["Access-Control-Allow-Methods"]
        assert "Access-Control-Allow-Credentials" not in response.headers
