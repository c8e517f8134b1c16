"""The TypeScript client `segemu plan codegen --sdk analytics-next` writes, compiled by the
pinned tsc and run in headless Chromium over @segment/analytics-next: every planned event
reaches a segemu checking the same plan with no violation, and the client's own runtime check
agrees."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from segemu.protocols.codegen import Target
from tests.browser.conftest import Chromium, SegemuFactory, Site, wait_for_records
from tests.browser.pages import READY, UMD, html
from tests.protocols.codegen.helpers import STRESS, generated, planned_calls
from tests.protocols.codegen.test_typecheck import tsc

SEND = """async (calls) => {
  const typewriter = window.typewriter
  const violations = []
  typewriter.setTypewriterOptions({
    analytics: window.analytics,
    onViolation: (message, found) => violations.push({ message, found }),
  })
  await Promise.all(calls.map(({ fn, args }) => typewriter[fn](...args)))
  return violations
}"""


def browser_args(kind: str, function: str, payload: dict[str, Any]) -> list[Any]:
    if kind == "IDENTIFY":
        return ["u-1", payload]
    if kind == "GROUP":
        return ["g-1", payload]
    if function in ("page", "screen"):
        return [None, "Any page", payload]
    return [payload]


async def test_every_planned_event_from_the_browser_client_passes_the_plan(
    chromium: Chromium, site: Site, segemu_for: SegemuFactory, tmp_path: Path
) -> None:
    server = await segemu_for(protocols={"tracking_plan": str(STRESS)})
    text = generated(STRESS, Target("typescript", "analytics-next", validation=True))
    (tmp_path / "tracking.ts").write_text(text)
    compiled = tsc(tmp_path, ["tracking.ts"], emit=True)
    assert compiled.returncode == 0, compiled.stdout
    module = (tmp_path / "tracking.js").read_text()
    site.pages["/app.html"] = html(f"""<script src="{UMD}"></script>
<script type="module">
{module}
window.typewriter = typewriter
window.analytics = AnalyticsNext.AnalyticsBrowser.load(
  {{ writeKey: "wk_typed", cdnURL: "{server.url}" }})
window.analytics.then(() => {{ window.analytics.initialized = true }})
</script>""")
    await chromium.new_page(site.url, server.url)
    await chromium.goto(f"{site.url}/app.html")
    await chromium.wait_for_function(READY)

    calls = [
        {"fn": call.function, "args": browser_args(call.kind, call.function, call.payload)}
        for call in planned_calls(STRESS, text)
    ]
    violations = await chromium.evaluate(SEND, calls)
    assert violations == []
    records = await wait_for_records(server, len(calls))
    assert len(records) == len(calls)
    assert await chromium.page_errors() == []
    assert {r["protocols"]["trackingPlan"] for r in records} == {"Codegen stress"}
    broken = {
        r["event"].get("event") or r["type"]: r["violations"] for r in records if r["violations"]
    }
    assert broken == {}
    pages = {r["event"].get("name") for r in records if r["type"] == "page"}
    assert pages == {"Pricing", "Any page"}
