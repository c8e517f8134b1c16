"""Violations and lint findings: the shapes every surface shows, and the translation of JSON
Schema errors into violations a person can act on.

A violation says that an event breaks the tracking plan (Segment reports those: DOCS
protocols/validate/review-violations.md); a lint finding is a warning about a habit that
Segment never checks (segemu/protocols/lint/).
"""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict

ViolationType = Literal[
    "unplanned_event",  # a track event the plan does not list
    "required",  # a required field is missing
    "type",  # a value of the wrong JSON type
    "enum",  # a value that is not one of the permitted values
    "additional_property",  # a property or trait the plan does not list
    "pattern",  # a string that fails the plan's regex (Permitted Values)
    "format",  # a string that is not a valid date-time, email, ...
    "constraint",  # any other JSON Schema keyword (minimum, maxLength, anyOf, ...)
    "context",  # an event rule's constraint on `context` is broken
    "common",  # the plan's common JSON Schema is broken
]
VIOLATION_TYPES: tuple[str, ...] = ViolationType.__args__  # type: ignore[attr-defined]


class Violation(TypedDict):
    type: ViolationType
    # Dotted path into the event, e.g. "properties.price" or "properties.products.0.sku";
    # "(root)" for the event itself, as Segment's violations page shows it (DOCS protocols/faq.md).
    path: str
    message: str
    # Which rule was broken: "TRACK 'Order Completed' v1", "IDENTIFY v1", "COMMON".
    rule: NotRequired[str]
    # The JSON Schema keyword behind it ("required", "minimum", ...), when there is one.
    keyword: NotRequired[str]


class LintFinding(TypedDict):
    rule: str
    message: str
    path: str | None


# How Segment names each kind in "Violation Generated" events and in context.protocols:
# "Required" (DOCS protocols/validate/forward-violations.md) and "Invalid Type" (DOCS
# protocols/faq.md) are Segment's; the others are not documented and follow the same style.
SEGMENT_NAMES: dict[str, str] = {
    "unplanned_event": "Unplanned Event",
    "required": "Required",
    "type": "Invalid Type",
    "enum": "Invalid Enum Value",
    "additional_property": "Unplanned Property",
    "pattern": "Invalid Pattern",
    "format": "Invalid Format",
    "constraint": "Invalid Value",
    "context": "Invalid Context",
    "common": "Common JSON Schema",
}

ROOT = "(root)"


def dotted(parts: list[str | int]) -> str:
    return ".".join(str(part) for part in parts) or ROOT


def describe(violation: Violation) -> str:
    """One line: the message and, for a person scanning many, the rule it comes from."""
    rule = violation.get("rule")
    return f"{violation['message']}" + (f"  [{rule}]" if rule else "")
