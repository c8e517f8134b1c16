"""The Webhook destination really POSTs to a local receiver, retrying like Segment
(connections/destinations/index.md §Retries): 5xx, 408, 429 and network errors are retried with
backoff, other 4xx are final; injected failures show the same path for any destination."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from segemu.emulator import Emulator, create_emulator
from segemu.http.sender import HttpSender
from segemu.message import Envelope
from segemu.outbound import OutboundRequest, OutboundResponse
from segemu.query import EventFilter, parse_query


class Receiver:
    """A local HTTP service that answers `statuses` in turn, then 200."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.received: list[tuple[dict[str, str], bytes]] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append((dict(request.headers), await request.read()))
        status = self.statuses.pop(0) if self.statuses else 200
        return web.json_response({"ok": status < 300}, status=status)


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    target = Receiver([])
    app = web.Application()
    app.router.add_post("/hook", target.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield target, str(server.make_url("/hook"))
    await server.close()


async def started(destinations: dict[str, Any], sender: Any = None) -> Emulator:
    emulator = create_emulator(
        db=":memory:", destinations=destinations, sender=sender or HttpSender()
    )
    await emulator.start()
    return emulator


def track(emulator: Emulator, message_id: str = "m1") -> None:
    emulator.ingest(
        Envelope(
            route="/v1/track",
            received_at=datetime.now(UTC),
            items=[
                {
                    "type": "track",
                    "event": "Order Completed",
                    "userId": "u1",
                    "writeKey": "wk",
                    "messageId": message_id,
                    "properties": {"revenue": 9.5},
                }
            ],
        )
    )


async def settled(emulator: Emulator, destination: str, status: str) -> dict[str, Any]:
    where = EventFilter(query=parse_query(f"deliveries.{destination}.status:{status}"))
    [record] = await emulator.wait_for(where, 1, timeout=10)
    return dict(emulator.deliveries_of(record)[destination])


async def test_delivers_the_whole_event_signed_after_retrying_5xx(
    receiver: tuple[Receiver, str],
) -> None:
    target, url = receiver
    target.statuses = [503, 500]
    emulator = await started(
        {
            "hook": {
                "preset": "webhook",
                "settings": {"url": url, "shared_secret": "s3cret"},
                "retry": {"backoff": 0.01},
            }
        }
    )
    try:
        track(emulator)
        delivery = await settled(emulator, "hook", "delivered")
    finally:
        await emulator.close()
    assert delivery["attempts"] == 3
    assert len(target.received) == 3
    headers, body = target.received[-1]
    assert headers["Content-Type"] == "application/json"
    # webhook/index.ts: X-Signature is the hex HMAC-SHA1 of the body with the shared secret.
    assert headers["X-Signature"] == hmac.new(b"s3cret", body, hashlib.sha1).hexdigest()
    assert b'"event":"Order Completed"' in body
    assert b'"messageId":"m1"' in body


async def test_a_4xx_is_final_and_the_reason_says_so(receiver: tuple[Receiver, str]) -> None:
    target, url = receiver
    target.statuses = [400]
    emulator = await started({"hook": {"preset": "webhook", "settings": {"url": url}}})
    try:
        track(emulator)
        delivery = await settled(emulator, "hook", "failed")
    finally:
        await emulator.close()
    assert delivery["attempts"] == 1
    assert delivery["reason"].startswith("attempt 1 failed (HTTP 400")
    assert delivery["reason"].endswith("not retried")


async def test_retries_stop_after_max_attempts(receiver: tuple[Receiver, str]) -> None:
    target, url = receiver
    target.statuses = [503] * 10
    emulator = await started(
        {
            "hook": {
                "preset": "webhook",
                "settings": {"url": url},
                "retry": {"max_attempts": 3, "backoff": 0.01},
            }
        }
    )
    try:
        track(emulator)
        delivery = await settled(emulator, "hook", "failed")
    finally:
        await emulator.close()
    assert delivery["attempts"] == 3
    assert len(target.received) == 3
    assert delivery["reason"].endswith("no attempts left")


async def test_unreachable_url_is_a_network_error_retried() -> None:
    emulator = await started(
        {
            "hook": {
                "preset": "webhook",
                "settings": {"url": "http://127.0.0.1:9/hook"},
                "retry": {"max_attempts": 2, "backoff": 0.01},
            }
        }
    )
    try:
        track(emulator)
        delivery = await settled(emulator, "hook", "failed")
    finally:
        await emulator.close()
    assert delivery["attempts"] == 2
    assert "ClientConnectorError" in delivery["reason"]


async def test_injected_failures_on_a_recording_destination() -> None:
    emulator = await started(
        {
            "rec": {
                "actions": [
                    {
                        "name": "Send",
                        "subscribe": 'type = "track"',
                        "mapping": {"e": {"@path": "$.event"}},
                    }
                ],
                "failures": {"status": 503, "times": 2},
                "retry": {"backoff": 0.01},
            }
        }
    )
    try:
        track(emulator)
        [first] = emulator.events()
        assert first["routing"]["rec"]["status"] in ("pending", "retrying")
        delivery = await settled(emulator, "rec", "delivered")
    finally:
        await emulator.close()
    assert delivery["attempts"] == 3
    assert delivery["requests"][0]["body"] == {"e": "Order Completed"}


async def test_live_delivery_state_goes_with_the_records_retention_drops() -> None:
    # Live state is kept by record id beside the record's routing, and dropped when the store
    # drops the record: with retention 3, five calls leave the state of three.
    emulator = create_emulator(
        db=":memory:",
        retention=3,
        destinations={
            "rec": {
                "actions": [{"name": "Send", "subscribe": 'type = "track"', "mapping": {"e": "x"}}],
                "failures": {"status": 503, "times": -1},
                "retry": {"backoff": 30, "max_attempts": 2},
            }
        },
    )
    await emulator.start()
    try:
        for number in range(5):
            track(emulator, f"m{number}")
        kept = [record["id"] for record in emulator.events()]
        assert len(kept) == 3
        assert emulator.destinations.live_records == 3
        assert all(emulator.destinations.live(i, "rec") is not None for i in kept)
        emulator.reset()
        assert emulator.destinations.live_records == 0
    finally:
        await emulator.close()


class RecordingSender:
    """A Sender of the test's own: the core sends through whatever the shell hands in."""

    def __init__(self) -> None:
        self.sent: list[OutboundRequest] = []
        self.closed = False

    async def send(self, request: OutboundRequest) -> OutboundResponse:
        self.sent.append(request)
        return OutboundResponse(202, "accepted")

    async def close(self) -> None:
        self.closed = True


async def test_deliveries_go_out_through_the_sender_handed_in() -> None:
    sender = RecordingSender()
    url = "http://127.0.0.1:9/hook"
    emulator = await started({"hook": {"preset": "webhook", "settings": {"url": url}}}, sender)
    try:
        track(emulator)
        delivery = await settled(emulator, "hook", "delivered")
    finally:
        await emulator.close()
    assert delivery["attempts"] == 1
    [request] = sender.sent
    assert (request.method, request.url) == ("POST", url)
    assert b'"messageId":"m1"' in request.body
    assert sender.closed


async def test_an_emulator_built_without_a_sender_says_why_nothing_was_sent() -> None:
    emulator = create_emulator(
        db=":memory:",
        destinations={
            "hook": {
                "preset": "webhook",
                "settings": {"url": "http://127.0.0.1:9/hook"},
                "retry": {"max_attempts": 1},
            }
        },
    )
    await emulator.start()
    try:
        track(emulator)
        delivery = await settled(emulator, "hook", "failed")
    finally:
        await emulator.close()
    assert "no HTTP client" in delivery["reason"]
    assert "sender=HttpSender()" in delivery["reason"]
