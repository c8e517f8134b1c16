"""What a page on another origin can do to segemu, in real headless Chromium (issue 13,
finding 2): its analytics.js reaches the Tracking API, while its attempts to read
/_segemu/events or to POST /_segemu/reset fail, in every form a page can send them."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import Chromium, SegemuFactory, Site, wait_for_records
from tests.browser.pages import READY, npm_page

# Everything a page's script can try against the control API; each outcome as the page sees it.
ATTEMPTS = """async (segemu) => {
  const attempt = async (url, options) => {
    try {
      const response = await fetch(url, options)
      return { status: response.status, type: response.type, body: await response.text() }
    } catch (error) {
      return { error: String(error) }
    }
  }
  return {
    read: await attempt(segemu + '/_segemu/events'),
    // A simple request: no preflight, the browser sends it and hides the answer.
    resetText: await attempt(segemu + '/_segemu/reset', {
      method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: '{}' }),
    // Fire and forget: the page never reads an answer, it only wants the side effect.
    resetBlind: await attempt(segemu + '/_segemu/reset', {
      method: 'POST', mode: 'no-cors', body: '{}' }),
    // JSON: preflighted first.
    resetJson: await attempt(segemu + '/_segemu/reset', {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' }),
  }
}"""
TRACK = "() => window.analytics.track('Still Tracked', { after: 'the attempts' })"


async def test_a_foreign_page_cannot_read_or_wipe_but_still_tracks(
    chromium: Chromium, site: Site, segemu_for: SegemuFactory
) -> None:
    server = await segemu_for()
    site.pages["/shop.html"] = npm_page("wk", server.url)
    await chromium.new_page(site.url, server.url)
    await chromium.goto(site.url + "/shop.html")
    await chromium.wait_for_function(READY)
    [page] = await wait_for_records(server, 1, "type:page")  # the page's own page()

    outcome: dict[str, Any] = await chromium.evaluate(ATTEMPTS, server.url)

    assert "Failed to fetch" in outcome["read"]["error"]
    assert "Failed to fetch" in outcome["resetText"]["error"]
    # Sent, and refused; even its opaque answer is withheld (Cross-Origin-Resource-Policy).
    assert "Failed to fetch" in outcome["resetBlind"]["error"]
    assert "Failed to fetch" in outcome["resetJson"]["error"]
    # Nothing was wiped: the page call is still stored, and the page keeps tracking.
    await chromium.evaluate(TRACK)
    [*_, tracked] = await wait_for_records(server, 2)
    assert tracked["event"]["event"] == "Still Tracked"
    assert server.emulator.events()[-1]["id"] == page["id"]
    assert not server.emulator.counters.request_errors


async def test_an_allowed_origin_reads_the_control_api(
    chromium: Chromium, site: Site, segemu_for: SegemuFactory
) -> None:
    """A developer's own dashboard or test page, once its origin is in allowed_origins."""
    server = await segemu_for(allowed_origins=[site.url])
    site.pages["/dashboard.html"] = npm_page("wk", server.url)
    await chromium.new_page(site.url, server.url)
    await chromium.goto(site.url + "/dashboard.html")
    await chromium.wait_for_function(READY)
    await wait_for_records(server, 1, "type:page")
    listing = await chromium.evaluate(
        "async (segemu) => (await fetch(segemu + '/_segemu/events')).json()", server.url
    )
    assert listing["count"] == 1
    removed = await chromium.evaluate(
        """async (segemu) => (await fetch(segemu + '/_segemu/reset', {
          method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' })).json()""",
        server.url,
    )
    assert removed["removed"] == 1
