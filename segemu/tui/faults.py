"""The faults panel: the fault rules on the Tracking API (segemu/faults), and each request they
failed, newest first, with the X-Retry-Count the SDK sent and whether the calls it refused
arrived later (through a retry) or are still missing."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

NONE_YET = (
    "No fault rules. Add one with `segemu run --fault 503,times=2`, [faults.<id>] in "
    "segemu.toml, POST /_segemu/faults, or `with segemu.faults(status=503):` in pytest."
)


def selectors(rule: dict[str, Any]) -> str:
    picked = [
        f"{key}={rule[key]}"
        for key in ("route", "writeKey", "type", "event", "where")
        if rule.get(key) is not None
    ]
    trigger = [
        f"{key}={rule[key]}"
        for key in ("times", "every", "probability", "after", "during")
        if rule.get(key) is not None
    ]
    return " ".join(picked + trigger) or "every request"


def outcome(entry: dict[str, Any]) -> Text:
    """What became of the calls a faulted request carried."""
    refused = int(entry.get("refused") or 0)
    missing = len(entry.get("missing") or [])
    arrived = len(entry.get("arrived") or {})
    if refused == 0:
        return Text("answered late", style="dim")
    if missing == 0:
        return Text(f"all {arrived} arrived later", style="green")
    return Text(f"{missing} of {refused} missing", style="bold red")


class FaultsView(Vertical):
    def compose(self) -> ComposeResult:
        yield Static("Fault rules", classes="section")
        yield DataTable(id="fault-rules", cursor_type="row")
        yield Static("Faulted requests, newest first", classes="section")
        yield DataTable(id="faulted", cursor_type="row")

    def on_mount(self) -> None:
        self.query_one("#fault-rules", DataTable).add_columns(
            "id", "effect", "selects", "seen", "fired"
        )
        self.query_one("#faulted", DataTable).add_columns(
            "at", "rule", "effect", "route", "write key", "X-Retry-Count", "calls", "since"
        )

    def show(self, listing: dict[str, Any] | None) -> None:
        rules = self.query_one("#fault-rules", DataTable)
        faulted = self.query_one("#faulted", DataTable)
        rules.clear()
        faulted.clear()
        if listing is None:
            rules.add_row("", "this segemu has no faults API", "", "", "")
            return
        for rule in listing.get("rules") or []:
            rules.add_row(
                rule.get("id", ""),
                rule.get("description", ""),
                selectors(rule),
                str(rule.get("seen", 0)),
                str(rule.get("fired", 0)),
            )
        if not listing.get("rules"):
            rules.add_row("", NONE_YET, "", "", "")
        for entry in listing.get("faulted") or []:
            retry = entry.get("retryCount")
            faulted.add_row(
                str(entry.get("at", ""))[11:23],
                entry.get("rule", ""),
                entry.get("reason", "").partition(": ")[2] or entry.get("effect", ""),
                entry.get("route", ""),
                entry.get("writeKey") or "",
                "-" if retry is None else str(retry),
                str(entry.get("calls", 0)),
                outcome(entry),
            )
