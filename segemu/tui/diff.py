"""The diff of two events: what changed between the marked call and another, as a unified
diff of their JSON (keys sorted, so only real differences show)."""

from __future__ import annotations

import difflib
from typing import Any, ClassVar

import orjson
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static, TabbedContent, TabPane

from segemu.expectations import summarize
from segemu.message import Record

PARTS = (("event", "Normalized"), ("raw", "Raw"), ("deliveries", "Destinations"))


def pretty(value: Any) -> list[str]:
    return (
        orjson.dumps(value, default=repr, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
        .decode()
        .splitlines()
    )


def unified(older: Record, newer: Record, part: str) -> str:
    lines = difflib.unified_diff(
        pretty(older.get(part)),
        pretty(newer.get(part)),
        f"#{older['id']} {part}",
        f"#{newer['id']} {part}",
        lineterm="",
    )
    return "\n".join(lines)


def colour(diff: str) -> Text:
    if not diff:
        return Text("no differences", style="dim")
    text = Text()
    for line in diff.splitlines():
        if line.startswith(("+++", "---")):
            style = "bold"
        elif line.startswith("@@"):
            style = "cyan"
        elif line.startswith("+"):
            style = "green"
        elif line.startswith("-"):
            style = "red"
        else:
            style = ""
        text.append(line + "\n", style=style)
    return text


class DiffScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "app.pop_screen", "Back"),
        Binding("y", "copy", "Copy diff"),
    ]

    def __init__(self, older: Record, newer: Record) -> None:
        super().__init__()
        if older["id"] > newer["id"]:
            older, newer = newer, older
        self.older, self.newer = older, newer

    def compose(self) -> ComposeResult:
        yield Static(
            Text.assemble(
                ("- ", "red"), summarize(self.older), "\n", ("+ ", "green"), summarize(self.newer)
            ),
            id="diff-title",
        )
        with TabbedContent(id="diff-tabs"):
            for part, title in PARTS:
                with TabPane(title, id=f"diff-{part}"), VerticalScroll():
                    yield Static(colour(unified(self.older, self.newer, part)))
        yield Footer()

    def action_copy(self) -> None:
        part = self.query_one(TabbedContent).active.removeprefix("diff-")
        text = unified(self.older, self.newer, part)
        self.app.copy_to_clipboard(text)
        self.notify(f"Copied the diff ({len(text.splitlines())} lines)")
