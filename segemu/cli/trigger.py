"""`segemu trigger FLOW`: realistic journeys from a flow file (segemu/traffic/flows.py), sent
through the Tracking API or written as JSON Lines."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import click

from segemu.config import DEFAULT_URL

DEFAULT_WRITE_KEY = "my_write_key"
DEFAULT_USERS = 10
# With --seed and no --start, the journeys begin here: the same seed gives the same calls.
SEEDED_START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def _start(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    from segemu.message import parse_timestamp

    moment = parse_timestamp(value)
    if moment is None:
        raise click.BadParameter(f"expected an ISO-8601 time, got {value!r}", ctx, param)
    return moment


@click.command()
@click.argument("flow", required=False, metavar="FLOW")
@click.option("--list", "list_flows", is_flag=True, help="Describe the built-in flows and exit.")
@click.option(
    "--users",
    "-n",
    type=click.IntRange(1),
    help=f"How many journeys.  [default: {DEFAULT_USERS}, or as many as --duration allows]",
)
@click.option(
    "--rate", type=click.FloatRange(min=1), metavar="N", help="Send at most N calls a second."
)
@click.option(
    "--duration",
    type=click.FloatRange(min=0.1),
    metavar="SECONDS",
    help="Stop starting journeys after this long (with --rate: a steady stream).",
)
@click.option("--seed", type=int, help="The same seed gives the same calls, messageIds too.")
@click.option(
    "--sdk",
    type=click.Choice(["python", "node", "browser", "swift"]),
    help="The SDK whose shape the calls take (context.library, messageIds...).  "
    "[default: browser for web flows, swift for mobile]",
)
@click.option(
    "--start",
    callback=_start,
    metavar="TIME",
    help="When the first journey begins (ISO-8601).  [default: now; with --seed, "
    "2026-01-05T09:00:00Z]",
)
@click.option(
    "--url",
    envvar="SEGEMU_URL",
    default=DEFAULT_URL,
    show_default=True,
    metavar="URL",
    help="Where to send (env SEGEMU_URL).",
)
@click.option("--write-key", "-k", default=DEFAULT_WRITE_KEY, show_default=True, metavar="KEY")
@click.option(
    "--output",
    "-o",
    metavar="FILE",
    type=click.Path(dir_okay=False, path_type=Path, allow_dash=True),
    help="Write the calls as JSON Lines instead of sending them (- for stdout).",
)
def trigger(
    flow: str | None,
    list_flows: bool,
    users: int | None,
    rate: float | None,
    duration: float | None,
    seed: int | None,
    sdk: str | None,
    start: datetime | None,
    url: str,
    write_key: str,
    output: Path | None,
) -> None:
    """Generate realistic journeys from FLOW (a built-in flow's name, or a flow file) and send
    them to segemu, or write them with -o.

    \b
      segemu trigger --list
      segemu trigger ecommerce --users 50 --seed 7
      segemu trigger b2b-saas --rate 20 --duration 60
    """
    from segemu.traffic.flows import (
        FlowError,
        Generator,
        builtin_flows,
        describe,
        find_flow,
        load_flow,
    )

    if list_flows:
        for path in builtin_flows():
            for line in describe(load_flow(path)):
                click.echo(line)
        click.echo("Copy a file, edit it, and run `segemu trigger path/to/flow.json`.")
        return
    if flow is None:
        raise click.UsageError("give a FLOW (see segemu trigger --list)")
    try:
        loaded = load_flow(find_flow(flow))
        generator = Generator(
            loaded, sdk, seed, start or (SEEDED_START if seed is not None else datetime.now(UTC))
        )
    except FlowError as exc:
        raise click.ClickException(str(exc)) from None
    if users is None and duration is None:
        users = DEFAULT_USERS
    deadline = time.monotonic() + duration if duration is not None else None
    journeys = [0]

    def calls() -> Iterator[dict[str, object]]:
        for journey in generator.journeys(users):
            if deadline is not None and time.monotonic() >= deadline:
                return
            journeys[0] += 1
            yield from journey.calls

    try:
        if output is not None:
            _write(calls(), output, rate)
            click.echo(f"wrote {journeys[0]:,} journey(s) of {loaded.name} to {output}", err=True)
            return
        _send(calls(), url, write_key, rate, generator.sdk, loaded.name, journeys, users)
    except FlowError as exc:
        raise click.ClickException(str(exc)) from None


def _write(calls: Iterator[dict[str, object]], output: Path, rate: float | None) -> None:
    import orjson

    out = sys.stdout.buffer if str(output) == "-" else open(output, "wb")  # noqa: SIM115
    started = time.monotonic()
    try:
        for number, call in enumerate(calls):
            if rate:
                delay = started + number / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            out.write(orjson.dumps(call) + b"\n")
    finally:
        if out is not sys.stdout.buffer:
            out.close()
        else:
            out.flush()


def _send(
    calls: Iterator[dict[str, object]],
    url: str,
    write_key: str,
    rate: float | None,
    sdk: str,
    name: str,
    journeys: list[int],
    users: int | None,
) -> None:
    import asyncio

    from segemu.cli.progress import progress
    from segemu.cli.send import print_summary, ship_calls
    from segemu.traffic.calls import Call
    from segemu.traffic.replay import KeyMap
    from segemu.traffic.shipping import batch_url

    try:
        target = batch_url(url)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--url") from None
    if sdk == "browser" and target.endswith("/v1/batch"):
        # analytics.js batches to /v1/b (sdk-captures README): a client-side route.
        target = target[: -len("/v1/batch")] + "/v1/b"
    click.echo(f"Sending {name} journeys shaped as the {sdk} SDK to {target}")
    with progress("trigger", None) as advance:
        summary = asyncio.run(
            ship_calls(
                (Call(call) for call in calls),
                target,
                KeyMap(override=write_key),
                batch_size=100,
                concurrency=2,
                attempts=5,
                rate=rate,
                on_progress=advance,
            )
        )
    click.echo(f"{journeys[0]:,} journey(s)" + (f" of {users:,}" if users else ""))
    print_summary(summary, target)
    sys.exit(0 if summary.sent == summary.answered else 1)
