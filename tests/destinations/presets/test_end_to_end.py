"""The presets as a user meets them: the official Python SDK sends spec calls to a real segemu
server whose config enables the presets, and the control API shows what each destination's
API would have received, or why it would have refused."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from segment.analytics import Client

from segemu.config import load_config
from segemu.testing.client import SegemuClient
from segemu.testing.thread import ThreadedEmulator

SPEC = Path(__file__).parents[3] / "fixtures" / "spec"
WRITE_KEY = "wk_presets"
# Each table as a user writes it in segemu.toml; settings in snake_case.
DESTINATIONS: dict[str, Any] = {
    "mixpanel": {"settings": {"project_token": "tok-1", "api_secret": "secret-1"}},
    "amplitude": {"settings": {"api_key": "amp-1", "endpoint": "europe"}},
    "ga4": {"settings": {"measurement_id": "G-TEST", "api_secret": "ga-1"}},
    "braze": {},
    "customerio": {"settings": {"site_id": "site-1", "api_key": "key-1"}},
    "intercom": {},
}


@pytest.fixture
def running() -> Iterator[ThreadedEmulator]:
    config = load_config({"db": ":memory:", "destinations": DESTINATIONS}, env={}, discover=False)
    threaded = ThreadedEmulator(config).start()
    yield threaded
    threaded.stop()


def _spec_line(name: str, event: str) -> dict[str, Any]:
    for line in (SPEC / f"{name}.jsonl").read_text().splitlines():
        call = json.loads(line)
        if call.get("event") == event:
            return dict(call)
    raise LookupError(event)


def _send_with_the_sdk(url: str) -> None:
    analytics = Client(WRITE_KEY, host=url, sync_mode=True)
    order = _spec_line("ecommerce", "Order Completed")
    analytics.track(
        order["userId"],
        "Order Completed",
        order["properties"],
        context=order["context"],
        anonymous_id=order["anonymousId"],
    )
    analytics.identify("97980cfea0067", {"email": "peter@example.com", "name": "Peter Gibbons"})
    analytics.flush()


def test_each_preset_shows_the_request_its_api_would_receive(running: ThreadedEmulator) -> None:
    _send_with_the_sdk(running.url)
    client = SegemuClient(running.url, WRITE_KEY, assert_timeout=5)
    client.wait_for("type:identify", count=1)

    # Mixpanel: the order and one Product Purchased per product, in one /import request.
    # The SDK sends the identify with `anonymousId: null`, so there is no $identify event,
    # only the profile update.
    [imported, engage] = client.destination("mixpanel").requests
    assert imported["url"] == "https://api.mixpanel.com/import?strict=1"
    assert (
        imported["headers"]["Authorization"] == "Basic " + base64.b64encode(b"secret-1:").decode()
    )
    assert [item["event"] for item in imported["body"]] == [
        "Order Completed",
        "Product Purchased",
        "Product Purchased",
    ]
    assert imported["body"][0]["properties"]["distinct_id"] == "019mr8mf4r"
    assert engage["url"] == "https://api.mixpanel.com/engage"
    assert engage["body"]["data"]["$distinct_id"] == "97980cfea0067"
    assert engage["body"]["data"]["$set"] == {
        "$email": "peter@example.com",
        "$name": "Peter Gibbons",
    }
    client.assert_delivered(
        "mixpanel",
        event="Order Completed",
        payload={"properties": {"revenue": 22.5, "currency": "USD"}},
    )

    # Amplitude in Europe, and GA4's purchase with its items.
    [purchase, _] = client.destination("amplitude").requests
    assert purchase["url"] == "https://api.eu.amplitude.com/2/httpapi"
    assert purchase["body"]["events"][0]["revenue"] == 22.5
    [ga4] = client.destination("ga4").requests
    assert ga4["url"].endswith("?api_secret=ga-1&measurement_id=G-TEST")
    assert ga4["body"]["events"][0]["name"] == "purchase"
    assert [item["item_id"] for item in ga4["body"]["events"][0]["params"]["items"]] == [
        product["product_id"]
        for product in _spec_line("ecommerce", "Order Completed")["properties"]["products"]
    ]

    # Customer.io authenticates with the site id and API key.
    [event, person] = client.destination("customerio").requests
    assert (
        event["headers"]["Authorization"] == "Basic " + base64.b64encode(b"site-1:key-1").decode()
    )
    assert person["body"]["batch"][0]["identifiers"] == {"id": "97980cfea0067"}

    # Intercom: a search, then the contact it did not find is created.
    assert [request["url"] for request in client.destination("intercom").requests][-2:] == [
        "https://api.intercom.io/contacts/search",
        "https://api.intercom.io/contacts",
    ]


def test_a_refusal_shows_segments_reason(running: ThreadedEmulator) -> None:
    _send_with_the_sdk(running.url)
    client = SegemuClient(running.url, WRITE_KEY, assert_timeout=5)
    client.wait_for("type:identify", count=1)
    braze = client.destination("braze")
    [order] = [delivery for delivery in braze.deliveries if delivery["status"] == "failed"]
    # The spec's order has no store (`source`) and no product variants: Braze's e-commerce
    # event refuses it, as Segment's Event Delivery would show.
    assert "The root value is missing the required field 'source'." in order["reason"]
    assert braze.received[0]["attributes"][0]["external_id"] == "97980cfea0067"
