"""How calls arrived, over real sockets: a server SDK's retry (X-Retry-Count) is a duplicate
that says which retry it is; a browser call that arrives after a later one is marked
(segemu/arrival.py; sdk-captures/README.md "Retries")."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import aiohttp

from segemu.cli.lines import format_line
from segemu.emulator import create_emulator
from segemu.http.server import RunningServer
from segemu.message import Envelope
from tests.conftest import get_json
from tests.http.test_tracking import post


def browser_track(name: str, timestamp: str, **fields: Any) -> dict[str, Any]:
    return {
        "type": "track",
        "event": name,
        "anonymousId": "anon-1",
        "writeKey": "wk",
        "timestamp": timestamp,
        "sentAt": timestamp,
        **fields,
    }


async def records(http: aiohttp.ClientSession, server: RunningServer) -> list[Any]:
    listed: list[Any] = (await get_json(http, f"{server.url}/_segemu/events"))["events"]
    return listed[::-1]


async def test_a_server_sdk_retry_is_a_duplicate_with_its_retry_count(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    # analytics-python 2.4 and analytics-node retry with the same body and X-Retry-Count.
    body = {
        "batch": [{"type": "track", "event": "Paid", "userId": "u1", "messageId": "m-1"}],
        "writeKey": "wk",
    }
    await post(http, f"{server.url}/v1/batch", body, headers={})
    await post(http, f"{server.url}/v1/batch", body, headers={"X-Retry-Count": "2"})
    first, retry = await records(http, server)
    assert "arrival" not in first
    assert retry["status"] == "duplicate"
    assert retry["arrival"] == {"retryCount": 2}
    assert retry["reason"] == (
        f"retry 2 (X-Retry-Count) of record {first['id']}; Segment "
        f"keeps only the first call with a messageId"
    )


async def test_a_retry_count_that_is_not_a_number_is_ignored(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    track = {"type": "track", "event": "Paid", "userId": "u1", "writeKey": "wk"}
    for value in ("soon", "-1", "²"):
        status, _, _ = await post(
            http, f"{server.url}/v1/track", track, headers={"X-Retry-Count": value}
        )
        assert status == 200
    assert all("arrival" not in record for record in await records(http, server))


async def test_a_browser_call_arriving_after_a_later_one_is_marked(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    await post(
        http, f"{server.url}/v1/t", browser_track("Second", "2026-01-01T10:00:00.300Z"), headers={}
    )
    await post(
        http, f"{server.url}/v1/t", browser_track("First", "2026-01-01T10:00:00.100Z"), headers={}
    )
    await post(
        http, f"{server.url}/v1/t", browser_track("Third", "2026-01-01T10:00:00.500Z"), headers={}
    )
    second, first, third = await records(http, server)
    assert first["status"] == "accepted"
    assert first["arrival"] == {
        "outOfOrder": second["id"],
        "note": f"arrived after record {second['id']}, which this browser called 200 ms "
        f"later; Segment orders calls by timestamp",
    }
    assert "arrival" not in second
    assert "arrival" not in third
    assert format_line(first).endswith(
        f"(arrived after record {second['id']}, which this "
        f"browser called 200 ms later; Segment orders calls "
        f"by timestamp)"
    )


async def test_order_is_per_browser_and_server_batches_are_not_judged(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    await post(
        http, f"{server.url}/v1/t", browser_track("Late", "2026-01-01T10:00:01Z"), headers={}
    )
    await post(
        http,
        f"{server.url}/v1/t",
        browser_track("Other browser", "2026-01-01T10:00:00Z", anonymousId="anon-2"),
        headers={},
    )
    # A server SDK's calls come in order, batch by batch: nothing to say about them.
    await post(
        http,
        f"{server.url}/v1/batch",
        {
            "writeKey": "wk",
            "batch": [browser_track("Server", "2026-01-01T09:00:00Z", type="track")],
        },
        headers={},
    )
    assert all("arrival" not in record for record in await records(http, server))


async def test_a_browser_resend_without_a_retry_count_says_why(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    # analytics-next before 1.84 sent no X-Retry-Count: a retry or a re-send from
    # localStorage is only a repeated messageId.
    event = browser_track("Signed Up", "2026-01-01T10:00:00Z", messageId="ajs-next-1-abc")
    await post(http, f"{server.url}/v1/t", event, headers={})
    await post(http, f"{server.url}/v1/t", event, headers={})
    first, again = await records(http, server)
    assert again["status"] == "duplicate"
    assert again["reason"] == (
        f"the messageId of record {first['id']}, sent again: analytics.js got no answer to "
        f"it: a failed request, or a page left before the answer came, whose calls it "
        f"re-sends on the next page load; Segment keeps only the first call with a messageId"
    )


def test_the_duplicate_reason_is_written_once_by_the_dedupe_stage() -> None:
    # Dedupe and the arrival notes are one stage: the reason a retry gets names the retry and
    # the first record, and nothing after it rewrites the record.
    emulator = create_emulator(db=":memory:")
    call = {"type": "track", "event": "E", "userId": "u", "messageId": "same"}

    def sent(retry_count: int | None = None) -> Envelope:
        return Envelope(
            route="/v1/batch",
            items=[call],
            received_at=datetime.now(UTC),
            header_write_key="wk",
            retry_count=retry_count,
        )

    [first] = emulator.ingest(sent())
    [retry] = emulator.ingest(sent(retry_count=2))
    assert (retry["status"], retry["duplicateOf"]) == ("duplicate", first["id"])
    assert retry["reason"] == (
        f"retry 2 (X-Retry-Count) of record {first['id']}; "
        "Segment keeps only the first call with a messageId"
    )
    assert retry["arrival"] == {"retryCount": 2}
    assert "routing" not in retry  # a duplicate goes nowhere
    assert emulator.store.get(retry["id"]) == retry
