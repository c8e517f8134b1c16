"""A clean stop's picture of the store's memory, so that the next start need not rebuild it.

Opening a store reads every chunk file, checks each record, puts it in compact form and indexes
it: about 45 us a record, 4.5 s for 100,000 calls. What that builds is the same every time for
the same files, so `EventStore.close()` writes it beside them, in `store.snapshot`: the compact
records' buffers, the arrays beside them, the shapes, the classes and the indexes, as raw
arrays and JSON. The next open uses it only if every `.json` file of the directory is exactly
as the snapshot saw it (name, size, modification time), and deletes it either way: after a hard
kill, a crash, or any change to the files, the store is rebuilt from the files as before. The
chunk files stay the only source of truth; the snapshot is a cache of what they give.

Layout: MAGIC, the length of the header (8 bytes, little-endian), the header (JSON: format,
the CRC-32 of the sections, fingerprint, scalar values, and each section's kind, offset and
length), then the sections.
"""

from __future__ import annotations

import os
import sys
import zlib
from array import array
from pathlib import Path
from typing import Any

import orjson

MAGIC = b"segemu store snapshot\n"
FORMAT = 1
FILE = "store.snapshot"

# The arrays are written in this machine's byte order; a snapshot from another is not used.
_BYTE_ORDER = sys.byteorder


class SnapshotError(ValueError):
    """A snapshot that cannot be used (damaged, another format): the store reads its files."""


def fingerprint(directory: Path) -> dict[str, list[int]]:
    """Each JSON file of the store's directory (the chunks, the resets), by size and mtime."""
    found = {}
    for path in sorted(directory.glob("*.json")):
        status = path.stat()
        found[path.name] = [status.st_size, status.st_mtime_ns]
    return found


class Writer:
    """The sections of a snapshot, as they are added."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self._sections: dict[str, list[Any]] = {}
        self._parts: list[bytes] = []
        self._offset = 0

    def array(self, name: str, values: array[Any]) -> None:
        self._add(name, ["array", values.typecode], values.tobytes())

    def json(self, name: str, value: Any) -> None:
        self._add(name, ["json"], orjson.dumps(value))

    def buffer(self, name: str, data: bytes | bytearray) -> None:
        self._add(name, ["bytes"], bytes(data))

    def _add(self, name: str, kind: list[Any], data: bytes) -> None:
        self._sections[name] = [*kind, self._offset, len(data)]
        self._parts.append(data)
        self._offset += len(data)

    def save(self, directory: Path) -> None:
        """Write the snapshot, whole or not at all (a temporary file, then renamed)."""
        checksum = 0
        for part in self._parts:
            checksum = zlib.crc32(part, checksum)
        header = orjson.dumps(
            {
                "format": FORMAT,
                "crc32": checksum,
                "byteOrder": _BYTE_ORDER,
                "fingerprint": fingerprint(directory),
                "values": self.values,
                "sections": self._sections,
            }
        )
        path = directory / FILE
        temporary = path.with_suffix(".tmp")
        with temporary.open("wb") as out:
            out.write(MAGIC)
            out.write(len(header).to_bytes(8, "little"))
            out.write(header)
            for part in self._parts:
                out.write(part)
        os.replace(temporary, path)


class Reader:
    """A snapshot read back; every accessor raises SnapshotError on what does not fit."""

    def __init__(self, data: bytes) -> None:
        if not data.startswith(MAGIC):
            raise SnapshotError("not a store snapshot")
        at = len(MAGIC)
        length = int.from_bytes(data[at : at + 8], "little")
        try:
            header = orjson.loads(data[at + 8 : at + 8 + length])
        except orjson.JSONDecodeError as exc:
            raise SnapshotError(f"its header is damaged ({exc})") from None
        if type(header) is not dict or header.get("format") != FORMAT:
            raise SnapshotError("another format")
        if header.get("byteOrder") != _BYTE_ORDER:
            raise SnapshotError("written on a machine of another byte order")
        self.header = header
        self.values: dict[str, Any] = header["values"]
        self._data = memoryview(data)[at + 8 + length :]
        # The arrays are taken as they are: a damaged byte would be a wrong record id.
        if zlib.crc32(self._data) != header.get("crc32"):
            raise SnapshotError("its contents do not match their checksum")

    def _section(self, name: str, kind: str) -> tuple[list[Any], memoryview]:
        entry = self.header["sections"].get(name)
        if entry is None or entry[0] != kind:
            raise SnapshotError(f"it has no {kind} section {name!r}")
        offset, length = entry[-2], entry[-1]
        if offset < 0 or length < 0 or offset + length > len(self._data):
            raise SnapshotError(f"its section {name!r} is cut short")
        return entry, self._data[offset : offset + length]

    def array(self, name: str) -> array[Any]:
        entry, data = self._section(name, "array")
        values = array(entry[1])
        if len(data) % values.itemsize:
            raise SnapshotError(f"its section {name!r} is cut short")
        values.frombytes(data)
        return values

    def json(self, name: str) -> Any:
        _entry, data = self._section(name, "json")
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise SnapshotError(f"its section {name!r} is damaged ({exc})") from None

    def buffer(self, name: str) -> bytes:
        return self._section(name, "bytes")[1].tobytes()


def take(directory: Path) -> Reader | None:
    """The snapshot of this directory if it is still true of its files, else None. The file is
    deleted either way: it describes one moment, the clean stop that wrote it."""
    path = directory / FILE
    # A save cut short by a hard kill leaves its temporary file: never used, always removed.
    path.with_suffix(".tmp").unlink(missing_ok=True)
    try:
        data = path.read_bytes()
    except OSError:
        return None
    path.unlink(missing_ok=True)
    try:
        reader = Reader(data)
        if reader.header.get("fingerprint") != fingerprint(directory):
            return None
    except (SnapshotError, KeyError, TypeError, AttributeError, OSError):
        return None
    return reader
