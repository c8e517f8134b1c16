"""The Node runtime: the globals and libraries Segment's runtime provides (segment-docs
src/_includes/content/functions/runtime.md), timeouts (usage.md §Execution timeouts: five
seconds), a hanging function and a crashing worker, a syntax error and a hot reload."""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from pathlib import Path
from typing import Any

import pytest

from segemu import create_emulator
from segemu.config import ConfigError
from segemu.emulator import Emulator
from segemu.functions.config import FunctionFile
from tests.functions.conftest import started

GLOBALS = [
    "fetch",
    "Request",
    "Response",
    "Headers",
    "URL",
    "URLSearchParams",
    "atob",
    "btoa",
    "crypto",
    "Buffer",
    "console",
    "setTimeout",
    "cache",
    "Segment",
    "EventNotSupported",
    "InvalidEventPayload",
    "ValidationError",
    "RetryError",
    "DropEvent",
    # Preloaded libraries, exposed under Segment's names.
    "_",
    "moment",
    "jsonwebtoken",
    "xml",
    "xml2js",
    "uuidv5",
    "OAuth",
    "FormData",
    "zlib",
    "https",
]


async def with_function(tmp_path: Path, code: str, **functions: Any) -> Emulator:
    path = tmp_path / "fn.js"
    path.write_text(code)
    return await started(destinations={"fn": {"function": str(path)}}, functions=functions)


def fn_file(emulator: Emulator) -> FunctionFile:
    destination = emulator.destinations.get("fn")
    assert destination is not None
    assert destination.functions is not None
    assert destination.functions.function is not None
    return destination.functions.function


async def test_segments_globals_and_libraries_exist_and_work(tmp_path: Path) -> None:
    code = (
        "async function onTrack(event, settings) {\n"
        f"  const names = {GLOBALS!r}\n"
        "  const types = Object.fromEntries(names.map((n) => [n, typeof globalThis[n]]))\n"
        "  const token = jsonwebtoken.sign({sub: 'u1'}, 'secret', {noTimestamp: true})\n"
        "  return {\n"
        "    types,\n"
        "    lodash: _.chunk([1, 2, 3], 2),\n"
        "    moment: moment.tz('2024-01-01T12:00:00Z', 'Asia/Tokyo').format('HH:mm'),\n"
        "    jwt: jsonwebtoken.verify(token, 'secret').sub,\n"
        "    xml: xml({a: 'b'}),\n"
        "    uuid: uuidv5.uuidv5('url', 'http://example.com'),\n"
        "    b64: btoa('hi') + atob('aGk='),\n"
        "    sha: crypto.createHash('sha256').update('x').digest('hex').slice(0, 8),\n"
        "    buffer: Buffer.from('hi').toString('hex'),\n"
        "    url: new URL('https://a.example/p?q=1').searchParams.get('q'),\n"
        "    gzip: zlib.zlib.gunzipSync(zlib.zlib.gzipSync('z')).toString(),\n"
        "    cached: await cache.load('k', 1000, async () => 'v'),\n"
        "    isolated: typeof process + typeof require,\n"
        "  }\n"
        "}\n"
    )
    emulator = await with_function(tmp_path, code)
    try:
        result, _ = await emulator.functions.invoke(fn_file(emulator), "onTrack", [{}])
    finally:
        await emulator.close()
    assert result.ok, result.error
    value = result.value
    missing = {name: kind for name, kind in value["types"].items() if kind == "undefined"}
    assert missing == {}
    assert value["lodash"] == [[1, 2], [3]]
    assert value["moment"] == "21:00"
    assert value["jwt"] == "u1"
    assert value["xml"] == "<a>b</a>"
    assert value["uuid"] == str(uuid.uuid5(uuid.NAMESPACE_URL, "http://example.com"))
    assert value["b64"] == "aGk=hi"
    assert value["sha"] == "2d711642"
    assert value["buffer"] == "6869"
    assert value["url"] == "1"
    assert value["gzip"] == "z"
    assert value["cached"] == "v"
    # No Node internals leak in: Segment exposes only the modules it lists.
    assert value["isolated"] == "undefinedundefined"


async def test_an_async_hang_times_out_and_the_worker_serves_on(tmp_path: Path) -> None:
    code = (
        "async function onTrack(event) {\n"
        "  if (event.hang) { await new Promise(() => {}) }\n"
        "  return 'ok'\n"
        "}\n"
    )
    emulator = await with_function(tmp_path, code, timeout=0.3, workers=1)
    try:
        pool = emulator.functions.pool
        assert pool is not None
        pids = [w.pid for w in pool.workers]
        hung, _ = await emulator.functions.invoke(fn_file(emulator), "onTrack", [{"hang": True}])
        fine, _ = await emulator.functions.invoke(fn_file(emulator), "onTrack", [{}])
        assert [w.pid for w in pool.workers] == pids
    finally:
        await emulator.close()
    assert hung.error is not None
    assert (hung.error["name"], hung.error["message"]) == ("Timeout", "timed out after 300 ms")
    assert fine.value == "ok"


async def test_a_synchronous_loop_is_stopped_and_a_blocked_worker_replaced(
    tmp_path: Path,
) -> None:
    code = (
        "async function onTrack(event) {\n"
        "  if (event.at === 'start') { while (true) {} }\n"
        "  if (event.at === 'later') { await null; while (true) {} }\n"
        "  return 'ok'\n"
        "}\n"
    )
    emulator = await with_function(tmp_path, code, timeout=0.3, workers=1)
    try:
        pool = emulator.functions.pool
        assert pool is not None
        file = fn_file(emulator)
        first_pid = pool.workers[0].pid
        # Before the first await, vm's own timeout stops the loop: the worker stays.
        start, _ = await emulator.functions.invoke(file, "onTrack", [{"at": "start"}])
        assert pool.workers[0].pid == first_pid
        # After it, only replacing the worker stops it.
        later, _ = await emulator.functions.invoke(file, "onTrack", [{"at": "later"}])
        after, _ = await emulator.functions.invoke(file, "onTrack", [{}])
        assert [w.pid for w in pool.workers] != [first_pid]
        assert pool.restarts == 1
    finally:
        await emulator.close()
    assert start.error is not None
    assert start.error["name"] == "Timeout"
    assert "timed out" in start.error["message"]
    assert later.error is not None
    assert later.error["name"] == "Timeout"
    assert "blocked its Node worker" in later.error["message"]
    assert after.value == "ok"  # the replacement loaded the function again


async def test_a_crashed_worker_fails_the_call_it_held_and_is_replaced(tmp_path: Path) -> None:
    code = "async function onTrack(event) {\n  await fetch('https://slow.example/')\n}\n"
    emulator = await with_function(tmp_path, code, workers=1)
    fetching = asyncio.Event()

    async def answer(request: dict[str, Any], recorded: list[dict[str, Any]]) -> dict[str, Any]:
        fetching.set()
        await asyncio.Event().wait()  # never answers: the worker dies first
        return {}

    try:
        emulator.functions.policy.answer = answer  # type: ignore[method-assign]
        pool = emulator.functions.pool
        assert pool is not None
        call = asyncio.create_task(emulator.functions.invoke(fn_file(emulator), "onTrack", [{}]))
        await fetching.wait()
        os.kill(pool.workers[0].pid, signal.SIGKILL)
        result, _ = await call
        emulator.functions.policy.answer = lambda request, recorded: _ok()  # type: ignore[method-assign]
        again, _ = await emulator.functions.invoke(fn_file(emulator), "onTrack", [{}])
    finally:
        await emulator.close()
    assert result.error is not None
    assert result.error["name"] == "WorkerCrashed"
    assert result.error["message"].startswith("the Node worker exited (code -9)")
    assert again.ok


async def _ok() -> dict[str, Any]:
    return {"ok": True, "status": 200, "headers": {}, "body": ""}


async def test_a_syntax_error_names_file_and_line_and_the_last_good_version_runs(
    tmp_path: Path,
) -> None:
    path = tmp_path / "fn.js"
    emulator = await with_function(tmp_path, "async function onTrack() { return 1 }\n")
    try:
        file = fn_file(emulator)
        path.write_text("async function onTrack() {\n  return 2\n  if (\n}\n")
        await emulator.functions.reload()
        [described] = emulator.functions.describe()
        still, _ = await emulator.functions.invoke(file, "onTrack", [{}])
        path.write_text("async function onTrack() {\n  return 3\n}\n// fixed\n")
        await emulator.functions.reload()
        fixed, _ = await emulator.functions.invoke(file, "onTrack", [{}])
        [after] = emulator.functions.describe()
    finally:
        await emulator.close()
    error = described["error"]
    assert (error["name"], error["file"], error["line"]) == ("SyntaxError", str(path), 4)
    assert error["message"] == "Unexpected token '}'"
    assert still.value == 1
    assert fixed.value == 3
    assert after["error"] is None


async def test_a_file_changed_on_disk_is_reloaded_by_the_watcher(tmp_path: Path) -> None:
    path = tmp_path / "fn.js"
    emulator = await with_function(tmp_path, "async function onTrack() { return 1 }\n")
    try:
        loaded = asyncio.Event()
        functions = emulator.functions
        original = functions._load

        async def load(state: Any) -> None:
            await original(state)
            loaded.set()

        functions._load = load  # type: ignore[method-assign]
        path.write_text("async function onTrack() { return 'reloaded' }\n")
        await asyncio.wait_for(loaded.wait(), 10)
        result, _ = await functions.invoke(fn_file(emulator), "onTrack", [{}])
    finally:
        await emulator.close()
    assert result.value == "reloaded"


def test_no_node_stops_start_up_saying_how_to_install_it(tmp_path: Path) -> None:
    path = tmp_path / "fn.js"
    path.write_text("async function onTrack() {}\n")
    with pytest.raises(ConfigError) as raised:
        create_emulator(
            db=":memory:",
            node=str(tmp_path / "no-node"),
            destinations={"fn": {"function": str(path)}},
        )
    message = str(raised.value)
    assert "is not an executable" in message
    assert "install Node.js 18 or later" in message


def test_a_missing_function_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\[sources.hook\]: function file 'nope.js' not found"):
        create_emulator(db=":memory:", sources={"hook": {"function": "nope.js"}})


def test_a_missing_library_says_how_to_install_it(tmp_path: Path) -> None:
    # The worker alone, where no runtime/node_modules sits beside it.
    import json
    import shutil
    import subprocess

    from segemu.functions.node import WORKER

    worker = tmp_path / "worker.js"
    shutil.copy(WORKER, worker)
    node = shutil.which("node")
    assert node is not None
    lines = [
        {
            "op": "load",
            "key": "k",
            "file": "f.js",
            "code": "async function onTrack() {\n  return typeof btoa + ' ' + _.chunk([1], 1)\n}\n",
        },
        {"op": "invoke", "id": 1, "key": "k", "handler": "onTrack", "args": [{}], "timeout": 5000},
    ]
    env = {**os.environ, "SEGEMU_FUNCTIONS_MODULES": "", "SEGEMU_FUNCTIONS_INSTALL": "npm ci"}
    out = subprocess.run(
        [node, str(worker)],
        input="".join(json.dumps(line) + "\n" for line in lines),
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=True,
    ).stdout
    messages = [json.loads(line) for line in out.splitlines()]
    ready, loaded, result = messages[0], messages[1], messages[-1]
    assert ready["libraries"]["_"] is False
    assert loaded["ok"] is True
    assert result["error"]["name"] == "ReferenceError"
    assert result["error"]["message"] == (
        "lodash is not installed for segemu's Functions runtime: run `npm ci`"
    )
