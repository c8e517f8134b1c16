"""Fault rules without HTTP: the trigger (first N, every Nth, probability, time window), the
config file's [faults.<id>] tables, `segemu run --fault` and its compact spelling."""

from __future__ import annotations

import subprocess
import sys
import urllib.error
from pathlib import Path
from typing import Any

import pytest

from segemu.config import ConfigError, load_config
from segemu.emulator import create_emulator
from segemu.faults import Faults
from segemu.faults.rules import FaultError
from segemu.faults.spec import parse_spec
from tests.test_cli import Process

CALL = {"type": "track", "event": "Order Completed", "messageId": "m"}


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def fired(faults: Faults, requests: int, route: str = "/v1/batch") -> list[bool]:
    return [faults.decide(route, "wk", [CALL], None) is not None for _ in range(requests)]


def test_the_first_n_then_never_again() -> None:
    faults = Faults()
    faults.add({"status": 503, "times": 2})
    assert fired(faults, 4) == [True, True, False, False]
    assert faults.rules[0].spent


def test_every_nth() -> None:
    faults = Faults()
    faults.add({"status": 500, "every": 3})
    assert fired(faults, 7) == [False, False, True, False, False, True, False]


def test_a_seeded_probability_fires_the_same_way_every_run() -> None:
    runs = []
    for _ in range(2):
        faults = Faults()
        faults.add({"status": 502, "probability": 0.3, "seed": 42})
        runs.append(fired(faults, 200))
    assert runs[0] == runs[1]
    assert 40 <= sum(runs[0]) <= 80  # about 30% of 200


def test_a_time_window_on_the_engines_clock() -> None:
    clock = Clock()
    faults = Faults(clock)
    faults.add({"status": 503, "after": 10, "during": 5})
    assert fired(faults, 1) == [False]
    clock.now += 12
    assert fired(faults, 1) == [True]
    clock.now += 4
    assert fired(faults, 1) == [False]


def test_selectors_narrow_before_the_trigger_counts() -> None:
    faults = Faults()
    faults.add({"status": 503, "every": 2, "route": "/v1/t"})
    assert fired(faults, 2, "/v1/batch") == [False, False]
    assert faults.rules[0].seen == 0
    assert fired(faults, 2, "/v1/t/") == [False, True]


def test_the_log_is_bounded_and_forgets_its_links() -> None:
    faults = Faults()
    faults.add({"status": 503})
    for number in range(1100):
        faults.decide("/v1/batch", "wk", [{**CALL, "messageId": f"m{number}"}], None)
    assert len(faults.log) == 1000
    assert faults.attempts_of("m0") == []
    assert len(faults.attempts_of("m1099")) == 1


@pytest.mark.parametrize(
    ("spec", "rule"),
    [
        ("503,times=2", {"status": 503, "times": 2}),
        (
            "429,retryAfter=5,route=/v1/batch",
            {"status": 429, "retryAfter": 5, "route": "/v1/batch"},
        ),
        ("reset,every=3", {"reset": True, "every": 3}),
        ("timeout=2.5", {"timeout": 2.5}),
        ("timeout", {"timeout": True}),
        ("close,writeKey=web", {"close": True, "writeKey": "web"}),
        ("latency=1.5,probability=0.2,seed=7", {"latency": 1.5, "probability": 0.2, "seed": 7}),
        (
            "partial=1,where=event:A* OR properties.x:1,2",
            {"partial": 1, "where": "event:A* OR properties.x:1,2"},
        ),
        ("503,retryAfter=false", {"status": 503, "retryAfter": False}),
    ],
)
def test_the_compact_spelling(spec: str, rule: dict[str, Any]) -> None:
    assert parse_spec(spec) == rule
    Faults().add(rule)  # and it is a rule segemu takes


@pytest.mark.parametrize(
    ("spec", "message"), [("", "needs a rule"), ("boom", "not a status"), ("times=", "key=value")]
)
def test_a_bad_spelling_says_why(spec: str, message: str) -> None:
    with pytest.raises(FaultError, match=message):
        parse_spec(spec)


def test_the_config_files_rules_and_the_flags_add_up(tmp_path: Path) -> None:
    config_file = tmp_path / "segemu.toml"
    config_file.write_text('[faults.slow]\nlatency = 0.5\nevent = "Order Completed"\n')
    flags = {"faults": {"cli-1": {"status": 503, "times": 1}}}
    config = load_config({**flags, "db": ":memory:"}, env={}, cwd=tmp_path)
    emulator = create_emulator(config)
    assert [(r.id, r.effect) for r in emulator.faults.rules] == [
        ("slow", "latency"),
        ("cli-1", "status"),
    ]


def test_a_bad_rule_in_the_config_file_names_it(tmp_path: Path) -> None:
    (tmp_path / "segemu.toml").write_text("[faults.broken]\nstatus = 700\n")
    with pytest.raises(ConfigError, match=r"\[faults.broken\].*status must be a 4xx or 5xx"):
        create_emulator(load_config({"db": ":memory:"}, env={}, cwd=tmp_path))


def test_segemu_run_with_fault_flags(tmp_path: Path) -> None:
    process = Process("-p", "0", "--db", ":memory:", "--fault", "503,times=1", cwd=tmp_path)
    try:
        batch = {"batch": [CALL]}
        with pytest.raises(urllib.error.HTTPError) as refused:
            process.post("/v1/batch", batch)
        assert refused.value.code == 503
        refused.value.close()
        assert process.post("/v1/batch", batch) == 200
        listing = process.get("/_segemu/faults")
        assert [rule["id"] for rule in listing["rules"]] == ["cli-1"]
        assert listing["faulted"][0]["arrived"] == {"m": 1}
    finally:
        process.stop()


def test_a_bad_fault_flag_is_one_clear_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "segemu", "run", "--db", ":memory:", "--fault", "boom"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "'boom' is not a status, reset, close or timeout" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        # Found by the OpenAPI fuzz test: beyond 64 bits orjson reads an integer as a float.
        ({"close": True, "seed": 2**63}, "seed must be at most"),
        ({"close": True, "times": 2**64 + 1}, "times must be at most"),
        ({"status": 429, "retryAfter": 2**63}, "retryAfter must be whole seconds"),
        ({"partial": 2**63}, "partial is how many calls"),
    ],
)
def test_an_integer_beyond_64_bits_is_refused_with_the_reason(
    rule: dict[str, Any], message: str
) -> None:
    with pytest.raises(FaultError, match=message):
        Faults().add(rule)


def test_a_whole_number_written_with_a_fraction_is_an_integer_as_json_schema_says() -> None:
    # Found by the OpenAPI fuzz test: the document says integer, and 396.0 is one there.
    faults = Faults()
    added = faults.add({"status": 503.0, "times": 2.0, "retryAfter": 5.0})
    assert (added.status, added.times, added.retry_after) == (503, 2, 5)
    assert fired(faults, 3) == [True, True, False]
    with pytest.raises(FaultError, match="times must be an integer, got True"):
        faults.add({"close": True, "times": True})
    with pytest.raises(FaultError, match=r"times must be an integer, got 2\.5"):
        faults.add({"close": True, "times": 2.5})
