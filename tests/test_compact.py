"""Records in compact form (segemu/compact.py) read back exactly as they were stored, key order
included: every call the official SDKs send (tests/data/sdk_requests.json holds the requests
of reference/sdk-captures), batch-level context, rejected and duplicate calls, tracking-plan
violations, lint findings, arrival notes and routing; and the same again after a restart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import aiohttp
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segemu import create_emulator
from segemu.compact import Shapes, decode, encode, indexed_fields
from segemu.http.server import start_server
from segemu.message import Envelope, Record, format_timestamp
from segemu.store import EventStore, _own_facets
from tests.test_store import pipeline_for

DATA = Path(__file__).parent / "data"
PLAN = Path(__file__).parent.parent / "fixtures" / "plans" / "shop.yaml"
SPEC = Path(__file__).parent.parent / "fixtures" / "spec"
RECEIVED = datetime(2026, 11, 22, 4, 21, 28, 500_000, tzinfo=UTC)


def same(stored: Record | None, original: Record) -> None:
    assert stored == original
    # Key order too: every surface shows records as JSON.
    assert orjson.dumps(stored) == orjson.dumps(original)


def round_trip(record: Record) -> Record:
    shapes = Shapes()
    compact = encode(record, shapes)
    indexed_alike(compact, record, shapes)
    return decode(compact, record["id"], shapes)


def indexed_alike(compact: Any, record: Record, shapes: Shapes) -> None:
    """What eviction reads without decoding the whole record is what the record says."""
    light, _shape = indexed_fields(compact, record["id"], shapes)
    assert _own_facets(light) == _own_facets(record)
    assert light["messageId"] == record["messageId"]


def sdk_requests() -> list[dict[str, Any]]:
    requests: list[dict[str, Any]] = orjson.loads((DATA / "sdk_requests.json").read_bytes())
    return requests


async def test_every_sdk_capture_reads_back_as_stored_before_and_after_a_restart(
    tmp_path: Path,
) -> None:
    db = tmp_path / "db"
    emulator = create_emulator(
        db=str(db),
        protocols={"tracking_plan": str(PLAN)},
        destinations={
            "mixpanel": {"preset": "mixpanel"},
            "amplitude": {"preset": "amplitude"},
            "tracks": {
                "actions": [{"name": "Send", "subscribe": 'type = "track"', "mapping": {"e": "x"}}]
            },
        },
    )
    originals: list[Record] = []
    emulator.subscribe(originals.extend)
    running = await start_server(emulator, "127.0.0.1", 0)
    try:
        async with aiohttp.ClientSession() as http:
            for request in sdk_requests():
                async with http.post(
                    running.url + request["path"],
                    data=request["body"].encode(),
                    headers=request["headers"],
                ) as response:
                    assert response.status == 200, await response.text()
            # The same again: every call is now a duplicate of the first.
            for request in sdk_requests()[:3]:
                async with http.post(
                    running.url + request["path"],
                    data=request["body"].encode(),
                    headers={**request["headers"], "X-Retry-Count": "1"},
                ) as response:
                    assert response.status == 200
        assert {r["status"] for r in originals} == {"accepted", "duplicate"}
        assert any(r.get("violations") for r in originals)
        assert {v["status"] for r in originals for v in r.get("routing", {}).values()} >= {
            "delivered",
            "filtered",
        }
        for original in originals:
            same(emulator.store.get(original["id"]), original)
    finally:
        await running.stop()
    reopened = EventStore(str(db), retention=100_000)
    assert len(reopened) == len(originals)
    for original in originals:
        same(reopened.get(original["id"]), original)
    reopened.close()


def ingest(store: EventStore, items: list[Any], **fields: Any) -> list[Record]:
    fields.setdefault("header_write_key", "wk")
    envelope = Envelope(route="/v1/batch", items=items, received_at=RECEIVED, **fields)
    return pipeline_for(store).process(envelope)


CASES: dict[str, tuple[list[Any], dict[str, Any]]] = {
    "batch context under the call's own, in the batch's key order": (
        [{"type": "track", "event": "E", "userId": "u", "context": {"page": {"path": "/"}}}],
        {"context": {"library": {"name": "raw-http"}, "page": {"title": "T"}}, "sent_at": "x"},
    ),
    "batch integrations and client ip": (
        [{"type": "page", "anonymousId": "a", "integrations": {"Mixpanel": False}}],
        {"integrations": {"All": True}, "channel": "client", "ip": "10.0.0.1"},
    ),
    "timestamps: skew corrected, missing, unparsable": (
        [
            {"type": "track", "event": "E", "userId": "u", "timestamp": "2026-11-22T04:21:27Z"},
            {"type": "track", "event": "E", "userId": "u"},
            {"type": "track", "event": "E", "userId": "u", "timestamp": "yesterday"},
            {"type": "track", "event": "E", "userId": "u", "sentAt": "2026-11-22T04:21:28Z"},
        ],
        {"sent_at": "2026-11-22T04:21:28.100Z"},
    ),
    "rejected calls": (
        [
            "not an object",
            None,
            [1, 2],
            {"type": "track", "userId": "u"},
            {"type": "nope", "userId": "u"},
            {"event": "no type"},
            {"type": "track", "event": "E"},
            {"type": "track", "event": "E", "userId": {"an": "object"}},
            {"type": "track", "event": "E", "userId": 42, "properties": [1]},
            {"type": "track", "event": "E", "userId": "u", "messageId": 7},
            {"type": "track", "event": "E", "userId": "u", "messageId": "m" * 120},
            {"type": "group", "userId": "u"},
            {"type": "alias", "userId": "u"},
        ],
        {},
    ),
    "no write key": ([{"type": "track", "event": "E", "userId": "u"}], {"header_write_key": None}),
    "a write key in the body of the call": (
        [{"type": "identify", "userId": "u", "writeKey": "inner", "traits": {"a": 1}}],
        {"header_write_key": None},
    ),
    "values that are equal but not the same type": (
        [
            {
                "type": "track",
                "event": "E",
                "userId": "u",
                "version": 2.0,
                "channel": "server",
                "properties": {"a": 1, "b": 1.0, "c": True, "d": None, "e": [], "f": {}},
            }
        ],
        {},
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_normalized_calls_read_back_as_stored(case: str) -> None:
    items, fields = CASES[case]
    store = EventStore(None, retention=1000)
    for original in ingest(store, items, **fields):
        same(store.get(original["id"]), original)
    store.close()


def test_duplicates_and_arrival_notes_read_back_as_stored() -> None:
    store = EventStore(None, retention=1000)
    call = {"type": "track", "event": "E", "anonymousId": "a", "messageId": "m-1"}
    later = {**call, "messageId": "m-2", "timestamp": "2026-11-22T04:21:28Z"}
    earlier = {**call, "messageId": "m-3", "timestamp": "2026-11-22T04:20:00Z"}
    records = ingest(store, [call, later, earlier], channel="client")
    records += ingest(store, [call], channel="client", retry_count=2)
    assert records[-1]["status"] == "duplicate"
    assert "arrival" in records[-1]
    assert "outOfOrder" in records[2]["arrival"]
    for original in records:
        same(store.get(original["id"]), original)


def test_the_spec_events_with_a_tracking_plan_and_lint_read_back_as_stored() -> None:
    emulator = create_emulator(db=":memory:", protocols={"tracking_plan": str(PLAN)})
    calls = [
        {"userId": "u_1", **orjson.loads(line)}
        for path in sorted(SPEC.glob("*.jsonl"))
        for line in path.read_text().splitlines()
        if line.strip()
    ]
    envelope = Envelope(route="/v1/batch", items=calls, received_at=RECEIVED, header_write_key="wk")
    records = emulator.ingest(envelope)
    assert any(r.get("violations") for r in records)
    assert any(r.get("lint") for r in records)
    for original in records:
        same(emulator.store.get(original["id"]), original)


def test_routing_and_fields_the_store_does_not_know_read_back_as_stored() -> None:
    record: Any = {
        "id": 7,
        "messageId": "m",
        "writeKey": "wk",
        "type": "track",
        "status": "accepted",
        "reason": None,
        "receivedAt": format_timestamp(RECEIVED),
        "route": "/v1/track",
        "raw": {"event": "E", "userId": "u"},
        "event": {"event": "E", "userId": "u", "type": "track", "messageId": "m"},
        "warnings": [],
        "source": "web",
        "routing": {
            "mixpanel": {"status": "delivered", "reason": None},
            "amplitude": {"status": "filtered", "reason": "integrations object"},
        },
        "profile": {"segmentId": "s1", "changes": [{"trait": "plan"}]},
    }
    same(round_trip(record), record)
    # Records that share everything but their own values share one shape.
    shapes = Shapes()
    for number in range(100):
        encode(cast(Record, {**record, "id": number, "messageId": f"m{number}"}), shapes)
    assert len(shapes) == 1


def test_a_record_orjson_cannot_encode_is_kept_as_it_is() -> None:
    deep: Any = []
    for _ in range(300):
        deep = [deep]
    store = EventStore(None, retention=10)
    [original] = ingest(store, [{"type": "track", "event": "E", "userId": "u", "p": deep}])
    assert store.get(original["id"]) is original


def test_records_read_back_as_stored_after_retention_and_resets(tmp_path: Path) -> None:
    store = EventStore(str(tmp_path), retention=150, chunk_size=40)
    records: list[Record] = []
    for number in range(10):
        items = [
            {"type": "track", "event": f"E{i % 3}", "userId": f"u{i % 7}", "messageId": f"{i}"}
            for i in range(number * 30, number * 30 + 30)
        ]
        records += ingest(store, items, header_write_key=f"k{number % 3}")
        store.flush()
    store.reset_write_key("k1")
    kept = {r["id"]: r for r in records[-150:] if r["writeKey"] != "k1"}
    assert [r["id"] for r in store.newest_first()] == sorted(kept, reverse=True)
    for record in store.newest_first():
        same(record, kept[record["id"]])
    store.close()
    again = EventStore(str(tmp_path), retention=150, chunk_size=40)
    # Records retention dropped that are still in a chunk file may come back: the reset made
    # room for them under the retention limit.
    everything = {r["id"]: r for r in records}
    assert set(kept) <= {r["id"] for r in again.newest_first()}
    for record in again.newest_first():
        same(record, everything[record["id"]])
    again.close()


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=20,
)
field_names = st.sampled_from(
    [
        "type",
        "event",
        "userId",
        "anonymousId",
        "messageId",
        "timestamp",
        "sentAt",
        "context",
        "integrations",
        "properties",
        "traits",
        "writeKey",
        "channel",
        "version",
        "groupId",
        "previousId",
        "receivedAt",
        "originalTimestamp",
        "name",
    ]
)
calls = st.dictionaries(field_names | st.text(max_size=6), json_values, max_size=10) | json_values


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    items=st.lists(calls, min_size=1, max_size=4),
    context=json_values,
    integrations=json_values,
    sent_at=st.sampled_from([None, "2026-11-22T04:21:28.100Z", "bad", 5]),
    channel=st.sampled_from(["server", "client"]),
    skew=st.integers(-5000, 5000),
)
def test_any_call_reads_back_as_stored(
    items: list[Any],
    context: Any,
    integrations: Any,
    sent_at: Any,
    channel: Any,
    skew: int,
) -> None:
    store = EventStore(None, retention=100)
    envelope = Envelope(
        route="/v1/batch",
        items=items,
        received_at=RECEIVED + timedelta(milliseconds=skew),
        header_write_key="wk",
        context=context,
        integrations=integrations,
        sent_at=sent_at,
        channel=channel,
        ip="10.1.2.3",
    )
    for original in pipeline_for(store).process(envelope):
        same(store.get(original["id"]), original)
        round_trip(original)


def test_calls_alike_but_for_one_value_each_read_back_as_stored() -> None:
    # Patches are remembered for calls with the same keys; one remembered for a server call
    # (channel "server", a timestamp copied) must not be taken for a browser call or for a
    # call whose timestamp normalization changed.
    store = EventStore(None, retention=100)
    pipeline = pipeline_for(store)
    call = {"type": "track", "event": "E", "userId": "u", "timestamp": "2026-11-22T04:21:28.000Z"}
    for channel, timestamp in [
        ("server", "2026-11-22T04:21:28.000Z"),
        ("client", "2026-11-22T04:21:28.000Z"),
        ("server", "2026-11-22T04:21:28+01:00"),
        ("server", "not a time"),
    ]:
        envelope = Envelope(
            route="/v1/batch",
            items=[{**call, "timestamp": timestamp}],
            received_at=RECEIVED,
            header_write_key="wk",
            channel=channel,  # type: ignore[arg-type]
        )
        for original in pipeline.process(envelope):
            same(store.get(original["id"]), original)
