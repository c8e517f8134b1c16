"""Lint rules about what a call carries: naive timestamps, size, personal data, consent."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson

from segemu.message import Record
from segemu.protocols.lint.base import NAMED_TYPES, VALUE_CHARS, LintRule
from segemu.protocols.lint.spec_names import SPEC_EVENTS
from segemu.protocols.violations import LintFinding

# An ISO-8601 date and time with no `Z` and no offset after it.
_NAIVE = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?")
# How deep and how many values the property scans look at: a huge event must not stall ingest.
SCAN_DEPTH = 4
SCAN_VALUES = 500


Found = tuple[str, Any, str]  # (parent path, key, text)


@dataclass(frozen=True, slots=True)
class Candidates:
    """The string values under properties or traits that a value rule could fire on, found in
    one pass: the rules then look only at these, and most calls have none. A value is a date
    candidate when it could be a naive timestamp (16 to 32 characters, starting with a digit),
    and a personal one when it could hold an email (an "@") or be a phone number (8 to 24
    characters, ending with a digit)."""

    dates: list[Found]
    personal: list[Found]


_NO_CANDIDATES = Candidates([], [])
# (the values last scanned, what was found): two rules scan the same properties of a call,
# one after the other, and the scan is the costly part of both.
_last_scan: tuple[Any, Candidates] = (None, _NO_CANDIDATES)


def candidates(values: Any, root: str) -> Candidates:
    """The candidates among the first SCAN_VALUES string values under `root` (properties or
    traits), at most SCAN_DEPTH deep, in the order of a walk that takes the top level first. A
    loop, not recursion or generators, and paths and lists built only for what is found: it
    runs on every call, and most calls have no candidate and no nested object. The result is
    shared: callers read it and never change it."""
    global _last_scan
    if type(values) is not dict:
        return _NO_CANDIDATES
    if _last_scan[0] is values:
        return _last_scan[1]
    dates: list[Found] | None = None
    personal: list[Found] | None = None
    seen = 0
    # Nested objects still to walk: (the path of their parent, their key, them, depth). The
    # path of one is spelled only when something in it is found.
    pending: list[tuple[str, Any, Any, int]] | None = None
    # The top level on its own: most calls are flat, and this skips the queue for them.
    for key, inner in values.items():
        kind = type(inner)
        if kind is str:
            if seen < SCAN_VALUES:
                size = len(inner)
                if 16 <= size <= 32 and inner[:1].isdigit():
                    if dates is None:
                        dates = []
                    dates.append((root, key, inner))
                if "@" in inner or (8 <= size <= 24 and inner[-1:].isdigit()):
                    if personal is None:
                        personal = []
                    personal.append((root, key, inner))
            seen += 1
        elif (kind is dict or kind is list) and SCAN_DEPTH > 1:
            if pending is None:
                pending = []
            pending.append((root, key, inner, 1))
    while pending and seen < SCAN_VALUES:
        parent, name, value, depth = pending.pop()
        path: str | None = None
        items = value.items() if type(value) is dict else enumerate(value)
        for key, inner in items:
            kind = type(inner)
            if kind is str:
                if seen < SCAN_VALUES:
                    size = len(inner)
                    if 16 <= size <= 32 and inner[:1].isdigit():
                        if dates is None:
                            dates = []
                        path = path or f"{parent}.{name}"
                        dates.append((path, key, inner))
                    if "@" in inner or (8 <= size <= 24 and inner[-1:].isdigit()):
                        if personal is None:
                            personal = []
                        path = path or f"{parent}.{name}"
                        personal.append((path, key, inner))
                seen += 1
            elif (kind is dict or kind is list) and depth + 1 < SCAN_DEPTH:
                path = path or f"{parent}.{name}"
                pending.append((path, key, inner, depth + 1))
    found = (
        _NO_CANDIDATES
        if dates is None and personal is None
        else Candidates(dates or [], personal or [])
    )
    _last_scan = (values, found)
    return found


def naive_timestamp(text: str) -> bool:
    # Shortcuts for what cannot match: shorter than "YYYY-MM-DDTHH:MM", not starting with a
    # digit, or with a zone (Z, or a sign after the time). Most timestamps end there; `find`
    # from the 17th character looks for the sign without copying the text.
    if (
        len(text) < 16
        or text[-1] in "Zz"
        or not text[0].isdigit()
        or text.find("+", 16) >= 0
        or text.find("-", 16) >= 0
    ):
        return False
    return _NAIVE.fullmatch(text) is not None


# The call's own timestamps, as the SDK sent them.
_CALL_TIMESTAMPS = ("timestamp", "sentAt", "originalTimestamp")


class TimestampWithoutTimezone(LintRule):
    """DOCS connections/spec/common.md, "Timestamps": every timestamp is ISO-8601 in UTC, and
    Engage does not save a custom trait timestamp that has no timezone."""

    id = "timestamp-without-timezone"
    doc = "Timestamps (the call's, or in properties and traits) with no timezone."
    source = "connections/spec/common.md"

    def check(self, record: Record, event: dict[str, Any], found: list[LintFinding]) -> None:
        raw = record["raw"]
        if isinstance(raw, dict):
            for name in _CALL_TIMESTAMPS:
                value = raw.get(name)
                # The SDKs' own timestamps end in Z (toISOString) or carry +00:00 (Python's
                # isoformat): neither can be naive, and they are told apart here at no cost.
                if (
                    isinstance(value, str)
                    and value[-1:] != "Z"
                    and "+" not in value
                    and naive_timestamp(value)
                ):
                    found.append(
                        self.finding(
                            f"{name} {value!r} has no timezone: Segment reads it as UTC, which is "
                            "wrong wherever the device's clock is not; send ISO-8601 with Z or an "
                            "offset (new Date().toISOString())",
                            name,
                        )
                    )
        # Traits first: the properties' scan is then still fresh for pii-in-properties.
        for field_name in ("traits", "properties"):
            values = event.get(field_name)
            if type(values) is not dict:  # most calls have one of the two, or neither
                continue
            for parent, key, text in candidates(values, field_name).dates:
                if naive_timestamp(text):
                    path = f"{parent}.{key}"
                    found.append(
                        self.finding(
                            f"{path} {text!r} looks like a date and time with no timezone: "
                            "destinations read it as UTC, and Engage does not save such trait "
                            "timestamps; add Z or an offset",
                            path,
                        )
                    )


# DOCS http-api/index.md, "Max request size": 32 KB per call; Segment refuses bigger ones.
MAX_EVENT_BYTES = 32 * 1024
# Warn from three quarters of the limit: the event still goes through, but not for long.
WARN_BYTES = MAX_EVENT_BYTES * 3 // 4


class PayloadSize(LintRule):
    id = "payload-size"
    doc = "Calls near Segment's 32 KB limit per event."
    source = "connections/sources/catalog/libraries/server/http-api/index.md"

    def check(self, record: Record, event: dict[str, Any], found: list[LintFinding]) -> None:
        size = len(orjson.dumps(record["raw"], default=str))
        if size < WARN_BYTES:
            return
        biggest, biggest_size = None, 0
        for field_name in ("properties", "traits", "context"):
            values = event.get(field_name)
            if isinstance(values, dict):
                for key, value in values.items():
                    one = len(orjson.dumps(value, default=str))
                    if one > biggest_size:
                        biggest, biggest_size = f"{field_name}.{key}", one
        where = f"; the largest part is {biggest} ({biggest_size / 1024:.1f} KB)" if biggest else ""
        found.append(
            self.finding(
                f"this call is {size / 1024:.1f} KB, near Segment's limit of 32 KB per event "
                f"(bigger calls are refused with a 400){where}",
                biggest,
            )
        )


# A try starts only where a run of the local part's characters starts (the leftmost match starts
# there anyway), so the search is linear: tried from every character of a 31 KB value ending in
# "@", `[A-Za-z0-9._%+-]+@` took 1.3 s.
_EMAIL = re.compile(r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# E.164 (+14155550123) or a formatted number ((415) 555-0123, 415-555-0123, +44 20 7946 0958).
_PHONE = re.compile(r"\+\d{8,15}|\+?\d{0,3}[\s.-]?\(?\d{2,4}\)?[\s.-]\d{3,4}[\s.-]\d{3,4}")


def pii_kind(text: str) -> str | None:
    """What personal data the value's first VALUE_CHARS characters hold, if any."""
    text = text[:VALUE_CHARS]
    if "@" in text and _EMAIL.search(text):
        return "an email address"
    # Phone numbers are 8 to 24 characters long and end with a digit: skip the regex otherwise.
    if 8 <= len(text) <= 24 and text[-1].isdigit() and _PHONE.fullmatch(text.strip()):
        return "a phone number"
    return None


def _reach(event: dict[str, Any]) -> str | None:
    """Where a call's properties end up, as the integrations object has it: every
    destination; only the data warehouses, since `All: false` turns off "all downstream
    destinations, except data warehouses" (DOCS guides/filtering-data.md, the integrations
    object) and only the `Warehouses` key turns those off (connections/storage/warehouses/
    faq.md); or nowhere a person did not choose (None)."""
    integrations = event.get("integrations")
    if not isinstance(integrations, dict) or integrations.get("All") is not False:
        return "every destination"
    warehouses = integrations.get("Warehouses")
    if warehouses is False:
        return None
    if isinstance(warehouses, dict):
        chosen = warehouses.get("warehouseIds")
        if isinstance(chosen, list):
            return _WAREHOUSES if chosen else None
        if warehouses.get("all") is False:
            return None
    return _WAREHOUSES


_WAREHOUSES = "the data warehouses"


class PiiInProperties(LintRule):
    id = "pii-in-properties"
    types = NAMED_TYPES
    doc = "Emails or phone numbers in properties that go to every destination or warehouse."
    source = "privacy/portal.md"

    def check(self, record: Record, event: dict[str, Any], found: list[LintFinding]) -> None:
        if record["type"] not in ("track", "page", "screen"):
            return
        personal = candidates(event.get("properties"), "properties").personal
        reach = _reach(event) if personal else None
        if reach is None:
            return
        # Fields Segment's spec defines on purpose (Signed Up's email, Invite Sent's
        # invitee_email) are not a mistake.
        name = event.get("event")
        spec = SPEC_EVENTS.get(name) if isinstance(name, str) else None
        allowed = spec.properties if spec else frozenset()
        for parent, key, text in personal:
            if parent == "properties" and key in allowed:
                continue
            kind = pii_kind(text)
            path = f"{parent}.{key}"
            if kind is None:
                continue
            if reach == _WAREHOUSES:
                advice = (
                    "this call still goes to the data warehouses (All: false turns off every "
                    "destination except warehouses): keep personal data in identify traits, or "
                    'add "Warehouses": {"all": false} to the integrations object'
                )
            else:
                advice = (
                    "this call goes to every destination: keep personal data in identify "
                    "traits, or limit the call's destinations with the integrations object"
                )
            found.append(self.finding(f"{path} looks like {kind}, and {advice}", path))


class EventBeforeConsent(LintRule):
    id = "event-before-consent"
    doc = "Calls without consent preferences, where consent is required (off by default)."
    source = "privacy/consent-management/consent-in-segment-connections.md"
    default = False

    def check(self, record: Record, event: dict[str, Any], found: list[LintFinding]) -> None:
        # "Segment requires every event from all of your sources to include the end user
        # consent preferences ... Events without the consent object continue to flow to
        # destinations without consent enforcement."
        context = event.get("context")
        consent = context.get("consent") if isinstance(context, dict) else None
        preferences = consent.get("categoryPreferences") if isinstance(consent, dict) else None
        if not isinstance(preferences, dict):
            found.append(
                self.finding(
                    "no context.consent.categoryPreferences: this call was sent before the user's "
                    "consent was known (or without it), so it reaches every destination with no "
                    "consent enforcement",
                    "context.consent",
                )
            )
