"""A TinyDB storage that keeps one JSON file per table and rewrites only the tables that changed.

TinyDB's own JSONStorage re-serialises and fsyncs the whole database on every write, so a
growing event log gets slower with every insert (DESIGN.md "Storage"; reference §B.1, §B.2).
TinyDB always hands the storage the complete data, but it replaces only the table it modified
with a new dict object: comparing table objects by identity tells which files to rewrite.
The event store shards events into bounded chunk tables, so one write touches at most one
chunk and old chunks are never rewritten.

Each file is itself a valid TinyDB database (`{"<table>": {"<doc_id>": {...}}}`): a person can
open it with `TinyDB(path)` or read it as plain JSON.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import IO, Any

import orjson
from tinydb.storages import Storage

try:  # POSIX only; elsewhere two processes on one directory are simply not detected.
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

_TABLE_NAME = re.compile(r"^[A-Za-z0-9_]+$")
LOCK_FILE = ".lock"


class StorageError(Exception):
    """The database directory cannot be used; the message says why and what to do."""


class TableFileStorage(Storage):
    """`TinyDB(path, storage=TableFileStorage)`; `path=None` keeps everything in memory."""

    def __init__(self, path: str | None = None) -> None:
        self.directory = Path(path) if path else None
        # Problems met while opening (corrupt files moved aside), for the caller to report.
        self.problems: list[str] = []
        self._lock: IO[bytes] | None = None
        self._data: dict[str, dict[str, Any]] = {}
        # The table objects as last written; a table whose object differs has changed.
        self._written: dict[str, dict[str, Any]] = {}
        if self.directory is not None:
            self._open_directory(self.directory)
            self._data = self._load(self.directory)
            self._written = dict(self._data)

    def read(self) -> dict[str, dict[str, Any]]:
        return self._data

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        self._data = data
        self.sync()

    def sync(self) -> None:
        """Write every table that changed since it was last written, and delete dropped ones.

        A table whose write fails stays marked as changed, so the next sync tries it again.
        """
        data = self._data
        if self.directory is None:
            self._written = dict(data)
            return
        for name, table in data.items():
            if self._written.get(name) is not table:
                self._write_table(self.directory, name, table)
                self._written[name] = table
        for name in self._written.keys() - data.keys():
            (self.directory / f"{name}.json").unlink(missing_ok=True)
            del self._written[name]

    def close(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def _open_directory(self, directory: Path) -> None:
        if directory.exists() and not directory.is_dir():
            raise StorageError(
                f"{directory} is a file; --db takes a directory that segemu manages "
                f"(or :memory:)"
            )
        try:
            directory.mkdir(parents=True, exist_ok=True)
            lock = (directory / LOCK_FILE).open("a+b")
        except OSError as exc:
            raise StorageError(f"cannot use {directory} as the database: {exc}") from None
        if fcntl is not None:
            try:
                fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                lock.close()
                raise StorageError(
                    f"{directory} is in use by another segemu process; stop it, or give this "
                    f"one its own --db (or --db :memory:)"
                ) from None
        self._lock = lock

    def _load(self, directory: Path) -> dict[str, dict[str, Any]]:
        data: dict[str, dict[str, Any]] = {}
        for leftover in directory.glob("*.json.tmp"):
            # A write interrupted by a hard kill: the previous version of the file is intact.
            leftover.unlink(missing_ok=True)
        for path in sorted(directory.glob("*.json")):
            name = path.stem
            try:
                content = orjson.loads(path.read_bytes())
                table = content[name] if isinstance(content, dict) else None
                if not isinstance(table, dict) or not all(
                    isinstance(doc, dict) for doc in table.values()
                ):
                    raise ValueError(f"expected {{{name!r}: {{id: document}}}}")
            except (OSError, ValueError, KeyError) as exc:
                self._quarantine(path, exc)
                continue
            data[name] = table
        return data

    def _quarantine(self, path: Path, exc: Exception) -> None:
        aside = path.with_name(f"{path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}")
        try:
            path.rename(aside)
            moved = f"moved aside to {aside.name}"
        except OSError as rename_error:
            moved = f"could not be moved aside ({rename_error}); it is ignored"
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        self.problems.append(f"{path} is truncated or corrupt ({detail}); {moved}")

    @staticmethod
    def _write_table(directory: Path, name: str, table: dict[str, Any]) -> None:
        if not _TABLE_NAME.match(name):
            raise StorageError(f"table name {name!r} cannot be a file name")
        target = directory / f"{name}.json"
        temporary = directory / f"{name}.json.tmp"
        # Write then rename: a hard kill leaves either the old file or the new one, never half.
        with temporary.open("wb") as handle:
            handle.write(orjson.dumps({name: table}))
        os.replace(temporary, target)
