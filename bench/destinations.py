"""Destinations benchmark: prints figures, passes or fails nothing.

    python bench/destinations.py

Batch ingest (100-event batches to /v1/batch, like bench/ingest.py) with no destination and with
8 destination presets enabled, taking turns over several rounds; the figure is each one's best
round. Deliveries of recording destinations are computed when read (segemu/destinations/
runtime.py), so the benchmark also times that read: the first GET /_segemu/destinations over
the stored events computes every destination's payload for each of them.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from ingest import load, serve

from segemu.destinations.catalog import presets

# The presets a workspace typically connects first; the Webhook is left without a URL so the
# benchmark measures segemu, not a receiver.
WANTED = (
    "mixpanel",
    "amplitude",
    "ga4",
    "warehouse",
    "braze",
    "customerio",
    "intercom",
    "hubspot",
    "webhook",
)


def config(workdir: Path, destinations: list[str]) -> Path:
    path = workdir / "segemu.toml"
    tables = "".join(f"[destinations.{slug}]\n" for slug in destinations)
    path.write_text(tables or "[destinations]\n")
    return path


def read_all(url: str, stored: int) -> float:
    started = time.perf_counter()
    with urllib.request.urlopen(
        f"{url}/_segemu/destinations?scan={stored}", timeout=600
    ) as response:
        response.read()
    return time.perf_counter() - started


def stored_count(url: str) -> int:
    import json

    with urllib.request.urlopen(f"{url}/_segemu/health", timeout=10) as response:
        return int(json.loads(response.read())["stored"])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=6, help="length of each load run")
    parser.add_argument("--rounds", type=int, default=3, help="turns each setup takes")
    parser.add_argument(
        "--client", choices=("wrk", "python"), default="wrk" if shutil.which("wrk") else "python"
    )
    args = parser.parse_args()
    available = presets()
    eight = [slug for slug in WANTED if slug in available][:8]
    print(
        f"segemu destinations benchmark  (load generator: {args.client}, "
        f"{os.cpu_count()} CPUs, {args.seconds}s per run)"
    )
    print(f"  destinations enabled: {', '.join(eight)}")
    best: dict[str, float] = {}
    reads: list[tuple[int, float]] = []
    for round_number in range(args.rounds):
        for name, enabled in (("none", []), ("eight", eight)):
            with tempfile.TemporaryDirectory() as workdir:
                command = [
                    sys.executable,
                    "-m",
                    "segemu",
                    "run",
                    "-p",
                    "0",
                    "--quiet",
                    "--db",
                    ":memory:",
                    "--retention",
                    "10000000",
                    "--config",
                    str(config(Path(workdir), enabled)),
                ]
                with serve(command) as (url, _pid):
                    figures = load(url, args.client, batch=100, connections=4, seconds=args.seconds)
                    if enabled:
                        stored = min(stored_count(url), 100_000)
                        reads.append((stored, read_all(url, stored)))
            rate = figures["rps"] * 100
            best[name] = max(best.get(name, 0.0), rate)
            print(f"  round {round_number + 1} {name:>5}: batch {rate:>9,.0f} events/s")
    print()
    print(f"batch ingest, no destination:    {best['none']:>9,.0f} events/s")
    print(
        f"batch ingest, {len(eight)} destinations:   {best['eight']:>9,.0f} events/s  "
        f"({best['eight'] / best['none']:.0%} of no destination)"
    )
    stored, seconds = min(reads, key=lambda read: read[1] / read[0])
    print(
        f"first read of every delivery: {stored:,} events x {len(eight)} destinations in "
        f"{seconds:.2f} s ({seconds / stored / len(eight) * 1e6:.1f} us per delivery)"
    )


if __name__ == "__main__":
    main()
