"""The destination presets: one module per destination, each faithful to Segment's
Actions destination of the same name (segmentio/action-destinations).

PRESETS maps a preset's slug to it; `find_preset` also takes any name the integrations object
uses for the destination. ACTIONS holds, per slug, every action segemu models at its own default
subscription, including those Segment's quick setup leaves out (such as Mixpanel's Alias).
"""

from __future__ import annotations

from collections.abc import Mapping

from segemu.destinations.base import Action, Preset
from segemu.destinations.presets import (
    amplitude,
    braze,
    customerio,
    facebook_conversions,
    ga4,
    google_ads,
    hubspot,
    intercom,
    iterable,
    klaviyo,
    mixpanel,
    pinterest,
    salesforce,
    segment_profiles,
    sendgrid,
    slack,
    tiktok,
    webhook,
)

_MODULES = (
    mixpanel,
    amplitude,
    ga4,
    braze,
    customerio,
    intercom,
    # The wider catalog: one module each, citing the action-destinations files it follows.
    iterable,
    slack,
    segment_profiles,
    hubspot,
    salesforce,
    facebook_conversions,
    google_ads,
    klaviyo,
    tiktok,
    pinterest,
    sendgrid,
)

PRESETS: dict[str, Preset] = {module.PRESET.slug: module.PRESET for module in (*_MODULES, webhook)}
ACTIONS: dict[str, Mapping[str, Action]] = {
    **{module.PRESET.slug: module.ACTIONS for module in _MODULES},
    webhook.PRESET.slug: {"send": webhook.SEND},
}

_BY_NAME: dict[str, Preset] = {
    name: preset for preset in PRESETS.values() for name in (preset.slug, *preset.aliases)
}


def find_preset(name: str) -> Preset | None:
    """The preset with this slug, or whose destination the integrations object calls `name`
    (exact and case-sensitive, as Segment matches it)."""
    return _BY_NAME.get(name)
