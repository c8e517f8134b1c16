"""The client commands on a terminal and in a pipe (issue 18, Build 3): tables and colour on a
TTY, the plain lines scripts read in a pipe and with NO_COLOR, JSON untouched by either."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from segemu.config import load_config
from segemu.testing.thread import ThreadedEmulator
from tests.test_cli_client import post

ESCAPE = "\x1b["
SHOP = Path(__file__).parent.parent / "fixtures" / "plans" / "shop.yaml"


def in_terminal(*args: str, no_color: bool = False, status: int = 0) -> str:
    """What `segemu ARGS` prints on a terminal (a pseudo-terminal 200 columns wide)."""
    leader, follower = pty.openpty()
    env = {**os.environ, "COLUMNS": "200", "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    if no_color:
        env["NO_COLOR"] = "1"
    process = subprocess.Popen(
        [sys.executable, "-m", "segemu", *args],
        stdout=follower,
        stderr=follower,
        stdin=subprocess.DEVNULL,
        env=env,
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the follower closed: the process is done
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert process.wait(timeout=60) == status
    return b"".join(chunks).decode()


def in_a_pipe(*args: str) -> str:
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    done = subprocess.run(
        [sys.executable, "-m", "segemu", *args], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def shop() -> Iterator[ThreadedEmulator]:
    config = {"db": ":memory:", "port": 0, "destinations": {"mixpanel": {}}}
    running = ThreadedEmulator(load_config(config, env={}, discover=False))
    running.start()
    post(running.url, "Order Completed", messageId="o1", properties={"revenue": 5})
    post(running.url, "Signed Up", messageId="s1")
    yield running
    running.stop()


def test_events_is_a_coloured_table_on_a_terminal(shop: ThreadedEmulator) -> None:
    out = in_terminal("events", "--url", shop.url)
    assert ESCAPE in out
    assert "event / name" in out
    assert "Order Completed" in out


def test_events_is_plain_lines_in_a_pipe_and_with_no_color(shop: ThreadedEmulator) -> None:
    piped = in_a_pipe("events", "--url", shop.url)
    assert ESCAPE not in piped
    assert 'accepted  track    "Order Completed"' in piped
    plain = in_terminal("events", "--url", shop.url, no_color=True)
    assert ESCAPE not in plain
    assert 'accepted  track    "Order Completed"' in plain


def test_json_stays_json_on_a_terminal(shop: ThreadedEmulator) -> None:
    out = in_terminal("events", "--url", shop.url, "--json")
    assert ESCAPE not in out
    assert [r["messageId"] for r in json.loads(out)] == ["o1", "s1"]


def test_routing_and_destinations_on_a_terminal_and_in_a_pipe(shop: ThreadedEmulator) -> None:
    table = in_terminal("destinations", "--url", shop.url)
    assert ESCAPE in table
    assert "delivered" in table
    assert "Mixpanel" in table
    piped = in_a_pipe("destinations", "--url", shop.url)
    assert ESCAPE not in piped
    assert piped.startswith("mixpanel ")
    routing = in_terminal("routing", "--url", shop.url, "o1")
    assert ESCAPE in routing
    assert "mixpanel" in routing
    piped = in_a_pipe("routing", "--url", shop.url, "o1")
    assert ESCAPE not in piped
    assert piped.startswith("mixpanel ")


def test_plan_check_colours_its_verdict_on_a_terminal(tmp_path: Path) -> None:
    calls = tmp_path / "calls.json"
    call = {"type": "track", "event": "Order Completed", "userId": "u_1", "properties": {}}
    calls.write_text(json.dumps(call))
    args = ("plan", "check", str(calls), "--plan", str(SHOP))
    out = in_terminal(*args, status=1)
    assert f"{ESCAPE}1;31m1 call(s) checked against 'Shop'" in out
    done = subprocess.run(
        [sys.executable, "-m", "segemu", *args], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    assert ESCAPE not in done.stdout
    assert "1 call(s) checked against 'Shop': 1 with violations" in done.stdout


def test_profiles_on_a_terminal_and_in_a_pipe(shop: ThreadedEmulator) -> None:
    # post() sends its calls as userId u_1: one profile.
    table = in_terminal("profiles", "search", "--url", shop.url)
    assert ESCAPE in table
    assert "segment_id" in table
    assert "user_id:u_1" in table
    piped = in_a_pipe("profiles", "search", "--url", shop.url)
    assert ESCAPE not in piped
    assert piped.startswith("use_")
    assert "user_id:u_1" in piped
    shown = in_terminal("profiles", "show", "--url", shop.url, "user_id:u_1")
    assert f"{ESCAPE}1midentifiers" in shown
    plain = in_a_pipe("profiles", "show", "--url", shop.url, "user_id:u_1")
    assert ESCAPE not in plain
    assert "\nidentifiers\n  user_id:u_1" in plain
