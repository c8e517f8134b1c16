"""Fuzzing over real sockets: random JSON, random bytes and random headers at every Tracking API
route and at the control API. Whatever arrives, the answer is a 2xx or a 4xx, never a 5xx; no
error is logged inside the server; and afterwards the server still answers and the store still
writes (a normal call is flushed to disk and read back). DESIGN.md "Bounded work": one bad call
never stops the others.

Bounded: a fixed number of examples per test and no per-example deadline beyond the client's
timeout, so the module adds seconds. Hypothesis prints the failing request if one is found.
"""

from __future__ import annotations

import base64
import gzip
import http.client
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import orjson
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from segemu.config import load_config
from segemu.http.tracking import BATCH_ROUTES, SINGLE_ROUTES
from segemu.testing.thread import ThreadedEmulator

EXAMPLES = 150
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,  # each request has the client's timeout instead
    database=None,  # nothing written into the working tree
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
TIMEOUT = 10.0

TRACKING_PATHS = [
    f"/v1/{route}{slash}" for route in (*SINGLE_ROUTES, *BATCH_ROUTES, "m") for slash in ("", "/")
]


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedEmulator]:
    # A durable store, as `segemu run` has: what the fuzz sends must never stop its writes.
    db = tmp_path_factory.mktemp("db")
    config = load_config({"db": str(db), "flush_interval": 0.05}, env={}, discover=False)
    threaded = ThreadedEmulator(config).start()
    yield threaded
    threaded.stop()


def request(
    server: ThreadedEmulator,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, bytes]:
    parts = urlsplit(server.url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=TIMEOUT)
    try:
        connection.putrequest(method, path, skip_accept_encoding=True)
        for name, value in (headers or {}).items():
            # Latin-1 on the wire, as http.client sends it: bytes 0x80-0xff arrive raw.
            connection.putheader(name, value.encode("latin-1"))
        if body is not None:
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        # A stream answers 200 and stays open: its head is all the fuzz needs.
        streaming = response.getheader("Content-Type", "").startswith("text/event-stream")
        return response.status, b"" if streaming else response.read()
    finally:
        connection.close()


def answered(server: ThreadedEmulator, status: int, answer: bytes, what: str) -> None:
    assert status < 500, f"{what} -> {status}: {answer[:500]!r}"
    assert server.take_errors() == [], what


# -- what is thrown ----------------------------------------------------------------------

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=25,
)
# Field names of calls, so that random values land where the pipeline reads them.
CALL_FIELDS = [
    "type", "event", "userId", "anonymousId", "groupId", "previousId", "messageId", "name",
    "properties", "traits", "context", "integrations", "timestamp", "sentAt", "writeKey",
    "_metadata", "category", "batch", "series",
]  # fmt: skip
calls = st.dictionaries(st.sampled_from(CALL_FIELDS), json_values, max_size=8)
batches = st.fixed_dictionaries(
    {"batch": st.lists(calls | json_values, max_size=5)},
    optional={"writeKey": json_values, "context": json_values, "sentAt": json_values},
)
# A deep value: up to twice the nesting limit, so both sides of it are tried.
deep = st.integers(min_value=1, max_value=130).map(
    lambda levels: (
        b'{"writeKey":"wk","event":"D","userId":"u","properties":{"x":%s}}'
        % (b"[" * levels + b"]" * levels)
    )
)


def dumps(value: Any) -> bytes:
    # The standard library's encoder: it writes integers of any size, as a client may send.
    return json.dumps(value).encode()


bodies = st.one_of(
    calls.map(dumps),
    batches.map(dumps),
    json_values.map(dumps),
    st.binary(max_size=200),
    deep,
    st.just(b""),
)

header_text = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"),
    max_size=40,
)
# Headers segemu reads, and some it does not; never the framing ones (Content-Length, Host...),
# which would only make the client and the server disagree on where a request ends.
HEADER_NAMES = [
    "Content-Type", "Content-Encoding", "X-Retry-Count", "Origin",
    "Access-Control-Request-Headers", "Access-Control-Request-Method", "Last-Event-ID",
    "User-Agent", "Accept", "Cookie", "X-Anything",
]  # fmt: skip


def printable(raw: bytes) -> bytes:
    return bytes(byte for byte in raw if byte >= 0x20 and byte != 0x7F)


authorization = st.one_of(
    header_text,
    header_text.map(lambda text: "Basic " + text),
    # Raw bytes, as in "Basic \xff\xfe" (issue 13, finding 6). Control characters are left
    # out of every header: HTTP forbids them, and aiohttp's parser refuses them itself.
    st.binary(max_size=20).map(lambda raw: "Basic " + printable(raw).decode("latin-1")),
)
headers = st.builds(
    lambda chosen, auth: chosen if auth is None else {**chosen, "Authorization": auth},
    st.dictionaries(st.sampled_from(HEADER_NAMES), header_text, max_size=5),
    st.none() | authorization,
)


@st.composite
def encoded(draw: st.DrawFn, body: bytes) -> tuple[bytes, dict[str, str]]:
    """The body as sent: as it is, or gzip'd (whole, or cut short) with its header."""
    how = draw(st.sampled_from(["plain", "gzip", "gzip cut short"]))
    if how == "plain":
        return body, {}
    packed = gzip.compress(body, mtime=0)
    if how == "gzip cut short":
        packed = packed[: draw(st.integers(0, len(packed)))]
    return packed, {"Content-Encoding": "gzip"}


# -- the tests -----------------------------------------------------------------------------


def test_the_tracking_api_answers_4xx_never_5xx(running: ThreadedEmulator) -> None:
    @FUZZ
    @given(st.sampled_from(TRACKING_PATHS), bodies, headers, st.data())
    def fuzz(path: str, body: bytes, sent_headers: dict[str, str], data: st.DataObject) -> None:
        wire, encoding = data.draw(encoded(body))
        merged = {**sent_headers, **encoding}
        status, answer = request(running, "POST", path, wire, merged)
        answered(running, status, answer, f"POST {path} {merged} {body[:200]!r}")

    fuzz()
    assert_still_writing(running)


EVENT_TYPES_AND_MORE = ["track", "page", "identify", "group", "alias", "screen", "x", "é"]


def test_the_pixel_answers_a_gif_whatever_its_data(running: ThreadedEmulator) -> None:
    @FUZZ
    @given(st.sampled_from(EVENT_TYPES_AND_MORE), bodies, st.booleans(), headers)
    def fuzz(kind: str, body: bytes, as_base64: bool, sent_headers: dict[str, str]) -> None:
        data = base64.b64encode(body).decode() if as_base64 else body.decode("latin-1")
        path = f"/v1/pixel/{quote(kind)}?data={quote(data)}"
        # aiohttp itself refuses a request line over 8,190 bytes (a 400 it logs as an error),
        # before segemu sees it.
        assume(len(path) < 8000)
        status, answer = request(running, "GET", path, None, sent_headers)
        answered(running, status, answer, f"GET {path} {sent_headers}")
        assert status == 200

    fuzz()
    assert_still_writing(running)


# Control API routes that take a body, and the ones that read only their query string.
CONTROL_BODIES = [
    ("POST", "/_segemu/assert"),
    ("POST", "/_segemu/reset"),
    ("POST", "/_segemu/flush"),
    ("POST", "/_segemu/protocols/reload"),
    ("PUT", "/_segemu/destinations/fuzzed"),
    ("DELETE", "/_segemu/destinations/fuzzed"),
]
CONTROL_READS = [
    "/_segemu/events",
    "/_segemu/events/{id}",
    "/_segemu/events/{id}/routing",
    "/_segemu/summary",
    "/_segemu/health",
    "/_segemu/wait",
    "/_segemu/assertions",
    "/_segemu/violations",
    "/_segemu/protocols",
    "/_segemu/destinations",
    "/_segemu/destinations/{id}",
    "/_segemu/destinations/{id}/deliveries",
    "/_segemu/stream",
    "/_segemu/openapi.json",
]
QUERY_NAMES = [
    "q", "type", "event", "userId", "anonymousId", "writeKey", "status", "since", "until",
    "limit", "before", "count", "timeout", "scan", "kind", "deliveryStatus", "backlog", "after",
]  # fmt: skip
query_text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=20)


def test_the_control_api_answers_4xx_never_5xx(running: ThreadedEmulator) -> None:
    @FUZZ
    @given(st.sampled_from(CONTROL_BODIES), bodies | json_values.map(dumps), headers)
    def fuzz(route: tuple[str, str], body: bytes, sent_headers: dict[str, str]) -> None:
        method, path = route
        status, answer = request(running, method, path, body, sent_headers)
        answered(running, status, answer, f"{method} {path} {sent_headers} {body[:200]!r}")

    fuzz()
    assert_still_writing(running)


def test_control_api_queries_answer_4xx_never_5xx(running: ThreadedEmulator) -> None:
    @FUZZ
    @given(
        st.sampled_from(CONTROL_READS),
        st.dictionaries(st.sampled_from(QUERY_NAMES), query_text, max_size=4),
        query_text,
        headers,
    )
    def fuzz(path: str, query: dict[str, str], name: str, sent_headers: dict[str, str]) -> None:
        if path.endswith("/wait"):
            query["timeout"] = "0"  # a long-poll would only make the fuzz slow
        target = path.replace("{id}", quote(name, safe="") or "x")
        if query:
            target += "?" + "&".join(f"{quote(k)}={quote(v)}" for k, v in query.items())
        status, answer = request(running, "GET", target, None, sent_headers)
        answered(running, status, answer, f"GET {target} {sent_headers}")

    fuzz()
    assert_still_writing(running)


def assert_still_writing(server: ThreadedEmulator) -> None:
    """After the fuzz: alive, and a normal call is written to disk and read back."""
    message_id = f"after-the-fuzz-{uuid.uuid4()}"
    call = {"event": "After The Fuzz", "userId": "u", "writeKey": "wk", "messageId": message_id}
    status, answer = request(server, "POST", "/v1/track", orjson.dumps(call))
    assert status == 200, answer
    status, answer = request(server, "POST", "/_segemu/flush")
    assert status == 200, answer
    status, answer = request(server, "GET", f"/_segemu/events/{message_id}")
    assert status == 200, answer
    assert orjson.loads(answer)["event"]["event"] == "After The Fuzz"
    status, answer = request(server, "GET", "/_segemu/summary")
    summary: Any = orjson.loads(answer)
    assert summary["storeProblems"] == []
    assert summary["pendingWrite"] == 0
    assert on_disk(Path(server.config.db), message_id)
    assert server.take_errors() == []


def on_disk(db: Path, message_id: str) -> bool:
    return any(message_id.encode() in path.read_bytes() for path in db.glob("events_*.json"))
