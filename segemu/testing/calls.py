"""The control-API calls a fixture makes, each a small value its flavour carries: over HTTP
(the sync and the async client send `http()` and `read()` the answer) or straight to an
Emulator in the same process (segemu/testing/local.py answers the same call, with the same
shape of answer). What a fixture does with the answers is written once, in api.py.
"""

from __future__ import annotations

import urllib.parse
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from segemu.message import Record
from segemu.testing.expect import Spec

PREFIX = "/_segemu"
# Seconds beyond a long-poll's own timeout before the socket gives up.
NETWORK_MARGIN = 10.0
# Records per page when a fixture reads a whole listing.
PAGE = 1000


class ControlApiError(RuntimeError):
    """segemu answered a control-API call with an error (a bad query, say), or was unreachable."""


@dataclass(frozen=True, slots=True)
class HttpCall:
    method: str
    path: str
    params: dict[str, str] | None = None
    body: Any = None
    timeout: float = NETWORK_MARGIN


class Call(ABC):
    __slots__ = ()

    @abstractmethod
    def http(self) -> HttpCall:
        """The request that makes this call over the control API."""

    @abstractmethod
    def read(self, answer: Any) -> Any:
        """What the call returns, from the control API's JSON answer."""


@dataclass(frozen=True, slots=True)
class Page:
    events: list[Record]  # newest first
    more: bool


@dataclass(frozen=True, slots=True)
class EventsPage(Call):
    """GET /events: up to `size` records older than `before`, newest first -> Page."""

    write_key: str | None
    q: str | None
    size: int
    before: int | None = None

    def http(self) -> HttpCall:
        params = events_params(self.write_key, self.q, limit=self.size, before=self.before)
        return HttpCall("GET", "/events", params)

    def read(self, answer: Any) -> Page:
        return Page(answer["events"], bool(answer["next"]))


@dataclass(frozen=True, slots=True)
class WaitAnswer:
    satisfied: bool
    matched: int
    events: list[Record]  # newest first


@dataclass(frozen=True, slots=True)
class Wait(Call):
    """GET /wait: the long-poll until `count` records match -> WaitAnswer."""

    write_key: str | None
    q: str | None
    count: int
    timeout: float

    def http(self) -> HttpCall:
        params = events_params(self.write_key, self.q, count=self.count, timeout=self.timeout)
        return HttpCall("GET", "/wait", params, timeout=self.timeout + NETWORK_MARGIN)

    def read(self, answer: Any) -> WaitAnswer:
        return WaitAnswer(answer["satisfied"], answer["count"], answer["events"])


@dataclass(frozen=True, slots=True)
class Deliveries(Call):
    """GET /destinations/<id>/deliveries: the newest `limit`, newest first -> list."""

    destination: str
    write_key: str | None
    q: str | None
    limit: int

    def http(self) -> HttpCall:
        params = events_params(self.write_key, self.q, limit=self.limit)
        return HttpCall("GET", f"/destinations/{self.destination}/deliveries", params)

    def read(self, answer: Any) -> list[dict[str, Any]]:
        deliveries: list[dict[str, Any]] = answer["deliveries"]
        return deliveries


@dataclass(frozen=True, slots=True)
class Violations(Call):
    """GET /violations -> the listing (protocols/report.py violations_listing)."""

    write_key: str | None
    kind: str
    limit: int

    def http(self) -> HttpCall:
        params = events_params(self.write_key, None, kind=self.kind, limit=self.limit)
        return HttpCall("GET", "/violations", params)

    def read(self, answer: Any) -> dict[str, Any]:
        listing: dict[str, Any] = answer
        return listing


@dataclass(frozen=True, slots=True)
class Reset(Call):
    """POST /reset: forget one write key's calls (all of them for None) -> how many."""

    write_key: str | None

    def http(self) -> HttpCall:
        return HttpCall("POST", "/reset", body={"writeKey": self.write_key})

    def read(self, answer: Any) -> int:
        return int(answer["removed"])


@dataclass(frozen=True, slots=True)
class Assert(Call):
    """POST /assert: judge an expectation, waiting up to `timeout` -> the verdict."""

    spec: Spec
    write_key: str | None
    timeout: float

    @property
    def body(self) -> Spec:
        return {**self.spec, "writeKey": self.write_key, "timeout": self.timeout}

    def http(self) -> HttpCall:
        return HttpCall("POST", "/assert", body=self.body, timeout=self.timeout + NETWORK_MARGIN)

    def read(self, answer: Any) -> dict[str, Any]:
        verdict: dict[str, Any] = answer
        return verdict


@dataclass(frozen=True, slots=True)
class ProfileLookup(Call):
    """GET /profiles?id=: the profile with an external id, in detail -> {"profiles": [0 or 1],
    "newest": id of the newest stored call}."""

    external_id: str
    space: str | None = None
    collection: str = "users"

    def http(self) -> HttpCall:
        params = {"id": self.external_id, "space": self.space, "collection": self.collection}
        return HttpCall("GET", "/profiles", {k: v for k, v in params.items() if v})

    def read(self, answer: Any) -> dict[str, Any]:
        found: dict[str, Any] = answer
        return found


@dataclass(frozen=True, slots=True)
class ProfileSearch(Call):
    """GET /profiles?q=: profiles whose identifiers or traits contain `q` -> summaries."""

    q: str | None
    space: str | None = None
    collection: str = "users"
    limit: int = 50

    def http(self) -> HttpCall:
        params = {
            "q": self.q,
            "space": self.space,
            "collection": self.collection,
            "limit": str(self.limit),
        }
        return HttpCall("GET", "/profiles", {k: v for k, v in params.items() if v})

    def read(self, answer: Any) -> list[dict[str, Any]]:
        profiles: list[dict[str, Any]] = answer["profiles"]
        return profiles


def events_params(write_key: str | None, q: str | None, **extra: Any) -> dict[str, str]:
    params = {"writeKey": write_key, "q": q, **extra}
    return {name: str(value) for name, value in params.items() if value not in (None, "")}


def api_error(status: int, body: Any, what: str) -> ControlApiError:
    message = body.get("message") if isinstance(body, Mapping) else None
    return ControlApiError(f"{what} failed ({status}): {message or body!r}")


@dataclass(frozen=True, slots=True)
class AddFault(Call):
    """POST /faults: add a fault rule (segemu/faults) -> the rule as kept."""

    rule: dict[str, Any]

    def http(self) -> HttpCall:
        return HttpCall("POST", "/faults", body=self.rule)

    def read(self, answer: Any) -> dict[str, Any]:
        rule: dict[str, Any] = answer
        return rule


@dataclass(frozen=True, slots=True)
class RemoveFault(Call):
    """DELETE /faults/<id> -> whether it was there."""

    rule_id: str

    def http(self) -> HttpCall:
        return HttpCall("DELETE", f"/faults/{urllib.parse.quote(self.rule_id, safe='')}")

    def read(self, answer: Any) -> bool:
        return bool(answer.get("success"))


@dataclass(frozen=True, slots=True)
class FaultListing(Call):
    """GET /faults: the rules and faulted requests of one write key -> the listing."""

    write_key: str | None
    limit: int

    def http(self) -> HttpCall:
        return HttpCall("GET", "/faults", events_params(self.write_key, None, limit=self.limit))

    def read(self, answer: Any) -> dict[str, Any]:
        listing: dict[str, Any] = answer
        return listing
