"""Store files that are valid JSON but not what segemu wrote (issue 13, finding 8), and files cut
short: every document is checked on opening; a bad one is set aside with its file and the
reason, never counted, never the cause of a 500 later; a truncated chunk keeps every complete
document before the damage."""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest

from segemu import create_emulator
from segemu.http.server import start_server
from segemu.jsonlimits import RECORD_DEPTH
from segemu.store import EventStore
from tests.conftest import get_json
from tests.http.test_nesting import nested
from tests.test_cli import Process, batch
from tests.test_store import ingest, open_store

Document = dict[str, Any]


def chunk(directory: Path, number: int = 0) -> Path:
    return directory / f"events_{number:06d}.json"


def rewrite(path: Path, change: Callable[[dict[str, Document]], None]) -> None:
    content = orjson.loads(path.read_bytes())
    change(content[path.stem])
    path.write_bytes(orjson.dumps(content))


def aside(directory: Path, name: str) -> list[Path]:
    return sorted(directory.glob(f"{name}.corrupt-*"))


def test_a_reset_file_with_wrong_types_is_set_aside_not_a_traceback(tmp_path: Path) -> None:
    # Issue 13, finding 8, exactly: this stopped `segemu run` with a raw traceback.
    first = Process("-p", "0", "-q", cwd=tmp_path)
    assert first.post("/v1/batch", batch(0, 10)) == 200
    first.stop()
    db = tmp_path / ".segemu" / "db"
    resets = b'{"resets":{"1":{"writeKey":[1],"beforeId":1000000000}}}'
    (db / "resets.json").write_bytes(resets)

    second = Process("-p", "0", "-q", cwd=tmp_path)
    assert "(10 loaded)" in "".join(second.banner)
    assert second.get("/_segemu/summary")["stored"] == 10
    _, err = second.stop(signal.SIGTERM)
    assert second.popen.returncode == 0, err
    assert "Traceback" not in err
    assert "resets.json holds documents that are not segemu records" in err
    assert "document 1: writeKey is an array, not a string or null" in err
    [kept] = aside(db, "resets.json")
    assert kept.read_bytes() == resets
    assert orjson.loads((db / "resets.json").read_bytes()) == {"resets": {}}


BAD_RECORDS: dict[str, tuple[Callable[[Document], None], str]] = {
    "missing fields": (lambda doc: doc.pop("receivedAt"), "it has no receivedAt"),
    "non-object event": (lambda doc: doc.update(event=["x"]), "event is an array"),
    "unknown status": (lambda doc: doc.update(status="weird"), "status 'weird' is not one of"),
    "list messageId": (lambda doc: doc.update(messageId=[1]), "messageId is an array"),
    "no type on an accepted record": (
        lambda doc: doc.update(type=None),
        "an accepted record of type None",
    ),
    "string properties": (
        lambda doc: doc["event"].update(properties="x"),
        "event.properties is a string",
    ),
    "bad violations": (lambda doc: doc.update(violations=[1]), "violations is not a list"),
    "bad routing": (lambda doc: doc.update(routing={"mixpanel": "x"}), "routing is not an object"),
    "id in the wrong chunk": (lambda doc: doc.update(id=5000), "id 5000 belongs in another chunk"),
    "a boolean id": (lambda doc: doc.update(id=True), "id is a boolean"),
    # Found by one pass of the encoder over the chunk, then a walk of each record.
    "nested too deep": (
        lambda doc: doc["event"].update(properties={"deep": nested(RECORD_DEPTH)}),
        f"it nests more than {RECORD_DEPTH} levels",
    ),
}


@pytest.mark.parametrize("damage", list(BAD_RECORDS), ids=list(BAD_RECORDS))
async def test_a_bad_record_is_set_aside_and_every_page_still_answers(
    tmp_path: Path, http: aiohttp.ClientSession, damage: str
) -> None:
    # Issue 13, finding 8: these loaded silently, then failed /_segemu/summary or an events
    # page with a 500, or (the list messageId) were reported skipped but counted as stored.
    change, reason = BAD_RECORDS[damage]
    store = open_store(tmp_path)
    ingest(store, 10)
    store.close()
    rewrite(chunk(tmp_path), lambda table: change(table["4"]))

    running = await start_server(create_emulator(db=str(tmp_path)), "127.0.0.1", 0)
    try:
        summary = await get_json(http, f"{running.url}/_segemu/summary")
        assert summary["stored"] == 9
        assert sum(summary["byStatus"].values()) == 9
        [problem] = summary["storeProblems"]
        assert "events_000000.json holds documents that are not segemu records" in problem
        assert "document 4: " in problem
        assert reason in problem
        assert "its 9 intact documents loaded" in problem
        listed = await get_json(http, f"{running.url}/_segemu/events?limit=100")
        assert [event["messageId"] for event in listed["events"]] == [
            f"m{i}"
            for i in (9, 8, 7, 6, 5, 4, 2, 1, 0)  # document 4 held m3
        ]
        for path in ("/violations?kind=all", "/destinations", "/events?q=type%3Atrack"):
            await get_json(http, f"{running.url}/_segemu{path}")
        # Still writing: a new call is flushed and survives a restart.
        async with http.post(
            f"{running.url}/v1/track",
            json={"event": "After", "userId": "u", "writeKey": "wk", "messageId": "after"},
        ) as response:
            assert response.status == 200
    finally:
        await running.stop()
    [kept] = aside(tmp_path, "events_000000.json")
    assert len(orjson.loads(kept.read_bytes())["events_000000"]) == 10
    again = open_store(tmp_path)
    assert len(again) == 10
    assert again.problems == []  # the chunk was written again without it
    assert "after" in {record["messageId"] for record in again.newest_first()}
    again.close()


def test_a_truncated_chunk_keeps_every_complete_record_before_the_damage(
    tmp_path: Path,
) -> None:
    # Issue 13, finding 8: the intact half of a truncated chunk was set aside with the rest.
    store = open_store(tmp_path)
    ingest(store, 250)
    store.close()
    victim = chunk(tmp_path, 1)
    whole = victim.read_bytes()
    victim.write_bytes(whole[: len(whole) // 2])

    again = open_store(tmp_path)
    on_disk = orjson.loads(whole)["events_000001"]
    kept_ids = {record["id"] for record in again.newest_first() if 100 <= record["id"] < 200}
    assert len(kept_ids) >= 40  # about half of chunk 1's 100 records
    assert kept_ids == {doc["id"] for doc in list(on_disk.values())[: len(kept_ids)]}
    assert len(again) == 150 + len(kept_ids)
    [problem] = again.problems
    assert "events_000001.json is truncated or corrupt" in problem
    assert f"its {len(kept_ids)} intact documents loaded" in problem
    [kept] = aside(tmp_path, "events_000001.json")
    assert kept.read_bytes() == whole[: len(whole) // 2]
    ingest(again, 10, start=1000)
    again.close()
    last = open_store(tmp_path)
    assert len(last) == 160 + len(kept_ids)
    assert last.problems == []
    last.close()


def test_a_table_named_like_a_chunk_is_set_aside(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    ingest(store, 10)
    store.close()
    stray = tmp_path / "events_abc.json"
    stray.write_bytes(chunk(tmp_path).read_bytes().replace(b"events_000000", b"events_abc"))
    again = open_store(tmp_path)
    assert len(again) == 10
    assert "events_abc.json is named like a chunk of events" in again.problems[0]
    assert aside(tmp_path, "events_abc.json")
    ingest(again, 5, start=10)
    assert again.flush() == 5  # the store keeps writing
    again.close()


def test_a_reset_is_not_undone_by_ids_given_again_after_a_restart(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    ingest(store, 5, key="a")
    # Reset before they were ever written: the tombstone hides ids below 6, and no record
    # on disk says that ids 1-5 were given.
    assert store.reset_write_key("a") == 5
    store.close()
    again = open_store(tmp_path)
    assert len(again) == 0
    ingest(again, 3, key="a", start=100)
    again.close()
    last = open_store(tmp_path)
    assert len(last) == 3
    last.close()


def test_the_store_opens_with_no_records_at_all(tmp_path: Path) -> None:
    EventStore(str(tmp_path), retention=10).close()
    again = EventStore(str(tmp_path), retention=10)
    assert (len(again), again.next_id, again.problems) == (0, 1, [])
    again.close()
