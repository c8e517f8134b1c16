"""The status line above the key bindings: where to send events, the write keys seen, the
counts, and whether the view is paused or filtered."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from segemu.message import STATUSES
from segemu.tui.log import EventLog

# Write keys named in full before "+N more".
KEYS_SHOWN = 3


def describe(log: EventLog, url: str, mode: str, problem: str | None) -> Text:
    text = Text()
    text.append(f" {url} ", style="bold")
    text.append(f"({mode})", style="dim")
    if problem:
        text.append(f"  {problem}", style="bold red")
    keys = log.write_keys.most_common()
    if keys:
        named = ", ".join(f"{key} {count:,}" for key, count in keys[:KEYS_SHOWN])
        more = f" +{len(keys) - KEYS_SHOWN} more" if len(keys) > KEYS_SHOWN else ""
        text.append(f"  keys: {named}{more}")
    else:
        text.append("  keys: none yet", style="dim")
    total = len(log)
    text.append(f"  {total:,} call{'s' if total != 1 else ''}")
    counts = [f"{log.statuses[s]:,} {s}" for s in STATUSES if log.statuses.get(s)]
    if counts:
        text.append(f" ({', '.join(counts)})")
    if log.where is not None:
        text.append(f"  showing {len(log.shown):,}", style="bold")
    if log.paused:
        text.append(f"  ⏸ PAUSED, {len(log.held):,} new", style="bold reverse")
    return text


class StatusBar(Static):
    _shown: Text | None = None

    def show(self, log: EventLog, url: str, mode: str, problem: str | None) -> None:
        text = describe(log, url, mode, problem)
        if text != self._shown:  # one line, always: no layout needed
            self._shown = text
            self.update(text, layout=False)
