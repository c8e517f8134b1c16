"""Segment's tracking plan CSV: the file the Protocols UI downloads ("Download Tracking Plan")
and uploads ("Import... > From CSV"), read as a tracking plan.

What Segment documents (segment-docs src/protocols/tracking-plan/create.md, "Download a
Tracking Plan", "Upload a Tracking Plan", "Edit a Tracking Plan"):
- one header row, then one row of data or more; under 15 MB, fewer than 100,000 rows and at
  most 2,000 rules;
- its columns follow the Tracking Plan editor: an event (or property) name, a description, a
  status (required or optional), a data type (any, array, object, boolean, integer, number,
  string, null, Date time) and permitted values; "Allowed Property Values" lists the values a
  string property may take and "Enum Values" those of an Enum property;
- labels are `key:value` pairs on Track and Page events; events have versions.

Segment does not publish the header row itself, so this reader finds its columns by name,
whatever their order, under the names the docs and the editor use and their common variants
(`COLUMNS`; case, spaces and punctuation do not matter; other columns are ignored). The choices
made where Segment's format is not written down:
- one row per property, the event's own row first (no property name); a row with neither an
  event type nor an event name belongs to the event above it, and so does one that repeats it;
- a missing Event Type column means every row is a Track event; Identify, Group and Common
  rows need no event name; a Page or Screen row without a name (or named `*`) is the rule for
  every page or screen;
- a Common row's property is a field of the whole event (`context.library`), as in the common
  JSON schema;
- a property of an object or an array of objects is written with a dot after its parent,
  which comes first: `products` (array) then `products.product_id`;
- several types are separated by commas or pipes (`string, null`); `Date time` is a string
  in ISO-8601 format, `any` and `Enum` set no type;
- allowed and enum values are separated by commas, or by pipes when there are any, or written
  as a JSON list; they are numbers or booleans when the property's type is;
- "Permitted Values" (the editor's regular expression) becomes the property's JSON Schema
  `pattern`, as written.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from typing import Any

from segemu.protocols.authoring import (
    ALIASES,
    TYPES,
    AuthoringError,
    common_rule,
    event_rule,
)

# Segment's upload limits (create.md, "Tracking Plan CSV requirements").
MAX_BYTES = 15 * 1024 * 1024
MAX_ROWS = 100_000
MAX_RULES = 2_000

# Logical column -> the header names it goes by (normalized: lower case, words only).
COLUMNS: dict[str, tuple[str, ...]] = {
    "kind": ("event type", "rule type", "call type", "type"),
    "event": ("event name", "event", "event key", "key"),
    "version": ("event version", "version"),
    "description": ("event description", "description"),
    "labels": ("event labels", "labels", "label"),
    "property": ("property name", "property", "trait name", "trait", "property key", "field"),
    "property_description": ("property description", "trait description"),
    "property_type": ("property type", "data type", "property data type", "trait type"),
    "required": (
        "required",
        "property required",
        "status",
        "property status",
        "required optional",
    ),
    "values": ("allowed property values", "allowed values", "property allowed values"),
    "enum_values": ("enum values", "property enum values"),
    "pattern": ("permitted values", "regex", "pattern", "property regex"),
}
KINDS = {
    "track": "TRACK",
    "identify": "IDENTIFY",
    "group": "GROUP",
    "page": "PAGE",
    "screen": "SCREEN",
    "common": "COMMON",
    # The Config API named the common JSON schema `global`.
    "global": "COMMON",
}
CONTAINERS = {"TRACK": "properties", "PAGE": "properties", "SCREEN": "properties"}
_TRUE = frozenset(("required", "true", "yes", "y", "1", "x"))
_FALSE = frozenset(("optional", "false", "no", "n", "0", ""))


class CsvPlanError(ValueError):
    """A mistake in a tracking plan CSV; the message starts with the line."""


@dataclass
class _Event:
    kind: str
    key: str | None
    version: int
    line: int
    description: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    # name -> authoring property spec (segemu/protocols/authoring.py), in file order.
    fields: dict[str, Any] = field(default_factory=dict)


def plan_name(stem: str) -> str:
    """The plan's name from a downloaded file's name, `workspaceSlug-trackingPlanName--
    yyyy-mm-dd--hh-mm-utc` (create.md): what comes before the date."""
    return stem.split("--", 1)[0] or stem


def rules_from_csv(data: bytes) -> list[dict[str, Any]]:
    """Segment rules ({type, key, version, jsonSchema}) from a tracking plan CSV."""
    if len(data) > MAX_BYTES:
        raise CsvPlanError(
            f"the file is {len(data):,} bytes; Segment takes tracking plan CSVs under 15 MB"
        )
    try:
        text = data.decode("utf-8-sig")  # spreadsheets often write a byte order mark
    except UnicodeDecodeError as exc:
        raise CsvPlanError(f"not UTF-8 text (byte {exc.start})") from None
    rows = csv.reader(io.StringIO(text, newline=""))
    try:
        header, header_line = _header(rows)
        columns = _columns(header)
        events = _events(rows, columns, header_line)
    except csv.Error as exc:
        raise CsvPlanError(f"line {rows.line_num}: not valid CSV: {exc}") from None
    if len(events) > MAX_RULES:
        raise CsvPlanError(
            f"{len(events):,} rules; Segment takes at most {MAX_RULES:,} in a tracking plan CSV"
        )
    return [_rule(event) for event in events.values()]


def _header(rows: Any) -> tuple[list[str], int]:
    for row in rows:
        if any(cell.strip() for cell in row):
            return row, rows.line_num
    raise CsvPlanError("empty file: expected a header row, then one row per event or property")


def _normalized(name: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", name.lower()))


def _columns(header: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    names = [_normalized(cell) for cell in header]
    for logical, aliases in COLUMNS.items():
        for alias in aliases:
            if alias in names:
                found[logical] = names.index(alias)
                break
    if "event" not in found and "property" not in found:
        raise CsvPlanError(
            "line 1: no Event Name or Property Name column; the header has "
            f"{', '.join(repr(cell) for cell in header)}"
        )
    return found


def _events(
    rows: Any, columns: dict[str, int], header_line: int
) -> dict[tuple[str, str | None, int], _Event]:
    events: dict[tuple[str, str | None, int], _Event] = {}
    current: _Event | None = None
    count = 0
    for row in rows:
        line = rows.line_num

        def cell(name: str, row: list[str] = row) -> str:
            at = columns.get(name)
            return row[at].strip() if at is not None and at < len(row) else ""

        if not any(value.strip() for value in row):
            continue
        count += 1
        if count + 1 >= MAX_ROWS:  # the header row counts too
            raise CsvPlanError(
                f"line {line}: Segment takes tracking plan CSVs of fewer than {MAX_ROWS:,} rows"
            )
        kind_cell, name_cell, version_cell = cell("kind"), cell("event"), cell("version")
        if kind_cell or name_cell or version_cell or current is None:
            kind = _kind(kind_cell, line) if kind_cell else current.kind if current else "TRACK"
            key = _key(kind, name_cell, line)
            version = _version(version_cell, line)
            event = events.get((kind, key, version))
            if event is None:
                event = events[(kind, key, version)] = _Event(kind, key, version, line)
            current = event
        if cell("description") and current.description is None:
            current.description = cell("description")
        if cell("labels"):
            current.labels.update(_labels(cell("labels"), line))
        if cell("property"):
            _add_property(current, cell, line)
    if not events:
        raise CsvPlanError(f"line {header_line}: a header row but no events")
    return events


def _kind(value: str, line: int) -> str:
    kind = KINDS.get(value.lower())
    if kind is None:
        raise CsvPlanError(
            f"line {line}: Event Type {value!r} is not one of Track, Identify, Group, Page, "
            "Screen, Common"
        )
    return kind


def _key(kind: str, name: str, line: int) -> str | None:
    if kind in ("IDENTIFY", "GROUP", "COMMON"):
        return None
    if kind == "TRACK" and not name:
        raise CsvPlanError(f"line {line}: a Track row needs an Event Name")
    return None if name in ("", "*") else name


def _version(value: str, line: int) -> int:
    if not value:
        return 1
    try:
        version = int(value)
    except ValueError:
        version = 0
    if version < 1:
        raise CsvPlanError(
            f"line {line}: Event Version must be a whole number of at least 1, got {value!r}"
        )
    return version


def _labels(value: str, line: int) -> dict[str, str]:
    labels: dict[str, str] = {}
    for part in re.split(r"[,;\n]", value):
        if not part.strip():
            continue
        name, colon, label = part.partition(":")
        if not colon or not name.strip():
            raise CsvPlanError(
                f"line {line}: label {part.strip()!r} is not a key:value pair (priority:p0)"
            )
        labels[name.strip()] = label.strip()
    return labels


def _add_property(event: _Event, cell: Any, line: int) -> None:
    path = cell("property")
    *parents, name = path.split(".")
    siblings = event.fields
    for depth, parent_name in enumerate(parents):
        parent = siblings.get(parent_name)
        where = ".".join(parents[: depth + 1])
        if not isinstance(parent, dict):
            raise CsvPlanError(
                f"line {line}: property {path!r} comes before its parent {where!r}; "
                "list the parent first"
            )
        kind = parent.get("type")
        if kind == "array":
            items = parent.setdefault("items", {"type": "object", "properties": {}})
            siblings = items.setdefault("properties", {})
        elif kind in (None, "object"):
            siblings = parent.setdefault("properties", {})
        else:
            raise CsvPlanError(
                f"line {line}: property {path!r}: its parent {where!r} is {kind!r}, "
                "not an object or an array"
            )
    if name in siblings:
        raise CsvPlanError(f"line {line}: property {path!r} appears twice in this event")
    siblings[name] = _property(cell, line, path)


def _property(cell: Any, line: int, path: str) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    types = _types(cell("property_type"), line, path)
    if types:
        spec["type"] = types[0] if len(types) == 1 else types
    required = cell("required").lower()
    if required in _TRUE:
        spec["required"] = True
    elif required not in _FALSE:
        raise CsvPlanError(
            f"line {line}: property {path!r}: Required {cell('required')!r} is not "
            "required/optional (or yes/no, true/false)"
        )
    if cell("property_description"):
        spec["description"] = cell("property_description")
    values = cell("values") or cell("enum_values")
    if values:
        spec["enum"] = _values(values, types, line, path)
    if cell("pattern"):
        try:
            re.compile(cell("pattern"))
        except re.error as exc:
            raise CsvPlanError(
                f"line {line}: property {path!r}: Permitted Values is not a regular "
                f"expression: {exc}"
            ) from None
        spec["pattern"] = cell("pattern")
    return spec


def _types(value: str, line: int, path: str) -> list[Any]:
    """The JSON Schema types of a Data Type cell; [] for any, Enum or nothing."""
    types: list[Any] = []
    for part in re.split(r"[,|/]|\bor\b", value, flags=re.IGNORECASE):
        name = " ".join(part.lower().split())
        if not name or name in ("any", "enum"):
            continue
        if name in ("date time", "datetime", "date-time"):
            name = "date-time"
        if name not in TYPES and name not in ALIASES:
            raise CsvPlanError(
                f"line {line}: property {path!r}: unknown Data Type {part.strip()!r}; known: "
                "any, array, object, boolean, integer, number, string, null, Date time, Enum"
            )
        types.append(name)
    if len(types) > 1 and "date-time" in types:
        # Several types with a Date time among them: the date is a string.
        types = ["string" if kind == "date-time" else kind for kind in types]
    return types


def _values(value: str, types: list[Any], line: int, path: str) -> list[Any]:
    if value.startswith("["):
        try:
            parsed = json.loads(value)
        except ValueError:
            parsed = None
        if not isinstance(parsed, list):
            raise CsvPlanError(f"line {line}: property {path!r}: values {value!r} are not a list")
        return parsed
    separator = "|" if "|" in value else ","
    values: list[Any] = [part.strip() for part in value.split(separator) if part.strip()]
    if any(kind in ("number", "integer") for kind in types):
        try:
            numbers = [float(v) if _is_float(v) else int(v) for v in values]
        except ValueError:
            numbers = None
        if numbers is not None:
            return numbers
    if "boolean" in types and all(v.lower() in ("true", "false") for v in values):
        return [v.lower() == "true" for v in values]
    return values


def _is_float(text: str) -> bool:
    return any(char in text for char in ".eE")


def _rule(event: _Event) -> dict[str, Any]:
    where = f"line {event.line}"
    try:
        if event.kind == "COMMON":
            return common_rule(event.fields, where)
        container = CONTAINERS.get(event.kind, "traits")
        spec: dict[str, Any] = {
            container: event.fields,
            "labels": event.labels,
            "version": event.version,
        }
        if event.description is not None:
            spec["description"] = event.description
        return event_rule(event.kind, event.key, spec, container, where)
    except AuthoringError as exc:
        raise CsvPlanError(str(exc)) from None
