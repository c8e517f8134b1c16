"""Regular expressions that users write (`field~regex` in queries, `{"$regex": ...}` in
expectations), matched in time linear in the text, whatever the pattern.

Python's `re` backtracks: `(a+)+$` against 30 characters takes seconds, and any web page can put
such a pattern in a query to a local server. RE2 (through google-re2) has no backtracking, so a
match costs in proportion to the text, and patterns that only a backtracking engine can match
(look-around, backreferences, atomic groups, possessive quantifiers) are refused when the
pattern is compiled, with a message that says so. RE2's syntax is otherwise Python's
(https://github.com/google/re2/wiki/Syntax); `\\d`, `\\w`, `\\s` and `\\b` are ASCII-only there.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Final

import re2  # google-re2, which ships no type information (see pyproject's mypy overrides)

_OPTIONS: Final = re2.Options()
# RE2 otherwise logs every rejected pattern to stderr, which is the user's terminal.
_OPTIONS.log_errors = False

# Constructs a backtracking engine has and RE2 does not, by how RE2's error names them.
_UNSUPPORTED: Final = (
    ("(?=", "look-ahead"),
    ("(?!", "negative look-ahead"),
    ("(?<=", "look-behind"),
    ("(?<!", "negative look-behind"),
    ("(?>", "an atomic group"),
    ("(?P=", "a backreference"),
)
_WHY: Final = "(segemu matches regular expressions in linear time, with RE2's syntax)"


class RegexError(ValueError):
    """A pattern RE2 cannot compile; `position` is where in the pattern the problem starts."""

    def __init__(self, message: str, position: int) -> None:
        self.message = message
        self.position = position
        super().__init__(message)


class Regex:
    """A compiled pattern; `search` is True when it matches anywhere in the text."""

    __slots__ = ("_compiled", "pattern")

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        try:
            self._compiled = re2.compile(pattern, _OPTIONS)
        except re2.error as exc:
            raise _explain(pattern, exc) from None

    def search(self, text: str) -> bool:
        # Searching bytes skips the wrapper's mapping of byte offsets back to characters, which
        # a yes/no answer does not need; RE2 reads them as the UTF-8 they are.
        return self._compiled.search(text.encode("utf-8", "surrogatepass")) is not None

    def __repr__(self) -> str:
        return f"Regex({self.pattern!r})"


@lru_cache(maxsize=256)
def compile_regex(pattern: str) -> Regex:
    """The pattern compiled once: an expectation compiles its matchers for every record it
    looks at."""
    return Regex(pattern)


def _explain(pattern: str, exc: Exception) -> RegexError:
    raw = exc.args[0] if exc.args else ""
    detail = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    # RE2 says "<what is wrong>: <the part of the pattern at fault>".
    what, _, fragment = detail.partition(": ")
    position = max(pattern.find(fragment) if fragment else 0, 0)
    for opening, name in _UNSUPPORTED:
        if fragment.startswith(opening):
            return RegexError(f"{name} '{opening}' is not supported {_WHY}", position)
    if what == "invalid escape sequence" and fragment[1:2].isdigit():
        return RegexError(f"a backreference '{fragment}' is not supported {_WHY}", position)
    if fragment == "\\Z":
        return RegexError("'\\Z' is not supported; use '\\z' for the end of the text", position)
    if what == "bad repetition operator" and fragment[-1:] == "+":
        return RegexError(f"a possessive quantifier '{fragment}' is not supported {_WHY}", position)
    if what == "missing )":
        return RegexError("missing ), unterminated group", _unbalanced(pattern))
    if what == "unexpected )":
        return RegexError("unbalanced parenthesis", _unbalanced(pattern))
    if what == "missing ]":
        return RegexError("unterminated character set", position)
    if what == "trailing \\":
        return RegexError("a \\ at the end of the pattern escapes nothing", len(pattern) - 1)
    return RegexError(f"{what}: {fragment}" if fragment else what, position)


def _unbalanced(pattern: str) -> int:
    """Where the first unmatched `)` is, or else the last `(` left open: RE2 names neither."""
    opened: list[int] = []
    i, in_class = 0, False
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            i += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            # A `]` right after `[` or `[^` is a literal one.
            if pattern[i + 1 : i + 2] == "^":
                i += 1
            if pattern[i + 1 : i + 2] == "]":
                i += 1
        elif char == "(":
            opened.append(i)
        elif char == ")":
            if not opened:
                return i
            opened.pop()
        i += 1
    return opened[-1] if opened else 0
