"""Writing calls out: JSON Lines, or the layout of Segment's Amazon S3 destination.

Segment's S3 destination keeps "gzipped, newline-separated JSON containing the full call",
grouped by day: `segment-logs/{source-id}/{received-day}/filename.gz`, where received-day is
the Unix time (ms) of the UTC day the API received the calls (segment-docs
src/connections/storage/catalog/amazon-s3/index.md "Data format"). segemu writes the same
tree under a directory of the developer's choice, with the source's name as its id, and names
each file `<ms of its first call>.<part>.gz`. Data Lakes writes Parquet, which segemu does not.
"""

from __future__ import annotations

import gzip
from collections import OrderedDict
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, cast

import orjson

from segemu.message import parse_timestamp

ARCHIVE_ROOT = "segment-logs"
# Calls per archive file: Segment rolls its files over too; this keeps each file small
# enough to open in an editor once gunzipped.
CALLS_PER_FILE = 100_000
# Files kept open at once (one per source and day being written).
OPEN_FILES = 16


class JsonLinesWriter:
    """One JSON object per line, to a file or stdout, gzip-compressed if the name ends .gz."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out = out
        self.written = 0

    @classmethod
    def to_path(cls, path: Path) -> JsonLinesWriter:
        if path.suffix == ".gz":
            return cls(cast(IO[bytes], gzip.open(path, "wb", compresslevel=5)))
        return cls(open(path, "wb"))

    def write(self, line: dict[str, Any], received_at: str) -> None:
        del received_at
        self.out.write(orjson.dumps(line) + b"\n")
        self.written += 1

    def close(self) -> None:
        self.out.close()


class ArchiveWriter:
    """The S3 destination's tree under `root`: one gzip file of JSON Lines per source and
    received day (and per CALLS_PER_FILE calls)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.written = 0
        self.files: list[Path] = []
        self._open: OrderedDict[tuple[str, int], tuple[IO[bytes], int]] = OrderedDict()
        self._parts: dict[tuple[str, int], int] = {}

    def write(self, line: dict[str, Any], received_at: str, source: str) -> None:
        moment = parse_timestamp(received_at) or datetime.now(UTC)
        day = int(datetime(moment.year, moment.month, moment.day, tzinfo=UTC).timestamp() * 1000)
        key = (source, day)
        entry = self._open.get(key)
        if entry is None or entry[1] >= CALLS_PER_FILE:
            if entry is not None:
                entry[0].close()
                del self._open[key]
            entry = (self._new_file(key, int(moment.timestamp() * 1000)), 0)
            if len(self._open) >= OPEN_FILES:
                _, (oldest, _) = self._open.popitem(last=False)
                oldest.close()
        stream, count = entry
        stream.write(orjson.dumps(line) + b"\n")
        self._open[key] = (stream, count + 1)
        self._open.move_to_end(key)
        self.written += 1

    def _new_file(self, key: tuple[str, int], first_ms: int) -> IO[bytes]:
        source, day = key
        part = self._parts.get(key, 0)
        self._parts[key] = part + 1
        folder = self.root / ARCHIVE_ROOT / _safe(source) / str(day)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{first_ms}.{part:04d}.gz"
        while path.exists():  # a second export into the same tree adds files, never overwrites
            part += 1
            self._parts[key] = part + 1
            path = folder / f"{first_ms}.{part:04d}.gz"
        self.files.append(path)
        return cast(IO[bytes], gzip.open(path, "wb", compresslevel=5))

    def close(self) -> None:
        for stream, _ in self._open.values():
            stream.close()
        self._open.clear()


def _safe(name: str) -> str:
    """A source name or write key as one path segment."""
    cleaned = "".join(c if c.isalnum() or c in "-_." else "_" for c in name).strip(".")
    return cleaned or "_"
