"""Garbage collection for a long-running `segemu run` process.

Stored records are long-lived containers (about ten per event). CPython's automatic full
collections walk all of them, every time the heap grows by a quarter: at 100,000 stored events
that is a pause of several hundred milliseconds in the middle of an SDK's request, and a steady
loss of throughput. The standalone server therefore collects the young generations itself on a
short timer (what request handling leaves behind is young) and the whole heap rarely.

Only `segemu run` does this: an emulator embedded in another process (pytest) leaves that
process's collector alone. The same goes for `return_large_blocks`.
"""

from __future__ import annotations

import asyncio
import ctypes
import gc
import sys

YOUNG_INTERVAL = 0.25
FULL_INTERVAL = 120.0
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


async def collect_periodically() -> None:
    gc.disable()
    # What lives from start-up on (modules, classes, functions, the emulator's own objects):
    # about 50,000 objects a full collection would walk again each time, 25 to 70 ms of CPU
    # at 100,000 to 1,000,000 stored calls (the heap they sit in is large and cold), during
    # which /_segemu/health waits. Frozen, full collections walk what came after them.
    gc.collect()
    gc.freeze()
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
        gc.unfreeze()
        gc.enable()
