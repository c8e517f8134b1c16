"""The `segemu` commands (`segemu plan` is in plan.py). Importing this module stays cheap: each
command imports what it uses."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import click

from segemu import __version__
from segemu.config import (
    DEFAULT_DB,
    DEFAULT_PORT,
    DEFAULT_URL,
    MEMORY_DB,
    ConfigError,
    load_config,
)

if TYPE_CHECKING:
    from segemu.testing.client import SegemuClient

P = ParamSpec("P")
DEFAULT_SNIPPET_KEY = "my_write_key"
FC = TypeVar("FC", bound=Callable[..., Any])


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="segemu")
def cli() -> None:
    """segemu: a local emulator of Segment. Point any Segment SDK at it and see every call."""


def _check_columns(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> tuple[str, ...] | None:
    if not value:
        return None
    from segemu.tui.columns import parse_columns

    try:
        return parse_columns(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx, param) from None


def _inspector_options(function: FC) -> FC:
    function = click.option(
        "--columns",
        metavar="LIST",
        callback=_check_columns,
        help="The inspector's event columns, e.g. time,type,name,user (of time, status, type, "
        "name, user, source, destinations, violations).",
    )(function)
    return click.option(
        "--expect",
        "expect_file",
        metavar="FILE",
        type=click.Path(dir_okay=False),
        help="Expectations to judge live: a JSON list of POST /_segemu/assert bodies.",
    )(function)


def _expectations(path: str | None) -> list[Any]:
    if path is None:
        return []
    from segemu.cli.expect_file import load_expectations

    try:
        return list(load_expectations(path))
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def _fault_rules(specs: tuple[str, ...]) -> dict[str, Any] | None:
    """`--fault` specs as a [faults] table: added to the config file's rules."""
    if not specs:
        return None
    from segemu.faults import FaultError
    from segemu.faults.spec import parse_spec

    rules: dict[str, Any] = {}
    for number, spec in enumerate(specs, 1):
        try:
            rule = parse_spec(spec)
        except FaultError as exc:
            raise click.BadParameter(str(exc), param_hint="--fault") from None
        rules[str(rule.pop("id", f"cli-{number}"))] = rule
    return rules


@cli.command()
@click.option("--host", help="Interface to listen on.  [default: 127.0.0.1]")
@click.option(
    "-p",
    "--port",
    type=int,
    help=f"Port to listen on; -p 0 picks a free one.  [default: {DEFAULT_PORT}]",
)
@click.option(
    "--db",
    metavar="PATH",
    help=f"Directory of the event store, or {MEMORY_DB} for none.  [default: {DEFAULT_DB}]",
)
@click.option(
    "--retention",
    type=int,
    metavar="N",
    help="Keep at most N received calls; the oldest go first.  [default: 100000]",
)
@click.option(
    "--flush-interval",
    type=float,
    metavar="SECONDS",
    help="How often the store is written to disk.  [default: 0.2]",
)
@click.option(
    "--config",
    "config_file",
    metavar="FILE",
    type=click.Path(dir_okay=False),
    help="Config file (TOML).  [default: ./segemu.toml or [tool.segemu] in ./pyproject.toml]",
)
@click.option(
    "--analytics-js",
    metavar="PATH",
    help="The analytics.js served to snippet pages: the standalone.js of "
    "@segment/analytics-next or its package directory, or 'builtin'.  "
    "[default: node_modules/@segment/analytics-next if found, else builtin]",
)
@click.option(
    "--allow-origin",
    "allowed_origins",
    multiple=True,
    metavar="ORIGIN",
    help="A web origin (http://localhost:3000) whose pages may call the control API; "
    "repeatable.  [default: none]",
)
@click.option(
    "--allow-host",
    "allowed_hosts",
    multiple=True,
    metavar="NAME",
    help="A host name the control API answers to, besides localhost and IP addresses "
    "(host.docker.internal); repeatable.",
)
@click.option(
    "--fault",
    "faults",
    multiple=True,
    metavar="SPEC",
    help="Fail Tracking API requests: e.g. 503,times=2 or 429,retryAfter=5 or reset,every=3 "
    "(docs/faults.md); repeatable.",
)
@click.option(
    "--no-ui", is_flag=True, help="Headless, even in a terminal: print one line per received call."
)
@click.option(
    "-q", "--quiet", is_flag=True, default=None, help="Print nothing per call (headless)."
)
@_inspector_options
def run(
    host: str | None,
    port: int | None,
    db: str | None,
    retention: int | None,
    flush_interval: float | None,
    config_file: str | None,
    analytics_js: str | None,
    allowed_origins: tuple[str, ...],
    allowed_hosts: tuple[str, ...],
    faults: tuple[str, ...],
    no_ui: bool,
    quiet: bool | None,
    expect_file: str | None,
    columns: tuple[str, ...] | None,
) -> None:
    """Serve the Segment HTTP API, store every call, and show it as it arrives.

    In a terminal it opens the inspector (q or Ctrl-C stops); with --no-ui, or when stdout is
    not a terminal, it prints one line per call instead. Settings come from these options,
    then SEGEMU_* environment variables (SEGEMU_PORT, ...), then the config file.
    """
    flags = {
        "host": host,
        "port": port,
        "db": db,
        "retention": retention,
        "flush_interval": flush_interval,
        "quiet": quiet,
        "analytics_js": analytics_js,
        "allowed_origins": allowed_origins or None,
        "allowed_hosts": allowed_hosts or None,
        "faults": _fault_rules(faults),
    }
    try:
        config = load_config(flags, config_file=config_file)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    expectations = _expectations(expect_file)
    import asyncio

    if not no_ui and sys.stdout.isatty() and sys.stdin.isatty():
        # Imported here: a headless run never loads Textual.
        from segemu.tui.run import run_in_process

        asyncio.run(
            run_in_process(
                config, expectations=expectations, expect_file=expect_file, columns=columns
            )
        )
        return
    from segemu.cli.serve import serve

    asyncio.run(serve(config, expectations))


@cli.command()
@click.option(
    "--url",
    envvar="SEGEMU_URL",
    default=f"http://127.0.0.1:{DEFAULT_PORT}",
    show_default=True,
    metavar="URL",
    help="The running segemu (env SEGEMU_URL).",
)
@click.option(
    "--history",
    type=click.IntRange(0, 100_000),
    default=10_000,
    show_default=True,
    metavar="N",
    help="How many of its recent calls to show on attaching.",
)
@_inspector_options
def tui(url: str, history: int, expect_file: str | None, columns: tuple[str, ...] | None) -> None:
    """Inspect a segemu running elsewhere (a headless `segemu run`, a test session's) through
    its control API; reconnects if it restarts."""
    if not url.startswith(("http://", "https://")):
        raise click.BadParameter(f"expected an http:// URL, got {url!r}", param_hint="--url")
    expectations = _expectations(expect_file)
    import asyncio

    from segemu.tui.run import attach

    asyncio.run(
        attach(
            url,
            expectations=expectations,
            expect_file=expect_file,
            columns=columns,
            history=history,
        )
    )


@cli.command()
@click.option(
    "--write-key",
    "-k",
    metavar="KEY",
    help="The write key to load.  [default: the first configured source's, else "
    f"{DEFAULT_SNIPPET_KEY}]",
)
@click.option(
    "--url",
    metavar="URL",
    help="segemu as the browser reaches it.  [default: from the config's host and "
    "port, e.g. http://127.0.0.1:7878]",
)
@click.option(
    "--config",
    "config_file",
    metavar="FILE",
    type=click.Path(dir_okay=False),
    help="Config file (TOML).  [default: ./segemu.toml or [tool.segemu] in ./pyproject.toml]",
)
@click.option("--no-page", is_flag=True, help="Leave out the first analytics.page() call.")
@click.option("--js", "bare", is_flag=True, help="Print the JavaScript without <script> tags.")
def snippet(
    write_key: str | None, url: str | None, config_file: str | None, no_page: bool, bare: bool
) -> None:
    """Print a snippet to paste into a page: analytics.js, its settings and every call come
    from and go to segemu, with no internet (it sets analytics._cdn, which plain-http pages
    need)."""
    from segemu.browser.snippet import render_snippet
    from segemu.sources import load_sources

    try:
        config = load_config({}, config_file=config_file)
        sources = load_sources(config)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    if write_key is None:
        keys = [source.write_key for source in sources.all if source.write_key]
        write_key = keys[0] if keys else DEFAULT_SNIPPET_KEY
    if url is None:
        # A wildcard address is where segemu listens, not where a browser connects.
        host = "127.0.0.1" if config.host in ("0.0.0.0", "::", "") else config.host
        url = f"http://{f'[{host}]' if ':' in host else host}:{config.port}"
    if not url.startswith(("http://", "https://")):
        raise click.BadParameter(
            f"{url!r}: give the scheme too, e.g. http://127.0.0.1:7878", param_hint="--url"
        )
    click.echo(
        render_snippet(url.rstrip("/"), write_key, page=not no_page, script_tag=not bare), nl=False
    )


# -- commands for any test runner, against a running emulator ---------------------------------


def _url_option(function: FC) -> FC:
    function = click.option(
        "--write-key",
        "-k",
        metavar="KEY",
        help="Only this source's calls.  [default: every source]",
    )(function)
    return click.option(
        "--url",
        envvar="SEGEMU_URL",
        default=DEFAULT_URL,
        show_default=True,
        metavar="URL",
        help="The running segemu (env SEGEMU_URL).",
    )(function)


def _where_option(required: bool = False) -> Callable[[FC], FC]:
    return click.option(
        "--where",
        "-w",
        "where",
        metavar="QUERY",
        required=required,
        callback=_check_query,
        help="A query, e.g. 'type:track event:\"Order Completed\"'.",
    )


def _check_query(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Parse here too, so a typo gets its caret at once, before any network call."""
    if value:
        from segemu.query import QueryError, parse_query

        try:
            parse_query(value)
        except QueryError as exc:
            raise click.UsageError(f"--where: {exc}", ctx) from None
    return value


def _client(url: str, write_key: str | None) -> SegemuClient:
    from segemu.testing.client import SegemuClient

    return SegemuClient(url, write_key)


def _print(records: list[Any], as_json: bool) -> None:
    if as_json:
        import json

        click.echo(json.dumps(records, indent=2))
        return
    from segemu.cli.lines import format_line

    for record in records:
        click.echo(format_line(record))


def _fail_on_api_error(function: Callable[P, None]) -> Callable[P, None]:
    """A control-API failure (unreachable, bad query) is one line and exit status 2."""
    import functools

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> None:
        from segemu.testing.calls import ControlApiError

        try:
            return function(*args, **kwargs)
        except ControlApiError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(2)

    return wrapper


@cli.command()
@_url_option
@_where_option()
@click.option(
    "-n",
    "--limit",
    type=click.IntRange(1),
    default=20,
    show_default=True,
    help="The last N matching calls.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the records as a JSON array.")
@_fail_on_api_error
def events(url: str, write_key: str | None, where: str | None, limit: int, as_json: bool) -> None:
    """Print stored calls, oldest first."""
    _print(_client(url, write_key).events(where, limit=limit), as_json)


@cli.command()
@_url_option
@_where_option()
@click.option(
    "-n",
    "--backlog",
    type=click.IntRange(0, 1000),
    default=10,
    show_default=True,
    help="Print the last N matching calls first.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON record per line.")
@_fail_on_api_error
def tail(url: str, write_key: str | None, where: str | None, backlog: int, as_json: bool) -> None:
    """Print calls as they arrive, until Ctrl-C. Survives restarts of segemu."""
    import contextlib

    from segemu.cli.tail import follow

    with contextlib.suppress(KeyboardInterrupt):
        follow(url, write_key, where, backlog, as_json)


@cli.command()
@_url_option
@_where_option(required=True)
@click.option(
    "-c",
    "--count",
    type=click.IntRange(1),
    default=1,
    show_default=True,
    help="Wait for at least N matching calls.",
)
@click.option(
    "-t",
    "--timeout",
    type=click.FloatRange(0, 300),
    default=10,
    show_default=True,
    help="Seconds to wait.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the matching records as JSON.")
@_fail_on_api_error
def wait(
    url: str, write_key: str | None, where: str, count: int, timeout: float, as_json: bool
) -> None:
    """Wait until calls matching --where arrive; exit status 1 on timeout.

    The server answers within milliseconds of the matching call (a long-poll, no polling).
    """
    from segemu.testing.api import WaitTimeout

    try:
        found = _client(url, write_key).wait_for(where, count, timeout)
    except WaitTimeout as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    _print(found, as_json)


@cli.command(name="assert")
@_url_option
@_where_option(required=True)
@click.option(
    "-c",
    "--count",
    type=click.IntRange(0),
    metavar="N",
    help="Exactly N matching calls.  [default: at least 1]",
)
@click.option(
    "--at-least", type=click.IntRange(1), default=1, metavar="N", help="At least N matching calls."
)
@click.option(
    "-t",
    "--timeout",
    type=click.FloatRange(0, 300),
    default=0,
    show_default=True,
    help="Seconds to wait for enough matching calls first.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the verdict as JSON.")
@_fail_on_api_error
def assert_(
    url: str,
    write_key: str | None,
    where: str,
    count: int | None,
    at_least: int,
    timeout: float,
    as_json: bool,
) -> None:
    """Check that calls matching --where arrived: exit status 0 if so, 1 with the nearest
    misses if not."""
    from segemu.testing import expect

    spec = expect.matching(where, times=count, at_least=at_least)
    spec["description"] = f"segemu assert --where {where!r}"
    verdict = _client(url, write_key).verdict(spec, timeout)
    if as_json:
        import json

        click.echo(json.dumps(verdict, indent=2))
    else:
        click.echo(verdict["message"], err=not verdict["passed"])
    sys.exit(0 if verdict["passed"] else 1)


# -- mock destinations ----------------------------------------------------------------------


def _json_out(data: Any) -> None:
    import json

    click.echo(json.dumps(data, indent=2))


@cli.command()
@_url_option
@click.option("--json", "as_json", is_flag=True, help="Print the JSON the control API gave.")
@_fail_on_api_error
def destinations(url: str, write_key: str | None, as_json: bool) -> None:
    """List the mock destinations with their delivery counts (over the last 1000 calls)."""
    del write_key  # counts cover every source
    answer = _client(url, None).request("GET", "/destinations")
    if as_json:
        _json_out(answer)
        return
    for item in answer["destinations"]:
        counts = item["counts"]
        state = "" if item["enabled"] else "  (disabled)"
        mode = "sends" if item["sends"] else "records"
        click.echo(
            f"{item['id']:<14} {item['name']:<28} {mode:<8} "
            f"delivered {counts['delivered']:<5} filtered {counts['filtered']:<5} "
            f"failed {counts['failed']:<4} retrying {counts['retrying']}{state}"
        )
        if item["lastError"]:
            click.echo(f"{'':<14} last error: {item['lastError']}")


@cli.command()
@_url_option
@click.argument("destination")
@_where_option()
@click.option(
    "-s",
    "--status",
    type=click.Choice(["delivered", "filtered", "failed", "retrying", "pending"]),
    help="Only deliveries with this status.",
)
@click.option(
    "-n",
    "--limit",
    type=click.IntRange(1, 1000),
    default=20,
    show_default=True,
    help="The last N deliveries.",
)
@click.option("--payloads", is_flag=True, help="Print each request the destination received.")
@click.option("--json", "as_json", is_flag=True, help="Print the deliveries as JSON.")
@_fail_on_api_error
def deliveries(
    url: str,
    write_key: str | None,
    destination: str,
    where: str | None,
    status: str | None,
    limit: int,
    payloads: bool,
    as_json: bool,
) -> None:
    """What DESTINATION received (or why not), oldest first."""
    from segemu.testing.calls import events_params

    params = events_params(write_key, where, limit=limit, deliveryStatus=status)
    answer = _client(url, None).request("GET", f"/destinations/{destination}/deliveries", params)
    found = answer["deliveries"][::-1]
    if as_json:
        _json_out(found)
        return
    import json

    for item in found:
        what = item["event"] or item["type"]
        why = f"  {item['reason']}" if item["reason"] else ""
        click.echo(f"#{item['id']:<6} {item['type'] or '-':<8} {what!s:<28} {item['status']}{why}")
        if payloads:
            for request in item["requests"]:
                click.echo(f"    {request['action']}: {request['method']} {request['url']}")
                body = json.dumps(request["body"], indent=2)
                click.echo("\n".join(f"      {line}" for line in body.splitlines()))


@cli.command()
@_url_option
@click.argument("message_id")
@click.option("--json", "as_json", is_flag=True, help="Print the JSON the control API gave.")
@_fail_on_api_error
def routing(url: str, write_key: str | None, message_id: str, as_json: bool) -> None:
    """Where the call MESSAGE_ID went: each destination's decision and its reason."""
    del write_key
    answer = _client(url, None).request("GET", f"/events/{message_id}/routing")
    if as_json:
        _json_out(answer)
        return
    if answer["note"]:
        click.echo(answer["note"])
    for item in answer["routing"]:
        why = f"  {item['reason']}" if item["reason"] else ""
        actions = f"  ({', '.join(item['actions'])})" if item["actions"] else ""
        click.echo(f"{item['destination']:<14} {item['status']:<10}{actions}{why}")
