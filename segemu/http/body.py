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

from segemu.jsonlimits import MAX_DEPTH, parsed_deeper_than, too_deep_message

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
    try:
        parsed = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise BodyError("invalid_json", f"body is not valid JSON: {exc}") from None
    if parsed_deeper_than(data, parsed, MAX_DEPTH + wrapping):
        raise BodyError("too_deep", too_deep_message(what))
    return parsed


def parse_json_object(data: bytes, *, wrapping: int = 0, what: str = "the body") -> dict[str, Any]:
    """Browsers send JSON as text/plain, so the Content-Type is never looked at."""
    if not data:
        raise BodyError("invalid_json", "body is empty; expected a JSON object")
    parsed = parse_json(data, wrapping=wrapping, what=what)
    if not isinstance(parsed, dict):
        raise BodyError("invalid_json", "body must be a JSON object")
    return parsed


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
