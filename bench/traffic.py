"""Traffic benchmark: prints figures, passes or fails nothing.

    python bench/traffic.py                # all three, 1,000,000 calls for the memory runs
    python bench/traffic.py --calls 200000 # smaller

Figures, on whatever machine runs it:
- import: calls/s from a JSON Lines file into a durable store (segemu/traffic/importer.py,
  the code `segemu import` runs), Python SDK-shaped track calls;
- replay: calls/s from that file into a second segemu (`segemu run`, its own process, in
  memory) through its Tracking API (segemu/traffic/replay.py, the code `segemu replay` runs);
- each also per CPU second of the processes doing the work: on a shared machine the wall-clock
  rate says more about the neighbours than about segemu;
- memory: resident memory every 100,000 calls while N calls stream through import (into a
  store that keeps the default 100,000) and then export (of a store of about N calls: the
  import run's chunk files repeated with new ids), each in its own process. Flat means the
  stream costs nothing beyond what the store itself keeps.

The import and memory runs use their own processes, so that one figure never carries another's
memory.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
EVENT = (
    '{"integrations":{},"anonymousId":null,"properties":{"revenue":42.5,"currency":"USD",'
    '"order_id":"o-%d"},"timestamp":"2026-11-22T04:21:28.151+00:00","context":'
    '{"library":{"name":"analytics-python","version":"2.4.0"}},"userId":"user-%d",'
    '"type":"track","event":"Order Completed","messageId":"bench-%d"}'
)
REPORT_EVERY = 100_000


def write_calls(path: Path, count: int) -> None:
    with path.open("w") as out:
        for number in range(count):
            out.write(EVENT % (number, number % 5000, number) + "\n")


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


# -- the parts, each run in its own process ---------------------------------------------------


def part_import(path: str, db: str, retention: int) -> None:
    from segemu import create_emulator
    from segemu.traffic.calls import read_calls
    from segemu.traffic.importer import import_calls

    emulator = create_emulator(db=db, retention=retention)
    seen = [0]
    started = time.perf_counter()
    print(f"  {0:>9,} calls  rss {rss_mb():7.1f} MB", flush=True)

    def progress(count: int) -> None:
        # The importer reports once per batch: a line each time a multiple is passed.
        before = seen[0]
        seen[0] += count
        if seen[0] // REPORT_EVERY > before // REPORT_EVERY:
            rate = seen[0] / (time.perf_counter() - started)
            print(
                f"  {seen[0]:>9,} calls  rss {rss_mb():7.1f} MB  {rate:9,.0f} calls/s", flush=True
            )

    cpu = time.process_time()
    summary = import_calls(emulator, read_calls(Path(path)), "bench_key", progress)
    emulator.store.close()
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu
    print(
        f"IMPORT {summary.imported:,} calls in {seconds:.1f} s: "
        f"{summary.imported / seconds:,.0f} calls/s; {summary.imported / cpu:,.0f} calls per "
        f"CPU second (durable store, retention {retention:,})",
        flush=True,
    )


def part_export(db: str, out: str) -> None:
    from segemu.traffic.archive import JsonLinesWriter
    from segemu.traffic.calls import record_line
    from segemu.traffic.storefiles import StoreFiles

    writer = JsonLinesWriter.to_path(Path(out))
    started = time.perf_counter()
    print(f"  {0:>9,} calls  rss {rss_mb():7.1f} MB", flush=True)
    for record in StoreFiles(Path(db)).records():
        writer.write(record_line(record), record["receivedAt"])
        if writer.written % REPORT_EVERY == 0:
            print(f"  {writer.written:>9,} calls  rss {rss_mb():7.1f} MB", flush=True)
    writer.close()
    seconds = time.perf_counter() - started
    print(
        f"EXPORT {writer.written:,} calls in {seconds:.1f} s: "
        f"{writer.written / seconds:,.0f} calls/s; "
        f"{writer.written / time.process_time():,.0f} calls per CPU second",
        flush=True,
    )


def cpu_seconds(pid: int) -> float:
    """User and system time of a process so far (/proc/<pid>/stat fields 14 and 15)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def clone_store(source: Path, target: Path, total: int) -> None:
    """A store of `total` calls made of `source`'s chunk files repeated with new record ids:
    export reads files, and building a million-call store through the pipeline would take as
    long as the import run itself."""
    import orjson

    from segemu.store import CHUNK_PREFIX, CHUNK_SIZE, chunk_name

    target.mkdir(parents=True)
    chunks = sorted(source.glob(f"{CHUNK_PREFIX}*.json"))
    tables = [orjson.loads(path.read_bytes())[path.stem] for path in chunks]
    per_copy = sum(len(table) for table in tables)
    copies = -(-total // per_copy)
    # Ids start at 1 in the first chunk; each copy moves them by whole chunks.
    shift_chunks = -(-(per_copy + 1) // CHUNK_SIZE)
    for copy in range(copies):
        for table in tables:
            moved: dict[str, object] = {}
            number = None
            for document in table.values():
                record_id = document["id"] + copy * shift_chunks * CHUNK_SIZE
                number = record_id // CHUNK_SIZE
                moved[str(record_id)] = {**document, "id": record_id}
            if number is not None:
                name = chunk_name(number)
                (target / f"{name}.json").write_bytes(orjson.dumps({name: moved}))


def part_replay(path: str, url: str, concurrency: int, batch_size: int, server: int) -> None:
    from segemu.http.sender import HttpSender
    from segemu.traffic.calls import read_calls
    from segemu.traffic.replay import KeyMap, replay
    from segemu.traffic.shipping import Shipper

    async def run() -> None:
        sender = HttpSender()
        server_cpu = cpu_seconds(server)
        own_cpu = time.process_time()
        try:
            summary = await replay(
                read_calls(Path(path)),
                Shipper(sender, url),
                KeyMap(default="bench_key"),
                batch_size=batch_size,
                concurrency=concurrency,
            )
        finally:
            await sender.close()
        server_cpu = cpu_seconds(server) - server_cpu
        own_cpu = time.process_time() - own_cpu
        print(
            f"REPLAY {summary.sent:,} calls in {summary.seconds:.1f} s: "
            f"{summary.sent / summary.seconds:,.0f} calls/s "
            f"(batches of {batch_size}, {concurrency} in flight; refused {summary.refused}, "
            f"failed {summary.failed}); CPU: replay {summary.sent / own_cpu:,.0f} calls per "
            f"CPU second, the receiving segemu {summary.sent / max(server_cpu, 1e-9):,.0f}",
            flush=True,
        )

    asyncio.run(run())


# -- the driver -------------------------------------------------------------------------------


def run_part(*args: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, __file__, "--part", *args], check=True, env=env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--speed-calls", type=int, default=200_000)
    parser.add_argument("--part", nargs="+")
    options = parser.parse_args()
    if options.part:
        name, *rest = options.part
        if name == "import":
            part_import(rest[0], rest[1], int(rest[2]))
        elif name == "export":
            part_export(rest[0], rest[1])
        elif name == "replay":
            part_replay(rest[0], rest[1], int(rest[2]), int(rest[3]), int(rest[4]))
        return

    with tempfile.TemporaryDirectory(prefix="segemu-bench-") as folder:
        base = Path(folder)
        speed = base / "speed.jsonl"
        write_calls(speed, options.speed_calls)
        print(f"import speed: {options.speed_calls:,} calls into a durable store")
        run_part("import", str(speed), str(base / "speed-db"), str(options.speed_calls))

        print(f"replay speed: {options.speed_calls:,} calls into a second segemu")
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "segemu",
                "run",
                "-p",
                "0",
                "--db",
                ":memory:",
                "-q",
                "--no-ui",
                "--retention",
                str(options.speed_calls),
            ],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert server.stdout is not None
        url = ""
        for line in server.stdout:
            found = re.search(r"listening on (http://\S+)", line)
            if found:
                url = found.group(1)
            if "Ctrl-C stops" in line:
                break
        try:
            run_part("replay", str(speed), url, "4", "500", str(server.pid))
        finally:
            server.terminate()
            server.wait()

        big = base / "big.jsonl"
        write_calls(big, options.calls)
        print(f"memory, import: {options.calls:,} calls streamed into a store keeping 100,000")
        run_part("import", str(big), str(base / "ring-db"), "100000")
        print(f"memory, export: a store of about {options.calls:,} calls streamed out")
        clone_store(base / "speed-db", base / "full-db", options.calls)
        run_part("export", str(base / "full-db"), str(base / "export.jsonl"))


if __name__ == "__main__":
    main()
