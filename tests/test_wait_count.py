"""A wait counts up to 1,000 matching records and shows the newest 100: where the indexes
answer a filter exactly, it counts from them and decodes only what it shows. Either way the
answer is what matching every stored record gives (DESIGN.md "Bounded work")."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

import segemu.emulator
from segemu.emulator import Emulator, create_emulator
from segemu.message import Envelope
from segemu.query import EventFilter, parse_query, select
from tests.test_scan import _turns_during, send


def ingest(emulator: Emulator, key: str | None, items: list[dict[str, Any]]) -> None:
    emulator.ingest(
        Envelope(
            route="/v1/batch", items=items, header_write_key=key, received_at=datetime.now(UTC)
        )
    )


@pytest.fixture(scope="module")
def emulator() -> Emulator:
    emulator = create_emulator(db=":memory:")
    for n in range(60):
        ingest(
            emulator,
            "wk" if n % 3 else "other",
            [
                {"type": "track", "event": "Order Completed", "userId": f"u{n % 4}"},
                {"type": "identify", "anonymousId": f"a{n % 5}"},
                # Names that are lists (calls Segment drops): the indexes hold them under each
                # text inside, as queries match them; structured filters do not.
                {"type": "track", "event": ["Order Completed"], "userId": ["u1", ["u2"]]},
                {"type": "track", "event": "Order Completed", "anonymousId": [["a1"]]},
                {"type": "track", "userId": "u1"},  # no event name: rejected
                {"type": "page", "name": "Home", "userId": "u3", "messageId": f"m{n % 2}"},
            ],
        )
    return emulator


FILTERS = [
    EventFilter(),
    EventFilter(type="track"),
    EventFilter(status="rejected"),
    EventFilter(write_key="wk", type="page"),
    EventFilter(type="track", before_id=200),
    EventFilter(event="Order Completed"),
    EventFilter(user_id="u1"),
    EventFilter(anonymous_id="a1"),
    EventFilter(query=parse_query("user:u1")),
    EventFilter(query=parse_query("user:u2")),
    EventFilter(query=parse_query('event:"Order Completed" type:track')),
    EventFilter(query=parse_query("anon:a1")),
    EventFilter(query=parse_query("type:track user:u1 status:rejected")),
    EventFilter(query=parse_query("messageId:m1")),
    EventFilter(query=parse_query("writeKey:other type:page")),
    EventFilter(query=parse_query("type:track type:identify")),
    EventFilter(query=parse_query("type:track OR type:page")),
    EventFilter(query=parse_query("-type:track")),
    EventFilter(query=parse_query("type:track name:Home")),
    EventFilter(type="page", query=parse_query("type:track")),
    EventFilter(write_key="wk", query=parse_query("user:u3")),
]


@pytest.mark.parametrize("where", FILTERS, ids=str)
@pytest.mark.parametrize(("count", "shown"), [(1, 5), (50, 100), (2000, 3)])
async def test_a_wait_answers_what_matching_every_record_gives(
    emulator: Emulator, where: EventFilter, count: int, shown: int
) -> None:
    matching = select(emulator.store.newest_first(), where)
    waited = await emulator.wait(where, count, 0, shown)
    assert waited.count == min(len(matching), max(count, 1000))
    assert [r["id"] for r in waited.newest] == [r["id"] for r in matching[:shown]]
    assert waited.newest == matching[:shown]


def test_only_a_filter_the_indexes_answer_exactly_is_counted_from_them() -> None:
    def answered(**fields: Any) -> bool:
        if "q" in fields:
            fields["query"] = parse_query(fields.pop("q"))
        return EventFilter(**fields).answered_by_indexes

    assert answered()
    assert answered(type="track", write_key="wk", status="accepted", before_id=9)
    assert answered(q='user:u1 event:"Order Completed" anon:a messageId:m type:track')
    assert answered(type="track", q="user:u1")
    assert not answered(user_id="u1")  # a list holding "u1" is indexed under it, unmatched
    assert not answered(since=datetime.now(UTC))
    assert not answered(q="user:u1 properties.n:1")
    assert not answered(q="type:track type:page")
    assert not answered(type="page", q="type:track")
    assert not answered(q="user:u1 OR user:u2")
    assert not answered(q="user:u*")
    assert not answered(q="user:1")


async def test_counting_from_the_indexes_pauses_between_slices(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(segemu.emulator, "SCAN_SLICE_SECONDS", 0.0)  # a pause every 256 ids
    emulator = create_emulator(db=":memory:")
    send(emulator, 1000)
    where = EventFilter(type="track")
    waited, turns = await _turns_during(emulator.wait(where, 5000, 0, 3))
    assert waited.count == 1000
    assert [r["id"] for r in waited.newest] == emulator.store.ids(type="track", limit=3)
    assert turns >= 3
