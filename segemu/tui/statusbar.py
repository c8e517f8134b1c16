"""The status line above the key bindings: where to send events, the write keys seen, the
counts, and whether the view is paused or filtered."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from segemu.message import STATUSES
from segemu.tui.log import EventLog

# Write keys named in full before "+N more".
KEYS_SHOWN = 3


def describe(
    log: EventLog, url: str, mode: str, problem: str | None, width: int | None = None
) -> Text:
    """The status line; on a narrow terminal (`width`) the write keys go first, then the
    mode, then the URL, so the counts always show."""
    # (text, style, drop order: 0 never, 1 first)
    parts: list[tuple[str, str, int]] = [(f" {url} ", "bold", 3), (f"({mode})", "dim", 2)]
    if problem:
        parts.append((f"  {problem}", "bold red", 0))
    keys = log.write_keys.most_common()
    if keys:
        named = ", ".join(f"{key} {count:,}" for key, count in keys[:KEYS_SHOWN])
        more = f" +{len(keys) - KEYS_SHOWN} more" if len(keys) > KEYS_SHOWN else ""
        parts.append((f"  keys: {named}{more}", "", 1))
    else:
        parts.append(("  keys: none yet", "dim", 1))
    total = len(log)
    counts = [f"{log.statuses[s]:,} {s}" for s in STATUSES if log.statuses.get(s)]
    summary = f"  {total:,} call{'s' if total != 1 else ''}"
    parts.append((summary + (f" ({', '.join(counts)})" if counts else ""), "", 0))
    if log.cleared:
        parts.append((f", {log.cleared:,} cleared from the view (still stored)", "dim", 0))
    if log.where is not None:
        if log.shown:
            parts.append((f"  showing {len(log.shown):,}", "bold", 0))
        else:
            parts.append((f"  the filter matched nothing (searched {total:,})", "bold", 0))
    if log.paused:
        parts.append((f"  ⏸ PAUSED, {len(log.held):,} new", "bold reverse", 0))
    if width is not None:
        for order in (1, 2, 3):
            if sum(len(text) for text, _, _ in parts) <= width:
                break
            parts = [part for part in parts if part[2] != order]
    text = Text()
    for part, style, _ in parts:
        text.append(part, style=style)
    return text


class StatusBar(Static):
    _shown: Text | None = None

    def show(self, log: EventLog, url: str, mode: str, problem: str | None) -> None:
        text = describe(log, url, mode, problem, self.size.width or None)
        if text != self._shown:  # one line, always: no layout needed
            self._shown = text
            self.update(text, layout=False)
