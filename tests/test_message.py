"""Normalization rules, each checked against the Segment source it reproduces."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest

from segemu.message import Envelope, format_timestamp, normalize, parse_timestamp

RECEIVED = datetime(2026, 11, 22, 4, 21, 28, 500_000, tzinfo=UTC)


def envelope(**fields: Any) -> Envelope:
    fields.setdefault("header_write_key", "wk")
    return Envelope(route="/v1/batch", items=[], received_at=RECEIVED, **fields)


def run(item: Any, **fields: Any) -> Any:
    env = envelope(**fields)
    return normalize(item, env, format_timestamp(env.received_at))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Node and browser SDKs: Z with milliseconds (sdk-captures/README.md).
        ("2026-11-22T04:22:08.305Z", datetime(2026, 11, 22, 4, 22, 8, 305_000, tzinfo=UTC)),
        # Python SDK timestamp: +00:00 with milliseconds.
        ("2026-11-22T04:21:28.147+00:00", datetime(2026, 11, 22, 4, 21, 28, 147_000, tzinfo=UTC)),
        # Python SDK sentAt: +00:00 with microseconds.
        (
            "2026-11-22T04:21:28.648364+00:00",
            datetime(2026, 11, 22, 4, 21, 28, 648_364, tzinfo=UTC),
        ),
        ("2026-11-22T06:21:28+02:00", datetime(2026, 11, 22, 4, 21, 28, tzinfo=UTC)),
    ],
)
def test_parse_timestamp_accepts_every_sdk_format(text: str, expected: datetime) -> None:
    assert parse_timestamp(text) == expected


@pytest.mark.parametrize("text", ["", "yesterday", "2026-13-01T00:00:00Z", None, 17])
def test_parse_timestamp_rejects_garbage(text: Any) -> None:
    assert parse_timestamp(text) is None


def test_skew_correction_matches_segment_docs_track_example() -> None:
    """DOCS spec/track.md: originalTimestamp .152, sentAt .169, receivedAt .266 -> .249."""
    env = Envelope(
        route="/v1/track",
        items=[],
        header_write_key="wk",
        received_at=datetime(2015, 2, 23, 22, 28, 55, 266_000, tzinfo=UTC),
    )
    item = {
        "type": "track",
        "event": "X",
        "userId": "u",
        "timestamp": "2015-02-23T22:28:55.152Z",
        "sentAt": "2015-02-23T22:28:55.169Z",
    }
    result = normalize(item, env, format_timestamp(env.received_at))
    assert result.event["timestamp"] == "2015-02-23T22:28:55.249Z"
    assert result.event["originalTimestamp"] == "2015-02-23T22:28:55.152Z"
    assert result.event["receivedAt"] == "2015-02-23T22:28:55.266Z"
    assert result.event["sentAt"] == "2015-02-23T22:28:55.169Z"


def test_batch_level_sent_at_corrects_items() -> None:
    item = {
        "type": "track",
        "event": "X",
        "userId": "u",
        "timestamp": "2026-11-22T04:21:28.000+00:00",
    }
    result = run(item, sent_at="2026-11-22T04:21:29.000000+00:00")
    # Sent 1 s after the call: the event happened 1 s before it was received.
    assert result.event["timestamp"] == "2026-11-22T04:21:27.500Z"


def test_each_batch_corrects_its_items_with_its_own_sent_at() -> None:
    # A batch's sentAt is parsed once for all of its calls; the next batch's is its own, and
    # a call's own sentAt wins over its batch's.
    item = {"type": "track", "event": "X", "userId": "u", "timestamp": "2026-11-22T04:21:28Z"}
    first = envelope(sent_at="2026-11-22T04:21:29.000Z")
    second = envelope(sent_at="2026-11-22T04:21:30.000Z")
    received = format_timestamp(RECEIVED)
    timestamps = [
        normalize(item, first, received).event["timestamp"],
        normalize(item, first, received).event["timestamp"],
        normalize(item, second, received).event["timestamp"],
        normalize({**item, "sentAt": "2026-11-22T04:21:28.250Z"}, second, received).event[
            "timestamp"
        ],
        normalize(item, envelope(sent_at="not a time"), received).event["timestamp"],
    ]
    assert timestamps == [
        "2026-11-22T04:21:27.500Z",
        "2026-11-22T04:21:27.500Z",
        "2026-11-22T04:21:26.500Z",
        "2026-11-22T04:21:28.250Z",
        "2026-11-22T04:21:28.000Z",
    ]


def test_missing_timestamp_uses_server_time() -> None:
    """DOCS spec-field-timestamp.md: without a timestamp "we'll use the server's time"."""
    result = run({"type": "track", "event": "X", "userId": "u"})
    assert result.event["timestamp"] == "2026-11-22T04:21:28.500Z"
    # spec/common.md §Timestamps: originalTimestamp is the client's time or the timestamp
    # passed in; with neither there is none (it used to be made up from Segment's time).
    assert "originalTimestamp" not in result.event
    with_sent_at = run(
        {"type": "track", "event": "X", "userId": "u", "sentAt": "2026-11-22T04:21:28.000Z"}
    )
    assert "originalTimestamp" not in with_sent_at.event


def test_unparseable_timestamp_is_a_warning_not_a_rejection() -> None:
    result = run({"type": "track", "event": "X", "userId": "u", "timestamp": "soon"})
    assert result.reason is None
    assert result.event["timestamp"] == "2026-11-22T04:21:28.500Z"
    assert "not an ISO-8601 timestamp" in result.warnings[0]


def test_batch_context_and_integrations_merge_under_the_items_own() -> None:
    """DOCS http-api §Batch: top-level context and integrations apply to each item."""
    item = {
        "type": "identify",
        "userId": "u",
        "context": {"library": {"name": "mine"}, "locale": "fr"},
        "integrations": {"Mixpanel": False},
    }
    result = run(
        item,
        context={"library": {"name": "batch", "version": "1"}, "ip": "1.2.3.4"},
        integrations={"All": False, "Mixpanel": True},
    )
    assert result.event["context"] == {
        "library": {"name": "mine", "version": "1"},
        "locale": "fr",
        "ip": "1.2.3.4",
    }
    assert result.event["integrations"] == {"All": False, "Mixpanel": False}
    # What the SDK sent is kept untouched beside it.
    assert result.raw["context"] == {"library": {"name": "mine"}, "locale": "fr"}


def test_explicit_nulls_from_the_python_sdk_are_accepted() -> None:
    """sdk-captures/python.json: absent fields are sent as null."""
    item = {
        "type": "page",
        "userId": "u",
        "anonymousId": None,
        "category": None,
        "name": None,
        "context": {"library": {"name": "analytics-python", "version": "2.4.0"}},
        "integrations": {},
        "properties": {},
    }
    result = run(item)
    assert result.reason is None
    assert result.event["anonymousId"] is None


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        ({"type": "track", "event": "X"}, "no userId or anonymousId"),
        (
            {"type": "track", "event": "X", "userId": None, "anonymousId": ""},
            "no userId or anonymousId",
        ),
        ({"type": "track", "userId": "u"}, "track call has no event name"),
        ({"type": "track", "event": 5, "userId": "u"}, "event must be a string, got int"),
        ({"type": "group", "userId": "u"}, "group call has no groupId"),
        ({"type": "alias", "userId": "u"}, "alias call has no previousId"),
        (
            {"type": "track", "event": "X", "userId": "u", "messageId": "m" * 100},
            "messageId is 100 characters; Segment drops 100 or more",
        ),
        ({"event": "X", "userId": "u"}, "batch item has no type"),
        ({"type": "purchase", "userId": "u"}, "unknown type 'purchase'"),
        (
            {"type": "track", "event": "X", "userId": "u", "properties": [1]},
            "properties must be an object, got array",
        ),
        ({"type": "identify", "userId": {"id": 1}}, "userId must be a string, got dict"),
        ("not an object", "batch item is not a JSON object (got string)"),
    ],
)
def test_calls_segment_drops_are_rejected_with_a_reason(item: Any, reason: str) -> None:
    """DOCS http-api §Errors and spec-field-message-id.md."""
    result = run(item)
    assert result.reason is not None
    assert result.reason.startswith(reason)


def test_message_id_of_99_characters_is_fine() -> None:
    assert run({"type": "track", "event": "X", "userId": "u", "messageId": "m" * 99}).reason is None


def test_numeric_user_id_becomes_a_string_with_a_warning() -> None:
    result = run({"type": "identify", "userId": 42})
    assert result.reason is None
    assert result.event["userId"] == "42"
    assert result.raw["userId"] == 42
    assert "userId was a number" in result.warnings[0]


def test_write_key_precedence_header_then_item_then_batch() -> None:
    item = {"type": "identify", "userId": "u", "writeKey": "item"}
    assert run(item, header_write_key="header", write_key="batch").write_key == "header"
    assert run(item, header_write_key=None, write_key="batch").write_key == "item"
    assert (
        run({"type": "identify", "userId": "u"}, header_write_key=None, write_key="batch").write_key
        == "batch"
    )
    missing = run({"type": "identify", "userId": "u"}, header_write_key=None)
    assert missing.reason is not None
    assert missing.reason.startswith("no write key")


def test_normalized_event_drops_write_key_and_adds_segment_fields() -> None:
    """DOCS partners/spec.md: channel, version 2; Segment does not keep the writeKey."""
    result = run(
        {"type": "identify", "userId": "u", "writeKey": "wk"}, channel="client", ip="10.1.2.3"
    )
    assert "writeKey" not in result.event
    assert result.event["channel"] == "client"
    assert result.event["version"] == 2
    assert result.event["context"]["ip"] == "10.1.2.3"


def test_missing_message_id_is_generated_as_segment_does() -> None:
    # Segment's messageId for a raw HTTP call: api-<ksuid> (DOCS cloud-apps/insider/index.md,
    # "api-2HgvQRYmsMWNlgqEuOKQmMWt5Wb"): 27 base62 characters that sort by time.
    result = run({"type": "identify", "userId": "u"})
    assert re.fullmatch(r"api-[0-9A-Za-z]{27}", result.message_id)
    assert result.event["messageId"] == result.message_id
    assert run({"type": "identify", "userId": "u"}).message_id != result.message_id


def test_a_call_without_a_library_gets_segments_unknown_library() -> None:
    # DOCS cloud-apps/facebook-lead-ads/index.md: {"name": "unknown", "version": "unknown"}.
    result = run({"type": "track", "event": "X", "userId": "u"})
    assert result.event["context"]["library"] == {"name": "unknown", "version": "unknown"}
    assert "context" not in result.raw  # the call as sent is unchanged
    own = run({"type": "track", "event": "X", "userId": "u", "context": {"library": {"name": "l"}}})
    assert own.event["context"]["library"] == {"name": "l"}


def test_context_direct_collects_the_ip_of_a_server_call() -> None:
    # DOCS http-api §Collecting IP: "setting context.direct to true".
    direct = run(
        {"type": "track", "event": "X", "userId": "u", "context": {"direct": True}},
        ip="10.1.2.3",
    )
    assert direct.event["context"]["ip"] == "10.1.2.3"
    server = run({"type": "track", "event": "X", "userId": "u"}, ip="10.1.2.3")
    assert "ip" not in server.event["context"]


def test_route_type_wins_over_body_type() -> None:
    """POST /v1/track is a track whatever the body says."""
    result = run({"type": "identify", "event": "X", "userId": "u"}, route_type="track")
    assert result.type == "track"
    assert result.event["type"] == "track"
