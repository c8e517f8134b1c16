"""Reading a Tracking API body: size caps, gzip, JSON whatever the Content-Type, write key;
and the JSON body of a control API request, with the same nesting limit.

Limits are Segment's (DOCS http-api §Max request size): 32 KB per call and per event, 500 KB per
batch request, measured on the JSON after decompression. Over them Segment answers 400.
"""

from __future__ import annotations

import base64
import zlib
from typing import Any

import orjson
from aiohttp import web

from segemu.jsonlimits import MAX_DEPTH, deeper_than, parsed_deeper_than, too_deep_message

MAX_EVENT_BYTES = 32 * 1024
MAX_BATCH_BYTES = 500 * 1024
# A compressed body may carry some framing on top of its content.
_WIRE_SLACK = 4096


class BodyError(Exception):
    """A request Segment would refuse with a 400; `code` names the problem for machines."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _too_large(limit: int, what: str) -> BodyError:
    return BodyError("too_large", f"{what} is over Segment's limit of {limit // 1024} KB")


async def read_body(request: web.Request, limit: int, what: str) -> bytes:
    """The decoded body, refusing anything over `limit` bytes without reading it all."""
    wire_limit = limit + _WIRE_SLACK
    length = request.content_length
    if length is not None and length > wire_limit:
        raise _too_large(limit, what)
    if length is not None:
        content = request.content
        if content.is_eof():
            # The commonest case by far: an SDK's call is small, and its whole body came in
            # with the headers. Taken as it is, without read()'s loop of awaits and copies.
            data = content.read_nowait()
        else:
            # A declared length under the cap, still arriving. aiohttp's own cap in read(),
            # client_max_size, is 1 MB: above every limit here.
            data = await request.read()
    else:  # chunked: count as it arrives
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.content.iter_any():
            size += len(chunk)
            if size > wire_limit:
                raise _too_large(limit, what)
            chunks.append(chunk)
        data = b"".join(chunks)
    encoding = request.headers.get("Content-Encoding")
    if encoding is not None:  # most SDKs send none
        data = _decode(data, encoding.strip().lower(), limit, what)
    if len(data) > limit:
        raise _too_large(limit, what)
    return data


def _decode(data: bytes, encoding: str, limit: int, what: str) -> bytes:
    if encoding in ("gzip", "x-gzip", "deflate"):
        return _decompress(data, encoding, limit, what)
    if encoding not in ("", "identity"):
        raise BodyError(
            "unsupported_encoding",
            f"Content-Encoding {encoding!r} is not supported; use gzip or none",
        )
    return data


def _decompress(data: bytes, encoding: str, limit: int, what: str) -> bytes:
    """Decompress at most limit+1 bytes: a gzip bomb stops at the cap, not at its full size."""
    wbits = 16 + zlib.MAX_WBITS if encoding != "deflate" else zlib.MAX_WBITS
    decompressor = zlib.decompressobj(wbits)
    try:
        out = decompressor.decompress(data, limit + 1)
    except zlib.error as exc:
        raise BodyError("invalid_encoding", f"body is not valid {encoding}: {exc}") from None
    if len(out) > limit or decompressor.unconsumed_tail:
        raise _too_large(limit, f"{what} (after decompression)")
    if not decompressor.eof:
        raise BodyError("invalid_encoding", f"body is truncated {encoding}")
    return out


def parse_json(data: bytes, *, wrapping: int = 0, what: str = "the body") -> Any:
    """Any JSON value, refused beyond MAX_DEPTH levels of nesting (segemu/jsonlimits.py): what
    segemu could not encode again it must not accept. Every route that takes JSON reads it
    here. `wrapping` levels around what the limit is for are allowed on top of it (a batch
    holds its calls two levels down)."""
    parsed = _loads(data)
    if parsed_deeper_than(data, parsed, MAX_DEPTH + wrapping):
        raise BodyError("too_deep", too_deep_message(what))
    return parsed


def _loads(data: bytes) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise BodyError("invalid_json", f"body is not valid JSON: {exc}") from None


def parse_json_object(data: bytes, *, wrapping: int = 0, what: str = "the body") -> dict[str, Any]:
    """Browsers send JSON as text/plain, so the Content-Type is never looked at."""
    _require_some(data)
    return _require_object(parse_json(data, wrapping=wrapping, what=what))


def _require_some(data: bytes) -> None:
    if not data:
        raise BodyError("invalid_json", "body is empty; expected a JSON object")


def _require_object(parsed: Any) -> dict[str, Any]:
    if not isinstance(parsed, dict):
        raise BodyError("invalid_json", "body must be a JSON object")
    return parsed


# A batch holds its calls two levels down, in {"batch": [...]}.
_BATCH_WRAPPING = 2


def parse_batch(data: bytes, what: str) -> tuple[dict[str, Any], list[bytes] | None]:
    """A batch body, refused exactly as `parse_json_object(data, wrapping=2)` would refuse it,
    and, for a batch over 32 KB, its calls as orjson encodes them one by one (else None).

    A batch over 32 KB has each of its calls encoded again anyway, to hold it to the limit
    per call (tracking.py). Those encodings settle the nesting limit too, for a third of the
    cost of walking every value of the batch: a call with no more brackets than the limit
    cannot nest deeper than it, and only a call with more is walked. Measured on 150-call
    batches of 45 KB: 5.0 us a call to parse and check, 4.1 this way."""
    _require_some(data)
    parsed = _loads(data)
    levels = MAX_DEPTH + _BATCH_WRAPPING
    encoded = None
    if data.count(b"{") + data.count(b"[") > levels:
        encoded = _encoded_calls(parsed) if len(data) > MAX_EVENT_BYTES else None
        if encoded is None:  # a small batch, or not a list of calls orjson can write
            too_deep = deeper_than(parsed, levels)
        else:
            too_deep = _calls_too_deep(parsed, encoded, levels)
        if too_deep:
            raise BodyError("too_deep", too_deep_message(what))
    return _require_object(parsed), encoded


def _encoded_calls(parsed: Any) -> list[bytes] | None:
    calls = parsed.get("batch") if isinstance(parsed, dict) else None
    if not isinstance(calls, list):
        return None
    try:
        return [orjson.dumps(call) for call in calls]
    except orjson.JSONEncodeError:  # nested past the encoder's limit: surely too deep
        return None


def _calls_too_deep(body: dict[str, Any], encoded: list[bytes], levels: int) -> bool:
    """`deeper_than(body, levels)`, for a body whose "batch" holds the calls `encoded`. The
    body is one level and its batch another: a call may have `levels - 2`, every other field
    of the body `levels - 1`."""
    for call, text in zip(body["batch"], encoded, strict=True):
        if text.count(b"{") + text.count(b"[") > levels - 2 and deeper_than(call, levels - 2):
            return True
    return any(deeper_than(value, levels - 1) for name, value in body.items() if name != "batch")


# What read_json answers for a request with no body, where a JSON `null` must be told apart.
NO_BODY: Any = object()


async def read_json(request: web.Request, *, empty: Any = None) -> Any:
    """The JSON body of a control API request (/_segemu/...), or `empty` when there is none."""
    data = await request.read()
    return parse_json(data) if data.strip() else empty


# Authorization header -> write key. SDKs send the same header on every call, so decoding it
# once per distinct value saves work on every request; bounded against unbounded distinct keys.
_KEY_CACHE: dict[str, str | None] = {}
_KEY_CACHE_SIZE = 1024


def header_write_key(request: web.Request) -> str | None:
    authorization = request.headers.get("Authorization")
    if authorization is None:
        return None
    try:
        return _KEY_CACHE[authorization]
    except KeyError:
        pass
    key = _decode_authorization(authorization)
    if len(_KEY_CACHE) >= _KEY_CACHE_SIZE:
        _KEY_CACHE.clear()
    _KEY_CACHE[authorization] = key
    return key


def _decode_authorization(authorization: str) -> str | None:
    """The write key from `Authorization: Basic base64(writeKey:)` (DOCS http-api
    §Authentication; "encoding the write key without a colon might work", so it does here).
    A Bearer token carries no write key: the body's writeKey is used with it."""
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() != "basic" or not credentials:
        return None
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
    except ValueError:  # binascii.Error, UnicodeDecodeError, and non-ASCII header bytes
        return None
    return decoded.partition(":")[0] or None
