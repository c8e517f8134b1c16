"""Schema configuration: what a source does with unplanned events and violations.

Segment's settings, under Segment's names (Public API TrackSourceSettingsV1,
IdentifySourceSettingsV1, GroupSourceSettingsV1, CommonSourceSettingsV1; DOCS
protocols/enforce/schema-configuration.md). In the config file, either nested as the Public
API has them, or flat as the Config API named them:

    [sources.web.protocols.track]                 [sources.web.protocols]
    allowUnplannedEvents = false                  allowUnplannedTrackEvents = false
    commonEventOnViolations = "BLOCK"             commonTrackEventOnViolations = "BLOCK"

`[protocols]` holds the defaults for every source (and the plan of the catch-all source);
a source's own table overrides them key by key. Every setting defaults to what Segment does
with no schema configuration: allow everything, report violations.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from segemu.config import ConfigError

# Config API name -> (call type, Public API name); every value is a boolean except the common*.
FLAT: dict[str, tuple[str, str]] = {
    "allowUnplannedTrackEvents": ("track", "allowUnplannedEvents"),
    "allowUnplannedTrackEventProperties": ("track", "allowUnplannedEventProperties"),
    "allowTrackEventOnViolations": ("track", "allowEventOnViolations"),
    "allowTrackEventPropertiesOnViolations": ("track", "allowPropertiesOnViolations"),
    "commonTrackEventOnViolations": ("track", "commonEventOnViolations"),
    "allowUnplannedIdentifyTraits": ("identify", "allowUnplannedTraits"),
    "allowIdentifyTraitsOnViolations": ("identify", "allowTraitsOnViolations"),
    "commonIdentifyEventOnViolations": ("identify", "commonEventOnViolations"),
    "allowUnplannedGroupTraits": ("group", "allowUnplannedTraits"),
    "allowGroupTraitsOnViolations": ("group", "allowTraitsOnViolations"),
    "commonGroupEventOnViolations": ("group", "commonEventOnViolations"),
}
NESTED: dict[str, tuple[str, ...]] = {
    "track": (
        "allowUnplannedEvents",
        "allowUnplannedEventProperties",
        "allowEventOnViolations",
        "allowPropertiesOnViolations",
        "commonEventOnViolations",
    ),
    "identify": ("allowUnplannedTraits", "allowTraitsOnViolations", "commonEventOnViolations"),
    "group": ("allowUnplannedTraits", "allowTraitsOnViolations", "commonEventOnViolations"),
}
COMMON_CHOICES = {
    "track": ("ALLOW", "BLOCK", "OMIT_PROPERTIES"),
    "identify": ("ALLOW", "BLOCK", "OMIT_TRAITS"),
    "group": ("ALLOW", "BLOCK", "OMIT_TRAITS"),
}
# Where Violation Generated events and blocked events go: a source's name (a write key when
# no [sources] are configured, since every key then belongs to the catch-all source).
FORWARDING = ("forwardingViolationsTo", "forwardingBlockedEventsTo")
# Only in [protocols]: the catch-all source's plan, and the default of the pytest strict mode.
TOP_LEVEL = ("tracking_plan", "strict")


@dataclass(frozen=True, slots=True)
class CallSettings:
    """The settings of one call type; track's names are used for identify and group too
    (unplanned traits are their unplanned "properties")."""

    allow_unplanned_events: bool = True
    allow_unplanned_properties: bool = True
    allow_event_on_violations: bool = True
    allow_properties_on_violations: bool = True
    common_on_violations: str = "ALLOW"


@dataclass(frozen=True, slots=True)
class SchemaSettings:
    calls: Mapping[str, CallSettings] = field(default_factory=dict)
    forward_violations_to: str | None = None
    forward_blocked_to: str | None = None

    def for_call(self, kind: str) -> CallSettings:
        return self.calls.get(kind) or _DEFAULT


_DEFAULT = CallSettings()


def flatten(table: Mapping[str, Any], where: str, *, top_level: bool) -> dict[str, Any]:
    """The settings of one table as {(call, Public API name) or forwarding key: value},
    checked; a mistake names the table and the key."""
    known = [*FLAT, *NESTED, *FORWARDING, *(TOP_LEVEL if top_level else ())]
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key in TOP_LEVEL and top_level:
            continue
        if key in FORWARDING:
            if not isinstance(value, str) or not value:
                raise ConfigError(f"{where}: '{key}' must be the name of a source, got {value!r}")
            values[key] = value
        elif key in FLAT:
            call, name = FLAT[key]
            values[f"{call}.{name}"] = _setting(call, name, value, f"{where}: '{key}'")
        elif key in NESTED:
            if not isinstance(value, dict):
                raise ConfigError(
                    f"{where}: '{key}' must be a table ([...protocols.{key}]), got {value!r}"
                )
            for name, inner in value.items():
                if name not in NESTED[key]:
                    raise ConfigError(
                        f"{where}.{key}: unknown setting '{name}'"
                        f"{_hint(name, NESTED[key])}; known: "
                        f"{', '.join(NESTED[key])}"
                    )
                values[f"{key}.{name}"] = _setting(key, name, inner, f"{where}.{key}: '{name}'")
        else:
            raise ConfigError(
                f"{where}: unknown setting '{key}'{_hint(key, known)}; known: {', '.join(known)}"
            )
    return values


def build(values: Mapping[str, Any]) -> SchemaSettings:
    calls: dict[str, CallSettings] = {}
    for call in NESTED:

        def get(name: str, default: Any, call: str = call) -> Any:
            return values.get(f"{call}.{name}", default)

        if call == "track":
            calls[call] = CallSettings(
                allow_unplanned_events=get("allowUnplannedEvents", True),
                allow_unplanned_properties=get("allowUnplannedEventProperties", True),
                allow_event_on_violations=get("allowEventOnViolations", True),
                allow_properties_on_violations=get("allowPropertiesOnViolations", True),
                common_on_violations=get("commonEventOnViolations", "ALLOW"),
            )
        else:
            calls[call] = CallSettings(
                allow_unplanned_properties=get("allowUnplannedTraits", True),
                allow_properties_on_violations=get("allowTraitsOnViolations", True),
                common_on_violations=get("commonEventOnViolations", "ALLOW"),
            )
    return SchemaSettings(
        calls, values.get("forwardingViolationsTo"), values.get("forwardingBlockedEventsTo")
    )


def _setting(call: str, name: str, value: Any, where: str) -> Any:
    if name == "commonEventOnViolations":
        choices = COMMON_CHOICES[call]
        if value not in choices:
            raise ConfigError(
                f"{where} must be one of {', '.join(choices)} for {call} calls, got {value!r}"
            )
        return value
    if not isinstance(value, bool):
        raise ConfigError(f"{where} must be true or false, got {value!r}")
    return value


def _hint(name: str, known: Any) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""
