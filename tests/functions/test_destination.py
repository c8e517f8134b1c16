"""Destination and Insert Functions with real Node, as deliveries of the routing decided at
ingest. Error types and their outcomes: segment-docs
src/_includes/content/functions/errors-and-error-handling.md and destination-functions.md
(§Handling batching errors); insert functions: insert-functions.md."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.functions.conftest import FIXTURES, Api, send, settled, started


def crm(url: str, **extra: Any) -> dict[str, Any]:
    return {
        "destinations": {
            "crm": {
                "function": str(FIXTURES / "crm.js"),
                "name": "CRM",
                "settings": {"url": url, "apiKey": "k-123"},
                "retry": {"backoff": 0.01, "max_attempts": 3},
                **extra,
            }
        },
        "functions": {"allow_hosts": ["127.0.0.1"]},
    }


async def test_fetch_reaches_a_local_api_and_the_delivery_shows_it(api: tuple[Api, str]) -> None:
    target, url = api
    emulator = await started(**crm(url))
    try:
        send(emulator, {"type": "track", "event": "Order Completed", "properties": {"total": 5}})
        [delivery] = await settled(emulator, "crm", "delivered")
    finally:
        await emulator.close()
    path, headers, body = target.received[0]
    assert (path, headers["Authorization"], body) == (
        "/events",
        "Bearer k-123",
        {"name": "Order Completed", "user": "u1", "data": {"total": 5}},
    )
    assert delivery["attempts"] == 1
    [request] = delivery["requests"]
    assert (request["action"], request["method"], request["url"]) == (
        "onTrack",
        "POST",
        f"{url}/events",
    )
    [invocation] = delivery["function"]["invocations"]
    assert invocation["logs"] == [{"level": "log", "message": "sending Order Completed"}]
    assert invocation["fetches"][0]["response"] == {"status": 200, "body": {"id": "crm-1"}}
    assert delivery["function"]["returned"] == {"id": "crm-1"}


async def test_retry_error_is_retried_with_the_retry_policy(api: tuple[Api, str]) -> None:
    target, url = api
    target.statuses = [503, 429]
    emulator = await started(**crm(url))
    try:
        send(emulator, {"type": "track", "event": "Order Completed"})
        [delivery] = await settled(emulator, "crm", "delivered")
    finally:
        await emulator.close()
    assert delivery["attempts"] == 3
    assert len(target.received) == 3
    errors = [i["error"] for i in delivery["function"]["invocations"]]
    assert [e["name"] if e else None for e in errors] == ["RetryError", "RetryError", None]


async def test_a_network_error_is_retried_until_no_attempts_are_left() -> None:
    # Nothing listens on port 9 of localhost: fetch fails, the function throws RetryError.
    emulator = await started(**crm("http://127.0.0.1:9"))
    try:
        send(emulator, {"type": "track", "event": "Order Completed"})
        [delivery] = await settled(emulator, "crm", "failed")
    finally:
        await emulator.close()
    assert delivery["attempts"] == 3
    assert delivery["reason"].startswith("attempt 3 failed (RetryError: ")
    assert delivery["reason"].endswith("no attempts left")


async def test_validation_and_invalid_payload_fail_without_retry(api: tuple[Api, str]) -> None:
    target, url = api
    emulator = await started(**crm(url))
    try:
        send(
            emulator,
            {"type": "identify", "traits": {"name": "no email"}},
            {"type": "group", "groupId": "g1", "traits": {}},
        )
        failed = await settled(emulator, "crm", "failed", count=2)
    finally:
        await emulator.close()
    reasons = sorted(d["reason"] for d in failed)
    assert reasons == [
        "attempt 1 failed (Message Rejected: InvalidEventPayload: an email trait is required "
        "(line 33)); not retried",
        "attempt 1 failed (Message Rejected: ValidationError: the group needs a name "
        "(line 40)); not retried",
    ]
    assert target.received == []


async def test_event_not_supported_and_missing_handlers_are_filtered(
    api: tuple[Api, str],
) -> None:
    _, url = api
    emulator = await started(**crm(url))
    try:
        send(
            emulator,
            {"type": "alias", "previousId": "old"},
            {"type": "page", "name": "Home"},
        )
        filtered = await settled(emulator, "crm", "filtered", count=2)
    finally:
        await emulator.close()
    reasons = sorted(d["reason"] for d in filtered)
    assert reasons == [
        "Unsupported Event Type: EventNotSupported: onPage is not defined",
        "Unsupported Event Type: EventNotSupported: the CRM has no aliases (line 46)",
    ]


async def test_any_other_error_fails_as_bad_request(tmp_path: Path) -> None:
    fn = tmp_path / "broken.js"
    fn.write_text("async function onTrack(event) {\n  return event.properties.missing.deep\n}\n")
    emulator = await started(destinations={"broken": {"function": str(fn)}})
    try:
        send(emulator, {"type": "track", "event": "X"})
        [delivery] = await settled(emulator, "broken", "failed")
    finally:
        await emulator.close()
    assert delivery["reason"].startswith(
        "attempt 1 failed (Bad Request: TypeError: Cannot read properties of undefined"
    )
    assert "(line 2)" in delivery["reason"]


async def test_fetch_is_mocked_by_url_pattern_and_never_sent_elsewhere(tmp_path: Path) -> None:
    fn = tmp_path / "fn.js"
    fn.write_text(
        "async function onTrack(event) {\n"
        "  const a = await fetch('https://api.example.com/v1/users/42')\n"
        "  const b = await fetch('https://elsewhere.example.org/x', {method: 'POST', body: 'hi'})\n"
        "  return {a: a.status, aBody: await a.json(), b: b.status, h: a.headers.get('x-mock')}\n"
        "}\n"
    )
    emulator = await started(
        destinations={"fn": {"function": str(fn)}},
        functions={
            "mocks": [
                {
                    "url": "https://api.example.com/*",
                    "status": 201,
                    "headers": {"x-mock": "yes"},
                    "body": {"user": 42},
                }
            ]
        },
    )
    try:
        send(emulator, {"type": "track", "event": "X"})
        [delivery] = await settled(emulator, "fn", "delivered")
    finally:
        await emulator.close()
    assert delivery["function"]["returned"] == {
        "a": 201,
        "aBody": {"user": 42},
        "b": 200,
        "h": "yes",
    }
    first, second = delivery["function"]["invocations"][0]["fetches"]
    assert first["answeredBy"] == "mock https://api.example.com/*"
    assert (second["answeredBy"], second["body"]) == ("default", "hi")


async def test_the_integrations_object_names_the_function(api: tuple[Api, str]) -> None:
    _, url = api
    emulator = await started(**crm(url))
    try:
        send(
            emulator,
            {"type": "track", "event": "Off", "integrations": {"All": False}},
            {"type": "track", "event": "On", "integrations": {"All": False, "CRM": True}},
        )
        [delivery] = await settled(emulator, "crm", "delivered")
        records = emulator.events()
    finally:
        await emulator.close()
    assert delivery["requests"][0]["body"]["name"] == "On"
    off = next(r for r in records if r["event"]["event"] == "Off")
    assert off["routing"]["crm"]["status"] == "filtered"


async def test_on_batch_gets_the_batch_and_per_event_statuses(tmp_path: Path) -> None:
    fn = tmp_path / "batch.js"
    fn.write_text(
        "async function onTrack(event) { throw new Error('onBatch expected') }\n"
        "async function onBatch(events, settings) {\n"
        "  console.log('batch of', events.length)\n"
        "  return events.map((e) => e.event === 'Bad' ? {status: 400, errormessage: 'no'}"
        " : {status: 200})\n"
        "}\n"
    )
    emulator = await started(
        destinations={"fn": {"function": str(fn), "batching": {"size": 3, "wait": 5}}}
    )
    try:
        send(
            emulator,
            {"type": "track", "event": "A"},
            {"type": "track", "event": "Bad"},
            {"type": "track", "event": "C"},
        )
        delivered = await settled(emulator, "fn", "delivered", count=2)
        [failed] = await settled(emulator, "fn", "failed")
    finally:
        await emulator.close()
    [invocation] = delivered[0]["function"]["invocations"]
    assert (invocation["handler"], invocation["batchSize"]) == ("onBatch", 3)
    assert invocation["logs"] == [{"level": "log", "message": "batch of 3"}]
    assert failed["reason"] == "attempt 1 failed (onBatch status 400: no); not retried"


async def test_insert_function_edits_the_call_before_the_mapping() -> None:
    emulator = await started(
        destinations={"mixpanel": {"insert_function": str(FIXTURES / "mask-email.js")}}
    )
    try:
        send(
            emulator,
            {"type": "track", "event": "Signed Up", "properties": {"email": "ada@example.com"}},
        )
        [delivery] = await settled(emulator, "mixpanel", "delivered")
        [record] = emulator.events()
        routing = emulator.readable(record)["routing"]["mixpanel"]
    finally:
        await emulator.close()
    properties = delivery["requests"][0]["body"][0]["properties"]
    assert properties["email"] == "a***@example.com"
    assert properties["masked_by"] == "insert function"
    insert = routing["insertFunction"]
    assert insert["before"]["properties"] == {"email": "ada@example.com"}
    assert insert["after"]["properties"]["email"] == "a***@example.com"
    # The stored call is unchanged: other destinations see it as sent.
    assert record["event"]["properties"] == {"email": "ada@example.com"}


async def test_insert_function_drops_a_call() -> None:
    emulator = await started(
        destinations={"mixpanel": {"insert_function": str(FIXTURES / "mask-email.js")}}
    )
    try:
        send(emulator, {"type": "track", "event": "Internal Test"})
        [delivery] = await settled(emulator, "mixpanel", "filtered")
        [record] = emulator.events()
        routing = emulator.readable(record)["routing"]["mixpanel"]
    finally:
        await emulator.close()
    assert delivery["requests"] == []
    assert delivery["reason"] == (
        "insert function: Unsupported Event Type: DropEvent: internal test events stay out "
        "of the destination (line 6)"
    )
    assert routing["insertFunction"]["before"]["event"] == "Internal Test"
    assert "after" not in routing["insertFunction"]


async def test_a_mapping_that_fails_on_the_changed_call_fails_the_delivery(
    tmp_path: Path,
) -> None:
    fn = tmp_path / "insert.js"
    fn.write_text("async function onTrack(event) { delete event.event; return event }\n")
    emulator = await started(destinations={"mixpanel": {"insert_function": str(fn)}})
    try:
        send(emulator, {"type": "track", "event": "Signed Up"})
        [delivery] = await settled(emulator, "mixpanel", "failed")
    finally:
        await emulator.close()
    assert delivery["requests"] == []
    assert delivery["reason"].startswith("attempt 1 failed (mapping failed: ")
