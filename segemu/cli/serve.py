"""Headless mode of `segemu run`: serve, print one line per received call, stop cleanly."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Sequence
from typing import TextIO

import click

from segemu import __version__
from segemu.cli.forward import describe_forward
from segemu.cli.gc import collect_periodically, return_large_blocks
from segemu.cli.lines import format_line
from segemu.config import Config, ConfigError
from segemu.emulator import Emulator, create_emulator
from segemu.expectations import Expectation
from segemu.http.cdn import LIBRARY
from segemu.http.sender import HttpSender
from segemu.http.server import RunningServer, start_server
from segemu.http.webview import web_url
from segemu.message import Record
from segemu.storage import StorageError


def open_emulator(config: Config) -> Emulator:
    """Build the emulator of `segemu run`; a config or store mistake is a one-line error."""
    return_large_blocks()  # before the store loads what is on disk
    try:
        emulator = create_emulator(config, sender=HttpSender())
    except (StorageError, ConfigError) as exc:
        raise click.ClickException(str(exc)) from None
    for problem in emulator.store.problems:
        click.echo(f"warning: {problem}", err=True)
    return emulator


async def listen(emulator: Emulator, config: Config) -> RunningServer:
    try:
        return await start_server(emulator, config.host, config.port)
    except ConfigError as exc:  # the analytics_js setting names no bundle
        await emulator.close()
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        await emulator.close()  # idempotent: the failed start may have closed it already
        hint = " (use -p 0 to pick a free port)" if config.port else ""
        raise click.ClickException(
            f"cannot listen on {config.host}:{config.port}: {exc.strerror or exc}{hint}"
        ) from None


def kept(count: int) -> str:
    return f"{count:,} event{'s' if count != 1 else ''} kept"


def kept_where(config: Config) -> str:
    return "in memory" if config.in_memory else f"in {config.db}"


async def serve(config: Config, expectations: Sequence[Expectation] = ()) -> None:
    """Run until SIGINT or SIGTERM; then stop listening, and flush and close the store.
    Expectations (`--expect FILE`) are judged on the way out, over every event kept."""
    emulator = open_emulator(config)
    printer = None if config.quiet else LinePrinter(sys.stdout)
    if printer is not None:
        emulator.subscribe(printer.add)
    server = await listen(emulator, config)

    # Handlers first: a signal that arrives once the banner is out must stop cleanly.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)

    stored = len(emulator.store)
    where = kept_where(config)
    click.echo(f"segemu {__version__} listening on {server.url}")
    click.echo(f"  events are kept {where}" + (f" ({stored:,} loaded)" if stored else ""))
    click.echo(f"  Python:  Client(write_key, host={server.url!r})")
    click.echo(f"  Node:    new Analytics({{ writeKey, host: '{server.url}' }})")
    click.echo(
        f"  Browser: AnalyticsBrowser.load({{ writeKey, cdnURL: '{server.url}' }}), "
        f"or the snippet `segemu snippet` prints"
    )
    click.echo(f"           analytics.js: {server.runner.app[LIBRARY].describe()}")
    forwarding = describe_forward(emulator.forwarder)
    if forwarding is not None:
        click.echo(forwarding)
    for function in emulator.functions.describe(server.url):
        # Where a webhook sender points, and what did not compile (the last good one runs).
        runs = function.get("url") or f"{function['kind']} function of {function['name']}"
        problem = function["error"]
        state = f"  ERROR line {problem.get('line')}: {problem.get('message')}" if problem else ""
        click.echo(f"  Function: {runs} ({function['file']}){state}")
    click.echo(f"  Inspector in a browser: {web_url(server.url)}")
    click.echo(f"  Events:  {server.url}/_segemu/events       Ctrl-C stops")

    printing = asyncio.create_task(printer.run()) if printer is not None else None
    failed = 0
    collecting = asyncio.create_task(
        collect_periodically(freeze_young=True, quiet_for=server.quiet_for)
    )
    try:
        await stop.wait()
    finally:
        collecting.cancel()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
        await server.stop()
        if printing is not None and printer is not None:
            printing.cancel()
            printer.write_out()
        for expectation in expectations:
            verdict = await emulator.judge(expectation)
            click.echo(verdict.message if verdict.passed else f"FAILED: {verdict.message}")
            failed += not verdict.passed
        click.echo(f"segemu stopped; {kept(len(emulator.store))} {where}")
    if failed:
        # CI runs `segemu run --expect FILE` headless: a failed expectation fails the job.
        raise SystemExit(1)


class LinePrinter:
    """One readable line per received call, written in batches so printing never slows
    ingest down (a write per event would, at thousands of events a second)."""

    INTERVAL = 0.1
    # Lines kept while the output is not being read; beyond them, lines are counted, not kept.
    MAX_PENDING = 10_000

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self._lines: list[str] = []
        self._dropped = 0

    def add(self, records: list[Record]) -> None:
        # Runs after every call: the usual case (the output keeps up) takes one test, and the
        # lines are made without a generator, which cost half as much again as formatting.
        lines = self._lines
        if len(lines) + len(records) <= self.MAX_PENDING:
            for record in records:
                lines.append(format_line(record))
            return
        room = max(self.MAX_PENDING - len(lines), 0)
        self._dropped += len(records) - room
        lines.extend(map(format_line, records[:room]))

    def _take(self) -> list[str]:
        lines, self._lines = self._lines, []
        if self._dropped:
            lines.append(
                f"... {self._dropped:,} more calls not printed (the output was not "
                f"read fast enough); segemu events lists them"
            )
            self._dropped = 0
        return lines

    def _write(self, lines: list[str]) -> None:
        self.out.write("\n".join(lines) + "\n")
        self.out.flush()

    def write_out(self) -> None:
        lines = self._take()
        if lines:
            self._write(lines)

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.INTERVAL)
            lines = self._take()
            if lines:
                # On a thread: a terminal or pipe that nobody reads (its buffer full) blocks
                # the write, and must not stop the server from answering meanwhile.
                await asyncio.to_thread(self._write, lines)
