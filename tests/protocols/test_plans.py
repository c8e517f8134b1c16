"""Tracking plans: Segment's formats and the authoring format load into the same rules; a
malformed plan is refused with its file and rule named; event versions; hot reload keeps the
last good plan."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson
import pytest

from segemu.config import ConfigError
from segemu.emulator import create_emulator
from segemu.protocols import PlanError, load_plan
from segemu.protocols.plans import plan_from_data
from tests.protocols.helpers import FIXTURES, emulator_with, kinds, send, track, write_plan

SEGMENT_PLAN = FIXTURES / "plans" / "shop.segment.json"
AUTHORED_PLAN = FIXTURES / "plans" / "shop.yaml"
D7 = "http://json-schema.org/draft-07/schema#"


def rule(
    key: str, properties: dict[str, Any], required: list[str] | None = None, version: int = 1
) -> dict[str, Any]:
    body: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        body["required"] = required
    return {
        "type": "TRACK",
        "key": key,
        "version": version,
        "jsonSchema": {
            "$schema": D7,
            "type": "object",
            "labels": {},
            "properties": {"context": {}, "traits": {}, "properties": body},
        },
    }


RULES = [rule("Signed Up", {"plan": {"type": "string"}}, ["plan"])]


@pytest.mark.parametrize(
    "document",
    [
        RULES,  # a list of rules
        {"name": "Shop", "rules": RULES},  # a TrackingPlan with its rules
        {"data": {"rules": RULES, "pagination": {"current": "MA=="}}},  # GET .../rules
        {
            "display_name": "Shop",
            "rules": {
                "events": [  # a Config API export
                    {"name": "Signed Up", "version": 1, "rules": RULES[0]["jsonSchema"]}
                ]
            },
        },
        # typewriter's plan.json: TRACK schemas unwrapped to their properties
        {
            "name": "Shop",
            "rules": [
                {
                    "type": "TRACK",
                    "key": "Signed Up",
                    "version": 1,
                    "jsonSchema": {
                        "type": "object",
                        "properties": {"plan": {"type": "string"}},
                        "required": ["plan"],
                        "eventMetadata": {"name": "Signed Up", "type": "TRACK"},
                    },
                }
            ],
        },
        {"track": {"Signed Up": {"properties": {"plan": {"type": "string", "required": True}}}}},
    ],
    ids=["list", "tracking-plan", "public-api-answer", "config-api", "typewriter", "authoring"],
)
def test_every_format_gives_the_same_verdicts(tmp_path: Path, document: Any) -> None:
    emulator = emulator_with(write_plan(tmp_path, document, "plan.json"))
    [missing, wrong, good] = send(
        emulator, track("Signed Up"), track("Signed Up", plan=1), track("Signed Up", plan="pro")
    )
    assert kinds(missing) == [("required", "properties.plan")]
    assert kinds(wrong) == [("type", "properties.plan")]
    assert good["violations"] == []


def test_a_segment_export_round_trips(tmp_path: Path) -> None:
    """fixtures/plans/shop.segment.json is the Public API's answer to
    GET /tracking-plans/{id}/rules. It loads, validates the spec fixtures, gives the documented
    violations, and exported again it loads into the same rules."""
    plan = load_plan(SEGMENT_PLAN)
    assert [r.label for r in plan.rules] == [
        "COMMON",
        "TRACK 'Order Completed' v1",
        "TRACK 'Order Completed' v2",
        "TRACK 'Product Viewed' v1",
        "TRACK 'Checkout Started' v1",
        "IDENTIFY v1",
        "GROUP v1",
        "PAGE 'Home' v1",
    ]
    emulator = emulator_with(SEGMENT_PLAN)
    records = send(
        emulator,
        *_spec_calls("Order Completed", "Product Viewed", "Checkout Started", "Products Searched"),
    )
    by_name = {r["event"]["event"]: r for r in records}
    assert by_name["Order Completed"]["violations"] == []
    assert by_name["Product Viewed"]["violations"] == []
    assert kinds(by_name["Checkout Started"]) == [
        ("additional_property", f"properties.{name}")
        for name in ("affiliation", "shipping", "tax", "discount", "coupon")
    ]
    assert kinds(by_name["Products Searched"]) == [("unplanned_event", "event")]

    exported = tmp_path / "exported.json"
    exported.write_bytes(orjson.dumps(plan.to_segment()))
    again = load_plan(exported)
    # The export adds each property's `id`, as Segment writes it; exported again, it is the same.
    assert again.to_segment() == {**plan.to_segment(), "name": again.name}


def _spec_calls(*names: str) -> list[dict[str, Any]]:
    from tests.protocols.helpers import spec_calls

    return [call for call in spec_calls() if call.get("event") in names]


def test_the_authored_sample_compiles_to_segment_rules() -> None:
    plan = load_plan(AUTHORED_PLAN)
    order = next(r for r in plan.rules if r.key == "Order Completed")
    schema = order.json_schema
    assert schema["$schema"] == D7
    assert schema["labels"] == {"priority": "p0"}
    properties = schema["properties"]["properties"]
    assert properties["required"] == ["order_id", "revenue", "currency", "products"]
    assert properties["properties"]["coupon"] == {"type": ["string", "null"]}
    assert properties["properties"]["products"]["items"]["required"] == ["product_id"]
    identify = next(r for r in plan.rules if r.type == "IDENTIFY")
    assert identify.json_schema["properties"]["traits"]["properties"]["created_at"] == {
        "type": "string",
        "format": "date-time",
    }


def test_event_versions_follow_context_protocols_event_version() -> None:
    # DOCS protocols/tracking-plan/create.md: without a version, or with one the plan lacks,
    # the oldest version validates.
    emulator = emulator_with(SEGMENT_PLAN)
    order = next(call for call in _spec_calls("Order Completed"))
    order.pop("messageId")  # sent three times: not retries
    v2 = {**order, "context": {**order["context"], "protocols": {"event_version": 2}}}
    v9 = {**order, "context": {**order["context"], "protocols": {"event_version": 9}}}
    [oldest, second, unknown] = send(emulator, order, v2, v9)
    assert oldest["violations"] == []
    assert unknown["violations"] == []
    assert kinds(second) == [("required", "properties.payment_method")]
    assert second["violations"][0]["rule"] == "TRACK 'Order Completed' v2"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "plan.json",
            b'{"rules": [\n  {"type": "TRACK",}\n]}',
            "plan.json: not valid JSON at line 2, column 19: trailing comma is not allowed",
        ),
        ("plan.yaml", b"track:\n  Order Completed: [\n", "plan.yaml: not valid YAML at line 3"),
        (
            "plan.json",
            orjson.dumps([{"type": "EVENT", "key": "x"}]),
            "plan.json: rule 1: type must be one of COMMON, TRACK, IDENTIFY, GROUP, PAGE, SCREEN, "
            "got 'EVENT'",
        ),
        (
            "plan.json",
            orjson.dumps([{"type": "TRACK"}]),
            "plan.json: rule 1 (TRACK): key (the event name) is required",
        ),
        (
            "plan.json",
            orjson.dumps([rule("A", {"x": {"type": "numbr"}})]),
            "plan.json: rule 1 (TRACK 'A' v1): jsonSchema is not a valid JSON Schema at "
            "properties.properties.properties.x.type:",
        ),
        (
            "plan.json",
            orjson.dumps([rule("A", {}), rule("A", {})]),
            "plan.json: rule TRACK 'A' v1 appears twice",
        ),
        (
            "plan.json",
            orjson.dumps(
                [{"type": "TRACK", "key": "A", "jsonSchema": {"$ref": "#/definitions/missing"}}]
            ),
            "plan.json: rule 1 (TRACK 'A' v1): jsonSchema cannot be compiled:",
        ),
        (
            "plan.yaml",
            b"track:\n  A:\n    properties:\n      price: numbr\n",
            "plan.yaml: track.'A'.properties.price: unknown type 'numbr' (did you mean 'number'?)",
        ),
        (
            "plan.yaml",
            b"trak:\n  A: {}\n",
            "plan.yaml: not a tracking plan: expected Segment's rules",
        ),
    ],
)
def test_a_malformed_plan_is_refused_naming_file_and_rule(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(PlanError) as error:
        load_plan(path)
    assert message in str(error.value)


def test_a_malformed_plan_stops_the_emulator_with_the_config_entry_named(tmp_path: Path) -> None:
    plan = tmp_path / "web.json"
    plan.write_bytes(orjson.dumps([rule("A", {"x": {"type": "numbr"}})]))
    config = tmp_path / "segemu.toml"
    config.write_text('[sources.web]\nwrite_key = "wk"\ntracking_plan = "web.json"\n')
    from segemu.config import load_config

    with pytest.raises(ConfigError) as error:
        create_emulator(load_config({"db": ":memory:"}, env={}, cwd=tmp_path))
    assert str(error.value).startswith(
        f"{config}: [sources.web] tracking_plan: {plan}: rule 1 (TRACK 'A' v1): jsonSchema is "
        "not a valid JSON Schema"
    )
    missing = tmp_path / "missing.toml"
    missing.write_text('[protocols]\ntracking_plan = "nope.yaml"\n')
    with pytest.raises(ConfigError) as error:
        create_emulator(load_config({"db": ":memory:"}, env={}, config_file=missing))
    assert str(error.value) == (
        f"{missing}: [protocols] tracking_plan: {tmp_path / 'nope.yaml'}"
        ": tracking plan file not found"
    )


def test_reload_takes_a_new_plan_and_keeps_the_last_good_one_on_a_mistake(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write_plan(tmp_path, {"track": {"Signed Up": {}}})
    emulator = emulator_with(path)
    assert kinds(send(emulator, track("Order Completed"))[0]) == [("unplanned_event", "event")]

    write_plan(tmp_path, {"track": {"Signed Up": {}, "Order Completed": {}}})
    [message] = emulator.protocols.reload(force=True)
    assert message == f"tracking plan reloaded: {path} (2 rules)"
    assert send(emulator, track("Order Completed"))[0]["violations"] == []

    path.write_text("track:\n  Order Completed: [\n")
    [message] = emulator.protocols.reload(force=True)
    assert message.startswith(f"{path}: not valid YAML at line 3")
    assert "the last good one stays in force" in caplog.text
    assert send(emulator, track("Order Completed"))[0]["violations"] == []
    [status] = emulator.protocols.plans()
    assert (status["error"], status["rules"], status["sources"]) == (message, 2, ["default"])


def test_reload_looks_only_at_changed_files(tmp_path: Path) -> None:
    path = write_plan(tmp_path, {"track": {"Signed Up": {}}})
    emulator = emulator_with(path)
    assert emulator.protocols.reload() == []  # unchanged: nothing read
    write_plan(tmp_path, {"track": {"Signed Up": {}, "Signed In": {}}})
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert emulator.protocols.reload() == [f"tracking plan reloaded: {path} (2 rules)"]
    assert emulator.protocols.reload() == []


async def test_the_reload_watcher_runs_while_the_emulator_runs(tmp_path: Path) -> None:
    emulator = emulator_with(write_plan(tmp_path, {"track": {"Signed Up": {}}}))
    watcher = None
    async with emulator:
        watcher = emulator.protocols._watcher
        assert watcher is not None
        assert not watcher.done()
    assert watcher.cancelled()


def test_plans_are_shared_between_sources_and_relative_to_the_config_file(tmp_path: Path) -> None:
    (tmp_path / "plans").mkdir()
    write_plan(tmp_path / "plans", {"track": {"Signed Up": {}}}, "web.yaml")
    config = tmp_path / "segemu.toml"
    config.write_text(
        '[protocols]\ntracking_plan = "plans/web.yaml"\n'
        '[sources.web]\nwrite_key = "wk_web"\n'
        '[sources.ios]\nwrite_key = "wk_ios"\ntracking_plan = "plans/web.yaml"\n'
    )
    from segemu.config import load_config

    emulator = create_emulator(load_config({"db": ":memory:"}, env={}, config_file=config))
    [status] = emulator.protocols.plans()
    assert status["sources"] == ["web", "ios"]
    assert status["path"] == str(tmp_path / "plans" / "web.yaml")


def test_plan_from_data_names_a_plan_after_its_file_when_it_has_no_name() -> None:
    assert plan_from_data(RULES, "x.json", "x").name == "x"
    assert plan_from_data({"name": "Shop", "rules": RULES}, "x.json").name == "Shop"
