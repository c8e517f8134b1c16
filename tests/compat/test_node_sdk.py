"""The official @segment/analytics-node (npm), unchanged but for its host, against a real
segemu server. `.ci/run` installs it (npm ci in tests/compat/node)."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest

from segemu.http.server import RunningServer
from tests.compat.stored import stored_as_sent

pytestmark = pytest.mark.compat

NODE_DIR = Path(__file__).parent / "node"


def require_node_sdk() -> str:
    node = shutil.which("node")
    if node is None or not (NODE_DIR / "node_modules" / "@segment" / "analytics-node").is_dir():
        pytest.fail(
            "the Node SDK is not installed: run `npm ci --prefix tests/compat/node` (.ci/run does)"
        )
    return node


async def run_node(server: RunningServer, write_key: str) -> list[dict[str, Any]]:
    process = await asyncio.create_subprocess_exec(
        require_node_sdk(),
        "send.mjs",
        cwd=NODE_DIR,
        env={**os.environ, "SEGEMU_URL": server.url, "SEGEMU_WRITE_KEY": write_key},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, err.decode()
    bodies: list[dict[str, Any]] = orjson.loads(out.splitlines()[-1])
    return bodies


async def test_all_six_calls_are_stored_as_sent(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    bodies = await run_node(server, "node_write_key")
    sent = [event for body in bodies for event in body["batch"]]
    assert [e["type"] for e in sent] == [
        "identify",
        "track",
        "page",
        "screen",
        "group",
        "alias",
        "track",
    ]
    assert all(body["writeKey"] == "node_write_key" for body in bodies)

    records = await stored_as_sent(http, server, sent, "node_write_key")
    for message in sent:
        event = records[message["messageId"]]["event"]
        assert event["context"]["library"]["name"] == "@segment/analytics-node"
        assert message["messageId"].startswith("node-next-")  # sdk-captures/node.json
        assert event["sentAt"] == bodies[0]["sentAt"]
    # Node leaves absent ids out entirely (captures): the anonymous track has no userId key.
    anonymous = next(r for r in records.values() if r["raw"].get("anonymousId") == "anon-2")
    assert "userId" not in anonymous["raw"]
