"""`segemu tail`: follow /_segemu/stream (server-sent events) and print each call.

Standard library only. When segemu goes away the tail waits for it to come back and resumes
after the last record it printed (the stream's `after` / Last-Event-ID), so restarting segemu
while tailing loses nothing.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator

import click

from segemu.cli.term import echo_record_line
from segemu.message import Record

RECONNECT_SECONDS = 1.0
# Longer than the stream's heartbeat (15 s): silence beyond this means the server is gone.
READ_TIMEOUT = 45.0


def records(url: str, params: dict[str, str]) -> Iterator[Record]:
    """The records of one stream connection, as they arrive."""
    address = f"{url.rstrip('/')}/_segemu/stream?{urllib.parse.urlencode(params)}"
    with urllib.request.urlopen(address, timeout=READ_TIMEOUT) as response:
        kind, data = "message", []
        for raw in response:
            line = raw.decode().rstrip("\r\n")
            if line.startswith("event:"):
                kind = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].strip())
            elif not line:
                if kind == "record" and data:
                    yield json.loads("\n".join(data))
                elif kind == "lagged" and data:
                    lost = json.loads(data[0]).get("lost")
                    click.echo(f"... {lost} call(s) not shown: the terminal fell behind", err=True)
                kind, data = "message", []


def follow(url: str, write_key: str | None, where: str | None, backlog: int, as_json: bool) -> None:
    params = {
        name: value
        for name, value in (("writeKey", write_key), ("q", where), ("backlog", str(backlog)))
        if value
    }
    last_id: int | None = None
    announced = False
    while True:
        if last_id is not None:
            params.pop("backlog", None)
            params["after"] = str(last_id)
        try:
            for record in records(url, params):
                announced = False
                last_id = record["id"]
                if as_json:
                    click.echo(json.dumps(record))
                else:
                    echo_record_line(record)
        except urllib.error.HTTPError as error:
            message = json.loads(error.read() or b"{}").get("message", error.reason)
            raise click.ClickException(f"{url}: {message}") from None
        except (urllib.error.URLError, OSError):
            pass
        if not announced:
            click.echo(f"waiting for segemu at {url} ...", err=True)
            announced = True
        time.sleep(RECONNECT_SECONDS)
