"""`import_calls` runs calls that share their envelope through the pipeline together: what a
user sees (the records, their order, the summary, the progress) is what a call at a time gave."""

from __future__ import annotations

import gc
import json
from pathlib import Path
from typing import Any

import orjson
import yaml

from segemu import create_emulator
from segemu.emulator import Emulator
from segemu.message import Record
from segemu.traffic.calls import read_calls
from segemu.traffic.importer import BATCH_CALLS, import_calls

PLAN = {
    "name": "Shop",
    "track": {
        "Order Completed": {"properties": {"order_id": {"type": "string", "required": True}}}
    },
}


def track(number: int, **properties: Any) -> dict[str, Any]:
    return {
        "type": "track",
        "event": "Order Completed",
        "userId": f"u-{number % 7}",
        "messageId": f"m-{number}",
        "timestamp": "2026-01-01T00:00:00.000Z",
        "properties": {"order_id": f"o-{number}", **properties},
    }


def write_lines(path: Path, calls: list[dict[str, Any]]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(call) + b"\n" for call in calls))
    return path


def stored(emulator: Emulator) -> list[Record]:
    return emulator.events()[::-1]  # oldest first


def test_a_repeated_message_id_within_one_batch_is_skipped(tmp_path: Path) -> None:
    calls = [track(n) for n in range(10)]
    calls.insert(5, {**track(99), "messageId": "m-2"})  # the same messageId as the third
    emulator = create_emulator(db=":memory:")
    summary = import_calls(emulator, read_calls(write_lines(tmp_path / "c.jsonl", calls)), "k")
    assert (summary.imported, summary.skipped) == (10, 1)
    records = stored(emulator)
    assert [r["messageId"] for r in records] == [f"m-{n}" for n in range(10)]
    assert records[2]["raw"]["properties"]["order_id"] == "o-2"  # the first one stays


def test_many_calls_are_stored_as_one_at_a_time_stored_them(tmp_path: Path) -> None:
    calls = [track(n) for n in range(BATCH_CALLS * 2 + 7)]
    path = write_lines(tmp_path / "c.jsonl", calls)
    heard: list[int] = []
    batched = create_emulator(db=":memory:")
    summary = import_calls(batched, read_calls(path), "k", heard.append)
    single = create_emulator(db=":memory:")
    for call in calls:
        import_calls(single, read_calls(write_lines(tmp_path / "one.jsonl", [call])), "k")
    assert summary.imported == len(calls)
    assert summary.statuses == {"accepted": len(calls), "rejected": 0, "duplicate": 0}
    assert sum(heard) == len(calls)
    # Imported at another moment, so the receive times differ; everything else is the same.
    moment = {"receivedAt": "", "timestamp": "", "id": 0}
    for old, new in zip(stored(single), stored(batched), strict=True):
        old_event = {**old["event"], **moment}
        new_event = {**new["event"], **moment}
        assert ({**new, **moment, "event": new_event}) == {**old, **moment, "event": old_event}
    # Importing the file again changes nothing, and the bar still hears every call.
    heard.clear()
    again = import_calls(batched, read_calls(path), "k", heard.append)
    assert (again.imported, again.skipped, sum(heard)) == (0, len(calls), len(calls))


def test_calls_forwarded_because_of_a_call_are_stored_right_after_it(tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text(yaml.safe_dump(PLAN))
    emulator = create_emulator(
        db=":memory:",
        sources={
            "web": {
                "write_key": "wk_web",
                "tracking_plan": str(plan),
                "protocols": {"forwardingViolationsTo": "violations"},
            },
            "violations": {"write_key": "wk_violations"},
        },
    )
    calls = [track(0), {**track(1), "properties": {}}, track(2)]  # the second lacks order_id
    import_calls(emulator, read_calls(write_lines(tmp_path / "c.jsonl", calls)), "wk_web")
    events = [(r["writeKey"], r["event"].get("event")) for r in stored(emulator)]
    assert events == [
        ("wk_web", "Order Completed"),
        ("wk_web", "Order Completed"),
        ("wk_violations", "Violation Generated"),
        ("wk_web", "Order Completed"),
    ]


def test_calls_with_their_own_envelopes_keep_them(tmp_path: Path) -> None:
    lines = [
        {"call": track(0), "writeKey": "a", "receivedAt": "2026-01-01T00:00:01.000Z"},
        {"call": track(1), "writeKey": "a", "receivedAt": "2026-01-01T00:00:01.000Z"},
        {"call": track(2), "writeKey": "b", "receivedAt": "2026-01-01T00:00:02.000Z"},
        {"call": track(3), "writeKey": "b", "receivedAt": "2026-01-01T00:00:03.000Z"},
    ]
    path = tmp_path / "export.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    emulator = create_emulator(db=":memory:")
    import_calls(emulator, read_calls(path))
    assert [(r["writeKey"], r["receivedAt"]) for r in stored(emulator)] == [
        (line["writeKey"], line["receivedAt"]) for line in lines
    ]


def test_the_collector_is_as_it_was_afterwards(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "c.jsonl", [track(0)])
    assert gc.isenabled()
    import_calls(create_emulator(db=":memory:"), read_calls(path), "k")
    assert gc.isenabled()
    gc.disable()
    try:
        import_calls(create_emulator(db=":memory:"), read_calls(path), "k")
        assert not gc.isenabled()
    finally:
        gc.enable()
