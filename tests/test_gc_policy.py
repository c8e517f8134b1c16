"""`segemu run` collects garbage itself (segemu/cli/gc.py): what lives from start-up on is
frozen, so that a full collection does not walk it again while requests wait."""

from __future__ import annotations

import asyncio
import contextlib
import gc

from segemu.cli.gc import collect_periodically


async def test_start_up_objects_are_frozen_while_the_server_collects_itself() -> None:
    was_enabled = gc.isenabled()
    started = asyncio.get_running_loop().create_future()

    async def collecting() -> None:
        started.set_result(None)
        await collect_periodically()

    task = asyncio.create_task(collecting())
    await started
    # One more turn: collect_periodically has frozen the heap and parked on its timer.
    turn = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().call_soon(turn.set_result, None)
    await turn
    try:
        assert not gc.isenabled()
        assert gc.get_freeze_count() > 0
        gc.collect()  # a full collection leaves the frozen objects alone
        assert gc.get_freeze_count() > 0
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    # Stopped: the process's collector is as it was.
    assert gc.get_freeze_count() == 0
    assert gc.isenabled()
    if not was_enabled:
        gc.disable()
