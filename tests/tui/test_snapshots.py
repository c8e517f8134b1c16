"""SVG snapshots of each view, built through the same factory as the CLI.

Synchronous tests on purpose: snap_compare runs the app itself (style-and-ecosystem.md §C.2).
For a picture that never changes, the backend does not listen (the footer shows the configured
URL) and events are ingested with a fixed clock through the emulator, the path HTTP takes.
Update with `pytest tests/tui/test_snapshots.py --snapshot-update` and look at the report.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from segemu import create_emulator
from segemu.cli.expect_file import load_expectations
from segemu.emulator import Emulator
from segemu.tui.app import InspectorApp
from segemu.tui.factory import create_app
from segemu.tui.local import InProcessBackend
from tests.tui.helpers import ingest, until
from tests.tui.test_capabilities import SHOP_PLAN

SIZE = (130, 34)
SnapCompare = Callable[..., bool]
Steps = Callable[[Pilot[None]], Awaitable[None]]


def app_and_emulator(
    destinations: dict[str, Any] | None = None,
    protocols: dict[str, Any] | None = None,
    **kwargs: Any,
) -> tuple[InspectorApp, Emulator]:
    emulator = create_emulator(
        db=":memory:", port=7878, destinations=destinations, protocols=protocols
    )
    return create_app(InProcessBackend(emulator, listen=False), **kwargs), emulator


def send_sample(emulator: Emulator) -> None:
    ingest(
        emulator,
        {
            "type": "identify",
            "userId": "u_1",
            "messageId": "m-1",
            "traits": {"email": "ada@example.com", "plan": "pro"},
        },
        {
            "type": "page",
            "name": "Pricing",
            "anonymousId": "a_7",
            "messageId": "m-2",
            "properties": {"path": "/pricing"},
        },
    )
    ingest(
        emulator,
        {
            "type": "track",
            "event": "Order Completed",
            "userId": "u_1",
            "messageId": "m-3",
            "properties": {
                "revenue": 89.99,
                "currency": "USD",
                "products": [{"sku": "sku-1", "price": 89.99}],
            },
            "context": {"library": {"name": "analytics-python", "version": "2.4.0"}},
        },
        seconds=1.25,
    )
    ingest(emulator, {"type": "track", "userId": "u_1", "messageId": "m-4"}, seconds=2.5)
    ingest(
        emulator,
        {
            "type": "track",
            "event": "Order Completed",
            "userId": "u_1",
            "messageId": "m-3",
            "properties": {"revenue": 99.99},
        },
        seconds=3.75,
    )


def shown(app: InspectorApp, count: int) -> Steps:
    async def steps(pilot: Pilot[None]) -> None:
        await until(pilot, lambda: len(app.event_log.shown) == count, f"{count} rows")

    return steps


def then(*steps: Steps) -> Steps:
    async def run(pilot: Pilot[None]) -> None:
        for step in steps:
            await step(pilot)

    return run


def press(*keys: str) -> Steps:
    async def steps(pilot: Pilot[None]) -> None:
        await pilot.press(*keys)
        await pilot.pause()

    return steps


def test_live_event_stream(snap_compare: SnapCompare) -> None:
    app, emulator = app_and_emulator()
    send_sample(emulator)
    assert snap_compare(app, terminal_size=SIZE, run_before=shown(app, 5))


def send_wide_sample(emulator: Emulator) -> None:
    """Calls with what makes columns wide: a UUID anonymousId (analytics.js makes those), a
    long event name, deliveries and plan findings."""
    send_sample(emulator)
    ingest(
        emulator,
        {
            "type": "track",
            "event": "Checkout Step Completed",
            "anonymousId": "0f6d5c3e-8a1b-4d2e-9c7f-3b5a6e8d1f20",
            "messageId": "m-6",
            "properties": {"step": 2},
        },
        seconds=4.5,
    )


# The layout adapts to the terminal (issue 18, item 3): at 80x24 the columns that do not fit
# are left out and the rest sized to fit, destinations, plan and the counts included; at
# 200x50 the anonymousId shows whole and the name column does not take everything else.
def test_live_event_stream_at_80x24(snap_compare: SnapCompare) -> None:
    app, emulator = app_and_emulator({"mixpanel": {}}, protocols={"tracking_plan": str(SHOP_PLAN)})
    send_wide_sample(emulator)
    assert snap_compare(app, terminal_size=(80, 24), run_before=shown(app, 6))


def test_live_event_stream_at_200x50(snap_compare: SnapCompare) -> None:
    app, emulator = app_and_emulator({"mixpanel": {}}, protocols={"tracking_plan": str(SHOP_PLAN)})
    send_wide_sample(emulator)
    assert snap_compare(app, terminal_size=(200, 50), run_before=shown(app, 6))


def test_empty_stream_tells_how_to_send(snap_compare: SnapCompare) -> None:
    app, _ = app_and_emulator()
    assert snap_compare(app, terminal_size=SIZE)


def test_filter_with_a_mistake(snap_compare: SnapCompare) -> None:
    app, emulator = app_and_emulator()
    send_sample(emulator)

    async def typed(pilot: Pilot[None]) -> None:
        app.filter_bar.input.value = "properties.revenue>"
        await pilot.press("slash", "end", ">", "9", "enter")
        await until(pilot, lambda: app.filter_bar.has_class("-invalid"), "the error")
        app.screen.set_focus(None)  # no blinking cursor in the picture

    assert snap_compare(app, terminal_size=SIZE, run_before=then(shown(app, 5), typed))


def test_filtered_and_paused(snap_compare: SnapCompare) -> None:
    app, emulator = app_and_emulator()
    send_sample(emulator)

    async def filtered(pilot: Pilot[None]) -> None:
        app.filter_bar.input.value = 'event:"Order Completed"'
        await pilot.press("slash", "enter")
        await until(pilot, lambda: len(app.event_log.shown) == 2, "the filter")
        await pilot.press("p")
        ingest(emulator, {"type": "track", "event": "Late", "userId": "u_2"}, seconds=9)
        await until(pilot, lambda: len(app.event_log.held) == 1, "the held event")
        await until(pilot, lambda: "1 new" in str(app.status_bar.render()), "the count")

    assert snap_compare(app, terminal_size=SIZE, run_before=then(shown(app, 5), filtered))


def test_event_detail(snap_compare: SnapCompare) -> None:
    app, emulator = app_and_emulator()
    send_sample(emulator)
    assert snap_compare(
        app, terminal_size=SIZE, run_before=then(shown(app, 5), press("down", "down", "enter"))
    )


def test_event_detail_raw(snap_compare: SnapCompare) -> None:
    app, emulator = app_and_emulator()
    send_sample(emulator)
    assert snap_compare(
        app,
        terminal_size=SIZE,
        run_before=then(shown(app, 5), press("down", "down", "enter", "right")),
    )


def test_diff_of_two_events(snap_compare: SnapCompare) -> None:
    app, emulator = app_and_emulator()
    send_sample(emulator)

    async def diffed(pilot: Pilot[None]) -> None:
        app.table.marked = app.table.current  # as `m` does, without its notification
        await pilot.press("down", "down", "d")

    assert snap_compare(app, terminal_size=SIZE, run_before=then(shown(app, 5), diffed))


def test_destinations(snap_compare: SnapCompare) -> None:
    app, emulator = app_and_emulator(
        {
            "mixpanel": {},
            "amplitude": {"filters": [{"name": "drop pages", "if": 'type = "page"', "drop": True}]},
        }
    )
    send_sample(emulator)
    assert snap_compare(app, terminal_size=SIZE, run_before=then(shown(app, 5), press("2", "down")))


def test_violations(snap_compare: SnapCompare) -> None:
    app, emulator = app_and_emulator(protocols={"tracking_plan": str(SHOP_PLAN)})
    send_sample(emulator)
    ingest(
        emulator,
        {"type": "track", "event": "Viewed item 42", "userId": "u_1", "messageId": "m-5"},
        seconds=5,
    )
    assert snap_compare(app, terminal_size=SIZE, run_before=then(shown(app, 6), press("3")))


def test_assertions(snap_compare: SnapCompare, tmp_path: Path) -> None:
    path = tmp_path / "expect.json"
    path.write_text(
        json.dumps(
            [
                {
                    "description": "checkout tracks the order",
                    "type": "track",
                    "fields": {"event": "Order Completed", "properties": {"revenue": 99.99}},
                    "times": 1,
                },
                {
                    "description": "sign-up identifies with an email",
                    "type": "identify",
                    "where": "traits.email:*",
                },
                {"description": "nothing is rejected", "status": "rejected", "times": 0},
            ]
        )
    )
    app, emulator = app_and_emulator(
        expectations=load_expectations(path), expect_file="expect.json"
    )
    send_sample(emulator)
    assert snap_compare(
        app, terminal_size=SIZE, run_before=then(shown(app, 5), press("4", "down", "down"))
    )


def test_help(snap_compare: SnapCompare) -> None:
    app, _ = app_and_emulator()
    assert snap_compare(app, terminal_size=SIZE, run_before=press("question_mark"))


@pytest.fixture(autouse=True)
def _no_config_from_the_developer(monkeypatch: pytest.MonkeyPatch) -> None:
    # The snapshots must not depend on a developer's own SEGEMU_* settings.
    for name in ("SEGEMU_PORT", "SEGEMU_HOST", "SEGEMU_CONFIG"):
        monkeypatch.delenv(name, raising=False)
