"""Segment's schema configuration and what it does to routing: blocked calls, omitted
properties and traits, `context.protocols` in what destinations receive, and "Violation
Generated" forwarding (DOCS protocols/enforce/schema-configuration.md, forward-blocked-events.md,
protocols/validate/forward-violations.md, protocols/faq.md; Public API TrackSourceSettingsV1,
IdentifySourceSettingsV1, GroupSourceSettingsV1)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from segemu.config import ConfigError
from segemu.emulator import create_emulator
from segemu.protocols import forwarded_event
from tests.protocols.helpers import emulator_with, send, track, write_plan

PLAN = {
    "name": "Shop",
    "track": {
        "Order Completed": {
            "properties": {"order_id": {"type": "string", "required": True}, "revenue": "number"}
        }
    },
    "identify": {"traits": {"email": "string", "plan": ["free", "pro"]}},
    "group": {"traits": {"name": "string"}},
    "common": {"properties": {"properties": {"revenue": {"type": "number", "minimum": 0}}}},
}


@pytest.fixture
def plan(tmp_path: Path) -> Path:
    return write_plan(tmp_path, PLAN)


def test_by_default_everything_goes_through_and_only_violations_are_reported(plan: Path) -> None:
    emulator = emulator_with(plan)
    [unplanned, broken] = send(
        emulator, track("Debug Clicked"), track("Order Completed", revenue="1", extra=1)
    )
    for record in (unplanned, broken):
        assert record["violations"]
        assert record["protocols"]["blocked"] is None
        assert record["protocols"]["omitted"] == []


def test_allow_unplanned_events_false_blocks_them(plan: Path) -> None:
    emulator = emulator_with(plan, track={"allowUnplannedEvents": False})
    [blocked, planned] = send(
        emulator, track("Debug Clicked"), track("Order Completed", order_id="o-1")
    )
    assert blocked["protocols"]["blocked"] == (
        "unplanned event 'Debug Clicked': the source blocks events that are not in the tracking "
        "plan (allowUnplannedEvents = false)"
    )
    assert planned["protocols"]["blocked"] is None


def test_allow_event_on_violations_false_blocks_the_event(plan: Path) -> None:
    # The Config API's flat name works as well as the Public API's nested one.
    emulator = emulator_with(plan, allowTrackEventOnViolations=False)
    [blocked, fine] = send(
        emulator,
        track("Order Completed", revenue=5),
        track("Order Completed", order_id="o-1", revenue=5),
    )
    assert blocked["protocols"]["blocked"] == (
        "properties.order_id is required: the source blocks events that break the tracking "
        "plan (allowEventOnViolations = false)"
    )
    assert fine["protocols"]["blocked"] is None


def test_omit_unplanned_properties_and_properties_on_violations(plan: Path) -> None:
    emulator = emulator_with(
        plan, track={"allowUnplannedEventProperties": False, "allowPropertiesOnViolations": False}
    )
    [record] = send(emulator, track("Order Completed", order_id="o-1", revenue="5", coupon="MAY"))
    assert record["protocols"]["blocked"] is None
    assert sorted(record["protocols"]["omitted"]) == ["properties.coupon", "properties.revenue"]
    assert record["protocols"]["omittedOnViolation"] == ["properties.revenue"]
    delivered = forwarded_event(record)
    assert delivered["properties"] == {"order_id": "o-1"}
    assert delivered["context"]["protocols"] == {
        "omitted": ["coupon"],
        "omitted_on_violation": ["revenue"],
        "sourceId": "default",
        "violations": [
            {
                "type": "Invalid Type",
                "field": "properties.revenue",
                "description": 'properties.revenue must be a number, got string "5"',
            },
            {
                "type": "Unplanned Property",
                "field": "properties.coupon",
                "description": "properties.coupon is not in the tracking plan for TRACK "
                "'Order Completed' v1 (an unplanned property)",
            },
        ],
    }
    # What was received stays as it was: only destinations see the omission.
    assert record["event"]["properties"] == {"order_id": "o-1", "revenue": "5", "coupon": "MAY"}


def test_a_clean_call_reaches_destinations_unchanged(plan: Path) -> None:
    emulator = emulator_with(plan, track={"allowUnplannedEventProperties": False})
    [record] = send(emulator, track("Order Completed", order_id="o-1"))
    assert forwarded_event(record) is record["event"]


def test_identify_and_group_omit_traits(plan: Path) -> None:
    emulator = emulator_with(
        plan, identify={"allowUnplannedTraits": False}, allowGroupTraitsOnViolations=False
    )
    [identify, group] = send(
        emulator,
        {"type": "identify", "traits": {"email": "a@b.co", "nickname": "ada"}},
        {"type": "group", "groupId": "g1", "traits": {"name": 42, "seats": 3}},
    )
    assert identify["protocols"]["omitted"] == ["traits.nickname"]
    assert forwarded_event(identify)["traits"] == {"email": "a@b.co"}
    # Only traits with violations go; unplanned ones stay (allowUnplannedTraits is true).
    assert group["protocols"]["omitted"] == ["traits.name"]
    assert forwarded_event(group)["traits"] == {"seats": 3}


@pytest.mark.parametrize(
    ("choice", "blocked", "omitted"),
    [
        ("ALLOW", False, []),
        ("BLOCK", True, []),
        ("OMIT_PROPERTIES", False, ["properties.revenue"]),
    ],
)
def test_common_event_on_violations(
    plan: Path, choice: str, blocked: bool, omitted: list[str]
) -> None:
    emulator = emulator_with(plan, track={"commonEventOnViolations": choice})
    [record, fine] = send(
        emulator,
        track("Order Completed", order_id="o-1", revenue=-5),
        track("Order Completed", order_id="o-1", revenue=5),
    )
    assert [v["type"] for v in record["violations"]] == ["common"]
    assert (record["protocols"]["blocked"] is not None) is blocked
    assert record["protocols"]["omitted"] == omitted
    assert (fine["protocols"]["blocked"], fine["protocols"]["omitted"]) == (None, [])


def test_standard_controls_run_before_the_common_schema(plan: Path) -> None:
    # The unplanned property is omitted first, so the common schema never sees it
    # (DOCS schema-configuration.md, "Order of Priority in Blocking Options").
    common = {**PLAN, "common": {"properties": {"properties": {"debug": {"not": {}}}}}}
    emulator = emulator_with(
        write_plan(plan.parent, common, "common.yaml"),
        track={"allowUnplannedEventProperties": False},
    )
    [record] = send(emulator, track("Order Completed", order_id="o-1", debug=True))
    assert [v["type"] for v in record["violations"]] == ["additional_property"]


def test_violation_generated_calls_go_to_the_forwarding_source(plan: Path) -> None:
    emulator = create_emulator(
        db=":memory:",
        sources={
            "web": {
                "write_key": "wk_web",
                "tracking_plan": str(plan),
                "protocols": {"forwardingViolationsTo": "violations"},
            },
            "violations": {"write_key": "wk_violations"},
        },
    )
    records = send(
        emulator,
        {**track("Order Completed", revenue="5"), "messageId": "m-1", "userId": "u_1"},
        write_key="wk_web",
    )
    original, *forwarded = records
    # order_id missing, revenue a string (the event rule and the common rule say so)
    assert len(forwarded) == len(original["violations"]) == 3
    first = forwarded[0]
    assert (first["writeKey"], first["source"], first["status"]) == (
        "wk_violations",
        "violations",
        "accepted",
    )
    event = first["event"]
    assert (event["event"], event["userId"]) == ("Violation Generated", "schema-violations")
    assert event["messageId"].startswith("sch-")
    assert event["properties"] == {
        "appVersion": "",
        "eventMessageID": "m-1",
        "eventName": "Order Completed",
        "eventSentAt": "",
        "eventTimestamp": original["event"]["timestamp"],
        "eventType": "track",
        "sourceID": "web",
        "sourceName": "web",
        "sourceSlug": "web",
        "trackingPlanID": "Shop",
        "trackingPlanName": "Shop",
        "violationDescription": "properties.order_id is required",
        "violationField": "properties.order_id",
        "violationType": "Required",
    }
    # A forwarded call is not checked again (DOCS protocols/faq.md).
    assert (first["violations"], first["lint"]) == ([], [])
    [clean] = send(emulator, track("Order Completed", order_id="o-2"), write_key="wk_web")
    assert clean["violations"] == []


def test_blocked_calls_go_to_the_blocked_events_source_as_they_were_sent(plan: Path) -> None:
    # DOCS protocols/enforce/forward-blocked-events.md: only blocked events are forwarded;
    # calls that only lost omitted properties or traits are not.
    emulator = create_emulator(
        db=":memory:",
        sources={
            "web": {
                "write_key": "wk_web",
                "tracking_plan": str(plan),
                "protocols": {
                    "forwardingBlockedEventsTo": "quarantine",
                    "track": {
                        "allowUnplannedEvents": False,
                        "allowUnplannedEventProperties": False,
                    },
                },
            },
            "quarantine": {"write_key": "wk_quarantine"},
        },
    )
    unplanned = {
        **track("Debug Clicked", button="save"),
        "messageId": "m-debug",
        "userId": "u_1",
        "timestamp": "2026-11-22T08:00:00.000Z",
    }
    records = send(
        emulator,
        unplanned,
        {**track("Order Completed", order_id="o-1", debug=1), "messageId": "m-order"},
        write_key="wk_web",
    )
    blocked, omitted, forwarded = records
    assert blocked["protocols"]["blocked"] is not None
    assert omitted["protocols"]["omitted"] == ["properties.debug"]
    assert (forwarded["writeKey"], forwarded["source"], forwarded["status"]) == (
        "wk_quarantine",
        "quarantine",
        "accepted",
    )
    assert forwarded["route"] == "(Protocols: blocked event forwarding)"
    # The same call: its messageId, fields and client timestamp; not a duplicate of itself.
    event = forwarded["event"]
    assert (event["messageId"], event["event"], event["userId"], event["properties"]) == (
        "m-debug",
        "Debug Clicked",
        "u_1",
        {"button": "save"},
    )
    assert event["originalTimestamp"] == "2026-11-22T08:00:00.000Z"
    assert forwarded.get("duplicateOf") is None
    # Forwarded calls bypass the blocking of the source they reach (DOCS protocols/faq.md).
    assert forwarded["protocols"]["blocked"] is None
    assert emulator.destinations.deliveries(forwarded)["warehouse"]["status"] == "delivered"


@pytest.mark.parametrize(
    ("protocols", "message"),
    [
        (
            {"track": {"allowUnplanedEvents": False}},
            "[protocols].track: unknown setting 'allowUnplanedEvents' (did you mean "
            "'allowUnplannedEvents'?)",
        ),
        (
            {"track": {"commonEventOnViolations": "OMIT_TRAITS"}},
            "[protocols].track: 'commonEventOnViolations' must be one of ALLOW, BLOCK, "
            "OMIT_PROPERTIES for track calls, got 'OMIT_TRAITS'",
        ),
        (
            {"allowTrackEventOnViolations": "no"},
            "[protocols]: 'allowTrackEventOnViolations' must be true or false, got 'no'",
        ),
        ({"strict": "yes"}, "[protocols]: 'strict' must be true or false, got 'yes'"),
        (
            {"tracking_plan": 3},
            "[protocols] tracking_plan: must be the path of a tracking plan file, got 3",
        ),
    ],
)
def test_schema_configuration_mistakes_name_the_table_and_key(
    protocols: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError) as error:
        create_emulator(db=":memory:", protocols=protocols)
    assert message in str(error.value)


@pytest.mark.parametrize("setting", ["forwardingViolationsTo", "forwardingBlockedEventsTo"])
def test_forwarding_to_an_unknown_source_is_a_config_error(setting: str) -> None:
    with pytest.raises(ConfigError) as error:
        create_emulator(
            db=":memory:",
            sources={"web": {"write_key": "wk", "protocols": {setting: "violatoins"}}},
        )
    assert str(error.value) == (
        f"settings: [sources.web.protocols]: '{setting}' names no configured "
        "source: 'violatoins'; sources: 'web'"
    )


def test_forwarded_calls_run_after_the_calls_of_the_request_in_order(plan: Path) -> None:
    # The tracking plan stage returns the calls it forwards; the pipeline runs them after the
    # request's own calls, in the order they were made (no queue on Protocols, no recursion).
    emulator = create_emulator(
        db=":memory:",
        sources={
            "web": {
                "write_key": "wk_web",
                "tracking_plan": str(plan),
                "protocols": {"forwardingViolationsTo": "violations"},
            },
            "violations": {"write_key": "wk_violations"},
        },
    )
    records = send(
        emulator,
        {**track("Order Completed", revenue="5"), "messageId": "m-1", "userId": "u_1"},
        {**track("Order Completed", revenue=-1, order_id="o"), "messageId": "m-2"},
        write_key="wk_web",
    )
    first, second, *forwarded = records
    assert (first["messageId"], second["messageId"]) == ("m-1", "m-2")
    assert [r["event"]["properties"]["eventMessageID"] for r in forwarded] == (
        ["m-1"] * len(first["violations"]) + ["m-2"] * len(second["violations"])
    )
    assert [r["id"] for r in records] == sorted(r["id"] for r in records)
    # Every record was stored once, forwarded ones included.
    assert len(emulator.store) == len(records)
