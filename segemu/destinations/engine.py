"""Running a destination's actions on one event: subscription, field mappings, request."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from segemu.destinations.base import Action, Preset, Request
from segemu.destinations.fql import Predicate, compile_fql
from segemu.destinations.mapping import transform


@dataclass(frozen=True, slots=True)
class CompiledAction:
    action: Action
    subscribed: Predicate

    def run(self, event: dict[str, Any], settings: Mapping[str, Any]) -> list[Request]:
        return self.action.build(transform(self.action.mapping, event), settings)


@lru_cache(maxsize=256)
def _compiled(subscribe: str) -> Predicate:
    return compile_fql(subscribe)


def compile_action(action: Action) -> CompiledAction:
    return CompiledAction(action, _compiled(action.subscribe))


def run_preset(preset: Preset, event: dict[str, Any],
               settings: Mapping[str, Any] | None = None) -> list[Request]:
    """What the destination's API would receive for one event: the requests of every action
    whose subscription matches, in the preset's order (action-destinations runs each
    subscribed action)."""
    merged = {**preset.settings, **(settings or {})}
    requests: list[Request] = []
    for action in preset.actions:
        compiled = compile_action(action)
        if compiled.subscribed(event):
            requests.extend(compiled.run(event, merged))
    return requests
