"""Messages the inspector's widgets send up to the app."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message


@dataclass
class OpenRecord(Message):
    """Show the detail of a record (Enter or a double click on a row, in any view)."""

    record_id: int
