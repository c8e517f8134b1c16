"""One suite for the one fixture API (segemu/testing/api.py), run against its three flavours:
the sync client (`segemu`), the async client (`segemu_async`), both over real sockets to a
server in a background thread, and the in-process LocalSegemu (`segemu_emulator`). Each test
asserts what a user of any flavour sees, so the flavours cannot drift apart."""

from __future__ import annotations

import base64
import inspect
import json
import secrets
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from segemu.config import Config, load_config
from segemu.emulator import create_emulator
from segemu.testing.aclient import AsyncSegemuClient
from segemu.testing.api import (
    AsyncSegemuApi,
    SegemuApi,
    SegemuAssertionError,
    WaitTimeout,
    new_write_key,
)
from segemu.testing.calls import ControlApiError
from segemu.testing.client import SegemuClient
from segemu.testing.local import LocalSegemu
from segemu.testing.snapshot import SnapshotStore
from segemu.testing.thread import ThreadedEmulator

FLAVOURS = ("sync client", "async client", "in-process")
PLAN: dict[str, Any] = {
    "name": "Shop",
    "track": {
        "Order Completed": {
            "properties": {
                "order_id": {"type": "string", "required": True},
                "revenue": "number",
            }
        }
    },
}
RECORDER: dict[str, Any] = {
    "actions": [
        {
            "name": "Send",
            "subscribe": 'type = "track"',
            "mapping": {"e": {"@path": "$.event"}},
        }
    ]
}
ORDER: dict[str, Any] = {
    "type": "track",
    "event": "Order Completed",
    "userId": "u_1",
    "properties": {"order_id": "o-1", "revenue": 9.5},
}
INCOMPLETE_ORDER: dict[str, Any] = {
    "type": "track",
    "event": "Order Completed",
    "userId": "u_1",
    "properties": {"revenue": 1},
}
# One call of each kind, all of them clean (no violation, no lint finding, none rejected).
CALLS: list[dict[str, Any]] = [
    {"type": "identify", "userId": "u_1", "traits": {"plan": "pro"}},
    ORDER,
    {"type": "page", "name": "Home", "userId": "u_1"},
    {"type": "screen", "name": "Feed", "userId": "u_1"},
    {"type": "group", "groupId": "g_1", "userId": "u_1"},
    {"type": "alias", "userId": "u_1", "previousId": "anon_1"},
]

Api = SegemuApi | AsyncSegemuApi


@dataclass
class Flavour:
    name: str
    api: Api
    # Sends calls with a write key, as an SDK would (over HTTP, or into the pipeline).
    send_as: Callable[[str, list[dict[str, Any]]], Awaitable[None]]
    # The same flavour bound to another write key.
    bound: Callable[[str], Api]

    async def send(self, *calls: Mapping[str, Any]) -> None:
        await self.send_as(self.api.write_key, [dict(call) for call in calls])

    async def call(self, method: str, *args: Any, api: Api | None = None, **kwargs: Any) -> Any:
        """Call a method of the API, awaiting it if this flavour is async."""
        result = getattr(api or self.api, method)(*args, **kwargs)
        return await result if inspect.isawaitable(result) else result


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Config:
    plan = tmp_path_factory.mktemp("plan") / "plan.json"
    plan.write_text(json.dumps(PLAN))
    settings = {
        "db": ":memory:",
        "protocols": {"tracking_plan": str(plan)},
        "destinations": {"rec": RECORDER},
    }
    return load_config(settings, env={}, discover=False)


@pytest.fixture(scope="module")
def server(config: Config) -> Iterator[ThreadedEmulator]:
    running = ThreadedEmulator(config).start()
    yield running
    running.stop()


def post_batch(url: str) -> Callable[[str, list[dict[str, Any]]], Awaitable[None]]:
    async def send_as(write_key: str, calls: list[dict[str, Any]]) -> None:
        auth = base64.b64encode(f"{write_key}:".encode()).decode()
        request = urllib.request.Request(
            f"{url}/v1/batch",
            data=json.dumps({"batch": calls}).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Basic {auth}"},
        )
        # The server runs in its own thread: a blocking call from this loop is safe.
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: ASYNC210
            assert response.status == 200

    return send_as


@pytest.fixture(params=FLAVOURS)
async def flavour(
    request: pytest.FixtureRequest, config: Config, tmp_path: Path
) -> AsyncIterator[Flavour]:
    write_key = new_write_key(request.node.name, secrets.token_hex(4))
    opened: list[AsyncSegemuClient] = []
    if request.param == "in-process":
        emulator = create_emulator(config)
        await emulator.start()

        def local(key: str) -> Api:
            return LocalSegemu(emulator, key, assert_timeout=0.0)

        async def send_as(key: str, calls: list[dict[str, Any]]) -> None:
            await LocalSegemu(emulator, key).send(*calls)

        chosen = Flavour(request.param, local(write_key), send_as, local)
    else:
        url = request.getfixturevalue("server").url

        def client(key: str) -> Api:
            if request.param == "sync client":
                return SegemuClient(url, key, assert_timeout=0.0)
            opened.append(AsyncSegemuClient(url, key, assert_timeout=0.0))
            return opened[-1]

        chosen = Flavour(request.param, client(write_key), post_batch(url), client)
    chosen.api.snapshots = SnapshotStore(tmp_path / "calls")
    yield chosen
    for each in opened:
        await each.aclose()
    if request.param == "in-process":
        await emulator.close()


async def test_events_in_arrival_order_of_this_write_key_only(flavour: Flavour) -> None:
    await flavour.send(*CALLS)
    await flavour.send_as("someone-else", [ORDER])
    events = await flavour.call("events")
    assert [e["type"] for e in events] == [c["type"] for c in CALLS]
    assert {e["writeKey"] for e in events} == {flavour.api.write_key}
    [order] = await flavour.call("events", 'event:"Order Completed"')
    assert order["event"]["properties"] == ORDER["properties"]
    newest = await flavour.call("events", limit=2)
    assert [e["type"] for e in newest] == ["group", "alias"]


async def test_wait_for_returns_the_calls_or_explains_what_arrived(flavour: Flavour) -> None:
    await flavour.send(*CALLS, ORDER)
    found = await flavour.call("wait_for", "type:track", count=2)
    assert [e["event"]["event"] for e in found] == ["Order Completed"] * 2
    with pytest.raises(WaitTimeout) as failure:
        await flavour.call("wait_for", "event:Refunded", timeout=0)
    message = str(failure.value)
    assert "waited 0s for 1 event(s) matching 'event:Refunded'; 0 matched" in message
    assert "track 'Order Completed'" in message


# (assertion, arguments that hold for CALLS, arguments that do not, words of the failure)
ASSERTIONS: list[
    tuple[str, tuple[Any, ...], dict[str, Any], tuple[Any, ...], dict[str, Any], str]
] = [
    (
        "assert_tracked",
        ("Order Completed",),
        {"properties": {"revenue": 9.5}},
        ("Order Completed",),
        {"properties": {"revenue": 10}},
        "properties.revenue: expected 10, got 9.5",
    ),
    ("assert_identified", ("u_1",), {"traits": {"plan": "pro"}}, ("u_2",), {}, "u_2"),
    ("assert_page", ("Home",), {}, ("Away",), {}, "Away"),
    ("assert_screen", ("Feed",), {}, ("Settings",), {}, "Settings"),
    ("assert_grouped", ("g_1",), {}, ("g_2",), {}, "g_2"),
    ("assert_aliased", ("u_1", "anon_1"), {}, ("u_2", "anon_1"), {}, "u_2"),
    ("assert_event", ("type:track",), {"times": 1}, ("type:track",), {"times": 2}, "times"),
    ("assert_no_events", ("event:Refunded",), {}, ("type:page",), {}, "Home"),
    (
        "assert_delivered",
        ("rec",),
        {"event": "Order Completed", "payload": {"e": "Order Completed"}},
        ("rec",),
        {"event": "Refunded"},
        "rec",
    ),
    (
        "assert_not_delivered",
        ("rec",),
        {"event": "Refunded"},
        ("rec",),
        {"event": "Order Completed"},
        "Order Completed",
    ),
]


@pytest.mark.parametrize(
    ("assertion", "holds", "holds_kwargs", "fails", "fails_kwargs", "words"),
    ASSERTIONS,
    ids=[case[0] for case in ASSERTIONS],
)
async def test_every_assertion_passes_and_fails_alike(
    flavour: Flavour,
    assertion: str,
    holds: tuple[Any, ...],
    holds_kwargs: dict[str, Any],
    fails: tuple[Any, ...],
    fails_kwargs: dict[str, Any],
    words: str,
) -> None:
    await flavour.send(*CALLS)
    assert await flavour.call(assertion, *holds, **holds_kwargs) is None
    with pytest.raises(SegemuAssertionError) as failure:
        await flavour.call(assertion, *fails, **fails_kwargs)
    assert words in str(failure.value)


async def test_rejections_violations_and_lint_fail_the_assertions_about_them(
    flavour: Flavour,
) -> None:
    await flavour.send(*CALLS)
    await flavour.call("assert_no_rejections")
    await flavour.call("assert_no_violations")
    await flavour.call("assert_no_lint", "event-name-casing")
    await flavour.send(
        {"type": "track", "event": "Order Completed", "properties": {"revenue": "9.50"}},
        INCOMPLETE_ORDER,
        {"type": "track", "event": "order_completed", "userId": "u_1"},
    )
    with pytest.raises(SegemuAssertionError, match="userId or anonymousId"):
        await flavour.call("assert_no_rejections")
    with pytest.raises(SegemuAssertionError, match=r"properties\.order_id is required"):
        await flavour.call("assert_no_violations")
    with pytest.raises(SegemuAssertionError, match="event-name-casing"):
        await flavour.call("assert_no_lint", "event-name-casing")


async def test_violations_is_the_listing_of_the_control_api(flavour: Flavour) -> None:
    await flavour.send(*CALLS, INCOMPLETE_ORDER)
    listing = await flavour.call("violations")
    assert listing["count"] == 1
    [entry] = listing["events"]
    assert (entry["name"], entry["writeKey"]) == ("Order Completed", flavour.api.write_key)
    assert [v["type"] for v in entry["violations"]] == ["required"]
    assert listing["totals"]["violations"] == 1
    assert listing["strict"] is False
    assert (await flavour.call("violations", "all", limit=5))["count"] == 1


async def test_destination_shows_what_it_received(flavour: Flavour) -> None:
    await flavour.send(*CALLS)
    received = await flavour.call("destination", "rec")
    assert received.received == [{"e": "Order Completed"}]
    assert [d["type"] for d in received.deliveries] == [c["type"] for c in CALLS]


async def test_verdict_judges_without_failing(flavour: Flavour) -> None:
    await flavour.send(*CALLS)
    verdict = await flavour.call("verdict", {"type": "track", "fields": {"event": "Refunded"}})
    assert verdict["passed"] is False
    assert "Refunded" in verdict["message"]
    passed = await flavour.call("verdict", {"type": "page", "fields": {"name": "Home"}})
    assert passed["passed"] is True


async def test_snapshots_are_normalized_and_compared(flavour: Flavour, tmp_path: Path) -> None:
    await flavour.send(ORDER)
    [shot] = await flavour.call("snapshot")
    assert shot["event"]["messageId"] == "<messageId>"
    assert shot["event"]["properties"] == ORDER["properties"]
    store = flavour.api.snapshots
    assert store is not None
    with pytest.raises(AssertionError, match="no snapshot at"):
        await flavour.call("assert_snapshot")
    flavour.api.snapshots = SnapshotStore(store.base, update=True)
    await flavour.call("assert_snapshot")
    flavour.api.snapshots = store
    await flavour.call("assert_snapshot")
    await flavour.send(ORDER)
    with pytest.raises(AssertionError, match="events differ from the snapshot"):
        await flavour.call("assert_snapshot")


async def test_reset_forgets_this_write_key_only(flavour: Flavour) -> None:
    other = flavour.bound(new_write_key("other", secrets.token_hex(4)))
    await flavour.send(*CALLS)
    await flavour.send_as(other.write_key, [ORDER])
    assert await flavour.call("reset") == len(CALLS)
    assert await flavour.call("events") == []
    assert len(await flavour.call("events", api=other)) == 1


async def test_mistakes_are_control_api_errors(flavour: Flavour) -> None:
    with pytest.raises(ControlApiError, match="q: "):
        await flavour.call("events", "event:(")
    with pytest.raises(ControlApiError, match="no destination 'nope'; configured: rec"):
        await flavour.call("destination", "nope")
    with pytest.raises(ControlApiError, match="kind must be one of violations, lint, all"):
        await flavour.call("violations", "bogus")
    with pytest.raises(ControlApiError, match="type"):
        await flavour.call("verdict", {"type": "nonsense"})


def _public(cls: type) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(member)
        for name, member in inspect.getmembers(cls, inspect.isfunction)
        if not name.startswith("_")
    }


def test_the_sync_and_the_async_api_have_the_same_methods() -> None:
    sync, awaited = _public(SegemuApi), _public(AsyncSegemuApi)
    assert sync.keys() == awaited.keys()
    for name, signature in sync.items():
        assert signature.parameters == awaited[name].parameters, name
    for flavour in (SegemuClient, AsyncSegemuClient, LocalSegemu):
        assert sync.keys() <= _public(flavour).keys()


async def test_faults_are_scoped_to_the_write_key_and_removed_after_the_block(
    flavour: Flavour,
) -> None:
    api = flavour.api

    async def listing() -> list[dict[str, Any]]:
        faulted: list[dict[str, Any]] = await flavour.call("faulted")
        return faulted

    if isinstance(api, SegemuApi):
        with api.faults(status=503, times=2, retry_after=3) as rule:
            assert (rule["writeKey"], rule["status"], rule["retryAfter"]) == (
                api.write_key,
                503,
                3,
            )
            kept = flavour.api
    else:
        async with api.faults(status=503, times=2, retry_after=3) as rule:
            assert (rule["writeKey"], rule["status"], rule["retryAfter"]) == (
                api.write_key,
                503,
                3,
            )
            kept = flavour.api
    assert kept is api
    assert await listing() == []
    if isinstance(api, SegemuApi):
        with pytest.raises(ControlApiError, match="status must be a 4xx or 5xx code"):  # noqa: SIM117
            with api.faults(status=200):
                pass
    else:
        with pytest.raises(ControlApiError, match="status must be a 4xx or 5xx code"):
            async with api.faults(status=200):
                pass


async def test_profiles_are_read_and_asserted_alike(flavour: Flavour) -> None:
    # The server is shared by the module's tests: identifiers are this test's own.
    key = flavour.api.write_key
    anon, user, other = f"a-{key}", f"u-{key}", f"v-{key}"
    await flavour.send(
        {"type": "page", "name": "Home", "anonymousId": anon},
        {"type": "identify", "anonymousId": anon, "userId": user, "traits": {"plan": "pro"}},
        # A second user on the same device: user_id allows 1, so it does not merge.
        {"type": "identify", "anonymousId": anon, "userId": other},
    )
    info = await flavour.call("profile", f"user_id:{user}")
    assert info.traits == {"plan": "pro"}
    assert info.external_ids == {"anonymous_id": [anon], "user_id": [user]}
    assert [e["type"] for e in info.events] == ["page", "identify"]
    assert info.audiences == {}
    assert await flavour.call("profile", f"user_id:nobody-{key}") is None
    found = await flavour.call("profiles", key)
    assert {p["segment_id"] for p in found} >= {info.segment_id}
    await flavour.call(
        "assert_profile",
        f"user_id:{user}",
        traits={"plan": "pro"},
        external_ids={"anonymous_id": anon},
    )
    await flavour.call("assert_merged", f"user_id:{user}", f"anonymous_id:{anon}")
    await flavour.call("assert_not_merged", f"user_id:{user}", f"user_id:{other}")

    with pytest.raises(SegemuAssertionError) as failure:
        await flavour.call("assert_profile", f"user_id:{user}", traits={"plan": "free"})
    assert "trait 'plan': expected 'free', got 'pro'" in str(failure.value)
    with pytest.raises(SegemuAssertionError) as failure:
        await flavour.call("assert_merged", f"user_id:{user}", f"user_id:{other}")
    assert f"anonymous_id:{anon} was not used" in str(failure.value)
    assert "user_id allows 1" in str(failure.value)
    with pytest.raises(SegemuAssertionError) as failure:
        await flavour.call("assert_not_merged", f"user_id:{user}", f"anonymous_id:{anon}")
    assert f"added user_id:{user}" in str(failure.value)
    with pytest.raises(SegemuAssertionError) as failure:
        await flavour.call("assert_profile", f"user_id:{key}")
    assert f"no profile has user_id:{key}" in str(failure.value)
    assert f"user_id:{user}" in str(failure.value)
