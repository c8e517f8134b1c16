"""Segment's mapping-kit directives, with the cases of action-destinations'
packages/core/src/mapping-kit/README.md and index.ts."""

from __future__ import annotations

from typing import Any

import pytest

from segemu.destinations.mapping import MISSING, MappingError, check, get_path, transform

EVENT: dict[str, Any] = {
    "type": "track", "event": "Order Completed", "userId": "u1",
    "properties": {"revenue": 99.5, "products": [{"sku": "a", "price": 1}, {"sku": "b"}],
                   "empty": "", "nothing": None, "nested": {"a": {"b": 1}}},
    "traits": {"name": "Mr. Rogers"},
}


@pytest.mark.parametrize(("path", "value"), [
    ("$.properties.revenue", 99.5), ("properties.revenue", 99.5),
    ("$.properties.products[1].sku", "b"), ("properties.products.0.price", 1),
    ("$.properties.missing", MISSING), ("$.properties.products[5].sku", MISSING),
    ("$.", EVENT),
])
def test_path_reads_dot_paths_with_or_without_the_root(path: str, value: Any) -> None:
    assert get_path(EVENT, path) == value if value is not MISSING else \
        get_path(EVENT, path) is MISSING


def test_missing_values_are_left_out_and_null_stays() -> None:
    # mapping-kit README "Removing values from object": undefined goes, null stays.
    mapped = transform({"foo": {"@path": "$.properties.revenue"},
                        "bar": {"@path": "$.properties.nope"}, "baz": None}, EVENT)
    assert mapped == {"foo": 99.5, "baz": None}


def test_template_fills_placeholders_and_leaves_missing_ones_empty() -> None:
    assert transform({"a": {"@template": "Hello, {{traits.name}}!"},
                      "b": {"@template": "Hello, {{traits.fullName}}!"},
                      "c": {"@template": "{{traits.name}} ({{userId}})"}}, EVENT) == {
        "a": "Hello, Mr. Rogers!", "b": "Hello, !", "c": "Mr. Rogers (u1)"}


def test_if_exists_blank_then_else() -> None:
    mapping = {
        "yes": {"@if": {"exists": {"@path": "$.userId"}, "then": "yep", "else": "nope"}},
        "no": {"@if": {"exists": {"@path": "$.anonymousId"}, "then": "yep", "else": "nope"}},
        "null_is_absent": {"@if": {"exists": {"@path": "$.properties.nothing"}, "then": 1}},
        "blank": {"@if": {"blank": {"@path": "$.properties.empty"}, "then": 1, "else": 2}},
        "only_then": {"@if": {"exists": {"@path": "$.nope"}, "then": True}},
    }
    assert transform(mapping, EVENT) == {"yes": "yep", "no": "nope", "blank": 2}


def test_array_path_reshapes_each_item() -> None:
    mapped = transform({"items": {"@arrayPath": ["$.properties.products",
                                                  {"id": {"@path": "$.sku"}}]}}, EVENT)
    assert mapped == {"items": [{"id": "a"}, {"id": "b"}]}


def test_case_replace_json_merge_flatten_transform_exclude() -> None:
    mapping = {
        "upper": {"@case": {"operator": "upper", "value": {"@path": "$.event"}}},
        "snake": {"@replace": {"pattern": " ", "replacement": "_",
                               "value": {"@path": "$.event"}}},
        "once": {"@replace": {"pattern": "e", "replacement": "E", "global": False,
                              "value": {"@path": "$.event"}}},
        "json": {"@json": {"mode": "encode", "value": {"@path": "$.traits"}}},
        "merged": {"@merge": {"direction": "right",
                              "objects": [{"a": 1, "b": 1}, {"b": 2}]}},
        "flat": {"@flatten": {"separator": ".", "value": {"@path": "$.properties.nested"}}},
        "moved": {"@transform": {"apply": {"n": {"@path": "$.traits.name"}},
                                 "mapping": {"@path": "$.n"}}},
        "clean": {"@excludeWhenNull": {"@path": "$.properties"}},
    }
    mapped = transform(mapping, EVENT)
    assert mapped["upper"] == "ORDER COMPLETED"
    assert mapped["snake"] == "Order_Completed"
    assert mapped["once"] == "OrdEr Completed"
    assert mapped["json"] == '{"name":"Mr. Rogers"}'
    assert mapped["merged"] == {"a": 1, "b": 2}
    assert mapped["flat"] == {"a.b": 1}
    assert mapped["moved"] == "Mr. Rogers"
    assert "nothing" not in mapped["clean"]
    assert mapped["clean"]["revenue"] == 99.5


def test_unknown_directives_are_reported_before_any_event() -> None:
    problems = check({"a": {"@pth": "$.x"}, "b": {"@liquid": "{{x}}"},
                      "c": {"@path": "$.x", "d": 1}})
    assert any("unknown directive @pth" in p for p in problems)
    assert any("@liquid is not supported" in p for p in problems)
    assert any("must be alone" in p for p in problems)
    assert check({"a": {"@path": "$.x"}, "b": [1, {"@template": "{{y}}"}]}) == []
    with pytest.raises(MappingError, match="unknown directive @nope"):
        transform({"a": {"@nope": 1}}, EVENT)
