"""The values of a JSON array read whole buffers at a time, where objects are parsed the quick
way (a closing brace that balances and parses) before the walk: same values, same errors."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from segemu.traffic import jsonstream
from segemu.traffic.jsonstream import QUICK_TRIES, JsonStreamError, iter_values

TRICKY: list[Any] = [
    {"s": "}, {", "t": "}]", "u": '"}, {"'},  # what ends an object, inside strings
    {"brands": [{"brand": "a"}, {"brand": "b"}], "after": {"x": {}}},  # arrays of objects
    {"open": "{{{", "n": 1},  # unbalanced braces inside a string: the walk takes over
    {"close": "}}}", "n": 2},
    {"deep": {"a": {"b": {"c": [{"d": {}}, {"e": []}]}}}},
    {"many": [{"i": i} for i in range(QUICK_TRIES * 2)]},  # more closing braces than tries
    {},
    "a string",
    [{"in": "an array"}],
    12.5,
    {"last": True},
]


def values(data: bytes) -> list[tuple[str | None, Any]]:
    return list(iter_values(io.BytesIO(data)))


@pytest.mark.parametrize("indent", [None, 2])
def test_an_array_gives_what_json_gives(indent: int | None) -> None:
    data = json.dumps(TRICKY, indent=indent).encode()
    assert values(data) == [(None, item) for item in TRICKY]


def test_a_batch_gives_its_items_and_members() -> None:
    data = json.dumps({"batch": TRICKY, "context": {"a": {"b": 1}}, "writeKey": "k"}).encode()
    assert values(data) == [
        *(("batch[]", item) for item in TRICKY),
        ("context", {"a": {"b": 1}}),
        ("writeKey", "k"),
    ]


def test_objects_across_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    # Reads end in the middle of objects: the walk reads on where the quick way cannot.
    monkeypatch.setattr(jsonstream, "READ_SIZE", 64)
    data = json.dumps(TRICKY * 5).encode()
    assert values(data) == [(None, item) for item in TRICKY * 5]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[{"a": 1}, {"b": }, {"c": 3}]', "invalid JSON at byte 11"),
        ('[{"a": 1}, {"b": 2]', "invalid JSON at byte 11"),
        ('[{"a": 1}, {"b": 2', "ends inside a value"),
        ('[{"a": 1} {"b": 2}]', "expected one of ',]' at byte 10"),
    ],
)
def test_a_broken_object_is_named_with_its_place(text: str, message: str) -> None:
    with pytest.raises(JsonStreamError, match=message):
        values(text.encode())
