"""The identity stage through an in-process emulator: Segment's flat matching logic, limits,
priority and blocked values (segment-docs src/unify/identity-resolution/
identity-resolution-settings.md), and what each call records."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import pytest

from segemu.config import ConfigError
from segemu.emulator import Emulator, create_emulator
from segemu.identity import ProfileChange
from segemu.message import Envelope, Record


def send(emulator: Emulator, *items: dict[str, Any], key: str = "wk") -> list[Record]:
    return emulator.ingest(
        Envelope(
            route="/v1/batch",
            items=list(items),
            header_write_key=key,
            received_at=datetime.now(UTC),
        )
    )


def call(kind: str = "track", **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"type": kind}
    if kind == "track":
        base["event"] = "Viewed"
    return {**base, **fields}


@pytest.fixture
def emulator() -> Emulator:
    return create_emulator(db=":memory:")


def test_an_unknown_identifier_creates_a_profile_and_each_call_records_it(
    emulator: Emulator,
) -> None:
    [record] = send(emulator, call(anonymousId="a1"))
    identity = record["identity"]
    assert identity["segment_id"].startswith("use_")
    assert len(identity["segment_id"]) == 31
    assert [c["action"] for c in identity["changes"]] == ["created", "added"]
    assert identity["changes"][1]["external_id"] == "anonymous_id:a1"
    [again] = send(emulator, call(anonymousId="a1"))
    assert again["identity"] == {
        "space": "default",
        "segment_id": identity["segment_id"],
        "changes": [],
    }


def test_anonymous_calls_then_identify_join_one_profile_with_traits(emulator: Emulator) -> None:
    send(emulator, call("page", anonymousId="a1"), call(anonymousId="a1"))
    [identify] = send(
        emulator, call("identify", anonymousId="a1", userId="u1", traits={"plan": "pro"})
    )
    changes = identify["identity"]["changes"]
    assert changes == [
        {
            "action": "added",
            "segment_id": identify["identity"]["segment_id"],
            "type": "user_id",
            "id": "u1",
            "external_id": "user_id:u1",
        }
    ]
    profile = emulator.identity.profile("user_id:u1")
    assert profile is not None
    assert profile is emulator.identity.profile("anonymous_id:a1")
    assert profile.trait_values() == {"plan": "pro"}
    assert [r["type"] for r in emulator.identity.events(profile)] == ["page", "track", "identify"]


def test_a_call_matching_two_profiles_merges_them_into_the_older(emulator: Emulator) -> None:
    [first] = send(emulator, call(anonymousId="a1"))
    [second] = send(emulator, call("identify", userId="u1", traits={"email": "x@y.z"}))
    [joined] = send(emulator, call(anonymousId="a1", userId="u1"))
    older, newer = first["identity"]["segment_id"], second["identity"]["segment_id"]
    merges = [c for c in joined["identity"]["changes"] if c["action"] == "merged"]
    assert merges == [{"action": "merged", "from": newer, "into": older, "by": "user_id:u1"}]
    assert joined["identity"]["segment_id"] == older
    profile = emulator.identity.profile(f"segment_id:{newer}")
    assert profile is not None
    assert profile.segment_id == older
    assert profile.merged == [newer]
    assert sorted(e.key for e in profile.external_ids.values()) == [
        "anonymous_id:a1",
        "email:x@y.z",
        "user_id:u1",
    ]


def test_a_second_user_on_a_shared_device_is_refused_not_merged(emulator: Emulator) -> None:
    send(emulator, call("identify", anonymousId="device", userId="u1"))
    [second] = send(emulator, call("identify", anonymousId="device", userId="u2"))
    [refused] = [c for c in second["identity"]["changes"] if c["action"] == "refused"]
    assert refused["external_id"] == "anonymous_id:device"
    assert "user_id allows 1" in refused["reason"]
    assert "2 user_id values (u1, u2)" in refused["reason"]
    u1 = emulator.identity.profile("user_id:u1")
    u2 = emulator.identity.profile("user_id:u2")
    assert u1 is not None
    assert u2 is not None
    assert u1 is not u2
    assert emulator.identity.profile("anonymous_id:device") is u1
    assert "anonymous_id:device" not in {e.key for e in u2.external_ids.values()}


def test_blocked_values_merge_no_one(emulator: Emulator) -> None:
    send(emulator, call(userId="null", anonymousId="a1"), call(userId="null", anonymousId="a2"))
    [record] = send(emulator, call(userId="0", anonymousId="a3"))
    assert record["identity"]["changes"][0] == {
        "action": "blocked",
        "type": "user_id",
        "id": "0",
        "external_id": "user_id:0",
        "reason": "'0' is blocked (zeroes and dashes, Segment's suggested ^[0-]*$)",
    }
    assert emulator.identity.profile("user_id:null") is None
    ids = {emulator.identity.profile(f"anonymous_id:a{n}") for n in (1, 2, 3)}
    assert len(ids) == 3


def test_device_ids_ga_client_id_external_ids_and_custom_identifiers() -> None:
    emulator = create_emulator(db=":memory:", spaces={"default": {"identifiers": ["phone"]}})
    [record] = send(
        emulator,
        call(
            userId="u1",
            properties={"phone": "555-0100"},
            integrations={"Google Analytics": {"clientId": "GA1.2"}},
            context={
                "device": {
                    "type": "ios",
                    "id": "dev-1",
                    "advertisingId": "ad-1",
                    "adTrackingEnabled": True,
                    "token": "push-1",
                },
                "externalIds": [
                    {"id": "sh-9", "type": "Shopify_ID", "collection": "users", "encoding": "none"}
                ],
            },
        ),
    )
    added = {c["external_id"] for c in record["identity"]["changes"] if c["action"] == "added"}
    assert added == {
        "user_id:u1",
        "ios.id:dev-1",
        "ios.idfa:ad-1",
        "ios.push_token:push-1",
        "ga_client_id:GA1.2",
        "shopify_id:sh-9",
        "phone:555-0100",
    }
    assert emulator.identity.profile("phone:555-0100") is emulator.identity.profile("user_id:u1")


def test_alias_links_a_previous_id_and_is_refused_over_the_user_id_limit(
    emulator: Emulator,
) -> None:
    send(emulator, call(anonymousId="crm-42"), call(userId="u1"))
    [alias] = send(emulator, call("alias", userId="u1", previousId="crm-42"))
    assert [c["action"] for c in alias["identity"]["changes"]] == ["merged"]
    assert emulator.identity.profile("anonymous_id:crm-42") is emulator.identity.profile(
        "user_id:u1"
    )
    send(emulator, call(userId="crm-7"), call(userId="u7"))
    [refused] = send(emulator, call("alias", userId="u7", previousId="crm-7"))
    reasons = [c for c in refused["identity"]["changes"] if c["action"] == "refused"]
    assert reasons[-1]["external_id"] == "user_id:crm-7"
    assert emulator.identity.profile("user_id:crm-7") is not emulator.identity.profile("user_id:u7")


def test_group_links_the_user_to_an_account_with_group_traits(emulator: Emulator) -> None:
    [group] = send(emulator, call("group", userId="u1", groupId="g1", traits={"name": "Acme"}))
    account = emulator.identity.profile("group_id:g1", collection="accounts")
    user = emulator.identity.profile("user_id:u1")
    assert account is not None
    assert user is not None
    assert account.segment_id.startswith("acc_")
    assert group["identity"]["account_id"] == account.segment_id
    assert account.trait_values() == {"name": "Acme"}
    assert user.trait_values() == {}
    assert user.links == {account.segment_id: "accounts"}
    assert account.links == {user.segment_id: "users"}


def test_the_newest_timestamp_wins_and_history_keeps_the_rest(emulator: Emulator) -> None:
    send(
        emulator,
        call("identify", userId="u1", traits={"plan": "pro"}, timestamp="2026-01-02T00:00:00Z"),
        call("identify", userId="u1", traits={"plan": "free"}, timestamp="2026-01-01T00:00:00Z"),
        call("identify", userId="u1", traits={"plan": "team"}, timestamp="2026-01-03T00:00:00Z"),
    )
    profile = emulator.identity.profile("user_id:u1")
    assert profile is not None
    assert profile.trait_values() == {"plan": "team"}
    assert [t.value for t in profile.trait_history["plan"]] == ["free", "pro"]


def test_limits_priority_and_blocked_values_are_configured_per_space() -> None:
    emulator = create_emulator(
        db=":memory:",
        sources={"web": {"write_key": "w"}, "crm": {"write_key": "c"}},
        spaces={
            "sales": {
                "sources": ["crm"],
                "limits": {"user_id": 2},
                "blocked_values": ["test"],
            }
        },
    )
    send(emulator, call(userId="u1", anonymousId="a"), key="c")
    [two] = send(emulator, call(userId="u2", anonymousId="a"), key="c")
    assert [c["action"] for c in two["identity"]["changes"]] == ["added"]
    assert two["identity"]["space"] == "sales"
    [web] = send(emulator, call(userId="u1"), key="w")
    assert web["identity"]["space"] == "default"
    assert emulator.identity.profile("user_id:u1", space="sales") is not None
    [blocked] = send(emulator, call(userId="TEST"), key="c")
    assert blocked["identity"]["segment_id"] is None


def test_a_mistake_in_the_spaces_table_names_the_entry() -> None:
    with pytest.raises(ConfigError, match=r"\[spaces.x\]: limits.user_id must be"):
        create_emulator(db=":memory:", spaces={"x": {"limits": {"user_id": 0}}})
    with pytest.raises(ConfigError, match="unknown key 'limit'"):
        create_emulator(db=":memory:", spaces={"x": {"limit": {}}})


def test_listeners_hear_every_change(emulator: Emulator) -> None:
    heard: list[ProfileChange] = []
    emulator.identity.on_change(heard.append)
    send(emulator, call("identify", userId="u1", traits={"plan": "pro"}))
    assert heard[0].profile is not None
    assert heard[0].traits == ["plan"]
    profile = heard[0].profile
    assert emulator.identity.set_trait(profile, "orders", 3, timestamp="2026-01-01T00:00:00.000Z")
    assert heard[-1].record is None
    assert heard[-1].traits == ["orders"]
    assert profile.trait_values("computed_trait") == {"orders": 3}


def test_replay_listeners_hear_the_replayed_calls_and_not_the_live_ones(
    emulator: Emulator,
) -> None:
    from segemu.identity import Identity

    stored = send(
        emulator,
        call("identify", userId="u1", anonymousId="a1", traits={"plan": "pro"}),
        call(userId="u1", anonymousId="a1"),
    )
    rebuilt = Identity(emulator.identity.spaces)
    every: list[ProfileChange] = []
    replayed: list[ProfileChange] = []
    rebuilt.on_change(every.append)
    unsubscribe = rebuilt.on_replay(replayed.append)
    for record in stored:
        rebuilt.replay(record)
    assert [c.record for c in replayed] == stored
    assert all(c.replayed for c in replayed)
    assert len(every) == 2
    live = cast(Record, {key: value for key, value in stored[1].items() if key != "identity"})
    rebuilt(live)
    assert live.get("identity") == stored[1]["identity"]
    assert len(replayed) == 2
    assert every[-1].record is live
    assert not every[-1].replayed
    unsubscribe()
    rebuilt.replay(stored[1])
    assert len(replayed) == 2
    assert len(every) == 4


def test_the_profile_cap_lets_the_least_recently_updated_profile_go() -> None:
    emulator = create_emulator(db=":memory:", spaces={"default": {"max_profiles": 2}})
    send(emulator, call(userId="u1"), call(userId="u2"), call(userId="u1"), call(userId="u3"))
    assert emulator.identity.profile("user_id:u2") is None
    assert emulator.identity.profile("user_id:u1") is not None


def test_the_graph_survives_a_restart(tmp_path: Path) -> None:
    async def run() -> None:
        async with create_emulator(db=str(tmp_path / "db")) as first:
            send(first, call("page", anonymousId="a1"))
            send(first, call("identify", userId="u1", traits={"plan": "pro"}))
            send(first, call(anonymousId="a1", userId="u1"))
            send(first, call("group", userId="u1", groupId="g1", traits={"name": "Acme"}))
            send(first, call("identify", userId="u1", traits={"plan": "team"}))
            send(first, call(userId="u1", anonymousId="a9"))
            before = first.identity.profile("user_id:u1")
            assert before is not None
            expected = before.detail()
            assert expected["trait_history"]["plan"][0]["value"] == "pro"
        async with create_emulator(db=str(tmp_path / "db")) as second:
            after = second.identity.profile("anonymous_id:a1")
            assert after is not None
            assert after.detail() == expected
            assert [r["type"] for r in second.identity.events(after)] == [
                "page",
                "identify",
                "track",
                "group",
                "identify",
                "track",
            ]
        (tmp_path / "db" / "identity" / "graph.json").unlink()
        async with create_emulator(db=str(tmp_path / "db")) as rebuilt:
            again = rebuilt.identity.profile("anonymous_id:a9")
            assert again is not None
            assert again.detail() == expected

    asyncio.run(run())


async def test_a_graph_rebuilt_from_the_calls_is_the_graph_they_built(tmp_path: Path) -> None:
    # Each replayed change applies to the profile it names, also when one call merged two
    # profiles and then added an identifier to the one that was left.
    db = str(tmp_path / "db")
    async with create_emulator(db=db) as first:
        send(first, call("page", anonymousId="a1"), call("identify", userId="u1"))
        send(first, call(anonymousId="a1", userId="u1", properties={"email": "u1@x.test"}))
        send(first, call("group", userId="u1", groupId="g1", traits={"name": "Acme"}))
        send(first, call("identify", userId="u2", anonymousId="a2", traits={"plan": "pro"}))
        send(first, call(userId="u2", anonymousId="a3"), call("screen", anonymousId="a4"))
        expected = [p.detail() for p in first.identity.profiles(collection=None)]
    (tmp_path / "db" / "identity" / "graph.json").unlink()
    async with create_emulator(db=db) as rebuilt:
        assert [p.detail() for p in rebuilt.identity.profiles(collection=None)] == expected


async def test_profile_query_paths_read_the_call_s_profile_as_it_is_now(
    emulator: Emulator,
) -> None:
    from segemu.expectations import Expectation
    from segemu.query import EventFilter, parse_query

    send(emulator, call("page", anonymousId="a1"), call("page", anonymousId="a2"))
    send(emulator, call("identify", anonymousId="a1", userId="u1", traits={"plan": "pro"}))

    def found(q: str) -> list[str | None]:
        where = EventFilter(query=parse_query(q))
        return [r["type"] for r in emulator.events(where)][::-1]

    # The anonymous page call before the identify matches: its profile has the trait now.
    assert found("profile.traits.plan:pro") == ["page", "identify"]
    assert found("profile.external_ids.user_id:u1 type:page") == ["page"]
    assert found("NOT profile.traits.plan:*") == ["page"]
    segment_id = emulator.identity.profile("user_id:u1").segment_id  # type: ignore[union-attr]
    assert found(f"profile.segment_id:{segment_id}") == ["page", "identify"]
    assert len(await emulator.scan(EventFilter(query=parse_query("profile.traits.plan:pro")))) == 2
    waited = await emulator.wait_for(
        EventFilter(query=parse_query("profile.traits.plan:pro")), 2, 0.1
    )
    assert len(waited) == 2
    verdict = await emulator.judge(
        Expectation.from_json({"type": "page", "where": "profile.traits.plan:pro", "times": 1})
    )
    assert verdict.passed, verdict


async def test_a_profile_whose_calls_were_evicted_keeps_its_ids_and_traits_across_restarts(
    tmp_path: Path,
) -> None:
    db = str(tmp_path / "db")
    async with create_emulator(db=db, retention=3) as first:
        send(first, call("identify", userId="u1", anonymousId="a1", traits={"plan": "pro"}))
        send(first, *(call(userId=f"other-{n}") for n in range(4)))
        kept = first.identity.profile("user_id:u1")
        assert kept is not None
        assert first.identity.events(kept) == []  # evicted
        assert kept.trait_values() == {"plan": "pro"}
    for _ in range(2):
        async with create_emulator(db=db, retention=3) as again:
            profile = again.identity.profile("anonymous_id:a1")
            assert profile is not None
            assert profile.trait_values() == {"plan": "pro"}
            assert again.identity.profile("user_id:other-3") is not None
            # New calls still resolve against the graph read back.
            [record] = send(again, call(userId="u1"))
            assert record["identity"]["segment_id"] == profile.segment_id


async def test_without_the_graph_file_the_graph_is_rebuilt_from_the_calls(tmp_path: Path) -> None:
    db = tmp_path / "db"
    async with create_emulator(db=str(db)) as first:
        send(first, call("identify", userId="u1", anonymousId="a1", traits={"plan": "pro"}))
        send(first, call(userId="u1", anonymousId="a2"))
    graph = db / "identity" / "graph.json"
    assert graph.is_file()
    graph.unlink()  # as after a hard kill before the first clean stop
    async with create_emulator(db=str(db)) as second:
        profile = second.identity.profile("anonymous_id:a2")
        assert profile is not None
        assert profile.trait_values() == {"plan": "pro"}
    graph.write_text("{not json")
    async with create_emulator(db=str(db)) as third:
        assert third.identity.profile("anonymous_id:a1") is not None
        assert any("identity/graph.json could not be read" in p for p in third.store.problems)


def test_the_worked_example_in_the_docs_is_what_happens(emulator: Emulator) -> None:
    docs = (Path(__file__).parents[2] / "docs" / "identity.md").read_text()
    block = docs.split('```json\n{\n  "identity"', 1)[1].split("```", 1)[0]
    documented = json.loads('{\n  "identity"' + block)["identity"]
    send(emulator, call("page", anonymousId="laptop-1", name="Pricing"))
    send(emulator, call("identify", userId="u1", anonymousId="laptop-1", traits={"plan": "pro"}))
    [second] = send(
        emulator, call("identify", userId="u2", anonymousId="laptop-1", traits={"plan": "free"})
    )
    first = emulator.identity.profile("user_id:u1")
    assert first is not None
    text = json.dumps(documented)
    text = text.replace("use_7uVYnUjSB4iGsxNGZ2lrWd6T0aE", first.segment_id)
    text = text.replace("use_2Rk0mpUAH1oKQxWmqjHjh1vIb8L", second["identity"]["segment_id"])
    assert second["identity"] == json.loads(text)
