"""Event detail: what the SDK sent (raw), what Segment would store (normalized), what each
destination would receive, and what the tracking plan says, side by side as DESIGN.md asks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import orjson
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer, Static, TabbedContent, TabPane

from segemu.message import Record
from segemu.tui.backend import Capability
from segemu.tui.columns import event_name, findings
from segemu.tui.diff import DiffScreen
from segemu.tui.jsontree import JsonTree
from segemu.tui.messages import OpenProfile


def headline(record: Record) -> Text:
    text = Text()
    text.append(f"#{record['id']} ", style="bold")
    text.append(f"{record['type'] or '(no type)'} ", style="bold")
    name = event_name(record)
    if name:
        text.append(f"{name!r} ")
    tone = {"accepted": "green", "rejected": "red", "duplicate": "yellow"}[record["status"]]
    text.append(record["status"], style=f"bold {tone}")
    if record["reason"]:
        text.append(f": {record['reason']}", style=tone)
    event = record["event"]
    text.append(
        f"\nreceived {record['receivedAt']} on {record['route']}  "
        f"messageId {record['messageId']}  "
        f"source {record.get('source') or '-'} (write key {record['writeKey'] or '-'})",
        style="dim",
    )
    who = [
        f"userId {event['userId']}" if event.get("userId") else "",
        f"anonymousId {event['anonymousId']}" if event.get("anonymousId") else "",
    ]
    resolved = record.get("identity")
    if isinstance(resolved, dict) and resolved.get("segment_id"):
        who.append(f"profile {resolved['segment_id']} (p opens it)")
    if any(who):
        text.append("\n" + "  ".join(w for w in who if w), style="dim")
    for warning in record["warnings"]:
        text.append(f"\nwarning: {warning}", style="yellow")
    return text


def deliveries_view(record: Record) -> dict[str, Any] | None:
    """The deliveries keyed by a readable label: `mixpanel · Mixpanel (Actions) · failed`."""
    deliveries = record.get("deliveries")
    if not isinstance(deliveries, dict):
        return None
    shown: dict[str, Any] = {}
    for key, delivery in deliveries.items():
        if not isinstance(delivery, dict):
            shown[key] = delivery
            continue
        label = " · ".join(
            str(part) for part in (key, delivery.get("name"), delivery.get("status")) if part
        )
        if delivery.get("reason"):
            label += f" ({delivery['reason']})"
        shown[label] = {
            k: v
            for k, v in delivery.items()
            if k not in ("destination", "name", "status", "reason")
        }
    return shown


class DetailScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "app.pop_screen", "Back"),
        Binding("y", "copy", "Copy JSON"),
        Binding("m", "mark", "Mark for diff"),
        Binding("d", "diff", "Diff with marked"),
        # Also here, not only on the tree: the tab strip has the focus after a click on it or
        # Shift+Tab, and the keys must still reach the JSON shown.
        Binding("e", "unfold_all", "Unfold all", show=False),
        Binding("E", "fold_all", "Fold all", show=False),
        Binding("p", "profile", "Profile"),
    ]

    def __init__(
        self,
        record: Record,
        *,
        destinations: Capability,
        protocols: Capability,
        marked: Callable[[], Record | None],
        mark: Callable[[int], None],
        tab: str | None = None,
    ) -> None:
        super().__init__()
        self.tab = tab
        self.record = record
        self.destinations = destinations
        self.protocols = protocols
        self._marked = marked
        self._mark = mark

    def compose(self) -> ComposeResult:
        record = self.record
        yield Static(headline(record), id="detail-title")
        with TabbedContent(id="detail-tabs", initial=self.tab or "tab-event"):
            with TabPane("Normalized", id="tab-event"):
                yield JsonTree("event", record["event"], id="json-event")
            with TabPane("Raw (as sent)", id="tab-raw"):
                yield JsonTree("raw", record["raw"], id="json-raw")
            with TabPane("Destinations", id="tab-deliveries"):
                shown = deliveries_view(record)
                if shown is None or (not shown and not self.destinations.on):
                    yield Static(self._off("Mock destinations", self.destinations), classes="off")
                elif not shown:
                    yield Static("No destination received this call.", classes="off")
                else:
                    yield JsonTree("deliveries", shown, id="json-deliveries")
            with TabPane("Tracking plan", id="tab-plan"):
                if "violations" in record or "lint" in record:
                    violations, lint = findings(record)
                    yield JsonTree("plan", {"violations": violations, "lint": lint}, id="json-plan")
                else:
                    yield Static(self._off("Tracking plans", self.protocols), classes="off")
            with TabPane("Record", id="tab-record"):
                yield JsonTree("record", record, id="json-record")
        yield Footer()

    def _active_tree(self) -> JsonTree | None:
        pane = self.query_one(TabbedContent).active_pane
        if pane is None:
            return None
        trees = pane.query(JsonTree)
        return trees.first() if trees else None

    def action_unfold_all(self) -> None:
        tree = self._active_tree()
        if tree is not None:
            tree.action_unfold_all()

    def action_fold_all(self) -> None:
        tree = self._active_tree()
        if tree is not None:
            tree.action_fold_all()

    @staticmethod
    def _off(what: str, capability: Capability) -> str:
        if capability.on:
            return f"{what}: nothing recorded for this call."
        return f"{what} are off: {capability.why}."

    def _active_json(self) -> tuple[str, Any]:
        active = self.query_one(TabbedContent).active
        part = active.removeprefix("tab-")
        if part == "deliveries":
            return part, self.record.get("deliveries")
        if part == "plan":
            return part, {
                "violations": self.record.get("violations"),
                "lint": self.record.get("lint"),
            }
        if part == "record":
            return part, self.record
        return part, self.record[part]  # type: ignore[literal-required]

    def action_copy(self) -> None:
        part, data = self._active_json()
        text = orjson.dumps(data, default=repr, option=orjson.OPT_INDENT_2).decode()
        self.app.copy_to_clipboard(text)
        self.notify(f"Copied {part} of #{self.record['id']} ({len(text):,} characters)")

    def action_mark(self) -> None:
        self._mark(self.record["id"])
        self.notify(f"Marked #{self.record['id']}: open another event and press d to diff")

    def action_diff(self) -> None:
        marked = self._marked()
        if marked is None or marked["id"] == self.record["id"]:
            self.notify("Mark another event first (m), then press d here", severity="warning")
            return
        self.app.push_screen(DiffScreen(marked, self.record))

    def action_profile(self) -> None:
        """The profile this call resolved to (record["identity"], segemu/identity/stage.py)."""
        resolved = self.record.get("identity")
        segment_id = resolved.get("segment_id") if isinstance(resolved, dict) else None
        if not segment_id:
            self.notify(no_profile(resolved), severity="warning")
            return
        assert isinstance(resolved, dict)
        space = resolved.get("space")
        self.post_message(
            OpenProfile(f"segment_id:{segment_id}", space if isinstance(space, str) else None)
        )


def no_profile(resolved: Any) -> str:
    """Why a call joined no profile, from its identity changes (a blocked or refused value)."""
    if not isinstance(resolved, dict):
        return "This call went through no identity resolution (rejected, or blocked by its plan)"
    reasons = [
        str(change.get("reason"))
        for change in resolved.get("changes") or []
        if isinstance(change, dict) and change.get("reason")
    ]
    return "This call joined no profile" + (f": {'; '.join(reasons)}" if reasons else "")
