"""`segemu run` as a user runs it: a real process, real signals, a real database directory."""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from segemu import __version__
from segemu.cli import cli


class Process:
    def __init__(self, *args: str, cwd: Path) -> None:
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "segemu", "run", *args],
            cwd=cwd,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.banner: list[str] = []
        self.url = ""
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            self.banner.append(line)
            if "listening on " in line:
                self.url = line.split("listening on ")[1].strip()
            if "Ctrl-C stops" in line:  # the banner's last line
                break
        assert self.url, f"segemu did not start: {self.banner} {self.popen.stderr}"

    def post(self, path: str, body: Any, key: str = "cli_key") -> int:
        request = urllib.request.Request(
            f"{self.url}{path}",
            data=json.dumps(body).encode(),
            method="POST",
            headers={
                "Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode(),
                # urllib would send a form's Content-Type, which the control API refuses.
                "Content-Type": "application/json",
            },
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(f"{self.url}{path}", timeout=10) as response:
            return json.load(response)

    def stop(self, signum: int = signal.SIGTERM) -> tuple[str, str]:
        self.popen.send_signal(signum)
        out, err = self.popen.communicate(timeout=20)
        return "".join(self.banner) + out, err


def batch(start: int, count: int) -> dict[str, Any]:
    return {
        "batch": [
            {"type": "track", "event": "Signed Up", "userId": f"u{i}", "messageId": f"msg-{i}"}
            for i in range(start, start + count)
        ]
    }


def test_sigterm_then_restart_keeps_every_event(tmp_path: Path) -> None:
    first = Process("-p", "0", cwd=tmp_path)
    for start in range(0, 300, 100):
        assert first.post("/v1/batch", batch(start, 100)) == 200
    out, err = first.stop(signal.SIGTERM)
    assert first.popen.returncode == 0, err
    assert "segemu stopped; 300 events kept in .segemu/db" in out
    # One readable line per event while running.
    assert 'accepted  track    "Signed Up"' in out
    assert (tmp_path / ".segemu" / "db").is_dir()

    second = Process("-p", "0", cwd=tmp_path)
    assert "(300 loaded)" in "".join(second.banner)
    listed = second.get("/_segemu/events?limit=1000")
    assert sorted(e["messageId"] for e in listed["events"]) == sorted(
        f"msg-{i}" for i in range(300)
    )
    second.stop(signal.SIGINT)
    assert second.popen.returncode == 0


def test_sigkill_leaves_a_database_that_opens(tmp_path: Path) -> None:
    # -q: nobody reads this process's stdout, and 1,500 lines would fill the pipe and stall
    # the server mid-test whenever ingest is slower than the line printer.
    first = Process("-p", "0", "-q", cwd=tmp_path)
    for start in range(0, 1000, 100):
        first.post("/v1/batch", batch(start, 100))
    assert first.post("/_segemu/flush", {}) == 200
    # These may or may not reach the disk: they are inside the flush window.
    for start in range(1000, 1500, 100):
        first.post("/v1/batch", batch(start, 100))
    first.popen.kill()
    first.popen.communicate(timeout=10)

    second = Process("-p", "0", cwd=tmp_path)
    out, err = second.stop()
    assert second.popen.returncode == 0
    assert "Traceback" not in err
    assert "warning" not in err
    stored = int(out.split("segemu stopped; ")[1].split(" events")[0].replace(",", ""))
    assert 1000 <= stored <= 1500


def test_corrupt_database_gets_a_warning_not_a_traceback(tmp_path: Path) -> None:
    first = Process("-p", "0", cwd=tmp_path)
    first.post("/v1/batch", batch(0, 10))
    first.stop()
    chunk = tmp_path / ".segemu" / "db" / "events_000000.json"
    chunk.write_bytes(chunk.read_bytes()[:50])
    second = Process("-p", "0", cwd=tmp_path)
    _, err = second.stop()
    assert "warning: " in err
    assert "is truncated or corrupt" in err
    assert "Traceback" not in err
    assert second.popen.returncode == 0


def test_memory_db_and_env_config(tmp_path: Path) -> None:
    (tmp_path / "segemu.toml").write_text('db = ":memory:"\n')
    process = Process("-p", "0", "--quiet", cwd=tmp_path)
    assert "events are kept in memory" in "".join(process.banner)
    process.post("/v1/track", {"event": "X", "userId": "u"})
    out, _ = process.stop()
    assert not (tmp_path / ".segemu").exists()
    assert '"X"' not in out  # --quiet prints no per-event line


def test_config_mistake_is_one_clear_line(tmp_path: Path) -> None:
    (tmp_path / "segemu.toml").write_text("prot = 1\n")
    result = subprocess.run(
        [sys.executable, "-m", "segemu", "run"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1
    assert "Error: " in result.stderr
    assert "unknown setting 'prot'" in result.stderr
    assert "Traceback" not in result.stderr


def test_port_in_use_is_explained(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "segemu", "run", "-p", str(port), "--db", ":memory:"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "use -p 0 to pick a free port" in result.stderr
    assert "Traceback" not in result.stderr


def test_db_pointing_at_a_file(tmp_path: Path) -> None:
    (tmp_path / "events.json").write_text("{}")
    result = subprocess.run(
        [sys.executable, "-m", "segemu", "run", "-p", "0", "--db", "events.json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1
    assert "is a file; --db takes a directory" in result.stderr


def test_version_and_help() -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["--version"]).output.strip() == f"segemu, version {__version__}"
    help_text = runner.invoke(cli, ["run", "--help"]).output
    for option in ("--host", "--port", "--db", "--config", "--no-ui", "-p 0"):
        assert option in help_text


def test_version_imports_nothing_heavy() -> None:
    code = (
        "import sys, runpy; sys.argv = ['segemu', '--version']\n"
        "try:\n    runpy.run_module('segemu', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "heavy = [m for m in ('aiohttp', 'tinydb', 'orjson', 'textual', 'asyncio')"
        " if m in sys.modules]\nprint('HEAVY', heavy)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30
    )
    assert "HEAVY []" in result.stdout, result.stdout + result.stderr


def test_the_banner_prints_the_web_inspectors_url_and_it_answers(tmp_path: Path) -> None:
    process = Process("-p", "0", "--db", ":memory:", cwd=tmp_path)
    banner = "".join(process.banner)
    assert f"Inspector in a browser: {process.url}/\n" in banner
    with urllib.request.urlopen(f"{process.url}/", timeout=10) as response:
        assert response.headers["Content-Type"].startswith("text/html")
        assert b"textual-terminal" in response.read()
    process.stop()
    assert process.popen.returncode == 0


def test_segemu_web_serves_the_inspector_of_a_running_segemu(tmp_path: Path) -> None:
    running = Process("-p", "0", "--db", ":memory:", cwd=tmp_path)
    # No scheme: the URL as people type it (issue 18, finding 12).
    target = running.url.removeprefix("http://")
    web = subprocess.Popen(
        [sys.executable, "-m", "segemu", "web", "--url", target, "-p", "0"],
        cwd=tmp_path,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert web.stdout is not None
    first = web.stdout.readline()
    assert first == f"segemu web: the inspector of {running.url}\n"
    page_url = web.stdout.readline().split("open ")[1].split()[0]
    with urllib.request.urlopen(page_url, timeout=10) as response:
        page = response.read().decode()
    port = page_url.split(":")[2].rstrip("/")
    assert f'data-session-websocket-url="ws://127.0.0.1:{port}/_segemu/web/ws"' in page
    web.send_signal(signal.SIGTERM)
    web.communicate(timeout=20)
    assert web.returncode == 0
    running.stop()
