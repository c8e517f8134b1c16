"""Source Functions with real Node over real HTTP: the webhook URL, Segment's ?b= form, the
calls a function emits entering the pipeline, and the answers to each error type
(segment-docs src/connections/functions/source-functions.md)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from segemu import create_emulator
from segemu.http.sender import HttpSender
from segemu.http.server import RunningServer, start_server
from segemu.query import EventFilter, parse_query
from tests.functions.conftest import FIXTURES

SECRET = "whsec_test"


@pytest.fixture
async def server() -> AsyncIterator[RunningServer]:
    emulator = create_emulator(
        db=":memory:",
        sender=HttpSender(),
        sources={
            "stripe": {
                "function": str(FIXTURES / "stripe.js"),
                "settings": {"signingSecret": SECRET},
            },
            "auth0": {
                "function": str(FIXTURES / "auth0.js"),
                "write_key": "wk_auth0",
                "settings": {"token": "auth0-stream-token"},
            },
        },
        destinations={"mixpanel": {}, "amplitude": {}},
    )
    running = await start_server(emulator, "127.0.0.1", 0)
    yield running
    await running.stop()


def fixture(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return loaded


def signed(body: bytes, secret: str = SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), b"1700000000." + body, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "Stripe-Signature": f"t=1700000000,v1={digest}"}


async def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(url, data=body, headers=headers) as response,
    ):
        return response.status, await response.json()


async def test_stripe_charge_becomes_a_track_call_of_the_source(server: RunningServer) -> None:
    body = json.dumps(fixture("stripe-charge.json")["body"]).encode()
    status, answer = await post(f"{server.url}/functions/stripe", body, signed(body))
    assert (status, answer) == (200, {"success": True})
    emulator = server.emulator
    [record] = emulator.events()
    assert (record["source"], record["route"], record["status"]) == (
        "stripe",
        "/functions/stripe",
        "accepted",
    )
    event = record["event"]
    assert (event["type"], event["event"], event["userId"]) == (
        "track",
        "Order Completed",
        "cus_OTdmgqh7Yr0R1s",
    )
    assert event["properties"] == {
        "order_id": "ch_3Ngf8B2eZvKYlo2C",
        "revenue": 49.99,
        "currency": "USD",
    }
    assert event["messageId"]
    # It reaches the destinations like any call of the source.
    assert record["routing"]["mixpanel"]["status"] == "delivered"
    mixpanel = emulator.deliveries_of(record)["mixpanel"]
    assert mixpanel["requests"][0]["body"][0]["event"] == "Order Completed"
    # And queries find the calls a function emitted by its route.
    found = emulator.events(EventFilter(query=parse_query("route:/functions/stripe")))
    assert [r["id"] for r in found] == [record["id"]]


async def test_segments_own_webhook_form_needs_only_the_host_changed(
    server: RunningServer,
) -> None:
    body = json.dumps(fixture("stripe-charge.json")["body"]).encode()
    source_id = base64.b64encode(b"stripe").decode()
    status, answer = await post(f"{server.url}/?b={source_id}", body, signed(body))
    assert (status, answer) == (200, {"success": True})
    assert len(server.emulator.events()) == 1


async def test_auth0_log_stream_becomes_identify_and_tracks(server: RunningServer) -> None:
    webhook = fixture("auth0-logs.json")
    body = json.dumps(webhook["body"]).encode()
    status, _ = await post(f"{server.url}/functions/auth0", body, webhook["headers"])
    assert status == 200
    records = list(reversed(server.emulator.events()))
    assert [(r["type"], r["event"].get("event"), r["writeKey"]) for r in records] == [
        ("identify", None, "wk_auth0"),
        ("track", "Signed Up", "wk_auth0"),
        ("track", "Signed In", "wk_auth0"),
    ]
    assert records[0]["event"]["traits"] == {"email": "ada@example.com"}
    assert records[1]["event"]["timestamp"] == "2024-03-01T10:00:00.000Z"
    assert records[1]["event"]["context"]["ip"] == "203.0.113.9"
    [invocation] = server.emulator.functions.recent("auth0")
    assert invocation["logs"] == [{"level": "log", "message": "skipping log type sapi"}]
    assert invocation["recordIds"] == [r["id"] for r in records]


@pytest.mark.parametrize(
    ("body", "headers", "status", "kind", "message"),
    [
        (
            b'{"type": "invoice.paid", "data": {"object": {}}}',
            None,
            400,
            "Unsupported Event Type",
            "invoice.paid is not handled",
        ),
        (
            b'{"type": "charge.succeeded"}',
            {"Content-Type": "application/json", "Stripe-Signature": "t=1,v1=forged"},
            400,
            "Message Rejected",
            "Stripe-Signature does not match",
        ),
        (b"not json", None, 400, "Bad Request", None),
    ],
)
async def test_errors_answer_as_segment_documents_and_emit_nothing(
    server: RunningServer,
    body: bytes,
    headers: dict[str, str] | None,
    status: int,
    kind: str,
    message: str | None,
) -> None:
    got, answer = await post(f"{server.url}/functions/stripe", body, headers or signed(body))
    assert got == status
    assert answer["success"] is False
    assert answer["error"]["type"] == kind
    if message is not None:
        assert answer["error"]["message"] == message
    assert server.emulator.events() == []
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{server.url}/_segemu/functions/invocations?errors=true") as response,
    ):
        listed = await response.json()
    [invocation] = listed["invocations"]
    assert invocation["function"] == "stripe"
    assert invocation["status"] == status
    assert invocation["request"]["body"] == body.decode()


async def test_unknown_function_is_a_404_naming_the_known_ones(server: RunningServer) -> None:
    status, answer = await post(f"{server.url}/functions/strype", b"{}", {})
    assert status == 404
    assert answer["message"] == "no Source Function named 'strype'; known: stripe, auth0"


async def test_control_api_lists_functions_with_their_urls(server: RunningServer) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{server.url}/_segemu/functions") as response,
    ):
        listed = await response.json()
    by_name = {f["name"]: f for f in listed["functions"]}
    assert by_name["stripe"]["url"] == f"{server.url}/functions/stripe"
    assert by_name["stripe"]["handlers"] == ["onRequest"]
    assert by_name["stripe"]["error"] is None
    assert listed["runtime"]["libraries"]["_"] is True
    assert len(listed["runtime"]["workers"]) == 2
