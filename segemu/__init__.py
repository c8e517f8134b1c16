"""segemu: a local emulator of Segment.

This module stays import-light on purpose (`segemu --version` and the pytest plugin import it):
the in-process API is loaded on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from segemu.config import Config
    from segemu.emulator import Emulator, create_emulator

__all__ = ["Config", "Emulator", "__version__", "create_emulator"]


def __getattr__(name: str) -> Any:
    if name in ("Emulator", "create_emulator"):
        from segemu import emulator

        return getattr(emulator, name)
    if name == "Config":
        from segemu.config import Config

        return Config
    raise AttributeError(f"module 'segemu' has no attribute {name!r}")
