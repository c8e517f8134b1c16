"""`segemu send` and `segemu replay` as a user runs them, against a stand-in endpoint and a
real segemu: batches, write keys, retries, and a replay interrupted then taken up again."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from segemu import create_emulator
from segemu.http.server import start_server
from segemu.query import EventFilter

from .support import ROOT, StandIn, segemu, start_segemu, start_stand_in

SPEC = ROOT / "fixtures" / "spec"


@pytest.fixture
async def stand_in() -> AsyncIterator[StandIn]:
    endpoint = StandIn()
    runner = await start_stand_in(endpoint)
    yield endpoint
    await runner.cleanup()


def calls_file(path: Path, count: int, key: str | None = None) -> Path:
    with path.open("w") as out:
        for number in range(count):
            call = {
                "type": "track",
                "event": "E",
                "userId": f"u{number}",
                "messageId": f"m-{number}",
            }
            if key:
                call["writeKey"] = key
            out.write(json.dumps(call) + "\n")
    return path


async def test_send_one_call_a_file_and_stdin_to_segemu(tmp_path: Path) -> None:
    server = await start_server(create_emulator(db=":memory:"), "127.0.0.1", 0)
    try:
        inline = '{"type": "track", "event": "Signed Up", "userId": "u1"}'
        done = await segemu("send", "--url", server.url, "-k", "k1", inline, cwd=tmp_path)
        assert done.status == 0, done.stderr
        assert done.stdout.startswith(f"1 sent, 0 retried to {server.url}/v1/batch")
        done = await segemu(
            "send", "--url", server.url, "-k", "k2", str(SPEC / "video.jsonl"), cwd=tmp_path
        )
        assert done.stdout.startswith("33 sent")
        batch = {
            "batch": [
                json.loads(line) for line in (SPEC / "lifecycle.jsonl").read_text().splitlines()
            ],
            "writeKey": "k3",
        }
        done = await segemu(
            "send", "--url", server.url, "-", cwd=tmp_path, stdin=json.dumps(batch).encode()
        )
        assert done.stdout.startswith("28 sent")
        counts = server.emulator.summary()["byWriteKey"]
    finally:
        await server.stop()
    assert counts == {"k1": 1, "k2": 33, "k3": 28}


async def test_send_without_a_write_key_says_so(tmp_path: Path) -> None:
    done = await segemu("send", "--url", "http://127.0.0.1:9", '{"type": "track"}', cwd=tmp_path)
    assert done.status == 1
    assert "1 without a write key (not sent)" in done.stdout
    assert "give a write key with -k KEY" in done.stderr
    done = await segemu("send", "nope.jsonl", cwd=tmp_path)
    assert done.status == 2
    assert "no such file: nope.jsonl" in done.stderr


async def test_replay_batches_maps_keys_and_retries(stand_in: StandIn, tmp_path: Path) -> None:
    stand_in.answers = [(500, {}), (429, {"Retry-After": "0"}), (400, {})]
    calls_file(tmp_path / "calls.jsonl", 250, key="local")
    done = await segemu(
        "replay",
        "calls.jsonl",
        "--to",
        stand_in.url,
        "--map-key",
        "local=remote",
        "--batch-size",
        "100",
        "--concurrency",
        "1",
        cwd=tmp_path,
    )
    # The first batch: 500, then 429, then sent; the second refused (400, never retried).
    assert done.status == 1
    assert "150 sent, 100 refused, 200 retried" in done.stdout
    assert "100 call(s) of 'remote' refused: HTTP 400" in done.stderr
    assert {r.write_key for r in stand_in.requests} == {"remote"}
    assert [len(r.calls) for r in stand_in.requests] == [100, 100, 100, 100, 50]
    assert [r.retry_count for r in stand_in.requests][:3] == [None, "1", "2"]
    assert not (tmp_path / ".segemu-replay.json").exists()


async def test_an_interrupted_replay_takes_up_where_it_stopped(
    stand_in: StandIn, tmp_path: Path
) -> None:
    calls_file(tmp_path / "calls.jsonl", 1000, key="k")
    third = asyncio.Event()
    release = asyncio.Event()

    async def hold(number: int) -> None:
        # Three batches go through; the fourth is held until the replay is interrupted.
        if number == 4:
            third.set()
            await release.wait()

    stand_in.before_answer = hold
    args = (
        "replay",
        "calls.jsonl",
        "--to",
        stand_in.url,
        "--batch-size",
        "100",
        "--concurrency",
        "1",
    )
    process = await start_segemu(*args, cwd=tmp_path)
    await asyncio.wait_for(third.wait(), 30)
    process.send_signal(signal.SIGINT)
    _, err = await process.communicate()
    release.set()
    assert process.returncode == 130, err.decode()
    assert "Interrupted: calls up to 300 are done" in err.decode()
    state = json.loads((tmp_path / ".segemu-replay.json").read_text())
    assert state["done"] == 300

    stand_in.before_answer = None
    done = await segemu(*args, cwd=tmp_path)
    assert done.status == 0, done.stderr
    assert "from call 301" in done.stdout
    assert "700 sent" in done.stdout
    assert "300 skipped" in done.stdout
    # Every call arrived; only the batch in flight at the interruption may come twice, with
    # its messageIds, which the receiving end deduplicates.
    received = [call["messageId"] for call in stand_in.accepted()]
    assert set(received) == {f"m-{n}" for n in range(1000)}
    assert len(received) <= 1100
    assert not (tmp_path / ".segemu-replay.json").exists()


async def test_replay_a_store_filtered_by_a_query(tmp_path: Path) -> None:
    source = await start_server(create_emulator(db=str(tmp_path / "db")), "127.0.0.1", 0)
    target = await start_server(create_emulator(db=":memory:"), "127.0.0.1", 0)
    try:
        for name in ("ecommerce", "video"):
            await segemu(
                "send", "--url", source.url, "-k", name, str(SPEC / f"{name}.jsonl"), cwd=tmp_path
            )
        # Stopping writes every call to disk (a running one writes within its flush window).
        await source.stop()
        done = await segemu(
            "replay",
            "--db",
            "db",
            "--where",
            "event:Order*",
            "--to",
            target.url,
            cwd=tmp_path,
        )
        assert done.status == 0, done.stderr
        replayed = target.emulator.events(EventFilter())
    finally:
        await source.stop()
        await target.stop()
    assert sorted(r["event"]["event"] for r in replayed) == [
        "Order Cancelled",
        "Order Completed",
        "Order Refunded",
        "Order Updated",
    ]
    assert {r["writeKey"] for r in replayed} == {"ecommerce"}
