"""The TinyDB-backed store: durable, bounded, never rewriting old chunks, and recovering from a
damaged file with a clear message."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from tinydb import TinyDB

from segemu.config import load_config
from segemu.destinations.runtime import Destinations
from segemu.message import Envelope
from segemu.pipeline import Pipeline
from segemu.protocols import Protocols
from segemu.sources import load_sources
from segemu.storage import StorageError
from segemu.store import EventStore


def pipeline_for(store: EventStore) -> Pipeline:
    """The pipeline of an emulator on its defaults, around this store."""
    config = load_config({}, env={}, discover=False)
    sources = load_sources(config)
    return Pipeline(store, sources, Protocols(config, sources), Destinations(config, sources))


def ingest(store: EventStore, count: int, *, key: str = "wk", start: int = 0) -> None:
    items: list[Any] = [
        {"type": "track", "event": "E", "userId": "u", "messageId": f"m{i}"}
        for i in range(start, start + count)
    ]
    pipeline_for(store).process(
        Envelope(
            route="/v1/batch", items=items, header_write_key=key, received_at=datetime.now(UTC)
        )
    )


def open_store(path: Path, retention: int = 100_000) -> EventStore:
    return EventStore(str(path), retention=retention, chunk_size=100)


def test_records_survive_a_reopen(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    ingest(store, 250)
    store.close()
    again = open_store(tmp_path)
    assert len(again) == 250
    assert [r["messageId"] for r in again.newest_first()][:2] == ["m249", "m248"]
    # Ids keep growing after a restart, and dedupe remembers what came before.
    ingest(again, 1, start=249)
    newest = next(again.newest_first())
    assert newest["id"] == 251
    assert newest["status"] == "duplicate"
    again.close()


def test_each_chunk_file_is_a_plain_tinydb_database(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    ingest(store, 150)
    store.close()
    with TinyDB(tmp_path / "events_000001.json") as db:
        documents = db.table("events_000001").all()
    assert [d["messageId"] for d in documents] == [f"m{i}" for i in range(99, 150)]


def test_full_chunks_are_never_rewritten(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    ingest(store, 150)
    store.flush()
    full = tmp_path / "events_000000.json"
    before = full.stat().st_mtime_ns, full.stat().st_ino
    for start in range(150, 450, 50):
        ingest(store, 50, start=start)
        store.flush()
    assert (full.stat().st_mtime_ns, full.stat().st_ino) == before
    store.close()


def test_retention_drops_the_oldest_and_their_files(tmp_path: Path) -> None:
    store = open_store(tmp_path, retention=250)
    ingest(store, 600)
    store.flush()
    assert len(store) == 250
    assert next(iter(reversed(list(store.newest_first()))))["messageId"] == "m350"
    # Chunks 0-2 only hold records older than the oldest kept (id 351).
    assert sorted(p.name for p in tmp_path.glob("*.json")) == [
        "events_000003.json",
        "events_000004.json",
        "events_000005.json",
        "events_000006.json",
    ]
    store.close()
    again = open_store(tmp_path, retention=250)
    assert len(again) == 250
    again.close()


def test_reset_of_one_write_key_survives_a_restart(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    ingest(store, 30, key="a")
    ingest(store, 20, key="b", start=30)
    store.flush()
    assert store.reset_write_key("a") == 30
    ingest(store, 5, key="a", start=100)
    store.close()
    again = open_store(tmp_path)
    assert len(again) == 25
    assert {r["messageId"] for r in again.newest_first_for("a")} == {
        f"m{i}" for i in range(100, 105)
    }
    again.close()


def test_reset_everything_removes_the_files(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    ingest(store, 150)
    store.flush()
    assert store.reset_all() == 150
    store.close()
    assert list(tmp_path.glob("*.json")) == []
    again = open_store(tmp_path)
    assert len(again) == 0
    again.close()


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: b"\x00\x17garbage",
        lambda data: orjson.dumps({"something": "else"}),
        lambda data: b"",
    ],
)
def test_a_corrupt_chunk_is_set_aside_with_a_clear_message(tmp_path: Path, damage: Any) -> None:
    store = open_store(tmp_path)
    ingest(store, 250)
    store.close()
    victim = tmp_path / "events_000001.json"
    victim.write_bytes(damage(victim.read_bytes()))
    again = open_store(tmp_path)
    # The other chunks are all there; only the damaged one is missing.
    assert len(again) == 150
    [problem] = again.problems
    # (A truncated chunk keeps its intact documents: tests/test_store_damage.py.)
    assert "events_000001.json is truncated or corrupt" in problem
    assert "moved aside to events_000001.json.corrupt-" in problem
    assert list(tmp_path.glob("events_000001.json.corrupt-*"))
    # And it keeps working.
    ingest(again, 10, start=1000)
    again.close()
    last = open_store(tmp_path)
    assert len(last) == 160
    last.close()


def test_a_leftover_temporary_file_is_ignored(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    ingest(store, 10)
    store.close()
    (tmp_path / "events_000000.json.tmp").write_bytes(b'{"events_000000": {"1": ')
    again = open_store(tmp_path)
    assert len(again) == 10
    assert again.problems == []
    again.close()


def test_two_processes_cannot_share_a_database(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    with pytest.raises(StorageError, match="in use by another segemu process"):
        open_store(tmp_path)
    store.close()
    open_store(tmp_path).close()


def test_a_file_where_the_directory_should_be(tmp_path: Path) -> None:
    target = tmp_path / "events.json"
    target.write_text("{}")
    with pytest.raises(StorageError, match="is a file; --db takes a directory"):
        open_store(target)


def test_memory_store_behaves_the_same() -> None:
    store = EventStore(None, retention=120, chunk_size=50)
    ingest(store, 200)
    store.flush()
    assert len(store) == 120
    assert store.reset_write_key("wk") == 120
    assert len(store) == 0
    store.close()


def brute_force(store: EventStore, **facets: Any) -> list[int]:
    """What `ids()` must answer, by reading every record."""
    fields = {
        "type": lambda r: r["type"],
        "event": lambda r: r["event"].get("event"),
        "user_id": lambda r: r["event"].get("userId"),
        "anonymous_id": lambda r: r["event"].get("anonymousId"),
        "write_key": lambda r: r["writeKey"],
        "status": lambda r: r["status"],
        "message_id": lambda r: r["messageId"],
        "source": lambda r: r.get("source"),
    }
    return [
        r["id"]
        for r in store.newest_first()
        if all(fields[name](r) == value for name, value in facets.items())
    ]


def test_index_lookups_answer_what_a_scan_would_through_retention_and_resets() -> None:
    evicted: list[int] = []
    store = EventStore(None, retention=300, chunk_size=50, on_evict=evicted.extend)
    pipeline = pipeline_for(store)
    for number in range(12):
        items = [
            {
                "type": ("track", "page", "identify")[i % 3],
                "event": f"E{i % 4}",
                "userId": f"u{i % 5}",
                "anonymousId": f"a{i % 2}",
                # Retries of one messageId, and calls that Segment drops.
                "messageId": f"m{i % 90}",
            }
            if i % 11
            else {"type": "track"}
            for i in range(number * 40, number * 40 + 40)
        ]
        pipeline.process(
            Envelope(
                route="/v1/batch",
                items=items,
                header_write_key=f"k{number % 3}",
                received_at=datetime.now(UTC),
            )
        )
        if number == 8:
            store.reset_write_key("k1")
    assert len(store) == 300
    assert evicted
    assert not set(evicted) & {r["id"] for r in store.newest_first()}
    lookups: list[dict[str, Any]] = [
        {},
        {"type": "track"},
        {"type": "page", "user_id": "u3"},
        {"event": "E2", "anonymous_id": "a0", "write_key": "k2"},
        {"status": "duplicate"},
        {"status": "rejected", "type": "track"},
        {"message_id": "m7"},
        {"source": "k0", "type": "identify"},
        {"user_id": "nobody"},
    ]
    for facets in lookups:
        assert store.ids(**facets) == brute_force(store, **facets), facets
        assert store.ids(**facets, limit=3) == brute_force(store, **facets)[:3]
    everything = brute_force(store)
    middle = everything[len(everything) // 2]
    assert store.ids(before=middle, limit=5) == [i for i in everything if i < middle][:5]
    assert store.ids(since_id=middle) == [i for i in everything if i >= middle]
    assert store.counts("status") == {
        status: len(brute_force(store, status=status))
        for status in ("accepted", "duplicate", "rejected")
        if brute_force(store, status=status)
    }
    assert [r["id"] for r in store.with_message_id("m7")] == sorted(
        brute_force(store, message_id="m7")
    )
    store.reset_all()
    assert store.ids() == []
    assert store.counts("type") == {}


def test_a_time_range_is_answered_from_the_index() -> None:
    store = EventStore(None, retention=1000)
    pipeline = pipeline_for(store)
    start = datetime(2026, 11, 22, 4, 0, 0, tzinfo=UTC)
    for minute in range(10):
        pipeline.process(
            Envelope(
                route="/v1/batch",
                items=[{"type": "track", "event": "E", "userId": "u"}] * 3,
                header_write_key="wk",
                received_at=start + timedelta(minutes=minute),
            )
        )
    since, until = start + timedelta(minutes=3), start + timedelta(minutes=5)
    expected = [
        r["id"]
        for r in store.newest_first()
        if since <= datetime.fromisoformat(r["receivedAt"]) <= until
    ]
    assert len(expected) == 9
    assert store.ids(received_since=since, received_until=until) == expected
    assert store.ids(received_since=since, received_until=until, type="track") == expected
