"""Engage after a restart: the identity graph comes back from its saved file, and Engage's
computed traits and audiences from the stored calls, the ones the saved graph already holds
included (segemu/identity/stage.py, Identity.replay)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from segemu import create_emulator
from tests.engage.test_live import ENGAGE, START, order, send


async def test_computed_traits_and_audiences_survive_a_restart(tmp_path: Path) -> None:
    db = str(tmp_path / "db")
    first = create_emulator(db=db, engage=ENGAGE)
    send(first, START, {"type": "identify", "userId": "u1", "traits": {"plan": "pro"}})
    send(first, START + timedelta(minutes=1), order(60))
    await first.close()  # a clean stop: the calls and the graph are written

    again = create_emulator(db=db, engage=ENGAGE)
    profile = again.identity.profile("user_id:u1")
    assert profile is not None
    assert profile.trait_values("computed_trait") == {"lifetime_revenue": 60, "orders_30d": 1}
    records = send(again, START + timedelta(minutes=2), order(50))
    # The second order counts on top of the first: Engage heard the calls from before.
    assert records[0]["engage"]["computedTraits"] == {"lifetime_revenue": 110, "orders_30d": 2}
    assert records[0]["engage"]["entered"] == ["big_spenders"]
    await again.close()
