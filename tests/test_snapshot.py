"""A clean stop leaves a snapshot of the store's memory beside its files; the next start takes
it instead of reading and indexing every call again, only while it still describes the files
(segemu/snapshot.py). Every answer is the same either way."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from segemu import create_emulator
from segemu.message import Envelope
from segemu.snapshot import FILE
from segemu.store import EventStore
from tests.test_store import open_store, pipeline_for


def app_calls(count: int, start: int = 0) -> list[dict[str, Any]]:
    """An app's mix: several types, users, anonymous ids, retries of one messageId."""
    calls: list[dict[str, Any]] = []
    for number in range(start, start + count):
        kind = ("track", "identify", "page", "group")[number % 4]
        call: dict[str, Any] = {
            "type": kind,
            "messageId": f"m{number % (count - 3)}",  # the last three are retries
            "anonymousId": f"a{number % 7}",
            "userId": f"u{number % 5}" if number % 3 else None,
        }
        if kind == "track":
            call.update(event=("Signed Up", "Order Completed")[number % 2], properties={"n": 1})
        elif kind == "identify":
            call["traits"] = {"plan": "pro", "email": f"u{number % 5}@example.com"}
        elif kind == "group":
            call["groupId"] = "g1"
        calls.append(call)
    return calls


def fill(store: EventStore, count: int, start: int = 0) -> None:
    pipeline = pipeline_for(store)
    for key in ("web", "server"):
        pipeline.process(
            Envelope(
                route="/v1/batch",
                items=app_calls(count, start),
                header_write_key=key,
                received_at=datetime.now(UTC),
            )
        )


def answers(store: EventStore) -> dict[str, Any]:
    """What a reader sees: every record, the counts, and lookups by every index."""
    return {
        "records": list(store.newest_first()),
        "length": len(store),
        "counts": {f: store.counts(f) for f in ("type", "write_key", "status", "event")},
        "by_user": store.ids(user_id="u1"),
        "by_anonymous": store.ids(anonymous_id="a3", type="page"),
        "by_event": store.ids(event="Signed Up", write_key="server"),
        "by_destination": store.ids(destination="mixpanel", delivery_status="delivered"),
        "by_message": store.ids(message_id="m2"),
        "duplicates": store.ids(status="duplicate"),
    }


def without_reading_the_files(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(store: EventStore) -> None:
        raise AssertionError("the store read its files instead of the snapshot")

    monkeypatch.setattr(EventStore, "_load", refuse)


def test_a_clean_stop_reopens_from_its_snapshot_with_every_answer_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = open_store(tmp_path, retention=300)
    fill(store, 200)  # 400 calls through retention 300: the oldest 100 evicted
    before = answers(store)
    store.close()
    assert (tmp_path / FILE).is_file()

    with monkeypatch.context() as patched:
        without_reading_the_files(patched)
        again = open_store(tmp_path, retention=300)
    assert not (tmp_path / FILE).exists()  # taken: it described that one stop
    assert answers(again) == before
    # It goes on as if read from the files: new calls, dedupe, retention, the next stop.
    fill(again, 40, start=1000)
    after = answers(again)
    again.close()
    (tmp_path / FILE).unlink()
    from_files = open_store(tmp_path, retention=300)
    assert answers(from_files) == after
    from_files.close()


def test_a_snapshot_the_files_have_moved_past_is_not_used(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    fill(store, 20)
    store.close()
    snapshot = (tmp_path / FILE).read_bytes()
    again = open_store(tmp_path)
    fill(again, 20, start=100)
    expected = answers(again)
    again.close()
    # A stale snapshot put back (as a copy of the directory from before could): the chunk
    # files differ from what it saw, so the store reads them.
    (tmp_path / FILE).write_bytes(snapshot)
    third = open_store(tmp_path)
    assert answers(third) == expected
    third.close()


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[: len(data) // 2],
        lambda data: b"not a snapshot",
        lambda data: data.replace(b'"format":1', b'"format":9'),
        # Still valid JSON and arrays, one value changed: only the checksum tells.
        lambda data: data.replace(b'"u1"', b'"u9"'),
    ],
    ids=["cut short", "not a snapshot", "another format", "a changed value"],
)
def test_a_damaged_snapshot_is_ignored_and_the_files_are_read(tmp_path: Path, damage: Any) -> None:
    store = open_store(tmp_path)
    fill(store, 30)
    expected = answers(store)
    store.close()
    path = tmp_path / FILE
    path.write_bytes(damage(path.read_bytes()))
    again = open_store(tmp_path)
    assert answers(again) == expected
    assert again.problems == []
    again.close()


def test_a_save_cut_short_leaves_nothing_behind(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    fill(store, 10)
    expected = answers(store)
    store.close()
    # As a hard kill in the middle of the next save would leave it.
    (tmp_path / FILE).rename((tmp_path / FILE).with_suffix(".tmp"))
    again = open_store(tmp_path)
    assert answers(again) == expected
    assert not (tmp_path / FILE).with_suffix(".tmp").exists()
    again.close()


def test_a_smaller_retention_after_a_restart_still_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = open_store(tmp_path)
    fill(store, 50)
    newest = [record["id"] for record in store.newest_first()][:10]
    store.close()
    with monkeypatch.context() as patched:
        without_reading_the_files(patched)
        again = open_store(tmp_path, retention=10)
    assert [record["id"] for record in again.newest_first()] == newest
    again.close()


def test_an_emulator_restarts_from_the_snapshot_with_its_profiles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = str(tmp_path / "db")
    first = create_emulator(db=db)
    first.ingest(
        Envelope(
            route="/v1/batch",
            items=app_calls(40),
            header_write_key="web",
            received_at=datetime.now(UTC),
        )
    )
    profile = first.identity.profile("user_id:u1")
    assert profile is not None
    asyncio.run(first.close())

    with monkeypatch.context() as patched:
        without_reading_the_files(patched)
        second = create_emulator(db=db)
    again = second.identity.profile("user_id:u1")
    assert again is not None
    assert again.segment_id == profile.segment_id
    assert len(second.store) == 40
    asyncio.run(second.close())


def test_without_the_identity_graph_the_calls_are_read_to_rebuild_it(tmp_path: Path) -> None:
    db = tmp_path / "db"
    first = create_emulator(db=str(db))
    first.ingest(
        Envelope(
            route="/v1/batch",
            items=app_calls(40),
            header_write_key="web",
            received_at=datetime.now(UTC),
        )
    )
    segment_id = first.identity.profile("user_id:u1").segment_id  # type: ignore[union-attr]
    asyncio.run(first.close())
    (db / "identity" / "graph.json").unlink()
    second = create_emulator(db=str(db))
    rebuilt = second.identity.profile("user_id:u1")
    assert rebuilt is not None
    assert rebuilt.segment_id == segment_id
    asyncio.run(second.close())
