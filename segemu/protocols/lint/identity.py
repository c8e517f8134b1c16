"""Lint rules about identity: conversions nobody can attribute, and one browser identified as
two people.

Both follow how the SDKs keep identity (DOCS connections/spec/best-practices-identify.md): the
anonymousId stays in the cookie until `reset()`, and identify ties it to a userId. A
conversion from an anonymousId that was never identified cannot be joined to the user who
converted; an anonymousId identified as a second userId is a logout that forgot `reset()`, so
the next person's events merge into the previous person's profile.
"""

from __future__ import annotations

from typing import Any

from segemu.message import Record
from segemu.protocols.lint.base import Bounded, LintRule
from segemu.protocols.violations import LintFinding

# Conversions in Segment's specs: e-commerce (Order Completed) and B2B SaaS (Signed Up,
# Account Created, Trial Started). `[lint] conversion_events` replaces the list.
CONVERSION_EVENTS = ("Order Completed", "Signed Up", "Account Created", "Trial Started")
# userIds remembered per anonymousId: enough to tell a second person from the first.
USER_IDS_KEPT = 4


def _id(value: Any) -> str | None:
    return value if type(value) is str and value else None


class ConversionWithoutIdentify(LintRule):
    id = "conversion-without-identify"
    by_anonymous_id = True
    doc = "A conversion (Order Completed, Signed Up, ...) from an anonymousId never identified."
    source = "connections/spec/best-practices-identify.md"

    def __init__(self, conversions: tuple[str, ...] = CONVERSION_EVENTS) -> None:
        self.conversions = frozenset(conversions)
        self._identified: Bounded[bool] = Bounded()

    def check(self, record: Record, event: dict[str, Any], found: list[LintFinding]) -> None:
        anonymous_id = _id(event.get("anonymousId"))
        if anonymous_id is None:  # most server-side calls: nothing to remember or to judge
            return
        key = (record["writeKey"], anonymous_id)
        if _id(event.get("userId")) is not None:
            # identify, or any call made once the SDK knows the user, ties the two together.
            self._identified.set(key, True)
            return
        name = event.get("event")
        if record["type"] == "track" and name in self.conversions and not self._identified.get(key):
            found.append(
                self.finding(
                    f"{name!r} from anonymousId {anonymous_id!r}, which no identify call has tied "
                    "to a user: call identify (at sign-up or login) before the conversion so it "
                    "is attributed to the person",
                    "anonymousId",
                )
            )

    def reset(self, write_key: str | None) -> None:
        self._identified.reset(write_key)


class IdentityConflict(LintRule):
    id = "identity-conflict"
    by_anonymous_id = True
    doc = "One anonymousId identified as two different userIds (a logout without reset())."
    source = "connections/spec/best-practices-identify.md"

    def __init__(self) -> None:
        self._users: Bounded[list[str]] = Bounded()

    def check(self, record: Record, event: dict[str, Any], found: list[LintFinding]) -> None:
        anonymous_id = _id(event.get("anonymousId"))
        if anonymous_id is None:
            return
        user_id = _id(event.get("userId"))
        if user_id is None:
            return
        key = (record["writeKey"], anonymous_id)
        seen = self._users.get(key)
        if seen is None:
            self._users.set(key, [user_id])
            return
        if user_id in seen:
            return
        found.append(
            self.finding(
                f"anonymousId {anonymous_id!r} was {seen[-1]!r} and is now {user_id!r}: the app "
                "logged a user out without analytics.reset(), so both people share one anonymous "
                "history",
                "userId",
            )
        )
        seen.append(user_id)
        del seen[:-USER_IDS_KEPT]

    def reset(self, write_key: str | None) -> None:
        self._users.reset(write_key)
