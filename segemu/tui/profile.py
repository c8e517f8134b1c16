"""One profile, as identity resolution built it: its identity graph (each identifier, and the
call that linked it), its traits with their history, its audiences and computed traits (Engage),
the merges and refused merges its calls caused with Segment's reasons, and its calls in order.

The screen shows a profile as GET /_segemu/profiles/{id} answers it (segemu/identity/views.py
profile_view), whichever backend read it, so in process and attached look the same. Enter on a
row of any table opens the call it names.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any, ClassVar

import orjson
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static, TabbedContent, TabPane

from segemu.tui.messages import OpenRecord

Profile = dict[str, Any]
# A table row: the record id it names (Enter opens that call), and its cells.
Row = tuple[int | None, tuple[Any, ...]]
# A value is cut to this many characters in a cell; the JSON (y) has it whole.
VALUE_WIDTH = 60
ACTION_TONES = {
    "created": "green",
    "added": "",
    "merged": "bold green",
    "refused": "bold red",
    "blocked": "yellow",
    "linked": "cyan",
}
CLASS_LABELS = {"trait": "trait", "computed_trait": "computed trait", "audience": "audience"}


def short(value: Any, width: int = VALUE_WIDTH) -> str:
    text = value if isinstance(value, str) else orjson.dumps(value, default=repr).decode()
    return text if len(text) <= width else text[: width - 1] + "…"


def when(timestamp: Any) -> str:
    """An ISO-8601 timestamp as the tables show it: date and time to the millisecond."""
    return str(timestamp or "").replace("T", " ").removesuffix("Z")[:23]


def describe_change(change: dict[str, Any]) -> str:
    """One identity change in words (the change shapes are in segemu/identity/stage.py)."""
    action = change.get("action")
    if action == "created":
        if change.get("collection") == "accounts":
            return f"created account {change.get('segment_id')} for {change.get('external_id')}"
        return f"created {change.get('segment_id')}"
    if action == "added":
        return f"added {change.get('external_id')} to {change.get('segment_id')}"
    if action == "merged":
        by = f" (both have {change['by']})" if change.get("by") else ""
        return f"merged {change.get('from')} into {change.get('into')}{by}"
    if action in ("refused", "blocked"):
        return str(change.get("reason") or f"{action} {change.get('external_id')}")
    if action == "linked":
        return f"linked to account {change.get('account_id')} (group_id:{change.get('group_id')})"
    return short(change)


def headline(profile: Profile) -> Text:
    text = Text()
    text.append(f"{profile.get('segment_id')}", style="bold")
    text.append(f"  {profile.get('collection')} in space {profile.get('space')}", style="dim")
    ids = [f"{e.get('type')}:{e.get('id')}" for e in profile.get("external_ids") or []]
    text.append(f"\n{', '.join(ids[:6])}{', …' if len(ids) > 6 else ''}")
    details = profile.get("trait_details") or {}
    counted = {name: 0 for name in CLASS_LABELS}
    for trait in details.values():
        counted[str(trait.get("class", "trait"))] = counted.get(str(trait.get("class")), 0) + 1
    merged = profile.get("merged") or []
    text.append(
        f"\n{len(ids)} identifiers · {counted['trait']} traits · "
        f"{counted['computed_trait']} computed traits · {counted['audience']} audiences · "
        f"{profile.get('calls', 0)} calls · {len(merged)} profiles merged in · "
        f"created {when(profile.get('created_at'))} · updated {when(profile.get('updated_at'))}",
        style="dim",
    )
    return text


def _call_names(profile: Profile) -> dict[int, str]:
    """Record id -> `#12 track Order Completed`, for the calls the profile lists."""
    named = {}
    for call in profile.get("events") or []:
        name = call.get("event") or ""
        named[int(call["id"])] = f"#{call['id']} {call.get('type')}{' ' + name if name else ''}"
    return named


def identifier_rows(profile: Profile) -> list[Row]:
    """(record id, cells) per identifier: the identity graph, in the order ids joined."""
    calls = _call_names(profile)
    found: list[Row] = []
    for external in profile.get("external_ids") or []:
        record_id = external.get("record_id")
        linked = calls.get(record_id) if isinstance(record_id, int) else None
        found.append(
            (
                record_id if isinstance(record_id, int) else None,
                (
                    Text(f"{external.get('type')}:{external.get('id')}", style="bold"),
                    linked or f"#{record_id} (no longer stored)",
                    str(external.get("source") or "-"),
                    when(external.get("first_seen")),
                    when(external.get("last_seen")),
                ),
            )
        )
    return found


def trait_rows(profile: Profile, classes: Iterable[str] = ("trait",)) -> list[Row]:
    """(record id, cells) per trait of these classes, each followed by its earlier values
    (newest first), dimmed."""
    wanted = set(classes)
    history = profile.get("trait_history") or {}
    found: list[Row] = []
    for name, trait in sorted((profile.get("trait_details") or {}).items()):
        if trait.get("class", "trait") not in wanted:
            continue
        record_id = trait.get("record_id")
        found.append(
            (
                record_id,
                (
                    Text(name, style="bold"),
                    short(trait.get("value")),
                    CLASS_LABELS.get(str(trait.get("class")), str(trait.get("class"))),
                    when(trait.get("updated_at")),
                    f"#{record_id}" if record_id is not None else "Engage",
                ),
            )
        )
        for old in reversed(history.get(name) or []):
            old_id = old.get("record_id")
            found.append(
                (
                    old_id,
                    (
                        Text(f"  earlier {name}", style="dim"),
                        Text(short(old.get("value")), style="dim"),
                        Text(CLASS_LABELS.get(str(old.get("class")), ""), style="dim"),
                        Text(when(old.get("updated_at")), style="dim"),
                        Text(f"#{old_id}" if old_id is not None else "Engage", style="dim"),
                    ),
                )
            )
    return found


def change_rows(profile: Profile) -> list[Row]:
    """(record id, cells) per identity change of the profile's calls, oldest first: what
    created it, every identifier added, merges, refused merges and blocked values."""
    found: list[Row] = []
    for call in profile.get("identity_changes") or []:
        for change in call.get("changes") or []:
            action = str(change.get("action"))
            found.append(
                (
                    int(call["id"]),
                    (
                        when(call.get("timestamp") or call.get("receivedAt")),
                        f"#{call['id']}",
                        f"{call.get('type')} {call.get('event') or ''}".strip(),
                        Text(action, style=ACTION_TONES.get(action, "")),
                        describe_change(change),
                    ),
                )
            )
    return found


def call_rows(profile: Profile) -> list[Row]:
    """(record id, cells) per call of the profile, oldest first, with what each changed."""
    changed = {
        int(call["id"]): ", ".join(str(c.get("action")) for c in call.get("changes") or [])
        for call in profile.get("identity_changes") or []
    }
    return [
        (
            int(call["id"]),
            (
                when(call.get("timestamp") or call.get("receivedAt")),
                f"#{call['id']}",
                str(call.get("type") or ""),
                str(call.get("event") or ""),
                str(call.get("source") or "-"),
                changed.get(int(call["id"]), ""),
            ),
        )
        for call in profile.get("events") or []
    ]


def _table(table_id: str, columns: tuple[str, ...]) -> DataTable[Any]:
    table: DataTable[Any] = DataTable(id=table_id, cursor_type="row", zebra_stripes=True)
    table.add_columns(*columns)
    return table


def _fill(table: DataTable[Any], rows: list[Row]) -> None:
    for number, (record_id, cells) in enumerate(rows):
        table.add_row(*cells, key=f"{record_id if record_id is not None else ''}:{number}")


class ProfileScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "app.pop_screen", "Back"),
        Binding("r", "reload", "Reload"),
        Binding("y", "copy", "Copy JSON"),
    ]

    def __init__(
        self, profile: Profile, *, reload: Callable[[], Awaitable[Profile | None]] | None = None
    ) -> None:
        super().__init__()
        self.profile = profile
        self._reload = reload

    def compose(self) -> ComposeResult:
        yield Static(headline(self.profile), id="profile-title")
        with TabbedContent(id="profile-tabs"):
            with TabPane("Identity graph", id="tab-graph"):
                yield _table(
                    "profile-ids",
                    ("identifier", "linked by call", "source", "first seen", "last seen"),
                )
                yield Static("", id="profile-links")
            with TabPane("Traits", id="tab-traits"):
                yield _table("profile-traits", ("trait", "value", "class", "set at", "by call"))
            with TabPane("Audiences", id="tab-audiences"):
                yield _table("profile-audiences", ("key", "value", "class", "since", "by call"))
            with TabPane("Merges", id="tab-merges"):
                yield _table("profile-changes", ("time", "#", "call", "change", "what and why"))
                yield Static("", id="profile-change-why")
            with TabPane("Calls", id="tab-calls"):
                yield _table(
                    "profile-calls", ("time", "#", "type", "event / name", "source", "identity")
                )
        yield Footer()

    def on_mount(self) -> None:
        self.show(self.profile)

    def show(self, profile: Profile) -> None:
        self.profile = profile
        self.query_one("#profile-title", Static).update(headline(profile))
        tables = {
            "#profile-ids": identifier_rows(profile),
            "#profile-traits": trait_rows(profile),
            "#profile-audiences": trait_rows(profile, ("audience", "computed_trait")),
            "#profile-changes": change_rows(profile),
            "#profile-calls": call_rows(profile),
        }
        for selector, found in tables.items():
            table = self.query_one(selector, DataTable)
            table.clear()
            _fill(table, found)
        self.query_one("#profile-links", Static).update(_links(profile))
        self._why(0)

    def _why(self, row: int) -> None:
        """The highlighted change in full, wrapped: a refusal's reason is longer than a cell."""
        changes = change_rows(self.profile)
        text = Text()
        if 0 <= row < len(changes):
            _, (at, number, call, action, what) = changes[row]
            text.append(f"{number} {call} at {at}: ", style="bold")
            text.append_text(action if isinstance(action, Text) else Text(str(action)))
            text.append(f"\n{what}")
        self.query_one("#profile-change-why", Static).update(text)

    @on(DataTable.RowHighlighted, "#profile-changes")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._why(event.cursor_row)

    async def action_reload(self) -> None:
        if self._reload is None:
            return
        fresh = await self._reload()
        if fresh is None:
            self.notify(f"{self.profile.get('segment_id')} is gone", severity="warning")
            return
        self.show(fresh)
        self.notify(f"Reloaded {fresh.get('segment_id')}")

    def action_copy(self) -> None:
        text = orjson.dumps(self.profile, default=repr, option=orjson.OPT_INDENT_2).decode()
        self.app.copy_to_clipboard(text)
        self.notify(f"Copied {self.profile.get('segment_id')} ({len(text):,} characters)")

    @on(DataTable.RowSelected)
    def _open(self, event: DataTable.RowSelected) -> None:
        event.stop()
        key = event.row_key.value or ""
        record_id = key.split(":", 1)[0]
        if record_id.isdigit():
            self.post_message(OpenRecord(int(record_id)))


def _links(profile: Profile) -> Text:
    text = Text()
    accounts = profile.get("accounts") or []
    for account in accounts:
        ids = ", ".join(f"{e['type']}:{e['id']}" for e in account.get("external_ids") or [])
        text.append(f"account {account.get('segment_id')} ({ids})\n")
    merged = profile.get("merged") or []
    if merged:
        text.append(f"merged into this profile: {', '.join(merged)}")
    return text
