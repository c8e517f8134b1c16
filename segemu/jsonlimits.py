"""How deeply nested a JSON document may be: one limit that parsing, storing, encoding and every
reader share.

orjson parses up to 1,024 levels of nesting but encodes at most 254 (beyond that `dumps` raises
"Recursion limit reached"). A call deeper than that would be acknowledged and then could never
be written to disk, nor shown on any page that holds it. So every JSON body segemu reads (the
Tracking API's calls, the control API's bodies) is refused beyond `MAX_DEPTH` levels, and the
store sets aside, on loading, any record deeper than `RECORD_DEPTH`.

Segment documents no nesting limit; real calls nest a handful of levels (the deepest capture in
reference/sdk-captures/ has 4). 64 leaves them far inside it, and leaves a stored record and
the answers that wrap records (listings, each destination's payloads, streams, verdicts) well
under the encoder's limit: tests/http/test_nesting.py drives a call of exactly `MAX_DEPTH`
levels through every reader.
"""

from __future__ import annotations

from typing import Any

import orjson

# orjson's encoder refuses the 255th level (measured on orjson 3.x; the test suite checks it).
ENCODER_DEPTH = 254
# The largest integer a JSON body may hold and be read as one: orjson reads an integer beyond
# 64 bits as a float, so a documented integer field says so with this maximum.
LARGEST_INTEGER = 2**63 - 1
# Levels a JSON body may have; an object or an array is one level, `{"a": [1]}` has two.
MAX_DEPTH = 64
# A stored record is one object around the call as sent (`raw`) and as normalized (`event`).
RECORD_DEPTH = MAX_DEPTH + 1


def deeper_than(value: Any, levels: int) -> bool:
    """Whether `value` nests more than `levels` levels. It walks one level at a time (no
    recursion, so any depth is safe to ask about), stops at the first level past `levels`, and
    costs about as much as parsing the value did."""
    if type(value) is not dict and type(value) is not list:
        return False
    # Parsed JSON holds exact dicts and lists: comparing types is cheaper than isinstance.
    current: list[Any] = [value]
    for _ in range(levels):
        below: list[Any] = []
        for container in current:
            for child in container.values() if type(container) is dict else container:
                kind = type(child)
                if kind is dict or kind is list:
                    below.append(child)
        if not below:
            return False
        current = below
    return True


def encoder_within(value: Any, levels: int) -> bool:
    """Whether `value` nests at most `levels` levels, asked of orjson's encoder: wrapped in as
    many arrays as leave exactly `levels` levels under its recursion limit, the value encodes
    if and only if it is not deeper (tests/test_jsonlimits.py checks this against
    `deeper_than`). One pass in C over a whole chunk of stored records costs a fraction of
    walking them in Python. False may also mean the encoder refused the value for another
    reason (an integer beyond 64 bits): ask `deeper_than` then."""
    wrapped = value
    for _ in range(ENCODER_DEPTH - levels):
        wrapped = [wrapped]
    try:
        orjson.dumps(wrapped)
    except orjson.JSONEncodeError:
        return False
    return True


def parsed_deeper_than(text: bytes, value: Any, levels: int) -> bool:
    """`deeper_than` for a value parsed from `text`. A text with no more opening brackets than
    `levels` cannot nest deeper (brackets inside strings only add to the count): most calls are
    answered by that count alone, at the speed of bytes.count, without walking the value."""
    if text.count(b"{") + text.count(b"[") <= levels:
        return False
    return deeper_than(value, levels)


def too_deep_message(what: str) -> str:
    return (
        f"{what} nests objects and arrays more than {MAX_DEPTH} levels deep, "
        f"over segemu's limit; flatten it"
    )
