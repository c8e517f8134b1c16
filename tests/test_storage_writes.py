"""Writing the store off the event loop: files assembled from already-encoded records, disk I/O
that a thread can do, and nothing lost or resurrected whatever order things happen in."""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path
from typing import Any

import orjson
import pytest

from segemu import create_emulator
from segemu.storage import FileWrite
from segemu.store import EventStore
from tests.test_store import ingest, open_store


def tables_on_disk(path: Path) -> dict[str, bytes]:
    return {file.stem: file.read_bytes() for file in sorted(path.glob("*.json"))}


def test_a_growing_chunk_is_written_byte_for_byte_as_orjson_would(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    for start in range(0, 260, 37):  # flushes that end inside chunks and across them
        ingest(store, 37, start=start)
        store.flush()
        store.flush()  # an idle flush in between changes nothing
        for name, content in tables_on_disk(tmp_path).items():
            # The store keeps full chunks in compact form only: the file is what they decode to.
            number = int(name.removeprefix("events_"))
            records = store.records(range(number * 100, (number + 1) * 100))
            table = {str(doc_id): record for doc_id, record in enumerate(records, 1)}
            assert content == orjson.dumps({name: table}), name
    store.close()


def test_a_chunk_that_lost_documents_is_encoded_afresh(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    ingest(store, 40)
    store.flush()
    table = store._db.table("events_000000")
    table.remove(doc_ids=[3])  # not something segemu does: the storage must still be right
    ingest(store, 5, start=40)
    store.flush()
    [(name, content)] = tables_on_disk(tmp_path).items()
    assert content == orjson.dumps({name: store._storage.read()[name]})
    assert b'"3":' not in content
    store.close()


def test_a_prepared_write_can_run_on_another_thread(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    ingest(store, 150)
    write = store.prepare_flush()
    assert list(tmp_path.glob("*.json")) == []  # nothing on disk until it runs
    runner = threading.Thread(target=write.run)
    runner.start()
    runner.join()
    assert len(orjson.loads((tmp_path / "events_000001.json").read_bytes())["events_000001"]) == 51
    store.close()
    again = open_store(tmp_path)
    assert len(again) == 150
    again.close()


def test_close_finishes_a_write_that_never_ran(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    ingest(store, 120)
    store.prepare_flush()  # its FileWrite is dropped without running
    store.close()
    again = open_store(tmp_path)
    assert len(again) == 120
    again.close()


def test_a_reset_after_a_prepared_write_is_not_undone_by_it(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    ingest(store, 120)
    write = store.prepare_flush()
    assert store.reset_all() == 120
    write.run()  # late, as a slow thread would: it must not bring the chunk files back
    assert list(tmp_path.glob("*.json")) == []
    store.close()
    again = open_store(tmp_path)
    assert len(again) == 0
    again.close()


def test_a_failed_write_is_redone_by_the_next_flush(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = open_store(tmp_path)
    ingest(store, 30)
    real_replace = os.replace
    failures = iter([OSError(28, "No space left on device")])

    def replace_failing_once(source: Any, target: Any) -> None:
        failure = next(failures, None)
        if failure is not None:
            raise failure
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", replace_failing_once)
    with pytest.raises(OSError, match="No space left"):
        store.prepare_flush().run()
    assert not (tmp_path / "events_000000.json").exists()
    assert store.flush() == 0  # nothing new buffered, but the failed file is written now
    assert len(orjson.loads((tmp_path / "events_000000.json").read_bytes())["events_000000"]) == 30
    store.close()


async def test_the_periodic_flush_writes_and_a_clean_stop_loses_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator = create_emulator(db=str(tmp_path), flush_interval=0.01)
    loop = asyncio.get_running_loop()
    written = asyncio.Event()
    real_run = FileWrite.run

    def run_and_tell(write: FileWrite) -> None:  # runs on the flusher's thread
        real_run(write)
        if write.tables:
            loop.call_soon_threadsafe(written.set)

    monkeypatch.setattr(FileWrite, "run", run_and_tell)
    async with emulator:
        ingest(emulator.store, 50)
        await asyncio.wait_for(written.wait(), 5)  # the periodic flush, not this test, wrote
        on_disk = await asyncio.to_thread(tables_on_disk, tmp_path)
        assert len(orjson.loads(on_disk["events_000000"])["events_000000"]) == 50
        ingest(emulator.store, 7, start=50)  # acknowledged, inside the next flush window
    reopened = EventStore(str(tmp_path), retention=100)
    assert len(reopened) == 57
    reopened.close()
