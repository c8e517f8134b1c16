"""The help screen: every key, and the query language on one page."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

KEYS = (
    ("/", "filter with the query language below; Esc goes back to the table"),
    ("↑ ↓ PgUp PgDn Home End", "move (also j k g G); on the newest row the table follows"),
    ("Enter, double click", "the event's detail: normalized, raw, destinations, plan"),
    ("y", "(in a detail or diff) copy the JSON shown to the clipboard"),
    ("e / E", "(in a detail) unfold / fold all the JSON; Enter folds one node"),
    ("m, then d", "mark an event, then diff another against it"),
    ("p, Space", "pause and resume; events keep arriving, and are counted"),
    ("c", "clear the view (the store keeps every event)"),
    ("1 2 3 4 5 6", "events, destinations, violations, assertions, faults, profiles"),
    ("p", "(in a detail) the profile the call joined: identity graph, traits, merges, calls"),
    ("C", "choose the columns"),
    ("F", "Source Function invocations: webhook, emitted calls, console output, errors"),
    ("T, Ctrl+P", "change the theme; the command palette"),
    ("q, Ctrl+C", "quit: segemu stops and writes the store"),
)

QUERY = """\
[b]Query language[/b]  type:track event:"Order Completed" user:u_1 properties.revenue>50

  a b  both      a OR b  either      -a, NOT a  negation      ( )  grouping
  field:value  equals    field!=value    field:*  exists    field:null  missing
  field>v >= < <=    field~regex    event:Order*  a wildcard
  type status reason writeKey source messageId id receivedAt: the record's own fields
  event name user anon groupId, properties.x context.library.name traits.email
  raw.  looks at the call as the SDK sent it; a bare word searches names and ids

[b]Assertions[/b]
  Expectations from `segemu run --expect FILE` (a JSON list of POST /_segemu/assert bodies)
  turn green as matching events arrive; type a query, or a JSON expectation, in the ad hoc
  box to add one. Assertions test suites make through the control API are listed too."""


def help_text() -> Text:
    text = Text.from_markup(
        "[b]segemu inspector[/b]: every call that reaches segemu, as it arrives, newest first.\n\n"
    )
    for keys, does in KEYS:
        text.append(f"  {keys:<24}", style="bold")
        text.append(f"{does}\n")
    text.append("\n")
    text.append_text(Text.from_markup(QUERY))
    return text


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark,f1", "app.pop_screen", "Close"),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Static(help_text())
