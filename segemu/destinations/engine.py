"""Running a destination's actions on one event: subscription, field mappings, request."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from segemu.destinations.base import Action, Preset, Request
from segemu.destinations.fql import Predicate, compile_fql_reading
from segemu.destinations.mapping import compile_transform


@dataclass(frozen=True, slots=True)
class CompiledAction:
    action: Action
    subscribed: Predicate
    # The action's field mappings, compiled: the mapped fields of an event.
    mapped: Callable[[Any], dict[str, Any]]
    # The fields of the event the subscription reads.
    reads: frozenset[str] = frozenset()

    def run(self, event: dict[str, Any], settings: Mapping[str, Any]) -> list[Request]:
        return self.action.build(self.mapped(event), settings)


@lru_cache(maxsize=256)
def _compiled(subscribe: str) -> tuple[Predicate, frozenset[str]]:
    return compile_fql_reading(subscribe)


def compile_action(action: Action) -> CompiledAction:
    subscribed, reads = _compiled(action.subscribe)
    return CompiledAction(action, subscribed, compile_transform(action.mapping), reads)


# Actions compiled for run_preset, by identity (an Action holds a dict, so it has no hash); the
# action itself is kept beside its compiled form so that its id is never reused meanwhile.
_RUN_PRESET_ACTIONS: dict[int, tuple[Action, CompiledAction]] = {}


def _compiled_action(action: Action) -> CompiledAction:
    known = _RUN_PRESET_ACTIONS.get(id(action))
    if known is None:
        if len(_RUN_PRESET_ACTIONS) >= 1024:
            _RUN_PRESET_ACTIONS.clear()
        known = _RUN_PRESET_ACTIONS[id(action)] = (action, compile_action(action))
    return known[1]


def run_preset(
    preset: Preset, event: dict[str, Any], settings: Mapping[str, Any] | None = None
) -> list[Request]:
    """What the destination's API would receive for one event: the requests of every action
    whose subscription matches, in the preset's order (action-destinations runs each
    subscribed action)."""
    merged = {**preset.settings, **(settings or {})}
    requests: list[Request] = []
    for action in preset.actions:
        compiled = _compiled_action(action)
        if compiled.subscribed(event):
            requests.extend(compiled.run(event, merged))
    return requests
