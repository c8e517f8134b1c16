"""The config of Functions: which files run, with what settings, and where their fetches go.

    node = "/usr/local/bin/node"            # optional; else `node` on the PATH (18 or later)

    [sources.stripe]
    function = "functions/stripe.js"        # a Source Function: POST /functions/stripe
    settings = { signingSecret = "whsec" }  # the function's settings (its second argument)

    [destinations.crm]
    function = "functions/crm.js"           # a Destination Function
    settings = { apiKey = "k" }
    batching = true                         # onBatch, when the function defines it

    [destinations.mixpanel]
    insert_function = "functions/mask.js"   # an Insert Function before Mixpanel's mapping

    [functions]
    workers = 2                             # Node processes in the pool
    timeout = 5.0                           # seconds per invocation (Segment: five)
    allow_hosts = ["localhost:9000"]        # hosts a function's fetch really reaches
    [[functions.mocks]]                     # answers for every other fetch, first match wins
    url = "https://api.example.com/*"
    status = 200
    body = { ok = true }

Paths are relative to the config file. The parsing lives here; segemu/config.py,
segemu/sources.py and segemu/destinations/config.py only hand the entries over.
"""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from segemu.config import Config, ConfigError

# DOCS connections/functions/usage.md §Execution timeouts: "Functions have a timeout of five
# seconds", then retried.
DEFAULT_TIMEOUT = 5.0
DEFAULT_WORKERS = 2
# DOCS destination-functions.md §Configure your batch parameters: up to 20 events, waiting up
# to 10 seconds; locally the wait is short so a developer sees the batch at once.
DEFAULT_BATCH_SIZE = 20
DEFAULT_BATCH_WAIT = 0.5
_FUNCTIONS_KEYS = ("workers", "timeout", "allow_hosts", "mocks", "modules")
_MOCK_KEYS = ("url", "method", "status", "headers", "body")


@dataclass(frozen=True, slots=True)
class FunctionFile:
    """One function file, as a key the worker pool knows it by."""

    # "source:stripe", "destination:crm", "insert:mixpanel"
    key: str
    kind: str  # source | destination | insert
    path: Path
    settings: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Batching:
    size: int = DEFAULT_BATCH_SIZE
    wait: float = DEFAULT_BATCH_WAIT


@dataclass(frozen=True, slots=True)
class DestinationFunctions:
    """What a [destinations.<id>] entry adds: its Destination and/or Insert Function."""

    function: FunctionFile | None = None
    insert: FunctionFile | None = None
    batching: Batching | None = None


@dataclass(frozen=True, slots=True)
class Mock:
    url: str
    method: str | None
    status: int
    headers: Mapping[str, str]
    body: str

    def matches(self, method: str, url: str) -> bool:
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return fnmatch.fnmatchcase(url, self.url)


@dataclass(frozen=True, slots=True)
class FunctionsSettings:
    workers: int = DEFAULT_WORKERS
    timeout: float = DEFAULT_TIMEOUT
    # host or host:port a function's fetch really reaches; "*" for any.
    allow_hosts: tuple[str, ...] = ()
    mocks: tuple[Mock, ...] = ()
    # Extra node_modules folders where the preloaded libraries are looked for.
    modules: tuple[str, ...] = ()


def base_dir(config: Config) -> Path:
    return Path(config.config_file).parent if config.config_file else Path.cwd()


def function_file(
    base: Path, kind: str, name: str, raw: Any, settings: Any, where: str
) -> FunctionFile:
    """A function's file, relative to `base` (the config file's folder)."""
    if not isinstance(raw, str) or not raw:
        raise ConfigError(f"{where}: a function must be a path to a .js file, got {raw!r}")
    path = (base / Path(raw).expanduser()).resolve()
    if not path.is_file():
        raise ConfigError(f"{where}: function file {raw!r} not found (looked at {path})")
    if settings is None:
        settings = {}
    if not isinstance(settings, dict):
        raise ConfigError(f"{where}: 'settings' must be a table, got {settings!r}")
    return FunctionFile(f"{kind}:{name}", kind, path, settings)


def destination_functions(
    base: Path, destination_id: str, entry: Mapping[str, Any], where: str
) -> DestinationFunctions | None:
    """The function keys of one [destinations.<id>] entry, or None when it has none."""
    function, insert = entry.get("function"), entry.get("insert_function")
    if function is None and insert is None:
        if "batching" in entry:
            raise ConfigError(f"{where}: 'batching' applies only to a destination 'function'")
        return None
    settings = entry.get("settings", {})
    batching_raw = entry.get("batching", False)
    batching: Batching | None = None
    if batching_raw is True:
        batching = Batching()
    elif isinstance(batching_raw, dict):
        size, wait = batching_raw.get("size", DEFAULT_BATCH_SIZE), batching_raw.get("wait", 0.5)
        if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= 400:
            raise ConfigError(f"{where}: batching 'size' is 1 to 400 events, got {size!r}")
        if isinstance(wait, bool) or not isinstance(wait, int | float) or wait < 0:
            raise ConfigError(f"{where}: batching 'wait' must be seconds, got {wait!r}")
        batching = Batching(size, float(wait))
    elif batching_raw is not False:
        raise ConfigError(f"{where}: 'batching' must be true, false or a table")
    return DestinationFunctions(
        function=(
            function_file(base, "destination", destination_id, function, settings, where)
            if function is not None
            else None
        ),
        insert=(
            function_file(base, "insert", destination_id, insert, settings, where)
            if insert is not None
            else None
        ),
        batching=batching,
    )


def load_functions_settings(config: Config) -> FunctionsSettings:
    table = config.sections.get("functions", {})
    where = f"{config.config_file or 'settings'}: [functions]"
    for key in table:
        if key not in _FUNCTIONS_KEYS:
            close = difflib.get_close_matches(str(key), _FUNCTIONS_KEYS, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ConfigError(
                f"{where}: unknown key '{key}'{hint}; known keys: {', '.join(_FUNCTIONS_KEYS)}"
            )
    workers = table.get("workers", DEFAULT_WORKERS)
    if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= 16:
        raise ConfigError(f"{where}: 'workers' must be 1 to 16, got {workers!r}")
    timeout = table.get("timeout", DEFAULT_TIMEOUT)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout <= 60:
        raise ConfigError(f"{where}: 'timeout' must be above 0 and at most 60 s, got {timeout!r}")
    hosts = table.get("allow_hosts", [])
    if not isinstance(hosts, list) or not all(isinstance(h, str) and h for h in hosts):
        raise ConfigError(f"{where}: 'allow_hosts' must be a list of host[:port] names")
    modules = table.get("modules", [])
    if not isinstance(modules, list) or not all(isinstance(m, str) and m for m in modules):
        raise ConfigError(f"{where}: 'modules' must be a list of node_modules folders")
    mocks_raw = table.get("mocks", [])
    if not isinstance(mocks_raw, list):
        raise ConfigError(f"{where}: 'mocks' must be a list of tables ([[functions.mocks]])")
    return FunctionsSettings(
        workers=workers,
        timeout=float(timeout),
        allow_hosts=tuple(h.lower() for h in hosts),
        mocks=tuple(_mock(m, f"{where}.mocks[{i}]") for i, m in enumerate(mocks_raw)),
        modules=tuple(str(base_dir(config) / m) for m in modules),
    )


def _mock(raw: Any, where: str) -> Mock:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be a table")
    for key in raw:
        if key not in _MOCK_KEYS:
            raise ConfigError(f"{where}: unknown key '{key}'; known keys: {', '.join(_MOCK_KEYS)}")
    url = raw.get("url")
    if not isinstance(url, str) or not url:
        raise ConfigError(f"{where}: 'url' (a pattern, * for any text) is required")
    status = raw.get("status", 200)
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise ConfigError(f"{where}: 'status' must be an HTTP status, got {status!r}")
    headers = raw.get("headers", {})
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        raise ConfigError(f"{where}: 'headers' must be a table of strings")
    body = raw.get("body", "")
    if not isinstance(body, str):
        import json

        body = json.dumps(body)
        headers = {"content-type": "application/json", **headers}
    method = raw.get("method")
    if method is not None and not isinstance(method, str):
        raise ConfigError(f"{where}: 'method' must be a string")
    return Mock(url, method, status, headers, body)
