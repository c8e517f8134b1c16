"""The inspector app: the live event stream, its filter, the event detail, destinations,
violations, assertions and profiles, over one Backend (tui/backend.py).

Rendering is batched: the backend's listener only queues records, and a timer moves them into
the views every FLUSH_INTERVAL. Updating the screen per event cuts a server in the same loop
to a sixteenth of its throughput (reference/style-and-ecosystem.md §C.3); per batch, it keeps
most of it (bench/tui.py prints both).
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import time
from collections.abc import Iterator
from typing import Any, ClassVar

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.css.query import NoMatches
from textual.widgets import Footer, TabbedContent, TabPane

from segemu.message import Record
from segemu.tui.assertions import AssertionsView
from segemu.tui.backend import Backend, Capability
from segemu.tui.checks import Checks
from segemu.tui.columnpicker import ColumnPicker
from segemu.tui.columns import DEFAULT_COLUMNS
from segemu.tui.destinations import DestinationsView
from segemu.tui.detail import DetailScreen
from segemu.tui.diff import DiffScreen
from segemu.tui.faults import FaultsView
from segemu.tui.filterbar import FilterBar
from segemu.tui.help import HelpScreen
from segemu.tui.log import EventLog
from segemu.tui.messages import OpenProfile, OpenRecord
from segemu.tui.profile import ProfileScreen
from segemu.tui.profiles import SHOWN as PROFILES_SHOWN
from segemu.tui.profiles import ProfilesView
from segemu.tui.statusbar import StatusBar
from segemu.tui.table import EventTable
from segemu.tui.violations import ViolationsView

# Seconds between two batches of new events reaching the screen.
FLUSH_INTERVAL = 0.1
# Seconds between refreshes of what can change without a new event: deliveries being retried,
# records removed by retention or a reset, assertions made by test suites.
SLOW_INTERVAL = 1.0
MAIN_SCREEN_ACTIONS = frozenset(
    {
        "focus_filter",
        "toggle_pause",
        "clear",
        "mark",
        "diff",
        "columns",
        "show_tab",
        "focus_table",
        "help",
    }
)
# Under a flood (a batch this big), the screen is redrawn at most every BUSY_INTERVAL seconds.
BUSY_BATCH = 200
BUSY_INTERVAL = 0.25
# Rows whose deliveries are computed per batch (about a millisecond each in process).
RESOLVED_PER_BATCH = 5
# How many of the newest events the destinations view reads (as GET /_segemu/destinations).
DESTINATIONS_SCANNED = 1000
OPTIONAL_COLUMNS = {"destinations": "routing", "violations": "violations"}
# The main list of each view: it has the focus when the view shows, and Esc goes back to it.
VIEW_LISTS = {
    "events": "#table",
    "destinations": "#destinations-table",
    "violations": "#violations-table",
    "assertions": "#checks-table",
    "faults": "#faulted",
    "profiles": "#profiles-table",
}


class InspectorApp(App[None]):
    CSS_PATH = "inspector.tcss"
    TITLE = "segemu"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit"),
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True),
        Binding("slash", "focus_filter", "Filter"),
        Binding("p,space", "toggle_pause", "Pause"),
        Binding("c", "clear", "Clear"),
        Binding("m", "mark", "Mark"),
        Binding("d", "diff", "Diff"),
        Binding("C", "columns", "Columns"),
        Binding("T", "change_theme", "Theme", show=False),
        Binding("question_mark,f1", "help", "Help"),
        Binding("1", "show_tab('events')", "Events", show=False),
        Binding("2", "show_tab('destinations')", "Destinations", show=False),
        Binding("3", "show_tab('violations')", "Violations", show=False),
        Binding("4", "show_tab('assertions')", "Assertions", show=False),
        Binding("5", "show_tab('faults')", "Faults", show=False),
        Binding("6", "show_tab('profiles')", "Profiles", show=False),
        Binding("escape", "focus_table", "Table", show=False),
        Binding("F", "functions", "Functions", show=False),
    ]

    def __init__(
        self,
        backend: Backend,
        *,
        checks: Checks,
        expect_file: str | None,
        columns: tuple[str, ...] | None,
        retention: int,
    ) -> None:
        super().__init__()
        self.backend = backend
        self.event_log = EventLog(backend.stored, retention, view=backend.get)
        self.checks = checks
        self.checks.view = lambda record: backend.get(record["id"]) or record
        self.expect_file = expect_file
        self._columns = columns
        self._pending: list[Record] = []
        self._restart = False
        self._rendered = 0.0
        self._log_handler: logging.Handler | None = None

    def compose(self) -> ComposeResult:
        # Kept by reference: the app's own query_one looks at the screen on top (a detail),
        # while these live on the main screen whatever is shown.
        self.filter_bar = FilterBar(id="filter")
        self.table = EventTable(self.event_log, self._columns or DEFAULT_COLUMNS, id="table")
        self.table.full_record = self.backend.get
        self.tabs = TabbedContent(id="tabs", initial="events")
        self.destinations_view = DestinationsView(id="destinations-view")
        self.violations_view = ViolationsView(id="violations-view")
        self.assertions_view = AssertionsView(
            self.checks, self.everything, self.expect_file, id="assertions-view"
        )
        self.faults_view = FaultsView(id="faults-view")
        self.profiles_view = ProfilesView(id="profiles-view")
        self.status_bar = StatusBar(id="status")
        yield self.filter_bar
        with self.tabs:
            with TabPane("Events", id="events"):
                yield self.table
            with TabPane("Destinations", id="destinations"):
                yield self.destinations_view
            with TabPane("Violations", id="violations"):
                yield self.violations_view
            with TabPane("Assertions", id="assertions"):
                yield self.assertions_view
            with TabPane("Faults", id="faults"):
                yield self.faults_view
            with TabPane("Profiles", id="profiles"):
                yield self.profiles_view
        with Vertical(id="bottom"):
            yield self.status_bar
            yield Footer()

    # -- lifecycle ---------------------------------------------------------------------------

    async def on_mount(self) -> None:
        history = await self.backend.open(self._receive, self._restarted)
        self.event_log.add(history)
        self.checks.add(history)
        table = self.table
        if self._columns is None:
            table.set_columns(self._default_columns())
        table.hint = self._hint()
        table.reload()
        table.focus()
        self._label_tabs()
        self._refresh_views()
        self._log_handler = _NotifyHandler(self)
        logging.getLogger("segemu").addHandler(self._log_handler)
        self.set_interval(FLUSH_INTERVAL, self._flush_batch)
        self.set_interval(SLOW_INTERVAL, self._slow_tick)

    async def on_unmount(self) -> None:
        if self._log_handler is not None:
            logging.getLogger("segemu").removeHandler(self._log_handler)
        await self.backend.close()

    def _receive(self, records: list[Record]) -> None:
        # Runs inside ingest (in process) or the stream reader: queue only.
        self._pending.extend(records)

    def _restarted(self) -> None:
        self._pending.clear()
        self._restart = True

    # -- the batched refresh ---------------------------------------------------------------

    def _flush_batch(self) -> None:
        if self._shutting_down():
            return
        self.table.resolve(RESOLVED_PER_BATCH)
        if self._restart:
            self._restart = False
            self.event_log.clear(by_reader=False)
            self.table.hint = self._hint()
            self.checks.recount([])
            self.table.marked = None
            self.table.reload()
            self.notify("segemu restarted: showing the new process's events")
        if not self._pending:
            return
        now = time.monotonic()
        if len(self._pending) >= BUSY_BATCH and now - self._rendered < BUSY_INTERVAL:
            return  # a flood: nobody reads thousands of rows a second; let the server have it
        self._rendered = now
        records, self._pending = self._pending, []
        shown = self.event_log.add(records)
        if self._columns is None and len(self.table.columns) < len(DEFAULT_COLUMNS):
            # A capability turned on (events started carrying deliveries): show its column.
            columns = self._default_columns()
            if columns != self.table.columns:
                self.table.set_columns(columns)
                self._label_tabs()
        self.table.arrived(shown)
        if self.checks.items:
            if self.checks.add(records):
                self._label_tabs()
            if self.tabs.active == "assertions":
                self.assertions_view.show_checks()
        self._update_status()

    async def _slow_tick(self) -> None:
        if self._shutting_down():
            return
        ids = self.event_log.ids
        # Records go from the backend by retention (oldest first) or a reset: cheap to see.
        gone = ids and (self.backend.held() < len(ids) or self.backend.stored(ids[0]) is None)
        if gone and self.event_log.prune():
            self.table.reload(keep=self.table.current)
            self.checks.recount(self.everything())
        self.table.invalidate()
        self._label_tabs()
        await self._refresh_active_view()
        if not self._shutting_down():
            self._update_status()

    def _shutting_down(self) -> bool:
        """Textual removes the widgets before it stops the timers: refreshes that fire (or
        resume) meanwhile must do nothing."""
        return not self.is_running

    def _update_status(self) -> None:
        self.status_bar.show(
            self.event_log, self.backend.url, self.backend.mode, self.backend.problem
        )

    async def _refresh_active_view(self) -> None:
        if self._shutting_down():
            return
        active = self.tabs.active
        if active == "destinations":
            listing = await self.backend.destination_list()
            if self._shutting_down():
                return  # the app closed while the listing was on its way
            self.destinations_view.show(
                self._recent_views(DESTINATIONS_SCANNED), self._capability("destinations"), listing
            )
        elif active == "violations":
            self.violations_view.show(self.everything(), self._capability("violations"))
        elif active == "assertions":
            view = self.assertions_view
            view.show_checks()
            view.explain_again()
            verdicts = await self.backend.verdicts()
            if not self._shutting_down():  # the app may have closed meanwhile
                view.show_verdicts(verdicts)
        elif active == "faults":
            faults = await self.backend.faults()
            if not self._shutting_down():
                self.faults_view.show(faults)
        elif active == "profiles":
            listing = await self.backend.profiles(self.profiles_view.search_text, PROFILES_SHOWN)
            if not self._shutting_down():
                self.profiles_view.show(listing, self.backend.identity())

    @work(exclusive=True, group="views")
    async def _refresh_views(self) -> None:
        await self._refresh_active_view()
        if not self._shutting_down():
            self._update_status()

    def _recent_views(self, limit: int) -> Iterator[Record]:
        """The newest records as every surface shows them, deliveries included."""
        get = self.backend.get
        for record in itertools.islice(self.everything(), limit):
            yield get(record["id"]) or record

    def everything(self) -> Iterator[Record]:
        """Every event the view holds, paused ones included, newest first."""
        held = (r for r in reversed(self.event_log.held))
        return itertools.chain(held, self.event_log.newest_first())

    # -- capabilities ----------------------------------------------------------------------

    def _capability(self, view: str) -> Capability:
        """On if the emulator says so, or if events carry the keys anyway."""
        capability = (
            self.backend.destinations() if view == "destinations" else self.backend.protocols()
        )
        if capability.on:
            return capability
        key = OPTIONAL_COLUMNS[view]
        newest = self.event_log.shown_newest_first(0)
        # Routing must name a destination: an emulator with none still adds an empty dict.
        if (
            newest is not None
            and key in newest
            and (view != "destinations" or newest.get("routing"))
        ):
            return Capability(True)
        return capability

    def _default_columns(self) -> tuple[str, ...]:
        """Every column, less those of a capability that is off."""
        return tuple(
            key
            for key in DEFAULT_COLUMNS
            if key not in OPTIONAL_COLUMNS or self._capability(key).on
        )

    def _label_tabs(self) -> None:
        tabs = self.tabs
        failing = self.checks.failing
        labels = {
            view: f"{title}{'' if self._capability(view).on else ' (off)'}"
            for view, title in (("destinations", "Destinations"), ("violations", "Violations"))
        }
        labels["assertions"] = f"Assertions ({failing} failing)" if failing else "Assertions"
        for view, label in labels.items():
            try:
                tab = tabs.get_tab(view)
            except NoMatches:  # a timer fired before the tabs were mounted: next tick
                return
            if tab.label_text != label:  # a relabel costs a layout
                tab.label = label

    def _hint(self) -> list[str]:
        url = self.backend.url
        cleared = self.event_log.cleared
        if cleared:
            first = (
                f"View cleared; the store still holds the {cleared:,} earlier "
                f"call{'s' if cleared != 1 else ''} (segemu events lists them). New calls show "
                f"here."
            )
        else:
            first = f"No calls yet. Point an SDK at {url} with any write key:"
        # The same lines as `segemu run`'s banner and the README's quick starts.
        return [
            first,
            f"  Python   Client('my_write_key', host='{url}')",
            f"  Node     new Analytics({{ writeKey: 'my_write_key', host: '{url}' }})",
            f"  Browser  AnalyticsBrowser.load({{ writeKey: 'my_write_key', cdnURL: '{url}' }})",
            "",
            "/ filter   Enter detail   p pause   c clear   ? help   q quit",
        ]

    # -- actions ---------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # The main screen's keys do nothing (and are not shown) over a detail, a diff or help.
        return not (action in MAIN_SCREEN_ACTIONS and self.screen is not self.screen_stack[0])

    @on(FilterBar.Changed)
    def _filter(self, event: FilterBar.Changed) -> None:
        keep = self.table.current
        self.event_log.set_filter(event.where)
        self.table.reload(keep=keep)
        self._update_status()

    @on(FilterBar.Done)
    def _filtered(self) -> None:
        self.action_show_tab("events")

    @on(EventTable.Opened)
    @on(OpenRecord)
    async def _open(self, event: EventTable.Opened | OpenRecord) -> None:
        record = self.backend.get(event.record_id)
        if record is None:
            self.notify(f"#{event.record_id} is no longer stored", severity="warning")
            return
        record = await self.backend.latest(record)
        self.push_screen(
            DetailScreen(
                record,
                destinations=self._capability("destinations"),
                protocols=self._capability("violations"),
                marked=self._marked,
                mark=self._mark,
                tab=event.tab if isinstance(event, OpenRecord) else None,
            )
        )

    @on(OpenProfile)
    async def _open_profile(self, event: OpenProfile) -> None:
        external_id, space = event.external_id, event.space

        async def read() -> dict[str, Any] | None:
            return await self.backend.profile(external_id, space)

        profile = await read()
        if profile is None:
            problem = self.backend.problem
            self.notify(
                f"No profile has {external_id}" + (f" ({problem})" if problem else ""),
                severity="warning",
            )
            return
        self.push_screen(ProfileScreen(profile, reload=read))

    @on(TabbedContent.TabActivated)
    def _tab(self, event: TabbedContent.TabActivated) -> None:
        self._refresh_views()

    @on(ProfilesView.SearchChanged)
    def _search_profiles(self) -> None:
        self._refresh_views()

    def _marked(self) -> Record | None:
        marked = self.table.marked
        return self.backend.get(marked) if marked is not None else None

    def _mark(self, record_id: int) -> None:
        self.table.marked = record_id
        self.table.invalidate()

    def action_focus_filter(self) -> None:
        self.filter_bar.input.focus()

    def action_focus_table(self) -> None:
        """Esc: back to the active view's main list, from the filter or the ad-hoc box."""
        self.screen.query_one(VIEW_LISTS[self.tabs.active]).focus()

    def action_toggle_pause(self) -> None:
        if self.event_log.paused:
            self._flush_batch()
            self.table.arrived(self.event_log.resume())
        else:
            self._flush_batch()
            self.event_log.pause()
        self._update_status()

    def action_clear(self) -> None:
        self._flush_batch()
        hidden = len(self.event_log) + len(self.event_log.held)
        self.event_log.clear()
        self.checks.recount([])
        self.table.marked = None
        self.table.hint = self._hint()
        self.table.reload()
        self.assertions_view.show_checks()
        self._refresh_views()
        self._update_status()
        self.notify(f"Cleared {hidden:,} calls from the view; the store keeps them")

    def action_mark(self) -> None:
        current = self.table.current
        if current is not None:
            self._mark(current)
            self.notify(f"Marked #{current}: move to another event and press d to diff")

    def action_diff(self) -> None:
        marked, current = self._marked(), self.table.current
        record = self.backend.get(current) if current is not None else None
        if marked is None or record is None or marked["id"] == record["id"]:
            self.notify("Mark an event with m, then press d on another", severity="warning")
            return
        self.push_screen(DiffScreen(marked, record))

    def action_columns(self) -> None:
        def chosen(columns: tuple[str, ...] | None) -> None:
            if columns:
                self._columns = columns  # the reader's choice from now on
                self.table.set_columns(columns)

        self.push_screen(ColumnPicker(self.table.columns), chosen)

    def action_functions(self) -> None:
        from segemu.tui.functions import FunctionsScreen

        self.push_screen(FunctionsScreen(self.backend.function_invocations))

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def action_show_tab(self, tab: str) -> None:
        self.tabs.active = tab
        # Keys go on working in the view just shown: its main list takes the focus.
        self.screen.query_one(VIEW_LISTS[tab]).focus()


class _NotifyHandler(logging.Handler):
    """segemu's warnings (a failed disk write, say) as notifications: printing them would
    tear the screen."""

    def __init__(self, app: InspectorApp) -> None:
        super().__init__(logging.WARNING)
        self.app = app

    def emit(self, record: logging.LogRecord) -> None:
        # The app may be closing: then there is no one left to tell.
        with contextlib.suppress(Exception):
            self.app.notify(record.getMessage(), title="segemu", severity="error")
