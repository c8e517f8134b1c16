"""Messages the inspector's widgets send up to the app."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message


@dataclass
class OpenRecord(Message):
    """Show the detail of a record (Enter or a double click on a row, in any view)."""

    record_id: int
    # The detail's tab to open on (its pane id), where the view says what matters.
    tab: str | None = None


@dataclass
class OpenProfile(Message):
    """Show a profile (p in a call's detail, Enter in the profiles view): `external_id` is
    `type:value`, as the control API names profiles (`segment_id:use_…`, `user_id:u1`)."""

    external_id: str
    space: str | None = None
