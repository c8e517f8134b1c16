"""Reading call files: every shape a developer has at hand, a call at a time."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path
from typing import Any

import pytest

from segemu.traffic import jsonstream
from segemu.traffic.calls import CallFileError, count_calls, read_calls
from segemu.traffic.jsonstream import JsonStreamError, iter_values

CALLS: list[dict[str, Any]] = [
    {"type": "track", "event": 'A, ] } " \\', "userId": "u1", "messageId": "m1"},
    {"type": "identify", "traits": {"nested": [1, {"x": "]"}]}, "userId": "u1", "messageId": "m2"},
    {"type": "page", "name": "Home", "anonymousId": "a", "messageId": "m3", "n": 1.5e3},
]


@pytest.fixture(autouse=True)
def small_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    # Reads of a few bytes, so every value and string straddles the reader's buffer.
    monkeypatch.setattr(jsonstream, "READ_SIZE", 5)


def items(path: Path) -> list[Any]:
    return [call.item for call in read_calls(path)]


def test_json_lines_array_and_pretty_array(tmp_path: Path) -> None:
    lines = tmp_path / "calls.jsonl"
    lines.write_text("\n".join(json.dumps(c) for c in CALLS) + "\n\n")
    array = tmp_path / "calls.json"
    array.write_text(json.dumps(CALLS, indent=2))
    one_line = tmp_path / "one-line.json"
    one_line.write_text(json.dumps(CALLS))
    for path in (lines, array, one_line):
        assert items(path) == CALLS, path


def test_a_batch_lends_its_write_key_and_context_even_after_the_array(tmp_path: Path) -> None:
    path = tmp_path / "batch.json"
    body = {"batch": CALLS, "context": {"app": {"name": "x"}}, "writeKey": "wk"}
    path.write_text(json.dumps(body, indent=1))
    calls = list(read_calls(path))
    assert [c.item for c in calls] == CALLS
    assert {c.write_key for c in calls} == {"wk"}
    assert calls[0].context == {"app": {"name": "x"}}
    sent = calls[1].to_send()
    assert sent["context"] == {"app": {"name": "x"}}
    assert "writeKey" not in sent


def test_gzip_and_a_directory_of_files(tmp_path: Path) -> None:
    folder = tmp_path / "archive" / "day"
    folder.mkdir(parents=True)
    with gzip.open(folder / "1.gz", "wt") as out:
        out.write("\n".join(json.dumps(c) for c in CALLS[:2]))
    (folder / "2.jsonl").write_text(json.dumps(CALLS[2]) + "\n")
    assert items(tmp_path / "archive") == CALLS
    assert count_calls(tmp_path / "archive") == 3


def test_the_stored_shape_becomes_the_call_that_was_sent(tmp_path: Path) -> None:
    stored = {
        "type": "track",
        "event": "E",
        "userId": "u",
        "messageId": "m",
        "timestamp": "2026-01-01T00:00:05.000Z",
        "originalTimestamp": "2026-01-01T00:00:00.000Z",
        "sentAt": "2026-01-01T00:00:01.000Z",
        "receivedAt": "2026-01-01T00:00:06.000Z",
        "channel": "client",
        "version": 2,
        "writeKey": "k",
        "context": {},
    }
    path = tmp_path / "stored.jsonl"
    path.write_text(json.dumps(stored) + "\n")
    (call,) = read_calls(path)
    assert call.item["timestamp"] == "2026-01-01T00:00:00.000Z"
    assert "receivedAt" not in call.item
    assert "channel" not in call.item
    assert call.write_key == "k"
    assert call.channel == "client"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[{"a": 1}, {"b": ', "ends inside"),
        ('[{"a": 1} {"b": 2}]', "expected one of ',]'"),
        ("[1, 2] [3]", "after the JSON value"),
        ('{"a": 1}\n{"b": \n', "not valid JSON"),
    ],
)
def test_a_broken_file_is_named_with_the_place(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "broken.json"
    path.write_text(text)
    with pytest.raises(CallFileError, match=message) as caught:
        list(read_calls(path))
    assert str(path) in str(caught.value)


def test_scanner_is_not_fooled_by_strings() -> None:
    data = json.dumps([{"s": '"[{,:}]"\\'}, "]", []]).encode()
    assert [v for _, v in iter_values(io.BytesIO(data))] == [{"s": '"[{,:}]"\\'}, "]", []]
    with pytest.raises(JsonStreamError):
        list(iter_values(io.BytesIO(b"nope")))


def test_records_of_segemu_events_json_import_as_they_were(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from segemu import create_emulator
    from segemu.message import Envelope
    from segemu.traffic.importer import import_calls

    first = create_emulator(db=":memory:")
    first.ingest(
        Envelope(
            "/v1/batch",
            [
                CALLS[0],
                {
                    **CALLS[1],
                    "sentAt": "2026-01-01T00:00:00.000Z",
                    "timestamp": "2025-12-31T23:59:59.000Z",
                },
            ],
            datetime.now(UTC),
            header_write_key="k",
            context={"lent": True},
        )
    )
    records = first.events()  # newest first
    path = tmp_path / "events.json"  # what `segemu events --json` prints: oldest first
    path.write_text(json.dumps(records[::-1], indent=2))
    second = create_emulator(db=":memory:")
    summary = import_calls(second, read_calls(path))
    assert summary.imported == 2
    for old, new in zip(records, second.events(), strict=True):
        assert {**new, "id": 0} == {**old, "id": 0}


def test_json_lines_of_batches_give_their_calls(tmp_path: Path) -> None:
    path = tmp_path / "bodies.jsonl"
    bodies = [{"batch": CALLS[:2], "writeKey": "a"}, {"batch": CALLS[2:], "writeKey": "b"}]
    path.write_text("\n".join(json.dumps(body) for body in bodies) + "\n")
    calls = list(read_calls(path))
    assert [c.item for c in calls] == CALLS
    assert [c.write_key for c in calls] == ["a", "a", "b"]


def test_a_call_is_sent_as_read_unless_something_in_it_changes(tmp_path: Path) -> None:
    plain = b'{"type": "track",  "event": "A", "userId": "u1", "messageId": "m1"}'
    keyed = b'{"type": "track", "event": "B", "userId": "u1", "writeKey": "k", "sentAt": "x"}'
    export = json.dumps({"call": CALLS[0], "writeKey": "k", "receivedAt": "2026-01-01T00:00:00Z"})
    path = tmp_path / "calls.jsonl"
    path.write_bytes(b"\r\n".join([plain, keyed, export.encode()]) + b"\n")
    first, second, third = read_calls(path)
    assert first.encoded() == plain  # the line as read, spaces and all
    assert json.loads(second.encoded()) == {
        "type": "track",
        "event": "B",
        "userId": "u1",
    }  # the sender sets the key; without sentAt the receiver keeps the timestamp
    assert json.loads(third.encoded()) == CALLS[0]
    for call in (first, second, third):
        assert json.loads(call.encoded()) == call.to_send()
