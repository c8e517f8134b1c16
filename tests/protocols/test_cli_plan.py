"""`segemu plan infer | check | lint | export`: readable output, exit status 1 on violations
or findings, 2 on a mistake in the command; stored calls read from a running segemu."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
import segment.analytics as analytics
import yaml
from click.testing import CliRunner, Result

from segemu.cli import cli
from segemu.testing.client import SegemuClient
from tests.protocols.helpers import FIXTURES, SPEC_FILES, spec_calls

SHOP = FIXTURES / "plans" / "shop.yaml"


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, ["plan", *args], catch_exceptions=False)


def test_infer_on_the_spec_fixtures_gives_a_plan_that_validates_them(tmp_path: Path) -> None:
    plan = tmp_path / "spec.yaml"
    inferred = run("infer", *map(str, SPEC_FILES), "-o", str(plan), "--name", "Spec")
    assert inferred.exit_code == 0, inferred.output
    authored = yaml.safe_load(plan.read_text())
    assert authored["name"] == "Spec"
    assert sorted(authored["track"]) == sorted(
        {call["event"] for call in spec_calls() if call["type"] == "track"}
    )
    assert authored["track"]["Order Completed"]["properties"]["order_id"] == {
        "type": "string",
        "required": True,
    }
    assert authored["identify"]["traits"]["email"] == "string"  # traits stay optional

    checked = run("check", *map(str, SPEC_FILES), "--plan", str(plan))
    assert checked.exit_code == 0, checked.output
    assert checked.output.endswith(
        f"{len(spec_calls())} call(s) checked against 'Spec': 0 with violations, 0 violation(s)\n"
    )


def test_infer_writes_segments_format_for_a_json_output(tmp_path: Path) -> None:
    plan = tmp_path / "spec.json"
    assert run("infer", str(SPEC_FILES[0]), "-o", str(plan)).exit_code == 0
    document = orjson.loads(plan.read_bytes())
    assert {rule["type"] for rule in document["rules"]} == {"TRACK"}
    assert len(document["rules"]) == 28
    assert run("check", str(SPEC_FILES[0]), "--plan", str(plan)).exit_code == 0


def test_check_lists_each_broken_call_and_exits_1(tmp_path: Path) -> None:
    calls = tmp_path / "calls.jsonl"
    calls.write_text(
        "\n".join(
            orjson.dumps(call).decode()
            for call in [
                {
                    "type": "track",
                    "event": "Order Completed",
                    "userId": "u_1",
                    "properties": {
                        "order_id": "o-1",
                        "revenue": "9",
                        "currency": "USD",
                        "products": [],
                    },
                    "context": {"library": {"name": "x"}},
                },
                {
                    "type": "track",
                    "event": "Product Viewed",
                    "userId": "u_1",
                    "properties": {"product_id": "p-1"},
                    "context": {"library": {"name": "x"}},
                },
                {"type": "track", "userId": "u_1"},
            ]
        )
        + "\n"
    )
    result = run("check", str(calls), "--plan", str(SHOP))
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0].startswith("  #1 track 'Order Completed' at ")
    assert lines[1:] == [
        '    violation: properties.revenue must be a number, got string "9"',
        "  #3 not checked: Segment would drop it (track call has no event name)",
        "2 call(s) checked against 'Shop': 1 with violations, 1 violation(s) (1 type)",
    ]


def test_check_reads_the_plan_of_a_source_from_the_config(tmp_path: Path) -> None:
    config = tmp_path / "segemu.toml"
    config.write_text(
        f'[sources.web]\nwrite_key = "wk"\ntracking_plan = "{SHOP}"\n'
        "[sources.web.protocols.track]\nallowUnplannedEvents = false\n"
    )
    calls = tmp_path / "calls.json"
    calls.write_bytes(
        orjson.dumps({"batch": [{"type": "track", "event": "Debug Clicked", "userId": "u_1"}]})
    )
    result = run("check", str(calls), "--config", str(config), "--source", "web")
    assert result.exit_code == 1
    assert "blocked for every destination: unplanned event 'Debug Clicked'" in result.output
    no_plan = run("check", str(calls), "--config", str(config))
    assert no_plan.exit_code == 2
    assert "no tracking plan: pass --plan PLAN" in no_plan.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["check", "missing.jsonl", "--plan", str(SHOP)], "missing.jsonl: cannot read"),
        (
            ["check", str(SPEC_FILES[0]), "--plan", "missing.yaml"],
            "missing.yaml: tracking plan file not found",
        ),
        (
            ["lint", str(SPEC_FILES[0]), "--rule", "no-such-rule"],
            "--rule 'no-such-rule': no such rule",
        ),
    ],
)
def test_mistakes_in_the_command_exit_2_with_one_line(args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, ["plan", *args])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_lint_a_file_groups_findings_by_rule(tmp_path: Path) -> None:
    calls = tmp_path / "calls.jsonl"
    calls.write_text(
        "\n".join(
            orjson.dumps(call).decode()
            for call in [
                {"type": "track", "event": "Viewed Product 12345", "anonymousId": "a_1"},
                {"type": "track", "event": "Order Completed", "anonymousId": "a_1"},
            ]
        )
    )
    result = run("lint", str(calls))
    assert result.exit_code == 1
    assert result.output.splitlines()[0] == "dynamic-event-name (1):"
    assert "conversion-without-identify (1):" in result.output
    assert "object-action (1):" in result.output  # 'Viewed Product': the action comes first
    assert result.output.endswith("2 call(s) linted: 3 finding(s) from 3 rule(s)\n")
    only = run("lint", str(calls), "--rule", "dynamic-event-name")
    assert only.output.endswith("2 call(s) linted: 1 finding(s) from 1 rule(s)\n")
    clean = run("lint", *map(str, SPEC_FILES))
    assert clean.exit_code == 0
    assert clean.output == f"{len(spec_calls())} call(s) linted: 0 finding(s)\n"


def test_lint_list_shows_each_rule_with_its_switch(tmp_path: Path) -> None:
    config = tmp_path / "segemu.toml"
    config.write_text("[lint]\nobject-action = false\nevent-before-consent = true\n")
    listed = run("lint", "--list", "--config", str(config)).output.splitlines()
    assert len(listed) == 10
    assert "off  object-action" in listed[2]
    assert listed[-2].startswith("on   event-before-consent")


def test_infer_and_lint_read_the_calls_stored_in_a_running_segemu(
    segemu: SegemuClient, tmp_path: Path
) -> None:
    analytics.identify("u_1", {"email": "ada@example.com"})
    analytics.track("u_1", "Order Completed", {"order_id": "o-1", "revenue": 9.5})
    analytics.track("u_1", "Clicked Button", {"order_id": "o-1"})
    segemu.wait_for("type:track", count=2)
    plan = tmp_path / "stored.yaml"
    inferred = run("infer", "--url", segemu.url, "-k", segemu.write_key, "-o", str(plan))
    assert inferred.exit_code == 0, inferred.output
    authored = yaml.safe_load(plan.read_text())
    assert sorted(authored["track"]) == ["Clicked Button", "Order Completed"]
    assert authored["identify"] == {"traits": {"email": "string"}}

    linted = run("lint", "--url", segemu.url, "-k", segemu.write_key)
    assert linted.exit_code == 1
    assert "object-action (1):" in linted.output


def test_export_prints_segments_format() -> None:
    result = run("export", str(SHOP))
    assert result.exit_code == 0
    document = orjson.loads(result.output)
    assert document["name"] == "Shop"
    assert [rule["type"] for rule in document["rules"]][:2] == ["COMMON", "TRACK"]


def test_export_gives_each_property_the_id_typewriter_reads() -> None:
    # segmentio/typewriter src/api/trackingplans.ts sanitizeTrackingPlan calls
    # `.id.replace('/properties/properties/properties/', '/properties/')` on each property of
    # every TRACK rule read from a plan.json.
    document = orjson.loads(run("export", str(SHOP)).output)
    tracks = [rule for rule in document["rules"] if rule["type"] == "TRACK"]
    assert tracks
    for rule in tracks:
        fields = rule["jsonSchema"]["properties"]["properties"].get("properties", {})
        for name, field in fields.items():
            assert field["id"] == f"/properties/properties/properties/{name}"
            assert field["id"].replace("/properties/properties/properties/", "/properties/") == (
                f"/properties/{name}"
            )
