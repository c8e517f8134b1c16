"""The live event table: newest first, one line per call, virtual.

A Line-API widget (toolong's log_lines.py is the model): it renders only the lines on screen,
from the ids in the EventLog, so 100,000 events cost a list of ints and scroll as fast as ten.
Textual's DataTable measures and stores every row it is given and paints its first 100k rows
in seconds (reference/style-and-ecosystem.md §C.5).

The first line is the column header and stays put. While the cursor sits on the newest event
the table follows new arrivals; once the reader moves down, new events pile up above and the
rows being read stay where they are.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from segemu.message import Record
from segemu.tui.columns import COLUMNS, DEFAULT_COLUMNS, layout
from segemu.tui.log import EventLog

# Rows whose deliveries are kept for redrawing: a few screens' worth.
DELIVERIES_KEPT = 300
TONES = ("accepted", "rejected", "duplicate", "dim", "good", "bad", "warn", "type")


def fit(text: str, width: int, clip: bool = False) -> str:
    """`text` in exactly `width` cells: padded, or cut with an ellipsis (without, `clip`)."""
    text = text.replace("\n", " ")
    if cell_len(text) > width and not clip:
        return set_cell_size(text, max(width - 1, 0)) + "…" if width > 0 else ""
    return set_cell_size(text, width)


class EventTable(ScrollView, can_focus=True):
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "event-table--header",
        "event-table--cursor",
        "event-table--marked",
        "event-table--hint",
        *(f"event-table--{tone}" for tone in TONES),
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "move(-1)", "Up", show=False),
        Binding("down,j", "move(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home,g", "first", "Newest", show=False),
        Binding("end,G", "last", "Oldest", show=False),
        Binding("enter", "open", "Detail"),
    ]

    @dataclass
    class Opened(Message):
        """The reader asked for the detail of a record (Enter or a double click)."""

        record_id: int

    @dataclass
    class Highlighted(Message):
        record_id: int | None

    def __init__(
        self, log: EventLog, columns: tuple[str, ...] = DEFAULT_COLUMNS, *, id: str | None = None
    ) -> None:
        super().__init__(id=id)
        self.event_log = log
        self.columns = columns
        # Row of the cursor: 0 is the newest event shown.
        self.cursor = 0
        self.marked: int | None = None
        self.hint: list[str] = []
        self._lines: LRUCache[tuple[int, int, bool, bool], Strip] = LRUCache(1024)
        # Deliveries are computed when a record is read, about a millisecond each the first
        # time (in process): rows show "…" until `resolve` fetches them, a few per batch, so
        # a burst of events never stalls the server sharing this loop.
        self.full_record: Callable[[int], Record | None] | None = None
        self._deliveries: dict[int, Any] = {}
        self._wanted: dict[int, None] = {}

    # -- what the app calls ------------------------------------------------------------------

    def arrived(self, shown: int) -> None:
        """`shown` new rows are now at the top: keep the reader's place unless following."""
        if shown and (self.cursor > 0 or self.scroll_y > 0):
            self.cursor += shown
            self.scroll_to(y=self.scroll_y + shown, animate=False, immediate=True)
        self._resize()
        self.refresh()

    def reload(self, keep: int | None = None) -> None:
        """The rows changed wholesale (filter, clear, columns): start over, on `keep` if the
        filter still shows it."""
        self._lines.clear()
        row = self.event_log.row_of(keep) if keep is not None else None
        self.cursor = row or 0
        self._resize()
        self.scroll_to(y=max(self.cursor - self._page() // 2, 0), animate=False, immediate=True)
        self.refresh()
        self._announce()

    def set_columns(self, columns: tuple[str, ...]) -> None:
        self.columns = columns
        self._lines.clear()
        self.refresh()

    def invalidate(self) -> None:
        """Records can change after ingest (deliveries retried): draw them afresh."""
        self._lines.clear()
        if self.full_record is not None:
            # Fetched before: the emulator keeps them computed, so this is cheap.
            for record_id in list(self._deliveries):
                record = self.full_record(record_id)
                self._deliveries[record_id] = record.get("deliveries") if record else None
        self.refresh()

    def resolve(self, budget: int) -> None:
        """Fetch the deliveries of up to `budget` rows on screen that wait for them."""
        if not self._wanted or self.full_record is None:
            return
        # Only rows still on screen: under load most scroll away before their turn.
        top = int(self.scroll_y)
        visible = {self._id_at(row) for row in range(top, top + self._page())}
        self._wanted = {i: None for i in self._wanted if i in visible}
        for record_id in list(self._wanted)[:budget]:
            del self._wanted[record_id]
            record = self.full_record(record_id)
            self._deliveries[record_id] = record.get("deliveries") if record else None
        while len(self._deliveries) > DELIVERIES_KEPT:
            del self._deliveries[next(iter(self._deliveries))]
        self._lines.clear()
        self.refresh()

    @property
    def current(self) -> int | None:
        """The id of the record under the cursor."""
        shown = self.event_log.shown
        if not shown:
            return None
        return shown[len(shown) - 1 - min(self.cursor, len(shown) - 1)]

    # -- keys and mouse --------------------------------------------------------------------

    def action_move(self, delta: int) -> None:
        self._go(self.cursor + delta)

    def action_page(self, direction: int) -> None:
        self._go(self.cursor + direction * max(self._page() - 1, 1))

    def action_first(self) -> None:
        self._go(0)

    def action_last(self) -> None:
        self._go(len(self.event_log.shown) - 1)

    def action_open(self) -> None:
        record_id = self.current
        if record_id is not None:
            self.post_message(self.Opened(record_id))

    def on_click(self, event: events.Click) -> None:
        if event.y < 1:
            return
        row = int(self.scroll_y) + event.y - 1
        if 0 <= row < len(self.event_log.shown):
            self._go(row)
            if event.chain >= 2:
                self.action_open()

    def on_resize(self, event: events.Resize) -> None:
        self._lines.clear()
        self._resize()

    # The cached lines bake in the cursor's colour, which depends on the focus and the theme:
    # without these, a row drawn while the filter had the focus kept its dim cursor after
    # Enter gave the focus back to the table.
    def on_focus(self, event: events.Focus) -> None:
        self._lines.clear()
        self.refresh()

    def on_blur(self, event: events.Blur) -> None:
        self._lines.clear()
        self.refresh()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._lines.clear()

    # -- drawing ---------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        if y == 0:
            return self._header(width)
        row = int(self.scroll_y) + y - 1
        if not self.event_log.shown:
            return self._hint(y - 1, width)
        record_id = self._id_at(row)
        if record_id is None:
            return Strip.blank(width, self.rich_style)
        key = (record_id, width, row == self.cursor, record_id == self.marked)
        strip = self._lines.get(key)
        if strip is None:
            strip = self._line(record_id, width, row == self.cursor, record_id == self.marked)
            self._lines.set(key, strip)
        return strip

    def _line(self, record_id: int, width: int, cursor: bool, marked: bool) -> Strip:
        base = self.rich_style
        record = self.event_log.lookup(record_id)
        if record is None:
            return Strip([Segment(fit("  (no longer stored)", width), base)])
        overlay = self.get_component_rich_style("event-table--cursor") if cursor else Style()
        mark_style = self.get_component_rich_style("event-table--marked")
        segments = [Segment("◆ " if marked else "  ", base + mark_style + overlay)]
        if (
            # The routing is on the record; whether each mapping could build its requests
            # shows once they are built, for the rows on screen.
            "destinations" in self.columns
            and "deliveries" not in record
            and self.full_record is not None
        ):
            if record_id in self._deliveries:
                record = {**record, "deliveries": self._deliveries[record_id]}
            else:
                self._wanted[record_id] = None
        for key, cell_width in layout(self.columns, width - 2):
            column = COLUMNS[key]
            if key == "destinations" and record_id in self._wanted:
                text, tone = "…", "dim"
            else:
                text, tone = column.cell(record)
            style = base
            if tone:
                style = base + self.get_component_rich_style(f"event-table--{tone}")
            segments.append(Segment(fit(text, cell_width, column.clip), style + overlay))
            segments.append(Segment(" ", base + overlay))
        return Strip(segments).adjust_cell_length(width, base + overlay)

    def _header(self, width: int) -> Strip:
        style = self.rich_style + self.get_component_rich_style("event-table--header")
        cells = [fit(COLUMNS[key].title, w) for key, w in layout(self.columns, width - 2)]
        return Strip([Segment(fit("  " + " ".join(cells), width), style)])

    def _hint(self, line: int, width: int) -> Strip:
        style = self.rich_style + self.get_component_rich_style("event-table--hint")
        text = self.hint[line - 1] if 1 <= line <= len(self.hint) else ""
        return Strip([Segment(fit("  " + text, width), style)])

    # -- internals -------------------------------------------------------------------------

    def _id_at(self, row: int) -> int | None:
        shown = self.event_log.shown
        if 0 <= row < len(shown):
            return shown[len(shown) - 1 - row]
        return None

    def _page(self) -> int:
        return max(self.scrollable_content_region.height - 1, 1)

    def _resize(self) -> None:
        self.virtual_size = Size(0, len(self.event_log.shown) + 1)

    def _go(self, row: int) -> None:
        row = max(0, min(row, len(self.event_log.shown) - 1))
        self.cursor = row
        top = int(self.scroll_y)
        page = self._page()
        if row < top:
            self.scroll_to(y=row, animate=False, immediate=True)
        elif row >= top + page:
            self.scroll_to(y=row - page + 1, animate=False, immediate=True)
        self.refresh()
        self._announce()

    def _announce(self) -> None:
        self.post_message(self.Highlighted(self.current))
