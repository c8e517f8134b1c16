"""Identity resolution with the official @segment/analytics-node, read back through the Profile
API by the same Node process (fetch, as an app's server code would) and through the pytest API."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import orjson
import pytest

from segemu.http.server import RunningServer
from segemu.testing.aclient import AsyncSegemuClient
from tests.compat.test_node_sdk import NODE_DIR, require_node_sdk

pytestmark = pytest.mark.compat


async def run_script(server: RunningServer, write_key: str) -> dict[str, Any]:
    process = await asyncio.create_subprocess_exec(
        require_node_sdk(),
        "identity.mjs",
        cwd=NODE_DIR,
        env={**os.environ, "SEGEMU_URL": server.url, "SEGEMU_WRITE_KEY": write_key},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, err.decode()
    answers: dict[str, Any] = orjson.loads(out.splitlines()[-1])
    return answers


async def test_node_calls_resolve_into_profiles_the_profile_api_serves(
    server: RunningServer,
) -> None:
    answers = await run_script(server, "node_identity")
    # A mobile-style call's device ids joined the user's profile.
    assert answers["traits"] == {
        "status": 200,
        "body": {
            "traits": {"plan": "pro"},
            "cursor": answers["traits"]["body"]["cursor"],
        },
    }
    ids = {(e["type"], e["id"]) for e in answers["external_ids"]["body"]["data"]}
    assert ids == {
        ("user_id", "n1"),
        ("android.id", "droid-1"),
        ("android.idfa", "gaid-1"),
        ("android.push_token", "push-1"),
        ("anonymous_id", "crm-7"),
    }
    # The alias from the CRM id brought the lead's history along.
    assert [e.get("event") for e in answers["events"]["body"]["data"]] == [
        None,
        "Order Completed",
        "App Opened",
        "Lead Created",
        None,
    ]
    metadata = answers["metadata"]["body"]["metadata"]
    assert metadata["first_source_id"] == "default"
    assert metadata["expires_at"] is None
    # The shared tablet: the second user stayed apart.
    assert answers["tablet"]["body"]["traits"] == {"name": "Ada"}
    assert [e["type"] for e in answers["n3"]["body"]["data"]] == ["user_id"]
    # userId "null" is blocked: no profile has it, and the two visitors stayed apart.
    assert answers["null"] == {
        "status": 404,
        "body": {"error": {"code": "not_found", "message": "Profile was not found."}},
    }
    assert [e["id"] for e in answers["visitor"]["body"]["data"]] == ["visitor-2"]

    reader = AsyncSegemuClient(server.url, "node_identity")
    try:
        await reader.assert_merged("user_id:n1", "anonymous_id:crm-7")
        await reader.assert_merged("user_id:n1", "android.id:droid-1")
        await reader.assert_not_merged("user_id:n2", "user_id:n3")
        await reader.assert_not_merged("anonymous_id:visitor-1", "anonymous_id:visitor-2")
        await reader.assert_profile("user_id:n3", traits={"name": "Bob"})
    finally:
        await reader.aclose()
