"""The values of a JSON array, or of the `batch` array of a Tracking API batch, one at a time,
from a stream of bytes: a file of a million calls never sits in memory whole.

The scanner only finds where each value ends (strings, brackets and braces); orjson parses the
value itself. Its cost is linear in the input: a regular expression jumps from one structural
character to the next, and each string is skipped by one match.

That walk costs a Python step per brace, comma and colon: about half of what the pipeline
spends on the call. So an object is first tried the quick way (_Scanner.quick_object): orjson
parses up to a closing brace that the next object or the array's end follows, where as many
braces opened as closed, and that parses: it can only be the object's own closing brace.
Counting braces and parsing run in C, about once per object; after QUICK_TRIES closing braces
the walk takes over, which keeps the cost linear whatever the input.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import IO, Any

import orjson

READ_SIZE = 1 << 20
_STRUCTURAL = re.compile(rb'["\[\]{},:]')
# The rest of a string after its opening quote, up to and including the closing quote.
_STRING_REST = re.compile(rb'(?:[^"\\]|\\.)*"', re.DOTALL)
_SPACE = b" \t\r\n"
# Where an object in an array of objects may end: a closing brace before the next object or
# the closing bracket (a nested object's member is followed by a comma and a name instead).
_OBJECT_END = re.compile(rb"\}(?=[ \t\r\n]*(?:,[ \t\r\n]*\{|\]))")
# Closing braces the quick way looks at per object before the walk takes over: a call's own
# nested objects and arrays of objects stay well within it.
QUICK_TRIES = 32


class JsonStreamError(ValueError):
    """The file is not the JSON it looked like; the message says where."""


class _Scanner:
    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.buffer = b""
        self.pos = 0
        self.offset = 0  # bytes of the stream before `buffer`
        self.eof = False

    def more(self, keep_from: int) -> bool:
        """Read more input, dropping the bytes before `keep_from`; positions held by the
        caller move back by `keep_from` (self.pos is moved here)."""
        if self.eof:
            return False
        chunk = self.stream.read(READ_SIZE)
        if not chunk:
            self.eof = True
            return False
        self.buffer = self.buffer[keep_from:] + chunk
        self.offset += keep_from
        self.pos -= keep_from
        return True

    def where(self, position: int | None = None) -> str:
        return f"byte {self.offset + (self.pos if position is None else position)}"

    def skip_space(self) -> None:
        while True:
            buffer, position = self.buffer, self.pos
            while position < len(buffer) and buffer[position] in _SPACE:
                position += 1
            self.pos = position
            if position < len(buffer) or not self.more(position):
                return

    def peek(self) -> bytes:
        self.skip_space()
        return self.buffer[self.pos : self.pos + 1]

    def expect(self, allowed: bytes) -> bytes:
        char = self.peek()
        if not char or char not in allowed:
            got = char.decode("latin-1") or "the end of the file"
            raise JsonStreamError(
                f"expected one of {allowed.decode()!r} at {self.where()}, got {got!r}"
            )
        self.pos += 1
        return char

    def quick_object(self) -> tuple[bool, Any]:
        """The object at the current position, parsed without the walk: (True, it), or
        (False, None) if it ends beyond the buffer or none of the first tries parses (then
        the walk finds its end, or the error and its place)."""
        buffer, start = self.buffer, self.pos
        opened = closed = 0
        counted = start
        for tries, found in enumerate(_OBJECT_END.finditer(buffer, start)):
            if tries == QUICK_TRIES:
                break
            end = found.end()
            # Only where the braces balance is a parse worth trying (a brace inside a string
            # can mislead the count either way: a wasted try, or the walk does it).
            opened += buffer.count(b"{", counted, end)
            closed += buffer.count(b"}", counted, end)
            counted = end
            if opened != closed:
                continue
            try:
                # Valid JSON from the opening brace to this one: the object is exactly that
                # (an object ends at its own closing brace; orjson refuses anything after it).
                value = orjson.loads(buffer[start:end])
            except orjson.JSONDecodeError:
                continue
            self.pos = end
            return True, value
        return False, None

    def value(self) -> Any:
        """Parse the value at the current position and move past it."""
        self.skip_space()
        if self.buffer[self.pos : self.pos + 1] == b"{":
            parsed, value = self.quick_object()
            if parsed:
                return value
        start = self.pos
        depth = 0
        position = start
        while True:
            found = _STRUCTURAL.search(self.buffer, position)
            if found is None:
                scanned = len(self.buffer) - start
                self.pos = start
                if not self.more(start):
                    if depth == 0:
                        end = len(self.buffer)
                        break
                    raise JsonStreamError(f"the file ends inside a value ({self.where()})")
                start, position = self.pos, self.pos + scanned
                continue
            at = found.start()
            char = self.buffer[at]
            if char == 0x22:  # a string: skip to its closing quote
                rest = _STRING_REST.match(self.buffer, at + 1)
                if rest is None:
                    self.pos = start
                    if not self.more(start):
                        raise JsonStreamError(f"the file ends inside a string ({self.where(at)})")
                    position = at - (start - self.pos)
                    start = self.pos
                    continue
                position = rest.end()
            elif char in b"[{":
                depth += 1
                position = at + 1
            elif char in b"]}":
                if depth == 0:
                    end = at
                    break
                depth -= 1
                position = at + 1
                if depth == 0:
                    end = position
                    break
            else:  # , or : ends a scalar
                if depth == 0:
                    end = at
                    break
                position = at + 1
        self.pos = end
        try:
            return orjson.loads(self.buffer[start:end])
        except orjson.JSONDecodeError as exc:
            raise JsonStreamError(f"invalid JSON at {self.where(start)}: {exc}") from None

    def array_items(self) -> Iterator[Any]:
        """After the opening bracket: each item, then past the closing one."""
        if self.peek() == b"]":
            self.pos += 1
            return
        while True:
            yield self.value()
            if self.expect(b",]") == b"]":
                return


def iter_values(stream: IO[bytes]) -> Iterator[tuple[str | None, Any]]:
    """The items of a top-level array as (None, item); of a top-level object, each member as
    (key, value), except a `batch` array, whose items come one at a time as ("batch[]", item)."""
    scanner = _Scanner(stream)
    first = scanner.peek()
    if not first:
        return
    if first == b"[":
        scanner.pos += 1
        for item in scanner.array_items():
            yield None, item
    elif first == b"{":
        scanner.pos += 1
        yield from _object_members(scanner)
    else:
        raise JsonStreamError("expected a JSON array or object at the start of the file")
    if scanner.peek():
        raise JsonStreamError(f"unexpected data after the JSON value at {scanner.where()}")


def _object_members(scanner: _Scanner) -> Iterator[tuple[str | None, Any]]:
    if scanner.peek() == b"}":
        scanner.pos += 1
        return
    while True:
        key = scanner.value()
        if not isinstance(key, str):
            raise JsonStreamError(f"expected a member name at {scanner.where()}")
        scanner.expect(b":")
        if key == "batch" and scanner.peek() == b"[":
            scanner.pos += 1
            for item in scanner.array_items():
                yield "batch[]", item
        else:
            yield key, scanner.value()
        if scanner.expect(b",}") == b"}":
            return
