"""`segemu web`: the inspector in a browser for a segemu running elsewhere (a test session's,
a headless `segemu run` in a container), as `segemu tui --url` is in a terminal.

A small server of its own with the same page as `segemu run`'s (http/webview.py) and the
same guard (http/guard.py): its page and websocket answer only to local Host names and to
pages of its own origin.
"""

from __future__ import annotations

import asyncio
import signal

import click
from aiohttp import web
from aiohttp.typedefs import Handler

from segemu.http.guard import AccessPolicy
from segemu.http.responses import error_response
from segemu.http.webview import setup_routes, web_url

PREFIX = "/_segemu"


def create_web_app(target: str, listen_host: str) -> web.Application:
    policy = AccessPolicy(origins=frozenset(), hosts=frozenset({listen_host}), any_host=False)

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        refusal = policy.check(request)
        if refusal is not None:
            return error_response(request, refusal.status, refusal.code, refusal.message)
        return await handler(request)

    app = web.Application(middlewares=[guard])
    setup_routes(app, PREFIX, target=lambda request: target)
    return app


async def serve_web(target: str, host: str, port: int) -> None:
    runner = web.AppRunner(
        create_web_app(target, host), access_log=None, handle_signals=False, shutdown_timeout=5
    )
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as exc:
        await runner.cleanup()
        hint = " (use -p 0 to pick a free port)" if port else ""
        raise click.ClickException(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}{hint}"
        ) from None
    bound = runner.addresses[0]
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"segemu web: the inspector of {target}")
    click.echo(f"  open {web_url(f'http://{shown}:{bound[1]}')}       Ctrl-C stops")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
        await runner.cleanup()
