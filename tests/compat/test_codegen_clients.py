"""Closing the loop of `segemu plan codegen`: the generated client sends every planned event
through the real SDK to a real segemu checking the same plan, and segemu finds no violation."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from segment.analytics import Client

from segemu.protocols.codegen import Target
from segemu.testing.client import SegemuClient
from tests.protocols.codegen.helpers import NODE_DIR, STRESS, generated, planned_calls
from tests.protocols.codegen.test_typecheck import tsc

pytestmark = pytest.mark.compat


def assert_no_violations(segemu: SegemuClient, count: int) -> None:
    records = segemu.wait_for(count=count)
    assert len(records) == count
    # Every call was checked against the plan, and none broke it.
    assert {r["protocols"]["trackingPlan"] for r in records} == {"Codegen stress"}
    broken = {
        r["event"].get("event") or r["event"]["type"]: r["violations"]
        for r in records
        if r["violations"]
    }
    assert broken == {}


@pytest.mark.segemu(protocols={"tracking_plan": str(STRESS)})
def test_python_client_sends_every_planned_event_without_violation(
    segemu: SegemuClient, tmp_path: Path
) -> None:
    text = generated(STRESS, Target("python", "analytics-python", validation=True))
    (tmp_path / "tracking.py").write_text(text)
    spec = importlib.util.spec_from_file_location("tracking", tmp_path / "tracking.py")
    assert spec is not None
    assert spec.loader is not None
    tracking = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tracking)
    # The client's own check of the plan agrees with segemu's.
    seen: list[object] = []
    tracking.set_on_violation(lambda _message, violations: seen.append(violations))

    errors: list[Exception] = []
    client = Client(
        segemu.write_key, host=segemu.url, on_error=lambda error, _batch: errors.append(error)
    )
    calls = planned_calls(STRESS, text)
    for call in calls:
        function = getattr(tracking, call.function)
        if call.kind == "GROUP":
            function(client, "g-1", call.payload, user_id="u-1")
        elif call.function in ("page", "screen"):
            function(client, "Any page", call.payload, user_id="u-1")
        else:
            function(client, call.payload, user_id="u-1")
    client.flush()
    client.join()
    assert errors == []
    assert seen == []
    assert_no_violations(segemu, len(calls))


@pytest.mark.segemu(protocols={"tracking_plan": str(STRESS)})
@pytest.mark.parametrize("language", ["typescript", "javascript"])
def test_node_client_sends_every_planned_event_through_analytics_node(
    segemu: SegemuClient, tmp_path: Path, language: str
) -> None:
    text = generated(STRESS, Target(language, "analytics-node", validation=True))
    (tmp_path / "package.json").write_text('{"type": "module"}')
    if language == "typescript":
        (tmp_path / "tracking.ts").write_text(text)
        compiled = tsc(tmp_path, ["tracking.ts"], emit=True)
        assert compiled.returncode == 0, compiled.stdout
    else:  # runs as generated
        (tmp_path / "tracking.js").write_text(text)
    calls = []
    for call in planned_calls(STRESS, text):
        field = "traits" if call.kind in ("IDENTIFY", "GROUP") else "properties"
        message: dict[str, object] = {"userId": "u-1", field: call.payload}
        if call.kind == "GROUP":
            message["groupId"] = "g-1"
        if call.function in ("page", "screen"):
            message["name"] = "Any page"
        calls.append({"fn": call.function, "message": message})
    node = shutil.which("node")
    assert node is not None
    result = subprocess.run(
        [node, "send_typed.mjs"],
        cwd=NODE_DIR,
        env={
            **os.environ,
            "SEGEMU_URL": segemu.url,
            "SEGEMU_WRITE_KEY": segemu.write_key,
            "TYPED_CLIENT": str(tmp_path / "tracking.js"),
            "TYPED_CALLS": json.dumps(calls),
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) == {"violations": []}
    assert_no_violations(segemu, len(calls))
