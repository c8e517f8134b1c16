"""An emulator serving from a background thread, for synchronous tests.

Everything the test thread does goes over HTTP, so the server's loop is the only one touching
the Emulator. Errors inside that thread (a handler that raised, a task that died) are kept and
handed to the fixture, which fails the test with them: a broken server never hides behind a
confusing assertion.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import traceback
from typing import Any

from segemu.config import Config
from segemu.emulator import Emulator, create_emulator
from segemu.http.sender import HttpSender
from segemu.http.server import RunningServer, start_server

STARTUP_TIMEOUT = 30.0
# The loggers a server error is reported on: aiohttp's ("Error handling request"), asyncio's
# (a task exception never retrieved) and segemu's own (a failed store write or subscriber).
WATCHED_LOGGERS = ("aiohttp", "asyncio", "segemu")


class _ErrorCollector(logging.Handler):
    def __init__(self, thread: threading.Thread) -> None:
        super().__init__(logging.ERROR)
        self.thread = thread
        self.errors: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread != self.thread.ident:
            return
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            text += "\n" + "".join(traceback.format_exception(record.exc_info[1]))
        self.errors.append(text)


class ThreadedEmulator:
    def __init__(self, config: Config) -> None:
        self.config = config
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="segemu-server", daemon=True)
        self._collector = _ErrorCollector(self._thread)
        self._server: RunningServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "the server is not started"
        return self._server.url

    @property
    def emulator(self) -> Emulator:
        assert self._server is not None, "the server is not started"
        return self._server.emulator

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.set_exception_handler(self._on_loop_error)
        self._loop.run_forever()

    def _on_loop_error(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        error = context.get("exception")
        text = str(context.get("message"))
        if isinstance(error, BaseException):
            text += "\n" + "".join(traceback.format_exception(error))
        self._collector.errors.append(text)

    def start(self) -> ThreadedEmulator:
        for name in WATCHED_LOGGERS:
            logging.getLogger(name).addHandler(self._collector)
        self._thread.start()
        self._server = self.call(self._start(), STARTUP_TIMEOUT)
        return self

    async def _start(self) -> RunningServer:
        emulator = create_emulator(self.config, sender=HttpSender())
        return await start_server(emulator, "127.0.0.1", 0)

    def call(self, coroutine: Any, timeout: float = STARTUP_TIMEOUT) -> Any:
        """Run a coroutine on the server's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def take_errors(self) -> list[str]:
        errors, self._collector.errors = self._collector.errors, []
        return errors

    def stop(self) -> None:
        try:
            if self._server is not None:
                self.call(self._server.stop())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(STARTUP_TIMEOUT)
            self._loop.close()
            for name in WATCHED_LOGGERS:
                logging.getLogger(name).removeHandler(self._collector)
