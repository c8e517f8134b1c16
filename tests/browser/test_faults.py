"""@segment/analytics-next (npm) in headless Chromium against a segemu that fails its
requests: it survives 429 and 503 bursts and a reset, every call arrives exactly once, and it
gives up after its retry budget, losing the call.

Retry behaviour of the standard (fetch) dispatcher, from segmentio/analytics-next
packages/browser/src/plugins/segmentio/index.ts, fetch-dispatcher.ts, shared-dispatcher.ts and
packages/core/src/priority-queue/index.ts, backoff.ts (analytics-next 1.84):
- a retryable failure (5xx but 501/505/511; 408, 410, 460; a network error) is retried at
  once the first time (`pushWithBackoff` with no attempts yet), then after
  `backoff({attempt})`: 500 ms x 2^attempt x a random factor in [1, 2);
- a 429 with Retry-After is retried after exactly that delay (`pushWithDelay`), at most
  `rateLimitConfig.maxRetryCount` times; Retry-After must be exposed to the page by CORS;
- each call is given up after `backoffConfig.maxRetryCount` attempts (10 by default; set with
  `integrations['Segment.io'].httpConfig`), with a `delivery_failure` error event;
- X-Retry-Count is the number of earlier attempts, from the first retry on.
"""

from __future__ import annotations

import aiohttp

from segemu.http.server import RunningServer
from tests.browser.conftest import Chromium, Site, wait_for_records
from tests.browser.pages import READY, assert_only_local_requests, npm_page
from tests.compat.faulted import add_fault, arrived_once, faulted, gaps

PAGE = "/shop.html"
TRACK = "() => window.analytics.track('Order Completed', {revenue: 9})"
# The page keeps the delivery failures analytics.js reports.
LISTEN = (
    "() => { window.failures = [];"
    " window.analytics.on('error', (e) => window.failures.push(e.code)) }"
)


async def open_shop(
    chromium: Chromium, site: Site, server: RunningServer, write_key: str, options: str = "{}"
) -> None:
    site.pages[PAGE] = npm_page(write_key, server.url, options)
    await chromium.new_page(site.url, server.url)
    await chromium.goto(site.url + PAGE)
    await chromium.wait_for_function(READY)
    await chromium.evaluate(LISTEN)


async def test_a_503_burst_is_retried_and_the_call_arrives_once(
    chromium: Chromium, site: Site, server: RunningServer, http: aiohttp.ClientSession
) -> None:
    await add_fault(http, server, status=503, times=2, route="/v1/t", writeKey="wk_b503")
    await open_shop(chromium, site, server, "wk_b503")
    await chromium.evaluate(TRACK)
    [record] = await wait_for_records(server, 1, "type:track")
    arrived_once(server, [record["messageId"]])
    attempts = await faulted(http, server, "wk_b503")
    assert [a["retryCount"] for a in attempts] == [None, 1]
    assert record["arrival"]["retryCount"] == 2
    assert attempts[-1]["arrived"] == {record["messageId"]: record["id"]}
    # At once, then backoff(attempt 1): at least 1 s.
    assert gaps(attempts, record["receivedAt"])[1] >= 1.0
    await assert_only_local_requests(
        chromium, site.url, server.url, expected_errors=("status of 503",)
    )


async def test_a_429_waits_out_retry_after(
    chromium: Chromium, site: Site, server: RunningServer, http: aiohttp.ClientSession
) -> None:
    await add_fault(
        http, server, status=429, retryAfter=1, times=2, route="/v1/t", writeKey="wk_b429"
    )
    await open_shop(chromium, site, server, "wk_b429")
    await chromium.evaluate(TRACK)
    [record] = await wait_for_records(server, 1, "type:track")
    arrived_once(server, [record["messageId"]])
    attempts = await faulted(http, server, "wk_b429")
    assert [a["retryCount"] for a in attempts] == [None, 1]
    assert all(gap >= 1.0 for gap in gaps(attempts, record["receivedAt"]))
    assert await chromium.evaluate("() => window.failures") == []


async def test_a_reset_is_resent_by_chromium_itself(
    chromium: Chromium, site: Site, server: RunningServer, http: aiohttp.ClientSession
) -> None:
    # The page's first call opened a keep-alive connection; the track goes out on it and is
    # reset before any answer. Chromium's network stack sends such a request again on a new
    # connection by itself (chromium net/http/http_network_transaction.cc,
    # ShouldResendRequest: a reused connection closed or reset before a response), so
    # analytics.js never sees an error: the call arrives once, as a first attempt.
    await add_fault(http, server, reset=True, times=1, route="/v1/t", writeKey="wk_breset")
    await open_shop(chromium, site, server, "wk_breset")
    await chromium.evaluate(TRACK)
    [record] = await wait_for_records(server, 1, "type:track")
    arrived_once(server, [record["messageId"]])
    [attempt] = await faulted(http, server, "wk_breset")
    assert attempt["effect"] == "reset"
    assert attempt["arrived"] == {record["messageId"]: record["id"]}
    assert record.get("arrival", {}).get("retryCount") is None
    assert await chromium.evaluate("() => window.failures") == []


async def test_it_gives_up_after_max_retry_count_and_the_call_is_lost(
    chromium: Chromium, site: Site, server: RunningServer, http: aiohttp.ClientSession
) -> None:
    await add_fault(http, server, status=503, route="/v1/t", writeKey="wk_bdown")
    options = "{integrations: {'Segment.io': {httpConfig: {backoffConfig: {maxRetryCount: 2}}}}}"
    await open_shop(chromium, site, server, "wk_bdown", options)
    await chromium.evaluate(TRACK)
    await chromium.wait_for_function("window.failures.length > 0")
    assert await chromium.evaluate("() => window.failures") == ["delivery_failure"]
    attempts = await faulted(http, server, "wk_bdown")
    assert [a["retryCount"] for a in attempts] == [None, 1]
    assert attempts[-1]["missing"] == attempts[0]["messageIds"]
    assert [r["type"] for r in server.emulator.events()] == ["page"]
