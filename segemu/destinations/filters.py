"""Destination filters in Segment's own format, and applying them to an event.

A filter is what Segment's Public API holds (docs.segmentapis.com, Destination Filters; DOCS
connections/destinations/destination-filters.md):

    {"title": "Don't send userId at all", "if": "all",
     "actions": [{"type": "DROP_PROPERTIES", "fields": {"": ["userId"]}}], "enabled": true}

- `if`: an FQL condition (fql.py), or "all" for every event;
- `actions`: `DROP`; `SAMPLE` with `percent` from 0 to 1 and an optional `path` whose value
  decides, the same way every time, whether an event is kept (segmentio/tsub-js
  src/transformers.ts `sampleConsistentPercent`, which must agree with Segment's Go sampler);
  `DROP_PROPERTIES` / `ALLOW_PROPERTIES` with `fields`, a map from where to look ("" for the
  top level, `properties`, `traits`, `context`, or a dotted path such as
  `properties.products`, whose objects in a list are each edited) to the field names.
Segment applies them in the order sample, drop, drop properties, allow properties
(destination-filters.md §Limitations), whatever the order of the filters.

The TOML spelling is the same thing: `[[destinations.<id>.filters]]` with `if`, `actions` and
`enabled` as above, or the shorthands `drop = true`, `only = true` (a drop of every event the
condition does not match, which is what the Segment app's "Only send" saves), `sample = {
percent = 0.1, path = "userId" }`, and `drop_properties` / `allow_properties` (a `fields` map,
or a list of property names), `drop_traits` / `allow_traits` (a list of trait names).
`filters` may also name a JSON file holding a filter, a list of them, or the Public API's
answer to listing them, so a filter copied from a workspace can be pasted in as it is.

Choices where Segment samples at random: without a `path`, segemu keys the draw on the
messageId, so a test gets the same answer on every run.
"""

from __future__ import annotations

import difflib
import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path as FilePath
from typing import Any, Final

import orjson

from segemu.destinations.fql import FqlError, Predicate, compile_fql
from segemu.destinations.mapping import MISSING, get_path

ACTION_TYPES: Final = ("SAMPLE", "DROP", "DROP_PROPERTIES", "ALLOW_PROPERTIES")
_ORDER: Final = {name: index for index, name in enumerate(ACTION_TYPES)}
_API_KEYS: Final = (
    "title",
    "name",
    "description",
    "if",
    "actions",
    "enabled",
    "sourceId",
    "destinationId",
    "id",
    "createdAt",
    "updatedAt",
)
_SHORTHANDS: Final = (
    "drop",
    "only",
    "sample",
    "drop_properties",
    "allow_properties",
    "drop_traits",
    "allow_traits",
)


class FilterError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class FilterAction:
    type: str
    percent: float = 1.0
    path: str | None = None
    fields: Mapping[str, tuple[str, ...]] | None = None


@dataclass(frozen=True, slots=True)
class DestinationFilter:
    name: str
    # None: every event ("if": "all").
    condition: Predicate | None
    actions: tuple[FilterAction, ...]
    # "Only send" is a drop of what the condition does not match.
    negated: bool = False


def load_filters(raw: Any, where: str, base: FilePath | None) -> tuple[DestinationFilter, ...]:
    """The `filters` of a destination: a list of tables, or a JSON file of Segment's filters."""
    if isinstance(raw, str):
        raw = _read_json(raw, where, base)
    if isinstance(raw, dict):
        data = raw.get("data")
        raw = data.get("filters") if isinstance(data, dict) else [raw]
    if not isinstance(raw, list):
        raise FilterError(f"{where}: 'filters' must be a list of filters or a JSON file's path")
    filters = [parse_filter(item, f"{where}.filters[{index}]") for index, item in enumerate(raw)]
    return tuple(item for item in filters if item is not None)


def _read_json(name: str, where: str, base: FilePath | None) -> Any:
    path = FilePath(name)
    if base is not None and not path.is_absolute():
        path = base / path
    try:
        return orjson.loads(path.read_bytes())
    except OSError as exc:
        raise FilterError(f"{where}: cannot read filters file {name!r}: {exc.strerror}") from None
    except orjson.JSONDecodeError as exc:
        raise FilterError(f"{where}: filters file {name!r} is not JSON: {exc}") from None


def parse_filter(raw: Any, where: str) -> DestinationFilter | None:
    """One filter, checked; None when it is disabled (`enabled: false`)."""
    if not isinstance(raw, dict):
        raise FilterError(f"{where} must be a table, got {raw!r}")
    _known(raw, (*_API_KEYS, *_SHORTHANDS), where)
    if raw.get("enabled", True) is False:
        return None
    name = str(raw.get("title") or raw.get("name") or where.rsplit(".", 1)[-1])
    condition = _condition(raw.get("if"), where)
    chosen = [key for key in ("actions", *_SHORTHANDS) if key in raw]
    if len(chosen) != 1:
        raise FilterError(
            f"{where}: a filter takes 'actions' (Segment's Public API form) or one of "
            f"{', '.join(_SHORTHANDS)}; got {', '.join(chosen) or 'none'}"
        )
    key = chosen[0]
    if key == "actions":
        actions = raw["actions"]
        if not isinstance(actions, list) or not actions:
            raise FilterError(f"{where}: 'actions' must be a non-empty list")
        parsed = tuple(_action(item, f"{where}.actions[{i}]") for i, item in enumerate(actions))
        return DestinationFilter(name, condition, parsed)
    value = raw[key]
    if key in ("drop", "only"):
        if value is not True:
            raise FilterError(f"{where}: '{key}' must be true")
        if key == "only" and condition is None:
            raise FilterError(f"{where}: 'only' needs an 'if' condition")
        return DestinationFilter(name, condition, (FilterAction("DROP"),), negated=key == "only")
    if key == "sample":
        if not isinstance(value, dict):
            raise FilterError(
                f"{where}: 'sample' is Segment's {{ percent = 0.1, path = \"userId\" }} "
                f"(percent from 0 to 1, path optional), got {value!r}"
            )
        return DestinationFilter(name, condition, (_action({"type": "SAMPLE", **value}, where),))
    if key.endswith("traits"):
        value = {"traits": value} if isinstance(value, list) else value
    elif isinstance(value, list):
        value = {"properties": value}
    kind = "DROP_PROPERTIES" if key.startswith("drop") else "ALLOW_PROPERTIES"
    return DestinationFilter(name, condition, (_action({"type": kind, "fields": value}, where),))


def _condition(text: Any, where: str) -> Predicate | None:
    if text is None or text == "all":
        return None
    if not isinstance(text, str):
        raise FilterError(f"{where}: 'if' must be an FQL condition or \"all\", got {text!r}")
    try:
        return compile_fql(text, "filter")
    except FqlError as exc:
        raise FilterError(f"{where}: bad filter condition: {exc}") from None


def _action(raw: Any, where: str) -> FilterAction:
    if not isinstance(raw, dict):
        raise FilterError(f"{where} must be an object, got {raw!r}")
    _known(raw, ("type", "percent", "path", "fields"), where)
    kind = raw.get("type")
    if kind not in ACTION_TYPES:
        raise FilterError(f"{where}: 'type' must be one of {', '.join(ACTION_TYPES)}, got {kind!r}")
    if kind == "SAMPLE":
        percent, path = raw.get("percent"), raw.get("path")
        if isinstance(percent, bool) or not isinstance(percent, int | float):
            raise FilterError(f"{where}: SAMPLE needs 'percent', from 0 to 1")
        if not 0 <= percent <= 1:
            raise FilterError(f"{where}: 'percent' is from 0 to 1 (0.1 keeps 10%), got {percent}")
        if path is not None and (not isinstance(path, str) or not path):
            raise FilterError(f"{where}: 'path' must be a field's path, got {path!r}")
        return FilterAction("SAMPLE", percent=float(percent), path=path or None)
    if kind == "DROP":
        return FilterAction("DROP")
    fields = raw.get("fields")
    if not isinstance(fields, dict) or not all(
        isinstance(names, list) and all(isinstance(n, str) for n in names)
        for names in fields.values()
    ):
        raise FilterError(
            f"{where}: {kind} needs 'fields', a map from where to look (\"\" for the top level, "
            f'"properties", "traits", "context"...) to a list of field names, got {fields!r}'
        )
    return FilterAction(kind, fields={key: tuple(names) for key, names in fields.items()})


def _known(raw: Mapping[str, Any], known: tuple[str, ...], where: str) -> None:
    for key in raw:
        if key not in known:
            close = difflib.get_close_matches(str(key), known, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise FilterError(f"{where}: unknown key '{key}'{hint}; known keys: {', '.join(known)}")


# Applying filters.


def apply_filters(
    filters: tuple[DestinationFilter, ...], event: dict[str, Any]
) -> tuple[dict[str, Any], str | None]:
    """The event as the destination receives it, or the reason it does not receive it."""
    steps = sorted(
        ((item, action) for item in filters for action in item.actions),
        key=lambda step: _ORDER[step[1].type],
    )
    for item, action in steps:
        matches = item.condition is None or item.condition(event)
        if item.negated:
            matches = not matches
        if not matches:
            continue
        if action.type == "SAMPLE":
            if not sampled_in(event, action.percent, action.path):
                via = f" by {action.path}" if action.path else ""
                return (
                    event,
                    f"filter '{item.name}': sampled out{via} (keeps {action.percent * 100:g}%)",
                )
        elif action.type == "DROP":
            why = "only send matching events" if item.negated else "drop event"
            return event, f"filter '{item.name}' ({why})"
        else:
            keep = action.type == "ALLOW_PROPERTIES"
            for where, names in (action.fields or {}).items():
                event = _edit(event, tuple(p for p in where.split(".") if p), set(names), keep)
    return event, None


def _edit(value: Any, path: tuple[str, ...], names: set[str], keep: bool) -> Any:
    # Copies along the path only: the stored event is shared by every destination.
    if isinstance(value, list):
        return [_edit(item, path, names, keep) for item in value]
    if not isinstance(value, dict):
        return value
    if not path:
        return {k: v for k, v in value.items() if (k in names) == keep}
    head, rest = path[0], path[1:]
    if head not in value:
        return value
    return {**value, head: _edit(value[head], rest, names, keep)}


def sampled_in(event: dict[str, Any], percent: float, path: str | None) -> bool:
    if percent <= 0:
        return False
    if percent >= 1:
        return True
    value = get_path(event, path or "messageId")
    return _uniform(None if value is MISSING else value) < percent


def _uniform(value: Any) -> float:
    """A number in [0, 1) drawn from the value: the MD5 of its JSON text read as a uniform
    real (tsub-js sampleConsistentPercent, after Segment's Go sampler)."""
    text = orjson.dumps(value) if value is not None else b"null"
    digest = hashlib.md5(text, usedforsecurity=False).digest()
    significand = int.from_bytes(digest[:8])
    exponent = -64
    leading = 64 - significand.bit_length()
    if leading:
        exponent -= leading
        significand = (significand << leading) & (2**64 - 1)
        significand |= int.from_bytes(digest[8:16]) >> (64 - leading)
    significand ^= 1
    return math.ldexp(significand, exponent)
