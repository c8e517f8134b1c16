"""`segemu trigger`: journeys that pass the flows' tracking plan, shaped as each SDK sends
calls, the same for the same seed, and sent through the Tracking API."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from segemu import create_emulator
from segemu.cli import cli
from segemu.cli.plan import CHECK_WRITE_KEY
from segemu.http.server import start_server
from segemu.message import Envelope
from segemu.query import EventFilter
from segemu.traffic.flows import builtin_flows

from .support import ROOT, segemu

FLOWS = [path.stem for path in builtin_flows()]
SDKS = ["python", "node", "browser", "swift"]
PLAN = ROOT / "fixtures" / "plans" / "flows.yaml"


def generate(*args: str) -> list[dict[str, Any]]:
    result = CliRunner().invoke(cli, ["trigger", *args, "-o", "-"])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def test_the_four_flows_of_the_issue_are_built_in() -> None:
    assert set(FLOWS) == {"ecommerce", "b2b-saas", "video", "mobile"}
    listing = CliRunner().invoke(cli, ["trigger", "--list"]).output
    for name in FLOWS:
        assert f"{name}  (" in listing
    assert "track Order Refunded" in listing
    assert "track Application Backgrounded" in listing


@pytest.mark.parametrize("sdk", SDKS)
def test_every_flow_passes_the_fixture_tracking_plan(sdk: str) -> None:
    calls = [
        call for flow in FLOWS for call in generate(flow, "--sdk", sdk, "-n", "40", "--seed", "2")
    ]
    assert len(calls) > 1000
    emulator = create_emulator(db=":memory:", protocols={"tracking_plan": str(PLAN)})
    records = []
    for start in range(0, len(calls), 500):
        records += emulator.ingest(
            Envelope(
                "/v1/batch",
                calls[start : start + 500],
                header_write_key=CHECK_WRITE_KEY,
                received_at=datetime.now(UTC),
            )
        )
    assert [r["reason"] for r in records if r["status"] != "accepted"] == []
    broken = [(r["event"].get("event"), r["violations"]) for r in records if r.get("violations")]
    assert broken == []
    assert all(r.get("protocols", {}).get("trackingPlan") for r in records)


async def test_plan_check_of_trigger_output_as_a_user_runs_it(tmp_path: Path) -> None:
    done = await segemu(
        "trigger", "ecommerce", "--seed", "9", "-n", "25", "-o", "shop.jsonl", cwd=tmp_path
    )
    assert done.status == 0, done.stderr
    done = await segemu("plan", "check", "--plan", str(PLAN), "shop.jsonl", cwd=tmp_path)
    assert done.status == 0, done.stdout
    assert "0 with violations, 0 violation(s)" in done.stdout


def test_the_same_seed_gives_the_same_calls() -> None:
    first = generate("b2b-saas", "--seed", "42", "-n", "5")
    assert first == generate("b2b-saas", "--seed", "42", "-n", "5")
    assert first != generate("b2b-saas", "--seed", "43", "-n", "5")
    assert len({call["messageId"] for call in first}) == len(first)


def test_identity_goes_anonymous_then_identify_then_alias() -> None:
    journeys: dict[str, list[dict[str, Any]]] = {}
    for call in generate("ecommerce", "--seed", "1", "-n", "60"):
        journeys.setdefault(call["anonymousId"], []).append(call)
    checked = 0
    for calls in journeys.values():
        kinds = [call["type"] for call in calls]
        if "identify" not in kinds:
            assert all("userId" not in call for call in calls)  # stayed anonymous
            continue
        known = kinds.index("identify")
        assert all("userId" not in call for call in calls[:known])
        user_id = calls[known]["userId"]
        assert all(call["userId"] == user_id for call in calls[known:])
        alias = calls[kinds.index("alias")]
        assert alias["previousId"] == calls[0]["anonymousId"]
        assert alias["userId"] == user_id
        checked += 1
    assert checked > 10  # most journeys reach checkout
    # Some leave before the cart, some refund: journeys differ.
    assert len({len(calls) for calls in journeys.values()}) > 5


@pytest.mark.parametrize(
    ("sdk", "library", "message_id"),
    [
        ("python", "analytics-python", ""),
        ("node", "@segment/analytics-node", "node-next-"),
        ("browser", "analytics.js", "ajs-next-"),
        ("swift", "analytics-swift", ""),
    ],
)
def test_calls_take_the_shape_of_the_sdk(sdk: str, library: str, message_id: str) -> None:
    calls = generate("ecommerce", "--sdk", sdk, "--seed", "3", "-n", "3")
    for call in calls:
        assert call["context"]["library"]["name"] == library
        assert call["messageId"].startswith(message_id)
    if sdk == "python":  # explicit nulls and +00:00 times (sdk-captures/python.json)
        assert calls[0]["userId"] is None
        assert calls[0]["timestamp"].endswith("+00:00")
    if sdk == "browser":  # page context and properties (sdk-captures/browser.json)
        page = next(call for call in calls if call["type"] == "page")
        assert page["context"]["page"]["url"] == page["properties"]["url"]
        assert page["_metadata"]["bundled"] == ["Segment.io"]
    if sdk == "swift":
        assert {"app", "device", "os", "network", "screen"} <= calls[0]["context"].keys()


async def test_trigger_sends_through_the_tracking_api(tmp_path: Path) -> None:
    server = await start_server(create_emulator(db=":memory:"), "127.0.0.1", 0)
    try:
        done = await segemu(
            "trigger",
            "mobile",
            "--url",
            server.url,
            "-k",
            "app_key",
            "-n",
            "8",
            "--seed",
            "5",
            cwd=tmp_path,
        )
        assert done.status == 0, done.stderr
        assert f"to {server.url}/v1/batch" in done.stdout
        stored = server.emulator.events(EventFilter(write_key="app_key"))
        expected = generate("mobile", "-n", "8", "--seed", "5")
        assert sorted(r["messageId"] for r in stored) == sorted(c["messageId"] for c in expected)
        assert {r["status"] for r in stored} == {"accepted"}
        done = await segemu("trigger", "ecommerce", "--url", server.url, "-n", "2", cwd=tmp_path)
        # analytics.js's batching route: stored as client-side calls.
        assert f"to {server.url}/v1/b" in done.stdout
        browser = server.emulator.events(EventFilter(write_key="my_write_key"))
        assert browser
        assert {r["event"]["channel"] for r in browser} == {"client"}
    finally:
        await server.stop()


def test_a_flow_file_with_a_mistake_is_named(tmp_path: Path) -> None:
    flow = tmp_path / "mine.json"
    flow.write_text(json.dumps({"steps": [{"type": "track"}]}))
    result = CliRunner().invoke(cli, ["trigger", str(flow), "-o", "-"])
    assert result.exit_code == 1
    assert 'step 1 (track) needs an "event" name' in result.output
    result = CliRunner().invoke(cli, ["trigger", "nope"])
    assert "built-in flows: b2b-saas, ecommerce, mobile, video" in result.output


def test_a_copied_and_edited_flow_runs(tmp_path: Path) -> None:
    data = json.loads((ROOT / "segemu" / "traffic" / "flows" / "video.json").read_text())
    data["steps"] = data["steps"][:3]
    mine = tmp_path / "short-video.json"
    mine.write_text(json.dumps(data))
    calls = generate(str(mine), "-n", "2", "--seed", "1")
    assert [call["type"] for call in calls] == ["identify", "page", "track"] * 2
