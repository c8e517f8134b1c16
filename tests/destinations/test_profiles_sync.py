"""Profiles Sync's tables in the warehouse destination, field for field: segment-docs
src/unify/profiles-sync/tables.md's own case study (an anonymous visit, a sign-up with an email,
a second anonymous visit, a webinar sign-up that merges the two profiles) through a running
emulator, and the rows of one call built from a given identity outcome."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from segemu import create_emulator
from segemu.destinations.profiles_sync import profiles_sync_rows
from segemu.destinations.warehouse import WarehouseTables
from segemu.emulator import Emulator
from segemu.message import Envelope

RECEIVED = datetime(2022, 6, 22, 11, 0, tzinfo=UTC)
RECEIVED_AT = "2022-06-22T11:00:00.000Z"
LOADED_AT = "2026-01-01T00:00:00.000Z"

# tables.md, "Case study: anonymous site visits lead to profile merge".
CASE_STUDY: list[dict[str, Any]] = [
    {
        "type": "page",
        "messageId": "event_1",
        "anonymousId": "5285bc35-05ef-4d21",
        "context": {"page": {"url": "twilio.com"}},
        "timestamp": "2022-05-02T14:01:00.000Z",
    },
    {
        "type": "identify",
        "messageId": "event_2",
        "anonymousId": "5285bc35-05ef-4d21",
        "traits": {"email": "jane.kim@segment.com"},
        "context": {"page": {"url": "twilio.com/try-twilio"}},
        "timestamp": "2022-05-02T14:01:47.000Z",
    },
    {
        "type": "page",
        "messageId": "event_3",
        "anonymousId": "b50e18a5-1b8d-451c",
        "context": {"page": {"url": "twilio.com/education"}},
        "timestamp": "2022-06-22T10:47:15.000Z",
    },
    {
        "type": "identify",
        "messageId": "event_4",
        "anonymousId": "b50e18a5-1b8d-451c",
        "traits": {"email": "jane.kim@segment.com"},
        "context": {"page": {"url": "twilio.com/events/webinars"}},
        "timestamp": "2022-06-22T10:48:00.000Z",
    },
]


def warehouse_tables(emulator: Emulator, calls: list[dict[str, Any]]) -> WarehouseTables:
    records = emulator.ingest(
        Envelope(route="/v1/batch", items=calls, received_at=RECEIVED, header_write_key="wk")
    )
    tables = WarehouseTables()
    for record in records:
        delivery = emulator.with_deliveries(record)["deliveries"]["warehouse"]
        tables.load(r for r in delivery["requests"] if r["action"] == "profiles_sync")
    return tables


def stable(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in row.items() if k != "uuid_ts"} for row in rows]


def sha1(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def test_the_case_study_of_tables_md() -> None:
    emulator = create_emulator(db=":memory:")
    tables = warehouse_tables(emulator, [dict(call) for call in CASE_STUDY])
    profile_1 = emulator.identity.profile("email:jane.kim@segment.com")
    assert profile_1 is not None
    p1 = profile_1.segment_id
    (p2,) = profile_1.merged
    # Profiles Sync's schema is the space's name ("default": a reserved word, so `_default`).
    assert set(tables.tables) == {
        f"_default.{table}"
        for table in (
            "id_graph_updates",
            "external_id_mapping_updates",
            "profile_traits_updates",
            "user_identifiers",
            "user_traits",
            "profile_merges",
        )
    }

    # tables.md's three id_graph_updates entries: two creations, then profile_2 into profile_1.
    graph = stable(tables.table("id_graph_updates"))
    assert [
        (
            r["segment_id"],
            r["canonical_segment_id"],
            r["triggering_event_type"],
            r["triggering_event_id"],
            r["timestamp"],
        )
        for r in graph
    ] == [
        (p1, p1, "page", "event_1", "2022-05-02T14:01:00.000Z"),
        (p2, p2, "page", "event_3", "2022-06-22T10:47:15.000Z"),
        (p2, p1, "identify", "event_4", "2022-06-22T10:48:00.000Z"),
    ]
    assert graph[0] == {
        "id": sha1(f"event_1created{p1}"),
        "segment_id": p1,
        "canonical_segment_id": p1,
        "triggering_event_type": "page",
        "triggering_event_id": "event_1",
        "seq": 1651500060000,
        "received_at": RECEIVED_AT,
        "timestamp": "2022-05-02T14:01:00.000Z",
    }

    # tables.md's three external_id_mapping_updates entries, each on the profile it was first
    # seen on; every column of the first, as the table's field list names them.
    mapping = stable(tables.table("external_id_mapping_updates"))
    assert [
        (r["segment_id"], r["external_id_type"], r["external_id_value"], r["triggering_event_id"])
        for r in mapping
    ] == [
        (p1, "anonymous_id", "5285bc35-05ef-4d21", "event_1"),
        (p1, "email", "jane.kim@segment.com", "event_2"),
        (p2, "anonymous_id", "b50e18a5-1b8d-451c", "event_3"),
    ]
    external_hash = sha1("anonymous_id5285bc35-05ef-4d21")  # sample-queries.md, FAQ
    assert mapping[0] == {
        "external_id_hash": external_hash,
        "external_id_type": "anonymous_id",
        "external_id_value": "5285bc35-05ef-4d21",
        "id": sha1(f"event_1added{external_hash}"),
        "received_at": RECEIVED_AT,
        "segment_id": p1,
        "seq": 1651500060000,
        "timestamp": "2022-05-02T14:01:00.000Z",
        "triggering_event_id": "event_1",
        "triggering_event_source_id": "default",
        "triggering_event_source_name": "default",
        "triggering_event_source_slug": "_default",
        "triggering_event_type": "page",
    }

    # Each identify with traits: one profile_traits_updates row, a column per trait.
    assert stable(tables.table("profile_traits_updates")) == [
        {
            "id": sha1(f"event_2traits{p1}"),
            "segment_id": p1,
            "seq": 1651500107000,
            "received_at": RECEIVED_AT,
            "timestamp": "2022-05-02T14:01:47.000Z",
            "email": "jane.kim@segment.com",
        },
        {
            "id": sha1(f"event_4traits{p1}"),
            "segment_id": p1,
            "seq": 1655894880000,
            "received_at": RECEIVED_AT,
            "timestamp": "2022-06-22T10:48:00.000Z",
            "email": "jane.kim@segment.com",
        },
    ]

    # The materialised tables after the merge: everything belongs to profile_1.
    assert stable(tables.table("profile_merges")) == [
        {
            "canonical_segment_id": p1,
            "segment_id": p1,
            "seq": 1651500060000,
            "received_at": RECEIVED_AT,
            "timestamp": "2022-05-02T14:01:00.000Z",
        },
        {
            "canonical_segment_id": p1,
            "segment_id": p2,
            "seq": 1655894835000,
            "received_at": RECEIVED_AT,
            "timestamp": "2022-06-22T10:47:15.000Z",
        },
    ]
    assert [
        (r["canonical_segment_id"], r["type"], r["value"], r["timestamp"])
        for r in tables.table("user_identifiers")
    ] == [
        (p1, "anonymous_id", "5285bc35-05ef-4d21", "2022-05-02T14:01:00.000Z"),
        (p1, "email", "jane.kim@segment.com", "2022-05-02T14:01:47.000Z"),
        (p1, "anonymous_id", "b50e18a5-1b8d-451c", "2022-06-22T10:47:15.000Z"),
    ]
    assert stable(tables.table("user_traits")) == [
        {
            "canonical_segment_id": p1,
            "name": "email",
            "value": "jane.kim@segment.com",
            "seq": seq,
            "received_at": RECEIVED_AT,
            "timestamp": timestamp,
        }
        for seq, timestamp in (
            (1651500107000, "2022-05-02T14:01:47.000Z"),
            (1655894880000, "2022-06-22T10:48:00.000Z"),
        )
    ]


def test_a_refused_merge_and_a_blocked_value_change_no_table() -> None:
    emulator = create_emulator(db=":memory:")
    warehouse_tables(emulator, [{"type": "identify", "userId": "u1", "anonymousId": "laptop"}])
    # A second user on the shared laptop: user_id allows 1, so the anonymous id is not used;
    # a new profile is created for u2 and nothing of u1's moves.
    tables = warehouse_tables(
        emulator,
        [
            {"type": "identify", "userId": "u2", "anonymousId": "laptop"},
            {"type": "identify", "userId": "null", "traits": {"plan": "pro"}},
        ],
    )
    u2 = emulator.identity.profile("user_id:u2")
    assert u2 is not None
    assert [r["canonical_segment_id"] for r in tables.table("id_graph_updates")] == [u2.segment_id]
    assert [(r["type"], r["value"]) for r in tables.table("user_identifiers")] == [
        ("user_id", "u2")
    ]
    assert "_default.profile_traits_updates" not in tables.tables  # "null" joined no profile


def test_rows_of_one_call_from_its_identity_outcome() -> None:
    event = {
        "type": "track",
        "event": "Order Completed",
        "messageId": "m-1",
        "timestamp": "2025-03-01T12:00:00.000Z",
        "receivedAt": "2025-03-01T12:00:01.000Z",
    }
    identity = {
        "space": "Web Store",
        "segment_id": "use_b",
        "changes": [
            {"action": "merged", "from": "use_a", "into": "use_b", "by": "user_id:u1"},
            {
                "action": "added",
                "segment_id": "use_b",
                "type": "ga_client_id",
                "id": "GA1.2.3",
                "external_id": "ga_client_id:GA1.2.3",
            },
            {"action": "refused", "type": "user_id", "id": "u9", "reason": "user_id allows 1"},
        ],
    }
    rows = profiles_sync_rows(event, identity, LOADED_AT, "Web Store")
    assert [(row.table, row.method) for row in rows] == [
        ("id_graph_updates", "INSERT"),
        ("user_identifiers", "UPDATE"),
        ("user_traits", "UPDATE"),
        ("profile_merges", "UPDATE"),
        ("external_id_mapping_updates", "INSERT"),
        ("user_identifiers", "INSERT"),
    ]
    assert rows[1].columns == {
        "where": {"canonical_segment_id": "use_a"},
        "set": {"canonical_segment_id": "use_b"},
    }
    mapping = rows[4].columns
    assert mapping["triggering_event_name"] == "Order Completed"
    assert mapping["triggering_event_source_slug"] == "web_store"
    assert mapping["segment_id"] == "use_b"
    assert mapping["uuid_ts"] == LOADED_AT
    assert rows[5].columns == {
        "canonical_segment_id": "use_b",
        "type": "ga_client_id",
        "value": "GA1.2.3",
        "seq": 1740830400000,
        "received_at": "2025-03-01T12:00:01.000Z",
        "uuid_ts": LOADED_AT,
        "timestamp": "2025-03-01T12:00:00.000Z",
    }


def test_profiles_sync_can_be_turned_off_or_given_a_schema() -> None:
    call = {"type": "identify", "userId": "u1", "traits": {"plan": "pro"}}
    off = create_emulator(
        db=":memory:", destinations={"warehouse": {"settings": {"profiles_sync": False}}}
    )
    assert warehouse_tables(off, [dict(call)]).tables == {}
    named = create_emulator(
        db=":memory:", destinations={"warehouse": {"settings": {"profiles_schema": "ps_segment"}}}
    )
    assert {name.split(".")[0] for name in warehouse_tables(named, [dict(call)]).tables} == {
        "ps_segment"
    }
