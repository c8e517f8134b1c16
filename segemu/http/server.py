"""Serving an Emulator over real sockets: the one runner the CLI, the TUI and tests share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from segemu.emulator import Emulator
from segemu.http.app import create_app
from segemu.http.edge import ACTIVITY

# Seconds a stop waits for requests in flight before closing their connections.
SHUTDOWN_TIMEOUT = 5.0


@dataclass(slots=True)
class RunningServer:
    emulator: Emulator
    runner: web.AppRunner
    host: str
    port: int

    @property
    def quiet_for(self) -> Callable[[], float]:
        """Seconds since the last request came in, as a function to ask again."""
        return self.runner.app[ACTIVITY].quiet_for

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def stop(self) -> None:
        """Stop listening, let requests in flight finish, then flush and close the store."""
        await self.runner.cleanup()


async def start_server(emulator: Emulator, host: str, port: int) -> RunningServer:
    """Listen on host:port (0 picks a free port; the bound one is in `.port`).

    Request bodies are decompressed by segemu itself, with a cap (http/body.py), so aiohttp's
    automatic decompression, which has none, is off.

    A handler whose client hangs up is cancelled: a stream or long-poll nobody waits for any
    more gives its place under max_streams / max_waits back at once, not at its next write or
    at its timeout.
    """
    runner = web.AppRunner(
        create_app(emulator, host),
        access_log=None,
        auto_decompress=False,
        handle_signals=False,
        handler_cancellation=True,
        shutdown_timeout=SHUTDOWN_TIMEOUT,
    )
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    bound = runner.addresses[0]
    return RunningServer(emulator, runner, host, int(bound[1]))
