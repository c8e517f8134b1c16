"""One typed configuration, resolved from flags > environment (SEGEMU_*) > config file > defaults.

The config file is, in order of preference: the file given with `--config` (or SEGEMU_CONFIG),
`segemu.toml` in the working directory, or the `[tool.segemu]` table of its pyproject.toml.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7878
# Where the client commands (`segemu events`, `segemu plan check`...) find a running segemu.
DEFAULT_URL = f"http://{DEFAULT_HOST}:{DEFAULT_PORT}"
# The durable store lives beside the project being developed, like .pytest_cache.
DEFAULT_DB = ".segemu/db"
MEMORY_DB = ":memory:"
DEFAULT_RETENTION = 100_000
DEFAULT_FLUSH_INTERVAL = 0.2
# What clients may hold open at once (http/stream.py, http/waits.py): each open stream and
# each long-poll costs every ingested call a check, so more than this only slows ingest down.
DEFAULT_MAX_STREAMS = 32
DEFAULT_MAX_WAITS = 64
ENV_PREFIX = "SEGEMU_"


class ConfigError(Exception):
    """A configuration mistake, worded for the person who made it (no traceback)."""


@dataclass(frozen=True, slots=True)
class Config:
    host: str = DEFAULT_HOST
    # 0 picks a free port; the bound URL is printed at start-up.
    port: int = DEFAULT_PORT
    # A directory that segemu manages (one JSON file per chunk of events), or ":memory:".
    db: str = DEFAULT_DB
    # How many received calls are kept; older ones are dropped oldest-first.
    retention: int = DEFAULT_RETENTION
    # Seconds between two writes of the store; a hard kill loses at most this window.
    flush_interval: float = DEFAULT_FLUSH_INTERVAL
    # Print one line per received call (headless mode).
    quiet: bool = False
    # The analytics.js segemu serves to snippet pages: the standalone.js of
    # @segment/analytics-next (that file, its dist/umd directory or its package directory),
    # "builtin" for segemu's own small library; None looks in the project's node_modules.
    analytics_js: str | None = None
    # Web origins (scheme://host[:port]) whose pages may call the control API (/_segemu/*)
    # from a browser. None by default: any page the developer visits could otherwise read
    # every stored event or wipe the store. The Tracking API answers every origin regardless.
    allowed_origins: tuple[str, ...] = ()
    # Host names the control API answers to, besides localhost, IP addresses and `host`
    # (e.g. "host.docker.internal", a LAN name); "*" turns the check off. Against DNS
    # rebinding: a page on a name its owner points at 127.0.0.1 is refused.
    allowed_hosts: tuple[str, ...] = ()
    # Open /_segemu/stream connections and pending long-polls (/_segemu/wait, /_segemu/assert
    # with a timeout) at once; over them, a 503.
    max_streams: int = DEFAULT_MAX_STREAMS
    max_waits: int = DEFAULT_MAX_WAITS
    # The Node.js that runs Functions (segemu/functions); None: `node` on the PATH.
    node: str | None = None
    # Structured tables of the config file (sources, destinations, protocols, lint, codegen,
    # engage).
    # Each is checked by the module that owns it (segemu/sources.py, segemu/destinations/,
    # segemu/protocols/) when the emulator is built, so its errors can name the entry at fault.
    sections: Mapping[str, Any] = field(default_factory=dict)
    # The config file the settings came from, if any: named in error messages, and the base of
    # relative paths in it (tracking plans, the analytics.js bundle).
    config_file: str | None = None
    # Where each setting came from ("default", "flag", "env", or a file name): error messages
    # and `segemu run` use it to say which value won.
    origins: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    @property
    def in_memory(self) -> bool:
        return self.db == MEMORY_DB


# Tables, not settings: a file's [sources.*] or a marker's destinations={...}.
SECTIONS: tuple[str, ...] = (
    "sources",
    "destinations",
    "protocols",
    "lint",
    "codegen",
    "spaces",  # identity resolution and profiles: segemu/identity/settings.py
    # Relaying accepted calls to a real endpoint (segemu/traffic/forward.py); off without it.
    "forward",
    "engage",  # computed traits and audiences, checked by segemu/engage/config.py
    "functions",
    "faults",
)
# Tables whose entries from flags add to the file's instead of replacing them: `segemu run
# --fault` adds rules to the [faults.*] of segemu.toml (checked in segemu/faults).
_ADDITIVE_SECTIONS = frozenset({"faults"})
SETTINGS: tuple[str, ...] = tuple(
    f.name for f in fields(Config) if f.name not in ("origins", "sections", "config_file")
)
_TYPES: dict[str, type] = {
    "host": str,
    "port": int,
    "db": str,
    "retention": int,
    "flush_interval": float,
    "quiet": bool,
    "analytics_js": str,
    "allowed_origins": tuple,
    "allowed_hosts": tuple,
    "max_streams": int,
    "max_waits": int,
    "node": str,
}
# Settings that name a file: a relative path in a config file is relative to that file's
# directory (from a flag or the environment, to the working directory).
_PATHS: tuple[str, ...] = ("analytics_js",)
# Values of path settings that are words, not paths.
_PATH_WORDS: frozenset[str] = frozenset({"builtin"})


def _coerce(name: str, value: Any, origin: str) -> Any:
    """Turn a raw value (TOML value or environment string) into the setting's type."""
    kind = _TYPES[name]
    problem = None
    if kind is tuple:
        return _names(name, value, origin)
    if kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in (
            "1",
            "true",
            "yes",
            "on",
            "0",
            "false",
            "no",
            "off",
            "",
        ):
            return value.lower() in ("1", "true", "yes", "on")
        problem = "must be true or false"
    elif kind is int:
        result: int | None
        if isinstance(value, int) and not isinstance(value, bool):
            result = value
        else:
            try:
                result = int(str(value).strip()) if isinstance(value, str) else None
            except ValueError:
                result = None
        if result is None:
            problem = "must be an integer"
        else:
            return _check_range(name, result, origin)
    elif kind is float:
        try:
            number = float(value) if isinstance(value, int | float | str) else None
        except ValueError:
            number = None
        if number is None or isinstance(value, bool):
            problem = "must be a number"
        else:
            return _check_range(name, number, origin)
    else:
        if isinstance(value, str) and value:
            return value
        problem = "must be a non-empty string"
    raise ConfigError(f"{origin}: setting '{name}' {problem}, got {value!r}")


def _names(name: str, value: Any, origin: str) -> tuple[str, ...]:
    """A list setting: a TOML array or a flag's tuple of strings, or a comma-separated string
    (the environment, a single flag)."""
    if isinstance(value, str):
        items: list[Any] = value.split(",")
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        raise ConfigError(f"{origin}: setting '{name}' must be a list of strings, got {value!r}")
    found: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise ConfigError(f"{origin}: setting '{name}' must be a list of strings, got {item!r}")
        item = item.strip()
        if not item:
            continue
        checked = _origin(item, origin) if name == "allowed_origins" else _host_name(item, origin)
        if checked not in found:
            found.append(checked)
    return tuple(found)


def _origin(value: str, origin: str) -> str:
    """An origin as browsers send it in the Origin header: scheme://host[:port], lower case,
    no path (RFC 6454 §6.2)."""
    scheme, separator, rest = value.lower().partition("://")
    if not separator or scheme not in ("http", "https") or not rest or "/" in rest.rstrip("/"):
        raise ConfigError(
            f"{origin}: setting 'allowed_origins' takes origins like http://localhost:3000 "
            f"(scheme, host and port, no path), got {value!r}"
        )
    return f"{scheme}://{rest.rstrip('/')}"


def _host_name(value: str, origin: str) -> str:
    name = value.lower().rstrip(".")
    if name != "*" and (not name or any(c in name for c in "/:@ ")):
        raise ConfigError(
            f"{origin}: setting 'allowed_hosts' takes host names without port or scheme "
            f"(e.g. host.docker.internal), or '*' for any, got {value!r}"
        )
    return name


def _check_range(name: str, value: float, origin: str) -> float:
    if name == "port" and not 0 <= value <= 65535:
        raise ConfigError(f"{origin}: setting 'port' must be between 0 and 65535, got {value}")
    if name == "retention" and value < 1:
        raise ConfigError(f"{origin}: setting 'retention' must be at least 1, got {value}")
    if name in ("max_streams", "max_waits") and value < 1:
        raise ConfigError(f"{origin}: setting '{name}' must be at least 1, got {value}")
    if name == "flush_interval" and not 0 < value <= 60:
        raise ConfigError(
            f"{origin}: setting 'flush_interval' must be above 0 and at most 60 seconds, "
            f"got {value}"
        )
    return value


def _unknown(name: str, origin: str) -> ConfigError:
    close = difflib.get_close_matches(name, SETTINGS + SECTIONS, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return ConfigError(
        f"{origin}: unknown setting '{name}'{hint}; known settings: {', '.join(SETTINGS)}; "
        f"known tables: {', '.join(SECTIONS)}"
    )


def _section(name: str, value: Any, origin: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{origin}: '{name}' must be a table ([{name}.<name>]), got {value!r}")
    return value


def read_config_file(path: Path, *, table: tuple[str, ...] = ()) -> dict[str, Any]:
    """The settings table of a TOML file; `table` selects e.g. ("tool", "segemu")."""
    try:
        data: Any = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    for key in table:
        data = data.get(key, {}) if isinstance(data, dict) else {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: [{'.'.join(table)}] must be a table")
    return data


def find_config_file(cwd: Path) -> tuple[Path, tuple[str, ...]] | None:
    """segemu.toml, else pyproject.toml if it has a [tool.segemu] table."""
    own = cwd / "segemu.toml"
    if own.is_file():
        return own, ()
    pyproject = cwd / "pyproject.toml"
    if pyproject.is_file():
        try:
            text = pyproject.read_text(encoding="utf-8")
        except OSError:
            return None
        if "[tool.segemu" in text:
            return pyproject, ("tool", "segemu")
    return None


def load_config(
    flags: Mapping[str, Any] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    config_file: str | Path | None = None,
    discover: bool = True,
) -> Config:
    """Resolve the configuration. `flags` holds only the options the user actually gave.

    With `discover=False` no config file is looked for in `cwd` (in-process emulators).
    """
    env = os.environ if env is None else env
    cwd = Path.cwd() if cwd is None else cwd
    values: dict[str, Any] = {}
    sections: dict[str, Any] = {}
    origins: dict[str, str] = dict.fromkeys(SETTINGS, "default")

    config_file = config_file or env.get(f"{ENV_PREFIX}CONFIG") or None
    located: tuple[Path, tuple[str, ...]] | None = None
    if config_file:
        located = (Path(config_file), ())
    elif discover:
        located = find_config_file(cwd)
    if located is not None:
        path, table = located
        origin = f"{path}" + (f" [{'.'.join(table)}]" if table else "")
        values["config_file"] = str(path)
        for name, raw in read_config_file(path, table=table).items():
            if name in SECTIONS:
                sections[name] = _section(name, raw, origin)
                origins[name] = str(path.name)
                continue
            if name not in SETTINGS:
                raise _unknown(name, origin)
            values[name] = _coerce(name, raw, origin)
            if name in _PATHS and values[name] not in _PATH_WORDS:
                # An absolute path stays as it is; "~" is the user's home, as in a shell.
                values[name] = str(path.parent / Path(values[name]).expanduser())
            origins[name] = str(path.name)

    for name in SETTINGS:
        raw_env = env.get(f"{ENV_PREFIX}{name.upper()}")
        if raw_env is not None:
            values[name] = _coerce(name, raw_env, f"environment {ENV_PREFIX}{name.upper()}")
            origins[name] = "env"

    for name, raw in (flags or {}).items():
        if raw is None:
            continue
        if name in SECTIONS:  # in-process emulators and the pytest marker pass tables too
            entries = _section(name, raw, "settings")
            if name in _ADDITIVE_SECTIONS:
                entries = {**sections.get(name, {}), **entries}
            sections[name] = entries
            origins[name] = "flag"
            continue
        if name not in SETTINGS:
            raise _unknown(name, "command line")
        values[name] = _coerce(name, raw, f"option --{name.replace('_', '-')}")
        origins[name] = "flag"

    return dataclasses.replace(Config(), **values, sections=sections, origins=origins)
