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
from dataclasses import dataclass
from typing import Any

from segemu.config import ConfigError
from segemu.message import EVENT_TYPES, Record
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

# Findings come in this order. The Linter gives the name rules' findings, then the rules that
# need an anonymousId, the rest, and the shape rules' findings last, so each group stays
# together here (tests/protocols/test_lint.py).
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


# (write key, type, name) whose name rules' findings the linter keeps, and (write key, type,
# name, keys) whose shape rules' findings it keeps; the oldest go first.
NAMES_KEPT = 20_000
SHAPES_KEPT = 20_000
# The calls whose traits make their shape; for the others, their properties.
_TRAITS_TYPES = frozenset({"identify", "group"})


@dataclass(frozen=True, slots=True)
class _Plan:
    """The enabled rules that apply to calls of one type, in the order of RULES: the name
    rules, the rules that need an anonymousId, the rest, then the shape rules (RULES lists
    them so)."""

    by_name: tuple[LintRule, ...]
    by_anonymous_id: tuple[LintRule, ...]
    by_call: tuple[LintRule, ...]
    by_shape: tuple[LintRule, ...]


# What the linter keeps of a shape: the name rules' findings, the shape rules' findings, and
# the shape rules that must also look at each call of the shape.
_Shape = tuple[tuple[LintFinding, ...], tuple[LintFinding, ...], tuple[LintRule, ...]]


class Linter:
    """The enabled rules, run in order over each accepted call.

    Lint runs on every call, so the linter skips the work that cannot find anything: a rule
    runs only on the call types it judges (`types`); the rules that need an anonymousId run
    only on calls that have one. Calls repeat a handful of names and shapes: rules that judge
    only the name (`by_name`) run once per write key, type and name, and rules that judge only
    the shape (`by_shape`: type, name and the keys of properties or traits) once per shape;
    each call gets copies of their findings from one lookup."""

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
        # One plan per call type; a type no rule names (never an accepted call's) gets every
        # rule, each of which then decides for itself.
        self._plans = {kind: self._plan(kind) for kind in EVENT_TYPES}
        self._every = self._plan(None)
        self._by_name: dict[tuple[Any, str, str], tuple[LintFinding, ...]] = {}
        self._shapes: dict[tuple[Any, ...], _Shape] = {}

    def _plan(self, kind: str | None) -> _Plan:
        rules = [r for r in self.rules if kind is None or r.types is None or kind in r.types]
        return _Plan(
            tuple(r for r in rules if r.by_name),
            tuple(r for r in rules if r.by_anonymous_id),
            tuple(r for r in rules if not (r.by_name or r.by_anonymous_id or r.by_shape)),
            tuple(r for r in rules if r.by_shape),
        )

    def run(self, record: Record) -> list[LintFinding]:
        found: list[LintFinding] = []
        event = record["event"]
        kind = record["type"] or ""
        plan = self._plans.get(kind, self._every)
        shape: _Shape | None = None
        if plan.by_name or plan.by_shape:
            name = event.get("event" if kind == "track" else "name")
            if not isinstance(name, str):
                name = None  # no rule judges a name that is not a string
            values = event.get("traits" if kind in _TRAITS_TYPES else "properties")
            key = (
                (record["writeKey"], kind, name, *values)
                if plan.by_shape and isinstance(values, dict)
                else (record["writeKey"], kind, name)
            )
            shape = self._shapes.get(key)
            if shape is None:
                shape = self._shape(key, record, event, plan, name)
            if shape[0]:
                found.extend(finding.copy() for finding in shape[0])  # each record owns its own
        if plan.by_anonymous_id:
            anonymous_id = event.get("anonymousId")
            if type(anonymous_id) is str and anonymous_id:
                for rule in plan.by_anonymous_id:
                    rule.check(record, event, found)
        for rule in plan.by_call:
            rule.check(record, event, found)
        if shape is not None:
            if shape[1]:
                found.extend(finding.copy() for finding in shape[1])
            for rule in shape[2]:
                rule.check_per_call(record, event, found)
        return found

    def _shape(
        self,
        key: tuple[Any, ...],
        record: Record,
        event: dict[str, Any],
        plan: _Plan,
        name: str | None,
    ) -> _Shape:
        """The findings of a shape not seen before (or forgotten), from its first call. The
        shape rules are stateless, so running them before the others changes nothing."""
        by_name: tuple[LintFinding, ...] = ()
        if plan.by_name and name is not None:
            # Name rules learn from each new name (event-name-casing): they run once per name,
            # not once per shape.
            name_key = (record["writeKey"], key[1], name)
            known = self._by_name.get(name_key)
            if known is None:
                found: list[LintFinding] = []
                for rule in plan.by_name:
                    rule.check(record, event, found)
                known = self._by_name[name_key] = tuple(found)
                if len(self._by_name) > NAMES_KEPT:
                    del self._by_name[next(iter(self._by_name))]
            by_name = known
        by_shape: list[LintFinding] = []
        for rule in plan.by_shape:
            rule.check_shape(record, event, by_shape)
        shape = (
            by_name,
            tuple(by_shape),
            tuple(rule for rule in plan.by_shape if rule.per_call(record, event)),
        )
        self._shapes[key] = shape
        if len(self._shapes) > SHAPES_KEPT:
            del self._shapes[next(iter(self._shapes))]
        return shape

    def reset(self, write_key: str | None = None) -> None:
        for rule in self.rules:
            rule.reset(write_key)
        if write_key is None:
            self._by_name.clear()
            self._shapes.clear()
        else:
            for key in [key for key in self._by_name if key[0] == write_key]:
                del self._by_name[key]
            for key in [key for key in self._shapes if key[0] == write_key]:
                del self._shapes[key]

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
