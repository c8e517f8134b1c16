"""The two ways of asking how deep a JSON value nests agree: the store asks orjson's encoder
about a whole chunk at once (`encoder_within`), and walks a record (`deeper_than`) only when
the encoder says no."""

from __future__ import annotations

import random
from typing import Any

import pytest

from segemu.jsonlimits import ENCODER_DEPTH, RECORD_DEPTH, deeper_than, encoder_within


def chain(levels: int, seed: int) -> Any:
    """A value of exactly `levels` levels, mixing objects, arrays and empty containers."""
    pick = random.Random(seed)
    value: Any = pick.choice([{}, [], {"leaf": 1}, ["x", 2.5]])
    for _ in range(levels - 1):
        sibling: Any = pick.choice([1, "s", None, {}, []])
        value = {"k": value, "o": sibling} if pick.random() < 0.5 else [sibling, value, {}]
    return value


@pytest.mark.parametrize("seed", range(40))
def test_the_encoder_and_the_walk_agree_on_every_depth_around_the_limit(seed: int) -> None:
    for levels in range(RECORD_DEPTH - 3, RECORD_DEPTH + 4):
        value = chain(levels, seed)
        for limit in (RECORD_DEPTH, RECORD_DEPTH + 1, levels):
            assert encoder_within(value, limit) is not deeper_than(value, limit)


def test_scalars_and_values_the_encoder_refuses() -> None:
    assert encoder_within("text", 1)
    assert encoder_within({}, 1)
    assert not encoder_within({"a": {}}, 1)
    # Beyond 64 bits the encoder refuses whatever the depth: the caller walks it then.
    assert not encoder_within({"big": 2**70}, RECORD_DEPTH)
    assert not deeper_than({"big": 2**70}, RECORD_DEPTH)
    assert encoder_within(chain(ENCODER_DEPTH, 1), ENCODER_DEPTH)
