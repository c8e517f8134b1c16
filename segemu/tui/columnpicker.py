"""Choosing the event table's columns (also `--columns` on the command line)."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, SelectionList
from textual.widgets.selection_list import Selection

from segemu.tui.columns import COLUMNS


class ColumnPicker(ModalScreen[tuple[str, ...] | None]):
    # Enter has priority: the list would take it as "toggle", like Space, and nothing
    # would apply the choice.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("enter", "apply", "Apply", priority=True),
    ]

    def __init__(self, chosen: tuple[str, ...]) -> None:
        super().__init__()
        self.chosen = chosen

    def compose(self) -> ComposeResult:
        # Chosen columns first, in their order; the others after.
        order = [*self.chosen, *(key for key in COLUMNS if key not in self.chosen)]
        with Vertical(id="column-picker"):
            yield Label("Columns", classes="title")
            yield Label("Space toggles · Enter applies · Esc cancels", classes="keys")
            yield SelectionList[str](
                *(Selection(COLUMNS[key].title, key, key in self.chosen) for key in order)
            )

    def action_apply(self) -> None:
        selected = self.query_one(SelectionList).selected
        order = [*self.chosen, *(key for key in COLUMNS if key not in self.chosen)]
        chosen = tuple(key for key in order if key in selected)
        self.dismiss(chosen or None)

    def action_cancel(self) -> None:
        self.dismiss(None)
