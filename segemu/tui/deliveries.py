"""What the destinations view shows, gathered from the records' `deliveries` (the shared
destinations contract) and, where the emulator answers it, GET /_segemu/destinations."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from segemu.message import Record

# Deliveries kept per destination for the "last payloads" list.
RECENT_KEPT = 50
COUNTED = ("delivered", "filtered", "failed", "retrying", "pending")


@dataclass(slots=True)
class DestinationSummary:
    id: str
    name: str
    enabled: bool | None = None
    counts: Counter[str] = field(default_factory=Counter)
    last_error: str | None = None
    # (record, delivery), newest first.
    recent: list[tuple[Record, dict[str, Any]]] = field(default_factory=list)


def summarize(
    newest_first: Iterable[Record], listing: list[dict[str, Any]] | None = None
) -> list[DestinationSummary]:
    found: dict[str, DestinationSummary] = {}
    for entry in listing or []:
        if isinstance(entry, dict) and isinstance(entry.get("id"), str):
            summary = found[entry["id"]] = DestinationSummary(
                entry["id"],
                str(entry.get("name") or entry["id"]),
                entry.get("enabled") if isinstance(entry.get("enabled"), bool) else None,
            )
            counts = entry.get("counts")
            if isinstance(counts, dict):
                summary.counts.update({k: v for k, v in counts.items() if isinstance(v, int)})
            if isinstance(entry.get("lastError"), str):
                summary.last_error = entry["lastError"]
    counted_by_listing = set(found)
    for record in newest_first:
        deliveries = record.get("deliveries")
        if not isinstance(deliveries, dict):
            continue
        for key, delivery in deliveries.items():
            if not isinstance(delivery, dict):
                continue
            if key not in found:
                found[key] = DestinationSummary(key, str(delivery.get("name") or key))
            summary = found[key]
            status = delivery.get("status")
            if key not in counted_by_listing and isinstance(status, str):
                summary.counts[status] += 1
                if status == "failed" and summary.last_error is None:
                    summary.last_error = str(delivery.get("reason") or "failed")
            if len(summary.recent) < RECENT_KEPT:
                summary.recent.append((record, delivery))
    return list(found.values())
