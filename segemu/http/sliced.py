"""Encoding many records for an answer without holding the event loop.

A stream resume sends up to 1,000 records (MAX_BACKLOG), each encoded on its own as one
server-sent event: in one go, records near Segment's 32 KB limit hold the loop for tens of
milliseconds, and ingest and /_segemu/health wait (DESIGN.md "Bounded work"). Here the loop
gets a pause every ENCODE_SLICE_SECONDS.

A listing's JSON is still encoded whole, by one orjson call: measured, 1,000 records of an
SDK's size take 1 to 2 ms that way, while encoding them in runs costs one and a half to three
times as much (orjson starts a fresh buffer for each call) and the runs must be joined in one
go all the same.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Any

# As long as a slice of a scan (Emulator.records_sliced), for the same reason.
ENCODE_SLICE_SECONDS = 0.001


async def encoded_sliced(items: Sequence[Any], encode: Callable[[Any], bytes]) -> list[bytes]:
    """`encode` of each item, in order, pausing every ENCODE_SLICE_SECONDS."""
    encoded: list[bytes] = []
    deadline = time.perf_counter() + ENCODE_SLICE_SECONDS
    for item in items:
        encoded.append(encode(item))
        if time.perf_counter() > deadline:
            await asyncio.sleep(0)
            deadline = time.perf_counter() + ENCODE_SLICE_SECONDS
    return encoded
