"""What the CLI runs: the inspector over an emulator in this process (`segemu run` in a
terminal), or attached to one running elsewhere (`segemu tui --url`)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Sequence

import click

from segemu.cli.gc import collect_periodically
from segemu.cli.serve import kept, kept_where, listen, open_emulator
from segemu.config import Config
from segemu.expectations import Expectation
from segemu.tui.factory import create_app
from segemu.tui.local import InProcessBackend


async def run_in_process(
    config: Config,
    *,
    expectations: Sequence[Expectation] = (),
    expect_file: str | None = None,
    columns: tuple[str, ...] | None = None,
) -> None:
    """Serve and inspect in one event loop until q or Ctrl-C (keys, in the inspector) or
    SIGTERM; then stop listening, and flush and close the store."""
    emulator = open_emulator(config)
    # Listening before the screen switches: a port in use is a plain one-line error.
    server = await listen(emulator, config)
    backend = InProcessBackend(emulator, server=server)
    app = create_app(backend, expectations=expectations, expect_file=expect_file, columns=columns)
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, app.exit)
    collecting = asyncio.create_task(collect_periodically(quiet_for=server.quiet_for))
    try:
        await app.run_async()
    finally:
        collecting.cancel()
        loop.remove_signal_handler(signal.SIGTERM)
        await backend.close()  # idempotent: the app closed it on unmount
    click.echo(f"segemu stopped; {kept(len(emulator.store))} {kept_where(config)}")


async def attach(
    url: str,
    *,
    expectations: Sequence[Expectation] = (),
    expect_file: str | None = None,
    columns: tuple[str, ...] | None = None,
    history: int | None = None,
) -> None:
    from segemu.tui.remote import RemoteBackend

    backend = RemoteBackend(url, history=history)
    app = create_app(backend, expectations=expectations, expect_file=expect_file, columns=columns)
    loop = asyncio.get_running_loop()
    with contextlib.suppress(NotImplementedError):
        loop.add_signal_handler(signal.SIGTERM, app.exit)
    await app.run_async()
