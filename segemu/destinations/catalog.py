"""Every preset segemu knows, by slug, and the destinations enabled when config names none."""

from __future__ import annotations

from segemu.destinations.base import Preset

# With no [destinations] table: the tools most Segment workspaces connect first, recording only
# (nothing leaves the machine). Documented in the README.
DEFAULT_DESTINATIONS: tuple[str, ...] = ("mixpanel", "amplitude", "ga4", "warehouse")


def presets() -> dict[str, Preset]:
    from segemu.destinations.presets import PRESETS
    from segemu.destinations.warehouse import WAREHOUSE

    return {**PRESETS, WAREHOUSE.slug: WAREHOUSE}
