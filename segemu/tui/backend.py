"""The one interface the inspector reads through, whatever it inspects.

Two implementations: `InProcessBackend` (tui/local.py) wraps an Emulator running in the
inspector's own event loop, the way `segemu run` opens it; `RemoteBackend` (tui/remote.py)
reads an emulator running elsewhere through the control API and /_segemu/stream, the way
`segemu tui --url` attaches to it. The widgets know only this interface, so both show exactly
the same thing.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from segemu.message import Record

# Called with the records of each call as they arrive; it must be cheap (in process it runs
# inside ingest), so the app only queues them and renders on a timer.
Listener = Callable[[list[Record]], None]


@dataclass(frozen=True, slots=True)
class Capability:
    """Whether the emulator has a capability (mock destinations, tracking plans), and, when it
    does not, why, in words the UI shows as they are."""

    on: bool
    why: str = ""


UNKNOWN = Capability(False, "not known yet")


class Backend(ABC):
    # The emulator's base URL, shown in the footer (where SDKs send events).
    url: str
    # "in process" or "attached": the footer says which.
    mode: str
    # How many events the inspector keeps, oldest dropped first.
    retention: int

    @abstractmethod
    async def open(
        self, listener: Listener, restarted: Callable[[], None] | None = None
    ) -> list[Record]:
        """Start receiving: returns the records already there, oldest first, and from then on
        calls `listener` with each new call's records. `restarted` is called when the
        emulator was replaced by another (attached to one that restarted): what the view
        holds is gone, and the new one's records follow through `listener`."""

    @abstractmethod
    async def close(self) -> None:
        """Stop receiving (and, in process, stop serving and flush the store). Idempotent."""

    @abstractmethod
    def get(self, record_id: int) -> Record | None:
        """The record with this id as it is now; None once it is gone (retention, reset)."""

    def stored(self, record_id: int) -> Record | None:
        """The record as stored, without what is computed when it is read (in process,
        deliveries: about a millisecond per record the first time). Lists and filters use it;
        what needs deliveries asks `get`."""
        return self.get(record_id)

    @abstractmethod
    def held(self) -> int:
        """How many records the backend holds; fewer than the view holds means some went."""

    @abstractmethod
    async def latest(self, record: Record) -> Record:
        """The freshest copy of a record: destination deliveries can change after ingest
        (webhook retries)."""

    @abstractmethod
    async def verdicts(self) -> list[dict[str, Any]]:
        """Assertions test suites made through the control API, newest first, as
        GET /_segemu/assertions answers them."""

    @abstractmethod
    def destinations(self) -> Capability:
        """Whether mock destinations run (records then carry `deliveries`)."""

    @abstractmethod
    def protocols(self) -> Capability:
        """Whether tracking plans are checked (records then carry `violations`, `lint`)."""

    async def destination_list(self) -> list[dict[str, Any]] | None:
        """GET /_segemu/destinations' `destinations`, where the emulator answers it."""
        return None

    def identity(self) -> Capability:
        """Whether the emulator resolves identities (records then carry `identity`, and
        profiles can be read)."""
        return Capability(False, "this segemu does not resolve identities")

    async def profiles(self, q: str | None, limit: int) -> list[dict[str, Any]] | None:
        """GET /_segemu/profiles?q=&limit=' `profiles`: summaries of the users' profiles, most
        recently updated first; None where the emulator does not answer it."""
        return None

    async def profile(self, external_id: str, space: str | None = None) -> dict[str, Any] | None:
        """GET /_segemu/profiles/{external_id}: one profile in detail (its identifiers and the
        call that linked each, traits with their class and history, calls, identity changes,
        accounts); None if no profile has that id."""
        return None

    async def function_invocations(self) -> list[dict[str, Any]] | None:
        """GET /_segemu/functions/invocations' `invocations` (Source Functions), newest
        first; None where the emulator runs no Functions."""
        return None

    async def faults(self) -> dict[str, Any] | None:
        """GET /_segemu/faults: the fault rules and the requests they failed, newest first;
        None where the emulator has no faults."""
        return None

    @property
    def problem(self) -> str | None:
        """What keeps the backend from receiving right now (shown in the footer)."""
        return None
