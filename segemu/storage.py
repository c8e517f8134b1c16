"""A TinyDB storage that keeps one JSON file per table and rewrites only the tables that changed.

TinyDB's own JSONStorage re-serialises and fsyncs the whole database on every write, so a
growing event log gets slower with every insert (DESIGN.md "Storage"; reference §B.1, §B.2).
TinyDB always hands the storage the complete data, but it replaces only the table it modified
with a new dict object: comparing table objects by identity tells which files to rewrite.
The event store shards events into bounded chunk tables, so one write touches at most one
chunk and old chunks are never rewritten.

Each file is itself a valid TinyDB database (`{"<table>": {"<doc_id>": {...}}}`): a person can
open it with `TinyDB(path)` or read it as plain JSON.

Writing is split in two so that the event loop never waits for the disk: `prepare()` notes
which tables changed (cheap), and the `FileWrite` it returns encodes them and does the disk I/O,
on a thread if the caller likes. That is safe because TinyDB never changes a table dict it has
handed over (every change builds a new one) and the event store never changes a document once
stored (it only inserts and removes; never TinyDB's `update`). A table that only grew since it
was last written (the open chunk of the event store) is not encoded again: its file is the bytes
already made plus those of the new documents.
"""

from __future__ import annotations

import json
import operator
import os
import re
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
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
# Problems kept for the summary (one per damaged file or document): enough to act on.
MAX_PROBLEMS = 100
# Marks a file whose last write or deletion failed: it matches no table, so it is redone.
_UNWRITTEN: dict[str, Any] = {}
# Stands for a table whose documents are on disk only (a deferred or released table): TinyDB
# sees an empty table, and since it is the same object in `_data` and `_written`, the file is
# never rewritten from it; dropping the table still deletes the file.
_ON_DISK: dict[str, Any] = {}


@dataclass(slots=True)
class _Encoded:
    """A table as last written: its documents in order, and their bytes in the file."""

    ids: list[str]
    documents: list[Any]
    # Runs of `"<doc_id>":{...},"<doc_id>":{...}`; the file joins them with commas.
    parts: list[bytes]


@dataclass(frozen=True, slots=True)
class Unwritable:
    """A document that could not be encoded (orjson refuses it), left out of its file."""

    table: str
    doc_id: str
    reason: str
    # Where its content went: "kept in <file>", or why it could not be.
    kept: str


class StorageError(Exception):
    """The database directory cannot be used; the message says why and what to do."""


class TableFileStorage(Storage):
    """`TinyDB(path, storage=TableFileStorage)`; `path=None` keeps everything in memory."""

    def __init__(self, path: str | None = None, deferred_prefix: str | None = None) -> None:
        self.directory = Path(path) if path else None
        # Tables whose names start with it are not read at open, but one at a time through
        # `load_table`, so that their documents need never be in memory all at once.
        self.deferred_prefix = deferred_prefix
        # Problems met while opening (corrupt files moved aside), for the caller to report.
        self.problems: list[str] = []
        self._lock: IO[bytes] | None = None
        self._data: dict[str, dict[str, Any]] = {}
        # The table objects as last written; a table whose object differs has changed.
        self._written: dict[str, dict[str, Any]] = {}
        # The encoding of the table written last (the open chunk), for the next write.
        self._encoded: dict[str, _Encoded] = {}
        self._deferring = False
        self._in_flight: FileWrite | None = None
        # Documents writes could not encode, until the event store takes them out.
        self._unwritable: list[Unwritable] = []
        if self.directory is not None:
            self._open_directory(self.directory)
            self._data = self._load(self.directory)
            self._written = dict(self._data)

    def read(self) -> dict[str, dict[str, Any]]:
        return self._data

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        self._data = data
        if not self._deferring:
            self.sync()

    @contextmanager
    def deferring(self) -> Iterator[None]:
        """Within it, TinyDB's writes change the data only; `prepare()` or `sync()` writes it."""
        self._deferring = True
        try:
            yield
        finally:
            self._deferring = False

    def sync(self) -> None:
        """Write every table that changed, and delete dropped ones, before returning."""
        self.prepare().run()

    def prepare(self) -> FileWrite:
        """Note every table that changed since it was last written and every dropped one; the
        returned FileWrite writes and deletes their files.

        A write still in flight is finished first, so files are always written in the order
        they were prepared. A file whose write fails is redone by the next prepare().
        """
        self._settle()
        data = self._data
        if self.directory is None:
            self._written = dict(data)
            return FileWrite(None, {}, [], {})
        changed = {
            name: table for name, table in data.items() if self._written.get(name) is not table
        }
        for name in changed:
            if not _TABLE_NAME.match(name):
                raise StorageError(f"table name {name!r} cannot be a file name")
        self._written.update(changed)
        deleted = list(self._written.keys() - data.keys())
        for name in deleted:
            del self._written[name]
        write = FileWrite(self.directory, changed, deleted, self._encoded)
        self._in_flight = write
        return write

    def on_disk(self, name: str) -> bool:
        """Whether a table's documents are on disk only (deferred at open, or released)."""
        return self._data.get(name) is _ON_DISK

    def load_table(self, name: str) -> dict[str, Any] | None:
        """The documents of a table that is on disk only, read now and not kept. A damaged
        file is handled as at open: its intact documents are given (the file rewritten with
        them, the damaged one kept aside), or None and the table is gone."""
        if self.directory is None or not self.on_disk(name):
            return None
        table = self._read(self.directory / f"{name}.json")
        if table is None:
            del self._data[name]
            self._written.pop(name, None)
        return table

    def materialize(self, name: str, table: dict[str, Any] | None = None) -> None:
        """Keep a table that is on disk in memory again (`table`, as read by `load_table`),
        so that TinyDB can add documents to it."""
        if not self.on_disk(name):
            return
        if table is None:
            table = self.load_table(name)
            if table is None:
                return
        self._data[name] = table
        self._written[name] = table

    def release(self, name: str) -> bool:
        """Let go of a table's documents once its file holds them: the caller keeps them in
        another form and never changes the table again (a full chunk of the event store).
        False if the file is not written yet (try again after the next write)."""
        self._settle()
        table = self._data.get(name)
        if table is None or table is _ON_DISK or self._written.get(name) is not table:
            return False
        self._data[name] = self._written[name] = _ON_DISK
        self._encoded.pop(name, None)
        return True

    def close(self) -> None:
        try:
            self._settle()
        finally:
            if self._lock is not None:
                self._lock.close()
                self._lock = None

    def _settle(self) -> None:
        """Finish the write in flight, if any, and mark the files it failed to write."""
        write, self._in_flight = self._in_flight, None
        if write is None:
            return
        try:
            write.run()  # returns at once if it already ran (on its thread)
        finally:
            if write.encoded:  # else (an idle flush) the encodings kept are still good
                self._encoded = write.encoded
            for name in write.unfinished():
                self._written[name] = _UNWRITTEN
            for unwritable in write.unwritable:
                self._unwritable.append(unwritable)
                self.report(
                    f"{unwritable.table}.json: document {unwritable.doc_id} could not be "
                    f"written ({unwritable.reason}); it is left out of the file, "
                    f"{unwritable.kept}, and the others are written"
                )

    def _open_directory(self, directory: Path) -> None:
        if directory.exists() and not directory.is_dir():
            raise StorageError(
                f"{directory} is a file; --db takes a directory that segemu manages (or :memory:)"
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
            if self.deferred_prefix is not None and name.startswith(self.deferred_prefix):
                data[name] = _ON_DISK
                continue
            table = self._read(path)
            if table is not None:
                data[name] = table
        return data

    def _read(self, path: Path) -> dict[str, Any] | None:
        """A table's file; None if it is damaged beyond use (then it is moved aside)."""
        name = path.stem
        content = b""
        try:
            content = path.read_bytes()
            return _table(name, orjson.loads(content))
        except (OSError, ValueError) as exc:
            detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            problem = f"is truncated or corrupt ({detail})"
            # A write cut short, or damage further on: the documents before it are kept.
            recovered = _recover(name, content) if isinstance(exc, ValueError) else None
            self._quarantine(path, problem, recovered or None)
            return recovered or None

    def set_aside_documents(
        self, name: str, reasons: dict[str, str], read: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """While opening: take these documents out of a table, for these reasons (the caller
        found them damaged); the file as it was is kept beside the rewritten one. `read` is
        the table as `load_table` gave it, for a table that stays on disk only; returns the
        documents kept."""
        documents = self._data[name] if read is None else read
        table = {doc_id: doc for doc_id, doc in documents.items() if doc_id not in reasons}
        if read is None:
            self._data[name] = self._written[name] = table
        listed = "; ".join(f"document {doc_id}: {why}" for doc_id, why in list(reasons.items())[:5])
        if len(reasons) > 5:
            listed += f"; and {len(reasons) - 5} more"
        if self.directory is not None:
            path = self.directory / f"{name}.json"
            problem = f"holds documents that are not segemu records ({listed})"
            self._quarantine(path, problem, table)
        return table

    def set_aside_table(self, name: str, problem: str) -> None:
        """While opening: drop a whole table the caller cannot use, its file moved aside."""
        self._data.pop(name, None)
        self._written.pop(name, None)
        if self.directory is not None:
            self._quarantine(self.directory / f"{name}.json", problem)

    def report(self, problem: str) -> None:
        """Note a problem for the summary's storeProblems; bounded, however many there are."""
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(problem)
        elif len(self.problems) == MAX_PROBLEMS:
            self.problems.append("(more problems than these; only the first ones are kept)")

    def take_unwritable(self) -> list[Unwritable]:
        """The documents that the writes so far could not encode. Each was left out of its
        file; the caller takes them out of the table too, so they are not tried again."""
        self._settle()
        taken, self._unwritable = self._unwritable, []
        return taken

    def _quarantine(self, path: Path, problem: str, kept: dict[str, Any] | None = None) -> None:
        """Move a damaged file aside. With `kept`, the file is then written again with those
        documents: the damaged one is copied aside first, so a kill in between loses nothing."""
        aside = _aside(path, "corrupt")
        try:
            if kept is None:
                path.rename(aside)
            else:
                shutil.copyfile(path, aside)
                FileWrite(path.parent, {path.stem: kept}, [], {}).run()
            moved = f"moved aside to {aside.name}"
            if kept is not None:
                moved = f"kept as {aside.name}, and its {len(kept):,} intact documents loaded"
        except OSError as error:
            moved = f"could not be moved aside ({error}); it is ignored"
        self.report(f"{path} {problem}; {moved}")


class FileWrite:
    """The disk side of one `prepare()`: tables to encode and write whole, files to delete.

    It runs once, on whichever thread calls `run()` first; a later call waits for that one
    and returns. Every file is replaced atomically (write a temporary file, then rename), so a
    hard kill leaves either the old file or the new one, never half of one.
    """

    def __init__(
        self,
        directory: Path | None,
        tables: dict[str, dict[str, Any]],
        deleted: list[str],
        encoded_before: dict[str, _Encoded],
    ) -> None:
        self.directory = directory
        self.tables = tables
        self.deleted = deleted
        self._before = encoded_before
        # The encoding the next write starts from.
        self.encoded: dict[str, _Encoded] = {}
        # Documents left out of their file because they could not be encoded.
        self.unwritable: list[Unwritable] = []
        self._done: set[str] = set()
        self._ran = False
        self._lock = threading.Lock()

    def run(self) -> None:
        with self._lock:
            if self._ran:
                return
            self._ran = True
            if self.directory is None:
                return
            for name, table in self.tables.items():
                pieces, encoded, refused = _encode(name, table, self._before.get(name))
                for doc_id, reason in refused.items():
                    kept = _keep_aside(self.directory / f"{name}.json", doc_id, table[doc_id])
                    self.unwritable.append(Unwritable(name, doc_id, reason, kept))
                temporary = self.directory / f"{name}.json.tmp"
                with temporary.open("wb") as handle:
                    handle.writelines(pieces)
                os.replace(temporary, self.directory / f"{name}.json")
                self._done.add(name)
                # Only the table written last keeps its encoding: in the event store that is
                # the open chunk (chunks are created, so written, in order). The others are
                # full, never written again, and their encodings would only hold memory.
                self.encoded = {name: encoded}
            for name in self.deleted:
                (self.directory / f"{name}.json").unlink(missing_ok=True)
                self._done.add(name)

    def unfinished(self) -> list[str]:
        """The files this write did not get to (it failed, or has not run)."""
        return [name for name in (*self.tables, *self.deleted) if name not in self._done]


def _encode(
    name: str, table: dict[str, Any], before: _Encoded | None
) -> tuple[list[bytes], _Encoded, dict[str, str]]:
    """The file, `{"<name>":{"<doc_id>":{...},...}}` byte for byte as orjson writes it, in
    pieces; a table that only grew reuses the bytes of the documents it already had. The
    documents orjson refuses are left out, with the reason, so that one of them never stops
    the others from being written."""
    ids, documents = list(table), list(table.values())
    if before is not None and _only_grew(before, ids, documents):
        kept, parts = len(before.ids), list(before.parts)
    else:
        kept, parts = 0, []
    refused: dict[str, str] = {}
    if len(ids) > kept:
        added = dict(zip(ids[kept:], documents[kept:], strict=True))
        try:
            # One orjson call for all the new documents: per-document calls cost far more.
            parts.append(orjson.dumps(added)[1:-1])
        except orjson.JSONEncodeError:
            parts.extend(_encode_each(added, refused))
    pieces = [b'{"' + name.encode() + b'":{']
    for number, part in enumerate(parts):
        pieces.extend((b",", part) if number else (part,))
    pieces.append(b"}}")
    # The refused documents count as handled: the next write of a table that only grew does
    # not try them again (the event store takes them out of the table meanwhile).
    return pieces, _Encoded(ids, documents, parts), refused


def _encode_each(documents: dict[str, Any], refused: dict[str, str]) -> list[bytes]:
    """The documents one by one, after encoding them together failed: those that encode."""
    parts = []
    for doc_id, document in documents.items():
        try:
            parts.append(orjson.dumps({doc_id: document})[1:-1])
        except orjson.JSONEncodeError as exc:
            refused[doc_id] = str(exc) or type(exc).__name__
    return parts


def _keep_aside(path: Path, doc_id: str, document: Any) -> str:
    """Save a document orjson refused beside its file, through the standard library's
    encoder, which nests deeper; says where it went, or why it could not be saved."""
    aside = _aside(path, f"unwritable-{doc_id}")
    try:
        text = json.dumps({doc_id: document}, default=repr)
    except (ValueError, TypeError, RecursionError) as exc:
        return f"and could not be kept ({type(exc).__name__})"
    try:
        aside.write_text(text, encoding="utf-8")
    except OSError as exc:
        return f"and could not be kept ({exc})"
    return f"kept in {aside.name}"


def _aside(path: Path, why: str) -> Path:
    """`<file>.<why>-<time>`, numbered if that name is taken: nothing set aside is overwritten."""
    stem = f"{path.name}.{why}-{time.strftime('%Y%m%d-%H%M%S')}"
    aside, number = path.with_name(stem), 1
    while aside.exists():
        number += 1
        aside = path.with_name(f"{stem}-{number}")
    return aside


def _table(name: str, content: Any) -> dict[str, Any]:
    """The table of a file read as `{"<name>": {"<doc_id>": {...}}}`; ValueError if it is not."""
    table = content.get(name) if isinstance(content, dict) else None
    if not isinstance(table, dict) or not all(isinstance(doc, dict) for doc in table.values()):
        raise ValueError(f"expected {{{name!r}: {{id: document}}}}")
    return table


def _recover(name: str, content: bytes) -> dict[str, Any]:
    """The complete documents at the start of a damaged file of table `name` (a write cut
    short by a full disk, or a file damaged further on), in one pass over it.

    orjson reads only whole documents, so the standard library's decoder reads the file one
    document at a time; a document orjson could not write back counts as damage. Whatever is
    kept is checked again by the event store, like any document it loads."""
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:  # keep what comes before the damaged bytes
        text = content[: exc.start].decode("utf-8")
    opening = re.match(r'\s*\{\s*"' + re.escape(name) + r'"\s*:\s*\{\s*', text)
    if opening is None:
        return {}
    decoder = json.JSONDecoder()
    recovered: dict[str, Any] = {}
    position = opening.end()
    while True:
        try:
            doc_id, position = decoder.raw_decode(text, position)
            position = _after_space(text, position)
            if not isinstance(doc_id, str) or text[position] != ":":
                break
            document, position = decoder.raw_decode(text, _after_space(text, position + 1))
        except (ValueError, IndexError, RecursionError):
            break
        if not isinstance(document, dict) or not _encodable(document):
            break
        recovered[doc_id] = document
        position = _after_space(text, position)
        if text[position : position + 1] != ",":
            break
        position = _after_space(text, position + 1)
    return recovered


def _encodable(document: Any) -> bool:
    """Whether orjson can write it back: the standard library reads what orjson would refuse
    (integers past 64 bits, lone surrogates)."""
    try:
        orjson.dumps(document)
    except orjson.JSONEncodeError:
        return False
    return True


_SPACE = re.compile(r"\s*")


def _after_space(text: str, position: int) -> int:
    match = _SPACE.match(text, position)
    return match.end() if match else position


def _only_grew(before: _Encoded, ids: list[str], documents: list[Any]) -> bool:
    """Whether the table starts with exactly the documents (the same objects) it had."""
    kept = len(before.ids)
    return ids[:kept] == before.ids and all(map(operator.is_, documents, before.documents))
