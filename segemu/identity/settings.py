"""Spaces and their identity resolution settings, from the config file's `[spaces.<name>]`.

Segment's rules (segment-docs src/unify/identity-resolution/identity-resolution-settings.md):
- Limit: how many values of one identifier type a profile may hold; `user_id` 1, every other
  identifier 5 by default.
- Priority: `user_id` first, `email` second, every other identifier in alphabetical order after
  the ones given an explicit rank. When a call would break a limit, its lowest-priority
  identifier is demoted (dropped from the call) and matching runs again.
- Blocked values: never promoted to external ids. Segment suggests blocking zeroes and dashes
  (`^[0-]*$`, which also covers the empty string), `-1`, `null` and `anonymous`; segemu blocks
  them by default, and `undefined` too (what JavaScript writes for a missing variable), since
  a hard-coded placeholder id merging every user is exactly what the rule guards against.
  Exact values compare case-insensitively (`NULL`, `Null`): a developer's placeholder rarely
  keeps one spelling.
- Custom identifiers (src/unify/identity-resolution/externalids.md): a name configured per
  space is read from `context.externalIds`, `properties.<name>`, `traits.<name>` and
  `context.traits.<name>`.

A source belongs to one space. Sources named in no space, and every source when no space is
configured, belong to the space named "default".

```toml
[spaces.default]
limits = { user_id = 1, email = 2 }
priority = ["user_id", "email", "phone"]
blocked_values = ["test@example.com"]
identifiers = ["phone"]
access_tokens = ["dev-token"]   # the Profile API's; any token is accepted when none is given
```
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from segemu.config import Config, ConfigError
from segemu.query.regex import Regex, RegexError

DEFAULT_SPACE = "default"
DEFAULT_LIMITS: Mapping[str, int] = {"user_id": 1}
DEFAULT_LIMIT = 5
# Segment ranks these first, in this order; every other identifier follows alphabetically.
DEFAULT_PRIORITY: tuple[str, ...] = ("user_id", "email")
SUGGESTED_BLOCKED: frozenset[str] = frozenset(("-1", "null", "anonymous", "undefined"))
# How many profiles a space keeps before it lets the least recently updated one go.
DEFAULT_MAX_PROFILES = 200_000
# An identifier value longer than this is not promoted: every check stays linear and bounded.
MAX_ID_LENGTH = 1024

_KEYS = frozenset(
    (
        "sources",
        "limits",
        "priority",
        "blocked_values",
        "blocked_patterns",
        "block_suggested_values",
        "identifiers",
        "max_profiles",
        "space_id",
        "access_tokens",
    )
)


@dataclass(frozen=True, slots=True)
class IdentitySettings:
    limits: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_LIMITS))
    default_limit: int = DEFAULT_LIMIT
    priority: tuple[str, ...] = DEFAULT_PRIORITY
    blocked_values: frozenset[str] = SUGGESTED_BLOCKED
    blocked_patterns: tuple[Regex, ...] = ()
    # Segment's suggested pattern `^[0-]*$`, checked without a regex.
    block_zeroes_and_dashes: bool = True
    identifiers: tuple[str, ...] = ()
    max_profiles: int = DEFAULT_MAX_PROFILES

    def limit(self, id_type: str) -> int:
        return self.limits.get(id_type, self.default_limit)

    def rank(self, id_type: str) -> tuple[int, str]:
        """Sort key: lower ranks first (higher priority)."""
        try:
            return (self.priority.index(id_type), "")
        except ValueError:
            return (len(self.priority), id_type)

    def blocked(self, value: str) -> str | None:
        """Why a value is blocked, or None."""
        if self.block_zeroes_and_dashes and value.strip("0-") == "":
            return f"{value!r} is blocked (zeroes and dashes, Segment's suggested ^[0-]*$)"
        if value.lower() in self.blocked_values:
            return f"{value!r} is a blocked value"
        for pattern in self.blocked_patterns:
            if pattern.search(value):
                return f"{value!r} is blocked by the pattern {pattern.pattern!r}"
        return None


@dataclass(frozen=True, slots=True)
class Space:
    name: str
    # The id the Profile API takes in /v1/spaces/{space_id}/...; the name unless given.
    space_id: str
    settings: IdentitySettings
    sources: tuple[str, ...] = ()
    # The Profile API's access tokens; empty: any token is accepted (as write keys are when
    # no source is configured).
    access_tokens: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Spaces:
    all: tuple[Space, ...]
    by_source: Mapping[str, Space]
    default: Space

    def for_source(self, source: str | None) -> Space:
        if source is None:
            return self.default
        return self.by_source.get(source, self.default)

    def find(self, space_id: str) -> Space | None:
        """A space by its space id or its name."""
        for space in self.all:
            if space_id in (space.space_id, space.name):
                return space
        return None


def load_spaces(config: Config) -> Spaces:
    """The spaces of a config; a mistake raises ConfigError naming the entry."""
    table = config.sections.get("spaces") or {}
    where_file = config.config_file or "settings"
    spaces: list[Space] = []
    by_source: dict[str, Space] = {}
    for name, entry in table.items():
        where = f"{where_file}: [spaces.{name}]"
        if not isinstance(entry, Mapping):
            raise ConfigError(f"{where} must be a table, got {entry!r}")
        space = _space(str(name), entry, where)
        for source in space.sources:
            if source in by_source:
                raise ConfigError(
                    f"{where}: source '{source}' is already in space '{by_source[source].name}'; "
                    f"segemu connects a source to one space"
                )
            by_source[source] = space
        spaces.append(space)
    default = next((s for s in spaces if s.name == DEFAULT_SPACE), None)
    if default is None:
        default = Space(DEFAULT_SPACE, DEFAULT_SPACE, IdentitySettings())
        spaces.insert(0, default)
    ids = [s.space_id for s in spaces]
    if len(set(ids)) != len(ids):
        raise ConfigError(f"{where_file}: two spaces have the same space_id")
    return Spaces(tuple(spaces), by_source, default)


def _space(name: str, entry: Mapping[str, Any], where: str) -> Space:
    unknown = set(entry) - _KEYS
    if unknown:
        raise ConfigError(
            f"{where}: unknown key '{min(unknown)}'; known keys: {', '.join(sorted(_KEYS))}"
        )
    limits = dict(DEFAULT_LIMITS)
    raw_limits = entry.get("limits", {})
    if not isinstance(raw_limits, Mapping):
        raise ConfigError(f"{where}: limits must be a table like {{ user_id = 1 }}")
    default_limit = DEFAULT_LIMIT
    for id_type, limit in raw_limits.items():
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ConfigError(f"{where}: limits.{id_type} must be a whole number of at least 1")
        if id_type == "*":
            default_limit = limit
        else:
            limits[str(id_type)] = limit
    priority = tuple(_strings(entry, "priority", where, DEFAULT_PRIORITY))
    suggested = entry.get("block_suggested_values", True)
    if not isinstance(suggested, bool):
        raise ConfigError(f"{where}: block_suggested_values must be true or false")
    blocked = {value.lower() for value in _strings(entry, "blocked_values", where, ())}
    if suggested:
        blocked |= SUGGESTED_BLOCKED
    patterns = []
    for pattern in _strings(entry, "blocked_patterns", where, ()):
        try:
            patterns.append(Regex(pattern))
        except RegexError as exc:
            raise ConfigError(f"{where}: blocked_patterns {pattern!r}: {exc.message}") from None
    max_profiles = entry.get("max_profiles", DEFAULT_MAX_PROFILES)
    if isinstance(max_profiles, bool) or not isinstance(max_profiles, int) or max_profiles < 1:
        raise ConfigError(f"{where}: max_profiles must be a whole number of at least 1")
    space_id = entry.get("space_id", name)
    if not isinstance(space_id, str) or not space_id:
        raise ConfigError(f"{where}: space_id must be a non-empty string")
    settings = IdentitySettings(
        limits=limits,
        default_limit=default_limit,
        priority=priority,
        blocked_values=frozenset(blocked),
        blocked_patterns=tuple(patterns),
        block_zeroes_and_dashes=suggested,
        identifiers=tuple(i.lower() for i in _strings(entry, "identifiers", where, ())),
        max_profiles=max_profiles,
    )
    return Space(
        name,
        space_id,
        settings,
        tuple(_strings(entry, "sources", where, ())),
        frozenset(_strings(entry, "access_tokens", where, ())),
    )


def _strings(entry: Mapping[str, Any], key: str, where: str, default: tuple[str, ...]) -> list[str]:
    value = entry.get(key)
    if value is None:
        return list(default)
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{where}: {key} must be a list of non-empty strings")
    return list(value)
