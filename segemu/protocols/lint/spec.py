"""spec-property-names: a spec event (or reserved trait) spelled off Segment's semantic spec,
like `orderId` in Order Completed where the spec says `order_id`. Destinations map the spec's
names to their own fields (DOCS connections/spec/semantic.md), so a near miss silently loses
the value there."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from segemu.message import Record
from segemu.protocols.lint.base import LintRule
from segemu.protocols.lint.spec_names import (
    GROUP_TRAITS,
    IDENTIFY_TRAITS,
    SPEC_EVENTS,
    TRACK_RESERVED,
)
from segemu.protocols.violations import LintFinding

_NOT_ALNUM = re.compile(r"[^a-z0-9]")


@lru_cache(maxsize=8192)
def _normal(name: str) -> str:
    return _NOT_ALNUM.sub("", name.lower())


@lru_cache(maxsize=256)
def _spellings(names: frozenset[str]) -> dict[str, str]:
    return {_normal(name): name for name in names}


# Each spec event's property names with the ones reserved on every track call, built once:
# a frozenset made per call would cost more than the whole rule, and its hash with it.
_TRACK_NAMES: dict[str, frozenset[str]] = {
    name: spec.properties | TRACK_RESERVED for name, spec in SPEC_EVENTS.items()
}
# And where each is defined, for the messages: a string built per call costs as much as the rule.
_WHERE: dict[str, str] = {name: f"in {name!r} ({spec.page})" for name, spec in SPEC_EVENTS.items()}


# Spec events with nested objects (products, campaign): only their calls need a look past the
# top level of properties.
_NESTED: dict[str, Mapping[str, frozenset[str]]] = {
    name: spec.nested for name, spec in SPEC_EVENTS.items() if spec.nested
}


def _judged(record: Record, event: dict[str, Any]) -> tuple[str, str | None, dict[str, Any]] | None:
    """(type, spec event name or None, the properties or traits the rule reads), or None when
    the call has none to judge."""
    kind = record["type"]
    if kind == "track":
        values = event.get("properties")
        name = event.get("event")
        if not isinstance(name, str):
            name = None
        if type(values) is not dict:
            return None
    elif kind == "identify" or kind == "group":
        values = event.get("traits")
        name = None
        if not isinstance(values, dict):
            return None
    else:
        return None
    return kind, name, values


class SpecPropertyNames(LintRule):
    id = "spec-property-names"
    types = frozenset({"track", "identify", "group"})
    # The top level of properties (traits) is judged by its keys, which an app repeats call
    # after call. The nested objects of a spec event (products, campaign) are looked at on
    # each call of a shape that has them; most shapes have none.
    by_shape = True
    doc = "Spec events and reserved traits whose property names are off Segment's spec."
    source = "connections/spec/semantic.md"

    def check(self, record: Record, event: dict[str, Any], found: list[LintFinding]) -> None:
        self.check_shape(record, event, found)
        if self.per_call(record, event):
            self.check_per_call(record, event, found)

    def check_shape(self, record: Record, event: dict[str, Any], found: list[LintFinding]) -> None:
        judged = _judged(record, event)
        if judged is not None:
            kind, name, values = judged
            self._top_level(kind, name, values, found)

    def per_call(self, record: Record, event: dict[str, Any]) -> bool:
        nested = self._nested_of(record, event)
        return nested is not None and any(key in nested[0] for key in nested[1])

    def check_per_call(
        self, record: Record, event: dict[str, Any], found: list[LintFinding]
    ) -> None:
        nested = self._nested_of(record, event)
        if nested is not None:
            self._nested(*nested, found)

    @staticmethod
    def _nested_of(
        record: Record, event: dict[str, Any]
    ) -> tuple[dict[str, Any], Mapping[str, frozenset[str]], str] | None:
        """(properties, the spec event's nested objects and their keys, where the spec is)
        for a spec event with nested objects; None for any other call."""
        judged = _judged(record, event)
        name = judged[1] if judged is not None else None
        if judged is None or name is None or name not in _NESTED:
            return None
        return judged[2], _NESTED[name], _WHERE[name]

    def _top_level(
        self, kind: str, name: str | None, values: dict[str, Any], found: list[LintFinding]
    ) -> None:
        if kind != "track":
            reserved = IDENTIFY_TRAITS if kind == "identify" else GROUP_TRAITS
            self._names(values, reserved, "traits", f"reserved for {kind} calls", found)
        elif name is None or name not in SPEC_EVENTS:
            where = "reserved for every track call"
            self._names(values, TRACK_RESERVED, "properties", where, found)
        else:
            self._names(values, _TRACK_NAMES[name], "properties", _WHERE[name], found)

    def _nested(
        self,
        properties: dict[str, Any],
        nested: Mapping[str, frozenset[str]],
        where: str,
        found: list[LintFinding],
    ) -> None:
        for key, keys in nested.items():
            value = properties.get(key)
            if value is None:
                continue
            items = value if isinstance(value, list) else [value]
            for index, item in enumerate(items):
                if isinstance(item, dict):
                    path = f"properties.{key}" + (f".{index}" if isinstance(value, list) else "")
                    self._names(item, keys, path, where, found)

    def _names(
        self,
        values: Mapping[str, Any],
        spec: frozenset[str],
        path: str,
        where: str,
        found: list[LintFinding],
    ) -> None:
        for key, right in _misspelled(spec, tuple(values)):
            found.append(
                self.finding(
                    f"{path}.{key}: Segment's spec spells it {right!r} ({where}); destinations "
                    f"map {right!r}, so {key!r} may not arrive where you expect",
                    f"{path}.{key}",
                )
            )


# Calls of one event carry the same keys over and over: the verdict on a set of keys is kept.
_VERDICTS: dict[tuple[frozenset[str], tuple[str, ...]], list[tuple[str, str]]] = {}
VERDICTS_KEPT = 4096


def _misspelled(spec: frozenset[str], keys: tuple[str, ...]) -> list[tuple[str, str]]:
    """(key, the spec's spelling) of each key that is a spec name spelled another way."""
    verdict = _VERDICTS.get((spec, keys))
    if verdict is None:
        spellings = _spellings(spec)
        verdict = [
            (key, right)
            for key in keys
            if isinstance(key, str)
            and key not in spec
            and (right := spellings.get(_normal(key))) is not None
        ]
        if len(_VERDICTS) >= VERDICTS_KEPT:
            _VERDICTS.clear()
        _VERDICTS[(spec, keys)] = verdict
    return verdict
