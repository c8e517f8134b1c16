"""/_segemu/openapi.json agrees with the server (issue 13, finding 9): schemathesis generates
requests from the document, valid and invalid, sends them to a real segemu, and checks each
answer against the document. A few derandomized examples per operation: seconds, not minutes.

Checks: no 5xx; every status, Content-Type, header and body the document describes; requests
the document calls valid are accepted, and ones it calls invalid refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks

from segemu.config import load_config
from segemu.http.params import NUMBER
from segemu.testing.client import SegemuClient
from segemu.testing.thread import ThreadedEmulator

EXAMPLES = 4
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
    checks.positive_data_acceptance,
    checks.negative_data_rejection,
]
# The query language (`q`, an expectation's `where`) has a grammar no JSON Schema states: a
# string the document allows may still be refused, with a 400 that points at the mistake.
QUERIES = ("q", "where")
# Whether a destination table is valid depends on its preset's settings and actions, which the
# document leaves to the README: a valid-looking table may be refused with a 400 that says why.
NOT_ALL_VALID_ACCEPTED = {("PUT", "/_segemu/destinations/{destination}")}

# Write keys are test data here, not secrets: a failure shows the request as sent.
CONFIG = schemathesis.Config.from_dict({"output": {"sanitization": {"enabled": False}}})
# GET /_segemu/stream never ends, so no answer could be checked.
schema = schemathesis.pytest.from_fixture("live_schema").exclude(path="/_segemu/stream")


@pytest.fixture(scope="module")
def live_schema() -> Iterator[schemathesis.BaseSchema]:
    server = ThreadedEmulator(load_config({"db": ":memory:", "port": 0}, discover=False, env={}))
    server.start()
    try:
        yield schemathesis.openapi.from_url(f"{server.url}/_segemu/openapi.json", config=CONFIG)
    finally:
        server.stop()
    assert not server.take_errors()


def _short_wait(case: schemathesis.Case[Any]) -> None:
    """A valid long-poll timeout (or none: 5 s) becomes 0: the answer's shape is the same,
    without waiting up to 300 s for calls no test sends. An invalid one stays, to be
    refused."""
    if case.path != "/_segemu/wait" or not isinstance(case.query, dict):
        return
    negative = case.meta is not None and case.meta.generation.mode.is_negative
    if negative and "timeout" not in case.query:
        return  # adding one would change what the case is about
    timeout = case.query.get("timeout", "5")
    valid = isinstance(timeout, int | float | str) and NUMBER.fullmatch(str(timeout))
    if valid and 0 <= float(timeout) <= 300:
        case.query["timeout"] = "0"


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_the_server_agrees_with_its_openapi_document(case: schemathesis.Case[Any]) -> None:
    _short_wait(case)
    chosen = CHECKS
    body = case.body if isinstance(case.body, dict) else {}
    query = case.query if isinstance(case.query, dict) else {}
    if (case.method.upper(), case.path) in NOT_ALL_VALID_ACCEPTED or any(
        name in query or name in body for name in QUERIES
    ):
        chosen = [check for check in CHECKS if check is not checks.positive_data_acceptance]
    try:
        case.call_and_validate(checks=chosen)
    finally:
        if case.path.startswith("/_segemu/faults"):
            # A rule the case added would fail the Tracking API cases that follow.
            base_url = case.operation.base_url or ""
            SegemuClient(base_url).request("DELETE", "/faults")
