"""Typed application keys (aiohttp's AppKey), shared by the handler modules."""

from __future__ import annotations

import asyncio

from aiohttp import web

from segemu.emulator import Emulator
from segemu.message import Record

EMULATOR = web.AppKey("emulator", Emulator)
# The queues of open /_segemu/stream responses, ended on shutdown.
STREAMS = web.AppKey("streams", set[asyncio.Queue[list[Record] | None]])
