"""One module per destination preset; PRESETS maps each slug to its Preset."""

from __future__ import annotations

from segemu.destinations.base import Preset

PRESETS: dict[str, Preset] = {}
