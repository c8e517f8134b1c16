"""The Tracking API over real sockets: routes, write keys, encodings, limits, CORS, bad input.

Expected answers follow DOCS http-api (§Errors, §Max request size, §Authentication) and the
SDK captures in reference/sdk-captures/.
"""

from __future__ import annotations

import base64
import gzip
import zlib
from typing import Any
from urllib.parse import quote

import aiohttp
import orjson
import pytest

from segemu.http.server import RunningServer
from tests.conftest import get_json

BASIC = {"Authorization": "Basic " + base64.b64encode(b"wk_test:").decode()}


def track(**fields: Any) -> dict[str, Any]:
    return {"type": "track", "event": "Order Completed", "userId": "u_1", **fields}


async def post(
    http: aiohttp.ClientSession,
    url: str,
    body: Any,
    *,
    headers: dict[str, str] | None = None,
    raw: bytes | None = None,
) -> tuple[int, Any, aiohttp.ClientResponse]:
    data = raw if raw is not None else orjson.dumps(body)
    async with http.post(url, data=data, headers=BASIC if headers is None else headers) as response:
        text = await response.read()
        parsed = orjson.loads(text) if text else None
        return response.status, parsed, response


async def stored(http: aiohttp.ClientSession, server: RunningServer, **query: str) -> Any:
    params = "&".join(f"{k}={v}" for k, v in query.items())
    return (await get_json(http, f"{server.url}/_segemu/events?{params}"))["events"]


async def assert_still_serving(http: aiohttp.ClientSession, server: RunningServer) -> None:
    health = await get_json(http, f"{server.url}/_segemu/health")
    assert health["status"] == "ok"


@pytest.mark.parametrize("route", ["identify", "track", "page", "screen", "group", "alias"])
async def test_each_single_route_stores_its_type(
    server: RunningServer, http: Any, route: str
) -> None:
    body = {"userId": "u_1", "event": "E", "groupId": "g", "previousId": "p", "name": "N"}
    status, answer, _ = await post(http, f"{server.url}/v1/{route}", body)
    assert (status, answer) == (200, {"success": True})
    [record] = await stored(http, server)
    assert record["type"] == route
    assert record["status"] == "accepted"
    assert record["writeKey"] == "wk_test"
    assert record["route"] == f"/v1/{route}"


@pytest.mark.parametrize(
    ("short", "kind"),
    [
        ("t", "track"),
        ("i", "identify"),
        ("p", "page"),
        ("s", "screen"),
        ("g", "group"),
        ("a", "alias"),
    ],
)
async def test_browser_short_routes_take_text_plain(
    server: RunningServer, http: Any, short: str, kind: str
) -> None:
    """analytics-next posts each event to /v1/<initial> as text/plain (sdk-captures)."""
    body = {
        "type": kind,
        "userId": "u",
        "anonymousId": "a",
        "event": "E",
        "groupId": "g",
        "previousId": "p",
        "writeKey": "browser_key",
        "sentAt": "2026-11-22T04:24:20.805Z",
        "timestamp": "2026-11-22T04:24:20.800Z",
    }
    headers = {"Content-Type": "text/plain", "Origin": "http://localhost:3000"}
    status, answer, response = await post(http, f"{server.url}/v1/{short}", body, headers=headers)
    assert (status, answer) == (200, {"success": True})
    assert response.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
    [record] = await stored(http, server)
    assert (record["type"], record["writeKey"], record["status"]) == (
        kind,
        "browser_key",
        "accepted",
    )
    assert record["event"]["channel"] == "client"
    assert record["event"]["context"]["ip"] == "127.0.0.1"


@pytest.mark.parametrize("route", ["batch", "import", "b", "batch/"])
async def test_batch_routes(server: RunningServer, http: Any, route: str) -> None:
    body = {
        "batch": [track(), {"type": "identify", "userId": "u_1"}],
        "writeKey": "wk_body",
        "sentAt": "2026-11-22T04:21:28.648364+00:00",
    }
    status, _, _ = await post(http, f"{server.url}/v1/{route}", body, headers={})
    assert status == 200
    records = await stored(http, server)
    assert [r["type"] for r in records] == ["identify", "track"]
    assert {r["writeKey"] for r in records} == {"wk_body"}


async def test_write_key_from_bearer_plus_body(server: RunningServer, http: Any) -> None:
    """DOCS http-api §Authentication (OAuth): Bearer token, writeKey in the payload."""
    headers = {"Authorization": "Bearer some.oauth.token"}
    status, _, _ = await post(
        http, f"{server.url}/v1/track", track(writeKey="wk_oauth"), headers=headers
    )
    assert status == 200
    [record] = await stored(http, server)
    assert record["writeKey"] == "wk_oauth"


async def test_write_key_per_batch_item(server: RunningServer, http: Any) -> None:
    body = {"batch": [track(writeKey="a"), track(writeKey="b", messageId="m2")]}
    await post(http, f"{server.url}/v1/b", body, headers={})
    records = await stored(http, server)
    assert [r["writeKey"] for r in records] == ["b", "a"]


async def test_basic_auth_without_the_colon_still_works(server: RunningServer, http: Any) -> None:
    """DOCS: "encoding the write key without a colon might work due to backward
    compatibility"."""
    headers = {"Authorization": "Basic " + base64.b64encode(b"nocolon").decode()}
    await post(http, f"{server.url}/v1/track", track(), headers=headers)
    [record] = await stored(http, server)
    assert record["writeKey"] == "nocolon"


async def test_no_write_key_anywhere_is_a_400(server: RunningServer, http: Any) -> None:
    status, answer, _ = await post(http, f"{server.url}/v1/track", track(), headers={})
    assert status == 400
    assert answer["code"] == "no_write_key"
    assert await stored(http, server) == []


async def test_gzip_body_is_decoded(server: RunningServer, http: Any) -> None:
    raw = gzip.compress(orjson.dumps({"batch": [track()]}))
    status, _, _ = await post(
        http, f"{server.url}/v1/batch", None, raw=raw, headers={**BASIC, "Content-Encoding": "gzip"}
    )
    assert status == 200
    [record] = await stored(http, server)
    assert record["event"]["event"] == "Order Completed"


async def test_deflate_body_is_decoded(server: RunningServer, http: Any) -> None:
    raw = zlib.compress(orjson.dumps(track()))
    status, _, _ = await post(
        http,
        f"{server.url}/v1/track",
        None,
        raw=raw,
        headers={**BASIC, "Content-Encoding": "deflate"},
    )
    assert status == 200
    assert len(await stored(http, server)) == 1


async def test_gzip_bomb_stops_at_the_cap(server: RunningServer, http: Any) -> None:
    # 200 MB of zeros compress to ~200 KB; decompression must stop at the 500 KB cap.
    bomb = gzip.compress(b'{"batch": [' + b" " * 200_000_000 + b"]}", compresslevel=9)
    assert len(bomb) < 500 * 1024
    status, answer, _ = await post(
        http,
        f"{server.url}/v1/batch",
        None,
        raw=bomb,
        headers={**BASIC, "Content-Encoding": "gzip"},
    )
    assert status == 400
    assert answer["code"] == "too_large"
    assert "after decompression" in answer["message"]
    await assert_still_serving(http, server)


@pytest.mark.parametrize(
    ("raw", "encoding", "code"),
    [
        (b"this is not gzip", "gzip", "invalid_encoding"),
        (gzip.compress(orjson.dumps(track()))[:-10], "gzip", "invalid_encoding"),
        (b"{}", "br", "unsupported_encoding"),
    ],
    # Stable ids: the truncated gzip bytes hold a timestamp, which pytest-xdist's workers
    # would see differently at collection.
    ids=["not-gzip", "truncated-gzip", "brotli"],
)
async def test_bad_encodings_are_400(
    server: RunningServer, http: Any, raw: bytes, encoding: str, code: str
) -> None:
    status, answer, _ = await post(
        http,
        f"{server.url}/v1/track",
        None,
        raw=raw,
        headers={**BASIC, "Content-Encoding": encoding},
    )
    assert (status, answer["code"]) == (400, code)
    await assert_still_serving(http, server)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b'{"event": "x",', "body is not valid JSON"),
        (b"", "body is empty"),
        (b"[1, 2]", "body must be a JSON object"),
        (b'"track"', "body must be a JSON object"),
        (b"\xff\xfe{}", "body is not valid JSON"),
    ],
)
async def test_malformed_json_is_a_400_with_a_json_error(
    server: RunningServer, http: Any, raw: bytes, message: str
) -> None:
    """DOCS http-api §Errors: JSON errors get a 400."""
    status, answer, response = await post(http, f"{server.url}/v1/track", None, raw=raw)
    assert status == 400
    assert response.headers["Content-Type"].startswith("application/json")
    assert answer["success"] is False
    assert answer["code"] == "invalid_json"
    assert answer["message"].startswith(message)
    await assert_still_serving(http, server)


async def test_batch_without_batch_array_is_a_400(server: RunningServer, http: Any) -> None:
    status, answer, _ = await post(http, f"{server.url}/v1/batch", {"batch": {"type": "x"}})
    assert (status, answer["code"]) == (400, "invalid_batch")


async def test_single_event_over_32kb_is_a_400(server: RunningServer, http: Any) -> None:
    """DOCS http-api §Max request size: 32 KB per call."""
    body = track(properties={"blob": "x" * (32 * 1024)})
    status, answer, _ = await post(http, f"{server.url}/v1/track", body)
    assert (status, answer["code"]) == (400, "too_large")
    assert "32 KB" in answer["message"]
    assert await stored(http, server) == []
    # The refusal is visible in the summary, so it did not vanish either.
    summary = await get_json(http, f"{server.url}/_segemu/summary")
    assert summary["refusedRequests"] == 1
    assert summary["recentRequestErrors"][0]["code"] == "too_large"


async def test_event_just_under_32kb_is_accepted(server: RunningServer, http: Any) -> None:
    body = track(properties={"blob": "x" * (32 * 1024 - 200)})
    status, _, _ = await post(http, f"{server.url}/v1/track", body)
    assert status == 200


async def test_batch_over_500kb_is_a_400(server: RunningServer, http: Any) -> None:
    batch = [track(messageId=f"m{i}", properties={"blob": "x" * 20_000}) for i in range(30)]
    status, answer, _ = await post(http, f"{server.url}/v1/batch", {"batch": batch})
    assert (status, answer["code"]) == (400, "too_large")
    assert "500 KB" in answer["message"]
    assert await stored(http, server) == []


async def test_one_event_over_32kb_in_a_batch_refuses_the_batch(
    server: RunningServer, http: Any
) -> None:
    """DOCS http-api §Errors: "a limit of 32KB per event in the batch. If these limits are
    exceeded, Segment returns a 400 Bad Request error." The whole request is refused."""
    batch = [track(messageId="ok"), track(messageId="big", properties={"b": "x" * 40_000})]
    status, answer, _ = await post(http, f"{server.url}/v1/batch", {"batch": batch})
    assert status == 400
    assert answer["message"].startswith("batch[1] is")
    assert await stored(http, server) == []


async def test_more_than_2500_events_are_accepted_then_dropped(
    server: RunningServer, http: Any
) -> None:
    """DOCS http-api §Errors lists "more than 2500 events in a batch" among the calls that
    get a 200 and are not accepted: every item is stored as rejected, with the reason."""
    batch = [{"type": "identify", "userId": "u", "messageId": f"m{i}"} for i in range(2501)]
    status, answer, _ = await post(http, f"{server.url}/v1/batch", {"batch": batch})
    assert (status, answer) == (200, {"success": True})
    summary = await get_json(http, f"{server.url}/_segemu/summary")
    assert summary["byStatus"] == {"accepted": 0, "rejected": 2501, "duplicate": 0}
    [record] = await stored(http, server, limit="1")
    assert record["reason"] == "batch has 2,501 events; Segment drops batches of more than 2,500"


async def test_bad_items_do_not_spoil_the_rest_of_the_batch(
    server: RunningServer, http: Any
) -> None:
    batch = [
        track(messageId="good"),
        42,
        {"type": "track", "userId": "u"},
        {"type": "identify", "anonymousId": "anon", "messageId": "good2"},
    ]
    status, _, _ = await post(http, f"{server.url}/v1/batch", {"batch": batch})
    assert status == 200
    records = await stored(http, server)
    assert [(r["status"], r["reason"]) for r in reversed(records)] == [
        ("accepted", None),
        ("rejected", "batch item is not a JSON object (got number)"),
        ("rejected", "track call has no event name"),
        ("accepted", None),
    ]


async def test_retry_with_same_message_id_is_a_visible_duplicate(
    server: RunningServer, http: Any
) -> None:
    """DOCS guides/duplicate-data.md: Segment dedupes by messageId; SDK retries resend the
    same messageId with a new sentAt (sdk-captures, scenario retry)."""
    body = {"batch": [track(messageId="retry-me")], "sentAt": "2026-11-22T04:21:28.1Z"}
    await post(http, f"{server.url}/v1/batch", body)
    body["sentAt"] = "2026-11-22T04:21:29.1Z"
    await post(http, f"{server.url}/v1/batch", body, headers={**BASIC, "X-Retry-Count": "1"})
    accepted = await stored(http, server, status="accepted")
    duplicates = await stored(http, server, status="duplicate")
    assert len(accepted) == 1
    assert len(duplicates) == 1
    assert duplicates[0]["duplicateOf"] == accepted[0]["id"]


async def test_telemetry_is_counted_not_stored(server: RunningServer, http: Any) -> None:
    """analytics-next posts {"series": [...]} to /v1/m, text/plain, no Authorization."""
    body = {
        "series": [
            {
                "type": "Counter",
                "metric": "analytics_js.invoke",
                "value": 1,
                "tags": {"library": "analytics.js"},
            }
        ]
    }
    status, _, _ = await post(
        http, f"{server.url}/v1/m", body, headers={"Content-Type": "text/plain"}
    )
    assert status == 200
    assert await stored(http, server) == []
    summary = await get_json(http, f"{server.url}/_segemu/summary")
    assert summary["metrics"] == {"requests": 1, "series": 1}


async def test_pixel_answers_a_gif_and_ingests_the_event(server: RunningServer, http: Any) -> None:
    data = base64.b64encode(orjson.dumps({"writeKey": "px", "userId": "u", "event": "Open"}))
    async with http.get(f"{server.url}/v1/pixel/track?data={data.decode()}") as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "image/gif"
        assert (await response.read()).startswith(b"GIF89a")
    [record] = await stored(http, server)
    assert (record["type"], record["writeKey"], record["event"]["event"]) == ("track", "px", "Open")


async def test_pixel_takes_the_unencoded_form(server: RunningServer, http: Any) -> None:
    # DOCS pixel-tracking-api: "If you choose not to encode your payload, send it like this".
    query = (
        "?userId=user_123&event=Email%20Opened&properties.subject=The%20Electric%20Daily"
        "&properties.email=jane.kim@example.com&writeKey=px"
    )
    async with http.get(f"{server.url}/v1/pixel/track{query}") as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "image/gif"
    [record] = await stored(http, server)
    event = record["event"]
    assert (record["writeKey"], event["userId"], event["event"]) == (
        "px",
        "user_123",
        "Email Opened",
    )
    assert event["properties"] == {"subject": "The Electric Daily", "email": "jane.kim@example.com"}
    # A pixel names no library: Segment stores its "unknown" one.
    assert event["context"]["library"] == {"name": "unknown", "version": "unknown"}


async def test_pixel_data_may_be_json_without_base64(server: RunningServer, http: Any) -> None:
    # DOCS pixel-tracking-api: "The base64 encoding is optional".
    data = quote(orjson.dumps({"writeKey": "px", "userId": "u", "event": "Open"}).decode())
    async with http.get(f"{server.url}/v1/pixel/track?data={data}") as response:
        assert response.status == 200
    [record] = await stored(http, server)
    assert record["event"]["event"] == "Open"


@pytest.mark.parametrize("query", ["", "?data=%%%", "?data=bm90IGpzb24="])
async def test_pixel_answers_a_gif_even_for_garbage(
    server: RunningServer, http: Any, query: str
) -> None:
    """DOCS pixel-tracking-api: "always responds with a 200 <empty-gif>"."""
    async with http.get(f"{server.url}/v1/pixel/track{query}") as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "image/gif"
    assert await stored(http, server) == []


async def test_preflight_allows_what_analytics_next_sends(server: RunningServer, http: Any) -> None:
    """sdk-captures: OPTIONS with Access-Control-Request-Headers: authorization,x-retry-count."""
    headers = {
        "Origin": "http://localhost:5173",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,x-retry-count",
    }
    async with http.options(f"{server.url}/v1/t", headers=headers) as response:
        assert response.status == 204
        allowed = response.headers["Access-Control-Allow-Headers"].lower()
        assert {"content-type", "authorization", "x-retry-count"} <= {
            h.strip() for h in allowed.split(",")
        }
        assert "POST" in response.headers["Access-Control-Allow-Methods"]
        assert response.headers["Access-Control-Allow-Origin"] == "http://localhost:5173"
        assert response.headers["Access-Control-Allow-Credentials"] == "true"


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/v1/track"), ("POST", "/v1/m"), ("GET", "/v1/nope"), ("GET", "/v1/track")],
)
async def test_every_tracking_response_carries_cors(
    server: RunningServer, http: Any, method: str, path: str
) -> None:
    async with http.request(method, f"{server.url}{path}", data=b"{}") as response:
        assert response.headers["Access-Control-Allow-Origin"] == "*"


async def test_unknown_routes_get_a_json_404(server: RunningServer, http: Any) -> None:
    # (POST / is a Source Function's webhook in Segment's ?b= form: GET / is a 405.)
    for method, path in [
        ("POST", "/v2/track"),
        ("GET", "/nope"),
        ("GET", "/_segemu/nope"),
    ]:
        async with http.request(method, f"{server.url}{path}") as response:
            assert response.status == 404, path
            answer = await response.json()
            assert answer["code"] == "not_found"
            assert path.split("?")[0] in answer["message"]


async def test_a_raw_http_call_is_stored_as_segment_stores_it(
    server: RunningServer, http: Any
) -> None:
    # A call with no library, no messageId and no timestamp, as curl sends it.
    status, _, _ = await post(
        http, f"{server.url}/v1/track", {"writeKey": "k", "userId": "u", "event": "Signed Up"}
    )
    assert status == 200
    [record] = await stored(http, server)
    event = record["event"]
    assert event["context"]["library"] == {"name": "unknown", "version": "unknown"}
    assert event["messageId"].startswith("api-")
    assert len(event["messageId"]) == 31
    assert event["projectId"] == "default"  # the source's name stands in for its id
    assert "originalTimestamp" not in event
    shown = await get_json(http, f"{server.url}/_segemu/events/{event['messageId']}")
    [mixpanel] = shown["deliveries"]["mixpanel"]["requests"]
    [amplitude] = shown["deliveries"]["amplitude"]["requests"]
    # The library reaches the destinations as it does from Segment.
    assert mixpanel["body"][0]["properties"]["mp_lib"] == "Segment Actions: unknown"
    assert amplitude["body"]["events"][0]["library"] == "unknown"
    # No made-up original_timestamp column in the warehouse either.
    tracks = next(
        r for r in shown["deliveries"]["warehouse"]["requests"] if r["action"] == "tracks"
    )
    assert "original_timestamp" not in tracks["body"]
    assert tracks["body"]["context_library_name"] == "unknown"
