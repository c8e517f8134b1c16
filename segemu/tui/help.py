"""The help screen: every key, and the query language on one page."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

HELP = """\
# segemu inspector

Every call that reaches segemu shows up here as it arrives, newest first.

| key | does |
| --- | --- |
| `/` | filter (the query language below); `Esc` back to the table |
| `↑ ↓ PgUp PgDn` `Home End` (`j k g G`) | move; the table follows new events while on the newest |
| `Enter`, double click | the event's detail: normalized, raw, per destination, tracking plan |
| `y` (in detail) | copy the JSON shown to the clipboard |
| `e` / `E` (in detail) | unfold / fold the JSON |
| `m`, then `d` on another event | mark one event, diff another against it |
| `p`, `Space` | pause and resume (events keep arriving, and are counted) |
| `c` | clear the view (the store keeps every event) |
| `1` `2` `3` `4` | events, destinations, violations, assertions |
| `C` | choose the columns |
| `T`, `Ctrl+P` | change the theme; the command palette |
| `q`, `Ctrl+C` | quit: segemu stops and writes the store |

## Query language

`type:track event:"Order Completed" user:u_1 properties.revenue>50`

- `a b` both, `a OR b` either, `-a` or `NOT a` negation, `( )` grouping
- `field:value` equals, `field!=value`, `field:*` exists, `field:null` missing
- `field>v` `>=` `<` `<=`, `field~regex`, `event:Order*` a wildcard
- `type` `status` `reason` `writeKey` `source` `messageId` `id` `receivedAt`: the record
- `event` `name` `user` `anon` `groupId`, `properties.x` `context.library.name` `traits.email`
- `raw.` looks at the call as the SDK sent it; a bare word searches names and ids

## Assertions

Expectations from `segemu run --expect FILE` (a JSON list of `POST /_segemu/assert` bodies)
turn green as matching events arrive. Type a query, or a JSON expectation, in the ad hoc box to
add one. Assertions made by test suites through the control API are listed with their verdicts.
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark,f1", "app.pop_screen", "Close"),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Markdown(HELP)
