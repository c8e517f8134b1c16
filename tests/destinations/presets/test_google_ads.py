"""Google Ads Conversions against the Segment spec events: what googleads.googleapis.com would
receive.

Expected shapes come from action-destinations src/destinations/google-enhanced-conversions
(index.ts, uploadClickConversion/index.ts, uploadConversionAdjustment/index.ts,
uploadCallConversion/index.ts, functions.ts, versioning-info.ts, lib/hashing-utils.ts)."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import pytest

from segemu.destinations.engine import compile_action, run_preset
from segemu.destinations.presets import ACTIONS, PRESETS
from segemu.destinations.presets._support import PayloadValidationError
from segemu.destinations.presets.google_ads import convert_timestamp, e164, normalized_email
from tests.destinations.presets.spec import spec_event

GOOGLE_ADS = PRESETS["google-ads-conversions"]
BASE = "https://googleads.googleapis.com/v22/customers/1234567890"
HEADERS = {
    "Content-Type": "application/json",
    "authorization": "Bearer segemu-google-ads-access-token",
    "developer-token": "segemu-google-ads-developer-token",
}


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_order_completed_is_a_click_conversion_with_cart_data_and_session_attributes() -> None:
    event = spec_event("ecommerce", "Order Completed")
    [sent] = run_preset(GOOGLE_ADS, event)
    assert (sent["action"], sent["method"], sent["url"]) == (
        "Upload Click Conversion",
        "POST",
        f"{BASE}:uploadClickConversions",
    )
    assert sent["headers"] == HEADERS
    properties = event["properties"]
    first, second = properties["products"]
    page = event["context"]["page"]
    assert event["timestamp"] == "2025-05-11T17:24:17.889Z"
    assert sent["body"] == {
        "conversions": [
            {
                "conversionAction": "customers/1234567890/conversionActions/123456789",
                "conversionDateTime": "2025-05-11 17:24:17+00:00",
                "sessionAttributesKeyValuePairs": {
                    "keyValuePairs": [
                        {
                            "sessionAttributeKey": "landing_page_url",
                            "sessionAttributeValue": page["url"],
                        },
                        {
                            "sessionAttributeKey": "landing_page_referrer",
                            "sessionAttributeValue": page["referrer"],
                        },
                        {
                            "sessionAttributeKey": "landing_page_user_agent",
                            "sessionAttributeValue": event["context"]["userAgent"],
                        },
                    ]
                },
                "orderId": properties["order_id"],
                "conversionValue": properties["total"],
                "currencyCode": "USD",
                "cartData": {
                    "items": [
                        {"productId": first["product_id"], "quantity": 1, "unitPrice": 19},
                        {"productId": second["product_id"], "quantity": 2, "unitPrice": 3},
                    ]
                },
                # No email or phone in the spec event: no user identifiers.
                "userIdentifiers": [],
            }
        ],
        "partialFailure": True,
    }


def test_identify_and_page_are_not_subscribed_and_are_filtered() -> None:
    assert run_preset(GOOGLE_ADS, spec_event("lifecycle", type="identify")) == []
    assert run_preset(GOOGLE_ADS, spec_event("lifecycle", type="page")) == []


def test_user_identifiers_are_normalized_then_hashed_and_a_manager_account_is_a_header() -> None:
    event = spec_event("ecommerce", "Order Completed")
    event["context"]["traits"] = {"email": " Jane.Doe@GMail.com ", "phone": "(415) 555-0100"}
    event["context"]["ip"] = "203.0.113.9"
    [sent] = run_preset(GOOGLE_ADS, event, {"loginCustomerId": " 111-222-3333 "})
    assert sent["headers"]["login-customer-id"] == "1112223333"
    [conversion] = sent["body"]["conversions"]
    assert conversion["userIpAddress"] == "203.0.113.9"
    assert conversion["userIdentifiers"] == [
        {"hashedEmail": _sha256("janedoe@gmail.com")},
        {"hashedPhoneNumber": _sha256("+14155550100")},
    ]
    # A digest is sent as it is.
    digest = _sha256("someone@example.com")
    event["context"]["traits"] = {"email": digest}
    [sent] = run_preset(GOOGLE_ADS, event)
    assert sent["body"]["conversions"][0]["userIdentifiers"] == [{"hashedEmail": digest}]


def test_order_refunded_is_a_retraction_without_restatement_value() -> None:
    event = spec_event("ecommerce", "Order Refunded")
    event["context"]["traits"] = {
        "firstName": "Jane",
        "address": {"city": "Austin", "state": "TX", "country": "US", "postalCode": "78701"},
    }
    [sent] = run_preset(GOOGLE_ADS, event)
    assert sent["url"] == f"{BASE}:uploadConversionAdjustments"
    assert sent["body"] == {
        "conversionAdjustments": [
            {
                "conversionAction": "customers/1234567890/conversionActions/123456789",
                "adjustmentType": "RETRACTION",
                "adjustmentDateTime": convert_timestamp(event["timestamp"]),
                "orderId": event["properties"]["order_id"],
                "gclidDateTimePair": {},
                "userIdentifiers": [
                    {
                        "addressInfo": {
                            "hashedFirstName": _sha256("Jane"),
                            "city": "Austin",
                            "state": "TX",
                            "countryCode": "US",
                            "postalCode": "78701",
                        }
                    }
                ],
                "userAgent": event["context"]["userAgent"],
            }
        ],
        "partialFailure": True,
    }


def test_call_conversion_needs_its_caller_mapped_and_then_uploads() -> None:
    upload_call = ACTIONS["google-ads-conversions"]["uploadCallConversion"]
    event = spec_event("ecommerce", "Order Completed")
    with pytest.raises(PayloadValidationError, match="required field 'conversion_action'"):
        compile_action(upload_call).run(event, GOOGLE_ADS.settings)
    event["properties"].update(
        {"caller_id": "+14155550100", "call_at": "2025-05-11T17:00:00Z", "action": 42}
    )
    mapped = replace(
        upload_call,
        mapping={
            **upload_call.mapping,
            "conversion_action": {"@path": "$.properties.action"},
            "caller_id": {"@path": "$.properties.caller_id"},
            "call_timestamp": {"@path": "$.properties.call_at"},
        },
    )
    [sent] = compile_action(mapped).run(event, GOOGLE_ADS.settings)
    assert sent["url"] == f"{BASE}:uploadCallConversions"
    assert sent["body"]["conversions"] == [
        {
            "conversionAction": "customers/1234567890/conversionActions/42",
            "callerId": "+14155550100",
            "callStartDateTime": "2025-05-11 17:00:00+00:00",
            "conversionDateTime": "2025-05-11 17:24:17+00:00",
            "conversionValue": 27.5,
            "currencyCode": "USD",
        }
    ]


def test_without_a_customer_id_the_upload_is_refused() -> None:
    with pytest.raises(PayloadValidationError, match=r"^Customer ID is required for this action"):
        run_preset(GOOGLE_ADS, spec_event("ecommerce", "Order Completed"), {"customerId": ""})


def test_helpers_follow_functions_ts() -> None:
    assert convert_timestamp("2019-01-01T12:32:45-08:00") == "2019-01-01 12:32:45-08:00"
    assert normalized_email("A.B.C@googlemail.com") == "ab.c@googlemail.com"
    assert e164("44 20 7031 3000", "+44") == "+442070313000"
    assert e164("020 7031 3000", "44") == "+4402070313000"
    with pytest.raises(PayloadValidationError, match="doesn't seem to be in a valid format"):
        normalized_email("not an email")
