"""Helpers of the Protocols tests: emulators with a plan, and calls sent through the pipeline
the way the Tracking API hands them over."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import yaml

from segemu.emulator import Emulator, create_emulator
from segemu.message import Envelope, Record

ROOT = Path(__file__).parent.parent.parent
FIXTURES = ROOT / "fixtures"
SPEC_FILES = [FIXTURES / "spec" / f"{name}.jsonl" for name in ("ecommerce", "lifecycle", "video")]
LIBRARY = {"library": {"name": "analytics-python", "version": "2.4.0"}}


def spec_calls() -> list[dict[str, Any]]:
    return [
        orjson.loads(line)
        for path in SPEC_FILES
        for line in path.read_text().splitlines()
        if line.strip()
    ]


def write_plan(directory: Path, plan: Any, name: str = "plan.yaml") -> Path:
    path = directory / name
    if name.endswith((".yaml", ".yml")):
        path.write_text(yaml.safe_dump(plan, sort_keys=False))
    else:
        path.write_bytes(orjson.dumps(plan))
    return path


def emulator_with(plan: Path | None = None, **protocols: Any) -> Emulator:
    settings: dict[str, Any] = dict(protocols)
    if plan is not None:
        settings["tracking_plan"] = str(plan)
    return create_emulator(db=":memory:", protocols=settings)


def send(emulator: Emulator, *calls: dict[str, Any], write_key: str = "wk") -> list[Record]:
    """Calls as an SDK would batch them; every call gets a userId unless it has an id."""
    items = [
        {"userId": "u_1", "context": dict(LIBRARY), **call}
        if "userId" not in call and "anonymousId" not in call
        else {"context": dict(LIBRARY), **call}
        for call in calls
    ]
    return emulator.ingest(
        Envelope(
            route="/v1/batch",
            items=items,
            received_at=datetime.now(UTC),
            header_write_key=write_key,
        )
    )


def track(event: str, **properties: Any) -> dict[str, Any]:
    return {"type": "track", "event": event, "properties": properties}


def kinds(record: Record) -> list[tuple[str, str]]:
    return [(v["type"], v["path"]) for v in record.get("violations", [])]


def rules(record: Record) -> list[str]:
    return [finding["rule"] for finding in record.get("lint", [])]
