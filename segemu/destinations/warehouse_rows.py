"""The rows Segment's warehouse connector loads for one event, one per table.

Sources (segmentio/segment-docs, by path):
- connections/storage/warehouses/schema.md: the tables and their columns; nested objects in
  properties, traits and context are flattened into `<parent>_<child>` columns, arrays are
  stringified; a column only gets a non-null value; `id` is the messageId; the four timestamps;
  `uuid_ts`; string values cut at 512 characters (§Column Sizing); properties that collide
  with Segment's own columns.
- connections/storage/catalog/redshift/index.md §Reserved Words: such properties and traits get
  a `_` prefix (`userId`, `receivedAt`, `messageId` conflict). schema.md's note says they are
  discarded instead; segemu keeps them under the prefixed name, which is what the Redshift page
  says and what keeps the value visible to a developer.
- connections/storage/data-lakes/comparison.md §Columns: warehouses leave out `channel`,
  `type`, `version`, `metadata_*` and the integrations object.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from segemu.destinations.warehouse_naming import column_name, table_name
from segemu.message import format_timestamp, parse_timestamp

# schema.md §Column Sizing: "the string column length limit at 512 characters, and will
# truncate longer strings". Stringified arrays are strings too.
MAX_STRING_LENGTH: Final = 512

# The columns Segment fills from the event itself (schema.md's tables; `uuid` and `loaded_at`
# are the Redshift and BigQuery load columns). A property or trait that would land on one of
# them, or on a context column, gets the `_` prefix instead (redshift/index.md).
SEGMENT_COLUMNS: Final = frozenset(
    {
        "id",
        "received_at",
        "sent_at",
        "timestamp",
        "original_timestamp",
        "uuid",
        "uuid_ts",
        "loaded_at",
        "anonymous_id",
        "user_id",
        "event",
        "event_text",
        "group_id",
        "previous_id",
    }
)

Method = Literal["INSERT", "UPSERT", "UPDATE"]


@dataclass(frozen=True, slots=True)
class Row:
    table: str
    # INSERT appends a row; UPSERT updates the row with the same `id`, or appends it
    # (schema.md: users and accounts are upserted); UPDATE, whose columns are
    # {"where": {...}, "set": {...}}, changes every row that has the `where` values (Profiles
    # Sync's materialised tables on a merge, segemu/destinations/profiles_sync.py).
    method: Method
    columns: dict[str, Any]


def stringify(value: list[Any] | dict[str, Any]) -> str:
    """An array as its column holds it: JSON text. schema.md's example writes `[507f1, 505bd]`;
    segemu writes JSON (`["507f1","505bd"]`), which a warehouse's JSON functions can read."""
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    except (RecursionError, ValueError):
        return "[array nested too deeply to stringify]"


def cell(value: Any) -> Any:
    """A value typed as the warehouse column would hold it: numbers and booleans as they are,
    strings (and stringified arrays) cut at 512 characters."""
    kind = type(value)
    if kind is str:
        return value if len(value) <= MAX_STRING_LENGTH else value[:MAX_STRING_LENGTH]
    if kind is int or kind is float or kind is bool:
        return value
    # Only arrays reach here from properties, traits and context (objects are flattened); an
    # object in a top-level field of a malformed event is written as JSON too.
    text = stringify(value) if isinstance(value, list | dict) else str(value)
    return text[:MAX_STRING_LENGTH]


def flatten(value: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(path, leaf) of every non-null leaf, paths joined with `_`, in the payload's order.
    Iterative, so an absurdly deep object cannot exhaust the stack."""
    stack: list[tuple[str, Iterator[tuple[Any, Any]]]] = [(prefix, iter(value.items()))]
    while stack:
        path, items = stack[-1]
        for key, item in items:
            inner = f"{path}_{key}" if path else str(key)
            if isinstance(item, dict):
                stack.append((inner, iter(item.items())))
                break
            if item is not None:
                yield inner, item
        else:
            stack.pop()


def _object(event: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = event.get(name)
    return value if isinstance(value, dict) else {}


def _utc(value: Any) -> str | None:
    # Timestamp columns hold UTC instants; an offset such as -07:00 is converted, a value that
    # is not ISO-8601 has no place in a timestamp column and is left out.
    moment = parse_timestamp(value)
    return format_timestamp(moment) if moment is not None else None


def _put(row: dict[str, Any], name: str, value: Any) -> None:
    if value is not None:
        row[name] = cell(value)


def _context(row: dict[str, Any], event: Mapping[str, Any]) -> None:
    # schema.md: context.app.version → context_app_version; context.userAgent →
    # context_user_agent (snake_case of the whole flattened path).
    for path, value in flatten(_object(event, "context"), "context"):
        _put(row, column_name(path), value)


def _custom(row: dict[str, Any], values: Mapping[str, Any]) -> None:
    """Properties or traits as un-prefixed columns. When two keys end up with one column name
    (`firstName` and `first_name`), the later one wins, as in a JSON object with a repeated
    key; Segment does not document this case."""
    taken = SEGMENT_COLUMNS | {name for name in row if name.startswith("context_")}
    for path, value in flatten(values):
        name = column_name(path, taken)
        if name:
            _put(row, name, value)


def _common(event: Mapping[str, Any], loaded_at: str) -> dict[str, Any]:
    """The columns every event table starts with (schema.md: identifies, groups, pages,
    screens, tracks and event tables); the context columns come next."""
    row: dict[str, Any] = {}
    _put(row, "id", event.get("messageId"))
    _put(row, "received_at", _utc(event.get("receivedAt")))
    _put(row, "sent_at", _utc(event.get("sentAt")))
    _put(row, "timestamp", _utc(event.get("timestamp")))
    _put(row, "original_timestamp", _utc(event.get("originalTimestamp")))
    # schema.md: uuid_ts is when Segment's connector processed the event; here, now.
    row["uuid_ts"] = loaded_at
    _put(row, "anonymous_id", event.get("anonymousId"))
    _put(row, "user_id", event.get("userId"))
    return row


def _latest_state(row_id: Any, event: Mapping[str, Any], loaded_at: str) -> dict[str, Any]:
    # schema.md: the users table has no anonymous_id ("a user can have multiple
    # anonymousIds"), and its id is the user_id of the identifies table. The timestamps other
    # than received_at and the context columns follow a users table of a Segment Redshift
    # warehouse published in jerry-s-cheng/RFM segment_production.sql.
    row: dict[str, Any] = {}
    _put(row, "id", row_id)
    _put(row, "received_at", _utc(event.get("receivedAt")))
    row["uuid_ts"] = loaded_at
    _context(row, event)
    _custom(row, _object(event, "traits"))
    return row


def track_rows(event: Mapping[str, Any], loaded_at: str) -> list[Row]:
    """A `tracks` row (no properties) and a row in the event's own table (with them)."""
    row = _common(event, loaded_at)
    name = event.get("event")
    table = table_name(name) if isinstance(name, str) else ""
    # An event name with no letter or digit has no table; its tracks row keeps event_text.
    _put(row, "event", table or None)
    _put(row, "event_text", name if isinstance(name, str) else None)
    _context(row, event)
    rows = [Row("tracks", "INSERT", row)]
    if table:
        own = dict(row)
        _custom(own, _object(event, "properties"))
        rows.append(Row(table, "INSERT", own))
    return rows


def identify_rows(event: Mapping[str, Any], loaded_at: str) -> list[Row]:
    row = _common(event, loaded_at)
    _context(row, event)
    _custom(row, _object(event, "traits"))
    rows = [Row("identifies", "INSERT", row)]
    # schema.md: identify calls are upserted on user_id into users; without a userId there is
    # no user to upsert.
    user_id = event.get("userId")
    if user_id:
        rows.append(Row("users", "UPSERT", _latest_state(user_id, event, loaded_at)))
    return rows


def _page_or_screen(table: str, event: Mapping[str, Any], loaded_at: str) -> list[Row]:
    row = _common(event, loaded_at)
    _context(row, event)
    _custom(row, _object(event, "properties"))
    # The call's own name (and a page's category) fill the `name` and `category` columns over
    # properties of the same name: analytics.js sends the page name in both places.
    _put(row, "name", event.get("name"))
    if table == "pages":
        _put(row, "category", event.get("category"))
    return [Row(table, "INSERT", row)]


def page_rows(event: Mapping[str, Any], loaded_at: str) -> list[Row]:
    return _page_or_screen("pages", event, loaded_at)


def screen_rows(event: Mapping[str, Any], loaded_at: str) -> list[Row]:
    return _page_or_screen("screens", event, loaded_at)


def group_rows(event: Mapping[str, Any], loaded_at: str, accounts: bool = False) -> list[Row]:
    row = _common(event, loaded_at)
    _put(row, "group_id", event.get("groupId"))
    _context(row, event)
    _custom(row, _object(event, "traits"))
    rows = [Row("groups", "INSERT", row)]
    # schema.md: the accounts table (in beta) holds the latest state of each group, upserted
    # like users; segemu writes it when the `accounts` setting is on.
    group_id = event.get("groupId")
    if accounts and group_id:
        rows.append(Row("accounts", "UPSERT", _latest_state(group_id, event, loaded_at)))
    return rows


def alias_rows(event: Mapping[str, Any], loaded_at: str) -> list[Row]:
    row = _common(event, loaded_at)
    _put(row, "previous_id", event.get("previousId"))
    _context(row, event)
    # schema.md: the aliases table includes traits as top-level columns, when a call has any.
    _custom(row, _object(event, "traits"))
    return [Row("aliases", "INSERT", row)]
