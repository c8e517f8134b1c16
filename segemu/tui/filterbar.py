"""The filter bar: segemu's query language (segemu/query), the same as `--where` and `?q=`.

It filters as you type once the text parses (after a short pause, so a 100,000-event log is
not rescanned per keystroke); a query that does not parse shows where it goes wrong.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Input, Static

from segemu.query import Query, QueryError, parse_query

# Seconds of quiet typing before the filter applies.
SETTLE = 0.3
PLACEHOLDER = (
    '/ to filter: type:track event:"Order Completed" user:u_1 properties.revenue>50 status:rejected'
)


class FilterBar(Vertical):
    @dataclass
    class Changed(Message):
        """A new filter: None shows everything."""

        where: Query | None

    class Done(Message):
        """Enter on a query that parses: the reader goes back to the events."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.applied = ""
        self._timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Input(placeholder=PLACEHOLDER, id="filter-input")
        yield Static("", id="filter-error")

    @property
    def input(self) -> Input:
        return self.query_one("#filter-input", Input)

    @on(Input.Changed, "#filter-input")
    def _typed(self, event: Input.Changed) -> None:
        event.stop()
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(SETTLE, self.apply)

    @on(Input.Submitted, "#filter-input")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.apply()
        if not self.has_class("-invalid"):
            self.post_message(self.Done())

    def apply(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        text = self.input.value
        error = self.query_one("#filter-error", Static)
        try:
            where = parse_query(text) if text.strip() else None
        except QueryError as exc:
            self.add_class("-invalid")
            error.update(str(exc))
            return
        self.remove_class("-invalid")
        error.update("")
        if text != self.applied:
            self.applied = text
            self.post_message(self.Changed(where))
