"""A stored record in compact form: the call as sent, kept once, and what the record adds to it.

A record (message.Record) holds the call twice, as sent (`raw`) and as Segment stores it
(`event`), beside fields that repeat on almost every record (write key, type, status, route,
source, routing, lint findings). Kept as nested dicts, a 340-byte call costs several kilobytes.
In compact form a record is one `bytes`, `[shape, raw, values]` encoded by orjson:

- `raw` is the call as sent, once;
- the shape, shared by every record that looks alike, says which fields the record has, in
  which order, with their values where they repeat (routing, status, ...), and how `event`
  differs from `raw`: keys removed, keys set (to a constant, to the record's receivedAt, to
  another field of `raw`, or to the next per-record value) and nested objects patched;
- `values` are what only this record has: messageId, receivedAt, reason, and what
  normalization wrote that is its own (the skew-corrected timestamp, a merged batch context).

Decoding builds the same Record, key order included, as a fresh dict. A record that orjson
cannot encode is kept as it is (`CompactRecord` is then the Record itself).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import orjson

from segemu.message import Record
from segemu.snapshot import SnapshotError

if TYPE_CHECKING:
    from segemu.snapshot import Reader, Writer

# Record fields whose value is the record's own, not the shape's: in `values` unless empty.
_OWN_FIELDS = frozenset(
    (
        "messageId",
        "receivedAt",
        "reason",
        "duplicateOf",
        "arrival",
        "warnings",
        "violations",
        "lint",
        "identity",
        "engage",
    )
)
# Fields the decoder fills from elsewhere: the slot the record sits in, raw, the event patch.
_PLACED = frozenset(("id", "raw", "event"))
_SPECIAL = _OWN_FIELDS | _PLACED
# Top-level event fields that normalization sets to one of a few values (message.normalize).
_CONSTANT_EVENT_FIELDS = frozenset(("type", "channel", "version"))
# Fields of `raw` that an event field often copies (originalTimestamp is the call's timestamp).
_COPIED = ("timestamp", "sentAt", "originalTimestamp")

# How an event field is set, in a shape's patch.
_VALUE, _CONSTANT, _RECEIVED_AT, _COPY = 0, 1, 2, 3

CompactRecord = bytes | Record


class CodecError(ValueError):
    """The record cannot be put in compact form (orjson cannot encode it)."""


@dataclass(slots=True)
class Shape:
    """What records that look alike share: see the module docstring."""

    key: bytes
    # The record's fields in order, with their shared values; own and placed ones are None.
    template: bytes
    own: tuple[str, ...]
    # Whether record["messageId"] is event["messageId"] (a call that is a JSON object).
    message_id_from_event: bool
    # [removed keys, [[key, how, argument], ...], [[key, nested patch], ...]], or None: the
    # event is kept whole in `values`.
    patch: Any
    references: int = 0
    # Whether the event's name, ids and messageId are the call's own, for `indexed_fields`
    # to read them without decoding the whole record.
    event_as_sent: bool = False


class Shapes:
    """The shapes in use, each counted by the records that use it, and dropped with the last."""

    def __init__(self) -> None:
        self._by_key: dict[bytes, int] = {}
        self._shapes: list[Shape | None] = []
        self._free: list[int] = []

    def __len__(self) -> int:
        return len(self._by_key)

    def intern(self, key: bytes, build: Callable[[], Shape]) -> int:
        number = self._by_key.get(key)
        if number is None:
            shape: Shape = build()
            if self._free:
                number = self._free.pop()
                self._shapes[number] = shape
            else:
                number = len(self._shapes)
                self._shapes.append(shape)
            self._by_key[key] = number
        shape = cast(Shape, self._shapes[number])
        shape.references += 1
        return number

    def get(self, number: int) -> Shape:
        return cast(Shape, self._shapes[number])

    def release(self, number: int) -> None:
        shape = cast(Shape, self._shapes[number])
        shape.references -= 1
        if shape.references <= 0:
            del self._by_key[shape.key]
            self._shapes[number] = None
            self._free.append(number)

    def clear(self) -> None:
        self._by_key.clear()
        self._shapes.clear()
        self._free.clear()

    def save(self, out: Writer) -> None:
        """Into a snapshot: each shape as JSON (its key and template are orjson's own UTF-8)."""
        out.json(
            "shapes",
            [
                None
                if shape is None
                else [
                    shape.key.decode(),
                    shape.template.decode(),
                    shape.own,
                    shape.message_id_from_event,
                    shape.patch,
                    shape.references,
                    shape.event_as_sent,
                ]
                for shape in self._shapes
            ],
        )

    def restore(self, source: Reader) -> None:
        self.clear()
        for number, saved in enumerate(source.json("shapes")):
            if saved is None:
                self._shapes.append(None)
                self._free.append(number)
                continue
            key, template, own, from_event, patch, references, as_sent = saved
            shape = Shape(
                key.encode(), template.encode(), tuple(own), from_event, patch, references
            )
            shape.event_as_sent = as_sent
            self._shapes.append(shape)
            self._by_key[shape.key] = number


def encode(record: Record, shapes: Shapes) -> CompactRecord:
    """The compact form of a record; the record itself if orjson cannot encode it."""
    try:
        return _encode(record, shapes)
    except (orjson.JSONEncodeError, TypeError, RecursionError):
        return record


def _encode(record: Record, shapes: Shapes) -> bytes:
    fields = cast(dict[str, Any], record)
    raw = fields.get("raw")
    event = fields.get("event")
    received_at = fields.get("receivedAt")
    template: dict[str, Any] = {}
    own: list[str] = []
    values: list[Any] = []
    message_id_from_event = (
        type(event) is dict
        and "messageId" in fields
        and type(fields["messageId"]) is str
        and event.get("messageId") == fields["messageId"]
    )
    for field, value in fields.items():
        if field not in _SPECIAL:  # most fields: the shape's value
            template[field] = value
        elif field in _PLACED:
            template[field] = None
        elif value is not None and value != []:  # an own field with a value
            template[field] = None
            if field == "messageId" and message_id_from_event:
                continue
            own.append(field)
            values.append(value)
        else:
            template[field] = value
    patch: Any = None
    if "event" in fields:
        if type(raw) is dict and type(event) is dict:
            patch = _top_patch(raw, event, received_at)
            if patch is not None:
                _own_values(event, patch, values)
        if patch is None:
            values.append(event)
    key = orjson.dumps([template, own, message_id_from_event, patch])

    def build() -> Shape:
        template_bytes = _exact(orjson.dumps(template))
        shape = Shape(_exact(key), template_bytes, tuple(own), message_id_from_event, patch)
        shape.event_as_sent = patch is not None and not _touches(patch, _INDEXED_EVENT_FIELDS)
        return shape

    number = shapes.intern(key, build)
    try:
        # Not copied to its own size (see _exact): Blobs copies it into a shared buffer.
        return orjson.dumps([number, raw, values])
    except BaseException:
        shapes.release(number)
        raise


def _exact(encoded: bytes) -> bytes:
    """A copy that holds only its own length: orjson returns its bytes in the buffer it wrote
    them into, 4 KiB or more whatever their length (orjson 3.x), which a record kept for the
    session would hold on to."""
    return memoryview(encoded).tobytes()


# The event's fields the store indexes, beside messageId.
_INDEXED_EVENT_FIELDS = frozenset(("event", "userId", "anonymousId", "messageId"))


def _touches(patch: Any, keys: frozenset[str]) -> bool:
    """Whether a top-level patch removes, sets or patches any of `keys`."""
    removed, sets, nested = patch
    return (
        any(key in keys for key in removed)
        or any(entry[0] in keys for entry in sets)
        or any(entry[0] in keys for entry in nested)
    )


def indexed_fields(
    compact: CompactRecord | memoryview, record_id: int, shapes: Shapes
) -> tuple[Record, int | None]:
    """What the store's own indexes read of a record (messageId, and the event's name, userId
    and anonymousId), and its shape number: for dropping a record from the indexes without
    building all of it. Other fields may be missing; where the record's event is not the
    call's own for those fields, the whole record is decoded."""
    if isinstance(compact, dict):
        return compact, None
    number, raw, values = orjson.loads(compact)
    shape = shapes.get(number)
    if not shape.event_as_sent or type(raw) is not dict:
        return decode_with_shape(compact, record_id, shapes)
    light: dict[str, Any] = {
        "event": {key: raw[key] for key in ("event", "userId", "anonymousId") if key in raw}
    }
    if "messageId" in shape.own:
        light["messageId"] = values[shape.own.index("messageId")]
    else:
        light["messageId"] = raw.get("messageId") if shape.message_id_from_event else None
    return cast(Record, light), number


def decode(compact: CompactRecord | memoryview, record_id: int, shapes: Shapes) -> Record:
    """The Record a compact form stands for, as a fresh dict."""
    return decode_with_shape(compact, record_id, shapes)[0]


def decode_with_shape(
    compact: CompactRecord | memoryview, record_id: int, shapes: Shapes
) -> tuple[Record, int | None]:
    """The Record, and the number of its shape (None for a record kept as it is)."""
    if isinstance(compact, dict):
        return compact, None
    number, raw, values = orjson.loads(compact)
    shape = shapes.get(number)
    record: dict[str, Any] = orjson.loads(shape.template)
    taken = iter(values)
    for key in shape.own:
        record[key] = next(taken)
    if "id" in record:
        record["id"] = record_id
    if "raw" in record:
        record["raw"] = raw
    if "event" in record:
        if shape.patch is None:
            event = next(taken)
        else:
            event = _apply(raw, shape.patch, taken, record.get("receivedAt"))
        record["event"] = event
        if shape.message_id_from_event:
            record["messageId"] = event["messageId"]
    return cast(Record, record), number


# -- the difference between raw and event ------------------------------------------------------


def _diff(base: dict[str, Any], target: dict[str, Any], received_at: Any, top: bool) -> Any:
    """How to build `target` from `base` (the patch of a Shape); None if key order rules out a
    patch (then the caller keeps `target` whole). Normalization makes `event` from a copy of
    `raw` (message.normalize), so most values are the very same objects, and the identity test
    settles them at once."""
    kept = [k for k in base if k in target]
    added = [k for k in target if k not in base]
    if list(target) != kept + added:
        return None
    removed = [k for k in base if k not in target]
    sets: list[list[Any]] = []
    nested: list[list[Any]] = []
    for key, value in target.items():
        if key in base:
            was = base[key]
            if was is value or _same(was, value):
                continue
            if type(was) is dict and type(value) is dict:
                patch = _diff(was, value, received_at, top=False)
                if patch is not None:
                    nested.append([key, patch])
                    continue
        sets.append(_how(key, value, base, received_at, top))
    return [removed, sets, nested]


# Patches of calls alike, by the keys of the call and of its event, each with its sets by key: a
# remembered patch is used again once checked to build this very event, which costs a third of
# working it out again. Only flat patches (no nested object patched) are remembered.
_PATCHES: dict[tuple[tuple[Any, ...], tuple[Any, ...]], tuple[Any, dict[Any, list[Any]]]] = {}
_PATCHES_KEPT = 1024


def _top_patch(raw: dict[str, Any], event: dict[str, Any], received_at: Any) -> Any:
    key = (tuple(raw), tuple(event))
    known = _PATCHES.get(key)
    if known is not None and _fits(known[1], raw, event, received_at):
        return known[0]
    patch = _diff(raw, event, received_at, top=True)
    if patch is not None and not patch[2]:
        if len(_PATCHES) >= _PATCHES_KEPT:
            _PATCHES.clear()
        _PATCHES[key] = (patch, {entry[0]: entry for entry in patch[1]})
    return patch


def _fits(
    sets: dict[Any, list[Any]], raw: dict[str, Any], event: dict[str, Any], received_at: Any
) -> bool:
    """Whether a flat patch, made for a call with the same keys, builds `event` from `raw`:
    what it keeps is the same, and what it sets has the value it says."""
    for key, value in event.items():
        entry = sets.get(key)
        if entry is None:
            # Most are the very objects of raw (normalize copies it): no call for those.
            was = raw[key]
            if was is not value and not _same(was, value):
                return False
            continue
        how, argument = entry[1], entry[2]
        if how == _VALUE:
            continue
        if how == _CONSTANT:
            if type(value) is not type(argument) or value != argument:
                return False
        elif how == _RECEIVED_AT:
            if type(value) is not str or value != received_at:
                return False
        elif type(value) is not str or raw.get(argument) != value:  # _COPY
            return False
    return True


def _own_values(target: dict[str, Any], patch: Any, values: list[Any]) -> None:
    """Append the values a patch leaves to the record, in the order _apply takes them."""
    _removed, sets, nested = patch
    for key, how, _argument in sets:
        if how == _VALUE:
            values.append(target[key])
    for key, inner in nested:
        _own_values(target[key], inner, values)


def _how(key: str, value: Any, base: dict[str, Any], received_at: Any, top: bool) -> list[Any]:
    kind = type(value)
    if value is None or kind is bool or (kind in (dict, list) and not value):
        return [key, _CONSTANT, value]
    if top and key in _CONSTANT_EVENT_FIELDS and kind in (str, int, float):
        return [key, _CONSTANT, value]
    if kind is str:
        if value == received_at:
            return [key, _RECEIVED_AT, None]
        for copied in _COPIED:
            if copied in base and type(base[copied]) is str and base[copied] == value:
                return [key, _COPY, copied]
    return [key, _VALUE, None]


def _apply(base: dict[str, Any], patch: Any, taken: Any, received_at: Any) -> dict[str, Any]:
    removed, sets, nested = patch
    out = dict(base)
    for key in removed:
        del out[key]
    for key, how, argument in sets:
        if how == _VALUE:
            out[key] = next(taken)
        elif how == _CONSTANT:
            # A fresh empty container each time: records never share mutable values.
            out[key] = type(argument)() if type(argument) in (dict, list) else argument
        elif how == _RECEIVED_AT:
            out[key] = received_at
        else:
            out[key] = base[argument]
    for key, inner in nested:
        out[key] = _apply(base[key], inner, taken, received_at)
    return out


def _same(a: Any, b: Any) -> bool:
    """Equal as JSON, key order included (1 and 1.0 and true differ, as they do on the wire).
    Objects and arrays compare by their JSON text, in C: a record read back from disk holds
    `raw` and `event` as separate copies, whose every nested object is compared here."""
    if a is b:
        return True
    kind = type(a)
    if kind is not type(b):
        return False
    if kind is dict or kind is list:
        try:
            return orjson.dumps(a) == orjson.dumps(b)
        except TypeError:  # not JSON (orjson.JSONEncodeError is a TypeError): walk it
            return _same_walk(a, b)
    return bool(a == b)


def _same_walk(a: Any, b: Any) -> bool:
    if a is b:
        return True
    kind = type(a)
    if kind is not type(b):
        return False
    if kind is dict:
        return len(a) == len(b) and list(a) == list(b) and all(_same_walk(a[k], b[k]) for k in a)
    if kind is list:
        return len(a) == len(b) and all(map(_same_walk, a, b))
    return bool(a == b)


# -- where compact records live ----------------------------------------------------------------

# Compact records are packed into shared buffers of about this size.
SEGMENT_BYTES = 1 << 20


class Blobs:
    """The compact records, packed end to end into buffers of about SEGMENT_BYTES.

    One `bytes` object per record would be one small allocation per record, made among the
    short-lived objects of the call that brought it; each keeps its allocator pool, and so the
    memory those short-lived objects used, for as long as the record is stored. Packed, a
    stored record costs its length plus 12 bytes (where it is), and a buffer is freed whole
    once retention or a reset has taken all of its records. A record kept as it is (orjson
    could not encode it) waits in a dict instead.

    A record is found by its span, `segment << 32 | offset`, and its length (-1: kept as is).
    """

    __slots__ = ("_filling", "_kept", "_live", "_number", "_segments")

    def __init__(self) -> None:
        self._segments: dict[int, bytes | bytearray] = {}
        self._live: dict[int, int] = {}
        self._number = 0
        self._filling = bytearray()
        self._segments[0] = self._filling
        self._live[0] = 0
        self._kept: dict[int, Record] = {}

    def put(self, compact: CompactRecord) -> tuple[int, int]:
        if type(compact) is not bytes:
            span = -1 - len(self._kept)
            while span in self._kept:
                span -= 1
            self._kept[span] = cast(Record, compact)
            return span, -1
        if len(self._filling) >= SEGMENT_BYTES:
            # A full buffer is copied once to its exact size: a bytearray keeps room to grow.
            self._segments[self._number] = bytes(self._filling)
            self._number += 1
            self._filling = bytearray()
            self._segments[self._number] = self._filling
            self._live[self._number] = 0
        offset = len(self._filling)
        self._filling += compact
        self._live[self._number] += 1
        return self._number << 32 | offset, len(compact)

    def get(self, span: int, length: int) -> CompactRecord | memoryview:
        if length < 0:
            return self._kept[span]
        offset = span & 0xFFFFFFFF
        return memoryview(self._segments[span >> 32])[offset : offset + length]

    def release(self, span: int, length: int) -> None:
        if length < 0:
            self._kept.pop(span, None)
            return
        number = span >> 32
        self._live[number] -= 1
        if not self._live[number] and number != self._number:
            del self._segments[number], self._live[number]

    def clear(self) -> None:
        self.__init__()  # type: ignore[misc]

    def size(self) -> int:
        """Bytes held by the buffers."""
        return sum(len(segment) for segment in self._segments.values())

    def save(self, out: Writer) -> None:
        """Into a snapshot: every buffer, the records each still holds, the records kept as
        they are (orjson could not encode them: then neither can the snapshot, which raises)."""
        numbers = sorted(self._segments)
        for number in numbers:
            out.buffer(f"blobs.{number}", self._segments[number])
        out.json("blobs.live", [[number, self._live[number]] for number in numbers])
        out.json("blobs.filling", self._number)
        out.json("blobs.kept", [[span, record] for span, record in self._kept.items()])

    def restore(self, source: Reader) -> None:
        number = source.json("blobs.filling")
        segments: dict[int, bytes | bytearray] = {}
        live: dict[int, int] = {}
        for saved, records in source.json("blobs.live"):
            data = source.buffer(f"blobs.{saved}")
            segments[saved] = bytearray(data) if saved == number else data
            live[saved] = records
        filling = segments.get(number)
        if type(filling) is not bytearray:
            raise SnapshotError("it has no buffer being filled")
        self._segments, self._live, self._number, self._filling = segments, live, number, filling
        self._kept = {span: record for span, record in source.json("blobs.kept")}
