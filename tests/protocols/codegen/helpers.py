"""What the codegen tests share: the plans, the generated files, and a valid sample call for
every planned event (built from the same JSON Schema the plan checks)."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from segemu.protocols.codegen import Target, generate, read_plan
from segemu.protocols.plans import CONTAINERS, TrackingPlan

ROOT = Path(__file__).parents[3]
PLANS = sorted((ROOT / "fixtures" / "plans").glob("*.*"))
STRESS = ROOT / "fixtures" / "plans" / "codegen-stress.segment.json"
NODE_DIR = ROOT / "tests" / "compat" / "node"
TARGETS = [
    Target("python", "analytics-python"),
    Target("typescript", "analytics-node"),
    Target("typescript", "analytics-next"),
    Target("javascript", "analytics-node"),
    Target("javascript", "analytics-next"),
]


def generated(plan_path: Path, target: Target) -> str:
    plan, version = read_plan(plan_path)
    return generate(plan, target, version)


@dataclass(frozen=True, slots=True)
class PlannedCall:
    kind: str
    key: str | None
    function: str  # the generated function's name
    payload: dict[str, Any]  # properties or traits that satisfy the plan


_MARKED = re.compile(
    r"segemu-call: (?P<kind>[A-Z]+)(?: (?P<key>'.*'|\".*\"))? [0-9a-f]{12}\n"
    r"(?:.*\n)*?(?:def|export function) (?P<function>\w+)\("
)


def planned_calls(plan_path: Path, text: str) -> list[PlannedCall]:
    """Every generated function, with a payload its rule accepts."""
    plan, _ = read_plan(plan_path)
    calls = []
    for match in _MARKED.finditer(text):
        key = ast.literal_eval(match["key"]) if match["key"] else None  # repr() of the name
        calls.append(
            PlannedCall(match["kind"], key, match["function"], _payload(plan, match["kind"], key))
        )
    return calls


def _payload(plan: TrackingPlan, kind: str, key: str | None) -> dict[str, Any]:
    rules = [r for r in plan.rules if r.type == kind and r.key == key]
    rule = max(rules, key=lambda r: r.version)
    schema = rule.json_schema.get("properties", {}).get(CONTAINERS[kind], {})
    value = sample(schema)
    return value if isinstance(value, dict) else {}


def sample(schema: Any) -> Any:
    """A value the schema accepts, with every listed property present."""
    if not isinstance(schema, dict) or not schema:
        return "anything"
    if "examples" in schema:
        return schema["examples"][0]
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list):
        return next((v for v in schema["enum"] if v is not None), None)
    for combinator in ("anyOf", "oneOf"):
        if combinator in schema:
            rest = {k: v for k, v in schema.items() if k != combinator}
            return sample({**rest, **schema[combinator][0]})
    if "allOf" in schema:
        merged: dict[str, Any] = {"type": "object", "properties": {}}
        for part in schema["allOf"]:
            merged["properties"].update(part.get("properties", {}))
        return sample(merged)
    kind = schema.get("type", "object" if "properties" in schema else "string")
    if isinstance(kind, list):
        kind = next(k for k in kind if k != "null")
    if kind == "object":
        return {key: sample(value) for key, value in (schema.get("properties") or {}).items()}
    if kind == "array":
        items = schema.get("items")
        return [sample(items)] if isinstance(items, dict) else []
    if kind == "integer":
        return max(int(schema.get("minimum", 1)), 1)
    if kind == "number":
        return max(float(schema.get("minimum", 1.5)), 1.5)
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return {
        "email": "ada@example.com",
        "date-time": "2026-01-01T00:00:00Z",
        "date": "2026-01-01",
        "uri": "https://example.com/",
    }.get(schema.get("format", ""), "text")
