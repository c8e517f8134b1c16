"""What the traffic tests share: the segemu CLI run as a user runs it (a subprocess, awaited
without blocking the loop that serves the endpoints it talks to), and a stand-in for a real
Tracking API that records what it receives."""

from __future__ import annotations

import asyncio
import base64
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Finished:
    status: int
    stdout: str
    stderr: str


async def segemu(*args: str, cwd: Path, stdin: bytes | None = None) -> Finished:
    process = await start_segemu(*args, cwd=cwd, stdin=stdin is not None)
    out, err = await process.communicate(stdin)
    assert process.returncode is not None
    return Finished(process.returncode, out.decode(), err.decode())


async def start_segemu(*args: str, cwd: Path, stdin: bool = False) -> asyncio.subprocess.Process:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    env.pop("SEGEMU_URL", None)
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "segemu",
        *args,
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.PIPE if stdin else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


@dataclass
class Received:
    status: int
    write_key: str
    retry_count: str | None
    calls: list[dict[str, Any]]


@dataclass
class StandIn:
    """A local endpoint that speaks the Tracking API's batch route. `answers` decides each
    request's answer in turn (status, headers); after them, 200. `arrived` is set whenever
    `expected` calls have come in."""

    answers: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    requests: list[Received] = field(default_factory=list)
    expected: int = 0
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    # Called before answering request number n (from 1): may await to hold the answer.
    before_answer: Callable[[int], Any] | None = None
    url: str = ""

    @property
    def calls(self) -> list[dict[str, Any]]:
        return [call for request in self.requests for call in request.calls]

    async def handle(self, request: web.Request) -> web.Response:
        header = request.headers.get("Authorization", "")
        key = base64.b64decode(header.removeprefix("Basic ")).decode().rstrip(":")
        body = orjson.loads(await request.read())
        number = len(self.requests) + 1
        if self.before_answer is not None:
            await self.before_answer(number)
        status, headers = self.answers.pop(0) if self.answers else (200, {})
        received = Received(status, key, request.headers.get("X-Retry-Count"), body["batch"])
        self.requests.append(received)
        if status == 200 and self.expected and len(self.accepted()) >= self.expected:
            self.arrived.set()
        return web.json_response({"success": status == 200}, status=status, headers=headers)

    def accepted(self) -> list[dict[str, Any]]:
        """The calls of the requests answered 200."""
        return [
            call for request in self.requests if request.status == 200 for call in request.calls
        ]


async def start_stand_in(stand_in: StandIn, path: str = "/v1/batch") -> web.AppRunner:
    app = web.Application()
    app.router.add_post(path, stand_in.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    stand_in.url = f"http://127.0.0.1:{port}"
    return runner
