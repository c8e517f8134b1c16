"""`segemu function run`: one function file on one input, without running everything.

    segemu function run fixtures/functions/stripe.js --request fixtures/functions/stripe-charge.json
    segemu function run fixtures/functions/crm.js --event event.json --setting apiKey=k

It prints what Segment's "Test function" panel shows: the calls a Source Function emitted or
the requests a Destination / Insert Function made (answered by the [functions] mocks of the
config file, or 200 {} without sending), its console output, its return value and the outcome.
Exit status: 0 when the function ran without an error, 1 otherwise.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from segemu.config import ConfigError


@click.group()
def function() -> None:
    """Run and test Source, Destination and Insert Functions."""


@function.command("run")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--request",
    "request_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A webhook (JSON: {method, headers, query, body}, or a bare body) for onRequest.",
)
@click.option(
    "--event",
    "event_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A Segment call (JSON) for onTrack, onIdentify...; a JSON array runs onBatch.",
)
@click.option(
    "--setting",
    "settings_pairs",
    multiple=True,
    metavar="KEY=VALUE",
    help="A setting of the function (repeatable); VALUE is JSON if it parses, else text.",
)
@click.option("--settings", "settings_json", help="All settings as one JSON object.")
@click.option("--config", "config_file", help="Config file for [functions] mocks and node.")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as one JSON object.")
def run_function(
    file: Path,
    request_file: Path | None,
    event_file: Path | None,
    settings_pairs: tuple[str, ...],
    settings_json: str | None,
    config_file: str | None,
    as_json: bool,
) -> None:
    """Run FILE once, as Segment's "Test function" panel does."""
    import asyncio

    from segemu.config import load_config
    from segemu.functions.config import load_functions_settings
    from segemu.functions.node import find_node
    from segemu.functions.trial import run_once, webhook_request
    from segemu.http.sender import HttpSender

    if (request_file is None) == (event_file is None):
        raise click.UsageError("give one of --request (a Source Function) or --event")
    try:
        config = load_config({}, config_file=config_file)
        functions = load_functions_settings(config)
        node = find_node(config.node)
        settings = _settings(settings_json, settings_pairs)
        path = file.resolve()
        code = path.read_text(encoding="utf-8")
        request = event = None
        if request_file is not None:
            request = webhook_request(_read_json(request_file), str(request_file))
        else:
            assert event_file is not None
            event = _read_json(event_file)
    except (ConfigError, OSError, UnicodeDecodeError) as exc:
        raise click.ClickException(str(exc)) from None

    async def go() -> dict[str, Any]:
        sender = HttpSender()
        try:
            return await run_once(
                node,
                path,
                code,
                settings,
                functions,
                sender,
                request=request,
                event=event,
            )
        finally:
            await sender.close()

    outcome = asyncio.run(go())
    if as_json:
        click.echo(json.dumps(outcome, indent=2))
    else:
        _show(outcome)
    if outcome.get("error") is not None:
        raise SystemExit(1)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: not a JSON file: {exc}") from None


def _settings(settings_json: str | None, pairs: tuple[str, ...]) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    if settings_json:
        try:
            loaded = json.loads(settings_json)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"--settings: not JSON: {exc}") from None
        if not isinstance(loaded, dict):
            raise ConfigError("--settings must be a JSON object")
        settings.update(loaded)
    for pair in pairs:
        key, separator, value = pair.partition("=")
        if not separator or not key:
            raise ConfigError(f"--setting takes KEY=VALUE, got {pair!r}")
        try:
            settings[key] = json.loads(value)
        except json.JSONDecodeError:
            settings[key] = value
    return settings


def _show(outcome: dict[str, Any]) -> None:
    error = outcome.get("error")
    if outcome["outcome"] == "does not compile":
        assert error is not None
        click.secho(
            f"{error.get('file')}:{error.get('line') or '?'}: {error.get('name')}: "
            f"{error.get('message')}",
            fg="red",
        )
        return
    click.secho(f"{outcome['handler']} ({outcome['durationMs']:.1f} ms)", bold=True)
    if outcome["emitted"]:
        click.secho(f"Emitted calls ({len(outcome['emitted'])}):", bold=True)
        for call in outcome["emitted"]:
            click.echo("  " + json.dumps(call))
    if outcome["fetches"]:
        click.secho(f"Requests ({len(outcome['fetches'])}):", bold=True)
        for fetch in outcome["fetches"]:
            answer = fetch.get("response", {}).get("status", fetch.get("error"))
            click.echo(f"  {fetch['method']} {fetch['url']} -> {answer} ({fetch['answeredBy']})")
            if fetch["body"] not in (None, ""):
                click.echo("    " + json.dumps(fetch["body"]))
    if outcome["logs"]:
        click.secho("Logs:", bold=True)
        for line in outcome["logs"]:
            click.echo(f"  {line['level']}: {line['message']}")
    if outcome["returned"] is not None:
        click.secho("Returned:", bold=True)
        click.echo("  " + json.dumps(outcome["returned"]))
    if error is None:
        click.secho("Outcome: success", fg="green")
    else:
        # The detail names the error type's outcome and the line (functions/deliver.py).
        detail = outcome.get("detail") or f"{error.get('name')}: {error.get('message')}"
        click.secho(f"Outcome: {outcome['outcome']}: {detail}", fg="red")
