"""`segemu export` and `segemu import`: a store's calls out to files, and files into a store,
a call at a time (segemu/traffic/)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import click

from segemu.config import MEMORY_DB, ConfigError, load_config

# Imported by each command when it runs: `segemu --version` stays cheap (tests/test_cli.py).
if TYPE_CHECKING:
    from segemu.message import Record
    from segemu.query import EventFilter
    from segemu.traffic.calls import Call
    from segemu.traffic.storefiles import StoreFiles

FORMATS = ("raw", "normalized", "archive")


def _filter(where: str | None) -> EventFilter | None:
    from segemu.query import EventFilter, QueryError, parse_query

    if not where:
        return None
    try:
        query = parse_query(where)
    except QueryError as exc:
        raise click.UsageError(f"--where: {exc}") from None
    if query.reads_requests:
        raise click.UsageError(
            "--where: what destinations received is built by a running segemu; "
            "filter on the calls themselves here"
        )
    return EventFilter(query=query)


def stored_records(
    db: Path, where: str | None, files: StoreFiles | None = None
) -> Iterator[Record]:
    from segemu.traffic.storefiles import StoreFiles, StoreFilesError

    matcher = _filter(where)
    files = files or StoreFiles(db)
    try:
        for record in files.records():
            if matcher is None or matcher.matches(record):
                yield record
    except StoreFilesError as exc:
        raise click.ClickException(str(exc)) from None


def stored_calls(db: Path, where: str | None) -> Iterator[Call]:
    """The stored calls of a store directory, as replay sends them (the call as sent)."""
    from segemu.traffic.calls import record_line, to_call

    for record in stored_records(db, where):
        yield to_call(record_line(record))


def _default_db(db: str | None, config_file: str | None) -> Path:
    try:
        config = load_config({"db": db} if db else {}, config_file=config_file)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    if config.in_memory:
        raise click.UsageError(f"--db {MEMORY_DB} has no files: give a store directory")
    return Path(config.db)


@click.command()
@click.option(
    "--db",
    metavar="PATH",
    help="The store directory to export.  [default: the config's db, .segemu/db]",
)
@click.option("--where", "-w", metavar="QUERY", help="Only the calls that match this query.")
@click.option(
    "--format",
    "-f",
    "layout",
    type=click.Choice(FORMATS),
    default="raw",
    show_default=True,
    help="raw: each call as sent, with its write key, receive time and route; normalized: "
    "each call as Segment stores it; archive: the folders of Segment's S3 destination.",
)
@click.option(
    "--output",
    "-o",
    metavar="PATH",
    type=click.Path(path_type=Path),
    help="The file to write (.gz compresses), or the directory of an archive.  [default: stdout]",
)
@click.option(
    "--config",
    "config_file",
    metavar="FILE",
    type=click.Path(dir_okay=False),
    help="Config file (TOML), for its db.",
)
def export(
    db: str | None, where: str | None, layout: str, output: Path | None, config_file: str | None
) -> None:
    """Write stored calls, oldest first, as JSON Lines or as Segment's S3 archive.

    Reads the store's files one at a time, so it works while `segemu run` is writing them.
    """
    from segemu.cli.progress import progress
    from segemu.traffic.archive import ArchiveWriter, JsonLinesWriter
    from segemu.traffic.calls import normalized_line, record_line
    from segemu.traffic.storefiles import StoreFiles, StoreFilesError

    directory = _default_db(db, config_file)
    files = StoreFiles(directory)
    try:
        total_bytes = files.size()
    except StoreFilesError as exc:
        raise click.ClickException(str(exc)) from None
    if layout == "archive":
        if output is None:
            raise click.UsageError("--format archive writes a folder tree: give it with -o DIR")
        archive = ArchiveWriter(output)
        lines = None
    else:
        archive = None
        lines = (
            JsonLinesWriter.to_path(output)
            if output is not None
            else JsonLinesWriter(sys.stdout.buffer)
        )
    as_line = record_line if layout == "raw" else normalized_line
    matcher = _filter(where)
    try:
        with progress("export", total_bytes, unit="bytes") as advance:
            for record in files.records(on_chunk=advance):
                if matcher is not None and not matcher.matches(record):
                    continue
                if archive is not None:
                    archive.write(
                        normalized_line(record),
                        record["receivedAt"],
                        record.get("source") or record["writeKey"] or "unknown",
                    )
                elif lines is not None:
                    lines.write(as_line(record), record["receivedAt"])
    except StoreFilesError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        if archive is not None:
            archive.close()
        if lines is not None and output is not None:
            lines.close()
        elif lines is not None:
            sys.stdout.buffer.flush()
    written = archive.written if archive is not None else lines.written if lines else 0
    where_to = f" to {output}" if output is not None else ""
    skipped = f"; {files.skipped} damaged document(s) skipped" if files.skipped else ""
    click.echo(f"exported {written:,} call(s) from {directory}{where_to}{skipped}", err=True)


@click.command(name="import")
@click.argument(
    "sources",
    nargs=-1,
    required=True,
    metavar="FILE|DIR...",
    type=click.Path(exists=True, path_type=Path),
)
@click.option(
    "--db",
    metavar="PATH",
    help="The store directory to load into.  [default: the config's db, .segemu/db]",
)
@click.option(
    "--write-key",
    "-k",
    metavar="KEY",
    help="The write key of calls that carry none (plain call files).",
)
@click.option(
    "--retention",
    type=click.IntRange(1),
    metavar="N",
    help="The store keeps at most N calls, oldest out first.  [default: the config's, 100000]",
)
@click.option(
    "--config",
    "config_file",
    metavar="FILE",
    type=click.Path(dir_okay=False),
    help="Config file (TOML): its sources, tracking plans and destinations judge the calls "
    "as `segemu run` would.",
)
def import_(
    sources: tuple[Path, ...],
    db: str | None,
    write_key: str | None,
    retention: int | None,
    config_file: str | None,
) -> None:
    """Load calls from files (an export, an archive, any call file) into a store, through
    the same pipeline as the Tracking API. A messageId already in the store is skipped, so
    importing a file twice changes nothing."""
    from segemu.cli.progress import progress
    from segemu.emulator import create_emulator
    from segemu.storage import StorageError
    from segemu.traffic.calls import CallFileError, count_calls, read_calls
    from segemu.traffic.importer import import_calls

    directory = _default_db(db, config_file)
    try:
        config = load_config(
            {"db": str(directory), "retention": retention}, config_file=config_file
        )
        emulator = create_emulator(config)
    except (ConfigError, StorageError) as exc:
        raise click.ClickException(str(exc)) from None
    counts = [count_calls(path) for path in sources]
    total = None if None in counts else sum(c for c in counts if c is not None)

    def calls() -> Iterator[Call]:
        for path in sources:
            yield from read_calls(path)

    try:
        with progress("import", total) as advance:
            summary = import_calls(emulator, calls(), write_key, advance)
    except CallFileError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        emulator.store.close()
    statuses = summary.statuses
    click.echo(
        f"imported {summary.imported:,} call(s) into {directory} "
        f"({statuses['accepted']:,} accepted, {statuses['rejected']:,} rejected); "
        f"{summary.skipped:,} already there (same messageId)"
        + (
            f"; {summary.refused:,} without a write key (give one with -k)"
            if summary.refused
            else ""
        )
    )
