"""The pipeline runs a request's calls stage by stage (pipeline.py): each call must still be
judged exactly as if the calls had come one request at a time, in the same order. Each
scenario is sent both ways to fresh emulators, and every stored record compared: ids,
statuses, duplicates, lint, identity, Engage's verdicts and the calls it sends."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from segemu import create_emulator
from segemu.engage.engine import ENGAGE_ROUTE
from segemu.message import Record
from tests.engage.test_live import ENGAGE, START, order, send


def stored(batched: bool, calls: list[dict[str, Any]], **settings: Any) -> list[str]:
    emulator = create_emulator(db=":memory:", **settings)
    if batched:
        send(emulator, START, *[dict(call) for call in calls])
    else:
        for call in calls:
            send(emulator, START, dict(call))
    return described(list(emulator.store.newest_first())[::-1])


def described(records: list[Record]) -> list[str]:
    """Each record as text, with what differs by chance between two emulators made alike named
    by where it first appears (segment ids, generated messageIds, times). Engage's calls come
    after the request that made them, so their ids differ between one request and several:
    they are compared by what they say, in order, after the calls that were sent."""
    sent = [r for r in records if r["route"] != ENGAGE_ROUTE]
    engaged = [
        {k: r["event"].get(k) for k in ("type", "event", "userId", "properties", "traits")}
        for r in records
        if r["route"] == ENGAGE_ROUTE
    ]
    names: dict[str, str] = {}
    out = []
    for item in [*sent, *engaged]:
        # Ids too: one request at a time, Engage's calls take ids between the calls sent.
        text = repr({k: v for k, v in item.items() if k not in ("id", "receivedAt")})
        for found in re.findall(r"(?:use|acc)_[0-9A-Za-z]{27}|api-[0-9A-Za-z]+", text):
            names.setdefault(found, f"<id {len(names)}>")
        for found, name in names.items():
            text = text.replace(found, name)
        out.append(re.sub(r"\d{4}-\d\d-\d\dT[\d:.]+Z", "<time>", text))
    return out


SCENARIOS: dict[str, tuple[list[dict[str, Any]], dict[str, Any]]] = {
    "a retry inside the request": (
        [
            {"type": "track", "event": "A", "userId": "u1", "messageId": "m1"},
            {"type": "track", "event": "B", "userId": "u1", "messageId": "m2"},
            {"type": "track", "event": "A", "userId": "u1", "messageId": "m1"},
            {"type": "track", "event": "A", "userId": "u1", "messageId": "m1"},
        ],
        {},
    ),
    "a duplicate of a call its write key rejected": (
        [
            {"type": "track", "event": "A", "userId": "u1", "messageId": "m1", "writeKey": ""},
            {"type": "track", "event": "A", "userId": "u1", "messageId": "m1"},
        ],
        {},
    ),
    "identity: anonymous, identified, aliased, merged": (
        [
            {"type": "page", "anonymousId": "a1", "name": "Home"},
            {"type": "identify", "anonymousId": "a1", "userId": "u1", "traits": {"plan": "free"}},
            {"type": "track", "anonymousId": "a2", "event": "Viewed"},
            {"type": "alias", "previousId": "a2", "userId": "u1"},
            {"type": "identify", "userId": "u1", "traits": {"email": "u1@example.com"}},
            {"type": "group", "userId": "u1", "groupId": "g1", "traits": {"name": "Acme"}},
        ],
        {},
    ),
    "Engage: a profile enters, then leaves, within one request": (
        [
            {"type": "identify", "userId": "u1", "traits": {"plan": "pro"}},
            order(60),
            order(50),
            {"type": "identify", "userId": "u1", "traits": {"plan": "free"}},
            order(10),
        ],
        {"engage": ENGAGE},
    ),
}


@pytest.mark.parametrize("scenario", list(SCENARIOS), ids=list(SCENARIOS))
def test_a_request_is_judged_as_its_calls_one_by_one(scenario: str) -> None:
    calls, settings = SCENARIOS[scenario]
    batched = stored(True, calls, **settings)
    assert len(batched) > len(calls) if "Engage" in scenario else len(batched) == len(calls)
    assert batched == stored(False, calls, **settings)


def test_engage_sends_its_calls_after_the_request_in_the_order_they_were_made() -> None:
    emulator = create_emulator(db=":memory:", engage=ENGAGE)
    records = send(
        emulator,
        START + timedelta(minutes=1),
        {"type": "identify", "userId": "u1", "traits": {"plan": "pro"}},
        order(60),
        order(50),
    )
    assert [r["event"].get("event") for r in records] == [
        None,
        "Order Completed",
        "Order Completed",
        "Audience Entered",  # recent_buyers, from the first order
        None,  # big_spenders' identify, from the second
        "Audience Entered",
    ]
    assert [r["event"].get("properties", {}).get("audience_key") for r in records[3:]] == [
        "recent_buyers",
        None,
        "big_spenders",
    ]
