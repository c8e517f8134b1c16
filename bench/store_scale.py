"""The store at a million: prints figures, passes or fails nothing.

    python bench/store_scale.py                         # 1,000,000 calls, retention 1,000,000
    python bench/store_scale.py --count 200000 --slice 20000

Figures, for records as the pipeline stores them (340-byte track calls shaped like
analytics-python's, as bench/memory.py sends them), in a durable store in a temporary directory
flushed as `segemu run` flushes it (every 0.2 s of ingest, encoding and writing on a thread):
- the cost of `EventStore.add` per call, for each slice from 0 to `--count` stored: flat when
  nothing grows with the store;
- at `--count` stored, the time of indexed lookups (`ids()` and decoding the records found),
  newest first, by type, event name, userId, write key, messageId, receivedAt and paging.
The records are built once per batch through the default pipeline; only `add` is timed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from ingest import EVENT, SENT_AT, WRITE_KEY  # noqa: E402
from memory import TAG  # noqa: E402

from segemu.message import Envelope, Record  # noqa: E402
from segemu.store import EventStore  # noqa: E402
from tests.test_store import pipeline_for  # noqa: E402

BATCH = 100
FLUSH_EVERY = 0.2


class Recorder:
    """Stands in for the store while the pipeline builds records: keeps them, adds nothing."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self.records: list[Record] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    def add(self, record: Record) -> None:
        self.records.append(record)


def timed(action: Any, rounds: int = 5) -> tuple[float, Any]:
    """The median time of `action` in ms, and its last answer."""
    times, answer = [], None
    for _ in range(rounds):
        started = time.perf_counter()
        answer = action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), answer


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--slice", type=int, default=100_000)
    parser.add_argument("--retention", type=int, default=1_000_000)
    args = parser.parse_args()
    print(
        f"segemu store at scale: {args.count:,} calls, retention {args.retention:,}, "
        f"durable store ({os.cpu_count()} CPUs)"
    )
    with tempfile.TemporaryDirectory() as workdir:
        store = EventStore(str(Path(workdir) / "db"), retention=args.retention)
        recorder = Recorder(store)
        pipeline = pipeline_for(store)
        pipeline.store = recorder  # type: ignore[assignment]
        pipeline.dedupe.store = recorder  # type: ignore[assignment]
        received = datetime.now(UTC)
        writer: threading.Thread | None = None
        last_flush = time.perf_counter()
        slice_seconds = 0.0
        print("  store.add, µs per call, by slice:")
        for request in range(args.count // BATCH):
            body = "[" + ",".join(EVENT % (TAG, request, i, TAG, request, i) for i in range(BATCH))
            received += timedelta(milliseconds=1)
            recorder.records = []
            pipeline.process(
                Envelope(
                    route="/v1/batch",
                    items=orjson.loads(body + "]"),
                    received_at=received,
                    header_write_key=WRITE_KEY,
                    sent_at=SENT_AT,
                )
            )
            started = time.perf_counter()
            for record in recorder.records:
                store.add(record)
            slice_seconds += time.perf_counter() - started
            if time.perf_counter() - last_flush >= FLUSH_EVERY:
                if writer is not None:
                    writer.join()
                writer = threading.Thread(target=store.prepare_flush().run)
                writer.start()
                last_flush = time.perf_counter()
            stored_now = (request + 1) * BATCH
            if stored_now % args.slice == 0:
                print(
                    f"    {stored_now - args.slice:>9,} - {stored_now:>9,} stored: "
                    f"{slice_seconds / args.slice * 1e6:6.1f}"
                )
                slice_seconds = 0.0
        if writer is not None:
            writer.join()
        store.flush()

        print(f"  lookups at {len(store):,} stored (median of 5; ids, then decoding the records):")
        newest = store.get(store.next_id - 1)
        assert newest is not None
        middle = store.get(store.next_id - len(store) // 2)
        assert middle is not None
        since = datetime.fromisoformat(middle["receivedAt"].replace("Z", "+00:00"))
        lookups: dict[str, dict[str, Any]] = {
            "newest 50, any": {"limit": 50},
            "newest 50 tracks": {"type": "track", "limit": 50},
            "newest 50 'Order Completed'": {"event": "Order Completed", "limit": 50},
            "newest 50 of one userId": {"user_id": newest["event"]["userId"], "limit": 50},
            "newest 50 of the write key": {"write_key": WRITE_KEY, "limit": 50},
            "a messageId": {"message_id": middle["messageId"]},
            "page 2 of 50, before an id": {"before": middle["id"], "limit": 50},
            "50 from a receivedAt": {"received_since": since, "limit": 50},
            "newest 50, track + userId + key": {
                "type": "track",
                "user_id": middle["event"]["userId"],
                "write_key": WRITE_KEY,
                "limit": 50,
            },
            "every call of one userId": {"user_id": newest["event"]["userId"]},
        }
        for label, query in lookups.items():
            elapsed, found = timed(lambda query=query: store.records(store.ids(**query)))
            print(f"    {label:32} {elapsed:8.2f} ms  ({len(found)} records)")
        elapsed, counts = timed(lambda: store.counts("type"))
        print(f"    {'counts by type (summary)':32} {elapsed:8.3f} ms  ({counts})")
        store.close()


if __name__ == "__main__":
    main()
