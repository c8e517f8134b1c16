"""`segemu profiles show user_id:u1` and `segemu profiles search TEXT`: the identity graph's
profiles of a running segemu, read through the control API (/_segemu/profiles)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import click

from segemu.cli.commands import _client, _fail_on_api_error, _url_option

# How many calls and identity changes `show` prints (the newest); --json has them all.
SHOWN = 20


@click.group()
def profiles() -> None:
    """Profiles of the identity graph: show one, or search them."""


def _space_options(function: Any) -> Any:
    function = click.option(
        "--collection",
        type=click.Choice(["users", "accounts"]),
        default="users",
        show_default=True,
        help="Users, or accounts (group calls).",
    )(function)
    return click.option(
        "--space", metavar="SPACE", help="A space's name.  [default: the default space]"
    )(function)


@profiles.command()
@_url_option
@_space_options
@click.argument("external_id")
@click.option("--json", "as_json", is_flag=True, help="Print the JSON the control API gave.")
@_fail_on_api_error
def show(
    url: str,
    write_key: str | None,
    space: str | None,
    collection: str,
    external_id: str,
    as_json: bool,
) -> None:
    """The profile with EXTERNAL_ID (user_id:u1, anonymous_id:a1, email:x@y.z,
    segment_id:use_…): identifiers, traits with history, accounts, merges and the identity
    changes of its calls."""
    del write_key
    params = {"collection": collection, **({"space": space} if space else {})}
    detail = _client(url, None).request("GET", f"/profiles/{quote(external_id, safe=':')}", params)
    if as_json:
        click.echo(json.dumps(detail, indent=2))
        return
    from segemu.cli.term import console, escape, fancy

    lines = describe(detail)
    if not fancy():
        click.echo("\n".join(lines))
        return
    # On a terminal the profile's id and each section's heading stand out.
    out = console()
    for number, line in enumerate(lines):
        style = "bold cyan" if number == 0 else None if line.startswith(" ") else "bold"
        out.print(f"[{style}]{escape(line)}[/]" if style else escape(line))


def describe(detail: dict[str, Any]) -> list[str]:
    lines = [
        f"{detail['segment_id']}  ({detail['collection']} of space {detail['space']})",
        f"  created {detail['created_at']}, updated {detail['updated_at']}, "
        f"{detail['calls']} call(s)",
    ]
    if detail.get("merged"):
        lines.append(f"  merged into it: {', '.join(detail['merged'])}")
    lines.append("identifiers")
    for external in detail["external_ids"]:
        lines.append(
            f"  {external['type']}:{external['id']:<28} first seen {external['first_seen']}, "
            f"last seen {external['last_seen']} (source {external['source']}, "
            f"call #{external['record_id']})"
        )
    lines.append("traits" if detail["traits"] else "traits: none")
    history = detail.get("trait_history") or {}
    for name, trait in (detail.get("trait_details") or {}).items():
        earlier = [json.dumps(old["value"]) for old in history.get(name, [])][-3:]
        was = f", was {' then '.join(earlier)}" if earlier else ""
        kind = "" if trait["class"] == "trait" else f" [{trait['class']}]"
        lines.append(f"  {name} = {json.dumps(trait['value'])}{kind}  ({trait['updated_at']}{was})")
    linked = detail.get("accounts") or detail.get("users") or []
    if linked:
        lines.append("accounts" if "accounts" in detail else "users")
        for other in linked:
            ids = ", ".join(f"{e['type']}:{e['id']}" for e in other["external_ids"])
            lines.append(f"  {other['segment_id']}  {ids}")
    changes = detail.get("identity_changes") or []
    if changes:
        lines.append("identity changes")
        for call in changes[-SHOWN:]:
            for change in call["changes"]:
                lines.append(f"  #{call['id']:<6} {call['type']:<9} {_change(change)}")
    events = detail.get("events") or []
    if events:
        lines.append(f"calls (newest {min(len(events), SHOWN)})")
        for event in events[-SHOWN:]:
            name = f" {event['event']}" if event.get("event") else ""
            lines.append(f"  #{event['id']:<6} {event['type']}{name}  {event['receivedAt']}")
    return lines


def _change(change: dict[str, Any]) -> str:
    action = change["action"]
    if action == "created":
        return f"created {change['segment_id']}"
    if action == "added":
        return f"added {change['external_id']}"
    if action == "merged":
        return f"merged {change['from']} into {change['into']} (by {change.get('by')})"
    if action == "linked":
        return f"linked to account {change['account_id']} (group_id:{change['group_id']})"
    return f"{action} {change.get('external_id', '')}: {change.get('reason', '')}"


@profiles.command()
@_url_option
@_space_options
@click.argument("text", required=False)
@click.option(
    "-n",
    "--limit",
    type=click.IntRange(1, 1000),
    default=20,
    show_default=True,
    help="At most N profiles.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the JSON the control API gave.")
@_fail_on_api_error
def search(
    url: str,
    write_key: str | None,
    space: str | None,
    collection: str,
    text: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """Profiles whose identifiers, segment id or traits contain TEXT (all of them without
    it), most recently updated first."""
    del write_key
    params = {"collection": collection, "limit": str(limit)}
    if space:
        params["space"] = space
    if text:
        params["q"] = text
    answer = _client(url, None).request("GET", "/profiles", params)
    if as_json:
        click.echo(json.dumps(answer["profiles"], indent=2))
        return
    if not answer["profiles"]:
        click.echo("no profile matches" if text else "no profiles yet")
        return
    rows = []
    for profile in answer["profiles"]:
        ids = ", ".join(f"{e['type']}:{e['id']}" for e in profile["external_ids"][:4])
        traits = ", ".join(f"{k}={json.dumps(v)}" for k, v in list(profile["traits"].items())[:3])
        rows.append((profile["segment_id"], ids, traits))
    from segemu.cli.term import escape, fancy, print_table

    if fancy():
        print_table(
            ["segment_id", "identifiers", "traits"],
            [[f"[bold]{escape(sid)}[/]", escape(ids), escape(traits)] for sid, ids, traits in rows],
        )
        return
    for segment_id, ids, traits in rows:
        click.echo(f"{segment_id}  {ids}  {traits}".rstrip())
