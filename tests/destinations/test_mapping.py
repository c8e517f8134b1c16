"""Segment's mapping-kit directives, with the cases of action-destinations'
packages/core/src/mapping-kit/README.md and index.ts. Each case runs twice: through the
interpreter (`transform`) and through the compiled form destinations use
(`compile_transform`); the two must agree on every preset's mappings too."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from segemu.destinations.catalog import presets
from segemu.destinations.mapping import (
    MISSING,
    MappingError,
    check,
    compile_transform,
    get_path,
    transform,
)
from tests.destinations.presets.spec import spec_events

Transform = Callable[[dict[str, Any], Any], dict[str, Any]]


@pytest.fixture(params=["interpreted", "compiled"])
def apply(request: pytest.FixtureRequest) -> Transform:
    if request.param == "interpreted":
        return transform
    return lambda mapping, event: compile_transform(mapping)(event)


EVENT: dict[str, Any] = {
    "type": "track",
    "event": "Order Completed",
    "userId": "u1",
    "properties": {
        "revenue": 99.5,
        "products": [{"sku": "a", "price": 1}, {"sku": "b"}],
        "empty": "",
        "nothing": None,
        "nested": {"a": {"b": 1}},
    },
    "traits": {"name": "Mr. Rogers"},
}


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("$.properties.revenue", 99.5),
        ("properties.revenue", 99.5),
        ("$.properties.products[1].sku", "b"),
        ("properties.products.0.price", 1),
        ("$.properties.missing", MISSING),
        ("$.properties.products[5].sku", MISSING),
        ("$.", EVENT),
    ],
)
def test_path_reads_dot_paths_with_or_without_the_root(path: str, value: Any) -> None:
    assert (
        get_path(EVENT, path) == value if value is not MISSING else get_path(EVENT, path) is MISSING
    )


def test_missing_values_are_left_out_and_null_stays(apply: Transform) -> None:
    # mapping-kit README "Removing values from object": undefined goes, null stays.
    mapped = apply(
        {
            "foo": {"@path": "$.properties.revenue"},
            "bar": {"@path": "$.properties.nope"},
            "baz": None,
        },
        EVENT,
    )
    assert mapped == {"foo": 99.5, "baz": None}


def test_template_fills_placeholders_and_leaves_missing_ones_empty(apply: Transform) -> None:
    assert apply(
        {
            "a": {"@template": "Hello, {{traits.name}}!"},
            "b": {"@template": "Hello, {{traits.fullName}}!"},
            "c": {"@template": "{{traits.name}} ({{userId}})"},
        },
        EVENT,
    ) == {"a": "Hello, Mr. Rogers!", "b": "Hello, !", "c": "Mr. Rogers (u1)"}


def test_if_exists_blank_then_else(apply: Transform) -> None:
    mapping = {
        "yes": {"@if": {"exists": {"@path": "$.userId"}, "then": "yep", "else": "nope"}},
        "no": {"@if": {"exists": {"@path": "$.anonymousId"}, "then": "yep", "else": "nope"}},
        "null_is_absent": {"@if": {"exists": {"@path": "$.properties.nothing"}, "then": 1}},
        "blank": {"@if": {"blank": {"@path": "$.properties.empty"}, "then": 1, "else": 2}},
        "only_then": {"@if": {"exists": {"@path": "$.nope"}, "then": True}},
    }
    assert apply(mapping, EVENT) == {"yes": "yep", "no": "nope", "blank": 2}


def test_array_path_reshapes_each_item(apply: Transform) -> None:
    mapped = apply(
        {"items": {"@arrayPath": ["$.properties.products", {"id": {"@path": "$.sku"}}]}}, EVENT
    )
    assert mapped == {"items": [{"id": "a"}, {"id": "b"}]}


def test_case_replace_json_merge_flatten_transform_exclude(apply: Transform) -> None:
    mapping = {
        "upper": {"@case": {"operator": "upper", "value": {"@path": "$.event"}}},
        "snake": {"@replace": {"pattern": " ", "replacement": "_", "value": {"@path": "$.event"}}},
        "once": {
            "@replace": {
                "pattern": "e",
                "replacement": "E",
                "global": False,
                "value": {"@path": "$.event"},
            }
        },
        "json": {"@json": {"mode": "encode", "value": {"@path": "$.traits"}}},
        "merged": {"@merge": {"direction": "right", "objects": [{"a": 1, "b": 1}, {"b": 2}]}},
        "flat": {"@flatten": {"separator": ".", "value": {"@path": "$.properties.nested"}}},
        "moved": {
            "@transform": {"apply": {"n": {"@path": "$.traits.name"}}, "mapping": {"@path": "$.n"}}
        },
        "clean": {"@excludeWhenNull": {"@path": "$.properties"}},
    }
    mapped = apply(mapping, EVENT)
    assert mapped["upper"] == "ORDER COMPLETED"
    assert mapped["snake"] == "Order_Completed"
    assert mapped["once"] == "OrdEr Completed"
    assert mapped["json"] == '{"name":"Mr. Rogers"}'
    assert mapped["merged"] == {"a": 1, "b": 2}
    assert mapped["flat"] == {"a.b": 1}
    assert mapped["moved"] == "Mr. Rogers"
    assert "nothing" not in mapped["clean"]
    assert mapped["clean"]["revenue"] == 99.5


def test_unknown_directives_are_reported_before_any_event(apply: Transform) -> None:
    problems = check(
        {"a": {"@pth": "$.x"}, "b": {"@liquid": "{{x}}"}, "c": {"@path": "$.x", "d": 1}}
    )
    assert any("unknown directive @pth" in p for p in problems)
    assert any("@liquid is not supported" in p for p in problems)
    assert any("must be alone" in p for p in problems)
    assert check({"a": {"@path": "$.x"}, "b": [1, {"@template": "{{y}}"}]}) == []
    with pytest.raises(MappingError, match="unknown directive @nope"):
        apply({"a": {"@nope": 1}}, EVENT)


@pytest.mark.parametrize("fixture", ["ecommerce", "lifecycle", "video"])
def test_compiled_mappings_agree_with_the_interpreter_on_every_preset(fixture: str) -> None:
    compared = 0
    for preset in presets().values():
        for action in preset.actions:
            compiled = compile_transform(action.mapping)
            for event in spec_events(fixture):
                assert _outcome(compiled, event) == _outcome(transform, action.mapping, event), (
                    preset.slug,
                    action.name,
                )
                compared += 1
    assert compared > 1000


def _outcome(run: Callable[..., Any], *args: Any) -> Any:
    try:
        return run(*args)
    except MappingError as exc:
        return ("error", str(exc))
