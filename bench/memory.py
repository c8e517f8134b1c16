"""Memory benchmark: prints figures, passes or fails nothing.

    python bench/memory.py                 # 100,000 calls
    python bench/memory.py --count 20000   # quicker

Figures: resident memory (RSS) of `segemu run` per stored call, for a 340-byte track call
shaped like analytics-python's (the one bench/ingest.py sends), at `--count` stored:
- fresh: a new `segemu run` on its default config with a durable store in a temporary
  directory; the calls arrive over HTTP in 100-call batches on 4 connections, then
  `POST /_segemu/flush`;
- after a restart: a new `segemu run` opens that directory (from the snapshot its clean stop
  left, segemu/snapshot.py);
- after a hard kill: the same without the snapshot, every chunk file read again.
Each figure is the RSS of the server minus that of a new server on an empty directory, divided
by the number of calls stored; the compact size of a stored record is printed beside it (the
store's own measure, through an in-process reopen of the same directory).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from ingest import AUTH, EVENT, SENT_AT, rss_mib, serve  # noqa: E402

from segemu.snapshot import FILE as SNAPSHOT  # noqa: E402
from segemu.store import EventStore  # noqa: E402

BATCH = 100
# A messageId-like tag that brings the call to about 340 bytes, as analytics-python sends it.
TAG = "5f0e2b1c-9a7d-4c3e-8b61"


def call_bytes() -> int:
    return len(EVENT % (TAG, 1, 1, TAG, 1, 1))


def segemu_run(db: Path) -> list[str]:
    return [sys.executable, "-m", "segemu", "run", "-p", "0", "--quiet", "--db", str(db)]


def settled_rss(pid: int) -> float:
    """RSS in bytes once the server has been idle a moment (its periodic GC and flush ran)."""
    time.sleep(1.0)
    return rss_mib(pid) * 1024 * 1024


async def send(url: str, count: int) -> None:
    headers = {"Authorization": AUTH, "Content-Type": "application/json"}
    queue = list(range(count // BATCH))
    async with aiohttp.ClientSession() as session:

        async def worker() -> None:
            while queue:
                request = queue.pop()
                events = ",".join(EVENT % (TAG, request, i, TAG, request, i) for i in range(BATCH))
                body = f'{{"batch":[{events}],"sentAt":"{SENT_AT}"}}'.encode()
                async with session.post(f"{url}/v1/batch", data=body, headers=headers) as answer:
                    assert answer.status == 200, await answer.text()

        await asyncio.gather(*(worker() for _ in range(4)))
        async with session.post(
            f"{url}/_segemu/flush", data=b"{}", headers={"Content-Type": "application/json"}
        ) as answer:
            assert answer.status == 200, await answer.text()


def empty_rss(workdir: Path) -> float:
    with (
        tempfile.TemporaryDirectory(dir=workdir) as empty,
        serve(segemu_run(Path(empty))) as (
            _url,
            pid,
        ),
    ):
        return settled_rss(pid)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=100_000)
    args = parser.parse_args()
    print(
        f"segemu memory benchmark: {args.count:,} track calls of {call_bytes()} bytes, "
        f"segemu run on its defaults, durable store ({os.cpu_count()} CPUs)"
    )
    with tempfile.TemporaryDirectory() as workdir:
        db = Path(workdir) / "db"
        baseline = empty_rss(Path(workdir))
        with serve(segemu_run(db)) as (url, pid):
            started = time.perf_counter()
            asyncio.run(send(url, args.count))
            took = time.perf_counter() - started
            fresh = settled_rss(pid) - baseline
        baseline = empty_rss(Path(workdir))
        with serve(segemu_run(db)) as (_url, pid):
            restarted = settled_rss(pid) - baseline
        # As after a hard kill: no snapshot of a clean stop, every chunk file read again.
        (db / SNAPSHOT).unlink(missing_ok=True)
        with serve(segemu_run(db)) as (_url, pid):
            reread = settled_rss(pid) - baseline
        store = EventStore(str(db), retention=10**7)
        stored, compact = len(store), store._blobs.size() / max(1, len(store))
        store.close()
        print(f"  compact record: {compact:,.0f} bytes on average ({stored:,} stored)")
        print(
            f"  fresh ingest:    {fresh / stored:>7,.0f} bytes of RSS per stored call "
            f"(sent in {took:.1f} s)"
        )
        print(f"  after a restart: {restarted / stored:>7,.0f} bytes of RSS per stored call")
        print(
            f"  after a hard kill: {reread / stored:>5,.0f} bytes of RSS per stored call "
            "(the files read again, no snapshot)"
        )


if __name__ == "__main__":
    main()
