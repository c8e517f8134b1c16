"""The segemu pytest plugin, registered through the `pytest11` entry point.

Fixtures:
- `segemu`: for sync tests. A client of the session's emulator (started on first use, on a free
  port, in a background thread), bound to a write key of the test's own: a test never sees
  another test's events, and xdist workers share one emulator without colliding.
- `segemu_async`: the same API, awaited, for async tests.
- `segemu_emulator`: an Emulator in the test's own loop, no sockets (segemu.testing.local).
- `segemu_session`: the session's server (`.url`), for wiring an app once per session.

Options: `--segemu-url` (or ini `segemu_url`, or env SEGEMU_URL) uses an emulator already
running, e.g. `segemu run` with its inspector open; `--segemu-no-autowire`,
`--segemu-allow-network`, `--segemu-update-snapshots`, `--segemu-timeout`; `--segemu-config`
builds the emulators from a config file (its tracking plans, sources, lint switches);
`--segemu-strict` fails a test on any tracking-plan violation of its write key. The marker
`@pytest.mark.segemu(write_key=..., autowire=..., strict=..., **settings)` gives one test a
fixed write key, its own strictness, or its own emulator with other settings.

This module imports only pytest and the standard library at import time: pytest imports
plugins at start-up, before coverage starts, and most test runs never use the fixtures.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from segemu.config import Config
    from segemu.testing.aclient import AsyncSegemuClient
    from segemu.testing.client import SegemuClient
    from segemu.testing.local import LocalSegemu
    from segemu.testing.snapshot import SnapshotStore
    from segemu.testing.thread import ThreadedEmulator
    from segemu.testing.wiring import NetworkGuard

MARKER = "segemu"
# The fixtures that carry a write key, which strict mode checks after the test.
FIXTURES = ("segemu", "segemu_async", "segemu_emulator")
SNAPSHOT_DIR = "__segemu_snapshots__"


@dataclass(frozen=True, slots=True)
class Settings:
    url: str | None
    autowire: bool
    guard: bool
    wait_timeout: float
    assert_timeout: float
    update_snapshots: bool
    # A config file the emulators started here are built from; None for none.
    config_file: str | None = None
    # The strict mode: None leaves it to the emulator's config ([protocols] strict).
    strict: bool | None = None

    @classmethod
    def from_config(cls, config: pytest.Config) -> Settings:
        worker_url = getattr(config, "workerinput", {}).get("segemu_url")
        url = (
            config.getoption("segemu_url")
            or config.getini("segemu_url")
            or os.environ.get("SEGEMU_URL")
            or worker_url
            or None
        )
        return cls(
            url=url,
            autowire=(
                not config.getoption("segemu_no_autowire")
                and bool(config.getini("segemu_autowire"))
            ),
            guard=(
                not config.getoption("segemu_allow_network") and bool(config.getini("segemu_guard"))
            ),
            wait_timeout=float(
                config.getoption("segemu_timeout") or config.getini("segemu_timeout")
            ),
            assert_timeout=float(config.getini("segemu_assert_timeout")),
            update_snapshots=bool(config.getoption("segemu_update_snapshots")),
            config_file=_config_file(config),
            strict=_strict(config),
        )


def _config_file(config: pytest.Config) -> str | None:
    value = config.getoption("segemu_config") or config.getini("segemu_config")
    if not value:
        return None
    path = Path(str(value))
    return str(path if path.is_absolute() else config.rootpath / path)


def _strict(config: pytest.Config) -> bool | None:
    if config.getoption("segemu_strict"):
        return True
    value = str(config.getini("segemu_strict")).strip().lower()
    if not value:
        return None
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise pytest.UsageError(f"ini option segemu_strict must be true or false, got {value!r}")


class SessionServer:
    """The emulator a test session shares: one already running (`--segemu-url`), or one
    started on first use in a background thread."""

    def __init__(self, url: str | None, config_file: str | None = None) -> None:
        self._url = url
        self._checked = url is None
        self.config_file = config_file
        self.threaded: ThreadedEmulator | None = None

    @property
    def url(self) -> str:
        if self._url is None:
            self.threaded = start_threaded({}, self.config_file)
            self._url = self.threaded.url
        if not self._checked:
            # Before any test sends: an SDK pointed at nothing retries for a minute, silently.
            self._checked = True
            problem = unreachable(self._url)
            if problem is not None:
                pytest.exit(f"segemu: {problem}", returncode=pytest.ExitCode.USAGE_ERROR)
        return self._url

    def take_errors(self) -> list[str]:
        return self.threaded.take_errors() if self.threaded is not None else []

    def stop(self) -> None:
        if self.threaded is not None:
            self.threaded.stop()
            self.threaded = None


# Seconds the first use of --segemu-url waits for segemu to answer.
REACH_TIMEOUT = 5.0


def unreachable(url: str) -> str | None:
    """Why the segemu at `url` cannot be used, or None."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/_segemu/health", timeout=REACH_TIMEOUT):
            return None
    except urllib.error.HTTPError:
        return None  # something answers; the tests will say what is wrong with it
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        return (
            f"nothing answers at --segemu-url {url} ({reason}): start segemu there "
            f"(segemu run), or leave out --segemu-url (ini segemu_url, env SEGEMU_URL) to "
            f"start one for this test session"
        )


def start_threaded(settings: dict[str, Any], config_file: str | None = None) -> ThreadedEmulator:
    from segemu.testing.thread import ThreadedEmulator

    config = emulator_config(settings, config_file)
    check_config(config)
    return ThreadedEmulator(config).start()


def check_config(config: Config) -> None:
    """Load what the emulator will (sources, tracking plans) here, so that a mistake is a
    usage error naming the file, not a failure inside the server's thread."""
    from segemu.config import ConfigError
    from segemu.protocols import Protocols
    from segemu.sources import load_sources

    try:
        Protocols(config, load_sources(config))
    except ConfigError as exc:
        raise pytest.UsageError(f"segemu: {exc}") from None


def emulator_config(settings: dict[str, Any], config_file: str | None = None) -> Config:
    from segemu.config import ConfigError, load_config

    try:
        return load_config(
            {"db": ":memory:", **settings}, env={}, discover=False, config_file=config_file
        )
    except ConfigError as exc:
        where = "--segemu-config" if config_file and not settings else "@pytest.mark.segemu"
        raise pytest.UsageError(f"{where}: {exc}") from None


SETTINGS: pytest.StashKey[Settings] = pytest.StashKey()
SESSION: pytest.StashKey[SessionServer] = pytest.StashKey()
GUARD: pytest.StashKey[NetworkGuard] = pytest.StashKey()


# -- configuration ---------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("segemu", "segemu (local Segment emulator)")
    group.addoption(
        "--segemu-url",
        metavar="URL",
        help="use the segemu already running at URL instead of starting one "
        "(also: ini segemu_url, env SEGEMU_URL)",
    )
    group.addoption(
        "--segemu-no-autowire",
        action="store_true",
        help="do not point segment.analytics at the emulator",
    )
    group.addoption(
        "--segemu-allow-network",
        action="store_true",
        help="let tests reach api.segment.io and cdn.segment.com",
    )
    group.addoption(
        "--segemu-update-snapshots",
        action="store_true",
        help="write event snapshots instead of comparing with them",
    )
    group.addoption(
        "--segemu-timeout",
        type=float,
        metavar="SECONDS",
        help="default timeout of wait_for (ini segemu_timeout; default 5)",
    )
    group.addoption(
        "--segemu-config",
        metavar="FILE",
        help="build the emulators from this config file: tracking plans, "
        "sources, lint switches (ini segemu_config)",
    )
    group.addoption(
        "--segemu-strict",
        action="store_true",
        help="fail a test when a call of its write key breaks the tracking plan "
        "(ini segemu_strict)",
    )
    parser.addini("segemu_url", "URL of a running segemu to use", default="")
    parser.addini(
        "segemu_autowire", "point segment.analytics at the emulator", type="bool", default=True
    )
    parser.addini(
        "segemu_guard", "fail tests that reach Segment's real hosts", type="bool", default=True
    )
    parser.addini("segemu_timeout", "default timeout of wait_for, in seconds", default="5")
    parser.addini(
        "segemu_assert_timeout", "seconds a positive assertion waits for its events", default="2"
    )
    parser.addini(
        "segemu_config",
        "config file the emulators are built from (relative to the rootdir)",
        default="",
    )
    parser.addini(
        "segemu_strict",
        "fail tests on tracking-plan violations (true/false; "
        "unset: the emulator's [protocols] strict)",
        default="",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(write_key=None, autowire=True, strict=None, **settings): give this test a "
        "fixed write key, no SDK wiring, strictness about tracking-plan violations, or its own "
        "emulator with these settings (e.g. retention=10, protocols={...})",
    )
    settings = Settings.from_config(config)
    if settings.config_file is not None and settings.url is None:
        # A config mistake (a tracking plan that does not load) stops the run at once,
        # naming the file, instead of erroring every test that uses the fixtures.
        check_config(emulator_config({}, settings.config_file))
    config.stash[SETTINGS] = settings
    config.stash[SESSION] = SessionServer(settings.url, settings.config_file)
    if settings.guard:
        from segemu.testing.wiring import NetworkGuard

        guard = NetworkGuard()
        guard.install()
        config.stash[GUARD] = guard


def pytest_unconfigure(config: pytest.Config) -> None:
    if SESSION in config.stash:
        config.stash[SESSION].stop()
    if GUARD in config.stash:
        config.stash[GUARD].uninstall()


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """pytest-xdist, in the controller: every worker uses the controller's one emulator."""
    node.workerinput["segemu_url"] = node.config.stash[SESSION].url


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    guard = item.config.stash.get(GUARD, None)
    if guard is not None:
        guard.take_attempts()
    try:
        result = yield
    except BaseException:
        # The refusal surfaces as the HTTP library's error (urllib3's long chain): say the
        # one line that explains it instead, without the chain.
        refused = _guard_failure(guard)
        if refused is not None:
            raise refused from None
        raise
    refused = _guard_failure(guard)
    if refused is not None:
        raise refused
    _check_strict(item)
    return result


def _guard_failure(guard: NetworkGuard | None) -> BaseException | None:
    attempts = guard.take_attempts() if guard is not None else []
    if not attempts:
        return None
    return pytest.fail.Exception(
        "this test tried to reach Segment itself: "
        + ", ".join(attempts)
        + "\nUse the segemu fixture's url, or pass --segemu-allow-network.",
        pytrace=False,
    )


def _check_strict(item: pytest.Item) -> None:
    """Strict mode: the test passed; fail it if a call of its write key broke the plan."""
    funcargs: dict[str, Any] = getattr(item, "funcargs", {})
    used = [funcargs[name] for name in FIXTURES if name in funcargs]
    if not used:
        return
    from segemu.testing.strict import strict_failure

    marker = item.get_closest_marker(MARKER)
    strict = marker.kwargs.get("strict") if marker is not None else None
    if strict is None:
        strict = item.config.stash[SETTINGS].strict
    for fixture in used:
        failure = strict_failure(fixture, strict)
        if failure is not None:
            pytest.fail(failure, pytrace=False)


# -- fixtures --------------------------------------------------------------------------------


@dataclass(slots=True)
class MarkerOptions:
    """What `@pytest.mark.segemu(...)` asks of one test."""

    write_key: str
    fixed_write_key: bool
    autowire: bool
    settings: dict[str, Any] = field(default_factory=dict)


def marker_options(request: pytest.FixtureRequest) -> MarkerOptions:
    from segemu.testing.api import new_write_key

    marker = request.node.get_closest_marker(MARKER)
    arguments = dict(marker.kwargs) if marker is not None else {}
    fixed = arguments.pop("write_key", None)
    arguments.pop("strict", None)  # read after the test (_check_strict)
    autowire = arguments.pop("autowire", request.config.stash[SETTINGS].autowire)
    write_key = fixed or new_write_key(request.node.name, secrets.token_hex(4))
    return MarkerOptions(write_key, fixed is not None, bool(autowire), arguments)


def _snapshots(request: pytest.FixtureRequest) -> SnapshotStore:
    """`tests/__segemu_snapshots__/test_shop/test_checkout[.name].json` for a test in
    tests/test_shop.py."""
    from segemu.testing.snapshot import SnapshotStore

    test_file = Path(str(request.node.path))
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in request.node.name)
    return SnapshotStore(
        test_file.parent / SNAPSHOT_DIR / test_file.stem / safe,
        update=request.config.stash[SETTINGS].update_snapshots,
    )


@pytest.fixture(scope="session")
def segemu_session(pytestconfig: pytest.Config) -> SessionServer:
    """The session's emulator (started on first use): `.url` for wiring an app once."""
    return pytestconfig.stash[SESSION]


def _server_for(
    options: MarkerOptions, session: SessionServer
) -> tuple[str, ThreadedEmulator | None]:
    if options.settings:
        dedicated = start_threaded(options.settings, session.config_file)
        return dedicated.url, dedicated
    return session.url, None


def _fail_on_server_errors(errors: list[str]) -> None:
    if errors:
        pytest.fail(
            "segemu's server failed while handling this test's requests:\n" + "\n".join(errors),
            pytrace=False,
        )


@pytest.fixture
def segemu(request: pytest.FixtureRequest, segemu_session: SessionServer) -> Iterator[SegemuClient]:
    """segemu for a sync test: `.url`, `.write_key`, `.events(q)`, `.wait_for(q, count)`,
    `.assert_tracked(...)` and the other assertions, `.assert_snapshot()`."""
    from segemu.testing.client import SegemuClient
    from segemu.testing.wiring import SdkWiring

    settings = request.config.stash[SETTINGS]
    options = marker_options(request)
    url, dedicated = _server_for(options, segemu_session)
    wiring = SdkWiring() if options.autowire else None
    client = SegemuClient(
        url,
        options.write_key,
        before_read=wiring.flush if wiring else None,
        wait_timeout=settings.wait_timeout,
        assert_timeout=settings.assert_timeout,
    )
    client.snapshots = _snapshots(request)
    try:
        if options.fixed_write_key:
            client.reset()
        if wiring is not None:
            wiring.wire(url, options.write_key)
        yield client
    finally:
        errors = (dedicated or segemu_session).take_errors()
        if dedicated is not None:
            dedicated.stop()
    _fail_on_server_errors(errors)


try:  # the async fixtures need pytest-asyncio (pytest-aiohttp brings it)
    import pytest_asyncio
except ImportError:  # pragma: no cover - exercised only without pytest-asyncio
    HAS_ASYNCIO = False
else:
    HAS_ASYNCIO = True

if HAS_ASYNCIO:

    @pytest_asyncio.fixture
    async def segemu_async(
        request: pytest.FixtureRequest, segemu_session: SessionServer
    ) -> AsyncIterator[AsyncSegemuClient]:
        """The `segemu` fixture's API, awaited, for async tests."""
        from segemu.testing.aclient import AsyncSegemuClient
        from segemu.testing.wiring import SdkWiring

        settings = request.config.stash[SETTINGS]
        options = marker_options(request)
        url, dedicated = _server_for(options, segemu_session)
        wiring = SdkWiring() if options.autowire else None
        client = AsyncSegemuClient(
            url,
            options.write_key,
            before_read=wiring.flush if wiring else None,
            wait_timeout=settings.wait_timeout,
            assert_timeout=settings.assert_timeout,
        )
        client.snapshots = _snapshots(request)
        try:
            if options.fixed_write_key:
                await client.reset()
            if wiring is not None:
                wiring.wire(url, options.write_key)
            yield client
        finally:
            await client.aclose()
            errors = (dedicated or segemu_session).take_errors()
            if dedicated is not None:
                dedicated.stop()
        _fail_on_server_errors(errors)

    @pytest_asyncio.fixture
    async def segemu_emulator(request: pytest.FixtureRequest) -> AsyncIterator[LocalSegemu]:
        """An Emulator in this test's loop, no sockets: `.emulator`, `.send(...)`, and the
        same awaited API as `segemu_async`."""
        from segemu.emulator import create_emulator
        from segemu.http.sender import HttpSender
        from segemu.testing.local import LocalSegemu

        settings = request.config.stash[SETTINGS]
        options = marker_options(request)
        config = emulator_config(options.settings, settings.config_file)
        check_config(config)
        # No sockets of its own, but a Webhook destination still really sends.
        emulator = create_emulator(config, sender=HttpSender())
        await emulator.start()
        local = LocalSegemu(
            emulator,
            options.write_key,
            wait_timeout=settings.wait_timeout,
            assert_timeout=settings.assert_timeout,
        )
        local.snapshots = _snapshots(request)
        try:
            yield local
        finally:
            await emulator.close()
