"""Calls in files: what `segemu send`, `import` and `replay` read, and what `export` writes.

One reader takes every shape a developer has at hand, a call at a time:
- JSON Lines, a JSON array, or a Tracking API batch (`{"batch": [...], "context": ...}`);
- gzip-compressed any of those (`.gz`, as Segment's S3 archive writes them), or a directory
  of such files (an archive as `segemu export --format archive` or Segment's S3 destination
  lays it out);
- each line or item may be a call as an SDK sends it, a call as Segment stores it (the
  normalized shape of the S3 archive: it has `receivedAt` and `originalTimestamp`), a line
  of `segemu export` (`{"call": ..., "writeKey", "receivedAt", "route"}`), or a record of
  `segemu events --json` / the control API (`{"raw": ..., "event": ...}`).

Each becomes a `Call`: the item to send or ingest, and what the envelope of its request held
(write key, receive time, route, the batch's context), so that importing an export stores
exactly what was stored before (DESIGN.md "the flow of one event").
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any, cast

import orjson

from segemu.message import EVENT_TYPES, Channel, Record, deep_merge, parse_timestamp
from segemu.traffic.jsonstream import JsonStreamError, iter_values

# The Tracking API's browser routes: their calls are client-side (http/tracking.py).
CLIENT_ROUTES = frozenset({"/v1/t", "/v1/i", "/v1/p", "/v1/s", "/v1/g", "/v1/a", "/v1/b"})
# What a call from a file with no route of its own is stored as having come through:
# Segment's own bulk route (segment-docs src/connections/sources/catalog/libraries/server/http-api).
IMPORT_ROUTE = "/v1/import"
# The single-call routes of the Tracking API decide the call's type: the call need not carry
# it (http/tracking.py SINGLE_ROUTES; the browser posts to /v1/<initial>).
_ROUTE_TYPES = {
    **{f"/v1/{kind}": kind for kind in EVENT_TYPES},
    **{f"/v1/{kind[0]}": kind for kind in EVENT_TYPES},
}
# Longer than any stored record's line (a call is at most 32 KB, DOCS http-api §Errors).
MAX_LINE = 4 << 20
# Fields Segment adds when it stores a call (DOCS spec/common.md "Timestamps",
# partners/spec.md: channel, version, projectId): not part of the call as sent.
_STORED_ONLY = ("receivedAt", "originalTimestamp", "channel", "version", "projectId")


class CallFileError(ValueError):
    """A file that cannot be read as calls; the message names the file and the place."""


@dataclass(slots=True)
class Call:
    item: Any
    write_key: str | None = None
    received_at: datetime | None = None
    route: str | None = None
    # The batch-level context and integrations the call was sent with (merged into it when
    # stored): what the envelope lends the call.
    context: dict[str, Any] | None = None
    integrations: dict[str, Any] | None = None
    channel: Channel | None = None
    # The batch's sentAt, and the timestamp Segment stored (skew-corrected): with them an
    # import stores the very same timestamp (precise_received_at).
    sent_at: str | None = None
    stored_timestamp: str | None = None
    # The JSON line the call was read from, when it is the call itself (a plain call file):
    # what `encoded` sends when nothing in it changes, instead of encoding it again.
    line: bytes | None = None

    @property
    def route_type(self) -> str | None:
        """The type a single-call route gave the call (/v1/track: track), if it came by one."""
        return _ROUTE_TYPES.get((self.route or "").rstrip("/"))

    @property
    def message_id(self) -> str | None:
        value = self.item.get("messageId") if isinstance(self.item, dict) else None
        return value if isinstance(value, str) and value else None

    def to_send(self) -> Any:
        """The call as it goes to a Tracking API: the batch's context and integrations put in,
        without `sentAt` and `writeKey` (the sender sets the key; without sentAt the receiving
        end keeps the call's own timestamp, DOCS spec/common.md)."""
        if not isinstance(self.item, dict):
            return self.item
        item = dict(self.item)
        if self.route_type is not None:
            item["type"] = self.route_type  # sent to /v1/batch, where each call names its type
        item.pop("sentAt", None)
        item.pop("writeKey", None)
        # Merged as Segment merges a batch's context into each call (message.normalize).
        if self.context:
            item["context"] = deep_merge(self.context, _object(item.get("context")) or {})
        if self.integrations:
            own = _object(item.get("integrations")) or {}
            item["integrations"] = deep_merge(self.integrations, own)
        return item

    def encoded(self) -> bytes:
        """`to_send`, encoded as JSON. A call read from a line of its own, with no envelope
        to merge in and nothing to take out, is that line: a replay sends it as read."""
        if (
            self.line is not None
            and self.route is None
            and self.context is None
            and self.integrations is None
            and "sentAt" not in self.item
            and "writeKey" not in self.item
        ):
            return self.line
        return orjson.dumps(self.to_send())

    @property
    def own_write_key(self) -> str | None:
        if self.write_key:
            return self.write_key
        value = self.item.get("writeKey") if isinstance(self.item, dict) else None
        return value if isinstance(value, str) and value else None


def record_line(record: Record) -> dict[str, Any]:
    """A stored record as a line of `segemu export --format raw`: the call as sent, and what
    its request lent it."""
    raw = record["raw"] if isinstance(record["raw"], dict) else {}
    call = record["raw"]
    if raw and not raw.get("messageId"):
        # Segment gives a call sent without a messageId one of its own; the export keeps it,
        # so that importing or replaying the file again is deduplicated like any other call.
        call = {**raw, "messageId": record["messageId"]}
    line: dict[str, Any] = {
        "writeKey": record["writeKey"],
        "receivedAt": record["receivedAt"],
        "route": record["route"],
        "call": call,
    }
    event = record["event"]
    # Only when the batch (or Segment, for context.ip) added to what the call carried.
    for name in ("context", "integrations", "sentAt"):
        value = event.get(name)
        if value and value != raw.get(name):
            line[name] = value
    line["timestamp"] = event.get("timestamp")
    return line


def normalized_line(record: Record) -> dict[str, Any]:
    """A stored record as Segment keeps the call (the S3 archive's lines), with its write key."""
    return {**record["event"], "writeKey": record["writeKey"]}


def to_call(value: Any) -> Call:
    """One line or item of a file, whatever its shape (see the module's docstring)."""
    if not isinstance(value, dict):
        return Call(value)
    if "call" in value and "receivedAt" in value and "type" not in value:
        return Call(
            value["call"],
            _text(value.get("writeKey")),
            parse_timestamp(value.get("receivedAt")),
            _text(value.get("route")),
            _object(value.get("context")),
            _object(value.get("integrations")),
            sent_at=_text(value.get("sentAt")),
            stored_timestamp=_text(value.get("timestamp")),
        )
    if "raw" in value and isinstance(value.get("event"), dict) and "receivedAt" in value:
        event = value["event"]
        raw = value["raw"]
        context = event.get("context")
        integrations = event.get("integrations")
        return Call(
            raw,
            _text(value.get("writeKey")),
            parse_timestamp(value.get("receivedAt")),
            _text(value.get("route")),
            context if isinstance(raw, dict) and context != raw.get("context") else None,
            integrations
            if isinstance(raw, dict) and integrations != raw.get("integrations")
            else None,
        )
    if "receivedAt" in value and "type" in value:
        # Stored shape (no SDK sends receivedAt): back to the call that was sent. Its
        # timestamp is what Segment keeps as originalTimestamp (none if it sent none); with
        # the same sentAt and receivedAt, normalizing it again gives the same timestamp.
        item = {k: v for k, v in value.items() if k not in _STORED_ONLY}
        if "originalTimestamp" in value:
            item["timestamp"] = value["originalTimestamp"]
        else:
            item.pop("timestamp", None)
        write_key = _text(item.pop("writeKey", None))
        channel: Channel | None = "client" if value.get("channel") == "client" else "server"
        return Call(
            item,
            write_key,
            parse_timestamp(value.get("receivedAt")),
            channel=channel,
            stored_timestamp=_text(value.get("timestamp")),
        )
    return Call(value)


def precise_received_at(call: Call) -> datetime | None:
    """When the call was received, precise enough that normalizing it again gives the
    timestamp Segment stored.

    Stored times have milliseconds, and the skew correction (timestamp = receivedAt -
    (sentAt - timestamp sent), DOCS spec/common.md) subtracts from the exact time of
    arrival: with receivedAt alone, a timestamp can come out a millisecond early. The exact
    time lies in both [receivedAt, +1 ms) and [stored timestamp + skew, +1 ms); the later
    of the two starts is in both."""
    received = call.received_at
    if received is None or call.stored_timestamp is None:
        # A plain call file's calls: nothing to parse (an import parses this for every call).
        return received
    item = call.item if isinstance(call.item, dict) else {}
    sent = parse_timestamp(item.get("sentAt") or call.sent_at)
    original = parse_timestamp(item.get("timestamp"))
    stored = parse_timestamp(call.stored_timestamp)
    if sent is None or original is None or stored is None:
        return received
    return max(received, stored + (sent - original))


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _object(value: Any) -> dict[str, Any] | None:
    return value if isinstance(value, dict) and value else None


def files_of(path: Path) -> list[Path]:
    """A file, or every file under a directory (an archive), in name order: the S3 layout's
    names sort by source, day and time."""
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
    return [path]


def read_calls(path: Path) -> Iterator[Call]:
    """Every call in a file or directory, one at a time."""
    for file in files_of(path):
        yield from _read_file(file)


def _open(file: Path) -> IO[bytes]:
    with open(file, "rb") as probe:
        magic = probe.read(2)
    if magic == b"\x1f\x8b":
        return cast(IO[bytes], gzip.open(file, "rb"))
    return open(file, "rb")


def _read_file(file: Path) -> Iterator[Call]:
    try:
        with _open(file) as stream:
            # A line longer than any call could be is not JSON Lines: a one-line array or
            # batch is then streamed like any document, never read as one line.
            first = stream.readline(MAX_LINE)
            stripped = first.strip()
            second = stream.readline(MAX_LINE) if first.endswith(b"\n") else b""
            if (
                stripped.startswith(b"{")
                and _is_whole_object(stripped)
                and (second.strip() or not _is_batch(stripped))
            ):
                # JSON Lines: one call per line.
                line_number = 1
                for line in _chain(first, second, stream):
                    if len(line) >= MAX_LINE and not line.endswith(b"\n"):
                        raise CallFileError(f"{file}:{line_number}: line over {MAX_LINE:,} bytes")
                    line = line.strip()
                    if line:
                        value = _parse_line(line, file, line_number)
                        if isinstance(value, dict) and isinstance(value.get("batch"), list):
                            # A line per request body, as a capture of batches holds them.
                            for item in value["batch"]:
                                yield _from_batch(item, value)
                        else:
                            call = to_call(value)
                            # The call itself, not a line around one (an export's line).
                            if call.item is value and isinstance(value, dict):
                                call.line = line
                            yield call
                    line_number += 1
                return
            stream.seek(0)
            yield from _read_document(stream, file)
    except OSError as exc:
        raise CallFileError(f"{file}: cannot read: {exc.strerror or exc}") from None
    except (gzip.BadGzipFile, EOFError) as exc:
        raise CallFileError(f"{file}: not a readable gzip file: {exc}") from None


def _chain(first: bytes, second: bytes, rest: IO[bytes]) -> Iterator[bytes]:
    yield first
    yield second
    while line := rest.readline(MAX_LINE):
        yield line


def _is_whole_object(line: bytes) -> bool:
    try:
        return isinstance(orjson.loads(line), dict)
    except orjson.JSONDecodeError:
        return False


def _is_batch(line: bytes) -> bool:
    return isinstance(orjson.loads(line).get("batch"), list)


def _parse_line(line: bytes, file: Path, number: int) -> Any:
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise CallFileError(f"{file}:{number}: not valid JSON: {exc}") from None


def _read_document(stream: IO[bytes], file: Path) -> Iterator[Call]:
    """A JSON array of calls, or a batch: its items as they are read. A batch's context,
    integrations and writeKey apply to all its items, so, when they come after the batch
    array in the file, a first pass finds them (the file is read twice, never held)."""
    shared: dict[str, Any] = {}
    try:
        values = iter_values(stream)
        first = next(values, None)
        if first is None:
            return
        if first[0] is None:  # an array
            yield to_call(first[1])
            for _, item in values:
                yield to_call(item)
            return
        # A batch: its shared members first.
        stream.seek(0)
        for key, value in iter_values(stream):
            if key is not None and key != "batch[]":
                shared[key] = value
        if "batch" in shared:
            raise CallFileError(f'{file}: "batch" must be an array of calls')
        stream.seek(0)
        found = False
        for key, item in iter_values(stream):
            if key == "batch[]":
                found = True
                yield _from_batch(item, shared)
        if not found and shared:
            # A single call written as an object over several lines.
            yield to_call(shared)
    except JsonStreamError as exc:
        raise CallFileError(f"{file}: {exc}") from None


def _from_batch(item: Any, shared: dict[str, Any]) -> Call:
    call = to_call(item)
    if call.write_key is None:
        call.write_key = _text(shared.get("writeKey"))
    # Lent to the call as the batch lends them: merged under its own when sent or stored.
    if call.context is None:
        call.context = _object(shared.get("context"))
    if call.integrations is None:
        call.integrations = _object(shared.get("integrations"))
    return call


def file_size(path: Path) -> int:
    """Bytes to read (for a progress bar): a file's size, or a directory's files' sum."""
    return sum(os.path.getsize(p) for p in files_of(path))


def count_calls(path: Path) -> int | None:
    """How many calls a JSON Lines file or archive holds (for a progress bar's ETA), by
    counting its lines a megabyte at a time; None for an array or a batch."""
    total = 0
    for file in files_of(path):
        try:
            with _open(file) as stream:
                first = stream.readline(MAX_LINE)
                stripped = first.strip()
                if not (stripped.startswith(b"{") and _is_whole_object(stripped)):
                    return None
                if _is_batch(stripped):
                    return None  # lines of batches: the calls are not the lines
                second = stream.readline(MAX_LINE)
                total += 1 + bool(second.strip())
                last = b""
                while chunk := stream.read(1 << 20):
                    total += chunk.count(b"\n")
                    last = chunk
                if last and not last.endswith(b"\n"):
                    total += 1  # a last line without its newline
        except OSError:
            return None
    return total
