"""The pages of the browser tests, the calls they make, and the check of what segemu stored."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections import Counter
from typing import Any

from segemu.http.server import RunningServer
from segemu.message import Record
from tests.browser.conftest import NODE_DIR, Chromium

# A page URL with a hash (analytics.js leaves it out of context.page.url) and utm_ parameters
# (context.campaign: utm_campaign becomes `name`, utm_X becomes X; env-enrichment utm()).
PAGE_PATH = "/shop/checkout.html"
PAGE_QUERY = "?utm_source=newsletter&utm_campaign=spring&step=2"
PAGE_TITLE = "Checkout"
UMD = "/node_modules/@segment/analytics-next/dist/umd/index.js"

# After the page's own page(): the other calls, made at once as an app would (each is its own
# request, sent concurrently). Returns what the browser knows, to compare with what arrived.
CALLS = """async () => {
  const a = window.analytics
  await Promise.all([
    a.identify('user-1', { email: 'ada@example.com', plan: 'pro' }),
    a.track('Order Completed', { revenue: 42.5, currency: 'USD' }),
    a.page('Shop', 'Receipt', { step: 3 }),
    a.group('group-1', { name: 'Initech', employees: 42 }),
    a.alias('user-1', 'anon-previous'),
  ])
  const user = await a.user()
  return { userAgent: navigator.userAgent, locale: navigator.language,
    timezone: Intl.DateTimeFormat().resolvedOptions().timeZone,
    anonymousId: user.anonymousId(), userId: user.id(), href: location.href }
}"""
CALLED_TYPES = Counter({"page": 2, "identify": 1, "track": 1, "group": 1, "alias": 1})
# Either global is there once analytics.js has loaded its settings (snippet or npm).
READY = "() => window.analytics && window.analytics.initialized === true"


def html(head: str, title: str = PAGE_TITLE) -> str:
    # No favicon request: the only 404 a page would log.
    return (
        f"<!doctype html>\n<html><head><meta charset='utf-8'><title>{title}</title>\n"
        f"<link rel='icon' href='data:,'>\n"
        f"{head}\n</head><body><h1>{title}</h1></body></html>\n"
    )


def npm_page(write_key: str, segemu_url: str, load_options: str = "{}") -> str:
    """@segment/analytics-next from npm (its UMD build, as a bundler would include it), loaded
    with AnalyticsBrowser.load and segemu as its CDN: nothing else is configured."""
    return html(f"""<script src="{UMD}"></script>
<script>
  window.analytics = AnalyticsNext.AnalyticsBrowser.load(
    {{ writeKey: {json.dumps(write_key)}, cdnURL: {json.dumps(segemu_url)} }}, {load_options})
  window.analytics.page()
  window.analytics.then(() => {{ window.analytics.initialized = true }})
</script>""")


def snippet_page(snippet: str) -> str:
    return html(snippet)


async def official_snippet(segemu_url: str, write_key: str, with_cdn: bool = True) -> str:
    """Segment's snippet, rendered by its own npm package (@segment/snippet), for a CDN at
    segemu, with `analytics._cdn` set (`useHostForBundles`) or not. The package writes
    `https://` before the host; a plain-http segemu needs `http://` there, and nothing else
    changes (sdk-captures scenario `snippet-standalone`)."""
    node = shutil.which("node")
    assert node is not None
    host = segemu_url.removeprefix("http://")
    code = (
        "const s = require('@segment/snippet'); process.stdout.write(s.min({apiKey: "
        f"{json.dumps(write_key)}, host: {json.dumps(host)}, "
        f"useHostForBundles: {json.dumps(with_cdn)}}}))"
    )
    process = await asyncio.create_subprocess_exec(
        node,
        "-e",
        code,
        cwd=NODE_DIR,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, err.decode()
    rendered = out.decode()
    assert f"https://{host}" in rendered
    assert ("analytics._cdn" in rendered) == with_cdn
    return "<script>" + rendered.replace(f"https://{host}", segemu_url) + "</script>"


async def assert_only_local_requests(
    chromium: Chromium, *origins: str, expected_errors: tuple[str, ...] = ()
) -> None:
    """Nothing reached for a host other than the app's and segemu's, nothing broke (but the
    console errors a test provoked on purpose, given by a part of their text)."""
    assert await chromium.blocked() == []
    for request in await chromium.requests():
        assert request["url"].startswith(origins), request["url"]
    assert await chromium.page_errors() == []
    problems = [
        line
        for line in await chromium.console()
        if line.startswith("error") and not any(expected in line for expected in expected_errors)
    ]
    assert problems == []


def assert_stored_with_browser_context(
    records: list[Record],
    browser: dict[str, Any],
    write_key: str,
    page_url: str,
    library_version: str,
) -> None:
    """The six calls are stored, accepted, with the context the browser filled in."""
    assert Counter(r["type"] for r in records) == CALLED_TYPES
    by_type = {r["type"]: r for r in records}
    for record in records:
        assert record["status"] == "accepted", record["reason"]
        assert record["writeKey"] == write_key
        event = record["event"]
        context = event["context"]
        assert context["library"] == {"name": "analytics.js", "version": library_version}, context[
            "library"
        ]
        assert context["userAgent"] == browser["userAgent"]
        assert context["locale"] == browser["locale"]
        assert context["timezone"] == browser["timezone"]
        assert context["campaign"] == {"source": "newsletter", "name": "spring"}
        assert context["ip"] == "127.0.0.1"  # Segment fills it for client calls
        page = context["page"]
        assert page["url"] == page_url  # the hash left out
        assert (page["path"], page["search"], page["title"]) == (PAGE_PATH, PAGE_QUERY, PAGE_TITLE)
        assert event["anonymousId"] == browser["anonymousId"]
        assert event["channel"] == "client"
        assert event["timestamp"].endswith("Z")
    assert by_type["identify"]["event"]["userId"] == "user-1"
    assert by_type["identify"]["event"]["traits"] == {"email": "ada@example.com", "plan": "pro"}
    track = by_type["track"]["event"]
    assert (track["event"], track["properties"]) == (
        "Order Completed",
        {"revenue": 42.5, "currency": "USD"},
    )
    group = by_type["group"]["event"]
    assert (group["groupId"], group["traits"]) == ("group-1", {"name": "Initech", "employees": 42})
    assert by_type["alias"]["event"]["previousId"] == "anon-previous"
    receipt = next(
        r["event"] for r in records if r["type"] == "page" and r["event"].get("name") == "Receipt"
    )
    assert receipt["category"] == "Shop"
    assert receipt["properties"]["step"] == 3
    # analytics.js merges the page context into a page call's properties (add-page-context).
    assert receipt["properties"]["url"] == page_url
    assert browser["userId"] == "user-1"


def page_url(site_url: str) -> str:
    return f"{site_url}{PAGE_PATH}{PAGE_QUERY}"


async def load_and_call(
    chromium: Chromium, server: RunningServer, url: str
) -> tuple[dict[str, Any], list[Record]]:
    """Open the page, wait until analytics.js is ready, make the calls; returns what the
    browser knows and the six records once stored."""
    from tests.browser.conftest import wait_for_records

    await chromium.goto(url + "#reviews")
    await chromium.wait_for_function(READY)
    browser: dict[str, Any] = await chromium.evaluate(CALLS)
    records = await wait_for_records(server, sum(CALLED_TYPES.values()))
    return browser, records
