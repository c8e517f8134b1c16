"""Intercom Cloud Mode (Actions) against the Segment spec events: what api.intercom.io would
receive from segemu's Intercom, which holds no contacts (every search finds none).

Expected shapes come from action-destinations src/destinations/intercom (identifyContact,
groupIdentifyContact, trackEvent, util.ts) and the Intercom Cloud Mode doc page."""

from __future__ import annotations

import pytest

from segemu.destinations.engine import compile_action, run_preset
from segemu.destinations.presets import PRESETS
from segemu.destinations.presets._support import IntegrationError, PayloadValidationError
from segemu.message import parse_timestamp
from tests.destinations.presets.spec import spec_event, spec_events

INTERCOM = PRESETS["intercom"]
BEARER = f"Bearer {INTERCOM.settings['accessToken']}"


def _unix(timestamp: str) -> int:
    moment = parse_timestamp(timestamp)
    assert moment is not None
    return int(moment.timestamp())


def test_identify_searches_the_contact_then_creates_it_as_a_user() -> None:
    event = spec_event("lifecycle", type="identify")
    search, create = run_preset(INTERCOM, event)
    assert (search["method"], search["url"]) == ("POST", "https://api.intercom.io/contacts/search")
    assert search["headers"]["Authorization"] == BEARER
    assert search["body"] == {
        "query": {"field": "external_id", "operator": "=", "value": event["userId"]}
    }
    assert (create["method"], create["url"]) == ("POST", "https://api.intercom.io/contacts")
    traits = event["traits"]
    assert create["body"] == {
        "external_id": event["userId"],
        "email": traits["email"],
        "name": traits["name"],
        "last_seen_at": _unix(event["timestamp"]),
        "role": "user",
    }


def test_an_identify_without_user_id_searches_by_email() -> None:
    event = spec_event("lifecycle", type="identify")
    del event["userId"]
    search, create = run_preset(INTERCOM, event)
    assert search["body"]["query"] == {
        "field": "email",
        "operator": "=",
        "value": event["traits"]["email"],
    }
    assert "external_id" not in create["body"]


def test_group_creates_the_company_from_group_traits() -> None:
    event = spec_event("lifecycle", type="group")
    search, company = run_preset(INTERCOM, event)
    assert search["body"]["query"]["value"] == event["userId"]
    traits = event["traits"]
    assert (company["method"], company["url"]) == ("POST", "https://api.intercom.io/companies")
    # Neither the email nor the user id is a company field; employees is the company's size.
    assert company["body"] == {
        "company_id": event["groupId"],
        "name": traits["name"],
        "plan": traits["plan"],
        "size": traits["employees"],
        "industry": traits["industry"],
    }


def test_a_track_with_revenue_sends_the_price_in_cents() -> None:
    event = spec_event("ecommerce", "Order Completed")
    [sent] = run_preset(INTERCOM, event)
    assert (sent["method"], sent["url"]) == ("POST", "https://api.intercom.io/events")
    body = sent["body"]
    assert body["event_name"] == "Order Completed"
    assert body["created_at"] == _unix(event["timestamp"])
    assert body["user_id"] == event["userId"]
    properties = event["properties"]
    assert body["metadata"] == {
        **{key: value for key, value in properties.items() if key not in ("revenue", "currency")},
        "price": {"amount": 2250, "currency": "USD"},
    }
    assert properties["revenue"] == 22.5


def test_a_track_known_only_by_email_finds_no_contact_and_fails_like_a_404() -> None:
    event = spec_event("lifecycle", "Signed Up")
    del event["userId"]
    with pytest.raises(IntegrationError, match=r"^No unique contact found$") as refused:
        run_preset(INTERCOM, event)
    assert refused.value.status == 404


def test_an_invalid_email_fails_the_email_format() -> None:
    event = spec_event("lifecycle", type="identify")
    event["traits"]["email"] = "peter at example"
    with pytest.raises(
        PayloadValidationError,
        match=r"^The value at /email must be a valid "
        r"email address string but it was not\.$",
    ):
        run_preset(INTERCOM, event)


@pytest.mark.parametrize("name", ["ecommerce", "lifecycle", "video"])
def test_each_call_type_reaches_its_action(name: str) -> None:
    actions = [compile_action(action) for action in INTERCOM.actions]
    by_type = {
        "identify": ["Identify Contact"],
        "group": ["Identify Company"],
        "track": ["Track Event"],
        "page": [],
        "screen": [],
        "alias": [],
    }
    for event in spec_events(name):
        assert [
            compiled.action.name for compiled in actions if compiled.subscribed(event)
        ] == by_type[event["type"]]
