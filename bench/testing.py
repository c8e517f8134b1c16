"""Testing-toolkit benchmark: prints figures, passes or fails nothing.

    python bench/testing.py [--tests 300] [--waits 300]

1. The per-test cost of isolation: a real pytest run in which hundreds of tests use the
   `segemu` fixture (a write key of their own, the Python SDK re-pointed and flushed) and as
   many use nothing; the figure is the difference of their median setup+call+teardown time.
   The first fixture test, which starts the session's emulator, is reported apart.
2. The wake-up latency of `wait_for`: the fixture's client (SegemuClient.wait_for, a
   server-side long-poll) waits in a thread for an event; the event is POSTed to /v1/track;
   the figure is the time from just before the POST to wait_for returning. p50 and p99.
   segemu runs as `segemu run` in its own process, pinned to CPU 0 like bench/ingest.py.
"""

from __future__ import annotations

import argparse
import base64
import json
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from ingest import pinned, serve

from segemu.testing.client import SegemuClient

RECORDER = """
import json, pytest

durations = {}

def pytest_runtest_logreport(report):
    durations.setdefault(report.nodeid, 0.0)
    durations[report.nodeid] += report.duration

def pytest_sessionfinish(session):
    with open("durations.json", "w") as out:
        json.dump(durations, out)
"""

TESTS = """
import pytest
import segment.analytics as analytics

def test_000_first(segemu):
    analytics.flush()  # creates the SDK's module-level client, as a real suite would

@pytest.mark.parametrize("n", range({count}))
def test_isolated(segemu, n):
    pass

@pytest.mark.parametrize("n", range({count}))
def test_plain(n):
    pass
"""


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def isolation(count: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "conftest.py").write_text(RECORDER)
        (root / "test_bench.py").write_text(textwrap.dedent(TESTS.format(count=count)))
        subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly"],
            cwd=root,
            check=True,
            capture_output=True,
        )
        durations: dict[str, float] = json.loads((root / "durations.json").read_text())
    first = durations.pop("test_bench.py::test_000_first")
    isolated = [ms for node, ms in durations.items() if "test_isolated" in node]
    plain = [ms for node, ms in durations.items() if "test_plain" in node]
    cost = (statistics.median(isolated) - statistics.median(plain)) * 1000
    print(f"isolation: {count} tests with the segemu fixture vs {count} without")
    print(f"  per-test cost of isolation (median difference): {cost:.3f} ms   (target < 5 ms)")
    print(
        f"  fixture test p95: {percentile(isolated, 0.95) * 1000:.3f} ms; plain test p95: "
        f"{percentile(plain, 0.95) * 1000:.3f} ms"
    )
    print(f"  first test (starts the session's emulator): {first * 1000:.1f} ms")


def post(url: str, name: str, write_key: str) -> None:
    auth = "Basic " + base64.b64encode(f"{write_key}:".encode()).decode()
    body = json.dumps({"event": name, "userId": "u", "properties": {"n": 1}}).encode()
    request = urllib.request.Request(
        f"{url}/v1/track", body, {"Authorization": auth, "Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request) as response:
        response.read()


def wake_up(count: int) -> None:
    with serve(
        [sys.executable, "-m", "segemu", "run", "-p", "0", "--db", ":memory:", "-q", "--no-ui"]
    ) as (url, _pid):
        client = SegemuClient(url, "bench-wait")
        latencies: list[float] = []
        for n in range(count + 10):  # the first 10 warm up
            returned: list[float] = []

            def waiter(name: str = f"Event {n}", returned: list[float] = returned) -> None:
                client.wait_for(f'event:"{name}"', timeout=10)
                returned.append(time.perf_counter())

            thread = threading.Thread(target=waiter)
            thread.start()
            time.sleep(0.005)  # let the long-poll reach the server before the event does
            started = time.perf_counter()
            post(url, f"Event {n}", "bench-wait")
            thread.join()
            if n >= 10:
                latencies.append((returned[0] - started) * 1000)
    print(
        f"wait_for wake-up: {count} waits, from the POST of the event to wait_for returning"
        f" (segemu run{' pinned to CPU 0' if pinned(0) else ''})"
    )
    print(
        f"  p50 {statistics.median(latencies):.2f} ms   p99 {percentile(latencies, 0.99):.2f}"
        f" ms   (target p99 < 20 ms)   max {max(latencies):.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=300)
    parser.add_argument("--waits", type=int, default=300)
    options = parser.parse_args()
    isolation(options.tests)
    wake_up(options.waits)


if __name__ == "__main__":
    main()
