"""The profiles view (6): the profiles identity resolution built, most recently updated first, and
a search over their identifiers and traits (as GET /_segemu/profiles?q= answers it); Enter
opens one (segemu/tui/profile.py)."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Input, Static

from segemu.tui.backend import Capability
from segemu.tui.messages import OpenProfile
from segemu.tui.profile import short, when

# Profiles listed: the most recently updated, the ones being worked on.
SHOWN = 200


class ProfilesView(Vertical):
    class SearchChanged(Message):
        """The search text changed: the app reads the profiles again."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._shown: Any = None

    def compose(self) -> ComposeResult:
        yield Input(
            placeholder="search profiles: an identifier or a trait (u_1, ada@example.com, pro)",
            id="profiles-search",
        )
        yield Static("", id="profiles-note", classes="off")
        yield DataTable(id="profiles-table", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns(
            "segment id", "identifiers", "traits", "calls", "updated"
        )

    @property
    def search_text(self) -> str | None:
        return self.query_one(Input).value.strip() or None

    def show(self, listing: list[dict[str, Any]] | None, capability: Capability) -> None:
        shown = (listing, capability, self.search_text)
        if shown == self._shown:
            return  # rebuilding the table costs a layout: only when something changed
        self._shown = shown
        if listing is None:
            text = f"Profiles are off: {capability.why}." if not capability.on else ""
        elif not listing:
            text = (
                f"No profile matches {self.search_text!r}."
                if self.search_text
                else "No profiles yet: a call with a userId, an anonymousId or another "
                "identifier creates one."
            )
        else:
            text = ""
        note = self.query_one("#profiles-note", Static)
        note.update(text)
        note.display = bool(text)
        table = self.query_one(DataTable)
        row = table.cursor_row
        table.clear()
        for profile in listing or []:
            ids = [f"{e['type']}:{e['id']}" for e in profile.get("external_ids") or []]
            traits = profile.get("traits") or {}
            table.add_row(
                str(profile["segment_id"]),
                short(", ".join(ids), 50),
                short(", ".join(f"{k}={short(v, 20)}" for k, v in traits.items()), 40),
                str(profile.get("calls", 0)),
                when(profile.get("updated_at")),
                key=f"{profile.get('space')}:{profile['segment_id']}",
            )
        table.display = bool(listing)
        if listing:
            table.move_cursor(row=min(row, len(listing) - 1))

    @on(Input.Changed, "#profiles-search")
    def _search(self, event: Input.Changed) -> None:
        event.stop()
        self.post_message(self.SearchChanged())

    @on(Input.Submitted, "#profiles-search")
    def _searched(self, event: Input.Submitted) -> None:
        event.stop()
        self.query_one(DataTable).focus()

    @on(DataTable.RowSelected)
    def _open(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value is not None:
            space, _, segment_id = event.row_key.value.partition(":")
            self.post_message(OpenProfile(f"segment_id:{segment_id}", space or None))
