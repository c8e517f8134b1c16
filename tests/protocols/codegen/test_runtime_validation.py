"""Runtime validation in the generated clients (`--validation`): in development builds each
call is checked against the plan, and a call that breaks it reaches the onViolation handler
(and is still sent); production builds leave the check out."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from segemu.protocols.codegen import Target
from tests.protocols.codegen.helpers import STRESS, generated, planned_calls
from tests.protocols.codegen.test_typecheck import tsc

PYTHON = Target("python", "analytics-python", validation=True)
# A call of 'Order Completed' that breaks its rule five ways.
BAD_ORDER: dict[str, Any] = {
    "order_id": "o-1",
    "revenue": -1,
    "currency": "JPY",
    "products": [{"product_id": "p-1", "quantity": 0, "colour": "red"}],
}
BAD_ORDER_VIOLATIONS = [
    {"path": "properties.revenue", "message": "must be >= 0"},
    {"path": "properties.currency", "message": "must be one of ['USD', 'EUR'], got 'JPY'"},
    {"path": "properties.products.0.quantity", "message": "must be >= 1"},
    {"path": "properties.products.0.colour", "message": "is not a property the plan allows"},
]


class Recorder:
    """Stands in for segment-analytics-python's Client: what the generated code sends."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def __getattr__(self, method: str) -> Any:
        return lambda **call: self.sent.append((method, call))


def load(path: Path, text: str) -> ModuleType:
    path.write_text(text)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_python_client_hands_a_bad_call_to_on_violation_and_still_sends_it(
    tmp_path: Path,
) -> None:
    tracking = load(tmp_path / "tracking_checked.py", generated(STRESS, PYTHON))
    seen: list[tuple[dict[str, Any], list[dict[str, str]]]] = []
    tracking.set_on_violation(lambda message, violations: seen.append((message, violations)))
    client = Recorder()
    tracking.order_completed(client, BAD_ORDER, user_id="u-1")
    assert seen == [
        (
            {"type": "track", "event": "Order Completed", "properties": BAD_ORDER},
            BAD_ORDER_VIOLATIONS,
        )
    ]
    assert client.sent[0][1]["properties"] == BAD_ORDER

    seen.clear()
    tracking.order_completed(client, {"order_id": "o-1"}, user_id="u-1")
    assert [v["message"] for v in seen[0][1]] == [
        "is missing the required property 'revenue'",
        "is missing the required property 'currency'",
        "is missing the required property 'products'",
    ]
    seen.clear()
    tracking.unions(client, {"id": 1.5, "payload": {"a": "x", "b": 1}}, user_id="u-1")
    assert seen[0][1] == [
        {"path": "properties.id", "message": "must match one of anyOf"},
        {"path": "properties.payload", "message": "must match exactly one of oneOf"},
    ]


def test_python_client_passes_every_planned_sample(tmp_path: Path) -> None:
    text = generated(STRESS, PYTHON)
    tracking = load(tmp_path / "tracking_samples.py", text)
    seen: list[object] = []
    tracking.set_on_violation(lambda message, violations: seen.append(violations))
    client = Recorder()
    for call in planned_calls(STRESS, text):
        function = getattr(tracking, call.function)
        if call.kind == "GROUP":
            function(client, "g-1", call.payload, user_id="u-1")
        elif call.function in ("page", "screen"):
            function(client, "Any page", call.payload, user_id="u-1")
        else:
            function(client, call.payload, user_id="u-1")
    assert seen == []


def test_python_default_handler_warns(tmp_path: Path) -> None:
    tracking = load(tmp_path / "tracking_warns.py", generated(STRESS, PYTHON))
    with pytest.warns(tracking.TrackingPlanViolation, match=r"Delete: properties.id must be"):
        tracking.delete(Recorder(), {"id": 7}, user_id="u-1")


def test_python_optimized_run_leaves_the_check_out(tmp_path: Path) -> None:
    (tmp_path / "tracking_o.py").write_text(generated(STRESS, PYTHON))
    script = (
        "import tracking_o\n"
        "class C:\n"
        "    def track(self, **call): print('sent')\n"
        "tracking_o.set_on_violation(lambda m, v: print('violation', v[0]['path']))\n"
        "tracking_o.delete(C(), {'id': 7}, user_id='u')\n"
    )
    for flags, expected in (([], "violation properties.id\nsent\n"), (["-O"], "sent\n")):
        result = subprocess.run(
            [sys.executable, *flags, "-c", script],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert (result.returncode, result.stdout) == (0, expected), result.stderr


DRIVER = """
import * as typewriter from './tracking.js'
const sent = []
const seen = []
typewriter.setTypewriterOptions({
  analytics: { track: (message) => sent.push(message) },
  onViolation: (message, violations) => seen.push({ message, violations }),
})
typewriter.orderCompleted({ userId: 'u-1', properties: JSON.parse(process.env.BAD) })
console.log(JSON.stringify({ sent, seen }))
"""


@pytest.mark.parametrize("language", ["typescript", "javascript"])
def test_node_client_hands_a_bad_call_to_on_violation_in_development(
    tmp_path: Path, language: str
) -> None:
    text = generated(STRESS, Target(language, "analytics-node", validation=True))
    (tmp_path / "package.json").write_text('{"type": "module"}')
    if language == "typescript":
        (tmp_path / "tracking.ts").write_text(text)
        compiled = tsc(tmp_path, ["tracking.ts"], emit=True)
        assert compiled.returncode == 0, compiled.stdout
    else:
        (tmp_path / "tracking.js").write_text(text)
    (tmp_path / "driver.mjs").write_text(DRIVER)

    def run(node_env: str) -> dict[str, Any]:
        env = {**os.environ, "BAD": json.dumps(BAD_ORDER), "NODE_ENV": node_env}
        result = subprocess.run(
            ["node", "driver.mjs"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        output: dict[str, Any] = json.loads(result.stdout)
        return output

    development = run("development")
    [seen] = development["seen"]
    assert seen["message"]["event"] == "Order Completed"
    # The same paths as the Python client's; JSON's spelling of the enum.
    assert [v["path"] for v in seen["violations"]] == [v["path"] for v in BAD_ORDER_VIOLATIONS]
    assert seen["violations"][1]["message"] == 'must be one of ["USD","EUR"], got "JPY"'
    assert len(development["sent"]) == 1  # sent all the same

    production = run("production")
    assert production["seen"] == []
    assert len(production["sent"]) == 1
