"""The generated clients for the fixture plans, byte for byte: a change to the generator shows
up here as a diff to review. `SEGEMU_UPDATE_GOLDEN=1 pytest tests/protocols/codegen` rewrites
the golden files."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from segemu.protocols.codegen import Target, drift, generate
from segemu.protocols.plans import plan_from_data
from tests.protocols.codegen.helpers import PLANS, STRESS, TARGETS, generated

GOLDEN = Path(__file__).parent / "golden"


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: f"{t.language}-{t.sdk}")
@pytest.mark.parametrize("plan_path", PLANS, ids=lambda p: p.name)
def test_generated_client_matches_golden_file(plan_path: Path, target: Target) -> None:
    text = generated(plan_path, target)
    golden = GOLDEN / f"{plan_path.name}.{target.sdk}{target.suffix}.golden"
    if os.environ.get("SEGEMU_UPDATE_GOLDEN"):
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8")


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: f"{t.language}-{t.sdk}")
def test_validating_client_matches_golden_file(target: Target) -> None:
    text = generated(STRESS, replace(target, validation=True))
    golden = GOLDEN / f"{STRESS.name}.{target.sdk}.validation{target.suffix}.golden"
    if os.environ.get("SEGEMU_UPDATE_GOLDEN"):
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8")


def test_each_file_names_the_plan_its_version_and_hash() -> None:
    for target in TARGETS:
        head = generated(STRESS, target).splitlines()[:6]
        stamp = next(line for line in head if "sha256:" in line)
        assert "plan: 'Codegen stress', version: 7, sha256: " in stamp


def test_colliding_names_are_resolved_the_same_way_whatever_the_rule_order() -> None:
    rules: list[dict[str, object]] = [
        {"type": "TRACK", "key": key, "jsonSchema": {}}
        for key in ("Order Completed", "order_completed", "orderCompleted", "Delete", "Class")
    ]
    forward = plan_from_data({"name": "n", "rules": rules}, "plan")
    backward = plan_from_data({"name": "n", "rules": rules[::-1]}, "plan")
    for target in TARGETS:
        text = generate(forward, target)
        assert text == generate(backward, target)
    python = generate(forward, Target("python", "analytics-python"))
    for name in ("order_completed", "order_completed2", "order_completed3", "delete", "class2"):
        assert f"\ndef {name}(" in python
    typescript = generate(forward, Target("typescript", "analytics-node"))
    # `delete` is a reserved word in JavaScript; `class` in both.
    for name in ("orderCompleted", "orderCompleted2", "orderCompleted3", "delete2", "class2"):
        assert f"export function {name}(" in typescript


def test_descriptions_become_doc_comments_that_cannot_end_early() -> None:
    typescript = generated(STRESS, Target("typescript", "analytics-node"))
    assert " * Sent once per order, after payment *\\/ clears" in typescript
    assert "/** The order's id in the shop's database */" in typescript
    python = generated(STRESS, Target("python", "analytics-python"))
    assert (
        '    """The shopper paid.\n'
        '    Sent once per order, after payment */ clears \\"\\"\\" twice.' in (python)
    )
    assert "    # The order's id in the shop's database\n    order_id: Required[str]" in python


def test_drift_names_the_calls_added_removed_and_changed() -> None:
    def plan(*rules: tuple[str, dict[str, object]]) -> str:
        data = [{"type": "TRACK", "key": key, "jsonSchema": schema} for key, schema in rules]
        return generate(plan_from_data(data, "p"), Target("python", "analytics-python"))

    before = plan(("A", {}), ("B", {}), ("C", {}))
    after = plan(("A", {}), ("B", {"description": "now documented"}), ("D", {}))
    assert (
        drift(before, after).describe()
        == "added: TRACK 'D'; removed: TRACK 'C'; changed: TRACK 'B'"
    )
    assert drift(before, before).describe() == (
        "the plan's calls are the same; the generated code differs"
    )


def test_enum_values_that_python_thinks_equal_stay_apart() -> None:
    # JSON Schema tells 1 from true and 0 from false; Python's == does not.
    rules = [
        {
            "type": "TRACK",
            "key": "E",
            "jsonSchema": {
                "properties": {
                    "properties": {"properties": {"k": {"enum": [1, True, 0, False, "a", None]}}}
                }
            },
        }
    ]
    plan = plan_from_data(rules, "p")
    assert 'k: Literal[1, True, 0, False, "a"] | None' in generate(
        plan, Target("python", "analytics-python")
    )
    assert 'k?: 1 | true | 0 | false | "a" | null' in generate(
        plan, Target("typescript", "analytics-node")
    )
