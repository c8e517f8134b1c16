"""body.parse_batch decides the nesting of a batch over 32 KB from each call's own brackets,
where parse_json_object walked the whole batch: the two must refuse exactly the same bodies."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import orjson
import pytest

from segemu.http.body import MAX_EVENT_BYTES, BodyError, parse_batch, parse_json_object
from segemu.jsonlimits import MAX_DEPTH

WHAT = "a call in the batch"


def nested(levels: int, kind: str = "object") -> Any:
    """A value of exactly `levels` levels."""
    value: Any = {} if kind == "object" else []
    for _ in range(levels - 1):
        value = {"x": value} if kind == "object" else [value]
    return value


def call(depth: int, **fields: Any) -> dict[str, Any]:
    """A track call of exactly `depth` levels (at least 2: the call and its properties)."""
    return {"type": "track", "event": "E", "userId": "u", "properties": nested(depth - 1), **fields}


def verdict(parse: Callable[[bytes], Any], data: bytes) -> object:
    """What a parser answers: the body it read, or the refusal's code and message."""
    try:
        result = parse(data)
    except BodyError as error:
        return (error.code, error.message)
    body: object = result[0] if isinstance(result, tuple) else result
    return body


def both(data: bytes) -> None:
    """The same answer from both, for the body as it is and padded over 32 KB (a string
    field of the body: it changes no nesting)."""
    padded = data[:-1] + b',"padding":"' + b"x" * MAX_EVENT_BYTES + b'"}'
    for body in (data, padded) if data.endswith(b"}") else (data,):
        old = verdict(lambda raw: parse_json_object(raw, wrapping=2, what=WHAT), body)
        assert verdict(lambda raw: parse_batch(raw, WHAT), body) == old


CASES = {
    "calls at the limit": {"batch": [call(MAX_DEPTH) for _ in range(30)]},
    "one call over the limit": {"batch": [call(3)] * 20 + [call(MAX_DEPTH + 1)]},
    "an array call over the limit": {"batch": [call(3)] * 20 + [[nested(MAX_DEPTH, "array")]]},
    "a context at the body's limit": {"batch": [call(3)] * 20, "context": nested(MAX_DEPTH + 1)},
    "a context over the body's limit": {"batch": [call(3)] * 20, "context": nested(MAX_DEPTH + 2)},
    "a batch that is not a list": {"batch": {"deep": nested(MAX_DEPTH + 1)}, "x": [[1]] * 40},
    "a deep body with no batch": {"calls": [nested(MAX_DEPTH + 1)], "x": [[1]] * 40},
    "brackets in strings": {"batch": [call(3, event="[" * 80)] * 3},
    "scalars in the batch": {"batch": [1, "two", None, [[3]], call(4)] * 15},
}


@pytest.mark.parametrize("body", CASES.values(), ids=CASES.keys())
def test_a_batch_is_refused_as_the_whole_walk_refused_it(body: Any) -> None:
    both(orjson.dumps(body))


def test_a_call_past_the_encoders_depth_is_too_deep() -> None:
    # 300 levels: orjson reads it but cannot write it, so it is not encoded again.
    deep_call = b'{"type":"track","properties":' + b"[" * 300 + b"]" * 300 + b"}"
    data = b'{"batch":[' + b",".join([orjson.dumps(call(3))] * 30 + [deep_call]) + b"]}"
    both(data)
    with pytest.raises(BodyError, match="nests objects and arrays"):
        parse_batch(data[:-1] + b',"padding":"' + b"x" * MAX_EVENT_BYTES + b'"}', WHAT)


def test_a_batch_over_32_kb_comes_with_its_calls_encoded() -> None:
    calls = [call(4, messageId=str(number)) for number in range(400)]
    body, encoded = parse_batch(orjson.dumps({"batch": calls}), WHAT)
    assert body == {"batch": calls}
    assert encoded == [orjson.dumps(one) for one in calls]


def test_random_batches_get_the_same_answer() -> None:
    rng = random.Random(12)
    for _ in range(300):
        calls = [call(rng.randint(2, MAX_DEPTH + 2)) for _ in range(rng.randint(1, 6))]
        body: dict[str, Any] = {"batch": calls}
        if rng.random() < 0.3:
            body["context"] = nested(rng.randint(1, MAX_DEPTH + 3), rng.choice(["object", "array"]))
        both(orjson.dumps(body))


def test_not_json_and_not_an_object_are_refused_as_before() -> None:
    for data in (b"", b"{", b"[1, 2]", b"[" + b"[1]," * 40 + b"[1]]"):
        both(data)
