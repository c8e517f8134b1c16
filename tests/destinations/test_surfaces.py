"""What a developer sees of mock destinations: the control API, the CLI, the Python client and
its assertions, against a real server over real sockets."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner

from segemu.cli import cli
from segemu.config import load_config
from segemu.testing.api import SegemuAssertionError
from segemu.testing.client import SegemuClient
from segemu.testing.thread import ThreadedEmulator

DESTINATIONS: dict[str, Any] = {
    "crm": {
        "name": "CRM",
        "actions": [
            {
                "name": "Track",
                "subscribe": 'type = "track"',
                "url": "https://crm.example/events",
                "mapping": {
                    "name": {"@path": "$.event"},
                    "revenue": {"@path": "$.properties.revenue"},
                    "user": {"@path": "$.userId"},
                },
            }
        ],
    },
    "ads": {
        "name": "Ads",
        "consent_categories": ["Advertising"],
        "actions": [
            {
                "name": "Conversion",
                "subscribe": 'event = "Order Completed"',
                "mapping": {"value": {"@path": "$.properties.revenue"}},
            }
        ],
    },
}


@pytest.fixture
def running() -> Iterator[ThreadedEmulator]:
    threaded = ThreadedEmulator(
        load_config({"db": ":memory:", "destinations": DESTINATIONS}, env={}, discover=False)
    ).start()
    yield threaded
    threaded.stop()


def post(url: str, path: str, body: Any, method: str = "POST") -> tuple[int, Any]:
    request = urllib.request.Request(
        f"{url}{path}",
        data=json.dumps(body).encode(),
        method=method,
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def send_checkout(url: str) -> None:
    status, _ = post(
        url,
        "/v1/batch",
        {
            "writeKey": "wk_web",
            "batch": [
                {
                    "type": "track",
                    "event": "Order Completed",
                    "userId": "u1",
                    "messageId": "m-order",
                    "properties": {"revenue": 99.5},
                    "context": {"consent": {"categoryPreferences": {"Advertising": False}}},
                },
                {"type": "track", "event": "Product Viewed", "userId": "u1", "messageId": "m-view"},
                {
                    "type": "identify",
                    "userId": "u1",
                    "traits": {"plan": "pro"},
                    "messageId": "m-id",
                },
            ],
        },
    )
    assert status == 200


def test_the_python_client_shows_what_each_destination_received(running: ThreadedEmulator) -> None:
    send_checkout(running.url)
    client = SegemuClient(running.url, "wk_web")
    crm = client.destination("crm")
    assert crm.received == [
        {"name": "Order Completed", "revenue": 99.5, "user": "u1"},
        {"name": "Product Viewed", "user": "u1"},
    ]
    assert crm.requests[0]["url"] == "https://crm.example/events"
    assert [d["reason"] for d in crm.filtered] == ["no action is subscribed to this event"]
    ads = client.destination("ads")
    assert ads.received == []
    assert ads.filtered[0]["reason"] == "consent: Advertising denied"


def test_assert_delivered_and_not_delivered(running: ThreadedEmulator) -> None:
    send_checkout(running.url)
    client = SegemuClient(running.url, "wk_web", assert_timeout=0)
    client.assert_delivered("crm", event="Order Completed", payload={"revenue": 99.5})
    client.assert_not_delivered("ads", event="Order Completed")
    with pytest.raises(SegemuAssertionError) as failed:
        client.assert_delivered("crm", event="Order Completed", payload={"revenue": 100})
    message = str(failed.value)
    assert "assert_delivered('crm', event='Order Completed', payload={'revenue': 100})" in message
    assert "deliveries.crm.requests[0].body.revenue: expected 100, got 99.5" in message
    with pytest.raises(SegemuAssertionError) as filtered:
        client.assert_delivered("ads", event="Order Completed")
    assert (
        'deliveries.ads.status: expected "delivered", got "filtered (consent: '
        'Advertising denied)"' in str(filtered.value)
    )
    with pytest.raises(SegemuAssertionError):
        client.assert_not_delivered("crm", event="Product Viewed")


def test_control_api_lists_destinations_and_an_events_routing(running: ThreadedEmulator) -> None:
    send_checkout(running.url)
    client = SegemuClient(running.url)
    listing = {d["id"]: d for d in client.request("GET", "/destinations")["destinations"]}
    assert listing["crm"]["counts"]["delivered"] == 2
    assert listing["crm"]["counts"]["filtered"] == 1
    assert listing["ads"]["counts"]["filtered"] == 3
    assert listing["crm"]["lastDelivered"]["requests"][0]["body"]["name"] == "Product Viewed"
    routing = client.request("GET", "/events/m-order/routing")
    assert {r["destination"]: (r["status"], r["reason"]) for r in routing["routing"]} == {
        "crm": ("delivered", None),
        "ads": ("filtered", "consent: Advertising denied"),
    }
    one = client.request("GET", "/destinations/crm")
    assert one["actions"][0]["mapping"]["name"] == {"@path": "$.event"}
    deliveries = client.request(
        "GET", "/destinations/crm/deliveries", {"deliveryStatus": "filtered"}
    )
    assert [d["messageId"] for d in deliveries["deliveries"]] == ["m-id"]


def test_destinations_change_at_runtime_and_mistakes_are_400s(running: ThreadedEmulator) -> None:
    status, answer = post(
        running.url, "/_segemu/destinations/ads", {"name": "Ads", "actions": []}, method="PUT"
    )
    assert status == 200
    assert answer["actions"] == []
    status, answer = post(
        running.url, "/_segemu/destinations/x", {"preset": "mixpanl"}, method="PUT"
    )
    assert status == 400
    assert "unknown destination preset 'mixpanl'" in answer["message"]
    status, answer = post(running.url, "/_segemu/destinations/crm", {}, method="DELETE")
    assert (status, answer) == (200, {"removed": "crm"})
    status, answer = post(running.url, "/_segemu/destinations/crm/deliveries", None, method="GET")
    assert status == 404
    assert "no destination 'crm'; configured: ads" in answer["message"]


def test_cli_destinations_deliveries_and_routing(running: ThreadedEmulator) -> None:
    send_checkout(running.url)
    runner = CliRunner()
    listed = runner.invoke(cli, ["destinations", "--url", running.url])
    assert listed.exit_code == 0, listed.output
    assert "crm" in listed.output
    assert "delivered 2" in listed.output
    received = runner.invoke(cli, ["deliveries", "crm", "--url", running.url, "--payloads"])
    assert received.exit_code == 0, received.output
    lines = received.output.splitlines()
    assert lines[0] == "#1      track    Order Completed              delivered"
    assert "    Track: POST https://crm.example/events" in lines
    assert '        "revenue": 99.5,' in lines
    assert "no action is subscribed to this event" in lines[-1]
    routed = runner.invoke(cli, ["routing", "m-order", "--url", running.url])
    assert routed.exit_code == 0
    assert routed.output.splitlines() == [
        "crm            delivered   (Track)",
        "ads            filtered    consent: Advertising denied",
    ]
    unknown = runner.invoke(cli, ["deliveries", "nope", "--url", running.url])
    assert unknown.exit_code == 2
    assert "no destination 'nope'" in unknown.output
