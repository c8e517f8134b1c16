"""Plan inference: a tracking plan, in the authoring format, from calls already made.

Like "Import events from Source" in Segment's Tracking Plan editor (DOCS
protocols/tracking-plan/create.md), it lists every event, page, screen, trait and property
seen, with its JSON type. A property of a track, page or screen call is required when every
call of that event had it; traits stay optional, as Segment advises, since identify and group
often carry only new or changed traits (DOCS protocols/tracking-plan/create.md, "Add Identify
or Group traits").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from segemu.message import json_type

# How deep inference follows nested objects and arrays.
MAX_DEPTH = 6
# RFC 3339, what JSON Schema's date-time format accepts: a timezone is required.
_DATE_TIME = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})"
)


@dataclass(slots=True)
class Shape:
    """What the values seen at one place looked like."""

    types: set[str] = field(default_factory=set)
    strings: int = 0
    date_times: int = 0
    objects: int = 0
    fields: dict[str, Shape] = field(default_factory=dict)
    present: dict[str, int] = field(default_factory=dict)
    items: Shape | None = None

    def add(self, value: Any, depth: int = 0) -> None:
        kind = json_type(value)
        self.types.add(kind)
        if kind == "string":
            self.strings += 1
            if _DATE_TIME.fullmatch(value):
                self.date_times += 1
        elif kind == "object" and depth < MAX_DEPTH:
            self.add_object(value, depth)
        elif kind == "array" and depth < MAX_DEPTH:
            if self.items is None:
                self.items = Shape()
            for element in value:
                self.items.add(element, depth + 1)

    def add_object(self, value: Mapping[str, Any], depth: int = 0) -> None:
        self.objects += 1
        for key, inner in value.items():
            self.present[key] = self.present.get(key, 0) + 1
            self.fields.setdefault(key, Shape()).add(inner, depth + 1)

    def spec(self, required_fields: bool) -> Any:
        """This shape as a property of the authoring format."""
        kinds = sorted(self.types - {"null"})
        nullable = "null" in self.types
        if len(kinds) == 1 and kinds[0] == "object":
            return self._object_spec(required_fields, nullable)
        if len(kinds) == 1 and kinds[0] == "array":
            spec: dict[str, Any] = {"type": ["array", "null"] if nullable else "array"}
            if self.items is not None and self.items.types:
                spec["items"] = self.items.spec(required_fields)
            return spec
        if len(kinds) == 1:
            name = kinds[0]
            if name == "string" and self.strings and self.date_times == self.strings:
                name = "date-time"
            return f"{name}?" if nullable else name
        if not kinds:
            return "null"
        return {"type": kinds + (["null"] if nullable else [])}

    def _object_spec(self, required_fields: bool, nullable: bool) -> dict[str, Any]:
        spec: dict[str, Any] = {"type": ["object", "null"] if nullable else "object"}
        spec["properties"] = self.fields_spec(required_fields)
        return spec

    def fields_spec(self, required_fields: bool) -> dict[str, Any]:
        specs: dict[str, Any] = {}
        for key in sorted(self.fields):
            inner = self.fields[key].spec(required_fields)
            if required_fields and self.present[key] == self.objects:
                # A type name ("string?", "date-time") works as the `type` of a mapping too.
                inner = {"type": inner} if isinstance(inner, str) else dict(inner)
                inner["required"] = True
            specs[key] = inner
        return specs


@dataclass(slots=True)
class _Calls:
    shape: Shape = field(default_factory=Shape)
    count: int = 0


def infer_plan(
    events: Iterable[Mapping[str, Any]], name: str = "Inferred tracking plan"
) -> dict[str, Any]:
    """A plan in the authoring format that every one of `events` (normalized or as sent)
    satisfies."""
    named: dict[str, dict[str, _Calls]] = {"track": {}, "page": {}, "screen": {}}
    traits: dict[str, _Calls] = {}
    for event in events:
        kind = event.get("type")
        if kind in named:
            key = event.get("event") if kind == "track" else event.get("name")
            if kind == "track" and not isinstance(key, str):
                continue
            label = key if isinstance(key, str) and key else "*"
            calls = named[kind].setdefault(label, _Calls())
            values = event.get("properties")
        elif kind in ("identify", "group"):
            calls = traits.setdefault(kind, _Calls())
            values = event.get("traits")
        else:
            continue
        calls.count += 1
        calls.shape.add_object(values if isinstance(values, dict) else {})
    plan: dict[str, Any] = {"name": name}
    for kind, by_name in named.items():
        if by_name:
            plan[kind] = {
                label: {"properties": calls.shape.fields_spec(True)}
                for label, calls in sorted(by_name.items())
            }
    for kind, calls in sorted(traits.items()):
        plan[kind] = {"traits": calls.shape.fields_spec(False)}
    return plan
