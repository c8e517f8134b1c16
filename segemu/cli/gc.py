"""Garbage collection for a long-running `segemu run` process.

Stored records are long-lived containers (about ten per event). CPython's automatic full
collections walk all of them, every time the heap grows by a quarter: at 100,000 stored events
that is a pause of several hundred milliseconds in the middle of an SDK's request, and a steady
loss of throughput. The standalone server therefore collects the young generations itself on a
short timer (what request handling leaves behind is young) and the whole heap rarely.

Only `segemu run` does this: an emulator embedded in another process (pytest) leaves that
process's collector alone.
"""

from __future__ import annotations

import asyncio
import gc

YOUNG_INTERVAL = 0.25
FULL_INTERVAL = 120.0


async def collect_periodically() -> None:
    gc.disable()
    try:
        since_full = 0.0
        while True:
            await asyncio.sleep(YOUNG_INTERVAL)
            since_full += YOUNG_INTERVAL
            if since_full >= FULL_INTERVAL:
                gc.collect()
                since_full = 0.0
            else:
                gc.collect(1)
    finally:
        gc.enable()
