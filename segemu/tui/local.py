"""The inspector over an Emulator in its own event loop: what `segemu run` opens.

The HTTP server runs in the same loop as Textual (reference/style-and-ecosystem.md §C.3), so
records reach the inspector by a plain function call from ingest, with no thread or socket in
between.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from segemu.emulator import Emulator
from segemu.http.server import RunningServer, start_server
from segemu.identity.views import profile_view, search_profiles
from segemu.message import Record
from segemu.tui.backend import Backend, Capability, Listener


def base_url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class InProcessBackend(Backend):
    mode = "in process"

    def __init__(
        self, emulator: Emulator, *, server: RunningServer | None = None, listen: bool = True
    ) -> None:
        """`server`: already listening (`segemu run` starts it before the screen switches to
        the inspector, so that a port in use is a one-line error in a plain terminal).
        Otherwise the backend starts one when the app mounts, unless `listen` is False: only
        where a fixed picture matters more than a socket (the snapshot tests), with the
        configured URL in the footer and events ingested directly."""
        self.emulator = emulator
        self.listen = listen
        self.server = server
        self.retention = emulator.config.retention
        self.url = server.url if server else base_url(emulator.config.host, emulator.config.port)
        self._unsubscribe: Any = None
        self._started = server is not None

    async def start(self) -> None:
        if self._started:
            return
        self._started = True
        if self.listen:
            self.server = await start_server(
                self.emulator, self.emulator.config.host, self.emulator.config.port
            )
            self.url = self.server.url
        else:
            await self.emulator.start()

    async def open(
        self, listener: Listener, restarted: Callable[[], None] | None = None
    ) -> list[Record]:
        await self.start()
        self._unsubscribe = self.emulator.subscribe(listener)
        history = list(self.emulator.store.newest_first())
        history.reverse()
        return history

    async def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self.server is not None:
            server, self.server = self.server, None
            await server.stop()  # stops listening, then flushes and closes the store
        elif self._started:
            await self.emulator.close()

    def get(self, record_id: int) -> Record | None:
        record = self.emulator.store.get(record_id)
        # Shown in full: what each destination received is built for it.
        return None if record is None else self.emulator.with_deliveries(record)

    def stored(self, record_id: int) -> Record | None:
        record = self.emulator.store.get(record_id)
        return None if record is None else self.emulator.readable(record)

    def held(self) -> int:
        return len(self.emulator.store)

    async def latest(self, record: Record) -> Record:
        return self.get(record["id"]) or record

    async def verdicts(self) -> list[dict[str, Any]]:
        return [{"at": at, **verdict.to_json()} for at, verdict in reversed(self.emulator.verdicts)]

    def destinations(self) -> Capability:
        destinations = getattr(self.emulator, "destinations", None)
        if destinations is None:
            return Capability(False, "this segemu does not run mock destinations")
        if not destinations.current:
            return Capability(
                False, "no destination is configured ([destinations.<id>] in segemu.toml)"
            )
        return Capability(True)

    async def destination_list(self) -> list[dict[str, Any]] | None:
        # What GET /_segemu/destinations answers: every configured destination, with counts.
        summaries = getattr(self.emulator, "destination_summaries", None)
        return None if summaries is None else list(await summaries())

    def identity(self) -> Capability:
        return Capability(True)

    async def profiles(self, q: str | None, limit: int) -> list[dict[str, Any]] | None:
        # What GET /_segemu/profiles?q= answers (the search runs in slices, as it does there).
        found, _ = await search_profiles(self.emulator.identity, None, "users", q, limit, 0)
        return [profile.summary() for profile in found]

    async def profile(self, external_id: str, space: str | None = None) -> dict[str, Any] | None:
        # What GET /_segemu/profiles/{external_id} answers.
        identity = self.emulator.identity
        found = identity.profile(external_id, space=space)
        return None if found is None else profile_view(identity, found)

    async def function_invocations(self) -> list[dict[str, Any]] | None:
        functions = getattr(self.emulator, "functions", None)
        if functions is None or not functions.configured:
            return None
        return list(functions.recent())

    async def faults(self) -> dict[str, Any] | None:
        faults = getattr(self.emulator, "faults", None)
        return None if faults is None else faults.listing()

    def protocols(self) -> Capability:
        if getattr(self.emulator, "protocols", None) is None:
            return Capability(False, "this segemu does not check tracking plans")
        return Capability(True)
