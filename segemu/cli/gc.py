"""Garbage collection for a long-running `segemu run` process.

Stored records are long-lived containers (about ten per event). CPython's automatic full
collections walk all of them, every time the heap grows by a quarter: at 100,000 stored events
that is a pause of several hundred milliseconds in the middle of an SDK's request, and a steady
loss of throughput. The standalone server therefore collects the whole heap itself, rarely, and
deals with the young objects on a short timer.

Headless, on that timer it freezes them (`gc.freeze`, which moves them out of the collector's
sight without looking at them) rather than collecting them. What is young and still alive after
a quarter of a second is nearly all stored calls, their indexes and profiles, which live on:
a young collection only walked them once more, about 4 us of each ingested call, and a pause of
tens of milliseconds each time under a load of batches. Request handling makes next to no
cyclic garbage (measured under wrk: a handful of objects per thousand requests), and what it
makes is freed by the full collection, which takes the frozen objects back first. That one
walks the whole heap, so once due it waits for a moment without requests (or half an hour at
the latest): its pause, about 70 ms at 1,000,000 stored calls, then delays nobody. The
inspector (segemu/tui) keeps collecting its young generation: Textual's widgets and messages
refer to each other, and make cyclic garbage at the rate a person uses it.

Only `segemu run` does this: an emulator embedded in another process (pytest) leaves that
process's collector alone. The same goes for `return_large_blocks`.
"""

from __future__ import annotations

import asyncio
import ctypes
import gc
import sys
from collections.abc import Awaitable, Callable

YOUNG_INTERVAL = 0.25
FULL_INTERVAL = 120.0
# The full collection is due after FULL_INTERVAL, and waits for this long without a request
# (its pause grows with the heap: about 70 ms at 1,000,000 stored calls), but no longer than
# FULL_AT_THE_LATEST.
QUIET_BEFORE_FULL = 2.0
FULL_AT_THE_LATEST = 1800.0
# glibc's mallopt parameter, and the value that is its documented default (128 KiB).
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD = 128 * 1024


def return_large_blocks() -> None:
    """Keep glibc's large allocations in mappings of their own, returned to the system when
    freed. By default glibc raises that threshold each time such a block is freed, after which
    the store's growing arrays and the buffers of each flush and each chunk read at start-up
    come from the main heap, where the holes they leave are never given back: about a fifth
    of segemu's resident memory at 100,000 stored calls (bench/memory.py). Elsewhere, or if
    the C library is not glibc, nothing changes."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)
    except (OSError, AttributeError):
        return


async def collect_periodically(
    *,
    freeze_young: bool = False,
    quiet_for: Callable[[], float] | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> None:
    """Until cancelled; then the process's collector is as it was. `quiet_for`: seconds since
    the last request (the server's), for the full collection to wait for a quiet moment;
    `sleep`: a test's clock."""
    gc.disable()
    try:
        since_full = 0.0
        while True:
            await sleep(YOUNG_INTERVAL)
            since_full += YOUNG_INTERVAL
            if since_full >= FULL_INTERVAL and (
                quiet_for is None
                or quiet_for() >= QUIET_BEFORE_FULL
                or since_full >= FULL_AT_THE_LATEST
            ):
                gc.unfreeze()  # a full collection looks at the frozen objects too
                gc.collect()
                since_full = 0.0
            elif freeze_young:
                gc.freeze()
            else:
                gc.collect(1)
    finally:
        gc.unfreeze()
        gc.enable()
