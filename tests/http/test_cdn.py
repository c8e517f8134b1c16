"""Segment's CDN over real sockets: the settings analytics.js loads, analytics.min.js and the
lazy chunks (reference/segment-wire-contract.md §5; segemu/http/cdn.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from segemu import __version__, create_emulator
from segemu.http.server import RunningServer, start_server
from tests.conftest import get_json

Start = Callable[..., Awaitable[RunningServer]]
# A stand-in for @segment/analytics-next's dist/umd: the placeholder where the CDN embeds the
# write key sits in a JS string, as in the real standalone.js (lib/embedded-write-key.ts).
STANDALONE = 'try{window.analyticsWriteKey="__WRITE_KEY__"}catch(t){};/* the bundle */\n'
CHUNK = "queryString.bundle.34b193ada8fe288d1bd1.js"


@pytest.fixture
async def start() -> AsyncIterator[Start]:
    servers: list[RunningServer] = []

    async def run(**settings: Any) -> RunningServer:
        server = await start_server(create_emulator(db=":memory:", **settings), "127.0.0.1", 0)
        servers.append(server)
        return server

    yield run
    for server in servers:
        await server.stop()


@pytest.fixture
def package(tmp_path: Path) -> Path:
    """node_modules/@segment/analytics-next as npm installs it (the parts segemu reads)."""
    root = tmp_path / "node_modules" / "@segment" / "analytics-next"
    umd = root / "dist" / "umd"
    umd.mkdir(parents=True)
    (umd / "standalone.js").write_text(STANDALONE)
    (umd / CHUNK).write_text("/* lazy chunk */")
    (root / "package.json").write_text('{"name": "@segment/analytics-next", "version": "9.9.9"}')
    return root


async def get_text(
    http: aiohttp.ClientSession, url: str, headers: dict[str, str] | None = None
) -> tuple[int, str, Any]:
    async with http.get(url, headers=headers) as response:
        return response.status, await response.text(), response.headers


async def test_settings_send_events_and_telemetry_to_the_host_the_browser_used(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    origin = "http://localhost:3000"
    url = f"{server.url}/v1/projects/wk_web/settings"
    async with http.get(url, headers={"Origin": origin, "Host": "localhost:7878"}) as response:
        assert response.status == 200
        # A plain GET from the page, no preflight, but it needs CORS (wire-contract §5.1).
        assert response.headers["Access-Control-Allow-Origin"] == origin
        settings = await response.json()
    assert settings["integrations"] == {
        "Segment.io": {
            "apiKey": "wk_web",
            "apiHost": "localhost:7878/v1",
            "protocol": "http",
            "unbundledIntegrations": [],
            "addBundledMetadata": True,
            "maybeBundledConfigIds": {},
            "versionSettings": {"version": "4.4.7", "componentTypes": ["browser"]},
        }
    }
    # No telemetry to api.segment.io (remote-metrics.ts defaults sampleRate to 1).
    assert settings["metrics"] == {"sampleRate": 0, "host": "localhost:7878/v1"}
    assert settings["remotePlugins"] == []
    assert settings["enabledMiddleware"] == {}


async def test_settings_behind_a_proxy_use_its_forwarded_host_and_scheme(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    headers = {"X-Forwarded-Host": "segemu.test, inner", "X-Forwarded-Proto": "https"}
    settings = await get_json_with(http, f"{server.url}/v1/projects/k/settings", headers)
    segment = settings["integrations"]["Segment.io"]
    assert (segment["apiHost"], segment["protocol"]) == ("segemu.test/v1", "https")


async def get_json_with(http: aiohttp.ClientSession, url: str, headers: dict[str, str]) -> Any:
    async with http.get(url, headers=headers) as response:
        assert response.status == 200
        return await response.json()


async def test_a_source_settings_table_is_merged_into_its_settings(
    start: Start, http: aiohttp.ClientSession
) -> None:
    batching = {"strategy": "batching", "config": {"size": 20}}
    server = await start(
        sources={
            "web": {
                "write_key": "wk_web",
                "settings": {
                    "integrations": {"Segment.io": {"deliveryStrategy": batching}},
                    "metrics": {"sampleRate": 1},
                },
            },
            "api": {"write_key": "wk_api"},
        }
    )
    web = await get_json(http, f"{server.url}/v1/projects/wk_web/settings")
    segment = web["integrations"]["Segment.io"]
    assert segment["deliveryStrategy"] == batching
    assert segment["apiKey"] == "wk_web"  # nested tables merge: the rest stays
    assert web["metrics"]["sampleRate"] == 1
    assert web["metrics"]["host"].endswith("/v1")
    api = await get_json(http, f"{server.url}/v1/projects/wk_api/settings")
    assert "deliveryStrategy" not in api["integrations"]["Segment.io"]
    # A key no source has still loads: its calls are then stored as rejected with the reason.
    unknown = await get_json(http, f"{server.url}/v1/projects/wk_typo/settings")
    assert unknown["integrations"]["Segment.io"]["apiKey"] == "wk_typo"


async def test_the_official_bundle_is_served_with_the_write_key_embedded(
    start: Start, http: aiohttp.ClientSession, package: Path
) -> None:
    server = await start(analytics_js=str(package))
    status, text, headers = await get_text(
        http,
        f"{server.url}/analytics.js/v1/wk_1/analytics.min.js",
        {"Origin": "http://localhost:3000"},
    )
    assert status == 200
    assert headers["Content-Type"].startswith("application/javascript")
    assert headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
    assert 'window.analyticsWriteKey="wk_1"' in text
    # First, analytics._cdn defaults to segemu for pages whose snippet left it out.
    assert text.index("a._cdn=new URL(s.src).origin") < text.index("analyticsWriteKey")
    # A reinstalled bundle is served on the next request, without a restart.
    (package / "dist" / "umd" / "standalone.js").write_text(STANDALONE + "/* 1.85 */")
    _, text, _ = await get_text(http, f"{server.url}/analytics.js/v1/wk_1/analytics.min.js")
    assert text.endswith("/* 1.85 */")
    # A key that would end the JS string is escaped (the key comes from the URL).
    _, text, _ = await get_text(http, f"{server.url}/analytics.js/v1/a%22b%3C/analytics.min.js")
    assert 'window.analyticsWriteKey="a\\"b\\u003c"' in text


async def test_the_lazy_chunks_come_from_beside_the_bundle(
    start: Start, http: aiohttp.ClientSession, package: Path
) -> None:
    server = await start(analytics_js=str(package / "dist" / "umd" / "standalone.js"))
    status, text, headers = await get_text(http, f"{server.url}/analytics-next/bundles/{CHUNK}")
    assert (status, text) == (200, "/* lazy chunk */")
    assert headers["Access-Control-Allow-Origin"] == "*"
    for name in ("nope.bundle.js", "..%2Fpackage.json", "standalone.js.txt"):
        status, text, _ = await get_text(http, f"{server.url}/analytics-next/bundles/{name}")
        assert status == 404, name
        assert "no chunk" in text


async def test_without_the_official_bundle_the_builtin_library_is_served(
    start: Start, http: aiohttp.ClientSession
) -> None:
    server = await start(analytics_js="builtin")
    status, text, _ = await get_text(http, f"{server.url}/analytics.js/v1/wk_2/analytics.min.js")
    assert status == 200
    assert 'var EMBEDDED_KEY = "wk_2";' in text
    assert f'var VERSION = "segemu-{__version__}";' in text
    status, text, _ = await get_text(http, f"{server.url}/analytics-next/bundles/{CHUNK}")
    assert status == 404
    assert "built-in analytics.js, which has none" in text


async def test_found_in_the_projects_node_modules(
    http: aiohttp.ClientSession, package: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nested = package.parents[2] / "src" / "pages"
    nested.mkdir(parents=True)
    monkeypatch.chdir(nested)  # node_modules is looked up through the parents, as Node does
    server = await start_server(create_emulator(db=":memory:"), "127.0.0.1", 0)
    try:
        _, text, _ = await get_text(http, f"{server.url}/analytics.js/v1/k/analytics.min.js")
    finally:
        await server.stop()
    assert "/* the bundle */" in text


async def test_a_bundle_removed_while_running_is_a_clear_503(
    start: Start, http: aiohttp.ClientSession, package: Path
) -> None:
    server = await start(analytics_js=str(package))
    (package / "dist" / "umd" / "standalone.js").unlink()
    status, text, _ = await get_text(http, f"{server.url}/analytics.js/v1/k/analytics.min.js")
    assert status == 503
    assert "reinstall @segment/analytics-next or restart segemu" in text


async def test_consent_settings_follow_the_destinations_categories(
    start: Start, http: aiohttp.ClientSession
) -> None:
    # consent-tools src/types/wrapper.ts: consentSettings.{allCategories,
    # hasUnmappedDestinations} and integrations.<name>.consentSettings.categories.
    server = await start(
        destinations={
            "mixpanel": {"consent_categories": ["Analytics"]},
            "amplitude": {"consent_categories": ["Analytics", "Advertising"]},
            "ga4": {},
        },
        sources={
            "web": {"write_key": "wk_web"},
            "mapped": {"write_key": "wk_mapped", "destinations": ["mixpanel", "amplitude"]},
            "plain": {"write_key": "wk_plain", "destinations": ["ga4"]},
        },
    )
    web = await get_json(http, f"{server.url}/v1/projects/wk_web/settings")
    assert web["consentSettings"] == {
        "allCategories": ["Analytics", "Advertising"],
        "hasUnmappedDestinations": True,  # GA4 is mapped to no category
    }
    mixpanel = web["integrations"]["Mixpanel (Actions)"]
    assert mixpanel["consentSettings"] == {"categories": ["Analytics"]}
    # Cloud mode: analytics.js loads no device-mode script for it.
    assert mixpanel["versionSettings"]["componentTypes"] == ["server"]
    assert "Google Analytics 4" not in str(list(web["integrations"]))
    mapped = await get_json(http, f"{server.url}/v1/projects/wk_mapped/settings")
    assert mapped["consentSettings"]["hasUnmappedDestinations"] is False
    plain = await get_json(http, f"{server.url}/v1/projects/wk_plain/settings")
    assert "consentSettings" not in plain
    assert list(plain["integrations"]) == ["Segment.io"]
