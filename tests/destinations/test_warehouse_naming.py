"""Each naming rule of Segment's warehouse schema, on crafted events: a case the rule applies to
and a near case it leaves alone. The rules and their sources are in
segemu/destinations/warehouse_naming.py and warehouse_rows.py."""

from __future__ import annotations

from typing import Any

import pytest

from segemu.destinations.engine import run_preset
from segemu.destinations.warehouse import WAREHOUSE
from segemu.destinations.warehouse_naming import schema_name, snake_case


def track(
    properties: dict[str, Any],
    event: str = "Order Completed",
    context: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "type": "track",
        "event": event,
        "properties": properties,
        "messageId": "m-1",
        "anonymousId": "anon-1",
        "receivedAt": "2025-01-01T00:00:00.000Z",
        "timestamp": "2025-01-01T00:00:00.000Z",
        "originalTimestamp": "2025-01-01T00:00:00.000Z",
        "context": context if context is not None else {"ip": "203.0.113.9"},
        "integrations": {},
        "channel": "server",
        "version": 2,
    }


def custom_columns(properties: dict[str, Any], **context: Any) -> dict[str, Any]:
    """The columns the properties added to the event's own table."""
    [tracks, own] = run_preset(
        WAREHOUSE, track(properties, context=context or None), {"schema": "s"}
    )
    return {column: value for column, value in own["body"].items() if column not in tracks["body"]}


# segmentio/go-snakecase snake_test.go: its whole test table. schema.md names that package as
# the one every warehouse name goes through.
GO_SNAKECASE_SAMPLES = [
    ("@49L0S145_¬fwHƒ0TSLNVp", "49l0s145_fw_h_0tslnvp"),
    ("lk0B@bFmjrLQ_Z6YL", "lk0_b_b_fmjr_lq_z6yl"),
    ("samPLE text", "sam_ple_text"),
    ("sample text", "sample_text"),
    ("sample-text", "sample_text"),
    ("sample_text", "sample_text"),
    ("sample___text", "sample_text"),
    ("sampleText", "sample_text"),
    ("inviteYourCustomersAddInvites", "invite_your_customers_add_invites"),
    ("sample 2 Text", "sample_2_text"),
    ("   sample   2    Text   ", "sample_2_text"),
    ("   $#$sample   2    Text   ", "sample_2_text"),
    ("SAMPLE 2 TEXT", "sample_2_text"),
    ("___$$Base64Encode", "base64_encode"),
    ("FOO:BAR$BAZ", "foo_bar_baz"),
    ("FOO#BAR#BAZ", "foo_bar_baz"),
    ("something.com", "something_com"),
    ("$something%", "something"),
    ("•¶§ƒ˚foo˙∆˚¬", "foo"),
    ("CStringRef", "cstring_ref"),
    ("5test", "5test"),
    ("test5", "test5"),
    ("THE5r", "the5r"),
    ("5TEst", "5test"),
    ("_5TEst", "5test"),
    ("@%#&5TEst", "5test"),
    ("edf_6N", "edf_6n"),
    ("f_pX9", "f_p_x9"),
    ("p_z9Rg", "p_z9_rg"),
    ("2FA Enabled", "2fa_enabled"),
    ("Enabled 2FA", "enabled_2fa"),
]


@pytest.mark.parametrize(("text", "expected"), GO_SNAKECASE_SAMPLES)
def test_snake_case_matches_go_snakecase_test_table(text: str, expected: str) -> None:
    assert snake_case(text) == expected


@pytest.mark.parametrize(
    ("properties", "expected"),
    [
        # schema.md §Tracks vs. Events Tables: accountType → account_type. Near: already snake.
        ({"accountType": "Facebook"}, {"account_type": "Facebook"}),
        ({"account_type": "Facebook"}, {"account_type": "Facebook"}),
        ({"Feed Type": "private"}, {"feed_type": "private"}),
        # redshift-faq.md §Reserved words: `_open`. Near: a word that merely contains one.
        ({"open": True}, {"_open": True}),
        ({"opened": True}, {"opened": True}),
        ({"order": 3}, {"_order": 3}),
        ({"orders": 3}, {"orders": 3}),
        # redshift/index.md: a name starting with a digit gets `_`. Near: a digit inside.
        ({"3d_view": "yes"}, {"_3d_view": "yes"}),
        ({"view_3d": "yes"}, {"view_3d": "yes"}),
        # redshift/index.md: properties that conflict with Segment's own fields (userId,
        # receivedAt, messageId's `id`) are `_`-prefixed. Near: names Segment has no column for.
        ({"userId": "u-9"}, {"_user_id": "u-9"}),
        ({"user_ids": "u-9"}, {"user_ids": "u-9"}),
        ({"receivedAt": "then"}, {"_received_at": "then"}),
        ({"id": 7}, {"_id": 7}),
        ({"ids": 7}, {"ids": 7}),
        ({"event": "birthday", "type": "cake"}, {"_event": "birthday", "type": "cake"}),
        # schema.md §Properties: nested objects are flattened. Near: an empty object has nothing.
        ({"product_id": {"sku": "G-32"}}, {"product_id_sku": "G-32"}),
        ({"product_id": {}}, {}),
        (
            {"address": {"postalCode": "94103", "geo": {"lat": 1.5}}},
            {"address_postal_code": "94103", "address_geo_lat": 1.5},
        ),
        # schema.md §Array (String): arrays are stringified. Near: a string stays as it is.
        ({"product_id": ["507f1", "505bd"]}, {"product_id": '["507f1","505bd"]'}),
        ({"product_id": "507f1"}, {"product_id": "507f1"}),
        (
            {"filters": [{"type": "price"}], "empty": []},
            {"filters": '[{"type":"price"}]', "empty": "[]"},
        ),
        # schema.md: a column is only populated with a non-null value. Near: falsy values stay.
        ({"coupon": None, "nested": {"a": None}}, {}),
        (
            {"coupon": "", "discount": 0, "gift": False},
            {"coupon": "", "discount": 0, "gift": False},
        ),
        # No letter or digit survives snake_case: no column. Near: one letter does.
        ({"$$$": 1}, {}),
        ({"$$$a": 1}, {"a": 1}),
    ],
)
def test_property_columns(properties: dict[str, Any], expected: dict[str, Any]) -> None:
    assert custom_columns(properties) == expected


def test_property_colliding_with_a_context_column_gets_a_prefix() -> None:
    # redshift/index.md: names that conflict with Segment's fields are prefixed; the context
    # columns are Segment's. Near: a context_ name with no such context column.
    assert custom_columns({"context_ip": "10.0.0.1"}, ip="203.0.113.9") == {
        "_context_ip": "10.0.0.1"
    }
    assert custom_columns({"context_menu": "open"}, ip="203.0.113.9") == {"context_menu": "open"}


def test_two_keys_with_one_column_name_keep_the_later_value() -> None:
    assert custom_columns({"firstName": "Ada", "first_name": "Grace"}) == {"first_name": "Grace"}


def test_long_names_are_cut_to_127_characters() -> None:
    # Redshift identifiers hold at most 127 bytes (segemu's choice, see warehouse_naming.py).
    assert custom_columns({"a" * 130: 1}) == {"a" * 127: 1}
    assert custom_columns({"b" * 127: 1}) == {"b" * 127: 1}
    assert custom_columns({"outer": {"c" * 126: 1}}) == {("outer_" + "c" * 126)[:127]: 1}


def test_long_strings_are_cut_to_512_characters() -> None:
    # schema.md §Column Sizing: "truncate longer strings" at 512 characters.
    assert custom_columns({"note": "x" * 600}) == {"note": "x" * 512}
    assert custom_columns({"note": "y" * 512}) == {"note": "y" * 512}
    assert len(custom_columns({"tags": ["z" * 300, "z" * 300]})["tags"]) == 512


@pytest.mark.parametrize(
    ("context", "expected"),
    [
        # schema.md §Context: context.app.version → context_app_version.
        ({"app": {"version": "1.0.0"}}, {"context_app_version": "1.0.0"}),
        ({"locale": "en-US"}, {"context_locale": "en-US"}),
        ({"userAgent": "Mozilla/5.0"}, {"context_user_agent": "Mozilla/5.0"}),
        # schema.md: context.field.nestedA.nestedB → one column, in snake_case.
        ({"field": {"nestedA": {"nestedB": 1}}}, {"context_field_nested_a_nested_b": 1}),
        # schema.md: context fields holding an array are stringified.
        (
            {"userAgentData": {"brands": [{"brand": "Chromium"}], "mobile": False}},
            {
                "context_user_agent_data_brands": '[{"brand":"Chromium"}]',
                "context_user_agent_data_mobile": False,
            },
        ),
        (
            {"traits": {"email": "a@example.com"}, "campaign": {"utm": None}},
            {"context_traits_email": "a@example.com"},
        ),
    ],
)
def test_context_columns(context: dict[str, Any], expected: dict[str, Any]) -> None:
    [tracks, _] = run_preset(WAREHOUSE, track({}, context=context))
    assert {
        column: value for column, value in tracks["body"].items() if column.startswith("context_")
    } == expected


@pytest.mark.parametrize(
    ("event", "table"),
    [
        ("Order Completed", "order_completed"),
        ("order_completed", "order_completed"),
        ("Clocked In", "clocked_in"),
        ("Register", "register"),
        # redshift/index.md: a table name starting with a digit gets `_` (`_101_account_update`
        # in data-lakes/comparison.md). Near: the digit at the end.
        ("101 Account Update", "_101_account_update"),
        ("Account Update 101", "account_update_101"),
        # Reserved words (redshift-faq.md). Near: a longer name.
        ("Open", "_open"),
        ("Opened", "opened"),
        # An event named like one of Segment's own tables would write into it: prefixed too.
        ("Pages", "_pages"),
        ("Page Viewed", "page_viewed"),
    ],
)
def test_event_tables(event: str, table: str) -> None:
    tracks, own = run_preset(WAREHOUSE, track({"plan": "pro"}, event=event), {"schema": "s"})
    assert own["url"] == f"warehouse://s.{table}"
    # schema.md: `event` is the slug that maps to the event's table; event_text the name.
    assert (tracks["body"]["event"], tracks["body"]["event_text"]) == (table, event)
    assert own["body"]["plan"] == "pro"


def test_event_name_without_letters_has_a_tracks_row_only() -> None:
    [tracks] = run_preset(WAREHOUSE, track({"plan": "pro"}, event="¡¿!"))
    assert tracks["body"]["event_text"] == "¡¿!"
    assert "event" not in tracks["body"]


@pytest.mark.parametrize(
    ("source", "schema"),
    [
        # sources catalog pages: "the source name `Customer.io` creates the schema `customerio`".
        ("Customer.io", "customerio"),
        ("AutopilotHQ", "autopilothq"),
        ("web", "web"),
        ("My Web-App", "my_web_app"),
        # redshift/index.md: "A source named `3doctors` is loaded into ... `_3doctors`".
        ("3doctors", "_3doctors"),
        ("doctors3", "doctors3"),
        # segemu's catch-all source is named "default", a reserved word.
        ("default", "_default"),
    ],
)
def test_schema_derived_from_the_source_name(source: str, schema: str) -> None:
    assert schema_name(source) == schema
    [tracks, _] = run_preset(WAREHOUSE, track({}), {"source": source})
    assert tracks["url"] == f"warehouse://{schema}.tracks"


def test_schema_setting_wins_over_the_source_name() -> None:
    [tracks, _] = run_preset(WAREHOUSE, track({}), {"source": "web", "schema": "prod_web"})
    assert tracks["url"] == "warehouse://prod_web.tracks"
    [tracks, _] = run_preset(WAREHOUSE, track({}), {"schema": "Prod Web"})
    assert tracks["url"] == "warehouse://prod_web.tracks"


def test_traits_are_flattened_in_identifies_and_users() -> None:
    identify = {
        "type": "identify",
        "userId": "u-1",
        "messageId": "i-1",
        "receivedAt": "2025-01-01T00:00:00.000Z",
        # schema.md §Traits: traits.address.street → address_street.
        "traits": {
            "address": {"street": "6th Street"},
            "createdAt": "2024-05-01",
            "uuid": "x",
            "tags": ["a", "b"],
        },
    }
    identifies, users = run_preset(WAREHOUSE, identify, {"schema": "s"})
    for row in (identifies["body"], users["body"]):
        assert row["address_street"] == "6th Street"
        assert row["created_at"] == "2024-05-01"
        assert row["_uuid"] == "x"
        assert row["tags"] == '["a","b"]'
    assert users["body"]["id"] == "u-1"
    assert identifies["body"]["id"] == "i-1"


def test_page_name_and_category_fill_their_columns_over_properties() -> None:
    page = {
        "type": "page",
        "name": "Pricing",
        "category": "Docs",
        "messageId": "p-1",
        "anonymousId": "anon-1",
        "receivedAt": "2025-01-01T00:00:00.000Z",
        "properties": {"name": "Pricing", "path": "/pricing", "open": True},
    }
    [row] = run_preset(WAREHOUSE, page, {"schema": "s"})
    assert row["url"] == "warehouse://s.pages"
    assert {column: row["body"][column] for column in ("name", "category", "path", "_open")} == {
        "name": "Pricing",
        "category": "Docs",
        "path": "/pricing",
        "_open": True,
    }
    assert "_name" not in row["body"]


def test_timestamp_columns_are_utc() -> None:
    event = track({})
    event.update(
        originalTimestamp="2025-06-02T08:14:05.302-07:00",
        sentAt="2025-06-02T15:14:06.000123+00:00",
        timestamp="2025-06-02T15:14:05.300Z",
    )
    [tracks, _] = run_preset(WAREHOUSE, event)
    assert {
        column: tracks["body"][column] for column in ("original_timestamp", "sent_at", "timestamp")
    } == {
        "original_timestamp": "2025-06-02T15:14:05.302Z",
        "sent_at": "2025-06-02T15:14:06.000Z",
        "timestamp": "2025-06-02T15:14:05.300Z",
    }
