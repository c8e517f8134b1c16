"""segemu for test suites: the pytest plugin (plugin.py), the clients it hands to tests, and
the matchers for expected values.

    from segemu.testing import ANY, ANY_STRING, ABSENT, approx, regex

Importing this package never imports aiohttp, Textual or the server.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from segemu.testing.matchers import ABSENT, ANY, ANY_STRING, Matcher, approx, regex

if TYPE_CHECKING:
    from segemu.testing.aclient import AsyncSegemuClient
    from segemu.testing.api import SegemuAssertionError, WaitTimeout
    from segemu.testing.calls import ControlApiError
    from segemu.testing.client import SegemuClient
    from segemu.testing.local import LocalSegemu

__all__ = [
    "ABSENT",
    "ANY",
    "ANY_STRING",
    "AsyncSegemuClient",
    "ControlApiError",
    "LocalSegemu",
    "Matcher",
    "SegemuAssertionError",
    "SegemuClient",
    "WaitTimeout",
    "approx",
    "regex",
]

_LAZY = {
    "AsyncSegemuClient": "aclient",
    "SegemuClient": "client",
    "LocalSegemu": "local",
    "ControlApiError": "calls",
    "SegemuAssertionError": "api",
    "WaitTimeout": "api",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"segemu.testing.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'segemu.testing' has no attribute {name!r}")
