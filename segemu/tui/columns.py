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
    # The narrowest it is shown (a narrower table leaves it out, by `drop`).
    width: int
    cell: Callable[[Record], Cell]
    # As wide as it grows before the flexible columns take the rest.
    ideal: int = 0
    # Flexible columns share what the others leave, each up to its ideal, then the first
    # takes the remainder.
    flexible: bool = False
    # On a narrow terminal columns are left out in this order (1 first); 0: never.
    drop: int = 0
    # Cut without an ellipsis (a time loses its milliseconds first).
    clip: bool = False


COLUMNS: dict[str, Column] = {
    column.key: column
    for column in (
        Column("time", "time (UTC)", 8, _time, ideal=12, drop=2, clip=True),
        Column("status", "status", 9, _status, drop=3),
        Column("type", "type", 8, _type),
        Column("name", "event / name", 14, _name, ideal=30, flexible=True),
        # "anon " and a UUID, the anonymousId analytics.js and the mobile SDKs make.
        Column("user", "userId / anonymousId", 14, _user, ideal=41, flexible=True),
        Column("source", "source / key", 12, _source, ideal=14, drop=1),
        Column("destinations", "destinations", 10, _destinations, ideal=12),
        Column("violations", "plan", 10, _violations, ideal=12),
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


def layout(columns: tuple[str, ...], total: int) -> list[tuple[str, int]]:
    """The columns shown in a table `total` cells wide, one space between them, and each
    one's width. What does not fit at its narrowest is left out (source first, then time,
    then status); the room left grows each fixed column to its ideal, then the flexible ones
    (name, user) to theirs, then the name takes the rest. At 80 columns that shows type,
    name, user, destinations and plan; at 200, every column with a whole anonymousId."""
    chosen = [COLUMNS[key] for key in columns]

    def needed(shown: list[Column]) -> int:
        return sum(column.width for column in shown) + max(len(shown) - 1, 0)

    while needed(chosen) > total:
        droppable = [column for column in chosen if column.drop]
        if not droppable:
            break
        chosen.remove(min(droppable, key=lambda column: column.drop))
    width = {column.key: column.width for column in chosen}
    spare = max(total - needed(chosen), 0)
    for column in chosen:
        if not column.flexible and column.ideal > column.width:
            grow = min(column.ideal - column.width, spare)
            width[column.key] += grow
            spare -= grow
    flexible = [column for column in chosen if column.flexible]
    # Share what is left evenly, a cell at a time in turn, until each reaches its ideal.
    growing = [column for column in flexible if width[column.key] < column.ideal]
    while spare and growing:
        share = max(spare // len(growing), 1)
        for column in growing:
            grow = min(share, column.ideal - width[column.key], spare)
            width[column.key] += grow
            spare -= grow
        growing = [column for column in growing if width[column.key] < column.ideal]
    if spare and flexible:
        width[flexible[0].key] += spare
    return [(column.key, width[column.key]) for column in chosen]
