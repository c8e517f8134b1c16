"""segemu's built-in analytics.js against the official one: the same user storage, the
snippet's queue replayed, reset, setAnonymousId, ready and user()."""

from __future__ import annotations

from typing import Any

from segemu.browser.snippet import render_snippet
from tests.browser.conftest import Chromium, SegemuFactory, Site, wait_for_records
from tests.browser.pages import READY, assert_only_local_requests, html, npm_page

# What analytics.js keeps of the user, read back from the page (core/user/index.ts).
STORAGE = """() => ({
  cookies: Object.fromEntries(document.cookie.split('; ').filter(Boolean)
    .map((pair) => pair.split('=')).filter(([name]) => name.startsWith('ajs_'))),
  local: Object.fromEntries(['ajs_user_id', 'ajs_anonymous_id', 'ajs_user_traits',
    'ajs_group_id', 'ajs_group_properties'].map((key) => [key, localStorage.getItem(key)])),
})"""
IDENTIFY = """async () => {
  window.analytics.setAnonymousId('anon-42')
  await window.analytics.identify('user-7', { plan: 'pro' })
  await window.analytics.identify({ seats: 3 })
  await window.analytics.group('group-9', { name: 'Initech' })
}"""


async def storage_after_identify(
    chromium: Chromium, site: Site, page: str, *origins: str
) -> dict[str, Any]:
    await chromium.new_page(*origins)
    await chromium.goto(site.url + page)
    await chromium.wait_for_function(READY)
    await chromium.evaluate(IDENTIFY)
    stored: dict[str, Any] = await chromium.evaluate(STORAGE)
    return stored


async def test_keeps_the_user_in_cookies_and_localstorage_as_analytics_next_does(
    chromium: Chromium, site: Site, segemu_for: SegemuFactory
) -> None:
    official = await segemu_for()
    builtin = await segemu_for(analytics_js="builtin")
    site.pages["/official.html"] = npm_page("wk", official.url)
    site.pages["/builtin.html"] = html(render_snippet(builtin.url, "wk", page=False))
    expected = await storage_after_identify(
        chromium, site, "/official.html", site.url, official.url
    )
    assert expected["cookies"]["ajs_user_id"] == "user-7"
    got = await storage_after_identify(chromium, site, "/builtin.html", site.url, builtin.url)
    assert got == expected
    await assert_only_local_requests(chromium, site.url, builtin.url)


async def test_a_user_identified_by_analytics_next_is_known_to_the_builtin(
    chromium: Chromium, site: Site, segemu_for: SegemuFactory
) -> None:
    # Switching libraries (say, the npm package uninstalled) keeps the visitor's identity.
    official = await segemu_for()
    builtin = await segemu_for(analytics_js="builtin")
    site.pages["/official.html"] = npm_page("wk", official.url)
    site.pages["/builtin.html"] = html(render_snippet(builtin.url, "wk"))
    await chromium.new_page(site.url, official.url, builtin.url)
    await chromium.goto(site.url + "/official.html")
    await chromium.wait_for_function(READY)
    await chromium.evaluate("() => window.analytics.identify('user-7', { plan: 'pro' })")
    [identified] = await wait_for_records(official, 1, "type:identify")
    await chromium.goto(site.url + "/builtin.html")
    [page] = await wait_for_records(builtin, 1, "type:page")
    assert page["event"]["userId"] == "user-7"
    assert page["event"]["anonymousId"] == identified["event"]["anonymousId"]
    traits = await chromium.evaluate("() => window.analytics.user().traits()")
    assert traits == {"plan": "pro"}


async def test_replays_the_snippet_queue_with_the_page_each_call_was_made_on(
    chromium: Chromium, site: Site, segemu_for: SegemuFactory
) -> None:
    server = await segemu_for(analytics_js="builtin")
    # Calls made before analytics.js arrived, one of them after the address changed: each
    # keeps the page it was called on (the snippet's buffered page context).
    queued = """<script>
  analytics.identify('early-user', { first: true })
  history.pushState({}, '', '/step-2?utm_medium=email')
  analytics.track('Step Reached', { step: 2 }, { context: { app: { name: 'shop' } } })
  analytics.ready(function () { window.readyCalled = true })
</script>"""
    site.pages["/step-1"] = html(render_snippet(server.url, "wk_queue") + queued)
    await chromium.new_page(site.url, server.url)
    await chromium.goto(site.url + "/step-1")
    page, identify, track = sorted(
        await wait_for_records(server, 3), key=lambda r: r["event"]["originalTimestamp"]
    )
    assert [page["type"], identify["type"], track["type"]] == ["page", "identify", "track"]
    assert page["event"]["context"]["page"]["path"] == "/step-1"
    assert identify["event"]["userId"] == "early-user"
    assert track["event"]["userId"] == "early-user"
    assert track["event"]["context"]["page"]["path"] == "/step-2"
    assert track["event"]["context"]["campaign"] == {"medium": "email"}
    assert track["event"]["context"]["app"] == {"name": "shop"}
    assert track["event"]["properties"] == {"step": 2}
    await chromium.wait_for_function("() => window.readyCalled === true")
    await assert_only_local_requests(chromium, site.url, server.url)


async def test_reset_forgets_the_user(
    chromium: Chromium, site: Site, segemu_for: SegemuFactory
) -> None:
    server = await segemu_for(analytics_js="builtin")
    site.pages["/app"] = html(render_snippet(server.url, "wk_reset", page=False))
    await chromium.new_page(site.url, server.url)
    await chromium.goto(site.url + "/app")
    await chromium.wait_for_function(READY)
    before, after = await chromium.evaluate("""async () => {
      const a = window.analytics
      await a.identify('user-1')
      const before = a.user().anonymousId()
      a.reset()
      await a.track('Logged Out')
      return [before, a.user().anonymousId()]
    }""")
    identify, track = await wait_for_records(server, 2)
    assert identify["event"]["anonymousId"] == before
    assert track["event"]["userId"] is None
    assert track["event"]["anonymousId"] == after != before


# A page with a link, a link that opens a new tab, and a form, bound as a site would bind them
# once analytics.js is ready (window.autoTrackBound says when).
AUTO_TRACK_PAGE = """<script>
  document.addEventListener('DOMContentLoaded', function () {
    document.body.insertAdjacentHTML('beforeend',
      '<a id="pricing" href="/pricing">Pricing</a>' +
      '<a id="docs" href="/docs" target="_blank">Docs</a>' +
      '<form id="signup" action="/welcome" method="get">' +
      '<input name="email" value="ada@example.com"></form>')
    // No popup in the test: the page's own handler stops the new tab from opening.
    document.getElementById('docs').addEventListener('click', function (e) { e.preventDefault() })
    analytics.ready(function () {
      analytics.trackLink(document.getElementById('pricing'), function (el) {
        return 'Link Clicked: ' + el.id }, { placement: 'nav' })
      analytics.trackClick(document.querySelectorAll('#docs'), 'Docs Opened')
      analytics.trackForm(document.getElementById('signup'), 'Signed Up', function (form) {
        return { email: form.email.value } })
      window.autoTrackBound = true
    })
  })
</script>"""
BOUND = "() => window.autoTrackBound === true"


def loaded(address: str) -> str:
    """A wait for the page at `address` (path and query) to have finished loading."""
    return (
        f"() => location.pathname + location.search === {address!r} "
        "&& document.readyState === 'complete'"
    )


async def test_track_link_and_track_form_track_then_go_on_as_analytics_next_does(
    chromium: Chromium, site: Site, segemu_for: SegemuFactory
) -> None:
    # core/auto-track.ts: the click or submit is tracked, then the link is followed or the
    # form submitted; a link opening a new tab is tracked and left to the browser.
    results = {}
    for library in ("official", "builtin"):
        server = await (
            segemu_for() if library == "official" else segemu_for(analytics_js="builtin")
        )
        write_key = f"wk_auto_{library}"
        site.pages["/home"] = html(
            render_snippet(server.url, write_key, page=False) + AUTO_TRACK_PAGE
        )
        site.pages["/pricing"] = html("", title="Pricing")
        site.pages["/welcome"] = html("", title="Welcome")
        await chromium.new_page(site.url, server.url)
        await chromium.goto(site.url + "/home")
        await chromium.wait_for_function(BOUND)

        await chromium.evaluate("() => document.getElementById('docs').click()")
        await wait_for_records(server, 1, 'event:"Docs Opened"')
        assert await chromium.evaluate("() => location.pathname") == "/home"
        await chromium.evaluate("() => document.getElementById('pricing').click()")
        await chromium.wait_for_function(loaded("/pricing"))
        await chromium.goto(site.url + "/home")
        await chromium.wait_for_function(BOUND)
        await chromium.evaluate("() => document.getElementById('signup').requestSubmit()")
        await chromium.wait_for_function(loaded("/welcome?email=ada%40example.com"))

        records = await wait_for_records(server, 3, f"writeKey:{write_key}")
        results[library] = sorted(
            (r["event"]["event"], r["event"]["properties"], r["event"]["context"]["page"]["path"])
            for r in records
        )
        await assert_only_local_requests(chromium, site.url, server.url)
    assert (
        results["builtin"]
        == results["official"]
        == [
            ("Docs Opened", {}, "/home"),
            ("Link Clicked: pricing", {"placement": "nav"}, "/home"),
            ("Signed Up", {"email": "ada@example.com"}, "/home"),
        ]
    )


async def test_a_tracked_link_is_followed_even_when_the_call_gets_no_answer(
    chromium: Chromium, site: Site, segemu_for: SegemuFactory
) -> None:
    # The track reaches segemu but its answer never comes back: the link is followed anyway
    # once the timeout passes (auto-track.ts pTimeout, settings.timeout of 500 ms).
    server = await segemu_for(analytics_js="builtin")
    site.pages["/home"] = html(
        render_snippet(server.url, "wk_auto_held", page=False) + AUTO_TRACK_PAGE
    )
    site.pages["/pricing"] = html("", title="Pricing")
    await chromium.new_page(
        site.url,
        server.url,
        route=True,
        interventions=[{"path": "/v1/t", "action": "deliver-then-hold"}],
    )
    await chromium.goto(site.url + "/home")
    await chromium.wait_for_function(BOUND)
    await chromium.evaluate("() => document.getElementById('pricing').click()")
    await chromium.wait_for_function(loaded("/pricing"), timeout=5)
    [clicked] = await wait_for_records(server, 1, 'event:"Link Clicked: pricing"')
    assert clicked["event"]["properties"] == {"placement": "nav"}
