"""The check both SDK tests share: every message an SDK sent is stored, as sent."""

from __future__ import annotations

from typing import Any

import aiohttp

from segemu.http.server import RunningServer
from tests.conftest import get_json

# Fields Segment keeps as the SDK sent them (DOCS spec/common.md and the per-call spec pages).
KEPT_FIELDS = (
    "type",
    "userId",
    "anonymousId",
    "event",
    "properties",
    "traits",
    "groupId",
    "previousId",
    "name",
    "category",
    "integrations",
    "_metadata",
)


async def stored_as_sent(
    http: aiohttp.ClientSession, server: RunningServer, sent: list[dict[str, Any]], write_key: str
) -> dict[str, Any]:
    """Assert each sent message has one accepted record, field by field; returns the records
    by messageId for SDK-specific checks."""
    listed = await get_json(http, f"{server.url}/_segemu/events?limit=1000")
    records = {record["messageId"]: record for record in listed["events"]}
    assert len(records) == len(sent)
    for message in sent:
        record = records[message["messageId"]]
        assert record["status"] == "accepted", record["reason"]
        assert record["writeKey"] == write_key
        assert record["route"] == "/v1/batch"
        assert record["raw"] == message
        event = record["event"]
        for field in KEPT_FIELDS:
            if field in message:
                assert event[field] == message[field], field
        assert event["originalTimestamp"] == message["timestamp"]
        assert event["timestamp"].endswith("Z")
        assert "writeKey" not in event
    return records
