"""The columns of the live event table: what each shows of a record, and how wide it is.

A cell is (text, tone); the tone names a style in inspector.tcss (via the table's component
classes), so colours follow the Textual theme.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from segemu.message import Record
from segemu.sources import DEFAULT_SOURCE_NAME

Cell = tuple[str, str]


def event_name(record: Record) -> str:
    """What a developer calls the event: the track name, the page or screen name, ..."""
    event: dict[str, Any] = record["event"]
    kind = record["type"]
    if kind == "track":
        name = event.get("event")
    elif kind in ("page", "screen"):
        name = event.get("name") or event.get("category")
    elif kind == "group":
        name = event.get("groupId")
    elif kind == "alias":
        return f"{event.get('previousId')} → {event.get('userId')}"
    elif kind == "identify":
        traits = event.get("traits")
        name = traits.get("email") if isinstance(traits, dict) else None
    else:
        name = None
    return name if isinstance(name, str) else ""


def _time(record: Record) -> Cell:
    return record["receivedAt"][11:23], "dim"


def _status(record: Record) -> Cell:
    return record["status"], record["status"]


def _type(record: Record) -> Cell:
    return record["type"] or "?", "type"


def _name(record: Record) -> Cell:
    return event_name(record), ""


def _user(record: Record) -> Cell:
    event = record["event"]
    user = event.get("userId")
    if user:
        return str(user), ""
    anonymous = event.get("anonymousId")
    return (f"anon {anonymous}", "dim") if anonymous else ("-", "dim")


def _source(record: Record) -> Cell:
    # With no [sources] configured every key belongs to the catch-all source: the write key
    # then says more than its name.
    source = record.get("source")
    if source and source != DEFAULT_SOURCE_NAME:
        return source, "dim"
    return record["writeKey"] or "-", "dim"


# The statuses of the destinations contract, in the order a summary lists them.
DELIVERY_MARKS = (
    ("delivered", "✓", "good"),
    ("filtered", "⊘", "dim"),
    ("failed", "✗", "bad"),
    ("retrying", "↻", "warn"),
    ("pending", "…", "dim"),
)


def delivery_counts(record: Record) -> dict[str, int] | None:
    # What each destination received, where built for the row (a mapping can fail); else
    # the routing decided at ingest.
    deliveries = record.get("deliveries", record.get("routing"))
    if not isinstance(deliveries, dict):
        return None
    counts: dict[str, int] = {}
    for delivery in deliveries.values():
        status = delivery.get("status") if isinstance(delivery, dict) else None
        if isinstance(status, str):
            counts[status] = counts.get(status, 0) + 1
    return counts


def _destinations(record: Record) -> Cell:
    counts = delivery_counts(record)
    if counts is None:
        return "", "dim"
    if not counts:
        return "none", "dim"
    parts = [f"{counts[status]}{mark}" for status, mark, _ in DELIVERY_MARKS if counts.get(status)]
    tone = "bad" if counts.get("failed") else "warn" if counts.get("retrying") else "good"
    return " ".join(parts), tone


def findings(record: Record) -> tuple[list[Any], list[Any]]:
    """The tracking-plan violations and lint findings a record carries (contract shapes)."""
    violations = record.get("violations")
    lint = record.get("lint")
    return (
        violations if isinstance(violations, list) else [],
        lint if isinstance(lint, list) else [],
    )


def _violations(record: Record) -> Cell:
    if "violations" not in record and "lint" not in record:
        return "", "dim"
    violations, lint = findings(record)
    if violations:
        return f"{len(violations)} violation{'s' if len(violations) != 1 else ''}", "bad"
    if lint:
        return f"{len(lint)} lint", "warn"
    return "ok", "good"


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    title: str
    # None: takes what the fixed columns leave (at least `width`).
    width: int
    cell: Callable[[Record], Cell]
    flexible: bool = False


COLUMNS: dict[str, Column] = {
    column.key: column
    for column in (
        Column("time", "time (UTC)", 12, _time),
        Column("status", "status", 9, _status),
        Column("type", "type", 8, _type),
        Column("name", "event / name", 18, _name, flexible=True),
        Column("user", "userId / anonymousId", 22, _user),
        Column("source", "source / key", 14, _source),
        Column("destinations", "destinations", 12, _destinations),
        Column("violations", "plan", 12, _violations),
    )
}
DEFAULT_COLUMNS: tuple[str, ...] = (
    "time",
    "status",
    "type",
    "name",
    "user",
    "source",
    "destinations",
    "violations",
)


def parse_columns(text: str) -> tuple[str, ...]:
    """`--columns time,type,name`: known names, in the order given."""
    chosen = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = [name for name in chosen if name not in COLUMNS]
    if unknown or not chosen:
        raise ValueError(
            f"unknown column(s) {', '.join(unknown) or '(none given)'}; choose "
            f"from {', '.join(COLUMNS)}"
        )
    return chosen


def widths(columns: tuple[str, ...], total: int) -> list[int]:
    """Each column's width for a table `total` cells wide, one space between columns."""
    chosen = [COLUMNS[key] for key in columns]
    fixed = sum(c.width for c in chosen if not c.flexible) + max(len(chosen) - 1, 0)
    flexible = [c for c in chosen if c.flexible]
    spare = max(total - fixed, 0)
    result = []
    for column in chosen:
        if column.flexible:
            result.append(max(column.width, spare // len(flexible)))
        else:
            result.append(column.width)
    return result
