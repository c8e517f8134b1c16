"""The assertions panel, in three parts: expectations from `--expect FILE` and typed in ad hoc,
judged live as events arrive; and the assertions test suites made through the control API
(POST /_segemu/assert), with their verdicts. The verdict of the highlighted row, nearest misses
included, shows below."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import orjson
from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import DataTable, Input, Static

from segemu.expectations import Expectation, ExpectationError
from segemu.message import Record
from segemu.tui.checks import Checks, LiveExpectation

AD_HOC_PLACEHOLDER = (
    'ad hoc: a query (type:track event:"Signed Up") or a JSON expectation; Enter adds it'
)


def ad_hoc(text: str) -> Expectation:
    """A query means "at least one accepted call matches it" (rejected ones show among the
    nearest misses, with their reason); a JSON object is a full expectation."""
    text = text.strip()
    if text.startswith("{"):
        try:
            data = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise ExpectationError(f"not valid JSON: {exc}") from None
        return Expectation.from_json(data)
    return Expectation.from_json({"where": text, "description": f"ad hoc: {text}"})


def mark(passed: bool) -> Text:
    return Text("✓ pass", style="bold green") if passed else Text("✗ fail", style="bold red")


class AssertionsView(Vertical):
    def __init__(
        self,
        checks: Checks,
        records: Callable[[], Iterable[Record]],
        source: str | None,
        *,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.checks = checks
        self.records = records
        self.source = source
        self.verdicts: list[dict[str, Any]] = []
        self._checks_shown: list[tuple[bool, int]] = []
        # Which table the message below belongs to, and its row.
        self._showing: tuple[str, int] | None = None

    def compose(self) -> ComposeResult:
        origin = (
            f"from {self.source}" if self.source else ("none loaded (segemu run --expect FILE)")
        )
        yield Static(
            f"Expectations, {origin}; judged over the events shown since the last clear",
            classes="section",
            id="checks-title",
        )
        yield DataTable(id="checks-table", cursor_type="row")
        yield Input(placeholder=AD_HOC_PLACEHOLDER, id="ad-hoc")
        yield Static("From test suites (POST /_segemu/assert), newest first", classes="section")
        yield DataTable(id="verdicts-table", cursor_type="row")
        with VerticalScroll(id="verdict-scroll"):
            yield Static("", id="verdict-message")

    def on_mount(self) -> None:
        self.query_one("#checks-table", DataTable).add_columns("", "from", "expectation", "found")
        self.query_one("#verdicts-table", DataTable).add_columns("at", "", "expectation", "found")
        self.show_checks()
        self.show_verdicts([])

    def show_checks(self) -> None:
        table = self.query_one("#checks-table", DataTable)
        shown = [(item.passed, item.count) for item in self.checks.items]
        if shown == self._checks_shown and table.row_count:
            return
        self._checks_shown = shown
        row = table.cursor_row
        table.clear()
        for item in self.checks.items:
            table.add_row(
                mark(item.passed), item.origin, item.expectation.describe(), f"{item.count:,}"
            )
        if not self.checks.items:
            table.add_row("", "", Text("no expectations yet", style="dim"), "")
        elif row >= 0:
            table.move_cursor(row=min(row, len(self.checks.items) - 1))
        self.explain_again()

    def explain_again(self) -> None:
        """Judge the expectation shown below afresh: its nearest misses change with every
        event, not only its count. The app calls it once a second, not per batch."""
        if self._showing is not None and self._showing[0] == "checks":
            self._explain_check(self._showing[1])

    def show_verdicts(self, verdicts: list[dict[str, Any]]) -> None:
        if verdicts == self.verdicts and verdicts:
            return
        self.verdicts = verdicts
        table = self.query_one("#verdicts-table", DataTable)
        row = table.cursor_row
        table.clear()
        for verdict in verdicts:
            table.add_row(
                str(verdict.get("at", ""))[11:23],
                mark(bool(verdict.get("passed"))),
                str(verdict.get("expected", "")),
                f"{verdict.get('count', 0):,}",
            )
        if not verdicts:
            table.add_row("", "", Text("none yet", style="dim"), "")
        elif row >= 0:
            table.move_cursor(row=min(row, len(verdicts) - 1))

    @on(Input.Submitted, "#ad-hoc")
    def _add(self, event: Input.Submitted) -> None:
        event.stop()
        if not event.value.strip():
            return
        try:
            expectation = ad_hoc(event.value)
        except ExpectationError as exc:
            self.notify(str(exc), title="Not an expectation", severity="error")
            return
        item = self.checks.add_ad_hoc(expectation, self.records())
        event.input.value = ""
        self.show_checks()
        table = self.query_one("#checks-table", DataTable)
        table.move_cursor(row=len(self.checks.items) - 1)
        self._explain_check(len(self.checks.items) - 1)
        self.notify(f"{'passes' if item.passed else 'fails'}: {expectation.describe()}")

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        # Focusing a list explains its highlighted row: Tab or a click is enough.
        if event.widget.id == "checks-table":
            self._explain_check(self.query_one("#checks-table", DataTable).cursor_row)
        elif event.widget.id == "verdicts-table":
            self._explain_verdict(self.query_one("#verdicts-table", DataTable).cursor_row)

    @on(DataTable.RowHighlighted, "#checks-table")
    def _check_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if self.query_one("#checks-table").has_focus:
            self._explain_check(event.cursor_row)

    @on(DataTable.RowHighlighted, "#verdicts-table")
    def _verdict_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if self.query_one("#verdicts-table").has_focus:
            self._explain_verdict(event.cursor_row)

    @on(DataTable.RowSelected, "#checks-table")
    def _check_selected(self, event: DataTable.RowSelected) -> None:
        self._explain_check(event.cursor_row)

    @on(DataTable.RowSelected, "#verdicts-table")
    def _verdict_selected(self, event: DataTable.RowSelected) -> None:
        self._explain_verdict(event.cursor_row)

    def _explain_check(self, row: int) -> None:
        if not 0 <= row < len(self.checks.items):
            return
        self._showing = ("checks", row)
        item: LiveExpectation = self.checks.items[row]
        verdict = self.checks.verdict(item, self.records())
        self._say(verdict.passed, verdict.message)

    def _explain_verdict(self, row: int) -> None:
        if not 0 <= row < len(self.verdicts):
            return
        self._showing = ("verdicts", row)
        verdict = self.verdicts[row]
        self._say(bool(verdict.get("passed")), str(verdict.get("message", "")))

    def _say(self, passed: bool, message: str) -> None:
        self.query_one("#verdict-message", Static).update(
            Text(message, style="green" if passed else "")
        )
