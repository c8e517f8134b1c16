"""`segemu run` opens the inspector when stdout is a terminal (a real pseudo-terminal here),
stays headless with --no-ui, and `q` stops it cleanly with the store written."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
import urllib.request
from pathlib import Path

from click.testing import CliRunner

from segemu.cli import cli
from tests.test_cli import Process

# Bounds every read of the terminal; the test never sleeps.
TIMEOUT = 30.0
ANSI = re.compile(rb"\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>]|\x1b\][^\x07]*\x07")


def _controlling_tty() -> None:
    # As a terminal's shell does: a session of its own, led by the process, whose controlling
    # terminal is the pty, so Ctrl-C there is a SIGINT as in a real terminal.
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Terminal:
    """A process on a pseudo-terminal of 160x40, whose screen output is read as text."""

    def __init__(self, *args: str, cwd: Path) -> None:
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 160, 0, 0))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "segemu", *args],
            cwd=cwd,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env={**os.environ, "TERM": "xterm-256color", "COLUMNS": "160", "LINES": "40"},
            close_fds=True,
            preexec_fn=_controlling_tty,
        )
        os.close(slave)
        self.seen = b""

    def read_until(self, pattern: bytes) -> re.Match[bytes]:
        deadline = time.monotonic() + TIMEOUT
        while True:
            found = re.search(pattern, ANSI.sub(b"", self.seen))
            if found:
                return found
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {pattern!r} on screen: {self.text()[-3000:]!r}")
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.master, 65536)
                except OSError:  # the process closed the terminal
                    chunk = b""
                if not chunk:
                    raise AssertionError(
                        f"terminal closed before {pattern!r}: {self.text()[-3000:]!r}"
                    )
                self.seen += chunk

    def text(self) -> str:
        """What was written, without escape sequences, blank runs squeezed."""
        return re.sub(r"\s{3,}", "  ", ANSI.sub(b"", self.seen).decode(errors="replace"))

    def press(self, keys: bytes) -> None:
        os.write(self.master, keys)

    def wait(self) -> int:
        deadline = time.monotonic() + TIMEOUT
        while self.process.poll() is None and time.monotonic() < deadline:
            ready, _, _ = select.select([self.master], [], [], 0.5)
            if ready:
                try:
                    self.seen += os.read(self.master, 65536)
                except OSError:
                    break
        return self.process.wait(timeout=TIMEOUT)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        os.close(self.master)


def post_track(url: str, event: str) -> None:
    request = urllib.request.Request(
        f"{url}/v1/track",
        method="POST",
        headers={"Content-Type": "application/json"},
        data=json.dumps({"writeKey": "cli_key", "userId": "u_1", "event": event}).encode(),
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


def test_run_in_a_terminal_opens_the_inspector_and_q_stops_it(tmp_path: Path) -> None:
    terminal = Terminal("run", "-p", "0", cwd=tmp_path)
    try:
        url = terminal.read_until(rb"http://127\.0\.0\.1:\d+").group().decode()
        terminal.read_until(rb"No calls yet")
        post_track(url, "Order Completed")
        terminal.read_until(rb"accepted +track +Order Completed +u_1 +cli_key")
        terminal.press(b"q")
        assert terminal.wait() == 0
        terminal.read_until(rb"segemu stopped; 1 event kept in \.segemu/db")
    finally:
        terminal.close()
    # The store was written on the way out: a headless run finds the event.
    headless = Process("-p", "0", "--no-ui", cwd=tmp_path)
    try:
        assert "(1 loaded)" in "".join(headless.banner)
    finally:
        headless.stop()


def test_ctrl_c_stops_the_inspector_cleanly(tmp_path: Path) -> None:
    terminal = Terminal("run", "-p", "0", "--db", ":memory:", cwd=tmp_path)
    try:
        terminal.read_until(rb"No calls yet")
        terminal.press(b"\x03")
        assert terminal.wait() == 0
        terminal.read_until(rb"segemu stopped; 0 events kept in memory")
    finally:
        terminal.close()


def test_no_ui_stays_headless_in_a_terminal(tmp_path: Path) -> None:
    terminal = Terminal("run", "-p", "0", "--db", ":memory:", "--no-ui", cwd=tmp_path)
    try:
        url = terminal.read_until(rb"listening on (http://\S+)").group(1).decode()
        post_track(url, "Signed Up")
        terminal.read_until(rb'accepted  track    "Signed Up"')
        terminal.press(b"\x03")  # a headless run gets SIGINT from the terminal
        assert terminal.wait() == 0
        assert b"No calls yet" not in terminal.seen
    finally:
        terminal.close()


def test_a_broken_expectations_file_names_the_file_and_the_entry(tmp_path: Path) -> None:
    path = tmp_path / "expect.json"
    path.write_text(json.dumps([{"type": "track"}, {"description": "bad", "times": -1}]))
    result = CliRunner().invoke(cli, ["run", "--db", ":memory:", "--expect", str(path)])
    assert result.exit_code == 1
    assert result.output == (
        f"Error: {path}: expectation 2 ('bad'): times must be a whole number >= 0, got -1\n"
    )
    path.write_text("{}")
    result = CliRunner().invoke(cli, ["tui", "--expect", str(path)])
    assert "expected a JSON list of expectations" in result.output


def test_tui_refuses_a_url_that_is_not_http_and_unknown_columns() -> None:
    result = CliRunner().invoke(cli, ["tui", "--url", "ftp://localhost:7878"])
    assert result.exit_code == 2
    assert "expected an http:// URL such as http://127.0.0.1:7878, got 'ftp://" in result.output
    result = CliRunner().invoke(cli, ["run", "--columns", "time,colour"])
    assert result.exit_code == 2
    assert "unknown column(s) colour; choose from time, status" in result.output


def test_sigterm_stops_the_inspector_and_writes_the_store(tmp_path: Path) -> None:
    terminal = Terminal("run", "-p", "0", "--db", "db", cwd=tmp_path)
    try:
        url = terminal.read_until(rb"http://127\.0\.0\.1:\d+").group().decode()
        post_track(url, "Signed Up")
        terminal.read_until(rb"Signed Up")
        terminal.process.send_signal(signal.SIGTERM)
        assert terminal.wait() == 0
        terminal.read_until(rb"segemu stopped; 1 event kept in db")
    finally:
        terminal.close()
    assert "Signed Up" in "".join(p.read_text() for p in (tmp_path / "db").glob("*.json"))


def test_a_headless_run_prints_the_verdicts_of_its_expectations_when_it_stops(
    tmp_path: Path,
) -> None:
    path = tmp_path / "expect.json"
    path.write_text(
        json.dumps(
            [
                {
                    "description": "sign-up is tracked",
                    "type": "track",
                    "fields": {"event": "Signed Up"},
                },
                {
                    "description": "checkout is tracked",
                    "type": "track",
                    "fields": {"event": "Order Completed"},
                },
            ]
        )
    )
    headless = Process("-p", "0", "--db", ":memory:", "--expect", str(path), cwd=tmp_path)
    assert headless.post("/v1/track", {"userId": "u_1", "event": "Signed Up"}) == 200
    out, _ = headless.stop()
    assert "passed: sign-up is tracked: expected at least 1 matching track call, found 1" in out
    assert "FAILED: checkout is tracked: expected at least 1 matching track call, found 0" in out
    assert 'event: expected "Order Completed", got "Signed Up"' in out
    # Non-zero, so CI can use it (issue 18, item 9).
    assert headless.popen.returncode == 1
