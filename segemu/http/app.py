"""The aiohttp application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from segemu.emulator import Emulator
from segemu.http import (
    cdn,
    control,
    destinations,
    faults,
    forward,
    functions,
    openapi,
    profile_api,
    profiles,
    protocols,
    stream,
    tracking,
    waits,
    webview,
)
from segemu.http.edge import ACTIVITY, POLICY, Activity, edge
from segemu.http.guard import AccessPolicy
from segemu.http.keys import EMULATOR
from segemu.http.responses import not_found, preflight


def create_app(emulator: Emulator, listen_host: str | None = None) -> web.Application:
    """`listen_host`: the address the server listens on, which the control API answers to
    as Host (http/guard.py), besides localhost and IP addresses."""
    # One middleware (http/edge.py), as each costs every request: handlers answer their own
    # errors, catch-all routes give unknown paths a JSON 404 or 405.
    app = web.Application(middlewares=[edge])
    app[EMULATOR] = emulator
    app[POLICY] = AccessPolicy.from_config(emulator.config, listen_host)
    app[ACTIVITY] = Activity()

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        await emulator.start()
        yield
        await emulator.close()

    async def release_waiters(app: web.Application) -> None:
        # on_shutdown runs before aiohttp waits for requests in flight: a long-poll answers
        # now with what it has, instead of holding the stop up.
        emulator.release_waiters()

    app.cleanup_ctx.append(lifecycle)
    app.on_shutdown.append(release_waiters)
    tracking.setup_routes(app)
    cdn.setup_routes(app)
    control.setup_routes(app)
    waits.setup_routes(app, control.PREFIX)
    stream.setup_routes(app, control.PREFIX)
    protocols.setup_routes(app, control.PREFIX)
    openapi.setup_routes(app, control.PREFIX)
    destinations.setup_routes(app, control.PREFIX)
    profiles.setup_routes(app, control.PREFIX)
    profile_api.setup_routes(app)
    forward.setup_routes(app, control.PREFIX)
    functions.setup_routes(app, control.PREFIX)
    faults.setup_routes(app, control.PREFIX)
    webview.setup_routes(app, control.PREFIX, guard=lambda request: app[POLICY].check(request))
    app.router.add_route("OPTIONS", "/{tail:.*}", preflight)
    app.router.add_route("*", "/{tail:.*}", not_found)
    return app
