"""Functions of a running emulator: their files, the Node pool, and what each invocation did.

The emulator builds one `Functions`. It finds Node at construction, so a config with a
function and no Node stops start-up with a message saying how to install it. `start()` opens
the worker pool and loads every function file; a watcher reloads a file when it changes. A
file that fails to compile keeps its last good version running, and its error (file, line)
is shown by `describe()` until it is fixed.

Source Function webhooks (`request`) and Destination / Insert Function deliveries
(`deliveries.attempt`, called by the delivery worker) both go through `invoke`, which
answers the function's fetches (functions/outbound.py) and records each fetch.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from segemu.config import Config
from segemu.functions.config import (
    FunctionFile,
    load_functions_settings,
)
from segemu.functions.node import INSTALL_LIBRARIES, find_node, libraries_installed
from segemu.functions.outbound import FetchPolicy
from segemu.functions.pool import Result, WorkerPool
from segemu.message import Envelope, Record, format_timestamp
from segemu.outbound import Sender

if TYPE_CHECKING:
    from segemu.destinations.config import Destination
    from segemu.destinations.runtime import Delivery, Destinations, LiveDelivery
    from segemu.functions.deliver import FunctionAttempt, FunctionDeliveries
    from segemu.sources import Source, Sources

log = logging.getLogger("segemu.functions")

# Source Function invocations kept for the surfaces (Segment keeps the 100 most recent errors:
# DOCS source-functions.md §Source functions logs and errors; here every invocation, bounded).
INVOCATIONS_KEPT = 500
RELOAD_INTERVAL = 0.3
# DOCS source-functions.md FAQ: "The maximum payload size for an incoming webhook payload is
# 512 KiB."
MAX_WEBHOOK_BYTES = 512 * 1024
_BODY_SHOWN = 16 * 1024


@dataclass(slots=True)
class FileState:
    file: FunctionFile
    mtime: tuple[int, int] | None = None
    handlers: list[str] = field(default_factory=list)
    # The compile error of the file on disk, while the last good version runs.
    error: dict[str, Any] | None = None
    loaded: bool = False
    invocations: int = 0
    errors: int = 0


@dataclass(frozen=True, slots=True)
class WebhookAnswer:
    status: int
    body: dict[str, Any]
    invocation: dict[str, Any]


def source_files(sources: Iterable[Source]) -> list[FunctionFile]:
    return [source.function for source in sources if source.function is not None]


def destination_files(destinations: Iterable[Destination]) -> list[FunctionFile]:
    files: list[FunctionFile] = []
    for destination in destinations:
        bound = destination.functions
        if bound is not None:
            files.extend(f for f in (bound.insert, bound.function) if f is not None)
    return files


class Functions:
    def __init__(
        self,
        config: Config,
        sources: Sources,
        destinations: Destinations,
        sender: Sender,
        ingest: Callable[[Envelope], list[Record]],
    ) -> None:
        from segemu.functions.deliver import FunctionDeliveries

        self.config = config
        self.settings = load_functions_settings(config)
        self.sources = sources
        self.destinations = destinations
        self.ingest = ingest
        self.policy = FetchPolicy(self.settings, sender)
        self.states: dict[str, FileState] = {}
        for file in [*source_files(sources.all), *destination_files(destinations.current)]:
            self.states[file.key] = FileState(file)
        # Node is looked for only when a function is configured; without it start-up stops.
        self.node = find_node(config.node) if self.states else None
        self.pool: WorkerPool | None = None
        self.invocations: deque[dict[str, Any]] = deque(maxlen=INVOCATIONS_KEPT)
        self.deliveries: FunctionDeliveries = FunctionDeliveries(self)
        self._ids = itertools.count(1)
        self._watcher: asyncio.Task[None] | None = None
        self._start_lock = asyncio.Lock()

    @property
    def configured(self) -> bool:
        return bool(self.states)

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        async with self._start_lock:
            if self.pool is not None or not self.states:
                return
            await self._open_pool()
            for state in list(self.states.values()):
                await self._load(state)
            self._watcher = asyncio.create_task(self._watch(), name="segemu-function-reload")

    async def _open_pool(self) -> None:
        if self.node is None:
            self.node = find_node(self.config.node)
        if not libraries_installed() and not self.settings.modules:
            log.warning(
                "functions: the preloaded libraries (lodash, moment...) are not installed; "
                "functions that use them fail until you run `%s`",
                INSTALL_LIBRARIES,
            )
        self.pool = WorkerPool(self.node, self.settings.workers, self.settings.modules)
        await self.pool.start()

    async def close(self) -> None:
        await self.deliveries.close()
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
            self._watcher = None
        if self.pool is not None:
            await self.pool.close()
            self.pool = None

    async def _ensure(self, file: FunctionFile) -> FileState:
        """A function's state, loading it first if it is new (a destination added at
        runtime through the control API)."""
        state = self.states.get(file.key)
        if state is None or state.file != file:
            state = self.states[file.key] = FileState(file)
        if self.pool is None:
            async with self._start_lock:
                if self.pool is None:
                    await self._open_pool()
                    if self._watcher is None:
                        self._watcher = asyncio.create_task(self._watch())
        if state.mtime is None:
            await self._load(state)
        return state

    async def _load(self, state: FileState) -> None:
        assert self.pool is not None
        path = state.file.path
        try:
            stat = path.stat()
            code = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            state.mtime = (0, 0)
            state.error = {
                "name": "Error",
                "message": f"cannot read {path}: {exc}",
                "file": str(path),
            }
            return
        state.mtime = (stat.st_mtime_ns, stat.st_size)
        result = await self.pool.load(state.file.key, str(path), code)
        if result.ok:
            state.loaded, state.handlers, state.error = True, result.handlers, None
            log.info("functions: loaded %s (%s)", path, ", ".join(result.handlers))
        else:
            state.error = result.error
            where = f"{path}:{(result.error or {}).get('line') or '?'}"
            kept = " (the last good version keeps running)" if state.loaded else ""
            log.error("functions: %s: %s%s", where, (result.error or {}).get("message"), kept)

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(RELOAD_INTERVAL)
            for state in list(self.states.values()):
                try:
                    stat = state.file.path.stat()
                except OSError:
                    continue
                if (stat.st_mtime_ns, stat.st_size) != state.mtime:
                    try:
                        await self._load(state)
                    except Exception:
                        log.exception("functions: reloading %s failed", state.file.path)

    async def reload(self) -> None:
        """Check every file now (tests, and `segemu function run`)."""
        for state in list(self.states.values()):
            try:
                stat = state.file.path.stat()
            except OSError:
                continue
            if (stat.st_mtime_ns, stat.st_size) != state.mtime:
                await self._load(state)

    # -- invoking -------------------------------------------------------------------------

    def handlers(self, file: FunctionFile) -> list[str]:
        state = self.states.get(file.key)
        return state.handlers if state is not None else []

    async def invoke(
        self, file: FunctionFile, handler: str, args: list[Any]
    ) -> tuple[Result, list[dict[str, Any]]]:
        """Run one handler with (args..., settings); the result and the fetches it made."""
        state = await self._ensure(file)
        fetches: list[dict[str, Any]] = []
        if not state.loaded:
            error = state.error or {"name": "Error", "message": "not loaded"}
            result = Result(
                False,
                error={
                    "name": "InvalidSettings",
                    "message": f"{file.path} does not compile: {error.get('message')}",
                    "line": error.get("line"),
                },
            )
        else:
            assert self.pool is not None

            async def on_fetch(request: dict[str, Any]) -> dict[str, Any]:
                return await self.policy.answer(request, fetches)

            result = await self.pool.invoke(
                file.key, handler, [*args, dict(file.settings)], self.settings.timeout, on_fetch
            )
        state.invocations += 1
        if not result.ok:
            state.errors += 1
        return result, fetches

    async def attempt(self, live: LiveDelivery) -> FunctionAttempt:
        return await self.deliveries.attempt(live)

    def routed_event(self, record: Record, destination: Destination) -> dict[str, Any]:
        """The call as routing let it through to this destination (filters applied)."""
        from segemu.destinations.routing import decide
        from segemu.protocols.forwarding import forwarded_event

        source = self.sources.for_write_key(record["writeKey"])
        protocols = record.get("protocols")
        blocked = protocols.get("blocked") if isinstance(protocols, dict) else None
        event = forwarded_event(record) if protocols else record["event"]
        return decide(destination, source, event, blocked).event

    def delivery_for(
        self, record: Record, destination: Destination, event: dict[str, Any]
    ) -> Delivery:
        """The destination's own delivery of the call an insert function returned."""
        # The event is already as the tracking plan let it through: no protocols to apply.
        changed: Record = {**record, "event": event}
        changed.pop("protocols", None)
        return self.destinations.delivery_for(changed, destination)

    # -- Source Functions -----------------------------------------------------------------

    def source(self, name: str) -> Source | None:
        return next(
            (s for s in self.sources.all if s.name == name and s.function is not None), None
        )

    def source_by_id(self, encoded_id: str) -> Source | None:
        """Segment's webhook form `?b=<base64 source id>`: the id here is the source's name
        or its write key."""
        import base64
        import binascii

        padded = encoded_id + "=" * (-len(encoded_id) % 4)
        try:
            decoded = base64.urlsafe_b64decode(padded.replace("+", "-").replace("/", "_"))
            name = decoded.decode()
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return None
        for source in self.sources.all:
            if source.function is not None and name in (source.name, source.write_key):
                return source
        return None

    async def request(
        self,
        source: Source,
        method: str,
        url: str,
        headers: dict[str, str],
        body: str,
    ) -> WebhookAnswer:
        """Run a Source Function's onRequest for one webhook; ingest what it emitted."""
        assert source.function is not None
        started = datetime.now(UTC)
        request = {"method": method, "url": url, "headers": headers, "body": body}
        result, fetches = await self.invoke(source.function, "onRequest", [request])
        emitted = [call for call in result.emitted if call.get("type") != "set"]
        objects = [call for call in result.emitted if call.get("type") == "set"]
        invocation: dict[str, Any] = {
            "id": next(self._ids),
            "function": source.name,
            "file": str(source.function.path),
            "at": format_timestamp(started),
            "request": {**request, "body": body[:_BODY_SHOWN]},
            "ok": result.ok,
            "error": result.error,
            "logs": result.logs,
            "emitted": emitted,
            "objects": objects,
            "fetches": fetches,
            "returned": result.value,
            "durationMs": round(result.duration_ms, 3),
            "recordIds": [],
        }
        status, answer = _webhook_answer(result)
        invocation["status"] = status
        if result.ok and emitted:
            # Segment sends a function's calls on only when it returns without an error.
            envelope = Envelope(
                route=f"/functions/{source.name}",
                items=emitted,
                received_at=started,
                write_key=source.write_key,
            )
            invocation["recordIds"] = [record["id"] for record in self.ingest(envelope)]
        self.invocations.append(invocation)
        return WebhookAnswer(status, answer, invocation)

    # -- surfaces -------------------------------------------------------------------------

    def describe(self, base_url: str = "") -> list[dict[str, Any]]:
        described = []
        for state in self.states.values():
            file = state.file
            entry: dict[str, Any] = {
                "key": file.key,
                "kind": file.kind,
                "name": file.key.split(":", 1)[1],
                "file": str(file.path),
                "handlers": state.handlers,
                "loaded": state.loaded,
                "error": state.error,
                "invocations": state.invocations,
                "errors": state.errors,
            }
            if file.kind == "source":
                entry["url"] = f"{base_url}/functions/{entry['name']}"
            described.append(entry)
        return described

    def status(self) -> dict[str, Any]:
        pool = self.pool
        return {
            "node": self.node,
            "nodeVersion": pool.node_version if pool else None,
            "workers": [w.pid for w in pool.workers] if pool else [],
            "restarts": pool.restarts if pool else 0,
            "lastWorkerLoss": pool.last_loss if pool else None,
            "libraries": pool.libraries if pool else {},
            "timeout": self.settings.timeout,
            "allowHosts": list(self.settings.allow_hosts),
            "mocks": [m.url for m in self.settings.mocks],
        }

    def recent(
        self, function: str | None = None, errors_only: bool = False, limit: int = 100
    ) -> list[dict[str, Any]]:
        found = []
        for invocation in reversed(self.invocations):
            if function is not None and invocation["function"] != function:
                continue
            if errors_only and invocation["ok"]:
                continue
            found.append(invocation)
            if len(found) >= limit:
                break
        return found


def _webhook_answer(result: Result) -> tuple[int, dict[str, Any]]:
    """Segment answers a webhook with success or failure only, never a custom response
    (DOCS source-functions.md FAQ). The status follows the error type (§Error types): a
    Retry or a timeout is a 5xx so the sender retries, as Segment itself would retry it;
    anything else the function threw is the sender's request being refused, a 400."""
    if result.ok:
        return 200, {"success": True}
    error = result.error or {}
    name = str(error.get("name", "Error"))
    kind = {
        "EventNotSupported": "Unsupported Event Type",
        "InvalidEventPayload": "Message Rejected",
        "ValidationError": "Message Rejected",
        "RetryError": "Retry",
        "Timeout": "Timeout",
        "WorkerCrashed": "Retry",
        "InvalidSettings": "Invalid Settings",
    }.get(name, "Bad Request")
    status = 503 if kind in ("Retry", "Timeout") else 500 if kind == "Invalid Settings" else 400
    body = {
        "success": False,
        "error": {
            "type": kind,
            "name": name,
            "message": error.get("message"),
            "line": error.get("line"),
        },
    }
    return status, body
