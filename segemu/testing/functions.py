"""`segemu.function_request(...)`: a Source Function invoked from a test, and what it did.

    result = segemu.function_request("stripe", json=charge, headers={"Stripe-Signature": sig})
    assert result.status == 200
    result.assert_emitted("track", event="Order Completed", properties={"revenue": 49.99})
    result.assert_fetched("https://api.stripe.com/v1/customers/cus_1")

The call goes to POST /_segemu/functions/<name>/requests (the in-process fixture answers it
directly), which runs the function as its webhook would and answers with the invocation:
its status, emitted calls (and the records they became), console output, fetches and error.
"""

from __future__ import annotations

import json as jsonlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from segemu.message import Record
from segemu.testing.calls import Call, HttpCall


class FunctionAssertionError(AssertionError):
    """A function did not emit or send what the test expected; the message lists what it did."""


@dataclass(frozen=True, slots=True)
class FunctionRequest(Call):
    """POST /functions/<name>/requests -> FunctionInvocation."""

    name: str
    method: str
    body: str
    headers: Mapping[str, str]
    query: Mapping[str, str]

    def payload(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "body": self.body,
            "headers": dict(self.headers),
            "query": dict(self.query),
        }

    def http(self) -> HttpCall:
        return HttpCall("POST", f"/functions/{self.name}/requests", body=self.payload())

    def read(self, answer: Any) -> FunctionInvocation:
        return FunctionInvocation(answer)


def function_request_call(
    name: str,
    json: Any = None,
    data: str | bytes | None = None,
    headers: Mapping[str, str] | None = None,
    query: Mapping[str, str] | None = None,
    method: str = "POST",
) -> FunctionRequest:
    if json is not None and data is not None:
        raise TypeError("pass json= or data=, not both")
    sent = dict(headers or {})
    if json is not None:
        body = jsonlib.dumps(json)
        if not any(key.lower() == "content-type" for key in sent):
            sent["Content-Type"] = "application/json"
    elif isinstance(data, bytes):
        body = data.decode("utf-8", errors="replace")
    else:
        body = data or ""
    return FunctionRequest(name, method, body, sent, dict(query or {}))


@dataclass(frozen=True, slots=True)
class FunctionInvocation:
    """One Source Function invocation, as the control API lists it."""

    data: dict[str, Any]

    @property
    def status(self) -> int:
        return int(self.data["status"])

    @property
    def ok(self) -> bool:
        return bool(self.data["ok"])

    @property
    def error(self) -> dict[str, Any] | None:
        error: dict[str, Any] | None = self.data["error"]
        return error

    @property
    def emitted(self) -> list[dict[str, Any]]:
        emitted: list[dict[str, Any]] = self.data["emitted"]
        return emitted

    @property
    def records(self) -> list[Record]:
        """The stored records the emitted calls became, in the order emitted."""
        records: list[Record] = self.data.get("records", [])
        return records

    @property
    def logs(self) -> list[str]:
        return [line["message"] for line in self.data["logs"]]

    @property
    def fetches(self) -> list[dict[str, Any]]:
        fetches: list[dict[str, Any]] = self.data["fetches"]
        return fetches

    def assert_emitted(
        self, type: str | None = None, *, count: int | None = None, **fields: Any
    ) -> list[dict[str, Any]]:
        """The emitted calls of `type` whose fields include `fields` (nested objects match
        as subsets); fails unless there is at least one (exactly `count` if given)."""
        __tracebackhide__ = True
        found = [
            call
            for call in self.emitted
            if (type is None or call.get("type") == type) and _includes(call, fields)
        ]
        if (count is None and not found) or (count is not None and len(found) != count):
            wanted = ", ".join([*([repr(type)] if type else []), *_shown(fields)])
            raise FunctionAssertionError(
                f"expected {count if count is not None else 'a'} call({wanted}) emitted by "
                f"{self.data['function']!r}; found {len(found)}. {self._summary()}"
            )
        return found

    def assert_fetched(self, url: str, *, method: str | None = None) -> dict[str, Any]:
        """The first fetch to `url` (or a URL starting with it); fails when none."""
        __tracebackhide__ = True
        for fetch in self.fetches:
            if fetch["url"].startswith(url) and (method is None or fetch["method"] == method):
                return fetch
        raise FunctionAssertionError(
            f"expected {self.data['function']!r} to fetch {url}; {self._summary()}"
        )

    def _summary(self) -> str:
        emitted = "; ".join(jsonlib.dumps(call, sort_keys=True)[:200] for call in self.emitted)
        fetched = "; ".join(f"{f['method']} {f['url']}" for f in self.fetches)
        error = self.error
        return (
            f"It emitted: {emitted or '(nothing)'}. Fetched: {fetched or '(nothing)'}. "
            f"Logs: {self.logs or '(none)'}."
            + (f" Error: {error.get('name')}: {error.get('message')}." if error else "")
        )


def _includes(actual: Any, expected: Mapping[str, Any]) -> bool:
    if not isinstance(actual, dict):
        return False
    for key, want in expected.items():
        got = actual.get(key)
        if isinstance(want, Mapping):
            if not _includes(got, want):
                return False
        elif got != want:
            return False
    return True


def _shown(fields: Mapping[str, Any]) -> list[str]:
    return [f"{key}={value!r}" for key, value in fields.items()]
