"""Tracking-plan benchmark: prints figures, passes or fails nothing.

    python bench/protocols.py [--events 20000] [--rounds 5]

A 50-rule plan in Segment's format (a COMMON rule, IDENTIFY, GROUP, a PAGE rule and 46 TRACK
rules of 4 to 12 properties, some nested) validates a mix of calls: three in four follow the
plan, the others break it (a missing required property, a wrong type, a value off the enum,
an unplanned property, an unplanned event). Figures, best of the rounds:
1. validation alone (segemu/protocols/validate.check_event): cost per call and calls per
   second, for valid calls, invalid calls and the mix. The target is 20,000 calls/s or more.
2. the whole Protocols stage the pipeline runs per accepted call (validation, the schema
   configuration, the ten lint rules, the record fields), on the same mix.
Costs are CPU time of this process, single-threaded.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from segemu.emulator import create_emulator
from segemu.message import Envelope, Record, normalize
from segemu.protocols import load_plan
from segemu.protocols.settings import CallSettings
from segemu.protocols.validate import check_event

D7 = "http://json-schema.org/draft-07/schema#"
OBJECTS = (
    "Product",
    "Order",
    "Cart",
    "Checkout",
    "Coupon",
    "Wishlist",
    "Promotion",
    "Video",
    "Account",
    "Invite",
    "Trial",
    "Lesson",
    "Report",
    "Dashboard",
    "Filter",
    "Search",
)
ACTIONS = (
    "Viewed",
    "Added",
    "Removed",
    "Completed",
    "Started",
    "Shared",
    "Updated",
    "Deleted",
    "Exported",
)
TYPES = ("string", "number", "integer", "boolean")


def property_schema(kind: str, n: int) -> dict[str, Any]:
    if kind == "string" and n % 3 == 0:
        return {"type": "string", "enum": ["a", "b", "c", "d"]}
    if kind == "string" and n % 3 == 1:
        return {"type": "string", "pattern": "^[a-z0-9_-]+$"}
    return {"type": kind}


def build_plan(rng: random.Random) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(the plan in Segment's format, one valid sample call per TRACK rule)."""
    names = [f"{o} {a}" for o in OBJECTS for a in ACTIONS]
    rng.shuffle(names)
    rules: list[dict[str, Any]] = [
        {
            "type": "COMMON",
            "version": 1,
            "jsonSchema": {
                "$schema": D7,
                "type": "object",
                "required": ["context"],
                "properties": {
                    "context": {
                        "type": "object",
                        "required": ["library"],
                        "properties": {"library": {"type": "object", "required": ["name"]}},
                    },
                    "userId": {"type": ["string", "null"]},
                },
            },
        },
        {
            "type": "IDENTIFY",
            "version": 1,
            "jsonSchema": {
                "$schema": D7,
                "type": "object",
                "properties": {
                    "traits": {
                        "type": "object",
                        "properties": {
                            "email": {"type": "string", "format": "email"},
                            "plan": {"type": "string"},
                        },
                    }
                },
            },
        },
        {
            "type": "GROUP",
            "version": 1,
            "jsonSchema": {
                "$schema": D7,
                "type": "object",
                "properties": {
                    "traits": {"type": "object", "properties": {"name": {"type": "string"}}}
                },
            },
        },
        {
            "type": "PAGE",
            "version": 1,
            "jsonSchema": {
                "$schema": D7,
                "type": "object",
                "properties": {
                    "properties": {
                        "type": "object",
                        "properties": {"path": {"type": "string"}, "url": {"type": "string"}},
                    }
                },
            },
        },
    ]
    samples: list[dict[str, Any]] = []
    for name in names[:46]:
        properties: dict[str, Any] = {}
        sample: dict[str, Any] = {}
        for n in range(rng.randint(4, 12)):
            kind = TYPES[n % len(TYPES)]
            key = f"{kind}_{n}"
            properties[key] = property_schema(kind, n)
            sample[key] = {
                "string": "a" if n % 3 == 0 else "value_1",
                "number": 9.5,
                "integer": 3,
                "boolean": True,
            }[kind]
        properties["items"] = {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id"],
                "properties": {"id": {"type": "string"}, "price": {"type": "number"}},
            },
        }
        sample["items"] = [{"id": f"i{n}", "price": 1.5 * n} for n in range(3)]
        required = [key for key in properties if key.startswith("string")][:3]
        rules.append(
            {
                "type": "TRACK",
                "key": name,
                "version": 1,
                "jsonSchema": {
                    "$schema": D7,
                    "type": "object",
                    "labels": {},
                    "properties": {
                        "context": {},
                        "traits": {},
                        "properties": {
                            "type": "object",
                            "properties": properties,
                            "required": required,
                        },
                    },
                },
            }
        )
        samples.append(
            {
                "type": "track",
                "event": name,
                "userId": "u_1",
                "context": {"library": {"name": "analytics-python", "version": "2.4"}},
                "properties": sample,
            }
        )
    return {"name": "Benchmark", "rules": rules}, samples


def break_one(call: dict[str, Any], n: int) -> dict[str, Any]:
    broken = {**call, "properties": dict(call["properties"])}
    properties = broken["properties"]
    strings = [key for key in properties if key.startswith("string")]
    numbers = [key for key in properties if key.startswith("number")]
    match n % 5:
        case 0:
            properties.pop(strings[0])  # required property missing
        case 1:
            properties[numbers[0] if numbers else strings[0]] = "not a number"  # wrong type
        case 2:
            properties[strings[0]] = "z"  # off the enum
        case 3:
            properties["unplanned_flag"] = True  # unplanned property
        case _:
            broken["event"] = broken["event"].lower()  # unplanned event
    return broken


def normalized(calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    envelope = Envelope(route="/v1/batch", items=calls, received_at=datetime.now(UTC))
    return [normalize(call, envelope, "2026-01-01T00:00:00.000Z").event for call in calls]


def best(rounds: int, run: Callable[[], int]) -> float:
    """The best CPU seconds per call over the rounds: CPU time, so that other processes on a
    shared machine weigh less on the figure than on wall-clock time."""
    costs = []
    for _ in range(rounds):
        start = time.process_time()
        count = run()
        costs.append((time.process_time() - start) / count)
    return min(costs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    rng = random.Random(7)
    document, samples = build_plan(rng)
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "plan.json"
        path.write_bytes(orjson.dumps(document))
        plan = load_plan(path)
        valid = normalized([rng.choice(samples) for _ in range(args.events)])
        invalid = normalized([break_one(rng.choice(samples), n) for n in range(args.events)])
        mix = [invalid[n] if n % 4 == 3 else valid[n] for n in range(args.events)]
        settings = CallSettings()

        def validate(events: list[dict[str, Any]]) -> Callable[[], int]:
            def run() -> int:
                for event in events:
                    check_event(plan, settings, event)
                return len(events)

            return run

        print(
            f"plan: {len(plan.rules)} rules ({sum(r.type == 'TRACK' for r in plan.rules)} "
            f"TRACK); {args.events:,} calls per round, best of {args.rounds} rounds"
        )
        print("1. validation (check_event)")
        for label, events in (("valid", valid), ("invalid", invalid), ("mix 3:1", mix)):
            cost = best(args.rounds, validate(events))
            print(f"   {label:<8} {cost * 1e6:7.2f} us/call  {1 / cost:>10,.0f} calls/s")

        emulator = create_emulator(db=":memory:", protocols={"tracking_plan": str(path)})
        calls = [
            break_one(rng.choice(samples), n) if n % 4 == 3 else rng.choice(samples)
            for n in range(args.events)
        ]
        records: list[Record] = []
        for n, event in enumerate(normalized(calls)):
            records.append(
                {
                    "id": n,
                    "messageId": str(n),
                    "writeKey": "wk",
                    "type": "track",
                    "status": "accepted",
                    "reason": None,
                    "receivedAt": "2026-01-01T00:00:00.000Z",
                    "route": "/v1/batch",
                    "raw": calls[n],
                    "event": event,
                    "warnings": [],
                }
            )
        [source] = emulator.sources.all

        def stage() -> int:
            for record in records:
                emulator.protocols.check(record, source)
            return len(records)

        cost = best(args.rounds, stage)
        print("2. the Protocols stage per accepted call (validation, schema configuration, lint)")
        print(f"   mix 3:1  {cost * 1e6:7.2f} us/call  {1 / cost:>10,.0f} calls/s")


if __name__ == "__main__":
    main()
