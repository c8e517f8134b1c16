"""The tracking plan's effect on routing, end to end: the official Python SDK sends to a real
server; a call the schema configuration blocks reaches no destination, and an omitted property
is missing from what the destination's API receives (DOCS protocols/enforce/
schema-configuration.md: blocking and omission apply to cloud-mode destinations)."""

from __future__ import annotations

import pytest
import segment.analytics as analytics

from segemu.testing.client import SegemuClient
from tests.protocols.helpers import FIXTURES

SHOP = str(FIXTURES / "plans" / "shop.yaml")
ORDER = {"order_id": "o-1", "revenue": 9.5, "currency": "USD", "products": [{"product_id": "p"}]}


@pytest.mark.segemu(
    protocols={
        "tracking_plan": SHOP,
        "track": {"allowUnplannedEvents": False, "allowUnplannedEventProperties": False},
    }
)
def test_blocked_calls_reach_no_destination_and_omitted_properties_are_not_sent(
    segemu: SegemuClient,
) -> None:
    analytics.track("u_1", "Debug Clicked", {"button": "save"})
    analytics.track("u_1", "Order Completed", {**ORDER, "gift_wrap": True})
    segemu.wait_for("type:track", count=2)

    mixpanel = segemu.destination("mixpanel")
    [blocked] = mixpanel.filtered
    assert blocked["reason"] == (
        "tracking plan: unplanned event 'Debug Clicked': the source blocks events that are not "
        "in the tracking plan (allowUnplannedEvents = false)"
    )
    [body] = mixpanel.received
    sent = str(body)
    assert "o-1" in sent
    assert "gift_wrap" not in sent
    [order] = segemu.events('event:"Order Completed"')
    assert order["event"]["properties"]["gift_wrap"] is True  # stored as sent
    assert order["protocols"]["omitted"] == ["properties.gift_wrap"]
