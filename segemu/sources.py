"""Sources: the write keys segemu accepts, and what each source's config says.

In Segment a write key identifies one source; the source has its destinations, its tracking
plan and its schema controls (DOCS connections/sources/index.md; protocols/enforce/
schema-configuration.md). In the config file:

    [sources.web]
    write_key = "wk_web"
    destinations = ["mixpanel", "ga4"]    # default: every enabled destination
    block_events = ["Debug Clicked"]      # Schema controls: track events, pages and screens
    block_identify_traits = ["ssn"]       #   blocked by name; identify traits and group
    block_group_traits = ["tax_id"]       #   traits omitted from what destinations receive
    tracking_plan = "plans/web.json"      # checked by segemu/protocols
    [sources.web.protocols]               # blocking settings, checked by segemu/protocols
    [sources.web.settings]                # CDN settings served to analytics.js

With no [sources] table every write key is accepted, as one catch-all source. With sources
configured, a call whose write key matches none is answered 200 and stored as rejected: the
real API does the same (200, then silently dropped; segment-wire-contract.md §2), and here the
reason is visible.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from segemu.config import Config, ConfigError
from segemu.functions.config import FunctionFile, base_dir, function_file

DEFAULT_SOURCE_NAME = "default"
_KEYS = (
    "write_key",
    "name",
    "destinations",
    "block_events",
    "block_identify_traits",
    "block_group_traits",
    "tracking_plan",
    "protocols",
    "settings",
    # A Source Function (segemu/functions): its file; `settings` are then its settings.
    "function",
)


@dataclass(frozen=True, slots=True)
class Source:
    name: str
    # None for the catch-all source of a config without [sources].
    write_key: str | None = None
    # The destinations attached to this source; None means every enabled destination.
    destinations: tuple[str, ...] | None = None
    block_events: frozenset[str] = frozenset()
    block_identify_traits: frozenset[str] = frozenset()
    block_group_traits: frozenset[str] = frozenset()
    # Path of the tracking plan (relative to the config file), and its blocking settings.
    tracking_plan: str | None = None
    protocols: Mapping[str, Any] = field(default_factory=dict)
    # Overrides merged into the CDN settings that analytics.js loads for this source.
    settings: Mapping[str, Any] = field(default_factory=dict)
    # A Source Function: its calls enter the pipeline as calls of this source.
    function: FunctionFile | None = None
    # Whether any schema control is set; most sources have none, and their calls skip them.
    has_schema_controls: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        controls = self.block_events or self.block_identify_traits or self.block_group_traits
        object.__setattr__(self, "has_schema_controls", bool(controls))

    # Schema controls (DOCS connections/sources/schema/index.md, "Event filters" and
    # "Identify and Group Trait Filters"; destination-data-control.md): besides track calls,
    # Segment blocks Page and Screen calls, and Identify traits and Group properties. A
    # blocked call reaches no destination, warehouses included; a blocked trait is removed
    # from what destinations receive.

    def schema_controls(self, kind: str | None, event: Mapping[str, Any]) -> dict[str, Any] | None:
        """What schema controls do to this call, for the record: {"blocked": reason or None,
        "omitted": [paths]} when they block it or omit traits; None otherwise."""
        if not self.has_schema_controls:
            return None
        blocked = self.blocked_call(kind, event)
        omitted = self.blocked_traits(kind, event)
        if blocked is None and not omitted:
            return None
        return {"blocked": blocked, "omitted": omitted}

    def blocked_call(self, kind: str | None, event: Mapping[str, Any]) -> str | None:
        """Why schema controls block this call, or None. Track calls are blocked by `event`,
        page and screen calls by `name`; the Source Schema lists every page call as "Page
        Viewed" (schema/index.md), so blocking "Page Viewed" blocks every page, and "Screen
        Viewed" every screen."""
        if not self.block_events:
            return None
        field_name = "event" if kind == "track" else "name" if kind in ("page", "screen") else None
        if field_name is None:
            return None
        name = event.get(field_name)
        where = f"for source '{self.name}' (Schema controls)"
        if isinstance(name, str) and name in self.block_events:
            label = "event" if kind == "track" else kind
            return f"{label} '{name}' is blocked {where}"
        every = f"{kind.title()} Viewed" if kind in ("page", "screen") else None
        if every is not None and every in self.block_events:
            return f"every {kind} call is blocked {where}: '{every}'"
        return None

    def blocked_traits(self, kind: str | None, event: Mapping[str, Any]) -> list[str]:
        """The paths (`traits.ssn`) of the identify or group traits schema controls omit."""
        blocked = (
            self.block_identify_traits
            if kind == "identify"
            else self.block_group_traits
            if kind == "group"
            else None
        )
        traits = event.get("traits")
        if not blocked or not isinstance(traits, dict):
            return []
        return [f"traits.{name}" for name in sorted(blocked.intersection(traits))]


class Sources:
    """The configured sources, found by write key."""

    def __init__(self, sources: list[Source]) -> None:
        self.configured = bool(sources)
        self.all = sources or [Source(DEFAULT_SOURCE_NAME)]
        self._by_key = {source.write_key: source for source in sources}

    def for_write_key(self, write_key: str | None) -> Source | None:
        """The source of a write key; None if sources are configured and none has this key."""
        if not self.configured:
            return self.all[0]
        return self._by_key.get(write_key)

    def unknown_key_reason(self, write_key: str | None) -> str:
        known = ", ".join(repr(key) for key in self._by_key)
        close = difflib.get_close_matches(write_key or "", [str(k) for k in self._by_key], n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return (
            f"write key {write_key!r} matches no configured source{hint}; known write keys: "
            f"{known}. Segment answers 200 and drops calls with an unknown write key"
        )


def load_sources(config: Config) -> Sources:
    """The [sources] table, checked; a mistake is a ConfigError naming the file and entry."""
    table = config.sections.get("sources", {})
    origin = config.config_file or "settings"
    sources: list[Source] = []
    seen: dict[str, str] = {}
    for name, entry in table.items():
        where = f"{origin}: [sources.{name}]"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where} must be a table, got {entry!r}")
        for key in entry:
            if key not in _KEYS:
                close = difflib.get_close_matches(key, _KEYS, n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                raise ConfigError(
                    f"{where}: unknown key '{key}'{hint}; known keys: {', '.join(_KEYS)}"
                )
        function = (
            function_file(
                base_dir(config), "source", name, entry["function"], entry.get("settings"), where
            )
            if "function" in entry
            else None
        )
        # A Source Function's source needs no write key of its own: its calls carry this one.
        write_key = entry.get("write_key", f"function:{name}" if function else None)
        if not isinstance(write_key, str) or not write_key:
            raise ConfigError(f"{where}: 'write_key' is required and must be a non-empty string")
        if write_key in seen:
            raise ConfigError(
                f"{where}: write key {write_key!r} is already used by [sources.{seen[write_key]}]"
            )
        seen[write_key] = name
        sources.append(
            Source(
                name=str(entry.get("name", name)),
                write_key=write_key,
                destinations=_names(entry, "destinations", where),
                block_events=frozenset(_names(entry, "block_events", where) or ()),
                block_identify_traits=frozenset(
                    _names(entry, "block_identify_traits", where) or ()
                ),
                block_group_traits=frozenset(_names(entry, "block_group_traits", where) or ()),
                tracking_plan=_optional_str(entry, "tracking_plan", where),
                protocols=_table(entry, "protocols", where),
                settings=_table(entry, "settings", where),
                function=function,
            )
        )
    return Sources(sources)


def _names(entry: Mapping[str, Any], key: str, where: str) -> tuple[str, ...] | None:
    value = entry.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{where}: '{key}' must be a list of strings, got {value!r}")
    return tuple(value)


def _optional_str(entry: Mapping[str, Any], key: str, where: str) -> str | None:
    value = entry.get(key)
    if value is not None and (not isinstance(value, str) or not value):
        raise ConfigError(f"{where}: '{key}' must be a non-empty string, got {value!r}")
    return value


def _table(entry: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = entry.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: '{key}' must be a table, got {value!r}")
    return value
