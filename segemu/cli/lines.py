"""One readable line per record: the headless `segemu run`, `segemu events` and `segemu tail`
print the same thing. Imports nothing heavy, so the CLI's client commands start fast."""

from __future__ import annotations

from typing import Any

from segemu.message import Record


def format_line(record: Record) -> str:
    event: dict[str, Any] = record["event"]
    kind = record["type"] or "?"
    if kind == "track":
        name = event.get("event")
    elif kind in ("page", "screen"):
        name = event.get("name")
    elif kind == "group":
        name = event.get("groupId")
    elif kind == "alias":
        name = f"{event.get('previousId')} -> {event.get('userId')}"
    else:
        name = None
    label = f'"{name}"' if isinstance(name, str) and kind != "alias" else (name or "")
    who = (
        f"userId={event['userId']}"
        if event.get("userId")
        else f"anonymousId={event['anonymousId']}"
        if event.get("anonymousId")
        else "no user"
    )
    line = (
        f"{record['receivedAt'][11:23]}  {record['status']:<9} {kind:<8} {label:<30} "
        f"{who}  key={record['writeKey'] or '-'}"
    )
    if record["status"] != "accepted" and record["reason"]:
        line += f"  ({record['reason']})"
    elif "arrival" in record and "note" in record["arrival"]:
        line += f"  ({record['arrival']['note']})"
    line = line.rstrip()
    # What the tracking plan says (segemu/protocols), so `segemu run` shows it as it happens.
    violations = record.get("violations")
    if violations:
        more = f" (+{len(violations) - 1} more)" if len(violations) > 1 else ""
        line += f"  ! {violations[0]['message']}{more}"
    blocked = (record.get("protocols") or {}).get("blocked")
    if blocked:
        line += "  [blocked]"
    return line
