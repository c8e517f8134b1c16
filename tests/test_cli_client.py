"""`segemu events | wait | assert | tail` against a running emulator, as a test runner in any
language (or a person in a terminal) uses them."""

from __future__ import annotations

import base64
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest
from click.testing import CliRunner, Result

from segemu.cli import cli
from segemu.config import load_config
from segemu.emulator import create_emulator
from segemu.http.sender import HttpSender
from segemu.http.server import RunningServer, start_server
from segemu.testing.thread import ThreadedEmulator

# Seconds a test waits for a line from `segemu tail` before it fails instead of hanging.
LINE_TIMEOUT = 10.0


class Emulator(ThreadedEmulator):
    """A ThreadedEmulator that can listen on a given port, to restart on the same one."""

    def __init__(self, db: str = ":memory:", port: int = 0) -> None:
        super().__init__(load_config({"db": db}, env={}, discover=False))
        self.port = port

    async def _start(self) -> RunningServer:
        emulator = create_emulator(self.config, sender=HttpSender())
        return await start_server(emulator, "127.0.0.1", self.port)


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    running = Emulator()
    running.start()
    yield running
    running.stop()
    assert running.take_errors() == []


def post(url: str, event: str, key: str = "key_a", **fields: Any) -> None:
    body = {"event": event, "userId": "u_1", **fields}
    request = urllib.request.Request(
        f"{url}/v1/track",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def populated(emulator: Emulator) -> Emulator:
    post(emulator.url, "Order Completed", properties={"revenue": 99.99}, messageId="o1")
    post(emulator.url, "Product Viewed", key="key_b", messageId="p1")
    post(emulator.url, "Order Completed", properties={"revenue": 10}, messageId="o2")
    return emulator


# -- segemu events ---------------------------------------------------------------------------


def test_events_prints_one_line_per_call_oldest_first(populated: Emulator) -> None:
    result = run("events", "--url", populated.url)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 3
    assert '"Order Completed"' in lines[0]
    assert '"Product Viewed"' in lines[1]
    assert "key=key_b" in lines[1]
    for line in lines:
        assert "accepted  track" in line
        assert "userId=u_1" in line


def test_events_json(populated: Emulator) -> None:
    result = run("events", "--url", populated.url, "--json")
    assert result.exit_code == 0, result.output
    records = json.loads(result.stdout)
    assert [r["messageId"] for r in records] == ["o1", "p1", "o2"]
    assert records[0]["event"]["properties"] == {"revenue": 99.99}


@pytest.mark.parametrize(
    ("args", "message_ids"),
    [
        (["--where", 'event:"Order Completed"'], ["o1", "o2"]),
        (["-w", "properties.revenue>50"], ["o1"]),
        (["--write-key", "key_b"], ["p1"]),
        (["-k", "key_a", "--where", "type:track"], ["o1", "o2"]),
        (["-n", "1"], ["o2"]),  # the last N, still oldest first
        (["-n", "2"], ["p1", "o2"]),
        (["--where", "event:Nothing"], []),
    ],
)
def test_events_filters(populated: Emulator, args: list[str], message_ids: list[str]) -> None:
    result = run("events", "--url", populated.url, "--json", *args)
    assert result.exit_code == 0, result.output
    assert [r["messageId"] for r in json.loads(result.stdout)] == message_ids


def test_events_url_from_the_environment(populated: Emulator) -> None:
    result = CliRunner().invoke(cli, ["events", "-n", "1"], env={"SEGEMU_URL": populated.url})
    assert result.exit_code == 0, result.output
    assert '"Order Completed"' in result.stdout


# -- segemu wait -----------------------------------------------------------------------------


def post_once_waiting(emulator: Emulator, event: str, method: str = "wait") -> threading.Thread:
    """Post `event` from another thread as soon as a long-poll has reached the server.

    The emulator's `method` (wait for /wait, check for /assert) is wrapped to say when it
    is entered: it parks its waiter before it first yields to the loop, so the post that
    follows can only wake it, never precede it.
    """
    entered = threading.Event()
    original = getattr(emulator.emulator, method)

    async def entering(*args: Any, **kwargs: Any) -> Any:
        entered.set()
        return await original(*args, **kwargs)

    setattr(emulator.emulator, method, entering)

    def poster() -> None:
        if entered.wait(LINE_TIMEOUT):
            post(emulator.url, event)

    thread = threading.Thread(target=poster, daemon=True)
    thread.start()
    return thread


def test_wait_returns_when_the_event_arrives(emulator: Emulator) -> None:
    poster = post_once_waiting(emulator, "Signed Up")
    started = time.monotonic()
    result = run("wait", "--url", emulator.url, "--where", 'event:"Signed Up"', "--timeout", "10")
    poster.join(LINE_TIMEOUT)
    assert result.exit_code == 0, result.output
    assert time.monotonic() - started < 5
    [line] = result.stdout.splitlines()
    assert '"Signed Up"' in line
    assert "key=key_a" in line


def test_wait_count_and_json(populated: Emulator) -> None:
    result = run(
        "wait",
        "--url",
        populated.url,
        "--where",
        'event:"Order Completed"',
        "--count",
        "2",
        "--timeout",
        "0",
        "--json",
    )
    assert result.exit_code == 0, result.output
    assert [r["messageId"] for r in json.loads(result.stdout)] == ["o1", "o2"]


def test_wait_timeout_exits_1_with_a_message(populated: Emulator) -> None:
    result = run("wait", "--url", populated.url, "--where", "event:Never", "--timeout", "0.1")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "waited 0.1s for 1 event(s) matching 'event:Never'; 0 matched" in result.stderr
    # What did arrive is listed, to spot a misspelled name.
    assert "'Order Completed'" in result.stderr


def test_wait_scoped_to_a_write_key(populated: Emulator) -> None:
    result = run(
        "wait",
        "--url",
        populated.url,
        "--write-key",
        "key_b",
        "--where",
        'event:"Order Completed"',
        "--timeout",
        "0",
    )
    assert result.exit_code == 1


# -- segemu assert ---------------------------------------------------------------------------


def test_assert_passes(populated: Emulator) -> None:
    result = run("assert", "--url", populated.url, "--where", 'event:"Order Completed"')
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("passed: segemu assert --where ")
    assert "found 2 among 3 received" in result.stdout


def test_assert_fails_with_the_nearest_miss(populated: Emulator) -> None:
    result = run("assert", "--url", populated.url, "--where", 'event:"Order Complted"')
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0].endswith("expected at least 1 matching call, found 0 among 3 received")
    assert lines[1] == "nearest misses:"
    assert "'Order Completed'" in lines[2]
    assert lines[3].strip() == ('where event:"Order Complted": no match, got "Order Completed"')


@pytest.mark.parametrize(
    ("args", "status"),
    [
        (["--count", "2"], 0),
        (["--count", "1"], 1),
        (["--count", "0"], 1),
        (["--at-least", "2"], 0),
        (["--at-least", "3"], 1),
        (["--write-key", "key_b", "--count", "0"], 0),
    ],
)
def test_assert_counts(populated: Emulator, args: list[str], status: int) -> None:
    result = run("assert", "--url", populated.url, "--where", 'event:"Order Completed"', *args)
    assert result.exit_code == status, result.output


def test_assert_json(populated: Emulator) -> None:
    result = run("assert", "--url", populated.url, "--where", "event:Nope", "--json")
    assert result.exit_code == 1
    verdict = json.loads(result.stdout)
    assert verdict["passed"] is False
    assert verdict["considered"] == 3
    assert verdict["expected"] == "segemu assert --where 'event:Nope'"


def test_assert_timeout_waits_for_the_event(emulator: Emulator) -> None:
    poster = post_once_waiting(emulator, "Late", "check")
    result = run("assert", "--url", emulator.url, "--where", "event:Late", "--timeout", "10")
    poster.join(LINE_TIMEOUT)
    assert result.exit_code == 0, result.output


# -- mistakes --------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["events", "wait", "assert", "tail"])
def test_a_bad_where_exits_2_with_a_caret(command: str) -> None:
    # No server needed: the query is checked before any network call.
    query = "type:track (event:x"
    result = run(command, "--url", "http://127.0.0.1:9", "--where", query)
    assert result.exit_code == 2
    *_, problem, shown, caret = result.stderr.splitlines()
    assert problem == "Error: --where: unclosed '(' at column 12"
    assert shown == f"  {query}"
    assert caret.index("^") == shown.index("(")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.mark.parametrize(
    "args",
    [
        ["events"],
        ["wait", "--where", "type:track", "--timeout", "0"],
        ["assert", "--where", "type:track"],
    ],
)
def test_an_unreachable_url_exits_2(args: list[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = run(*args[:1], "--url", url, *args[1:])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: cannot reach segemu at {url}")
    assert "Traceback" not in result.output


# -- segemu tail (a real process) ------------------------------------------------------------


class Tail:
    def __init__(self, url: str, *args: str) -> None:
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "segemu", "tail", "--url", url, *args],
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        assert self.popen.stdout is not None
        assert self.popen.stderr is not None
        self.readers: list[threading.Thread] = []
        self.stdout = self._reader(self.popen.stdout)
        self.stderr = self._reader(self.popen.stderr)

    def _reader(self, stream: IO[str]) -> queue.Queue[str]:
        # A thread per pipe, so that a read can have a deadline.
        lines: queue.Queue[str] = queue.Queue()

        def read() -> None:
            for line in stream:
                lines.put(line.rstrip("\n"))

        thread = threading.Thread(target=read, daemon=True)
        thread.start()
        self.readers.append(thread)
        return lines

    def line(self, lines: queue.Queue[str] | None = None) -> str:
        try:
            return (lines or self.stdout).get(timeout=LINE_TIMEOUT)
        except queue.Empty:
            self.popen.kill()
            raise AssertionError(f"segemu tail printed nothing in {LINE_TIMEOUT}s") from None

    def interrupt(self) -> tuple[int, list[str]]:
        """Ctrl-C: the exit status, and what was left on stdout and stderr."""
        self.popen.send_signal(signal.SIGINT)
        status = self.popen.wait(LINE_TIMEOUT)
        for reader in self.readers:
            reader.join(LINE_TIMEOUT)
        rest = [*self.stdout.queue, *self.stderr.queue]
        return status, rest

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait()
        for pipe in (self.popen.stdout, self.popen.stderr):
            if pipe is not None:
                pipe.close()


def test_tail_prints_the_backlog_then_new_calls(populated: Emulator) -> None:
    tail = Tail(populated.url, "-n", "2")
    try:
        # The backlog: the last two, oldest first.
        assert '"Product Viewed"' in tail.line()
        second = tail.line()
        assert '"Order Completed"' in second
        assert "key=key_a" in second
        post(populated.url, "Signed Up", key="key_c")
        line = tail.line()
        assert '"Signed Up"' in line
        assert "key=key_c" in line
        # Ctrl-C is how a tail ends: status 0, nothing more printed, no traceback.
        assert tail.interrupt() == (0, [])
    finally:
        tail.kill()


def test_tail_filters_and_prints_json(populated: Emulator) -> None:
    tail = Tail(populated.url, "-n", "5", "--where", "properties.revenue>50", "--json")
    try:
        assert json.loads(tail.line())["messageId"] == "o1"
        post(populated.url, "Order Completed", properties={"revenue": 1}, messageId="small")
        post(populated.url, "Order Completed", properties={"revenue": 500}, messageId="big")
        assert json.loads(tail.line())["messageId"] == "big"
    finally:
        tail.kill()


def test_tail_survives_a_restart_on_the_same_port(tmp_path: Path) -> None:
    # A database directory, as `segemu run` has by default, so record ids carry on.
    db = str(tmp_path / "db")
    first = Emulator(db)
    first.start()
    port = int(first.url.rsplit(":", 1)[1])
    # -n 1: printed whether it is posted before the tail connects (backlog) or after (live).
    tail = Tail(first.url, "-n", "1")
    second: Emulator | None = None
    try:
        post(first.url, "Before Restart")
        assert '"Before Restart"' in tail.line()
        first.stop()
        assert tail.line(tail.stderr) == f"waiting for segemu at {first.url} ..."
        second = Emulator(db, port)
        second.start()
        # Posted before or after the tail reconnects: either way it is printed, once.
        post(second.url, "After Restart")
        assert '"After Restart"' in tail.line()
        post(second.url, "Later")
        assert '"Later"' in tail.line()
        assert tail.interrupt() == (0, [])
    finally:
        tail.kill()
        if second is not None:
            second.stop()
