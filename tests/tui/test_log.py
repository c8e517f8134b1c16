"""What the event table holds (segemu/tui/log.py), on its own: counts, filter, pause,
retention, and records that go away."""

from __future__ import annotations

from typing import Any

from segemu.message import Record
from segemu.query import parse_query
from segemu.tui.log import EventLog


def record(
    record_id: int, status: str = "accepted", key: str = "k1", event: str = "Signed Up"
) -> Record:
    data: dict[str, Any] = {
        "id": record_id,
        "messageId": f"m{record_id}",
        "writeKey": key,
        "type": "track",
        "status": status,
        "reason": None,
        "receivedAt": "2026-11-22T09:30:00.000Z",
        "route": "/v1/track",
        "raw": {},
        "event": {"event": event},
        "warnings": [],
    }
    return data  # type: ignore[return-value]


def log_of(store: dict[int, Record], retention: int = 100) -> EventLog:
    return EventLog(store.get, retention)


def test_counts_filter_and_rows_newest_first() -> None:
    store = {
        i: record(
            i,
            "rejected" if i == 2 else "accepted",
            "k2" if i == 3 else "k1",
            "Order Completed" if i % 2 else "Signed Up",
        )
        for i in range(1, 5)
    }
    log = log_of(store)
    assert log.add(list(store.values())) == 4
    assert dict(log.statuses) == {"accepted": 3, "rejected": 1}
    assert dict(log.write_keys) == {"k1": 3, "k2": 1}
    assert [log.shown_newest_first(row)["id"] for row in range(4)] == [4, 3, 2, 1]  # type: ignore[index]
    log.set_filter(parse_query('event:"Order Completed"'))
    assert log.shown == [1, 3]
    assert log.row_of(3) == 0
    assert log.row_of(2) is None
    store[5] = record(5, event="Order Completed")
    store[6] = record(6)
    assert log.add([store[5], store[6]]) == 1
    assert log.shown == [1, 3, 5]
    # Records seen twice (history overlapping live ones) count once.
    assert log.add([store[6]]) == 0
    assert len(log) == 6


def test_pause_holds_records_until_resumed() -> None:
    store = {i: record(i) for i in range(1, 4)}
    log = log_of(store)
    log.add([store[1]])
    log.pause()
    assert log.add([store[2], store[3]]) == 0
    assert log.shown == [1]
    assert len(log.held) == 2
    assert log.resume() == 2
    assert log.shown == [1, 2, 3]
    assert not log.held


def test_retention_drops_the_oldest_and_their_counts() -> None:
    store = {i: record(i, key=f"k{i}") for i in range(1, 6)}
    log = log_of(store, retention=3)
    log.add(list(store.values()))
    assert log.ids == [3, 4, 5]
    assert log.shown == [3, 4, 5]
    assert dict(log.write_keys) == {"k3": 1, "k4": 1, "k5": 1}


def test_prune_forgets_records_the_backend_no_longer_has() -> None:
    store = {i: record(i, "duplicate" if i == 4 else "accepted") for i in range(1, 7)}
    log = log_of(store)
    log.add(list(store.values()))
    del store[1], store[2]  # retention, oldest first
    del store[4]  # a reset of one write key
    assert log.prune() == 3
    assert log.ids == [3, 5, 6]
    assert log.shown == [3, 5, 6]
    assert dict(log.statuses) == {"accepted": 3}


def test_clear_forgets_everything_shown() -> None:
    store = {i: record(i) for i in range(1, 3)}
    log = log_of(store)
    log.add(list(store.values()))
    log.clear()
    assert len(log) == 0
    assert not log.shown
    assert not log.statuses
    assert list(log.newest_first()) == []
