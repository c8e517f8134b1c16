"""What every lint rule is: an id, a one-line doc, a default, and a check of one record.

Rules see calls in arrival order. Those that remember (who was identified, which casing a
source uses) keep bounded state, by write key, that `reset` clears with the emulator's.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, ClassVar, Generic, TypeVar

from segemu.message import Record
from segemu.protocols.violations import LintFinding

V = TypeVar("V")
# How much of one text the rules read, so that a call within Segment's limits (32 KB) never
# costs seconds, whatever it holds: the first NAME_CHARS characters of an event or page name
# (the name rules), and the first VALUE_CHARS of each property or trait value (personal data,
# timestamps). Names and values of normal size are read whole; past the cap, a dynamic part
# or an email address goes unseen. Every rule is also linear in what it reads.
NAME_CHARS = 1024
VALUE_CHARS = 4096
# How many keys (write key, anonymousId, ...) a stateful rule remembers; the least recently
# seen go first, so memory stays bounded however long `segemu run` runs.
STATE_KEPT = 50_000
# Call types that rules name in `types`: calls with a name, and track calls.
NAMED_TYPES = frozenset({"track", "page", "screen"})
TRACK = frozenset({"track"})


class LintRule:
    id: ClassVar[str]
    doc: ClassVar[str]
    # Segment's documentation the rule follows, for the rule listing.
    source: ClassVar[str] = ""
    default: ClassVar[bool] = True
    # True for rules whose findings on a call depend only on its write key, type and name
    # once that name was seen: the linter runs them once per name and reuses the findings.
    by_name: ClassVar[bool] = False
    # True for stateless rules whose findings on a call depend only on its shape: its type,
    # name, and the keys of its properties (traits for identify and group). The linter runs
    # `check_shape` once per shape and copies its findings to each call of that shape;
    # `per_call` names the shapes whose calls also need a look at their values
    # (`check_per_call`).
    by_shape: ClassVar[bool] = False
    # The call types the rule judges or learns from; None for every type. The linter does not
    # run a rule on calls of other types, so most calls skip most rules without a call.
    types: ClassVar[frozenset[str] | None] = None
    # True for rules that neither judge nor remember a call without an anonymousId (a
    # non-empty string): the linter looks the anonymousId up once for all of them, and the
    # server SDKs' calls, which seldom carry one, skip them.
    by_anonymous_id: ClassVar[bool] = False

    def check(self, record: Record, event: dict[str, Any], found: list[LintFinding]) -> None:
        raise NotImplementedError

    def check_shape(self, record: Record, event: dict[str, Any], found: list[LintFinding]) -> None:
        """A by_shape rule's findings that the call's shape decides (`check` gives them with
        those of `check_per_call`)."""
        raise NotImplementedError

    def per_call(self, record: Record, event: dict[str, Any]) -> bool:
        """For a by_shape rule, asked once per shape (on its first call): whether every call
        of this shape must also go through `check_per_call`."""
        return False

    def check_per_call(
        self, record: Record, event: dict[str, Any], found: list[LintFinding]
    ) -> None:
        """A by_shape rule's findings on what its shape does not fix, for the shapes it
        named in `per_call`."""

    def reset(self, write_key: str | None) -> None:
        """Forget what was learnt from one write key's calls (every one's for None)."""

    def finding(self, message: str, path: str | None = None) -> LintFinding:
        return {"rule": self.id, "message": message, "path": path}


class Bounded(Generic[V]):
    """A dict keyed by (write key, ...) that forgets its least recently used entries."""

    def __init__(self, kept: int = STATE_KEPT) -> None:
        self.kept = kept
        self._entries: OrderedDict[tuple[Any, ...], V] = OrderedDict()

    def get(self, key: tuple[Any, ...]) -> V | None:
        value = self._entries.get(key)
        if value is not None:
            self._entries.move_to_end(key)
        return value

    def set(self, key: tuple[Any, ...], value: V) -> None:
        self._entries[key] = value
        self._entries.move_to_end(key)
        while len(self._entries) > self.kept:
            self._entries.popitem(last=False)

    def reset(self, write_key: str | None) -> None:
        if write_key is None:
            self._entries.clear()
            return
        for key in [key for key in self._entries if key[0] == write_key]:
            del self._entries[key]

    def __len__(self) -> int:
        return len(self._entries)
