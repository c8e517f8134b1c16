"""Typed application keys (aiohttp's AppKey), shared by the handler modules."""

from __future__ import annotations

from aiohttp import web

from segemu.emulator import Emulator

EMULATOR = web.AppKey("emulator", Emulator)
