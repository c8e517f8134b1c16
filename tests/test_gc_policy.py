"""The collector of a long-running `segemu run` (segemu/cli/gc.py): headless, the young objects
are frozen instead of walked, and the full collection still frees cyclic garbage; the
inspector keeps collecting its young generation. Driven by a clock the test holds."""

from __future__ import annotations

import asyncio
import gc
import weakref

import pytest

from segemu.cli.gc import (
    FULL_AT_THE_LATEST,
    FULL_INTERVAL,
    QUIET_BEFORE_FULL,
    YOUNG_INTERVAL,
    collect_periodically,
)

TICKS_TO_FULL = round(FULL_INTERVAL / YOUNG_INTERVAL)


class Cycle:
    """Garbage only the collector can free: it refers to itself."""

    def __init__(self) -> None:
        self.me = self


@pytest.mark.parametrize(
    ("freeze_young", "alive_after_one_tick"),
    [(True, True), (False, False)],
    ids=["segemu run (headless)", "the inspector"],
)
async def test_young_garbage_is_frozen_or_collected_and_the_full_collection_frees_it(
    freeze_young: bool, alive_after_one_tick: bool
) -> None:
    cycle = Cycle()
    garbage = weakref.ref(cycle)
    del cycle
    seen: dict[int, tuple[bool, int]] = {}
    ticks = 0

    async def clock(seconds: float) -> None:
        nonlocal ticks
        assert seconds == YOUNG_INTERVAL
        if ticks in (1, TICKS_TO_FULL):  # (get_freeze_count walks what is frozen)
            # What the turns so far left: is the garbage alive, how much is frozen.
            seen[ticks] = (garbage() is not None, gc.get_freeze_count())
        if ticks == TICKS_TO_FULL:
            raise asyncio.CancelledError  # stop, as `segemu run` cancels it
        ticks += 1

    with pytest.raises(asyncio.CancelledError):
        await collect_periodically(freeze_young=freeze_young, sleep=clock)

    alive, frozen = seen[1]
    assert alive is alive_after_one_tick
    assert (frozen > 0) is freeze_young
    # The full collection takes the frozen objects back, and frees the cycle among them.
    assert seen[TICKS_TO_FULL] == (False, 0)
    # Stopped: the process's collector is on again, with nothing left frozen.
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0


@pytest.mark.parametrize(
    ("quiet_from_tick", "collected_at_tick"),
    [
        (TICKS_TO_FULL + 40, TICKS_TO_FULL + 40),  # due, then waits for the quiet moment
        (None, round(FULL_AT_THE_LATEST / YOUNG_INTERVAL)),  # never quiet: at the latest
    ],
    ids=["a quiet moment", "never quiet"],
)
async def test_the_full_collection_waits_for_a_moment_without_requests(
    quiet_from_tick: int | None, collected_at_tick: int
) -> None:
    # Requests keep coming (quiet for 0 s) until `quiet_from_tick`: the full collection, due
    # at TICKS_TO_FULL, waits, so that its pause delays no request.
    ticks = 0
    collected: list[int] = []
    garbage: weakref.ref[Cycle] | None = None

    def quiet_for() -> float:
        return (
            QUIET_BEFORE_FULL if quiet_from_tick is not None and ticks >= quiet_from_tick else 0.0
        )

    async def clock(seconds: float) -> None:
        nonlocal ticks, garbage
        if garbage is None:
            cycle = Cycle()
            garbage = weakref.ref(cycle)
            del cycle
        elif garbage() is None and not collected:
            collected.append(ticks)
            raise asyncio.CancelledError
        ticks += 1

    with pytest.raises(asyncio.CancelledError):
        await collect_periodically(freeze_young=True, quiet_for=quiet_for, sleep=clock)
    assert collected == [collected_at_tick]
