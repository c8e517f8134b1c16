"""The calls of a store directory, oldest first, read one chunk file at a time.

`segemu export` and `segemu replay --db` read a store as files, without opening it as an
EventStore: opening one indexes every record in memory, where reading the chunk files in
order holds at most one chunk (CHUNK_SIZE records). It can read while a `segemu run` keeps
writing the directory: the storage replaces each file whole (storage.py), never in place.
Records a reset hid are skipped; a document that is not a record is skipped and counted, as
the store sets it aside when it opens (record_check.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import orjson

from segemu.jsonlimits import RECORD_DEPTH, encoder_within
from segemu.message import Record
from segemu.record_check import record_problem, tombstone_problem
from segemu.store import CHUNK_PREFIX, RESETS_TABLE


class StoreFilesError(ValueError):
    """Not a store directory, or a file of it cannot be read."""


@dataclass(slots=True)
class StoreFiles:
    directory: Path
    skipped: int = 0

    def chunks(self) -> list[Path]:
        if not self.directory.is_dir():
            raise StoreFilesError(f"{self.directory}: no store there (not a directory)")
        return sorted(
            p
            for p in self.directory.glob(f"{CHUNK_PREFIX}*.json")
            if p.stem[len(CHUNK_PREFIX) :].isdigit()
        )

    def size(self) -> int:
        """Bytes of chunk files, for a progress bar."""
        return sum(p.stat().st_size for p in self.chunks())

    def records(self, on_chunk: Callable[[int], None] | None = None) -> Iterator[Record]:
        """Each stored record, oldest first; `on_chunk` hears the bytes of each chunk file
        once it has been read (a progress bar)."""
        hidden = self._resets()
        for path in self.chunks():
            table = self._table(path)
            documents = list(table.values()) if isinstance(table, dict) else []
            documents.sort(key=lambda d: d.get("id", 0) if isinstance(d, dict) else 0)
            # One pass of the encoder settles the depth of the whole chunk, as the store does
            # when it opens (jsonlimits.encoder_within); a chunk it refuses is walked.
            shallow = encoder_within(table, RECORD_DEPTH + 1)
            for document in documents:
                if record_problem(document, shallow=shallow) is not None:
                    self.skipped += 1
                    continue
                record = cast(Record, document)
                if record["id"] < hidden.get(record["writeKey"], 0):
                    continue
                yield record
            if on_chunk is not None:
                on_chunk(path.stat().st_size if path.exists() else 0)

    def _table(self, path: Path) -> Any:
        try:
            data = orjson.loads(path.read_bytes())
        except FileNotFoundError:
            return {}  # removed by retention since it was listed
        except (OSError, orjson.JSONDecodeError) as exc:
            raise StoreFilesError(
                f"{path}: cannot read it as a chunk of the store: {exc}"
            ) from None
        return data.get(path.stem) if isinstance(data, dict) else None

    def _resets(self) -> dict[str | None, int]:
        path = self.directory / f"{RESETS_TABLE}.json"
        if not path.exists():
            return {}
        try:
            data = orjson.loads(path.read_bytes())
        except (OSError, orjson.JSONDecodeError):
            return {}
        table = data.get(RESETS_TABLE) if isinstance(data, dict) else None
        if not isinstance(table, dict):
            return {}
        return {
            doc["writeKey"]: doc["beforeId"]
            for doc in table.values()
            if tombstone_problem(doc) is None
        }
