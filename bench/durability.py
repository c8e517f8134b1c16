"""SIGKILL durability benchmark: prints figures, passes or fails nothing.

    python bench/durability.py                      # 10 kills, the default 0.2 s flush
    python bench/durability.py --flush-interval 2

README "The store" promises that a hard kill loses at most the last flush window. This runs
`segemu run --no-ui` on a database directory, as a user would, and sends it single track calls
from concurrent clients over real HTTP, noting when each one was acknowledged (its 200 read).
At a random moment under that load it SIGKILLs the process, restarts it on the same directory
and reads back, through the control API, which acknowledged calls it kept. For each kill it
prints how many acknowledged calls were lost and the age of the oldest one lost (the kill's
time minus that call's acknowledgement); then the largest age over all kills. Each kill takes
about `--load-seconds` plus two starts of segemu.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import random
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from urllib.parse import quote

import aiohttp

WRITE_KEY = "bench_durability"
AUTH = "Basic " + base64.b64encode(f"{WRITE_KEY}:".encode()).decode()


@dataclass
class Kill:
    acknowledged: dict[str, float] = field(default_factory=dict)  # messageId -> monotonic
    killed_at: float = 0.0
    lost: list[str] = field(default_factory=list)

    @property
    def oldest_lost_age(self) -> float | None:
        if not self.lost:
            return None
        return self.killed_at - min(self.acknowledged[message_id] for message_id in self.lost)


def start(db: str, flush_interval: float) -> tuple[subprocess.Popen[str], str]:
    command = [sys.executable, "-m", "segemu", "run", "--no-ui", "-q", "-p", "0"]
    command += ["--db", db, "--flush-interval", str(flush_interval)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    for line in process.stdout:
        found = re.search(r"listening on (http://\S+)", line)
        if found:
            return process, found.group(1)
    raise SystemExit(f"segemu did not start (exit status {process.wait()})")


async def load(
    url: str, process: subprocess.Popen[str], number: int, seconds: float, clients: int
) -> Kill:
    """Send calls from `clients` clients; SIGKILL the process at a random moment within
    `seconds`, while they keep sending."""
    kill = Kill()
    stop = asyncio.Event()

    async def client(session: aiohttp.ClientSession, client_number: int) -> None:
        sent = 0
        while not stop.is_set():
            message_id = f"k{number}-{client_number}-{sent}"
            sent += 1
            call = {"event": f"Kill {number}", "userId": "u", "messageId": message_id}
            try:
                async with session.post(f"{url}/v1/track", json=call) as response:
                    await response.read()
                    if response.status == 200:
                        kill.acknowledged[message_id] = time.monotonic()
            except aiohttp.ClientError:
                return  # the server is gone

    async with aiohttp.ClientSession(headers={"Authorization": AUTH}) as session:
        tasks = [asyncio.create_task(client(session, n)) for n in range(clients)]
        await asyncio.sleep(random.uniform(seconds / 2, seconds))
        kill.killed_at = time.monotonic()
        process.kill()
        stop.set()
        await asyncio.gather(*tasks)
    process.wait()
    return kill


async def kept(url: str, number: int) -> set[str]:
    """The messageIds of the calls of kill `number` that the restarted segemu holds."""
    found: set[str] = set()
    path = f"/_segemu/events?event={quote(f'Kill {number}')}&limit=1000"
    async with aiohttp.ClientSession() as session:
        while path:
            async with session.get(f"{url}{path}") as response:
                page = await response.json()
            found.update(event["messageId"] for event in page["events"])
            path = page["next"]
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--flush-interval", type=float, default=0.2)
    parser.add_argument("--load-seconds", type=float, default=1.5)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()

    print(
        f"segemu SIGKILL durability  ({args.kills} kills under load from {args.clients} "
        f"clients, --flush-interval {args.flush_interval:g})"
    )
    print(f"  {'kill':>4} {'acknowledged':>12} {'lost':>5} {'oldest lost (ms)':>17}")
    ages: list[float] = []
    with tempfile.TemporaryDirectory() as db:
        process, url = start(db, args.flush_interval)
        for number in range(1, args.kills + 1):
            kill = asyncio.run(load(url, process, number, args.load_seconds, args.clients))
            process, url = start(db, args.flush_interval)
            kill.lost = sorted(set(kill.acknowledged) - asyncio.run(kept(url, number)))
            age = kill.oldest_lost_age
            if age is not None:
                ages.append(age)
            shown = "-" if age is None else f"{age * 1000:.0f}"
            print(f"  {number:>4} {len(kill.acknowledged):>12,} {len(kill.lost):>5} {shown:>17}")
        process.terminate()
        process.wait()
    worst = f"{max(ages) * 1000:.0f} ms" if ages else "nothing lost"
    print(f"  oldest acknowledged call lost, over all kills: {worst}")
    print(f"  (the window promised: {args.flush_interval * 1000:.0f} ms)")


if __name__ == "__main__":
    main()
