"""A page load followed by identify, track, page, group and alias, in headless Chromium with
the internet unreachable: every call is stored in segemu with the browser's context, through
each way a web app loads analytics.js (docs/browser.md)."""

from __future__ import annotations

import pytest

from segemu.http.server import RunningServer
from tests.browser.conftest import NODE_DIR, Chromium, SegemuFactory, Site
from tests.browser.pages import (
    assert_only_local_requests,
    assert_stored_with_browser_context,
    load_and_call,
    npm_page,
    official_snippet,
    page_url,
    snippet_page,
)

ANALYTICS_NEXT = "1.84.3"  # tests/browser/node/package-lock.json


@pytest.mark.parametrize("route", [False, True], ids=["real-preflights", "routed"])
async def test_npm_package_with_segemu_as_its_cdn(
    chromium: Chromium, site: Site, server: RunningServer, route: bool
) -> None:
    # AnalyticsBrowser.load({writeKey, cdnURL}) and nothing else: the settings segemu serves
    # send the events to it over http (wire-contract §5.3), and no telemetry to Segment.
    # Routed: Playwright aborts any request to another origin (it then answers CORS
    # preflights itself, so the other run leaves them to segemu).
    site.pages["/shop/checkout.html"] = npm_page("wk_npm", server.url)
    await chromium.new_page(site.url, server.url, route=route)
    browser, records = await load_and_call(chromium, server, page_url(site.url))
    # The package's UMD build names itself next-<version>, as the CDN build does (a bundler
    # build says npm:next-<version>, lib/version-type.ts).
    assert_stored_with_browser_context(
        records, browser, "wk_npm", page_url(site.url), f"next-{ANALYTICS_NEXT}"
    )
    # One request per call to the browser's short routes, Basic auth from the settings' key.
    assert {r["route"] for r in records} == {"/v1/p", "/v1/i", "/v1/t", "/v1/g", "/v1/a"}
    await assert_only_local_requests(chromium, site.url, server.url)
    posts = [r for r in await chromium.requests() if r["method"] == "POST"]
    assert posts
    assert all(r["headers"]["authorization"] == "Basic d2tfbnBtOg==" for r in posts)
    assert server.emulator.counters.metrics_requests == 0  # metrics.sampleRate 0


@pytest.mark.parametrize("with_cdn", [True, False], ids=["with-_cdn", "without-_cdn"])
async def test_official_snippet_with_the_served_standalone_bundle(
    chromium: Chromium, site: Site, segemu_for: SegemuFactory, with_cdn: bool
) -> None:
    # Without analytics._cdn an http page's bundle would fetch its settings from
    # https://cdn.segment.com and never load (sdk-captures scenario snippet-no-cdn-override);
    # the copy segemu serves defaults _cdn to where it came from.
    server = await segemu_for(analytics_js=str(NODE_DIR))
    snippet = await official_snippet(server.url, "wk_snippet", with_cdn)
    site.pages["/shop/checkout.html"] = snippet_page(snippet)
    await chromium.new_page(site.url, server.url)
    browser, records = await load_and_call(chromium, server, page_url(site.url))
    assert_stored_with_browser_context(
        records, browser, "wk_snippet", page_url(site.url), f"next-{ANALYTICS_NEXT}"
    )
    await assert_only_local_requests(chromium, site.url, server.url)
    fetched = [r["url"] for r in await chromium.requests() if r["method"] == "GET"]
    assert f"{server.url}/analytics.js/v1/wk_snippet/analytics.min.js" in fetched
    assert f"{server.url}/v1/projects/wk_snippet/settings" in fetched


async def test_batching_mode_set_by_the_source_settings(
    chromium: Chromium, site: Site, segemu_for: SegemuFactory
) -> None:
    # The source's [sources.web.settings] reach analytics.js through the CDN settings: here
    # its delivery strategy, batching (batched-dispatcher.ts: POST /v1/b, `size` events).
    batching = {"strategy": "batching", "config": {"size": 6, "timeout": 60_000}}
    server = await segemu_for(
        sources={
            "web": {
                "write_key": "wk_batch",
                "settings": {"integrations": {"Segment.io": {"deliveryStrategy": batching}}},
            }
        }
    )
    site.pages["/shop/checkout.html"] = npm_page("wk_batch", server.url)
    await chromium.new_page(site.url, server.url)
    browser, records = await load_and_call(chromium, server, page_url(site.url))
    assert_stored_with_browser_context(
        records, browser, "wk_batch", page_url(site.url), f"next-{ANALYTICS_NEXT}"
    )
    assert {r["route"] for r in records} == {"/v1/b"}
    assert {r["source"] for r in records} == {"web"}
    await assert_only_local_requests(chromium, site.url, server.url)


async def test_builtin_library_with_segemu_snippet(
    chromium: Chromium, site: Site, segemu_for: SegemuFactory
) -> None:
    from segemu.browser.snippet import render_snippet

    server = await segemu_for(analytics_js="builtin")
    site.pages["/shop/checkout.html"] = snippet_page(render_snippet(server.url, "wk_builtin"))
    await chromium.new_page(site.url, server.url)
    browser, records = await load_and_call(chromium, server, page_url(site.url))
    from segemu import __version__

    assert_stored_with_browser_context(
        records, browser, "wk_builtin", page_url(site.url), f"segemu-{__version__}"
    )
    await assert_only_local_requests(chromium, site.url, server.url)
