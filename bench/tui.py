"""Inspector benchmark: prints figures, passes or fails nothing.

    python bench/tui.py            # wrk if installed (apt-get install wrk), else Python

Figures, on whatever machine runs it, in one run:
- ingest throughput of `segemu run` with the inspector open in a real terminal (a
  pseudo-terminal of 160x45 whose output is read and thrown away, as a terminal would draw it),
  against the same run headless (`--no-ui`), for 100-event batches and single /v1/track calls,
  and the ratio (the target: at least 50%);
- with 100,000 stored events: how long the inspector takes to show them, and how long each
  key takes to redraw while scrolling through them (PgDn, End, Home, a filter).

segemu is pinned to CPU 0, the load generator to CPU 1 when there are two; the two modes take
turns for several rounds and the best round of each is reported (the machine is shared).
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import os
import pty
import re
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from ingest import load, pinned

ANSI = re.compile(rb"\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>]|\x1b\][^\x07]*\x07")
COLUMNS, LINES = 160, 45


def _controlling_tty() -> None:
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


@contextmanager
def inspector(db: str) -> Iterator[str]:
    """`segemu run` with the inspector open in a pseudo-terminal; yields its URL."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", LINES, COLUMNS, 0, 0))
    process = subprocess.Popen(
        [
            *pinned(0),
            sys.executable,
            "-m",
            "segemu",
            "run",
            "-p",
            "0",
            "--db",
            db,
            "--retention",
            "10000000",
        ],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env={**os.environ, "TERM": "xterm-256color"},
        preexec_fn=_controlling_tty,
    )
    os.close(slave)
    seen = bytearray()
    found = threading.Event()
    url: list[str] = []

    def drain() -> None:
        # The terminal's side: read everything the inspector draws, as fast as it comes.
        while True:
            try:
                chunk = os.read(master, 1 << 16)
            except OSError:
                return
            if not chunk:
                return
            if not found.is_set():
                seen.extend(chunk)
                match = re.search(rb"http://127\.0\.0\.1:\d+", ANSI.sub(b"", bytes(seen)))
                if match:
                    url.append(match.group().decode())
                    found.set()

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        if not found.wait(60):
            raise SystemExit("the inspector did not show its URL within 60 s")
        yield url[0]
    finally:
        os.write(master, b"q")
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
        os.close(master)


@contextmanager
def headless(db: str) -> Iterator[str]:
    process = subprocess.Popen(
        [
            *pinned(0),
            sys.executable,
            "-m",
            "segemu",
            "run",
            "-p",
            "0",
            "--db",
            db,
            "--no-ui",
            "--quiet",
            "--retention",
            "10000000",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    url = ""
    for line in process.stdout:
        match = re.search(r"listening on (http://\S+)", line)
        if match:
            url = match.group(1)
            break
    try:
        yield url
    finally:
        process.terminate()
        process.communicate(timeout=60)


def throughput(args: argparse.Namespace) -> None:
    print(
        f"ingest with the inspector open vs headless  (load generator: {args.client}, "
        f"{os.cpu_count()} CPUs, {args.seconds}s per run, {COLUMNS}x{LINES} terminal)"
    )
    runs: dict[str, list[tuple[float, float]]] = {"inspector": [], "headless": []}
    for round_number in range(args.rounds):
        for name, serve in (("headless", headless), ("inspector", inspector)):
            with tempfile.TemporaryDirectory() as workdir, serve(str(Path(workdir) / "db")) as url:
                batch = load(url, args.client, batch=100, connections=4, seconds=args.seconds)
                single = load(url, args.client, batch=0, connections=32, seconds=args.seconds)
            runs[name].append((batch["rps"] * 100, single["rps"]))
            print(
                f"  round {round_number + 1} {name:>9}: batch {batch['rps'] * 100:>9,.0f} "
                f"events/s, single {single['rps']:>7,.0f} req/s"
            )
    best = {
        name: (max(r[0] for r in rounds), max(r[1] for r in rounds))
        for name, rounds in runs.items()
    }
    print()
    print(f"{'best round':30}{'inspector':>12}{'headless':>12}{'ratio':>8}")
    for index, label in enumerate(("batch ingest, events/s", "single /v1/track, req/s")):
        shown, bare = best["inspector"][index], best["headless"][index]
        print(f"{label:30}{shown:>12,.0f}{bare:>12,.0f}{shown / bare:>8.0%}")


async def scrolling(count: int) -> dict[str, float]:
    from segemu import create_emulator
    from segemu.cli.gc import collect_periodically
    from segemu.message import Envelope
    from segemu.tui.factory import create_app
    from segemu.tui.local import InProcessBackend

    emulator = create_emulator(db=":memory:", retention=count)
    started = datetime.now(UTC)
    for start in range(0, count, 500):
        items = [
            {
                "type": "track",
                "event": f"Event {n % 50}",
                "userId": f"user-{n % 997}",
                "messageId": f"scroll-{n}",
                "properties": {"n": n},
            }
            for n in range(start, min(start + 500, count))
        ]
        emulator.ingest(Envelope("/v1/batch", items, started, header_write_key="bench"))
    app = create_app(InProcessBackend(emulator, listen=False))
    # As `segemu run` does (segemu/cli/gc.py): no full collection of 100,000 records
    # in the middle of a key press.
    collecting = asyncio.create_task(collect_periodically())
    began = time.perf_counter()
    async with app.run_test(size=(COLUMNS, LINES)) as pilot:
        await pilot.pause()
        first = time.perf_counter() - began
        figures = {"shown after, ms": first * 1000}
        for label, keys in (
            ("PgDn", ["pagedown"] * 40),
            ("Down", ["down"] * 40),
            ("End/Home", ["end", "home"] * 10),
        ):
            timings = []
            for key in keys:
                pressed = time.perf_counter()
                await pilot.press(key)
                await pilot.pause()
                timings.append((time.perf_counter() - pressed) * 1000)
            figures[f"{label} key to redraw, median ms"] = statistics.median(timings)
            figures[f"{label} key to redraw, worst ms"] = max(timings)
        query = f"properties.n>={count - 100}"
        app.filter_bar.input.value = query
        pressed = time.perf_counter()
        await pilot.press("slash", "end", "enter")
        await pilot.pause()
        assert len(app.event_log.shown) == 100, len(app.event_log.shown)
        figures["filter over all, ms"] = (time.perf_counter() - pressed) * 1000
    collecting.cancel()
    await emulator.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=5, help="length of each load run")
    parser.add_argument("--rounds", type=int, default=2, help="turns each mode takes")
    parser.add_argument("--events", type=int, default=100_000, help="events to scroll through")
    parser.add_argument(
        "--client", choices=("wrk", "python"), default="wrk" if shutil.which("wrk") else "python"
    )
    args = parser.parse_args()
    throughput(args)
    # The same keys over 1,000 and over all the events: a virtual table costs the same.
    small, large = asyncio.run(scrolling(1000)), asyncio.run(scrolling(args.events))
    print(
        f"\nscrolling (in process, headless Textual, {COLUMNS}x{LINES}; key to redraw "
        "includes the test pilot's own round trip)"
    )
    print(f"{'':36}{'1,000 events':>14}{f'{args.events:,} events':>16}")
    for label in small:
        print(f"  {label:34}{small[label]:>14,.1f}{large[label]:>16,.1f}")


if __name__ == "__main__":
    main()
