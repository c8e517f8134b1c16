"""`segemu send` and `segemu replay`: calls through the real Tracking API of a running segemu,
of Segment, or of any endpoint that speaks it (segemu/traffic/shipping.py does the sending)."""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from segemu.config import DEFAULT_URL

# Imported by each command when it runs: `segemu --version` stays cheap (tests/test_cli.py).
if TYPE_CHECKING:
    from segemu.traffic.calls import Call
    from segemu.traffic.replay import KeyMap, Summary

# The same as segemu/traffic/shipping.py's, repeated for --help without importing it.
DEFAULT_ATTEMPTS = 5
DEFAULT_BATCH_SIZE = 100

# How often an interrupted replay's checkpoint is written at most.
CHECKPOINT_INTERVAL = 0.5


def check_url(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    from segemu.traffic.shipping import batch_url

    try:
        batch_url(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx, param) from None
    return value


def parse_key_map(
    ctx: click.Context, param: click.Parameter, value: tuple[str, ...]
) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for entry in value:
        old, separator, new = entry.partition("=")
        if not separator or not old or not new:
            raise click.BadParameter(f"expected OLD=NEW, got {entry!r}", ctx, param)
        mapping[old] = new
    return mapping


@contextmanager
def calls_source(source: str) -> Iterator[tuple[Path, str]]:
    """A path to read calls from: the file, or stdin (`-`) or inline JSON spooled to a
    temporary file, so the same streaming reader handles all of them."""
    if source != "-" and not source.lstrip().startswith(("{", "[")):
        path = Path(source)
        if not path.exists():
            raise click.BadParameter(f"no such file: {source}", param_hint="CALLS")
        yield path, source
        return
    with tempfile.TemporaryDirectory(prefix="segemu-send-") as folder:
        path = Path(folder) / "calls.json"
        with open(path, "wb") as out:
            if source == "-":
                shutil.copyfileobj(sys.stdin.buffer, out)
            else:
                out.write(source.encode())
        yield path, "stdin" if source == "-" else "the command line"


def print_summary(summary: Summary, target: str, verb: str = "sent") -> None:
    """What became of the calls, in one line, and the first refusals."""
    rate = summary.answered / summary.seconds if summary.seconds > 0 else 0.0
    parts = [f"{summary.sent:,} {verb}"]
    if summary.refused:
        parts.append(f"{summary.refused:,} refused")
    if summary.failed:
        parts.append(f"{summary.failed:,} failed after retries")
    if summary.no_write_key:
        parts.append(f"{summary.no_write_key:,} without a write key (not sent)")
    parts.append(f"{summary.retried:,} retried")
    if summary.skipped:
        parts.append(f"{summary.skipped:,} skipped (done by the interrupted run)")
    click.echo(
        f"{', '.join(parts)} to {target} in {summary.batches:,} batch(es), "
        f"{summary.seconds:.1f} s ({rate:,.0f} calls/s)"
    )
    for error in summary.errors:
        click.echo(f"  {error}", err=True)


async def ship_calls(
    calls: Iterator[Call],
    url: str,
    keys: KeyMap,
    *,
    batch_size: int,
    concurrency: int,
    attempts: int,
    rate: float | None = None,
    skip: int = 0,
    on_progress: Callable[[int], None] | None = None,
    on_checkpoint: Callable[[int], None] | None = None,
) -> Summary:
    from segemu.http.sender import HttpSender
    from segemu.traffic.replay import replay
    from segemu.traffic.shipping import Shipper

    sender = HttpSender()
    try:
        return await replay(
            calls,
            Shipper(sender, url, attempts=attempts),
            keys,
            batch_size=batch_size,
            concurrency=concurrency,
            rate=rate,
            skip=skip,
            on_progress=on_progress,
            on_checkpoint=on_checkpoint,
        )
    finally:
        await sender.close()


def batching_options(function: Callable[..., Any]) -> Callable[..., Any]:
    function = click.option(
        "--attempts",
        type=click.IntRange(1, 20),
        default=DEFAULT_ATTEMPTS,
        show_default=True,
        help="Tries per batch: 429, 5xx and network errors are retried with backoff.",
    )(function)
    function = click.option(
        "--concurrency",
        type=click.IntRange(1, 64),
        default=4,
        show_default=True,
        help="Batches in flight at once.",
    )(function)
    return click.option(
        "--batch-size",
        type=click.IntRange(1, 2500),
        default=DEFAULT_BATCH_SIZE,
        show_default=True,
        help="Calls per /v1/batch request (and at most 475 KB).",
    )(function)


@click.command()
@click.argument("source", metavar="CALLS")
@click.option(
    "--url",
    envvar="SEGEMU_URL",
    default=DEFAULT_URL,
    show_default=True,
    callback=check_url,
    metavar="URL",
    help="Where to send: a segemu or any Tracking API host (/v1/batch is added), or a full "
    "URL with its path (env SEGEMU_URL).",
)
@click.option(
    "--write-key",
    "-k",
    metavar="KEY",
    help="The write key for calls that carry none.  [with --force-key: for every call]",
)
@click.option("--force-key", is_flag=True, help="Send every call with --write-key.")
@batching_options
def send(
    source: str,
    url: str,
    write_key: str | None,
    force_key: bool,
    batch_size: int,
    concurrency: int,
    attempts: int,
) -> None:
    """Send CALLS through the Tracking API: a file (JSON Lines, a JSON array or a batch,
    gzip too), `-` for stdin, or one call inline as JSON.

    \b
      segemu send -k my_write_key '{"type": "track", "event": "Signed Up", "userId": "u1"}'
      segemu send -k my_write_key fixtures/spec/ecommerce.jsonl
    """
    import asyncio

    from segemu.traffic.calls import CallFileError, read_calls
    from segemu.traffic.replay import KeyMap
    from segemu.traffic.shipping import batch_url

    keys = KeyMap(default=write_key, override=write_key if force_key else None)
    with calls_source(source) as (path, name):
        try:
            summary = asyncio.run(
                ship_calls(
                    read_calls(path),
                    url,
                    keys,
                    batch_size=batch_size,
                    concurrency=concurrency,
                    attempts=attempts,
                )
            )
        except CallFileError as exc:
            raise click.ClickException(str(exc).replace(str(path), name)) from None
    print_summary(summary, batch_url(url))
    if summary.no_write_key and write_key is None:
        click.echo("  (give a write key with -k KEY)", err=True)
    sys.exit(0 if summary.sent == summary.answered else 1)


@click.command(name="replay")
@click.argument(
    "sources", nargs=-1, metavar="[FILE|DIR]...", type=click.Path(exists=True, path_type=Path)
)
@click.option(
    "--to",
    "url",
    required=True,
    callback=check_url,
    metavar="URL",
    help="The Tracking API to replay to: another segemu (http://127.0.0.1:7879), "
    "https://api.segment.io, or a full URL with its path.",
)
@click.option(
    "--db",
    metavar="PATH",
    type=click.Path(path_type=Path),
    help="Replay the calls stored in this store directory instead of files.",
)
@click.option("--where", "-w", metavar="QUERY", help="With --db: only the stored calls that match.")
@click.option("--write-key", "-k", metavar="KEY", help="Send every call with this write key.")
@click.option(
    "--map-key",
    "key_map",
    multiple=True,
    metavar="OLD=NEW",
    callback=parse_key_map,
    help="Send the calls of write key OLD with NEW; repeatable.",
)
@click.option("--rate", type=click.FloatRange(min=1), metavar="N", help="At most N calls a second.")
@click.option(
    "--state",
    "state_file",
    metavar="FILE",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The checkpoint file an interrupted replay takes up again from.  "
    "[default: .segemu-replay.json]",
)
@click.option("--restart", is_flag=True, help="Ignore the checkpoint; start from the first call.")
@batching_options
def replay_command(
    sources: tuple[Path, ...],
    url: str,
    db: Path | None,
    where: str | None,
    write_key: str | None,
    key_map: dict[str, str],
    rate: float | None,
    state_file: Path | None,
    restart: bool,
    batch_size: int,
    concurrency: int,
    attempts: int,
) -> None:
    """Replay calls (exported files, any call file, or a store with --db) to a Tracking API,
    with their messageIds, in batches. Ctrl-C stops; the same command then takes up where it
    stopped."""
    if bool(sources) == bool(db):
        raise click.UsageError("give either FILEs (or DIRs) to replay, or --db PATH")
    if where and not db:
        raise click.UsageError("--where filters stored calls: use it with --db")
    import asyncio

    from segemu.cli.transfer import stored_calls
    from segemu.traffic.calls import CallFileError, count_calls, read_calls
    from segemu.traffic.replay import KeyMap, ReplayState
    from segemu.traffic.shipping import batch_url

    label = ", ".join(map(str, sources)) if sources else f"store {db}"
    total: int | None
    if db is not None:
        calls_of: Callable[[], Iterator[Call]] = lambda: stored_calls(db, where)  # noqa: E731
        total = None
    else:

        def calls_of() -> Iterator[Call]:
            for path in sources:
                yield from read_calls(path)

        counts = [count_calls(path) for path in sources]
        total = None if None in counts else sum(c for c in counts if c is not None)
    target = batch_url(url)
    state = ReplayState(
        state_file or Path(".segemu-replay.json"),
        ("db:" + str(db.resolve())) if db else "|".join(str(p.resolve()) for p in sources),
        target,
    )
    skip = 0 if restart else state.load()
    keys = KeyMap(mapping=key_map, override=write_key)
    click.echo(f"Replaying {label} to {target}" + (f", from call {skip + 1:,}" if skip else ""))

    from segemu.cli.progress import progress

    saved = [0.0]

    def on_checkpoint(done: int) -> None:
        now = time.monotonic()
        if now - saved[0] >= CHECKPOINT_INTERVAL:
            saved[0] = now
            state.save(done)

    done = [skip]

    def checkpointed(count: int) -> None:
        done[0] = count
        on_checkpoint(count)

    try:
        with progress("replay", total) as advance:
            if skip:
                advance(skip)
            summary = asyncio.run(
                ship_calls(
                    calls_of(),
                    url,
                    keys,
                    batch_size=batch_size,
                    concurrency=concurrency,
                    attempts=attempts,
                    rate=rate,
                    skip=skip,
                    on_progress=advance,
                    on_checkpoint=checkpointed,
                )
            )
    except KeyboardInterrupt:
        state.save(done[0])
        click.echo(
            f"\nInterrupted: calls up to {done[0]:,} are done; run the same command again to "
            f"go on (checkpoint in {state.path})",
            err=True,
        )
        sys.exit(130)
    except CallFileError as exc:
        raise click.ClickException(str(exc)) from None
    state.clear()
    print_summary(summary, target)
    sys.exit(0 if not (summary.refused or summary.failed) else 1)
