"""Output for a person at a terminal: colour and tables (Rich) when stdout is a TTY, the same
plain lines as always for a pipe, and none of it with `--json` or NO_COLOR (no-color.org).

Rich comes with Textual, which segemu depends on; it is imported only when a table is drawn,
so `segemu events | grep` starts as fast as before.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from rich.console import Console

# Rich styles of a call's status and a delivery's, shared by every command.
STATUS_STYLES = {
    "accepted": "green",
    "rejected": "bold red",
    "duplicate": "yellow",
    "delivered": "green",
    "filtered": "dim",
    "failed": "bold red",
    "retrying": "yellow",
    "pending": "dim",
}


def fancy() -> bool:
    """Tables and colour: stdout is a terminal, and NO_COLOR (any value) is not set."""
    if "NO_COLOR" in os.environ or os.environ.get("TERM") == "dumb":
        return False
    return sys.stdout.isatty()


def console() -> Console:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False)


def status(text: str) -> str:
    """A status word with its colour, as Rich markup."""
    style = STATUS_STYLES.get(text)
    return f"[{style}]{text}[/]" if style else escape(text)


def escape(text: Any) -> str:
    from rich.markup import escape as rich_escape

    return rich_escape(str(text))


def print_table(
    columns: Sequence[str], rows: Sequence[Sequence[str]], *, title: str | None = None
) -> None:
    """A table of Rich markup cells (escape what came from a user)."""
    from rich.box import SIMPLE_HEAD
    from rich.table import Table

    table = Table(*columns, box=SIMPLE_HEAD, title=title, title_justify="left", pad_edge=False)
    for row in rows:
        table.add_row(*row)
    console().print(table)


def echo_records(records: list[Any]) -> None:
    """Calls, one per line (plain) or as a table (fancy)."""
    from segemu.cli.lines import format_line

    if not fancy():
        for record in records:
            click.echo(format_line(record))
        return
    rows = []
    for record in records:
        event = record["event"]
        name = event.get("event") or event.get("name") or event.get("groupId") or ""
        who = event.get("userId") or (
            f"anon {event['anonymousId']}" if event.get("anonymousId") else "-"
        )
        why = record["reason"] or ""
        violations = record.get("violations") or []
        if violations and not why:
            why = f"! {violations[0]['message']}"
        rows.append(
            [
                f"[dim]{record['receivedAt'][11:23]}[/]",
                status(record["status"]),
                escape(record["type"] or "?"),
                escape(name),
                escape(who),
                f"[dim]{escape(record['writeKey'] or '-')}[/]",
                f"[red]{escape(why)}[/]" if why else "",
            ]
        )
    print_table(["time (UTC)", "status", "type", "event / name", "user", "key", "why"], rows)


def echo_record_line(record: Any) -> None:
    """One call as `tail` prints it: the plain line, its status coloured on a terminal."""
    from segemu.cli.lines import format_line

    line = format_line(record)
    if not fancy():
        click.echo(line)
        return
    word = record["status"]
    head, _, rest = line.partition(f"  {word}")
    console().print(f"[dim]{escape(head)}[/]  {status(word)}{escape(rest)}")


def echo_styled(text: str, style: str) -> None:
    """A line in a Rich style on a terminal (a verdict in green or red), plain otherwise."""
    if fancy():
        console().print(f"[{style}]{escape(text)}[/]")
    else:
        click.echo(text)
