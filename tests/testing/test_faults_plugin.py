"""`segemu.faults(...)` in real pytest runs (pytester, in a subprocess) with the real
analytics-python SDK, against the session's in-process server and a running segemu
(--segemu-url): the worked example of docs/faults.md."""

from __future__ import annotations

import pytest

from segemu.config import load_config
from segemu.testing.thread import ThreadedEmulator
from tests.testing.test_plugin import run

pytestmark = pytest.mark.compat

# docs/faults.md shows this test. analytics-python retries a 503 at once, then after 0.5 s
# (segmentio/analytics-python analytics/consumer.py, calculate_backoff_delay), and sends
# X-Retry-Count from the first retry on (request.py).
RETRY_TEST = """
import segment.analytics as analytics


def test_an_order_survives_two_503s(segemu):
    with segemu.faults(status=503, times=2):
        analytics.track("u_1", "Order Completed", {"revenue": 99.99})
        analytics.flush()  # the SDK sends (and retries) while the fault is on

    segemu.assert_tracked("Order Completed", times=1)  # exactly once
    first, second = segemu.faulted()
    assert (first["status"], first["retryCount"]) == (503, None)
    assert (second["status"], second["retryCount"]) == (503, 1)
    [order] = segemu.events()
    assert order["arrival"]["retryCount"] == 2
    assert second["arrived"] == {order["messageId"]: order["id"]}


def test_a_bad_request_is_not_retried_and_the_call_is_lost(segemu):
    with segemu.faults(status=400, times=1):
        analytics.track("u_1", "Order Completed")
        analytics.flush()
    assert segemu.events() == []
    [refused] = segemu.faulted()
    assert refused["missing"] == [refused["messageIds"][0]]
"""


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
