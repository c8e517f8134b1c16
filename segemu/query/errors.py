"""QueryError: a query that does not parse, shown with a caret under the problem."""

from __future__ import annotations

# -- errors -------------------------------------------------------------------------------------


class QueryError(ValueError):
    """A query that does not parse; `str()` shows the query with a caret under the problem."""

    def __init__(self, message: str, query: str, position: int) -> None:
        self.message = message
        self.query = query
        self.position = max(0, min(position, len(query)))
        super().__init__(_point_at(message, query, self.position))


def _point_at(message: str, query: str, position: int) -> str:
    # Show only the line holding the problem, so a multi-line query from a file stays readable.
    line_start = query.rfind("\n", 0, position) + 1
    line_end = query.find("\n", position)
    line = query[line_start:] if line_end == -1 else query[line_start:line_end]
    column = position - line_start + 1
    where = f"column {column}"
    if "\n" in query:
        where = f"line {query.count(chr(10), 0, position) + 1}, {where}"
    # Tabs are copied so that the caret lines up however the terminal expands them.
    pad = "".join("\t" if c == "\t" else " " for c in line[: column - 1])
    return f"{message} at {where}\n  {line}\n  {pad}^"
