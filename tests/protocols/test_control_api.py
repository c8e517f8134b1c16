"""Violations and lint findings over the control API, on a real server: in every record,
in GET /_segemu/violations with its filters, in the query language; the plans in force, and a
reload on demand."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from segemu import create_emulator
from segemu.http.server import RunningServer, start_server
from tests.conftest import get_json
from tests.protocols.helpers import write_plan

PLAN = {
    "name": "Shop",
    "track": {
        "Order Completed": {
            "properties": {"order_id": {"type": "string", "required": True}, "revenue": "number"}
        }
    },
}


@pytest.fixture
async def planned(tmp_path: Path) -> AsyncIterator[RunningServer]:
    plan = write_plan(tmp_path, PLAN)
    emulator = create_emulator(
        db=":memory:", protocols={"tracking_plan": str(plan), "strict": True}
    )
    running = await start_server(emulator, "127.0.0.1", 0)
    yield running
    await running.stop()


async def post_batch(
    http: aiohttp.ClientSession, server: RunningServer, write_key: str, *calls: dict[str, Any]
) -> None:
    auth = base64.b64encode(f"{write_key}:".encode()).decode()
    async with http.post(
        f"{server.url}/v1/batch",
        json={"batch": list(calls)},
        headers={"Authorization": f"Basic {auth}"},
    ) as response:
        assert response.status == 200


def order(**properties: Any) -> dict[str, Any]:
    return {"type": "track", "event": "Order Completed", "userId": "u_1", "properties": properties}


async def test_records_carry_their_violations_lint_and_outcome(
    planned: RunningServer, http: aiohttp.ClientSession
) -> None:
    await post_batch(http, planned, "wk", order(revenue="9"))
    [record] = (await get_json(http, f"{planned.url}/_segemu/events"))["events"]
    assert [(v["type"], v["path"]) for v in record["violations"]] == [
        ("required", "properties.order_id"),
        ("type", "properties.revenue"),
    ]
    assert record["lint"] == []
    assert record["protocols"]["blocked"] is None
    assert record["protocols"]["trackingPlan"] == "Shop"


async def test_violations_listing_filters_and_totals(
    planned: RunningServer, http: aiohttp.ClientSession
) -> None:
    await post_batch(
        http,
        planned,
        "wk_a",
        order(revenue="9"),
        order(order_id="o-1"),
        {"type": "track", "event": "Viewed Product 12345", "userId": "u_1"},
    )
    await post_batch(http, planned, "wk_b", order())
    url = f"{planned.url}/_segemu/violations"
    answer = await get_json(http, f"{url}?writeKey=wk_a")
    assert [entry["name"] for entry in answer["events"]] == [
        "Viewed Product 12345",
        "Order Completed",
    ]
    assert answer["totals"] == {
        "violations": 3,
        "byType": {"unplanned_event": 1, "required": 1, "type": 1},
        "lint": 2,
        "byRule": {"dynamic-event-name": 1, "object-action": 1},
    }
    assert answer["strict"] is True
    only_required = await get_json(http, f"{url}?q=violations.type:required")
    assert [(e["writeKey"], e["id"]) for e in only_required["events"]] == [("wk_b", 4), ("wk_a", 1)]
    lint = await get_json(http, f"{url}?kind=lint")
    assert [e["name"] for e in lint["events"]] == ["Viewed Product 12345"]
    async with http.get(f"{url}?kind=warnings") as response:
        assert response.status == 400
        assert "kind must be one of violations, lint, all" in (await response.json())["message"]


async def test_the_query_language_reaches_violations_and_lint(
    planned: RunningServer, http: aiohttp.ClientSession
) -> None:
    await post_batch(http, planned, "wk", order(revenue="9"), order(order_id="o-1"))
    events = f"{planned.url}/_segemu/events"
    broken = await get_json(http, f"{events}?q=violations.path:properties.revenue")
    assert [r["id"] for r in broken["events"]] == [1]
    clean = await get_json(http, f"{events}?q=-violations.type:*")
    assert [r["id"] for r in clean["events"]] == [2]


async def test_protocols_describes_plans_and_lint_rules_and_reloads(
    planned: RunningServer, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    described = await get_json(http, f"{planned.url}/_segemu/protocols")
    [plan] = described["plans"]
    assert (plan["name"], plan["rules"], plan["error"], plan["sources"]) == (
        "Shop",
        1,
        None,
        ["default"],
    )
    rules = {rule["id"]: rule["enabled"] for rule in described["lint"]}
    assert rules["dynamic-event-name"] is True
    assert rules["event-before-consent"] is False

    (tmp_path / "plan.yaml").write_text("track: [\n")
    async with http.post(f"{planned.url}/_segemu/protocols/reload") as response:
        assert response.status == 200
        answer = await response.json()
    [status] = answer["plans"]
    assert status["error"].endswith(
        "plan.yaml: not valid YAML at line 2, column 1: "
        "expected the node content, but found '<stream end>'"
    )
    assert status["rules"] == 1  # the last good plan stays in force
