"""The pytest API's `function_request`: a Source Function called from a test, with
assertions on what it emitted and fetched. One suite for the in-process fixture and the HTTP
client (segemu/testing/api.py: one definition, several flavours)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from segemu import create_emulator
from segemu.http.server import start_server
from segemu.testing.calls import ControlApiError
from segemu.testing.client import SegemuClient
from segemu.testing.functions import FunctionAssertionError, FunctionInvocation
from segemu.testing.local import LocalSegemu
from tests.functions.conftest import FIXTURES

SECRET = "whsec_test"
SETTINGS: dict[str, Any] = {
    "sources": {
        "stripe": {"function": str(FIXTURES / "stripe.js"), "settings": {"signingSecret": SECRET}}
    },
    "destinations": {"mixpanel": {}},
}
CHARGE = json.loads((FIXTURES / "stripe-charge.json").read_text())["body"]

Request = Callable[..., Awaitable[FunctionInvocation]]


@pytest.fixture(params=["in-process", "http"])
async def function_request(request: pytest.FixtureRequest) -> AsyncIterator[Request]:
    emulator = create_emulator(db=":memory:", **SETTINGS)
    if request.param == "in-process":
        await emulator.start()
        local = LocalSegemu(emulator, "wk_test")
        yield local.function_request
        await emulator.close()
        return
    server = await start_server(emulator, "127.0.0.1", 0)
    client = SegemuClient(server.url, "wk_test")

    async def call(name: str, **kwargs: Any) -> FunctionInvocation:
        # The sync client blocks: off the loop that serves it.
        return await asyncio.to_thread(client.function_request, name, **kwargs)

    yield call
    await server.stop()


def signature(body: str) -> str:
    digest = hmac.new(SECRET.encode(), f"1.{body}".encode(), hashlib.sha256).hexdigest()
    return f"t=1,v1={digest}"


async def test_assert_on_what_a_source_function_emitted(function_request: Request) -> None:
    body = json.dumps(CHARGE)
    result = await function_request(
        "stripe", data=body, headers={"Stripe-Signature": signature(body)}
    )
    assert (result.status, result.ok, result.error) == (200, True, None)
    [call] = result.assert_emitted("track", event="Order Completed", properties={"revenue": 49.99})
    assert call["userId"] == "cus_OTdmgqh7Yr0R1s"
    assert result.logs == ["stripe event charge.succeeded evt_3Ngf8B2eZvKYlo2C"]
    [record] = result.records
    assert (record["source"], record["status"]) == ("stripe", "accepted")
    assert record["routing"]["mixpanel"]["status"] == "delivered"
    with pytest.raises(FunctionAssertionError) as failed:
        result.assert_emitted("identify")
    assert "found 0. It emitted: {" in str(failed.value)


async def test_an_error_is_the_answer_and_nothing_is_emitted(function_request: Request) -> None:
    result = await function_request(
        "stripe", json={"type": "charge.succeeded"}, headers={"Stripe-Signature": "t=1,v1=x"}
    )
    assert result.status == 400
    assert result.error is not None
    assert result.error["message"] == "Stripe-Signature does not match"
    result.assert_emitted(count=0)
    assert result.records == []


async def test_an_unknown_function_is_a_control_api_error(function_request: Request) -> None:
    with pytest.raises(ControlApiError, match="no Source Function named 'strype'"):
        await function_request("strype", json={})


def test_the_pytest_fixtures_call_a_source_function(pytester: pytest.Pytester) -> None:
    # As docs/functions.md shows it: a marker configures the function, the fixture calls it.
    stripe = FIXTURES / "stripe.js"
    pytester.makepyfile(f"""
        import pytest

        CHARGE = {{"type": "charge.succeeded", "data": {{"object": {{
            "id": "ch_1", "amount": 4999, "currency": "usd", "customer": "cus_1"}}}}}}

        @pytest.mark.segemu(sources={{"stripe": {{"function": {str(stripe)!r}}}}})
        def test_sync(segemu):
            result = segemu.function_request("stripe", json=CHARGE)
            assert result.status == 200
            result.assert_emitted("track", event="Order Completed",
                                  properties={{"revenue": 49.99}})
            assert result.records[0]["routing"]["mixpanel"]["status"] == "delivered"

        @pytest.mark.segemu(sources={{"stripe": {{"function": {str(stripe)!r}}}}})
        async def test_in_process(segemu_emulator):
            result = await segemu_emulator.function_request("stripe", json=CHARGE)
            result.assert_emitted("track", count=1, userId="cus_1")
    """)
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-o", "asyncio_mode=auto", timeout=120
    )
    result.assert_outcomes(passed=2)
