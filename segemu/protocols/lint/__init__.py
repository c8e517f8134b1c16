"""Live lint rules: checks Segment's Protocols never made, run on every accepted call.

Each rule is a warning with an id, a one-line doc and a switch in the config file:

    [lint]
    dynamic-event-name = false                 # turn a rule off
    event-before-consent = true                # turn an off-by-default rule on
    conversion_events = ["Order Completed", "Subscription Started"]
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from segemu.config import ConfigError
from segemu.message import Record
from segemu.protocols.lint.base import LintRule
from segemu.protocols.lint.identity import (
    CONVERSION_EVENTS,
    ConversionWithoutIdentify,
    IdentityConflict,
)
from segemu.protocols.lint.naming import DynamicEventName, EventNameCasing, ObjectAction
from segemu.protocols.lint.payload import (
    EventBeforeConsent,
    PayloadSize,
    PiiInProperties,
    TimestampWithoutTimezone,
)
from segemu.protocols.lint.spec import SpecPropertyNames
from segemu.protocols.violations import LintFinding

RULES: tuple[type[LintRule], ...] = (
    DynamicEventName,
    EventNameCasing,
    ObjectAction,
    ConversionWithoutIdentify,
    IdentityConflict,
    TimestampWithoutTimezone,
    PayloadSize,
    PiiInProperties,
    EventBeforeConsent,
    SpecPropertyNames,
)
RULE_IDS: tuple[str, ...] = tuple(rule.id for rule in RULES)
OPTIONS = ("conversion_events",)


# (write key, type, name) whose name rules' findings the linter keeps; the oldest go first.
NAMES_KEPT = 20_000


class Linter:
    """The enabled rules, run in order over each accepted call.

    Rules that judge only the name (`by_name`) run once per write key, type and name: calls
    repeat a handful of names, and this keeps the per-call cost of lint to the rules that
    must look at each call."""

    def __init__(
        self,
        enabled: Mapping[str, bool] | None = None,
        *,
        conversion_events: tuple[str, ...] = CONVERSION_EVENTS,
    ) -> None:
        enabled = enabled or {}
        self.enabled = {rule.id: enabled.get(rule.id, rule.default) for rule in RULES}
        self.rules: list[LintRule] = []
        for rule in RULES:
            if not self.enabled[rule.id]:
                continue
            if rule is ConversionWithoutIdentify:
                self.rules.append(ConversionWithoutIdentify(conversion_events))
            else:
                self.rules.append(rule())
        # Name rules come first in RULES, so findings keep the order of RULES.
        self._name_rules = [rule for rule in self.rules if rule.by_name]
        self._call_rules = [rule for rule in self.rules if not rule.by_name]
        self._by_name: dict[tuple[Any, str, str], tuple[LintFinding, ...]] = {}

    def run(self, record: Record) -> list[LintFinding]:
        found: list[LintFinding] = []
        event = record["event"]
        if self._name_rules:
            self._run_name_rules(record, event, found)
        for rule in self._call_rules:
            rule.check(record, event, found)
        return found

    def _run_name_rules(
        self, record: Record, event: dict[str, Any], found: list[LintFinding]
    ) -> None:
        kind = record["type"] or ""
        name = event.get("event" if kind == "track" else "name")
        if not isinstance(name, str):
            for rule in self._name_rules:
                rule.check(record, event, found)
            return
        key = (record["writeKey"], kind, name)
        known = self._by_name.get(key)
        if known is None:
            for rule in self._name_rules:
                rule.check(record, event, found)
            self._by_name[key] = tuple(found)
            if len(self._by_name) > NAMES_KEPT:
                del self._by_name[next(iter(self._by_name))]
        elif known:
            found.extend(finding.copy() for finding in known)  # each record owns its findings

    def reset(self, write_key: str | None = None) -> None:
        for rule in self.rules:
            rule.reset(write_key)
        if write_key is None:
            self._by_name.clear()
        else:
            for key in [key for key in self._by_name if key[0] == write_key]:
                del self._by_name[key]

    def describe(self) -> list[dict[str, Any]]:
        return [
            {
                "id": rule.id,
                "doc": rule.doc,
                "enabled": self.enabled[rule.id],
                "default": rule.default,
                "source": rule.source,
            }
            for rule in RULES
        ]


def linter_from_table(table: Any, where: str) -> Linter:
    """The [lint] table, checked: a mistake names the file, the table and the key."""
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table, got {table!r}")
    enabled: dict[str, bool] = {}
    conversions = CONVERSION_EVENTS
    for key, value in table.items():
        if key == "conversion_events":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(
                    f"{where}: 'conversion_events' must be a list of event names, got {value!r}"
                )
            conversions = tuple(value)
        elif key in RULE_IDS:
            if not isinstance(value, bool):
                raise ConfigError(f"{where}: '{key}' must be true or false, got {value!r}")
            enabled[key] = value
        else:
            known = (*RULE_IDS, *OPTIONS)
            close = difflib.get_close_matches(key, known, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ConfigError(
                f"{where}: unknown lint rule '{key}'{hint}; known: {', '.join(known)}"
            )
    return Linter(enabled, conversion_events=conversions)
