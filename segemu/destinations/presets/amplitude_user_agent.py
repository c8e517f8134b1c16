"""The device and OS fields Actions Amplitude derives from a user agent.

amplitude/user-agent.ts runs @amplitude/ua-parser-js (a fork of ua-parser-js 0.7) and sends
os_name = the OS (or else the browser) name, os_version = the *browser's* major version,
device_model = the device model (or else the OS name), plus the device vendor and type. The
amplitude tests pin the result for desktop Chrome on a Mac: os_name and device_model "Mac OS",
os_version "53" (packages/destination-actions/src/destinations/amplitude/__tests__).

The rules below are ua-parser-js 0.7's (src/ua-parser.js regexes) for the browsers, systems and
devices that send almost all traffic: Chrome, Safari, Firefox, Edge, Opera, Samsung Internet;
Windows, macOS, iOS, Android, Chrome OS, Linux; iPhone, iPad, Samsung, Pixel and generic
phones. A rarer user agent gets what these rules make of it, which may differ from Amplitude's.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

_I = re.IGNORECASE

# (pattern, name or None to use the first group); the version is the named group `v`.
_BROWSERS: tuple[tuple[re.Pattern[str], str | None], ...] = tuple(
    (re.compile(pattern, _I), name)
    for pattern, name in (
        (r"\sopr/(?P<v>[\w.]+)", "Opera"),
        (r"(?:edge|edgios|edga|edg)/(?P<v>[\w.]+)", "Edge"),
        (r"headlesschrome(?:/(?P<v>[\w.]+)|\s)", "Chrome Headless"),
        (r"\swv\).+chrome/(?P<v>[\w.]+)", "Chrome WebView"),
        (r"samsungbrowser/(?P<v>[\w.]+)", "Samsung Browser"),
        (r"android.+version/(?P<v>[\w.]+)\s+(?:mobile\s?safari|safari)*", "Android Browser"),
        (r"chrome/v?(?P<v>[\w.]+)", "Chrome"),
        (r"(?:android.+crmo|crios)/(?P<v>[\w.]+)", "Chrome"),
        (r"fxios/(?P<v>[\w.-]+)", "Firefox"),
        (r"version/(?P<v>[\w.]+).+?mobile/\w+\s(?:safari)", "Mobile Safari"),
        (r"version/(?P<v>[\w.]+).+?(mobile\s?safari|safari)", None),
        (r"firefox/(?P<v>[\w.-]+)$", "Firefox"),
        (r"trident.+rv[:\s](?P<v>[\w.]+).+like\sgecko", "IE"),
        (r"(?:ms|\()ie\s(?P<v>[\w.]+)", "IE"),
    )
)

_SYSTEMS: tuple[tuple[re.Pattern[str], str | None], ...] = tuple(
    (re.compile(pattern, _I), name)
    for pattern, name in (
        (r"windows\sphone", "Windows Phone"),
        (r"windows", "Windows"),
        (r"(android)[/\s-]?", None),
        (r"(ubuntu|debian|fedora|centos|gentoo|mint)", None),
        (r"(linux)", None),
        (r"cros\s\w+\s[\w.]+", "Chromium OS"),
        (r"cfnetwork/.+darwin|ip[honead]{2,4}(?:.*os\s\w+\slike\smac|;\sopera)", "iOS"),
        (r"mac\sos\sx|macintosh", "Mac OS"),
    )
)

# (pattern, vendor, model or None for the first group, type)
_DEVICES: tuple[tuple[re.Pattern[str], str | None, str | None, str | None], ...] = tuple(
    (re.compile(pattern, _I), vendor, model, kind)
    for pattern, vendor, model, kind in (
        (r"\(ipad;", "Apple", "iPad", "tablet"),
        (r"\((ip(?:hone|od))[\s;]", "Apple", None, "mobile"),
        (r"(sm-t\w+)", "Samsung", None, "tablet"),
        (r"(sm-\w[\w\d]+|gt-\w+)", "Samsung", None, "mobile"),
        (r"android.+;\s(pixel\s?\w*)\s", "Google", None, "mobile"),
        (r"\s(tablet|tab)[;/]", None, None, "tablet"),
        (r"\s(mobile)(?:[;/]|\ssafari)", None, None, "mobile"),
        (r"(android[\w.\s-]{0,9});.+build", "Generic", None, None),
    )
)


def _browser(user_agent: str) -> tuple[str | None, str | None]:
    for pattern, name in _BROWSERS:
        match = pattern.search(user_agent)
        if match:
            version = match.group("v")
            major = re.sub(r"[^\d.]", "", version).split(".")[0] if version else None
            return name or match.group(1), major
    return None, None


def _system(user_agent: str) -> str | None:
    for pattern, name in _SYSTEMS:
        match = pattern.search(user_agent)
        if match:
            return name if name is not None else match.group(1)
    return None


def _device(user_agent: str) -> tuple[str | None, str | None, str | None]:
    for pattern, vendor, model, kind in _DEVICES:
        match = pattern.search(user_agent)
        if match:
            found = model or (match.group(1) if vendor or kind is None else None)
            return vendor, found, kind
    return None, None, None


def _first(*values: str | None) -> str | None:
    # The `??` chain of user-agent.ts: "" is a value, only undefined falls through.
    return next((value for value in values if value is not None), None)


def parse_user_agent(user_agent: Any, user_agent_data: Any = None) -> dict[str, Any]:
    """user-agent.ts parseUserAgentProperties; {} without a user agent. None stands for a
    value ua-parser-js leaves undefined (the caller leaves it out of the event)."""
    if not isinstance(user_agent, str) or not user_agent:
        return {}
    hints = user_agent_data if isinstance(user_agent_data, dict) else {}
    model, version = hints.get("model"), hints.get("platformVersion")
    return dict(
        _parsed(
            user_agent,
            model if isinstance(model, str) else None,
            version if isinstance(version, str) else None,
        )
    )


@lru_cache(maxsize=512)
def _parsed(
    user_agent: str, hinted_model: str | None, hinted_version: str | None
) -> tuple[tuple[str, str | None], ...]:
    # A site's calls share a handful of user agents: each is parsed once.
    browser_name, browser_major = _browser(user_agent)
    system = _system(user_agent)
    vendor, model, kind = _device(user_agent)
    return (
        ("os_name", system if system is not None else browser_name),
        ("os_version", _first(hinted_version, browser_major)),
        ("device_manufacturer", vendor),
        ("device_model", _first(hinted_model, model, system)),
        ("device_type", kind),
    )
