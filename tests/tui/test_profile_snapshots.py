"""SVG snapshots of a profile in the inspector (segemu/tui/profile.py): the identity graph of a
user whose anonymous visit merged in, and the refused merge of a second user on the same
laptop, with Segment's reason. Built like the other snapshots (tests/tui/test_snapshots.py):
no socket, a fixed clock. Update with `--snapshot-update` and look at the report."""

from __future__ import annotations

from textual.pilot import Pilot

from segemu import create_emulator
from segemu.tui.app import InspectorApp
from segemu.tui.factory import create_app
from segemu.tui.local import InProcessBackend
from segemu.tui.messages import OpenProfile
from segemu.tui.profile import ProfileScreen
from tests.tui.helpers import ingest, until
from tests.tui.test_profiles import CALLS, ENGAGE
from tests.tui.test_snapshots import SIZE, SnapCompare, Steps


def laptop_app() -> InspectorApp:
    emulator = create_emulator(db=":memory:", port=7878, engage=ENGAGE)
    for number, call in enumerate(CALLS):
        ingest(emulator, dict(call), seconds=60.0 * number)
    return create_app(InProcessBackend(emulator, listen=False))


def opened(app: InspectorApp, external_id: str, *keys: str) -> Steps:
    async def steps(pilot: Pilot[None]) -> None:
        await until(pilot, lambda: len(app.event_log.shown) == len(CALLS) + 1, "the calls")
        app.post_message(OpenProfile(external_id))
        await until(pilot, lambda: isinstance(app.screen, ProfileScreen), "the profile")
        await pilot.press(*keys)
        await pilot.pause()

    return steps


def test_profile_identity_graph(snap_compare: SnapCompare) -> None:
    app = laptop_app()
    assert snap_compare(app, terminal_size=SIZE, run_before=opened(app, "user_id:u_1"))


def test_profile_refused_merge(snap_compare: SnapCompare) -> None:
    app = laptop_app()
    assert snap_compare(
        app,
        terminal_size=SIZE,
        run_before=opened(app, "user_id:u_2", "right", "right", "right"),
    )
