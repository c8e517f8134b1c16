"""A pool of long-lived Node processes running segemu/functions/worker.js.

Each worker serves many invocations at once (a function awaiting a slow fetch holds no
worker), speaking newline-delimited JSON over stdio (the protocol is at the top of
worker.js). The pool sends each invocation to the worker with the fewest in flight.

A worker that exits (a crash, an out-of-memory kill) or stops answering (a function stuck in
a synchronous loop after its first await, which vm's timeout cannot stop) is replaced: the
calls it held fail with the reason, and the new worker loads every function again.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from segemu.functions.node import INSTALL_LIBRARIES, RUNTIME_DIR, WORKER

log = logging.getLogger("segemu.functions")

# How long past its own timeout an invocation may go unanswered before its worker counts as
# hung: the worker answers a timeout itself unless its event loop is blocked.
HANG_GRACE = 1.0
# A single message from a worker (an invocation's emitted calls, logs and value) is capped.
MAX_LINE = 32 * 1024 * 1024
_STDERR_KEPT = 20

# (invocation id, the request a function's fetch makes) -> the answer the worker gets.
FetchHandler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


@dataclass(slots=True)
class Result:
    """What one invocation produced, as the worker reported it (or why it could not)."""

    ok: bool
    value: Any = None
    # {"name", "message", "line"}: the error the function threw, or Timeout / WorkerCrashed.
    error: dict[str, Any] | None = None
    logs: list[dict[str, str]] = field(default_factory=list)
    emitted: list[dict[str, Any]] = field(default_factory=list)
    duration_ms: float = 0.0


@dataclass(slots=True)
class LoadResult:
    ok: bool
    handlers: list[str] = field(default_factory=list)
    error: dict[str, Any] | None = None


@dataclass(slots=True)
class _Pending:
    future: asyncio.Future[Result]
    on_fetch: FetchHandler | None
    started: float


class Worker:
    def __init__(self, pool: WorkerPool, process: asyncio.subprocess.Process) -> None:
        self.pool = pool
        self.process = process
        self.pending: dict[int, _Pending] = {}
        self.loads: dict[str, asyncio.Future[LoadResult]] = {}
        self.ready: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.stderr: deque[str] = deque(maxlen=_STDERR_KEPT)
        self.dead = False
        self._tasks = [
            asyncio.create_task(self._read(), name="segemu-function-worker"),
            asyncio.create_task(self._read_stderr(), name="segemu-function-stderr"),
        ]

    @property
    def pid(self) -> int:
        return self.process.pid

    def send(self, message: dict[str, Any]) -> None:
        stdin = self.process.stdin
        if stdin is None or self.dead:
            return
        # Settings from TOML may hold dates, headers may be istr keys: all become strings.
        stdin.write(orjson.dumps(message, default=str, option=orjson.OPT_NON_STR_KEYS) + b"\n")

    async def _read(self) -> None:
        stdout = self.process.stdout
        assert stdout is not None
        while True:
            try:
                line = await stdout.readline()
            except (ValueError, asyncio.LimitOverrunError):
                self.stderr.append("a message from the worker exceeded 32 MB")
                break
            if not line:
                break
            try:
                message = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            self._dispatch(message)
        code = await self.process.wait()
        reason = f"the Node worker exited (code {code})"
        if self.stderr:
            reason += ": " + " | ".join(self.stderr)[-500:]
        self.pool.lost(self, reason)

    async def _read_stderr(self) -> None:
        stderr = self.process.stderr
        assert stderr is not None
        while line := await stderr.readline():
            self.stderr.append(line.decode(errors="replace").rstrip())

    def _dispatch(self, message: dict[str, Any]) -> None:
        op = message.get("op")
        if op == "result":
            pending = self.pending.pop(message["id"], None)
            if pending is not None and not pending.future.done():
                pending.future.set_result(
                    Result(
                        ok=bool(message.get("ok")),
                        value=message.get("value"),
                        error=message.get("error"),
                        logs=message.get("logs") or [],
                        emitted=message.get("emitted") or [],
                        duration_ms=(time.perf_counter() - pending.started) * 1000,
                    )
                )
        elif op == "fetch":
            pending = self.pending.get(message["id"])
            task = asyncio.create_task(self._fetch(message, pending))
            self.pool.background.add(task)
            task.add_done_callback(self.pool.background.discard)
        elif op == "loaded":
            future = self.loads.pop(message["key"], None)
            if future is not None and not future.done():
                future.set_result(
                    LoadResult(
                        bool(message.get("ok")), message.get("handlers") or [], message.get("error")
                    )
                )
        elif op == "ready" and not self.ready.done():
            self.ready.set_result(message)

    async def _fetch(self, message: dict[str, Any], pending: _Pending | None) -> None:
        answer: dict[str, Any]
        if pending is None or pending.on_fetch is None:
            answer = {"ok": False, "error": "fetch is not available to this invocation"}
        else:
            try:
                answer = await pending.on_fetch(message)
            except Exception as exc:  # the answer must reach the function, whatever happened
                log.exception("answering a function's fetch failed")
                answer = {"ok": False, "error": f"segemu could not answer the fetch: {exc}"}
        self.send({"op": "fetched", "fid": message["fid"], **answer})

    def fail_all(self, reason: str) -> None:
        self.dead = True
        for pending in self.pending.values():
            if not pending.future.done():
                pending.future.set_result(
                    Result(False, error={"name": "WorkerCrashed", "message": reason, "line": None})
                )
        self.pending.clear()
        for future in self.loads.values():
            if not future.done():
                future.set_result(
                    LoadResult(False, error={"name": "WorkerCrashed", "message": reason})
                )
        self.loads.clear()

    async def stop(self) -> None:
        self.dead = True
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()
        with contextlib.suppress(Exception):
            await self.process.wait()
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


class WorkerPool:
    def __init__(self, node: str, size: int, modules: tuple[str, ...] = ()) -> None:
        self.node = node
        self.size = size
        self.modules = modules
        self.workers: list[Worker] = []
        # key -> (file, code): what every new worker loads.
        self.loaded: dict[str, tuple[str, str]] = {}
        self.background: set[asyncio.Task[Any]] = set()
        self.restarts = 0
        self.last_loss: str | None = None
        self.libraries: dict[str, bool] = {}
        self.node_version = ""
        self._ids = itertools.count(1)
        self._closed = False
        self._replaced = asyncio.Event()

    async def start(self) -> None:
        for _ in range(self.size):
            self.workers.append(await self._spawn())

    async def _spawn(self) -> Worker:
        env = {
            **os.environ,
            "SEGEMU_FUNCTIONS_MODULES": os.pathsep.join(self.modules),
            "SEGEMU_FUNCTIONS_INSTALL": INSTALL_LIBRARIES,
        }
        process = await asyncio.create_subprocess_exec(
            self.node,
            str(WORKER),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
            cwd=str(RUNTIME_DIR.parent),
            limit=MAX_LINE,
            # Its own session: Ctrl-C in segemu's terminal stops segemu, which then stops its
            # workers, instead of killing them under it. A worker whose segemu died sees its
            # stdin close and exits.
            start_new_session=True,
        )
        worker = Worker(self, process)
        ready = await asyncio.wait_for(worker.ready, 30)
        self.libraries = ready.get("libraries") or {}
        self.node_version = str(ready.get("node", ""))
        for key, (file, code) in self.loaded.items():
            await self._load_on(worker, key, file, code)
        return worker

    async def _load_on(self, worker: Worker, key: str, file: str, code: str) -> LoadResult:
        future: asyncio.Future[LoadResult] = asyncio.get_running_loop().create_future()
        worker.loads[key] = future
        worker.send({"op": "load", "key": key, "file": file, "code": code})
        return await asyncio.wait_for(future, 30)

    async def load(self, key: str, file: str, code: str) -> LoadResult:
        """Compile a function in every worker; on an error the previous version stays."""
        results = [await self._load_on(worker, key, file, code) for worker in list(self.workers)]
        result = results[0] if results else LoadResult(False, error={"message": "no workers"})
        if result.ok:
            self.loaded[key] = (file, code)
        elif key in self.loaded:
            # Workers compiled nothing new, but a failed load replaced nothing either: put
            # the last good version back where a worker dropped it.
            good_file, good_code = self.loaded[key]
            for worker in self.workers:
                await self._load_on(worker, key, good_file, good_code)
        return result

    async def invoke(
        self,
        key: str,
        handler: str,
        args: list[Any],
        timeout: float,
        on_fetch: FetchHandler | None = None,
    ) -> Result:
        if not self.workers and not self._closed:
            # Every worker was lost at once: wait for a replacement rather than fail the call.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._replaced.wait(), 30)
        if self._closed or not self.workers:
            return Result(False, error={"name": "WorkerCrashed", "message": "no Node worker"})
        worker = min(self.workers, key=lambda w: len(w.pending))
        invocation_id = next(self._ids)
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        worker.pending[invocation_id] = _Pending(future, on_fetch, time.perf_counter())
        worker.send(
            {
                "op": "invoke",
                "id": invocation_id,
                "key": key,
                "handler": handler,
                "args": args,
                "timeout": int(timeout * 1000),
            }
        )
        # A watchdog per invocation, cheaper than a wait_for task: the worker answers its own
        # timeout unless its event loop is blocked, and then the watchdog replaces it.
        watchdog = asyncio.get_running_loop().call_later(
            timeout + HANG_GRACE, self._hung, worker, invocation_id, handler, timeout
        )
        try:
            return await future
        finally:
            watchdog.cancel()

    def _hung(self, worker: Worker, invocation_id: int, handler: str, timeout: float) -> None:
        pending = worker.pending.pop(invocation_id, None)
        if pending is None or pending.future.done():
            return
        reason = (
            f"{handler} did not return within {timeout:g} s and blocked its Node worker "
            "(a synchronous loop?); the worker was replaced"
        )
        pending.future.set_result(
            Result(False, error={"name": "Timeout", "message": reason, "line": None})
        )
        # Out of the pool at once, so no new invocation goes to the blocked worker.
        self.lost(worker, reason)

    def lost(self, worker: Worker, reason: str) -> None:
        """A worker is gone: fail what it held and start another in its place."""
        worker.fail_all(reason)
        if worker not in self.workers or self._closed:
            return
        self.workers.remove(worker)
        self.restarts += 1
        self.last_loss = reason
        log.warning("functions: %s; starting another", reason)
        for coroutine in (worker.stop(), self._respawn()):
            task = asyncio.create_task(coroutine)
            self.background.add(task)
            task.add_done_callback(self.background.discard)

    async def _respawn(self) -> None:
        try:
            worker = await self._spawn()
        except Exception:
            log.exception("functions: starting a Node worker failed")
            return
        if self._closed:
            await worker.stop()
        else:
            self.workers.append(worker)
            self._replaced.set()
            self._replaced.clear()

    async def close(self) -> None:
        self._closed = True
        for worker in list(self.workers):
            worker.fail_all("segemu is stopping")
            await worker.stop()
        self.workers.clear()
        for task in list(self.background):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
