"""The [destinations] table: which destinations exist, their settings, filters and faults.

    [destinations.mixpanel]                  # the id; also the preset when one has this slug
    preset = "mixpanel"                      # optional when the id is a preset's slug
    enabled = true
    settings = { api_secret = "fake" }       # merged over the preset's defaults
    consent_categories = ["Analytics"]       # Consent Management categories it is mapped to
    [[destinations.mixpanel.filters]]        # destination filters (filters.py): Segment's
    title = "drop internal events"           # Public API form, or a JSON file of them
    if = "event = 'Internal Test'"           # FQL; omitted or "all" = every event
    actions = [{ type = "DROP" }]            # or: drop = true, only = true,
                                             # sample = { percent = 0.1, path = "userId" },
                                             # drop_properties = { "" = ["userId"] } ...
    [destinations.mixpanel.failures]         # injected faults, to watch retries
    status = 503                             # answered by the destination's API
    times = 2                                # the first N attempts fail (-1: every attempt)
    latency = 0.2                            # seconds each attempt takes
    [destinations.mixpanel.retry]            # Segment retries failed deliveries with backoff
    max_attempts = 5
    backoff = 0.1                            # seconds before the 2nd attempt, doubling

A destination that names no preset is user-defined: `actions = [{name, subscribe, mapping}]`,
the same shape as an Actions mapping in a Segment workspace. A preset's actions can be
replaced the same way (same `name`: the preset's request builder is kept).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from segemu.config import Config, ConfigError
from segemu.destinations.base import Action, Preset, Request
from segemu.destinations.catalog import DEFAULT_DESTINATIONS, presets
from segemu.destinations.engine import CompiledAction, compile_action
from segemu.destinations.filters import DestinationFilter, FilterError, load_filters
from segemu.destinations.fql import FqlError, compile_fql
from segemu.destinations.mapping import check as check_mapping
from segemu.functions.config import DestinationFunctions, destination_functions

_KEYS = (
    "preset",
    "name",
    "enabled",
    "settings",
    "consent_categories",
    "filters",
    "failures",
    "actions",
    "aliases",
    "retry",
    # Destination and Insert Functions: parsed by segemu/functions/config.py.
    "function",
    "insert_function",
    "batching",
)
_FAILURE_KEYS = ("status", "times", "latency")
_ACTION_KEYS = ("name", "subscribe", "mapping", "enabled", "method", "url")


@dataclass(frozen=True, slots=True)
class Failures:
    status: int = 500
    times: int = 0
    latency: float = 0.0


@dataclass(frozen=True, slots=True)
class Retry:
    # Segment retries a failed delivery for hours with exponential backoff (DOCS
    # connections/destinations/index.md §Retries); locally the clock runs faster, so the
    # defaults let a test watch every attempt in well under a second.
    max_attempts: int = 5
    backoff: float = 0.1


@dataclass(frozen=True, slots=True)
class Destination:
    id: str
    name: str
    preset: Preset
    enabled: bool
    settings: Mapping[str, Any]
    consent_categories: tuple[str, ...]
    filters: tuple[DestinationFilter, ...]
    failures: Failures | None
    actions: tuple[CompiledAction, ...]
    # Names the integrations object may use for this destination.
    aliases: tuple[str, ...] = field(default=())
    retry: Retry = field(default_factory=Retry)
    # A Destination Function and/or an Insert Function (segemu/functions).
    functions: DestinationFunctions | None = None

    @property
    def sends(self) -> bool:
        """Whether deliveries really go out over HTTP (the Webhook with a URL), or are
        recorded only."""
        return self.preset.slug == "webhook" and bool(self.settings.get("url"))

    @property
    def live(self) -> bool:
        """Whether the delivery worker carries its deliveries out after the ack."""
        return self.sends or self.failures is not None or self.functions is not None


def load_destinations(config: Config) -> list[Destination]:
    origin = config.config_file or "settings"
    # A filters file is found beside the config file.
    base = Path(config.config_file).parent if config.config_file else None
    table = config.sections.get("destinations")
    catalog = presets()
    if table is None:
        return [
            _from_preset(slug, catalog[slug]) for slug in DEFAULT_DESTINATIONS if slug in catalog
        ]
    return [
        parse_destination(id_, entry, catalog, f"{origin}: [destinations.{id_}]", base)
        for id_, entry in table.items()
    ]


def check_connections(destinations: tuple[Destination, ...], config: Config) -> None:
    """A source that names a destination no one defined is a mistake, not a silent gap: in
    Segment a source can only be connected to a destination that exists. (The [sources]
    entries are already checked by sources.load_sources.)"""
    origin = config.config_file or "settings"
    known = [destination.id for destination in destinations]
    for key, entry in config.sections.get("sources", {}).items():
        names = entry.get("destinations") if isinstance(entry, dict) else None
        for name in names if isinstance(names, list) else ():
            if name not in known:
                close = difflib.get_close_matches(str(name), known, n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                raise ConfigError(
                    f"{origin}: [sources.{key}]: 'destinations' names '{name}'{hint}, which "
                    f"is not defined: add a [destinations.{name}] table (defined: "
                    f"{', '.join(known) or 'none'})"
                )


def _from_preset(id_: str, preset: Preset) -> Destination:
    return Destination(
        id=id_,
        name=preset.name,
        preset=preset,
        enabled=True,
        settings=dict(preset.settings),
        consent_categories=(),
        filters=(),
        failures=None,
        actions=tuple(compile_action(a) for a in preset.actions),
        aliases=preset.aliases,
    )


def parse_destination(
    id_: str, entry: Any, catalog: Mapping[str, Preset], where: str, base: Path | None = None
) -> Destination:
    """One [destinations.<id>] entry, checked; ConfigError names `where` and the problem.
    `base` is the folder of relative paths (filters files, functions): the config file's;
    the working directory without one."""
    if not isinstance(entry, dict):
        raise ConfigError(f"{where} must be a table, got {entry!r}")
    _known_keys(entry, _KEYS, where)
    functions = destination_functions(base or Path.cwd(), id_, entry, where)
    preset_name = entry.get("preset", id_ if id_ in catalog else None)
    if functions is not None and functions.function is not None:
        if preset_name is not None and "preset" in entry:
            raise ConfigError(f"{where}: a destination 'function' takes no 'preset'")
        from segemu.functions.deliver import function_preset

        preset = function_preset(str(entry.get("name", id_)))
    elif preset_name is not None:
        if preset_name not in catalog:
            close = difflib.get_close_matches(str(preset_name), list(catalog), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ConfigError(
                f"{where}: unknown destination preset {preset_name!r}{hint}; "
                f"known presets: {', '.join(sorted(catalog))}"
            )
        preset = catalog[preset_name]
    elif "actions" not in entry:
        close = difflib.get_close_matches(id_, list(catalog), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise ConfigError(
            f"{where}: unknown destination '{id_}'{hint}: name a preset "
            f"(known: {', '.join(sorted(catalog))}) or define 'actions'"
        )
    else:
        preset = Preset(slug="custom", name=str(entry.get("name", id_)), aliases=(), actions=())
    settings = {**preset.settings, **_table(entry, "settings", where)}
    if preset.slug == "warehouse":
        from segemu.destinations.warehouse import check_settings

        problems = check_settings(_table(entry, "settings", where))
        if problems:
            raise ConfigError(f"{where}: {problems[0]}")
    actions = _actions(entry.get("actions"), preset, where)
    enabled = entry.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ConfigError(f"{where}: 'enabled' must be true or false, got {enabled!r}")
    name = entry.get("name", preset.name)
    aliases = tuple(dict.fromkeys([*preset.aliases, name, *_strings(entry, "aliases", where)]))
    return Destination(
        id=id_,
        name=str(name),
        preset=preset,
        enabled=enabled,
        settings=settings,
        consent_categories=_strings(entry, "consent_categories", where),
        filters=_filters(entry.get("filters", []), where, base),
        failures=_failures(entry.get("failures"), where),
        actions=tuple(compile_action(action) for action in actions),
        aliases=aliases,
        retry=_retry(entry.get("retry"), where),
        functions=functions,
    )


def _actions(raw: Any, preset: Preset, where: str) -> list[Action]:
    if raw is None:
        return list(preset.actions)
    if not isinstance(raw, list):
        raise ConfigError(f"{where}: 'actions' must be a list of tables")
    # Actions a preset models beyond its quick setup (Mixpanel's Alias...) can be enabled by name.
    from segemu.destinations.presets import ACTIONS

    extra = ACTIONS.get(preset.slug, {}).values()
    by_name = {action.name: action for action in (*extra, *preset.actions)}
    actions: list[Action] = []
    for index, item in enumerate(raw):
        at = f"{where}.actions[{index}]"
        if not isinstance(item, dict):
            raise ConfigError(f"{at} must be a table, got {item!r}")
        _known_keys(item, _ACTION_KEYS, at)
        if item.get("enabled", True) is False:
            continue
        name = item.get("name")
        if not isinstance(name, str) or not name:
            raise ConfigError(f"{at}: 'name' is required")
        base = by_name.get(name)
        subscribe = item.get("subscribe", base.subscribe if base else None)
        if not isinstance(subscribe, str):
            raise ConfigError(f"{at}: 'subscribe' (an FQL condition) is required")
        try:
            compile_fql(subscribe)
        except FqlError as exc:
            raise ConfigError(f"{at}: bad subscription: {exc}") from None
        mapping = item.get("mapping", base.mapping if base else None)
        if not isinstance(mapping, dict):
            raise ConfigError(f"{at}: 'mapping' (field mappings) must be a table")
        problems = check_mapping(mapping, "mapping")
        if problems:
            raise ConfigError(f"{at}: bad mapping directive: {problems[0]}")
        build = (
            base.build
            if base
            else _generic_build(name, str(item.get("method", "POST")), item.get("url"))
        )
        actions.append(
            Action(
                name=name,
                subscribe=subscribe,
                mapping=mapping,
                build=build,
                key=base.key if base else "",
            )
        )
    return actions


def _generic_build(name: str, method: str, url: Any) -> Any:
    # A user-defined action records the mapped fields as the body of one request.
    def build(fields: dict[str, Any], settings: Mapping[str, Any]) -> list[Request]:
        return [
            {
                "action": name,
                "method": method,
                "url": str(url or settings.get("url", "")),
                "headers": {"Content-Type": "application/json"},
                "body": fields,
            }
        ]

    return build


def _filters(raw: Any, where: str, base: Path | None) -> tuple[DestinationFilter, ...]:
    try:
        return load_filters(raw, where, base)
    except FilterError as exc:
        raise ConfigError(str(exc)) from None


def _failures(raw: Any, where: str) -> Failures | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: 'failures' must be a table")
    _known_keys(raw, _FAILURE_KEYS, f"{where}.failures")
    status, times, latency = raw.get("status", 500), raw.get("times", -1), raw.get("latency", 0)
    if not isinstance(status, int) or not 100 <= status <= 599:
        raise ConfigError(f"{where}.failures: 'status' must be an HTTP status, got {status!r}")
    if not isinstance(times, int) or times < -1:
        raise ConfigError(f"{where}.failures: 'times' must be -1 (always) or a count")
    if isinstance(latency, bool) or not isinstance(latency, int | float) or latency < 0:
        raise ConfigError(f"{where}.failures: 'latency' must be seconds, got {latency!r}")
    return Failures(status=status, times=times, latency=float(latency))


def _retry(raw: Any, where: str) -> Retry:
    if raw is None:
        return Retry()
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: 'retry' must be a table")
    _known_keys(raw, ("max_attempts", "backoff"), f"{where}.retry")
    attempts, backoff = raw.get("max_attempts", 5), raw.get("backoff", 0.1)
    if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1:
        raise ConfigError(f"{where}.retry: 'max_attempts' must be at least 1, got {attempts!r}")
    if isinstance(backoff, bool) or not isinstance(backoff, int | float) or backoff < 0:
        raise ConfigError(f"{where}.retry: 'backoff' must be seconds, got {backoff!r}")
    return Retry(max_attempts=attempts, backoff=float(backoff))


def _known_keys(entry: Mapping[str, Any], known: tuple[str, ...], where: str) -> None:
    for key in entry:
        if key not in known:
            close = difflib.get_close_matches(str(key), known, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ConfigError(f"{where}: unknown key '{key}'{hint}; known keys: {', '.join(known)}")


def _table(entry: Mapping[str, Any], key: str, where: str) -> dict[str, Any]:
    value = entry.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: '{key}' must be a table, got {value!r}")
    return value


def _list(entry: Mapping[str, Any], key: str, where: str) -> list[Any]:
    value = entry.get(key, [])
    if not isinstance(value, list):
        raise ConfigError(f"{where}: '{key}' must be a list, got {value!r}")
    return value


def _strings(entry: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = _list(entry, key, where)
    if not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{where}: '{key}' must be a list of strings, got {value!r}")
    return tuple(value)
