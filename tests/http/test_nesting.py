"""One nesting limit for every JSON body (segemu/jsonlimits.py): a call too deep to be written
again is refused with a 400, never acknowledged and then lost with everything after it."""

from __future__ import annotations

import asyncio
import base64
import json
import signal
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest

from segemu import create_emulator
from segemu.config import load_config
from segemu.emulator import Emulator
from segemu.http.server import RunningServer, start_server
from segemu.jsonlimits import ENCODER_DEPTH, MAX_DEPTH, RECORD_DEPTH, deeper_than
from segemu.message import Envelope
from tests.conftest import get_json
from tests.http.test_tracking import post
from tests.test_cli import Process, batch

# The call of issue 13, finding 1: 300 nested arrays in one property (made by hand: orjson
# cannot encode it).
DEEP_VALUE = b"[" * 300 + b"]" * 300
DEEP_TRACK = b'{"userId":"u","event":"Deep","properties":{"x":%s}}' % DEEP_VALUE


def nested(levels: int) -> Any:
    """A value of exactly `levels` levels: objects inside objects."""
    value: Any = {}
    for _ in range(levels - 1):
        value = {"x": value}
    return value


def at_the_limit(**fields: Any) -> dict[str, Any]:
    """A track call of exactly MAX_DEPTH levels: the call, properties, then the value."""
    return {
        "type": "track",
        "event": "Deep At The Limit",
        "userId": "u_deep",
        "properties": {"deep": nested(MAX_DEPTH - 2), "revenue": 9.5},
        **fields,
    }


def send(url: str, data: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    request = urllib.request.Request(url, data=data, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status), orjson.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, orjson.loads(error.read())


def test_the_limit_leaves_room_under_the_encoder() -> None:
    import orjson as encoder

    encoder.dumps(nested(ENCODER_DEPTH))
    with pytest.raises(TypeError, match="Recursion limit"):
        encoder.dumps(nested(ENCODER_DEPTH + 1))
    assert not deeper_than(at_the_limit(), MAX_DEPTH)
    assert deeper_than(orjson.loads(DEEP_TRACK), MAX_DEPTH)
    assert RECORD_DEPTH < ENCODER_DEPTH // 2


def test_a_deep_call_is_refused_and_every_acknowledged_call_survives(tmp_path: Path) -> None:
    # Issue 13, finding 1, as a web page would send it: text/plain to /v1/t, no preflight.
    first = Process("-p", "0", "-q", cwd=tmp_path)
    status, answer = send(
        f"{first.url}/v1/t",
        DEEP_TRACK.replace(b'{"userId"', b'{"writeKey":"cli_key","userId"'),
        {"Content-Type": "text/plain"},
    )
    assert status == 400
    assert answer["code"] == "too_deep"
    assert f"more than {MAX_DEPTH} levels" in answer["message"]
    for start in range(0, 2100, 100):
        assert first.post("/v1/batch", batch(start, 100)) == 200
    assert first.post("/_segemu/flush", {}) == 200
    page = first.get("/_segemu/events?limit=1000")
    while page["next"]:
        page = first.get(page["next"].removeprefix(first.url))
    summary = first.get("/_segemu/summary")
    assert summary["storeProblems"] == []
    assert summary["recentRequestErrors"][-1]["code"] == "too_deep"
    _, err = first.stop(signal.SIGTERM)
    assert first.popen.returncode == 0, err

    second = Process("-p", "0", "-q", cwd=tmp_path)
    assert "(2,100 loaded)" in "".join(second.banner)
    assert second.get("/_segemu/summary")["stored"] == 2100
    second.stop()
    assert second.popen.returncode == 0


async def test_a_large_batch_holding_a_deep_call_is_refused(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    # Over 32 KB, the batch's calls are measured one by one: that too encodes each call.
    filler = [
        {"type": "track", "event": "Filler", "userId": "u", "properties": {"pad": "x" * 1000}}
        for _ in range(40)
    ]
    deep_call = DEEP_TRACK.replace(b"{", b'{"type":"track",', 1)
    body = orjson.dumps({"batch": filler})[:-2] + b"," + deep_call + b"]}"
    assert len(body) > 32 * 1024
    status, answer, _ = await post(http, f"{server.url}/v1/batch", None, raw=body)
    assert status == 400
    assert answer["code"] == "too_deep"
    assert "a call in the batch" in answer["message"]
    assert (await get_json(http, f"{server.url}/_segemu/summary"))["stored"] == 0


@pytest.mark.parametrize(
    "body",
    [
        {"batch": [at_the_limit(properties={"deep": nested(MAX_DEPTH)})]},
        {"batch": [at_the_limit()], "context": {"deep": nested(MAX_DEPTH)}},
        {"batch": [at_the_limit()], "integrations": {"deep": nested(MAX_DEPTH)}},
    ],
    ids=["a call", "the batch's context", "the batch's integrations"],
)
async def test_a_batch_gives_its_calls_the_same_limit(
    server: RunningServer, http: aiohttp.ClientSession, body: Any
) -> None:
    status, answer, _ = await post(http, f"{server.url}/v1/batch", body)
    assert (status, answer["code"]) == (400, "too_deep")


async def test_a_deep_pixel_is_a_gif_and_not_stored(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    data = base64.b64encode(DEEP_TRACK.replace(b'{"userId"', b'{"writeKey":"wk","userId"'))
    async with http.get(f"{server.url}/v1/pixel/track?data={data.decode()}") as response:
        assert response.status == 200
        assert response.content_type == "image/gif"
    summary = await get_json(http, f"{server.url}/_segemu/summary")
    assert summary["stored"] == 0
    assert summary["recentRequestErrors"][-1]["code"] == "invalid_pixel"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/_segemu/assert", b'{"event":"Deep","fields":{"x":%s}}' % DEEP_VALUE),
        (
            "PUT",
            "/_segemu/destinations/x",
            b'{"preset":"mixpanel","settings":%s}' % DEEP_VALUE,
        ),
        ("POST", "/_segemu/reset", b'{"writeKey":"wk","extra":%s}' % DEEP_VALUE),
    ],
    ids=["assert", "put destination", "reset"],
)
async def test_control_bodies_have_the_same_limit(
    server: RunningServer, http: aiohttp.ClientSession, method: str, path: str, body: bytes
) -> None:
    # Issue 13, finding 1: these answered 500 when the answer echoed the body back.
    async with http.request(method, f"{server.url}{path}", data=body) as response:
        assert response.status == 400
        answer = await response.json()
    assert answer["code"] == "too_deep"
    assert (await get_json(http, f"{server.url}/_segemu/health"))["status"] == "ok"


# Every preset a config can name without a real endpoint, so each one's payloads wrap the call.
PRESETS = ("mixpanel", "amplitude", "ga4", "braze", "customerio", "intercom", "warehouse")


async def test_a_call_at_the_limit_is_stored_and_every_reader_shows_it(
    http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    config = load_config(
        {"db": str(tmp_path), "destinations": {name: {"preset": name} for name in PRESETS}},
        env={},
        discover=False,
    )
    running = await start_server(Emulator(config), "127.0.0.1", 0)
    try:
        await read_everything(http, running.url)
    finally:
        await running.stop()
    again = create_emulator(db=str(tmp_path))
    assert len(again.store) == 4
    await again.close()


async def read_everything(http: aiohttp.ClientSession, url: str) -> None:
    for kind, extra in (
        ("track", {}),
        ("identify", {"traits": {"deep": nested(MAX_DEPTH - 2)}}),
        ("page", {"name": "Home"}),
    ):
        call = {**at_the_limit(messageId=f"deep-{kind}"), **extra}
        status, _, _ = await post(http, f"{url}/v1/{kind}", call)
        assert status == 200
    status, _, _ = await post(
        http, f"{url}/v1/batch", {"batch": [at_the_limit(messageId="deep-batch")]}
    )
    assert status == 200
    events = (await get_json(http, f"{url}/_segemu/events"))["events"]
    assert len(events) == 4
    deep = nested(MAX_DEPTH - 2)
    assert all(event["event"]["properties"]["deep"] == deep for event in events)
    await get_json(http, f"{url}/_segemu/events/deep-track")
    await get_json(http, f"{url}/_segemu/events/deep-track/routing")
    for name in PRESETS:
        await get_json(http, f"{url}/_segemu/destinations/{name}/deliveries")
    await get_json(http, f"{url}/_segemu/violations?kind=all")
    async with http.get(f"{url}/_segemu/stream?backlog=10") as response:
        assert response.status == 200
        while b"event: record" not in (message := await response.content.readuntil(b"\n\n")):
            assert message
    # An assertion as deep as the limit allows, passing and failing (the verdict shows the
    # nearest miss, with its values).
    other = nested(MAX_DEPTH - 2)
    other["x"]["x"] = 1
    for expected, passed in ((deep, True), (other, False)):
        fields = {"event": "Deep At The Limit", "properties.deep": expected}
        async with http.post(f"{url}/_segemu/assert", json={"fields": fields}) as response:
            assert response.status == 200
            assert (await response.json())["passed"] is passed
    async with http.post(f"{url}/_segemu/flush") as response:
        assert response.status == 200
    summary = await get_json(http, f"{url}/_segemu/summary")
    assert summary["storeProblems"] == []


async def test_a_record_that_cannot_be_written_is_set_aside_and_the_rest_are_written(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    # Issue 13, finding 1: one such record made every flush fail. The Tracking API refuses it
    # now, so it is handed to the emulator in-process, as a part of segemu that let one
    # through would.
    emulator = create_emulator(db=str(tmp_path))
    running = await start_server(emulator, "127.0.0.1", 0)
    try:
        deep = orjson.loads(DEEP_TRACK)
        emulator.ingest(
            Envelope(
                route="/v1/track",
                items=[deep],
                route_type="track",
                header_write_key="wk",
                received_at=datetime.now(UTC),
            )
        )
        for number in range(5):
            call = {"event": "Fine", "userId": "u", "messageId": f"fine-{number}"}
            status, _, _ = await post(http, f"{running.url}/v1/track", call)
            assert status == 200
        async with http.post(f"{running.url}/_segemu/flush") as response:
            assert response.status == 200
        summary = await get_json(http, f"{running.url}/_segemu/summary")
        [problem] = summary["storeProblems"]
        assert "events_000000.json: document 1 could not be written (Recursion limit" in problem
        assert "kept in events_000000.json.unwritable-1-" in problem
        assert summary["stored"] == 5
        listed = await get_json(http, f"{running.url}/_segemu/events")
        assert [event["event"]["event"] for event in listed["events"]] == ["Fine"] * 5
    finally:
        await running.stop()
    again = create_emulator(db=str(tmp_path))
    assert sorted(record["messageId"] for record in again.store.newest_first()) == [
        f"fine-{number}" for number in range(5)
    ]
    assert again.store.problems == []
    await again.close()
    assert (await asyncio.to_thread(kept_aside, tmp_path))["1"]["raw"] == deep


def kept_aside(directory: Path) -> Any:
    [kept] = directory.glob("events_000000.json.unwritable-1-*")
    return json.loads(kept.read_text())
