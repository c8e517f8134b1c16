"""wait_for on a delivery's outcome: a delivery that finishes while the wait's first scan is
under way (the scan yields between slices) wakes the wait. Found by bench/functions.py,
where waits for thousands of function deliveries each ran to their timeout."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from segemu.query import EventFilter, parse_query
from tests.functions.conftest import send, started


async def test_a_delivery_that_finishes_during_the_scan_wakes_the_wait(tmp_path: Path) -> None:
    fn = tmp_path / "fn.js"
    fn.write_text("async function onTrack(event) { await fetch('https://api.test/') }\n")
    emulator = await started(destinations={"fn": {"function": str(fn)}})
    fetching, answer = asyncio.Event(), asyncio.Event()

    async def policy(request: dict[str, Any], recorded: list[dict[str, Any]]) -> dict[str, Any]:
        fetching.set()
        await answer.wait()
        return {"ok": True, "status": 200, "headers": {}, "body": ""}

    emulator.functions.policy.answer = policy  # type: ignore[method-assign]
    changed = asyncio.Event()
    original_update = emulator._delivery.on_update

    def on_update(live: Any) -> None:
        original_update(live)
        changed.set()

    emulator._delivery.on_update = on_update
    original_scan = emulator.scan
    scans = 0

    async def scan(*args: Any, **kwargs: Any) -> list[Any]:
        # The first scan sees the delivery pending; it finishes before the scan returns.
        nonlocal scans
        scans += 1
        found = await original_scan(*args, **kwargs)
        if scans == 1:
            answer.set()
            await changed.wait()
        return found

    emulator.scan = scan  # type: ignore[method-assign]
    try:
        send(emulator, {"type": "track", "event": "X"})
        await fetching.wait()
        where = EventFilter(query=parse_query("deliveries.fn.status:delivered"))
        # Before the fix this waited out its whole (long) timeout.
        found = await asyncio.wait_for(emulator.wait_for(where, 1, timeout=300), 30)
    finally:
        await emulator.close()
    assert len(found) == 1
