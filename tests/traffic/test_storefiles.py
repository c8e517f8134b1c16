"""Reading a store's chunk files for export and replay skips what the store itself would set
aside when it opens (record_check.py), the depth of a whole chunk settled in one pass."""

from __future__ import annotations

from pathlib import Path

from segemu.jsonlimits import RECORD_DEPTH
from segemu.traffic.storefiles import StoreFiles
from tests.http.test_nesting import nested
from tests.test_store import ingest, open_store
from tests.test_store_damage import chunk, rewrite


def test_a_record_nested_too_deep_is_skipped_and_counted(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    ingest(store, 10)
    store.close()
    rewrite(chunk(tmp_path), lambda table: table["4"]["event"].update(deep=nested(RECORD_DEPTH)))

    files = StoreFiles(tmp_path)
    read = [record["messageId"] for record in files.records()]
    assert read == [f"m{i}" for i in range(10) if i != 3]  # document 4 held m3
    assert files.skipped == 1


def test_a_chunk_within_the_limit_is_read_whole(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    ingest(store, 10)
    store.close()
    files = StoreFiles(tmp_path)
    assert len(list(files.records())) == 10
    assert files.skipped == 0
