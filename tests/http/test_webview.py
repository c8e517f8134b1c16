"""The inspector's web view (http/webview.py) over real sockets: the page, its files, the
websocket that runs one inspector per tab, and the guard in front of them (issue 18, Build 1).
The browser itself is in tests/browser/test_web_view.py."""

from __future__ import annotations

import re

import aiohttp
import orjson
import pytest

from segemu.http import webview
from segemu.http.server import RunningServer

EVIL = "http://evil.example"
# Colours and cursor moves in what the inspector draws, left out to read its text.
ESCAPES = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\x1b[=>]")


async def test_the_page_is_served_at_the_root_and_loads_only_segemus_files(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    async with http.get(f"{server.url}/") as answer:
        assert answer.status == 200
        assert answer.content_type == "text/html"
        page = await answer.text()
        # No other site may frame it (clickjacking the inspector's keys).
        assert answer.headers["X-Frame-Options"] == "DENY"
        assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"]
    links = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert links, page
    for link in links:
        assert link.startswith("/"), f"{link}: the page must work offline"
        async with http.get(f"{server.url}{link}") as answer:
            assert answer.status == 200, link
    assert f'data-session-websocket-url="ws://127.0.0.1:{server.port}/_segemu/web/ws"' in page


async def test_only_the_bundles_files_are_served(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    for name in ("server.py", "..%2F__init__.py", "js%2Ftextual.js"):
        async with http.get(f"{server.url}/_segemu/web/static/{name}") as answer:
            assert answer.status == 404, name
            assert (await answer.json())["code"] == "not_found"


async def test_a_rebound_host_name_gets_no_page(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    async with http.get(f"{server.url}/", headers={"Host": "attacker.example"}) as answer:
        assert answer.status == 403
        assert (await answer.json())["code"] == "forbidden_host"


async def test_a_page_on_another_origin_cannot_open_the_websocket(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    url = f"ws://127.0.0.1:{server.port}/_segemu/web/ws"
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await http.ws_connect(url, headers={"Origin": EVIL})
    assert refused.value.status == 403


async def test_a_plain_get_of_the_websocket_is_a_400(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    async with http.get(f"{server.url}/_segemu/web/ws") as answer:
        assert answer.status == 400
        assert (await answer.json())["code"] == "not_a_websocket"


async def test_open_inspectors_are_capped(
    server: RunningServer, http: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(webview, "MAX_SESSIONS", 0)
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await http.ws_connect(f"ws://127.0.0.1:{server.port}/_segemu/web/ws")
    assert refused.value.status == 503


async def test_the_websocket_runs_the_inspector_and_shows_a_new_call(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    url = f"ws://127.0.0.1:{server.port}/_segemu/web/ws?width=120&height=30"
    screen = b""
    posted = False
    async with http.ws_connect(url, headers={"Origin": server.url}) as socket:
        async for message in socket:
            if message.type != aiohttp.WSMsgType.BINARY:
                continue
            screen += message.data
            text = ESCAPES.sub(b"", screen)
            if not posted and b"No calls yet" in text:
                posted = True
                body = orjson.dumps({"userId": "u1", "event": "Seen On The Web", "writeKey": "k"})
                async with http.post(f"{server.url}/v1/track", data=body) as answer:
                    assert answer.status == 200
            if posted and b"Seen On The Web" in text:
                break
        await socket.send_str(orjson.dumps(["stdin", "q"]).decode())
        async for _ in socket:  # q quits the tab's inspector; the server closes the socket
            pass
    assert b"(attached)" in ESCAPES.sub(b"", screen)


async def test_the_page_grants_no_other_origin_and_post_root_stays_the_functions(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    async with http.get(f"{server.url}/", headers={"Origin": EVIL}) as answer:
        assert answer.status == 403
        assert "Access-Control-Allow-Origin" not in answer.headers
    async with http.get(f"{server.url}/") as answer:
        assert "Access-Control-Allow-Origin" not in answer.headers
    # POST / is Segment's Source Function webhook form (http/functions.py): no guard on it.
    async with http.post(f"{server.url}/", data=b"{}") as answer:
        assert (await answer.json())["code"] != "forbidden_origin"
