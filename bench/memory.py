"""Memory benchmark: prints figures, passes or fails nothing.

    python bench/memory.py                 # 100,000 calls
    python bench/memory.py --count 20000   # quicker

Figures: resident memory (RSS) per stored call, for a 340-byte track call shaped like
analytics-python's (the one bench/ingest.py sends), at `--count` stored:
- fresh: a new process, the default config with a durable store in a temporary directory, the
  calls ingested in 100-call batches as the Tracking API hands them over, flushed as
  `segemu run` flushes them;
- after a restart: another new process opens that directory.
Each figure is the growth of RSS over the same process with an empty store, divided by the
number of calls; the compact size of a stored record is printed beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import re
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from ingest import EVENT, SENT_AT, WRITE_KEY  # noqa: E402

from segemu import create_emulator  # noqa: E402
from segemu.emulator import Emulator  # noqa: E402
from segemu.message import Envelope  # noqa: E402

BATCH = 100
# A messageId-like tag that brings the call to about 340 bytes, as analytics-python sends it.
TAG = "5f0e2b1c-9a7d-4c3e-8b61"


def rss_bytes() -> int:
    status = Path("/proc/self/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) * 1024  # type: ignore[union-attr]


def settled_rss() -> int:
    gc.collect()
    return rss_bytes()


def call_bytes() -> int:
    return len(EVENT % (TAG, 1, 1, TAG, 1, 1))


def stored_bytes(emulator: Emulator) -> float:
    """The average length of a stored record's compact form."""
    store = emulator.store
    forms = store._compact[store._start :]
    return sum(len(form) for form in forms if isinstance(form, bytes)) / max(1, len(forms))


async def fresh(db: Path, count: int) -> dict[str, Any]:
    emulator = create_emulator(db=str(db))
    async with emulator:
        baseline = settled_rss()
        started = time.perf_counter()
        for request in range(count // BATCH):
            items = orjson.loads(
                "["
                + ",".join(EVENT % (TAG, request, i, TAG, request, i) for i in range(BATCH))
                + "]"
            )
            emulator.ingest(
                Envelope(
                    route="/v1/batch",
                    items=items,
                    received_at=datetime.now(UTC),
                    header_write_key=WRITE_KEY,
                    sent_at=SENT_AT,
                )
            )
            # The server's loop turns between two requests: the periodic flush runs when due.
            await asyncio.sleep(0)
        emulator.store.flush()
        elapsed = time.perf_counter() - started
        grown = settled_rss() - baseline
        return {
            "stored": len(emulator.store),
            "per_call": grown / count,
            "compact": stored_bytes(emulator),
            "seconds": elapsed,
        }


async def restart(db: Path, empty: Path) -> dict[str, Any]:
    # The same process with an empty store first: imports and fixed costs are not counted.
    async with create_emulator(db=str(empty)):
        pass
    baseline = settled_rss()
    started = time.perf_counter()
    emulator = create_emulator(db=str(db))
    elapsed = time.perf_counter() - started
    async with emulator:
        grown = settled_rss() - baseline
        stored = len(emulator.store)
        return {
            "stored": stored,
            "per_call": grown / max(1, stored),
            "compact": stored_bytes(emulator),
            "seconds": elapsed,
        }


def child(args: argparse.Namespace) -> None:
    if args.child == "fresh":
        figures = asyncio.run(fresh(Path(args.db), args.count))
    else:
        figures = asyncio.run(restart(Path(args.db), Path(args.empty)))
    print(orjson.dumps(figures).decode())


def measure(which: str, db: Path, count: int, empty: Path) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", which, "--db", str(db), "--count", str(count)]
    command += ["--empty", str(empty)]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    figures: dict[str, Any] = orjson.loads(out.strip().splitlines()[-1])
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--child", choices=("fresh", "restart"), help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--empty", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    print(
        f"segemu memory benchmark: {args.count:,} track calls of {call_bytes()} bytes, "
        f"default config, durable store ({os.cpu_count()} CPUs)"
    )
    with tempfile.TemporaryDirectory() as workdir:
        db, empty = Path(workdir) / "db", Path(workdir) / "empty"
        for which in ("fresh", "restart"):
            figures = measure(which, db, args.count, empty)
            label = "fresh ingest" if which == "fresh" else "after a restart"
            took = "ingest" if which == "fresh" else "open"
            print(
                f"  {label:16} {figures['stored']:>9,} stored: {figures['per_call']:>7,.0f} bytes "
                f"of RSS per call (compact record {figures['compact']:,.0f} bytes; "
                f"{took} {figures['seconds']:.1f} s)"
            )


if __name__ == "__main__":
    main()
