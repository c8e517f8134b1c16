"""Identity resolution with the browser SDK (@segment/analytics-next in headless Chromium): a
visitor's anonymous page calls, then identify, make one profile, read back through the Profile
API at Segment's paths and through the pytest API."""

from __future__ import annotations

import aiohttp

from segemu.http.server import RunningServer
from segemu.testing.aclient import AsyncSegemuClient
from tests.browser.conftest import Chromium, Site, wait_for_records
from tests.browser.pages import READY, npm_page, page_url
from tests.identity.profile_api import profile_api

VISIT_THEN_SIGN_IN = """async () => {
  const a = window.analytics
  await a.page('Shop', 'Pricing')
  await a.identify('user-42', { plan: 'pro', email: 'ada@example.com' })
  const user = await a.user()
  return user.anonymousId()
}"""


async def test_anonymous_page_calls_then_identify_make_one_profile(
    chromium: Chromium, site: Site, server: RunningServer
) -> None:
    site.pages["/shop/checkout.html"] = npm_page("wk_identity", server.url)
    await chromium.new_page(site.url, server.url)
    await chromium.goto(page_url(site.url))
    await chromium.wait_for_function(READY)
    anonymous_id = await chromium.evaluate(VISIT_THEN_SIGN_IN)
    records = await wait_for_records(server, 3)
    assert [r["type"] for r in records] == ["page", "page", "identify"]
    first, second, identify = (r["identity"] for r in records)
    # The first page call created the profile; the identify added the user id to it.
    assert [c["action"] for c in first["changes"]] == ["created", "added"]
    assert second["changes"] == []
    assert {c["external_id"] for c in identify["changes"]} == {
        "user_id:user-42",
        "email:ada@example.com",
    }
    assert first["segment_id"] == identify["segment_id"]

    async with aiohttp.ClientSession() as http:
        traits = await profile_api(http, server.url, f"anonymous_id:{anonymous_id}/traits")
        assert traits["traits"] == {"email": "ada@example.com", "plan": "pro"}
        answer = await profile_api(http, server.url, "user_id:user-42/events?sort=asc")
        events = answer["data"]
    assert [e["type"] for e in events] == ["page", "page", "identify"]
    assert events[0]["external_ids"] == [
        {"collection": "users", "type": "anonymous_id", "id": anonymous_id, "encoding": "none"}
    ]

    segemu = AsyncSegemuClient(server.url, "wk_identity")
    try:
        await segemu.assert_merged("user_id:user-42", f"anonymous_id:{anonymous_id}")
        profile = await segemu.assert_profile(
            "user_id:user-42", traits={"plan": "pro"}, external_ids={"email": "ada@example.com"}
        )
    finally:
        await segemu.aclose()
    assert [e["type"] for e in profile.events] == ["page", "page", "identify"]
