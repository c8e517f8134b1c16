"""Snapshot testing of an event stream: volatile fields become stable placeholders, so the same
code produces the same snapshot run after run.

Volatile: messageId, the timestamps Segment and the SDKs set, the SDK's library version, the
per-test write key, and any generated UUID (anonymousId, ids in properties), which become
`<uuid-1>`, `<uuid-2>`... in order of first appearance, so "the same id twice" stays visible.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from segemu.message import Record

VOLATILE_FIELDS = ("messageId", "timestamp", "originalTimestamp", "sentAt", "receivedAt")
UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def normalize(records: list[Record], write_key: str | None = None) -> list[dict[str, Any]]:
    """Records in arrival order as stable dicts: type, status (and reason), and the event."""
    uuids: dict[str, str] = {}

    def stable(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: stable(inner) for key, inner in value.items()}
        if isinstance(value, list):
            return [stable(inner) for inner in value]
        if isinstance(value, str):
            if write_key and value == write_key:
                return "<writeKey>"
            return UUID.sub(
                lambda found: uuids.setdefault(found.group(0).lower(), f"<uuid-{len(uuids) + 1}>"),
                value,
            )
        return value

    shots: list[dict[str, Any]] = []
    for record in records:
        event = dict(record["event"])
        for name in VOLATILE_FIELDS:
            if name in event:
                event[name] = f"<{name}>"
        library = (event.get("context") or {}).get("library")
        if isinstance(library, dict) and "version" in library:
            event["context"] = {**event["context"], "library": {**library, "version": "<version>"}}
        shot: dict[str, Any] = {"type": record["type"], "status": record["status"]}
        if record["reason"] is not None and record["status"] != "accepted":
            shot["reason"] = record["reason"]
        shot["event"] = stable(event)
        shots.append(shot)
    return shots


def dumps(shots: list[dict[str, Any]]) -> str:
    return orjson.dumps(shots, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode() + "\n"


@dataclass(frozen=True, slots=True)
class SnapshotStore:
    """Where one test's snapshots live: `<base>.json`, or `<base>.<name>.json` for a named
    one. With `update`, snapshots are written instead of compared."""

    base: Path
    update: bool = False

    def path(self, name: str | None) -> Path:
        return self.base.with_name(self.base.name + (f".{name}" if name else "") + ".json")

    def check(self, shots: list[dict[str, Any]], name: str | None) -> None:
        __tracebackhide__ = True
        failure = compare(shots, self.path(name), self.update)
        if failure is not None:
            raise AssertionError(failure)


def compare(shots: list[dict[str, Any]], path: Path, update: bool) -> str | None:
    """None when `shots` match the snapshot file (or it was just written), else the failure."""
    text = dumps(shots)
    if update:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return None
    if not path.exists():
        return (
            f"no snapshot at {path}; run pytest with --segemu-update-snapshots to write "
            f"it from these {len(shots)} event(s)"
        )
    stored = path.read_text()
    if stored == text:
        return None
    diff = difflib.unified_diff(
        stored.splitlines(), text.splitlines(), "snapshot", "received", lineterm="", n=3
    )
    return (
        f"events differ from the snapshot {path} (update it with "
        f"--segemu-update-snapshots):\n" + "\n".join(diff)
    )
