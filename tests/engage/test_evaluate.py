"""Computed traits and audiences as pure evaluation over (profile state, call, now), under a
clock the test chooses (segment-docs engage/audiences/computed-traits.md, audiences/index.md,
using-engage-data.md)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from segemu.config import load_config
from segemu.engage.config import load_engage
from segemu.engage.engine import ENTERED, EXITED, Engage, ProfileFacts
from segemu.message import Record, format_timestamp

START = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def engage(**tables: Any) -> Engage:
    config = load_config({"engage": tables}, env={}, discover=False)
    return Engage(load_engage(config))


def call(event: str, at: datetime, kind: str = "track", **properties: Any) -> Record:
    return {
        "id": 1,
        "messageId": f"m-{event}-{at.timestamp()}",
        "writeKey": "wk",
        "reason": None,
        "raw": {},
        "warnings": [],
        "type": kind,
        "status": "accepted",
        "route": "/v1/track",
        "receivedAt": format_timestamp(at),
        "event": {
            "type": kind,
            **({"event": event} if kind == "track" else {"name": event}),
            "userId": "u1",
            "timestamp": format_timestamp(at),
            "properties": properties,
        },
    }


KNOWN = ProfileFacts("seg_1", user_id="u1", known=True)


def test_every_trait_type_over_the_same_calls() -> None:
    subject = engage(
        computed_traits={
            "orders": {"type": "event_counter", "event": "Order Completed"},
            "revenue": {
                "type": "sum",
                "event": "Order Completed",
                "property": "properties.revenue",
            },
            "avg_order": {
                "type": "average",
                "event": "Order Completed",
                "property": "properties.revenue",
            },
            "smallest": {
                "type": "min",
                "event": "Order Completed",
                "property": "properties.revenue",
            },
            "largest": {
                "type": "max",
                "event": "Order Completed",
                "property": "properties.revenue",
            },
            "top_category": {
                "type": "most_frequent",
                "event": "Order Completed",
                "property": "properties.category",
            },
            "first_category": {
                "type": "first",
                "event": "Order Completed",
                "property": "properties.category",
            },
            "last_category": {
                "type": "last",
                "event": "Order Completed",
                "property": "properties.category",
            },
            "categories": {
                "type": "unique_list",
                "event": "Order Completed",
                "property": "properties.category",
            },
            "category_count": {
                "type": "unique_list_count",
                "event": "Order Completed",
                "property": "properties.category",
            },
        }
    )
    orders = [(10, "shoes"), (25.5, "hats"), (4, "shoes"), (30, "bags")]
    for n, (revenue, category) in enumerate(orders):
        at = START + timedelta(minutes=n)
        subject.observe(KNOWN, call("Order Completed", at, revenue=revenue, category=category), at)
    subject.observe(KNOWN, call("Product Viewed", START, revenue=1000), START)

    assert subject.computed_traits_of("seg_1") == {
        "orders": 4,
        "revenue": 69.5,
        "avg_order": 17.375,
        "smallest": 4,
        "largest": 30,
        "top_category": "shoes",
        "first_category": "shoes",
        "last_category": "bags",
        "categories": ["bags", "hats", "shoes"],
        "category_count": 3,
    }


def test_most_frequent_needs_two_and_breaks_ties_alphabetically() -> None:
    # computed-traits.md §Most Frequent: "requires the event property to have been tracked at
    # least twice. In the case of a tie, Segment returns the first alphabetical value."
    subject = engage(
        computed_traits={"favourite": {"type": "most_frequent", "property": "properties.category"}}
    )
    subject.observe(KNOWN, call("Viewed", START, category="zebra"), START)
    subject.observe(KNOWN, call("Viewed", START, category="apple"), START)
    assert subject.computed_traits_of("seg_1") == {"favourite": None}
    subject.observe(KNOWN, call("Viewed", START, category="zebra"), START)
    subject.observe(KNOWN, call("Viewed", START, category="apple"), START)
    assert subject.computed_traits_of("seg_1") == {"favourite": "apple"}


def test_a_condition_in_the_query_language_picks_the_calls() -> None:
    subject = engage(
        computed_traits={
            "big_orders": {
                "type": "event_counter",
                "event": "Order Completed",
                "where": "properties.revenue>20 properties.currency:USD",
            },
            "pricing_views": {"type": "event_counter", "where": "type:page name:Pricing"},
        }
    )
    subject.observe(KNOWN, call("Order Completed", START, revenue=50, currency="USD"), START)
    subject.observe(KNOWN, call("Order Completed", START, revenue=50, currency="EUR"), START)
    subject.observe(KNOWN, call("Order Completed", START, revenue=5, currency="USD"), START)
    subject.observe(KNOWN, call("Pricing", START, kind="page"), START)
    subject.observe(KNOWN, call("Home", START, kind="page"), START)
    assert subject.computed_traits_of("seg_1") == {"big_orders": 1, "pricing_views": 1}


def test_a_windowed_trait_follows_the_clock() -> None:
    subject = engage(
        computed_traits={
            "orders_7d": {"type": "event_counter", "event": "Order Completed", "window": "7d"},
            "revenue_7d": {
                "type": "sum",
                "event": "Order Completed",
                "property": "properties.revenue",
                "window": "7d",
            },
            "last_item_7d": {
                "type": "last",
                "event": "Order Completed",
                "property": "properties.item",
                "window": "7d",
            },
        }
    )
    first = START
    second = START + timedelta(days=3)
    subject.observe(KNOWN, call("Order Completed", first, revenue=10, item="a"), first)
    subject.observe(KNOWN, call("Order Completed", second, revenue=5, item="b"), second)
    assert subject.computed_traits_of("seg_1") == {
        "orders_7d": 2,
        "revenue_7d": 15,
        "last_item_7d": "b",
    }

    # Nothing is due before the first order leaves the window.
    assert subject.tick(first + timedelta(days=6)) == []
    [outcome] = subject.tick(first + timedelta(days=7, seconds=1))
    assert outcome.computed == {"orders_7d": 1, "revenue_7d": 5}
    [outcome] = subject.tick(second + timedelta(days=7, seconds=1))
    assert outcome.computed == {"orders_7d": 0, "revenue_7d": None, "last_item_7d": None}
    assert subject.tick(second + timedelta(days=30)) == []


def test_a_call_whose_timestamp_is_already_out_of_the_window_does_not_count() -> None:
    subject = engage(computed_traits={"logins_30d": {"type": "event_counter", "window": "30d"}})
    old = START - timedelta(days=40)
    subject.observe(KNOWN, call("Logged In", old), START)
    assert subject.computed_traits_of("seg_1") == {"logins_30d": 0}


def audience_engage() -> Engage:
    return engage(
        computed_traits={"lifetime_revenue": {"type": "sum", "property": "properties.revenue"}},
        audiences={
            "big_spenders": {
                "traits": "traits.lifetime_revenue>=100 traits.plan:pro",
                "send": ["identify", "track"],
            },
            "recent_buyers": {
                "performed": [{"event": "Order Completed", "within": "30d"}],
                "send": ["track"],
            },
            "viewed_not_bought": {
                "performed": [
                    {"event": "Product Viewed", "within": "7d"},
                    {"event": "Order Completed", "within": "7d", "at_most": 0},
                ]
            },
        },
    )


def test_entering_and_leaving_audiences_sends_engages_calls() -> None:
    subject = audience_engage()
    pro = ProfileFacts("seg_1", traits={"plan": "pro"}, user_id="u1", known=True)

    outcome = subject.observe(pro, call("Product Viewed", START), START)
    assert outcome.entered == ["viewed_not_bought"]
    [(audience, calls)] = outcome.calls
    assert audience.key == "viewed_not_bought"
    [identify] = calls
    # using-engage-data.md §Audience generated events
    assert identify["type"] == "identify"
    assert identify["userId"] == "u1"
    assert identify["traits"] == {"viewed_not_bought": True}
    assert identify["context"]["personas"]["computation_class"] == "audience"
    assert identify["context"]["personas"]["computation_key"] == "viewed_not_bought"

    at = START + timedelta(hours=1)
    outcome = subject.observe(pro, call("Order Completed", at, revenue=120), at)
    assert sorted(outcome.entered) == ["big_spenders", "recent_buyers"]
    assert outcome.exited == ["viewed_not_bought"]
    sent = {a.key: calls for a, calls in outcome.calls}
    assert [c["type"] for c in sent["big_spenders"]] == ["identify", "track"]
    track = sent["big_spenders"][1]
    assert track["event"] == ENTERED
    assert track["properties"] == {"audience_key": "big_spenders", "big_spenders": True}
    assert sent["viewed_not_bought"][0]["traits"] == {"viewed_not_bought": False}
    assert subject.audiences_of("seg_1") == {
        "big_spenders": True,
        "recent_buyers": True,
        "viewed_not_bought": False,
    }
    # Audience memberships are traits of the profile, next to the computed ones.
    assert subject.traits_of("seg_1") == {
        "lifetime_revenue": 120,
        "big_spenders": True,
        "recent_buyers": True,
        "viewed_not_bought": False,
    }

    # 30 days after the order, the clock alone takes the profile out of recent_buyers.
    [outcome] = subject.tick(at + timedelta(days=30, seconds=1))
    assert outcome.exited == ["recent_buyers"]
    [(_, [exited])] = outcome.calls
    assert exited["event"] == EXITED
    assert exited["properties"] == {"audience_key": "recent_buyers", "recent_buyers": False}
    assert exited["timestamp"] == format_timestamp(at + timedelta(days=30, seconds=1))


def test_anonymous_profiles_are_left_out_unless_the_audience_includes_them() -> None:
    subject = engage(
        audiences={
            "viewers": {"performed": [{"event": "Product Viewed"}]},
            "all_viewers": {
                "performed": [{"event": "Product Viewed"}],
                "include_anonymous": True,
            },
        }
    )
    anonymous = ProfileFacts("seg_2", anonymous_id="a1")
    outcome = subject.observe(anonymous, call("Product Viewed", START), START)
    assert outcome.entered == ["all_viewers"]
    [(_, [identify])] = outcome.calls
    assert identify["anonymousId"] == "a1"
    assert "userId" not in identify


def test_merging_profiles_combines_their_counts() -> None:
    subject = engage(
        computed_traits={
            "orders": {"type": "event_counter", "event": "Order Completed"},
            "orders_7d": {"type": "event_counter", "event": "Order Completed", "window": "7d"},
        }
    )
    anonymous = ProfileFacts("seg_a", anonymous_id="a1")
    subject.observe(anonymous, call("Order Completed", START), START)
    subject.observe(KNOWN, call("Order Completed", START), START)
    subject.merge("seg_a", into="seg_1")
    outcome = subject.observe(KNOWN, None, START)
    assert outcome.computed == {"orders": 2, "orders_7d": 2}
    assert subject.computed_traits_of("seg_a") == {}


def test_engages_own_calls_count_for_nothing() -> None:
    subject = engage(computed_traits={"tracks": {"type": "event_counter"}})
    own = call("Audience Entered", START)
    own["route"] = "(Engage: audience sync)"
    subject.observe(KNOWN, own, START)
    assert subject.computed_traits_of("seg_1") == {}


@pytest.mark.parametrize(
    ("tables", "message"),
    [
        (
            {"computed_traits": {"x": {"type": "count"}}},
            "[engage.computed_traits.x]: 'type' must be one of",
        ),
        (
            {"computed_traits": {"x": {"type": "sum"}}},
            "a sum trait needs 'property'",
        ),
        (
            {"computed_traits": {"x": {"type": "event_counter", "window": "30 days"}}},
            "'window' must be a duration",
        ),
        (
            {"computed_traits": {"x": {"type": "event_counter", "where": "revenue>"}}},
            "[engage.computed_traits.x]: 'where': ",
        ),
        (
            {"computed_traits": {"Total Revenue": {"type": "event_counter"}}},
            "must be snake_case",
        ),
        ({"audiences": {"a": {}}}, "[engage.audiences.a]: an audience needs a condition"),
        (
            {"audiences": {"a": {"traits": "traits.x:1", "send": ["group"]}}},
            "'send' must list how members are sent",
        ),
        (
            {"audiences": {"a": {"performed": [{"event": "E", "at_most": 2, "at_least": 3}]}}},
            "[engage.audiences.a] performed #1: 'at_most' (2) is below 'at_least' (3)",
        ),
        ({"audiences": {"a": {"trait": "x"}}}, "unknown key 'trait' (did you mean 'traits'?)"),
        (
            {
                "computed_traits": {"a": {"type": "event_counter"}},
                "audiences": {"a": {"traits": "traits.a>1"}},
            },
            "the key is already a computed trait's",
        ),
    ],
)
def test_config_mistakes_name_the_entry(tables: dict[str, Any], message: str) -> None:
    from segemu.config import ConfigError

    with pytest.raises(ConfigError) as caught:
        engage(**tables)
    assert message in str(caught.value)
