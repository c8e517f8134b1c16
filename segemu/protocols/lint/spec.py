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


class SpecPropertyNames(LintRule):
    id = "spec-property-names"
    doc = "Spec events and reserved traits whose property names are off Segment's spec."
    source = "connections/spec/semantic.md"

    def check(self, record: Record, event: dict[str, Any], found: list[LintFinding]) -> None:
        kind = record["type"]
        if kind == "track":
            properties = event.get("properties")
            if type(properties) is not dict:
                return
            name = event.get("event")
            if not isinstance(name, str) or (spec := SPEC_EVENTS.get(name)) is None:
                self._names(
                    properties, TRACK_RESERVED, "properties", "reserved for every track call", found
                )
                return
            where = _WHERE[name]
            self._names(properties, _TRACK_NAMES[name], "properties", where, found)
            for nested, keys in spec.nested.items():
                value = properties.get(nested)
                if value is None:
                    continue
                items = value if isinstance(value, list) else [value]
                for index, item in enumerate(items):
                    if isinstance(item, dict):
                        path = f"properties.{nested}" + (
                            f".{index}" if isinstance(value, list) else ""
                        )
                        self._names(item, keys, path, where, found)
        elif kind in ("identify", "group"):
            traits = event.get("traits")
            if isinstance(traits, dict):
                reserved = IDENTIFY_TRAITS if kind == "identify" else GROUP_TRAITS
                self._names(traits, reserved, "traits", f"reserved for {kind} calls", found)

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
