"""Segment's tracking plan CSV (the Protocols UI's "Download Tracking Plan" file, and what its
"Import... > From CSV" takes; segment-docs src/protocols/tracking-plan/create.md) is read
wherever a plan file is: the config's tracking_plan, `plan check`, `plan export`,
`plan codegen`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner

from segemu.cli import cli
from segemu.config import ConfigError, load_config
from segemu.emulator import create_emulator
from segemu.protocols.plans import PlanError, load_plan
from tests.protocols.helpers import FIXTURES, emulator_with, send

SHOP_CSV = FIXTURES / "plans" / "shop.csv"
SHOP_YAML = FIXTURES / "plans" / "shop.yaml"
HEADER = (
    "Event Type,Event Name,Event Version,Event Description,Event Labels,Property Name,"
    "Property Description,Property Type,Required,Allowed Property Values\n"
)


def csv_plan(tmp_path: Path, text: str, name: str = "plan.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _without(schema: Any, keywords: dict[str, Any]) -> Any:
    if isinstance(schema, dict):
        return {
            key: _without(value, keywords)
            for key, value in schema.items()
            if not (key in keywords and keywords[key] == value)
        }
    if isinstance(schema, list):
        return [_without(value, keywords) for value in schema]
    return schema


def test_the_shop_csv_gives_the_rules_of_the_shop_plan() -> None:
    from_csv = load_plan(SHOP_CSV).to_segment()["rules"]
    from_yaml = load_plan(SHOP_YAML).to_segment()["rules"]
    # The CSV's columns have no place for a minimum or a string format other than Date time:
    # the YAML's `minimum: 1`, `format: uri` and `format: email` are all that differ.
    expected = _without(from_yaml, {"minimum": 1, "format": "uri"})
    expected = _without(expected, {"format": "email"})

    def by_rule(rules: list[Any]) -> dict[Any, Any]:
        return {(rule["type"], rule["key"], rule["version"]): rule for rule in rules}

    assert by_rule(from_csv) == by_rule(expected)
    assert len(from_csv) == len(expected) == 7


def test_a_csv_plan_checks_calls_like_the_yaml_plan() -> None:
    call = {
        "type": "track",
        "event": "Order Completed",
        "properties": {"order_id": 1, "revenue": 9.5, "currency": "JPY", "products": []},
    }
    [from_csv] = send(emulator_with(SHOP_CSV), call)
    [from_yaml] = send(emulator_with(SHOP_YAML), call)
    assert [v["message"] for v in from_csv["violations"]] == [
        v["message"] for v in from_yaml["violations"]
    ]
    assert {v["path"] for v in from_csv["violations"]} == {
        "properties.order_id",
        "properties.currency",
    }


def test_rows_under_an_event_belong_to_it_and_versions_are_rules(tmp_path: Path) -> None:
    plan = load_plan(
        csv_plan(
            tmp_path,
            HEADER
            + 'Track,Checkout Started,1,Cart opened,"priority:p1, team:web",,,,,\n'
            + ",,,,,cart_id,The cart,String,Required,\n"
            + ",,,,,size,,Integer,,1|2|3\n"
            + "Track,Checkout Started,2,,,,,,,\n"
            + ",,,,,cart_id,,String,Required,\n"
            + ",,,,,express,,Boolean,Optional,\n"
            + "Page,,,,,,,,,\n"
            + ",,,,,title,,string,yes,\n"
            + "Group,,,,,,,,,\n"
            + ",,,,,address,,Object,,\n"
            + ",,,,,address.city,,String,Required,\n",
        )
    )
    rules = {(rule.type, rule.key, rule.version): rule.json_schema for rule in plan.rules}
    assert set(rules) == {
        ("TRACK", "Checkout Started", 1),
        ("TRACK", "Checkout Started", 2),
        ("PAGE", None, 1),
        ("GROUP", None, 1),
    }
    v1 = rules[("TRACK", "Checkout Started", 1)]
    assert v1["description"] == "Cart opened"
    assert v1["labels"] == {"priority": "p1", "team": "web"}
    assert v1["properties"]["properties"] == {
        "type": "object",
        "properties": {
            "cart_id": {"type": "string", "description": "The cart"},
            "size": {"type": "integer", "enum": [1, 2, 3]},
        },
        "required": ["cart_id"],
    }
    assert set(
        rules[("TRACK", "Checkout Started", 2)]["properties"]["properties"]["properties"]
    ) == {
        "cart_id",
        "express",
    }
    assert rules[("PAGE", None, 1)]["properties"]["properties"]["required"] == ["title"]
    assert rules[("GROUP", None, 1)]["properties"]["traits"]["properties"]["address"] == {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    }


def test_columns_are_found_by_name_in_any_order(tmp_path: Path) -> None:
    # A file with a byte order mark (as spreadsheets save it), other casing and spacing, extra
    # columns, no Event Type column (every row a Track event), Segment's "Enum Values", the
    # editor's "Permitted Values" regular expression and "Data Type" / "Status" names.
    text = (
        "\ufeffStatus,Data Type,property name,EVENT NAME,Owner,Enum Values,Permitted Values\n"
        "optional,,,Video Played,growth,,\n"
        'required,"string, null",quality,Video Played,,"[""hd"", ""sd""]",\n'
        "optional,String,season,Video Played,,,^(fall|winter|spring)$\n"
        "optional,Date time,played_at,Video Played,,,\n"
    )
    plan = load_plan(csv_plan(tmp_path, text, "acme-video--2026-01-12--09-30-utc.csv"))
    assert plan.name == "acme-video"
    [rule] = plan.rules
    assert (rule.type, rule.key) == ("TRACK", "Video Played")
    assert rule.json_schema["properties"]["properties"] == {
        "type": "object",
        "properties": {
            "quality": {"type": ["string", "null"], "enum": ["hd", "sd"]},
            "season": {"type": "string", "pattern": "^(fall|winter|spring)$"},
            "played_at": {"type": "string", "format": "date-time"},
        },
        "required": ["quality"],
    }


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("Track,,1,,,,,,,\n", "line 2: a Track row needs an Event Name"),
        ("Alias,A,1,,,,,,,\n", "line 2: Event Type 'Alias' is not one of Track, Identify"),
        ("Track,A,0,,,,,,,\n", "line 2: Event Version must be a whole number of at least 1"),
        ("Track,A,1,,,x,,Text,,\n", "line 2: property 'x': unknown Data Type 'Text'"),
        ("Track,A,1,,,x,,String,maybe,\n", "line 2: property 'x': Required 'maybe'"),
        (
            "Track,A,1,,,items.sku,,String,,\n",
            "line 2: property 'items.sku' comes before its parent 'items'",
        ),
        ("Track,A,1,,p0,,,,,\n", "line 2: label 'p0' is not a key:value pair"),
        ("", "line 1: a header row but no events"),
    ],
)
def test_a_mistake_names_the_file_and_the_line(tmp_path: Path, rows: str, message: str) -> None:
    path = csv_plan(tmp_path, HEADER + rows)
    with pytest.raises(PlanError) as error:
        load_plan(path)
    assert str(error.value).startswith(f"{path}: {message}")


def test_a_file_without_the_columns_is_refused(tmp_path: Path) -> None:
    path = csv_plan(tmp_path, "name,email\nAda,ada@example.com\n")
    with pytest.raises(PlanError, match=r"no Event Name or Property Name column"):
        load_plan(path)


def test_the_config_takes_a_csv_plan_and_names_its_mistakes(tmp_path: Path) -> None:
    config = tmp_path / "segemu.toml"
    csv_plan(tmp_path, HEADER + "Track,,1,,,,,,,\n")
    config.write_text('[sources.web]\nwrite_key = "wk"\ntracking_plan = "plan.csv"\n')
    with pytest.raises(ConfigError, match=r"tracking_plan: .*plan\.csv: line 2: a Track row"):
        create_emulator(load_config({"db": ":memory:"}, config_file=config, discover=False))


def test_plan_check_export_and_codegen_read_the_csv(tmp_path: Path) -> None:
    runner = CliRunner()
    calls = tmp_path / "calls.jsonl"
    calls.write_bytes(
        orjson.dumps(
            {
                "type": "track",
                "event": "Signed Up",
                "userId": "u_1",
                "properties": {"plan": "gold"},
                "context": {"library": {"name": "x"}},
            }
        )
        + b"\n"
    )
    checked = runner.invoke(cli, ["plan", "check", str(calls), "--plan", str(SHOP_CSV)])
    assert checked.exit_code == 1
    assert "properties.plan must be one of" in checked.output

    exported = runner.invoke(cli, ["plan", "export", str(SHOP_CSV)])
    assert exported.exit_code == 0, exported.output
    assert orjson.loads(exported.output)["rules"] == load_plan(SHOP_CSV).to_segment()["rules"]

    out = tmp_path / "analytics.ts"
    generated = runner.invoke(cli, ["plan", "codegen", str(SHOP_CSV), "-o", str(out)])
    assert generated.exit_code == 0, generated.output
    assert "export function orderCompleted(" in out.read_text()
