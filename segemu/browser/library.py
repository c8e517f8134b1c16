"""Which analytics.js segemu serves at /analytics.js/v1/<writeKey>/analytics.min.js.

Segment's CDN serves a per-key build of @segment/analytics-next; the npm package ships the same
code as `dist/umd/standalone.js`, with the placeholder `__WRITE_KEY__` where the CDN embeds the
key, and its lazy chunks beside it (reference/segment-wire-contract.md §5.4;
sdk-captures/README.md "The standalone bundle"). segemu serves that file when it can find it:
the `analytics_js` setting, else the project's node_modules (looked up from the working
directory through its parents, as Node resolves packages). Without it, segemu serves its own
small library (builtin.js), which implements what the snippet needs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from segemu import __version__
from segemu.config import Config, ConfigError

BUILTIN = "builtin"
# Where the standalone bundle sits inside the npm package.
STANDALONE = Path("dist", "umd", "standalone.js")
PACKAGE = Path("node_modules", "@segment", "analytics-next")
# The placeholder the CDN replaces with the write key (standalone-analytics.ts, via
# lib/embedded-write-key.ts); segemu's own library uses its own placeholder.
WRITE_KEY_PLACEHOLDER = "__WRITE_KEY__"
BUILTIN_SCRIPT = Path(__file__).with_name("builtin.js")
VERSION_PLACEHOLDER = "__SEGEMU_VERSION__"

Kind = Literal["analytics-next", "builtin"]


@dataclass(frozen=True, slots=True)
class Library:
    kind: Kind
    # The script served as analytics.min.js.
    script: Path
    version: str
    # Where it was found, said the way a person would look for it.
    found_in: str

    @property
    def bundles(self) -> Path | None:
        """The directory of the lazy chunks served under /analytics-next/bundles/."""
        return self.script.parent if self.kind == "analytics-next" else None

    def describe(self) -> str:
        if self.kind == "builtin":
            return f"segemu's built-in analytics.js ({self.found_in})"
        return f"@segment/analytics-next {self.version} from {self.found_in}"


def builtin_library(why: str) -> Library:
    return Library("builtin", BUILTIN_SCRIPT, __version__, why)


def resolve_library(config: Config, cwd: Path | None = None) -> Library:
    """The library to serve; a configured path that holds no bundle is a ConfigError."""
    setting = config.analytics_js
    if setting == BUILTIN:
        return builtin_library(f"analytics_js = {BUILTIN!r}")
    if setting is not None:
        return _configured(Path(setting).expanduser(), _origin(config))
    found = find_in_node_modules(cwd or Path.cwd())
    if found is None:
        return builtin_library("no @segment/analytics-next in node_modules")
    return _official(found, str(found))


def find_in_node_modules(start: Path) -> Path | None:
    """The standalone bundle of the nearest node_modules/@segment/analytics-next."""
    for directory in (start, *start.parents):
        candidate = directory / PACKAGE / STANDALONE
        if candidate.is_file():
            return candidate
    return None


def _configured(path: Path, origin: str) -> Library:
    where = f"{origin}: setting 'analytics_js'"
    if not path.exists():
        raise ConfigError(
            f"{where}: {path} does not exist; give the standalone.js of "
            f"@segment/analytics-next (npm install @segment/analytics-next), "
            f"its package directory, or {BUILTIN!r}"
        )
    if path.is_file():
        return _official(path, str(path))
    # A package directory, its dist/umd directory, or a project with the package installed.
    for candidate in (path / STANDALONE, path / STANDALONE.name, path / PACKAGE / STANDALONE):
        if candidate.is_file():
            return _official(candidate, str(candidate))
    raise ConfigError(
        f"{where}: {path} holds no standalone.js of @segment/analytics-next "
        f"(looked for {STANDALONE}, {STANDALONE.name} and "
        f"{PACKAGE / STANDALONE} in it)"
    )


def _official(script: Path, found_in: str) -> Library:
    return Library("analytics-next", script, _package_version(script), found_in)


def _package_version(script: Path) -> str:
    """The version in the package.json above dist/umd/standalone.js, if there is one."""
    for directory in script.parents[:3]:
        manifest = directory / "package.json"
        if manifest.is_file():
            try:
                data = json.loads(manifest.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                break
            version = data.get("version") if isinstance(data, dict) else None
            return version if isinstance(version, str) else "(unknown version)"
    return "(unknown version)"


def _origin(config: Config) -> str:
    origin = config.origins.get("analytics_js", "default")
    if origin == "flag":
        return "option --analytics-js"
    if origin == "env":
        return "environment SEGEMU_ANALYTICS_JS"
    return config.config_file or origin


class ScriptCache:
    """The served script's text, read again only when the file changes (an `npm install`
    while segemu runs is picked up without a restart)."""

    def __init__(self, library: Library) -> None:
        self.library = library
        self._stamp: tuple[int, int] | None = None
        self._text = ""

    def text(self) -> str:
        stat = self.library.script.stat()
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp != self._stamp:
            text = self.library.script.read_text(encoding="utf-8")
            if self.library.kind == "builtin":
                text = text.replace(VERSION_PLACEHOLDER, __version__)
            self._text = text
            self._stamp = stamp
        return self._text

    def for_write_key(self, write_key: str) -> str:
        """The script with the write key embedded, as Segment's CDN serves it per key.

        The placeholder sits inside a JS string literal (`window.analyticsWriteKey="..."`), so
        the key is escaped as one: a key with a quote must not end the string.
        """
        escaped = json.dumps(write_key)[1:-1].replace("<", "\\u003c")
        return self.text().replace(WRITE_KEY_PLACEHOLDER, escaped)
