"""The aiohttp application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from segemu.emulator import Emulator
from segemu.http import control, tracking
from segemu.http.keys import EMULATOR
from segemu.http.responses import not_found, preflight


def create_app(emulator: Emulator) -> web.Application:
    # No middleware on purpose: each one costs every request; handlers answer their own errors
    # and catch-all routes give unknown paths a JSON 404.
    app = web.Application()
    app[EMULATOR] = emulator

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        await emulator.start()
        yield
        await emulator.close()

    app.cleanup_ctx.append(lifecycle)
    tracking.setup_routes(app)
    control.setup_routes(app)
    app.router.add_route("OPTIONS", "/{tail:.*}", preflight)
    app.router.add_route("*", "/{tail:.*}", not_found)
    return app
