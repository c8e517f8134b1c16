"""`segemu run --forward URL --forward-key KEY`: the [forward] table from flags (over the
config file's), and the line that says where calls go (segemu/traffic/forward.py)."""

from __future__ import annotations

import dataclasses

import click

from segemu.config import Config
from segemu.traffic.forward import ForwardConfigError, Forwarder, parse_forward


def with_forward(config: Config, url: str | None, keys: tuple[str, ...]) -> Config:
    table = dict(config.sections.get("forward") or {})
    if url:
        table["url"] = url
    if keys:
        table["write_keys"] = list(keys)
    try:
        parse_forward(table, "--forward")
    except ForwardConfigError as exc:
        raise click.UsageError(
            str(exc).replace("'url'", "--forward URL").replace("'write_keys'", "--forward-key")
        ) from None
    return dataclasses.replace(config, sections={**config.sections, "forward": table})


def describe_forward(forwarder: Forwarder | None) -> str | None:
    """The banner's line: forwarding must never be a surprise."""
    if forwarder is None:
        return None
    settings = forwarder.config
    keys = "every write key" if "*" in settings.write_keys else ", ".join(settings.write_keys)
    mapped = ""
    if settings.key_map:
        mapped = " (as " + ", ".join(f"{k} -> {v}" for k, v in settings.key_map.items()) + ")"
    return (
        f"  Forward: accepted calls of {keys}{mapped} are relayed to {settings.endpoint}; "
        f"status: /_segemu/forward"
    )


def announce(config: Config) -> None:
    settings = parse_forward(config.sections.get("forward"))
    if settings is not None:
        keys = ", ".join(settings.write_keys)
        click.echo(f"segemu forwards accepted calls of {keys} to {settings.endpoint}", err=True)
