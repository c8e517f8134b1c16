"""The preset registry: lookup by the names the integrations object uses, and what every preset
promises the runtime (unique action names, valid subscriptions and mappings, and refusals that
are ActionErrors, never crashes, whatever the event holds)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from segemu.destinations.engine import compile_action
from segemu.destinations.mapping import check
from segemu.destinations.presets import ACTIONS, PRESETS, find_preset
from segemu.destinations.presets._support import ActionError
from tests.destinations.presets.spec import spec_events

ALL_SPEC_EVENTS = [*spec_events("ecommerce"), *spec_events("lifecycle"), *spec_events("video")]


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        # segment-docs src/_data/catalog/destinations.yml previous_names, as the doc pages list
        # them for the integrations object.
        ("Mixpanel (Actions)", "mixpanel"),
        ("Actions Amplitude", "amplitude"),
        ("Amplitude (Actions)", "amplitude"),
        ("Google Analytics 4 Cloud", "ga4"),
        ("Google Analytics 4", "ga4"),
        ("Actions Google Analytics 4", "ga4"),
        ("Webhooks (Actions)", "webhook"),
        ("mixpanel", "mixpanel"),
    ],
)
def test_a_preset_is_found_by_slug_and_by_its_integrations_object_names(
    name: str, slug: str
) -> None:
    preset = find_preset(name)
    assert preset is not None
    assert preset.slug == slug


def test_names_are_matched_exactly_as_segment_does() -> None:
    assert find_preset("actions amplitude") is None
    assert find_preset("Mixpanel") is None  # the classic destination, a different one


@pytest.mark.parametrize("slug", sorted(PRESETS))
def test_every_preset_names_its_actions_uniquely_with_valid_subscriptions_and_mappings(
    slug: str,
) -> None:
    preset = PRESETS[slug]
    names = [action.name for action in preset.actions]
    # Config refers to a preset's actions by name.
    assert len(names) == len(set(names)), names
    for action in (*preset.actions, *ACTIONS[slug].values()):
        assert check(dict(action.mapping)) == [], action.name
        compile_action(action)  # the subscription parses as FQL
    assert preset.sources


def _mangled(event: dict[str, Any]) -> list[dict[str, Any]]:
    """The event with values of the wrong JSON type where the mappings read."""
    variants = []
    for change in (
        {
            "properties": {
                "products": "not a list",
                "revenue": "12.5",
                "price": [1],
                "currency": 5,
                "total": {"a": 1},
                "query": None,
            }
        },
        {"traits": {"email": 7, "name": None, "firstName": ["A"], "createdAt": "yesterday"}},
        {"timestamp": "not a date", "context": {"userAgent": 42, "page": "x", "device": []}},
        {"properties": {"products": [None, "x", {"price": "nine", "quantity": "2"}]}},
    ):
        mangled = copy.deepcopy(event)
        for key, value in change.items():
            mangled[key] = (
                {**mangled[key], **value}
                if isinstance(mangled.get(key), dict) and isinstance(value, dict)
                else value
            )
        variants.append(mangled)
    return variants


# Presets whose destination refuses every spec event, as it would in a workspace.
REFUSES_EVERY_SPEC_EVENT = {"salesforce": "a lead needs last_name; the spec identifies lack it"}


@pytest.mark.parametrize("slug", sorted(PRESETS))
def test_no_event_makes_an_action_crash_only_refuse(slug: str) -> None:
    actions = [
        compile_action(action) for action in (*PRESETS[slug].actions, *ACTIONS[slug].values())
    ]
    settings = {**PRESETS[slug].settings, "url": "http://127.0.0.1:9/hook"}
    delivered, refusals = 0, []
    for event in ALL_SPEC_EVENTS:
        for variant in (event, *_mangled(event)):
            for action in actions:
                if not action.subscribed(variant):
                    continue
                try:
                    delivered += len(action.run(variant, settings))
                except ActionError as refused:
                    refusals.append(str(refused))
    assert delivered > 0 or (slug in REFUSES_EVERY_SPEC_EVENT and refusals)
    assert all(refusals)  # each with a message, as Event Delivery shows it
