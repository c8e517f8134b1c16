"""The CDN settings analytics.js loads from `<cdn>/v1/projects/<writeKey>/settings`.

Shape: analytics-next's `CDNSettings` (packages/browser/src/browser/settings.ts), filled the way
Segment's own test builder fills it (packages/test-helpers/src/analytics/
cdn-settings-builder.ts); reference/segment-wire-contract.md §5.2 explains each choice:
- `integrations["Segment.io"]` with `apiKey` (the write key every event carries) and the
  `apiHost`/`protocol` of the segemu the page reached, so events come here;
- only `Segment.io` in `integrations`: more keys would load classic device-mode destinations
  from Segment's CDN;
- `metrics.sampleRate: 0`: analytics.js otherwise posts telemetry to api.segment.io (the
  metrics protocol comes only from load options, so pointing `metrics.host` here is not
  enough). `metrics.host` is segemu anyway, for a source that turns telemetry on.

A source's `[sources.<name>.settings]` table is merged over these (nested tables merge), so a
source can set anything analytics.js reads from its settings, e.g.
`integrations."Segment.io".deliveryStrategy` or `metrics`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from segemu.message import deep_merge

# The versionSettings Segment's test builder uses; analytics-next only passes them through.
_VERSION_SETTINGS = {"version": "4.4.7", "componentTypes": ["browser"]}


def cdn_settings(
    write_key: str, api_host: str, protocol: str, overrides: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Settings that send a page's events (and any telemetry) to `protocol://api_host`.

    `api_host` has no scheme and ends with the API's path, e.g. `127.0.0.1:7878/v1`: the
    standard dispatcher builds `${protocol}://${apiHost}/t` by concatenation.
    """
    settings: dict[str, Any] = {
        "integrations": {
            "Segment.io": {
                "apiKey": write_key,
                "apiHost": api_host,
                "protocol": protocol,
                "unbundledIntegrations": [],
                "addBundledMetadata": True,
                "maybeBundledConfigIds": {},
                "versionSettings": dict(_VERSION_SETTINGS),
            }
        },
        "plan": {
            "track": {"__default": {"enabled": True, "integrations": {}}},
            "identify": {"__default": {"enabled": True}},
            "group": {"__default": {"enabled": True}},
        },
        "middlewareSettings": {},
        "enabledMiddleware": {},
        "metrics": {"sampleRate": 0, "host": api_host},
        "legacyVideoPluginsEnabled": False,
        "remotePlugins": [],
        "edgeFunction": {},
    }
    return deep_merge(settings, overrides or {})
