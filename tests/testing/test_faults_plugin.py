"""`segemu.faults(...)` in real pytest runs (pytester, in a subprocess) with the real
analytics-python SDK, against the session's in-process server and a running segemu
(--segemu-url): the worked example of docs/faults.md."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from segemu.config import load_config
from segemu.testing.thread import ThreadedEmulator
from tests.testing.test_plugin import run

pytestmark = pytest.mark.compat

# The worked example of docs/faults.md, run as it is written there. analytics-python retries a
# 503 at once, then after 0.5 s (segmentio/analytics-python analytics/consumer.py,
# calculate_backoff_delay), and sends X-Retry-Count from the first retry on (request.py).
DOC = Path(__file__).resolve().parents[2] / "docs" / "faults.md"
EXAMPLE = re.search(r"^```python\n(.*?)^```", DOC.read_text("utf-8"), re.S | re.M)
assert EXAMPLE is not None, "docs/faults.md lost its worked example"
RETRY_TEST = EXAMPLE[1]


def test_the_worked_example_on_the_in_process_server(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(RETRY_TEST)
    run(pytester).assert_outcomes(passed=2)


def test_the_worked_example_on_a_running_segemu(pytester: pytest.Pytester) -> None:
    running = ThreadedEmulator(load_config({"db": ":memory:"}, env={}, discover=False)).start()
    try:
        pytester.makepyfile(RETRY_TEST)
        run(pytester, f"--segemu-url={running.url}").assert_outcomes(passed=2)
        assert running.emulator.faults.rules == []  # each block removed its rule
        assert running.emulator.faults.total == 3
    finally:
        running.stop()
