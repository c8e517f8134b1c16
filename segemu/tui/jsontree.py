"""Foldable, highlighted JSON: a Tree whose nodes are the objects and lists of a document.

Enter or a click folds a node; `e` unfolds everything, `E` folds all but the top level.
"""

from __future__ import annotations

from typing import Any, ClassVar

import orjson
from rich.highlighter import JSONHighlighter
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

# Objects and lists with more items than this start folded: a 200-product cart stays readable.
FOLDED_ABOVE = 30
_highlight = JSONHighlighter()


def scalar(value: Any) -> Text:
    text = orjson.dumps(value, default=repr).decode()
    return _highlight(Text(text))


class JsonTree(Tree[Any]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("e", "unfold_all", "Unfold all"),
        Binding("E", "fold_all", "Fold all"),
    ]

    def __init__(self, label: str, data: Any = None, *, id: str | None = None) -> None:
        super().__init__(label, id=id)
        self.show_root = False
        self.guide_depth = 2
        self.load(data)

    def load(self, data: Any) -> None:
        self.clear()
        self.data = data
        self.root.data = data
        _fill(self.root, data)
        self.root.expand()

    def action_unfold_all(self) -> None:
        self.root.expand_all()

    def action_fold_all(self) -> None:
        for child in self.root.children:
            child.collapse_all()


def _label(key: str | int, value: Any) -> Text:
    name = Text(str(key) if isinstance(key, int) else f"{key}", style="bold")
    if isinstance(value, dict):
        return Text.assemble(name, Text(f" {{{len(value)}}}", style="dim"))
    if isinstance(value, list):
        return Text.assemble(name, Text(f" [{len(value)}]", style="dim"))
    return Text.assemble(name, ": ", scalar(value))


def _fill(node: TreeNode[Any], value: Any) -> None:
    if isinstance(value, dict):
        items: list[tuple[str | int, Any]] = list(value.items())
    elif isinstance(value, list):
        items = list(enumerate(value))
    else:
        node.add_leaf(scalar(value), data=value)
        return
    for key, child in items:
        if isinstance(child, dict | list):
            branch = node.add(_label(key, child), data=child, expand=len(child) <= FOLDED_ABOVE)
            _fill(branch, child)
        else:
            node.add_leaf(_label(key, child), data=child)
