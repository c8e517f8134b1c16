"""FQL's `match(s, pattern)`: Segment's glob, case-sensitive, matching the whole string.

The rules are those of DOCS api/public-api/fql.md §match: `*` is any run of characters (`/`
included: Segment's glob has no path separator), `?` one character, `[abc]` / `[a-z]` /
`[^a-z]` one character of a class, `\\x` the character x. Segment's evaluators
(segmentio/tsub-js src/matchers.ts `globMatches`, a port of the Go segmentio/glob) split the
pattern at its stars into chunks of single-character operators; a malformed pattern (a
trailing `\\`, an unclosed class) matches nothing.

Each chunk matches exactly as many characters as it has operators, so the leftmost place a
chunk matches is always the best one: the whole match is one left-to-right pass, linear in
the string for a given pattern, whatever the stars.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True, slots=True)
class _Glob:
    # The pattern cut at its stars: chunks[0] is anchored at the start, chunks[-1] at the end
    # when the pattern has a star, and the ones between float.
    chunks: tuple[re.Pattern[str], ...]
    lengths: tuple[int, ...]
    starred: bool


def glob_match(text: str, pattern: str) -> bool:
    glob = _compiled(pattern)
    if glob is None:
        return False
    chunks, lengths = glob.chunks, glob.lengths
    if not glob.starred:
        return chunks[0].fullmatch(text) is not None
    first = chunks[0].match(text)
    if first is None:
        return False
    position, end = first.end(), len(text) - lengths[-1]
    if end < position:
        return False
    for chunk in chunks[1:-1]:
        found = chunk.search(text, position, end)
        if found is None:
            return False
        position = found.end()
    return chunks[-1].fullmatch(text, end) is not None


@lru_cache(maxsize=512)
def _compiled(pattern: str) -> _Glob | None:
    parts: list[list[str]] = [[]]
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "*":
            if parts[-1] or len(parts) == 1:
                parts.append([])
            index += 1
        elif char == "?":
            parts[-1].append(".")
            index += 1
        elif char == "\\":
            if index + 1 >= len(pattern):
                return None
            parts[-1].append(re.escape(pattern[index + 1]))
            index += 2
        elif char == "[":
            cls = _char_class(pattern, index + 1)
            if cls is None:
                return None
            fragment, index = cls
            parts[-1].append(fragment)
        else:
            parts[-1].append(re.escape(char))
            index += 1
    starred = len(parts) > 1
    try:
        chunks = tuple(re.compile("".join(part), re.DOTALL) for part in parts)
    except re.error:
        return None
    return _Glob(chunks, tuple(len(part) for part in parts), starred)


def _char_class(pattern: str, index: int) -> tuple[str, int] | None:
    """`[...]` from just after its `[`: the regex class and the index after `]`."""
    negated = index < len(pattern) and pattern[index] == "^"
    if negated:
        index += 1
    ranges: list[str] = []
    while True:
        if index >= len(pattern):
            return None
        if pattern[index] == "]" and ranges:
            break
        low = _class_char(pattern, index)
        if low is None:
            return None
        low_char, index = low
        high_char = low_char
        if index < len(pattern) and pattern[index] == "-":
            high = _class_char(pattern, index + 1)
            if high is None:
                return None
            high_char, index = high
        if high_char < low_char:
            return None
        ranges.append(f"{re.escape(low_char)}-{re.escape(high_char)}")
    return ("[^" if negated else "[") + "".join(ranges) + "]", index + 1


def _class_char(pattern: str, index: int) -> tuple[str, int] | None:
    if index >= len(pattern) or pattern[index] in "-]":
        return None
    if pattern[index] == "\\":
        index += 1
        if index >= len(pattern):
            return None
    return pattern[index], index + 1
