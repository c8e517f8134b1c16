"""The `segemu` command. Importing this module stays cheap: commands import what they use."""

from __future__ import annotations

import click

from segemu import __version__
from segemu.config import DEFAULT_DB, DEFAULT_PORT, MEMORY_DB, ConfigError, load_config


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="segemu")
def cli() -> None:
    """segemu: a local emulator of Segment. Point any Segment SDK at it and see every call."""


@cli.command()
@click.option("--host", help="Interface to listen on.  [default: 127.0.0.1]")
@click.option("-p", "--port", type=int,
              help=f"Port to listen on; -p 0 picks a free one.  [default: {DEFAULT_PORT}]")
@click.option("--db", metavar="PATH",
              help=f"Directory of the event store, or {MEMORY_DB} for none.  "
                   f"[default: {DEFAULT_DB}]")
@click.option("--retention", type=int, metavar="N",
              help="Keep at most N received calls; the oldest go first.  [default: 100000]")
@click.option("--flush-interval", type=float, metavar="SECONDS",
              help="How often the store is written to disk.  [default: 0.2]")
@click.option("--config", "config_file", metavar="FILE", type=click.Path(dir_okay=False),
              help="Config file (TOML).  [default: ./segemu.toml or [tool.segemu] in "
                   "./pyproject.toml]")
@click.option("--no-ui", is_flag=True, help="Headless: print one line per received call.")
@click.option("-q", "--quiet", is_flag=True, default=None,
              help="Print nothing per call (headless).")
def run(host: str | None, port: int | None, db: str | None, retention: int | None,
        flush_interval: float | None, config_file: str | None, no_ui: bool,
        quiet: bool | None) -> None:
    """Serve the Segment HTTP API, store every call, and show it as it arrives.

    Settings come from these options, then SEGEMU_* environment variables (SEGEMU_PORT, ...),
    then the config file.
    """
    flags = {"host": host, "port": port, "db": db, "retention": retention,
             "flush_interval": flush_interval, "quiet": quiet}
    try:
        config = load_config(flags, config_file=config_file)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    # The terminal inspector arrives with its own issue; until then every run is headless.
    del no_ui
    import asyncio

    from segemu.console import serve

    asyncio.run(serve(config))


def main() -> None:
    cli(prog_name="segemu")
