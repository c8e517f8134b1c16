"""The consent part of a source's CDN settings, from the destinations' consent categories.

Segment puts it in the settings analytics.js loads once consent is configured, and its consent
wrappers read it (analytics-next packages/consent/consent-tools src/types/wrapper.ts,
`CDNSettingsConsent` and `CDNSettingsIntegrations`; DOCS privacy/consent-management/
consent-in-segment-connections.md):
- `consentSettings.allCategories`: every category a destination of the source is mapped to;
- `consentSettings.hasUnmappedDestinations`: whether some destination is mapped to none (the
  wrapper then never disables analytics.js whatever the user consents to);
- `integrations.<name>.consentSettings.categories`: each destination's categories, by the
  name the integrations object uses for it. These entries are marked as cloud-mode
  (`versionSettings.componentTypes: ["server"]`), so analytics.js loads no script for them
  (analytics-next browser/index.ts: device mode needs `componentTypes` to hold "browser").
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from segemu.destinations.config import Destination
from segemu.sources import Source


def consent_settings(destinations: Iterable[Destination], source: Source | None) -> dict[str, Any]:
    """The settings to merge into the CDN settings; empty when no destination has categories."""
    connected = [
        destination
        for destination in destinations
        if destination.enabled
        and not destination.preset.ignores_all  # warehouses are not consent-mapped
        and (source is None or source.destinations is None or destination.id in source.destinations)
    ]
    if not any(destination.consent_categories for destination in connected):
        return {}
    integrations = {
        destination.name: {
            "type": "server",
            "bundlingStatus": "unbundled",
            "versionSettings": {"componentTypes": ["server"]},
            "consentSettings": {"categories": list(destination.consent_categories)},
        }
        for destination in connected
        if destination.consent_categories
    }
    categories = dict.fromkeys(c for d in connected for c in d.consent_categories)
    return {
        "integrations": integrations,
        "consentSettings": {
            "allCategories": list(categories),
            "hasUnmappedDestinations": any(not d.consent_categories for d in connected),
        },
    }
