"""Reading files of calls, and showing violations and lint findings the way a person reads
them: shared by `segemu plan`, the pytest plugin's failures and the control API's clients."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import orjson

# Record fields that tell a stored record (`segemu events --json`) from a call as sent.
_RECORD_FIELDS = ("raw", "event", "receivedAt", "status")
# Lines shown per record before "... and N more".
SHOWN_PER_RECORD = 10


class CallsFileError(ValueError):
    """A file of calls that cannot be read; the message names the file and the line."""


def read_calls(path: Path) -> list[Any]:
    """The calls in a file: JSON Lines (one call per line), a JSON array, a batch
    (`{"batch": [...]}`), or records as `segemu events --json` prints them (their `raw`)."""
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise CallsFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    stripped = text.strip()
    calls: list[Any]
    if stripped.startswith(b"[") or (stripped.startswith(b"{") and b"\n{" not in stripped):
        try:
            data = orjson.loads(stripped)
        except orjson.JSONDecodeError as exc:
            raise CallsFileError(
                f"{path}: not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
            ) from None
        if isinstance(data, dict) and isinstance(data.get("batch"), list):
            calls = data["batch"]
        elif isinstance(data, dict) and isinstance(data.get("events"), list):
            calls = data["events"]  # GET /_segemu/events
        else:
            calls = data if isinstance(data, list) else [data]
    else:
        calls = []
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                calls.append(orjson.loads(line))
            except orjson.JSONDecodeError as exc:
                raise CallsFileError(
                    f"{path}: line {number} is not valid JSON: {exc.msg}"
                ) from None
    return [call["raw"] if _is_record(call) else call for call in calls]


def _is_record(call: Any) -> bool:
    return isinstance(call, dict) and all(name in call for name in _RECORD_FIELDS)


def violation_entry(record: Mapping[str, Any]) -> dict[str, Any]:
    """A record trimmed to what a violations listing shows (GET /_segemu/violations)."""
    event = record["event"]
    return {
        "id": record["id"],
        "messageId": record["messageId"],
        "writeKey": record["writeKey"],
        "source": record.get("source"),
        "type": record["type"],
        "name": event.get("event") or event.get("name"),
        "receivedAt": record["receivedAt"],
        "violations": record.get("violations", []),
        "lint": record.get("lint", []),
        "protocols": record.get("protocols"),
    }


# What a violations listing can be about: tracking-plan violations, lint findings, or either.
LISTING_KINDS = ("violations", "lint", "all")


def listing_kind_problem(kind: str) -> str | None:
    if kind in LISTING_KINDS:
        return None
    return f"kind must be one of {', '.join(LISTING_KINDS)}, got {kind!r}"


def violations_listing(
    records: Iterable[Mapping[str, Any]], kind: str, limit: int, strict: bool
) -> dict[str, Any]:
    """The answer of GET /_segemu/violations (and of every fixture's `violations()`): the
    newest `limit` records with violations (or lint findings, by `kind`), and totals over all
    of them."""
    by_type: Counter[str] = Counter()
    by_rule: Counter[str] = Counter()
    found: list[dict[str, Any]] = []
    for record in records:
        violations = record.get("violations") or []
        findings = record.get("lint") or []
        wanted = (
            violations
            if kind == "violations"
            else findings
            if kind == "lint"
            else violations or findings
        )
        if not wanted:
            continue
        by_type.update(v["type"] for v in violations)
        by_rule.update(f["rule"] for f in findings)
        if len(found) < limit:
            found.append(violation_entry(record))
    return {
        "events": found,
        "count": len(found),
        "totals": {
            "violations": sum(by_type.values()),
            "byType": dict(by_type),
            "lint": sum(by_rule.values()),
            "byRule": dict(by_rule),
        },
        "strict": strict,
    }


def name_of(record: Mapping[str, Any]) -> str:
    """ "#12 track 'Order Completed'", from a record or a violations entry."""
    event = record.get("event") or {}
    name = record["name"] if "name" in record else event.get("event") or event.get("name")
    kind = record.get("type") or "?"
    return f"#{record.get('id')} {kind}" + (f" {name!r}" if isinstance(name, str) and name else "")


def record_lines(
    record: Mapping[str, Any], *, violations: bool = True, lint: bool = False, indent: str = "    "
) -> list[str]:
    lines: list[str] = []
    found: list[tuple[str, str]] = []
    if violations:
        found += [("violation", v["message"]) for v in record.get("violations") or ()]
    if lint:
        found += [(f"lint {f['rule']}", f["message"]) for f in record.get("lint") or ()]
    for label, message in found[:SHOWN_PER_RECORD]:
        lines.append(f"{indent}{label}: {message}")
    if len(found) > SHOWN_PER_RECORD:
        lines.append(f"{indent}... and {len(found) - SHOWN_PER_RECORD} more")
    blocked = (record.get("protocols") or {}).get("blocked")
    if violations and blocked:
        lines.append(f"{indent}blocked for every destination: {blocked}")
    return lines


def report(
    records: Iterable[Mapping[str, Any]], *, violations: bool = True, lint: bool = False
) -> list[str]:
    """Each record that has something to show, named, with its violations (and lint)."""
    lines: list[str] = []
    for record in records:
        shown = record_lines(record, violations=violations, lint=lint)
        if shown:
            lines.append(f"  {name_of(record)} at {record.get('receivedAt')}")
            lines.extend(shown)
    return lines
