"""Google Ads Conversions: what the Google Ads API (googleads.googleapis.com) receives.

Sources (segmentio/action-destinations, packages/destination-actions/src/destinations/
google-enhanced-conversions):
- index.ts: settings customerId (the Google Ads account, XXX-XXX-XXXX) and loginCustomerId (a
  manager account, sent as the `login-customer-id` header without dashes); OAuth, so every
  request carries `authorization: Bearer {accessToken}`; the definition's presets are only the
  browser plugin (Session Attributes Encoded) and Engage/Journeys events, none for a source's
  calls;
- uploadClickConversion/index.ts: Upload Click Conversion, POST
  /customers/{id}:uploadClickConversions `{conversions: [...], partialFailure: true}`: the
  conversion action's resource name, the timestamp in Google's format, order id, value,
  currency, cart data from the products, session attributes, and the user's email and phone
  hashed;
- uploadConversionAdjustment/index.ts: Upload Conversion Adjustment, POST
  /customers/{id}:uploadConversionAdjustments `{conversionAdjustments: [...]}`, with hashed
  names and street and the address in clear; no restatement value for a RETRACTION;
- uploadCallConversion/index.ts: Upload Call Conversion, POST
  /customers/{id}:uploadCallConversions (caller id and call time, no default mapping);
- functions.ts: convertTimestamp (`T` to a space, `.sss Z` to `+00:00`), commonEmailValidation
  (lower case, trimmed, the first dot of a gmail/googlemail local part removed, then the email
  format), formatPhone/formatToE164 (digits, the country code, default +1, prefixed with `+`),
  getSessionAttributesKeyValuePairs, and the customer id check; lib/hashing-utils.ts
  processHashing (a SHA-256 digest is kept as it is);
- versioning-info.ts: API version v22.
Doc page: segment-docs src/connections/destinations/catalog/actions-google-enhanced-conversions/
index.md.

Choices: none of the three actions has a default subscription or a default conversion action
(it is picked from the account in Segment's UI). segemu maps Upload Click Conversion to Order
Completed and Upload Conversion Adjustment to Order Refunded (a RETRACTION), both with the
placeholder conversion action 123456789. Upload Call Conversion needs a caller id and call time
that no spec event carries: it is in ACTIONS (at `type = "track"`, refused until mapped), not in
the preset. Custom variables need their ids from the account (a search request to Google), which
segemu's Google Ads does not hold: a custom_variables mapping is left out of the request.
Batching is off by default (enable_batching false), so each call is its own request.
Subscriptions use the FQL segemu parses today (`and`, `=`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from segemu.destinations.base import Request
from segemu.destinations.presets._fields import (
    ActionSpec,
    Field,
    catalog,
    either,
    f,
    is_email,
    path,
    preset,
)
from segemu.destinations.presets._hashing import process_hashing
from segemu.destinations.presets._support import (
    MISSING,
    PayloadValidationError,
    defined,
    epoch_ms,
    iso_string,
    parse_date,
    request,
    truthy,
)

API_VERSION = "v22"
_CONSENT = ("GRANTED", "DENIED", "UNSPECIFIED")
_BATCH_SIZE = 1500  # constants.ts GOOGLE_ENHANCED_CONVERSIONS_BATCH_SIZE
_GOOGLE_MAIL = re.compile(r"^(gmail|googlemail).s*")


def convert_timestamp(value: Any) -> Any:
    """functions.ts convertTimestamp: "2025-05-11T17:24:17.889Z" -> "2025-05-11 17:24:17+00:00".
    Only the first `T` and the first `.sss Z` are replaced, as String.replace does."""
    if not truthy(value):
        return MISSING
    text = re.sub(r"T", " ", str(value), count=1)
    return re.sub(r"(\.\d+)?Z", "+00:00", text, count=1)


def normalized_email(email: str) -> str:
    """functions.ts commonEmailValidation."""
    normalized = email.lower().strip()
    parts = normalized.split("@")
    if len(parts) > 1 and _GOOGLE_MAIL.match(parts[1]):
        normalized = f"{parts[0].replace('.', '', 1)}@{parts[1]}"
    if not is_email(normalized):
        raise PayloadValidationError("Email provided doesn't seem to be in a valid format.")
    return normalized


def e164(phone: str, country_code: str | None) -> str:
    """functions.ts formatToE164, what formatPhone does without its validation flag."""
    digits = re.sub(r"\D", "", phone)
    code = re.sub(r"\D", "", country_code if country_code is not None else "+1")
    formatted = digits if digits.startswith(code) else code + digits
    return formatted if formatted.startswith("+") else "+" + formatted


def _customer_id(settings: Mapping[str, Any]) -> str:
    customer = settings.get("customerId")
    if not truthy(customer):
        raise PayloadValidationError(
            "Customer ID is required for this action. Please set it in destination settings."
        )
    return str(customer).replace("-", "")


def _send(
    title: str, method: str, key: str, item: dict[str, Any], settings: Mapping[str, Any]
) -> list[Request]:
    customer = _customer_id(settings)
    login = str(settings.get("loginCustomerId") or "").strip().replace("-", "")
    headers = {
        "authorization": f"Bearer {settings.get('accessToken', '')}",
        **({"login-customer-id": login} if login else {}),
        # Segment's own developer token (process.env.ADWORDS_DEVELOPER_TOKEN).
        "developer-token": str(settings.get("developerToken", "")),
    }
    url = f"https://googleads.googleapis.com/{API_VERSION}/customers/{customer}:{method}"
    return [request(title, "POST", url, {key: [item], "partialFailure": True}, headers)]


def _consent(payload: Mapping[str, Any]) -> dict[str, Any]:
    consent = defined(
        {
            "adUserData": payload.get("ad_user_data_consent_state") or MISSING,
            "adPersonalization": payload.get("ad_personalization_consent_state") or MISSING,
        }
    )
    return {"consent": consent} if consent else {}


def _email_and_phone(payload: Mapping[str, Any]) -> list[dict[str, Any]]:
    identifiers: list[dict[str, Any]] = []
    if truthy(payload.get("email_address")):
        identifiers.append(
            {"hashedEmail": process_hashing(payload["email_address"], normalized_email)}
        )
    if truthy(payload.get("phone_number")):
        code = payload.get("phone_country_code")
        identifiers.append(
            {
                "hashedPhoneNumber": process_hashing(
                    payload["phone_number"], lambda phone: e164(phone, code)
                )
            }
        )
    return identifiers


def _session_pairs(payload: Mapping[str, Any]) -> dict[str, Any]:
    """functions.ts getSessionAttributesKeyValuePairs."""
    given = payload.get("session_attributes_key_value_pairs") or {}
    start = given.get("session_start_time_usec")
    moment = parse_date(start) if isinstance(start, str) else None
    values = {
        "gad_source": given.get("gad_source"),
        "gad_campaignid": given.get("gad_campaignid"),
        "landing_page_url": given.get("landing_page_url"),
        "session_start_time_usec": str(epoch_ms(moment) * 1000) if moment else None,
        "landing_page_referrer": given.get("landing_page_referrer"),
        "landing_page_user_agent": given.get("landing_page_user_agent"),
    }
    pairs = [
        {"sessionAttributeKey": key, "sessionAttributeValue": value}
        for key, value in values.items()
        if value not in (None, "")
    ]
    return {"sessionAttributesKeyValuePairs": {"keyValuePairs": pairs}} if pairs else {}


def _conversion_action(payload: Mapping[str, Any], settings: Mapping[str, Any]) -> str:
    number = payload["conversion_action"]
    shown = int(number) if isinstance(number, float) and number.is_integer() else number
    return f"customers/{_customer_id(settings)}/conversionActions/{shown}"


def _upload_click(payload: dict[str, Any], settings: Mapping[str, Any]) -> list[Request]:
    encoded = payload.get("session_attributes_encoded")
    items = [
        defined(
            {
                "productId": item.get("product_id", MISSING),
                "quantity": item.get("quantity", MISSING),
                "unitPrice": item.get("price", MISSING),
            }
        )
        for item in payload.get("items") or []
    ]
    conversion = defined(
        {
            "conversionAction": _conversion_action(payload, settings),
            "conversionDateTime": convert_timestamp(payload.get("conversion_timestamp")),
            "gclid": payload.get("gclid", MISSING),
            "gbraid": payload.get("gbraid", MISSING),
            "wbraid": payload.get("wbraid", MISSING),
            **(
                {"userIpAddress": payload["user_ip_address"]}
                if payload.get("user_ip_address")
                else {}
            ),
            **({"sessionAttributesEncoded": encoded} if encoded else _session_pairs(payload)),
            "orderId": payload.get("order_id", MISSING),
            "conversionValue": payload.get("value", MISSING),
            "currencyCode": payload.get("currency", MISSING),
            "conversionEnvironment": payload.get("conversion_environment", MISSING),
            "cartData": defined(
                {
                    "merchantId": payload.get("merchant_id", MISSING),
                    "feedCountryCode": payload.get("merchant_country_code", MISSING),
                    "feedLanguageCode": payload.get("merchant_language_code", MISSING),
                    "localTransactionCost": payload.get("local_cost", MISSING),
                    "items": items,
                }
            ),
            "userIdentifiers": _email_and_phone(payload),
            **_consent(payload),
        }
    )
    return _send(
        "Upload Click Conversion", "uploadClickConversions", "conversions", conversion, settings
    )


def _upload_adjustment(payload: dict[str, Any], settings: Mapping[str, Any]) -> list[Request]:
    # perform: no adjustment timestamp falls back on the current time.
    at = payload.get("adjustment_timestamp") or iso_string(datetime.now(UTC))
    identifiers = _email_and_phone(payload)
    address_keys = (
        "first_name",
        "last_name",
        "city",
        "state",
        "country",
        "postal_code",
        "street_address",
    )
    if any(truthy(payload.get(key)) for key in address_keys):

        def hashed(key: str) -> Any:
            value = payload.get(key)
            return process_hashing(value) if isinstance(value, str) and value else MISSING

        identifiers.append(
            {
                "addressInfo": defined(
                    {
                        "hashedFirstName": hashed("first_name"),
                        "hashedLastName": hashed("last_name"),
                        "hashedStreetAddress": hashed("street_address"),
                        "city": payload.get("city", MISSING),
                        "state": payload.get("state", MISSING),
                        "countryCode": payload.get("country", MISSING),
                        "postalCode": payload.get("postal_code", MISSING),
                    }
                )
            }
        )
    adjustment = defined(
        {
            "conversionAction": _conversion_action(payload, settings),
            "adjustmentType": payload["adjustment_type"],
            "adjustmentDateTime": convert_timestamp(at),
            "orderId": payload.get("order_id", MISSING),
            "gclidDateTimePair": defined(
                {
                    "gclid": payload.get("gclid", MISSING),
                    "conversionDateTime": convert_timestamp(payload.get("conversion_timestamp")),
                }
            ),
            "userIdentifiers": identifiers,
            "userAgent": payload.get("user_agent", MISSING),
        }
    )
    # Google refuses a restatement value on a retraction.
    if payload["adjustment_type"] != "RETRACTION":
        adjustment["restatementValue"] = defined(
            {
                "adjustedValue": payload.get("restatement_value", MISSING),
                "currencyCode": payload.get("restatement_currency_code", MISSING),
            }
        )
    return _send(
        "Upload Conversion Adjustment",
        "uploadConversionAdjustments",
        "conversionAdjustments",
        adjustment,
        settings,
    )


def _upload_call(payload: dict[str, Any], settings: Mapping[str, Any]) -> list[Request]:
    conversion = defined(
        {
            "conversionAction": _conversion_action(payload, settings),
            "callerId": payload["caller_id"],
            "callStartDateTime": convert_timestamp(payload["call_timestamp"]),
            "conversionDateTime": convert_timestamp(payload["conversion_timestamp"]),
            "conversionValue": payload.get("value", MISSING),
            "currencyCode": payload.get("currency", MISSING),
            **_consent(payload),
        }
    )
    return _send(
        "Upload Call Conversion", "uploadCallConversions", "conversions", conversion, settings
    )


_EMAIL = f("string", either("$.properties.email", "$.context.traits.email"))
_PHONE = f("string", either("$.properties.phone", "$.context.traits.phone"))
_ORDER_ID = f("string", either("$.properties.orderId", "$.properties.order_id"))
_CONVERSION_ACTION = f("number", required=True)
_CONSENT_FIELDS = {
    "ad_user_data_consent_state": f("string", choices=_CONSENT),
    "ad_personalization_consent_state": f("string", choices=_CONSENT),
}
_BATCHING = {"enable_batching": f("boolean", False), "batch_size": f("number", _BATCH_SIZE)}


def _address(key: str, trait: str) -> dict[str, Any]:
    # The definition's defaults read `$.properties.address.city,` (with the comma), a path no
    # event has: in practice the address comes from context.traits.
    return either(f"$.properties.address.{key},", f"$.context.traits.address.{trait}")


UPLOAD_CLICK_CONVERSION = ActionSpec(
    "uploadClickConversion",
    "Upload Click Conversion",
    {
        "conversion_action": _CONVERSION_ACTION,
        "gclid": f("string"),
        "gbraid": f("string"),
        "wbraid": f("string"),
        "user_ip_address": f("string", path("$.context.ip")),
        "session_attributes_encoded": f(
            "string", path("$.integrations.Google Ads Conversions.session_attributes_encoded")
        ),
        "session_attributes_key_value_pairs": Field(
            "object",
            {
                "gad_source": path("$.properties.gad_source"),
                "gad_campaignid": path("$.properties.gad_campaignid"),
                "landing_page_url": path("$.context.page.url"),
                "session_start_time_usec": path("$.properties.session_start_time_usec"),
                "landing_page_referrer": path("$.context.page.referrer"),
                "landing_page_user_agent": path("$.context.userAgent"),
            },
            properties={
                "gad_source": f("string"),
                "gad_campaignid": f("string"),
                "landing_page_url": f("string"),
                "session_start_time_usec": f("string", format="date-time"),
                "landing_page_referrer": f("string"),
                "landing_page_user_agent": f("string"),
            },
        ),
        "conversion_timestamp": f("string", path("$.timestamp"), required=True),
        "email_address": _EMAIL,
        "phone_country_code": f("string"),
        "phone_number": _PHONE,
        "order_id": _ORDER_ID,
        "value": f("number", path("$.properties.total")),
        "currency": f("string", path("$.properties.currency")),
        "conversion_environment": f("string", choices=("APP", "WEB", "UNSPECIFIED")),
        "merchant_id": f("string"),
        "merchant_country_code": f("string"),
        "merchant_language_code": f("string"),
        "local_cost": f("number"),
        "items": Field(
            "object",
            {
                "@arrayPath": [
                    "$.properties.products",
                    {
                        "product_id": path("$.product_id"),
                        "quantity": path("$.quantity"),
                        "price": path("$.price"),
                    },
                ]
            },
            multiple=True,
            properties={
                "product_id": f("string"),
                "quantity": f("number"),
                "price": f("number"),
            },
        ),
        "custom_variables": f("object", additional_properties=True),
        **_CONSENT_FIELDS,
        **_BATCHING,
    },
    _upload_click,
    # No default subscription in the definition: segemu's choice, as above.
    'type = "track" and event = "Order Completed"',
)
UPLOAD_CONVERSION_ADJUSTMENT = ActionSpec(
    "uploadConversionAdjustment",
    "Upload Conversion Adjustment",
    {
        "conversion_action": _CONVERSION_ACTION,
        "adjustment_type": f(
            "string",
            required=True,
            choices=("UNSPECIFIED", "UNKNOWN", "RETRACTION", "RESTATEMENT", "ENHANCEMENT"),
        ),
        "adjustment_timestamp": f("string", path("$.timestamp")),
        "order_id": _ORDER_ID,
        "gclid": f("string"),
        "conversion_timestamp": f("string"),
        "restatement_value": f("number"),
        "restatement_currency_code": f("string"),
        "email_address": _EMAIL,
        "phone_country_code": f("string"),
        "phone_number": _PHONE,
        "first_name": f("string", either("$.properties.firstName", "$.context.traits.firstName")),
        "last_name": f("string", either("$.properties.lastName", "$.context.traits.lastName")),
        "city": f("string", _address("city", "city")),
        "state": f("string", _address("state", "state")),
        "country": f("string", _address("country", "country")),
        "postal_code": f("string", _address("postalCode", "postalCode")),
        "street_address": f("string", _address("street", "street")),
        "user_agent": f("string", path("$.context.userAgent")),
        **_BATCHING,
    },
    _upload_adjustment,
    'type = "track" and event = "Order Refunded"',
)
UPLOAD_CALL_CONVERSION = ActionSpec(
    "uploadCallConversion",
    "Upload Call Conversion",
    {
        "conversion_action": _CONVERSION_ACTION,
        "caller_id": f("string", required=True),
        "call_timestamp": f("string", required=True),
        "conversion_timestamp": f("string", path("$.timestamp"), required=True),
        "value": f("number", path("$.properties.total")),
        "currency": f("string", path("$.properties.currency")),
        "custom_variables": f("object", additional_properties=True),
        **_CONSENT_FIELDS,
        **_BATCHING,
    },
    _upload_call,
    'type = "track"',
)

# The conversion action is chosen from the account in Segment's UI; a placeholder here.
PLACEHOLDER_CONVERSION_ACTION = 123456789

PRESET = preset(
    slug="google-ads-conversions",
    name="Google Ads Conversions",
    # index.ts: the name the destination was created under, which its own session attributes
    # default reads in the integrations object.
    aliases=("Google Ads Conversions",),
    actions=(
        UPLOAD_CLICK_CONVERSION.action(
            mapping={"conversion_action": PLACEHOLDER_CONVERSION_ACTION}
        ),
        UPLOAD_CONVERSION_ADJUSTMENT.action(
            mapping={
                "conversion_action": PLACEHOLDER_CONVERSION_ACTION,
                "adjustment_type": "RETRACTION",
            }
        ),
    ),
    settings={
        "customerId": "123-456-7890",
        "accessToken": "segemu-google-ads-access-token",
        "developerToken": "segemu-google-ads-developer-token",
    },
    sources=(
        "action-destinations packages/destination-actions/src/destinations/"
        "google-enhanced-conversions/",
        "segment-docs src/connections/destinations/catalog/"
        "actions-google-enhanced-conversions/index.md",
    ),
)

ACTIONS = catalog(
    PRESET.settings, UPLOAD_CLICK_CONVERSION, UPLOAD_CONVERSION_ADJUSTMENT, UPLOAD_CALL_CONVERSION
)
