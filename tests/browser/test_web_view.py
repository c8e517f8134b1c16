"""The inspector in a browser (issue 18, Build 1): `segemu run` serves it at `/`; a frontend
developer opens the URL the banner prints and sees each call arrive, offline.

The page draws on a canvas (xterm.js), so what it shows is read from what its websocket
received; a screenshot of it is kept as an artifact (tests/browser/conftest.py,
artifacts_dir).
"""

from __future__ import annotations

import orjson
from aiohttp import ClientSession

from tests.browser.conftest import Chromium, SegemuFactory, artifacts_dir


async def test_a_call_posted_over_http_appears_on_the_web_view(
    chromium: Chromium, segemu_for: SegemuFactory
) -> None:
    server = await segemu_for()
    # Only segemu's origin is reachable: the page must load nothing from a CDN.
    await chromium.new_page(server.url)
    await chromium.goto(f"{server.url}/")
    await chromium.wait_for_frame_text("No calls yet")  # the inspector is up, attached

    body = {"userId": "shopper-1", "event": "Web View Check", "writeKey": "wk_web"}
    async with (
        ClientSession() as http,
        http.post(f"{server.url}/v1/track", data=orjson.dumps(body)) as answer,
    ):
        assert answer.status == 200

    await chromium.wait_for_frame_text("Web View Check")
    screen = await chromium.frame_text()
    assert "shopper-1" in screen
    assert "1 call (1 accepted)" in screen
    shot = await chromium.screenshot(artifacts_dir() / "web-view.png")
    assert shot.stat().st_size > 10_000  # a painted page, not a blank one

    assert await chromium.blocked() == []
    assert await chromium.page_errors() == []
    requested = {request["url"].removeprefix(server.url) for request in await chromium.requests()}
    assert "/_segemu/web/static/textual.js" in requested
    assert "/_segemu/web/static/RobotoMono.ttf" in requested


async def test_keys_typed_in_the_page_drive_the_inspector(
    chromium: Chromium, segemu_for: SegemuFactory
) -> None:
    server = await segemu_for()
    await chromium.new_page(server.url)
    await chromium.goto(f"{server.url}/")
    await chromium.wait_for_frame_text("No calls yet")
    await chromium.type("?", selector=".xterm-helper-textarea")  # xterm.js's key input
    await chromium.wait_for_frame_text("Query language")  # the help screen
