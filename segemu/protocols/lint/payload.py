"""Lint rules about what a call carries: naive timestamps, size, personal data, consent."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import orjson

from segemu.message import Record
from segemu.protocols.lint.base import LintRule
from segemu.protocols.lint.spec_names import SPEC_EVENTS
from segemu.protocols.violations import LintFinding

# An ISO-8601 date and time with no `Z` and no offset after it.
_NAIVE = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?")
# How deep and how many values the property scans look at: a huge event must not stall ingest.
SCAN_DEPTH = 4
SCAN_VALUES = 500


def _strings(value: Any, path: str, depth: int = 0) -> Iterator[tuple[str, str]]:
    """(path, text) of the string values under a value, bounded in depth."""
    if isinstance(value, str):
        yield path, value
    elif depth < SCAN_DEPTH and isinstance(value, dict):
        for key, inner in value.items():
            yield from _strings(inner, f"{path}.{key}", depth + 1)
    elif depth < SCAN_DEPTH and isinstance(value, list):
        for index, inner in enumerate(value):
            yield from _strings(inner, f"{path}.{index}", depth + 1)


def _scan(event: dict[str, Any], field_name: str) -> Iterator[tuple[str, str]]:
    for count, found in enumerate(_strings(event.get(field_name), field_name)):
        if count >= SCAN_VALUES:
            return
        yield found


def naive_timestamp(text: str) -> bool:
    return _NAIVE.fullmatch(text) is not None


class TimestampWithoutTimezone(LintRule):
    """DOCS connections/spec/common.md, "Timestamps": every timestamp is ISO-8601 in UTC, and
    Engage does not save a custom trait timestamp that has no timezone."""

    id = "timestamp-without-timezone"
    doc = "Timestamps (the call's, or in properties and traits) with no timezone."
    source = "connections/spec/common.md"

    def check(self, record: Record, event: dict[str, Any], found: list[LintFinding]) -> None:
        raw = record["raw"] if isinstance(record["raw"], dict) else {}
        for name in ("timestamp", "sentAt", "originalTimestamp"):
            value = raw.get(name)
            if isinstance(value, str) and naive_timestamp(value):
                found.append(self.finding(
                    f"{name} {value!r} has no timezone: Segment reads it as UTC, which is "
                    "wrong wherever the device's clock is not; send ISO-8601 with Z or an "
                    "offset (new Date().toISOString())", name))
        for field_name in ("properties", "traits"):
            for path, text in _scan(event, field_name):
                if text[:1].isdigit() and naive_timestamp(text):
                    found.append(self.finding(
                        f"{path} {text!r} looks like a date and time with no timezone: "
                        "destinations read it as UTC, and Engage does not save such trait "
                        "timestamps; add Z or an offset",
                        path))


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
        found.append(self.finding(
            f"this call is {size / 1024:.1f} KB, near Segment's limit of 32 KB per event "
            f"(bigger calls are refused with a 400){where}", biggest))


_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# E.164 (+14155550123) or a formatted number ((415) 555-0123, 415-555-0123, +44 20 7946 0958).
_PHONE = re.compile(r"\+\d{8,15}|\+?\d{0,3}[\s.-]?\(?\d{2,4}\)?[\s.-]\d{3,4}[\s.-]\d{3,4}")


def pii_kind(text: str) -> str | None:
    if "@" in text and _EMAIL.search(text):
        return "an email address"
    if sum(c.isdigit() for c in text) >= 8 and _PHONE.fullmatch(text.strip()):
        return "a phone number"
    return None


def _to_all_destinations(event: dict[str, Any]) -> bool:
    """False when the integrations object turns destinations off by default (All: false)
    (DOCS guides/filtering-data.md, the integrations object)."""
    integrations = event.get("integrations")
    return not (isinstance(integrations, dict) and integrations.get("All") is False)


class PiiInProperties(LintRule):
    id = "pii-in-properties"
    doc = "Emails or phone numbers in properties that go to every destination."
    source = "privacy/portal.md"

    def check(self, record: Record, event: dict[str, Any], found: list[LintFinding]) -> None:
        if record["type"] not in ("track", "page", "screen") or not _to_all_destinations(event):
            return
        # Fields Segment's spec defines on purpose (Signed Up's email, Invite Sent's
        # invitee_email) are not a mistake.
        spec = SPEC_EVENTS.get(str(event.get("event"))) if record["type"] == "track" else None
        allowed = {f"properties.{name}" for name in spec.properties} if spec else set()
        for path, text in _scan(event, "properties"):
            if path in allowed:
                continue
            kind = pii_kind(text)
            if kind is not None:
                found.append(self.finding(
                    f"{path} looks like {kind}, and this call goes to every destination: "
                    "keep personal data in identify traits, or limit the call's destinations "
                    "with the integrations object", path))


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
            found.append(self.finding(
                "no context.consent.categoryPreferences: this call was sent before the user's "
                "consent was known (or without it), so it reaches every destination with no "
                "consent enforcement", "context.consent"))
