"""Validation of one event against a tracking plan, and what the source's schema configuration
makes of the violations: block the event, omit properties or traits, or let it through.

Segment's order (DOCS protocols/enforce/schema-configuration.md, "Order of Priority in
Blocking Options"): the standard controls first (unplanned events, unplanned properties or
traits, the event's own JSON schema), then the common JSON schema, on what is left of the
event.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import jsonschema_rs
import orjson

from segemu.protocols.plans import CONTAINERS, Rule, TrackingPlan, did_you_mean
from segemu.protocols.settings import CallSettings
from segemu.protocols.violations import ROOT, Violation, ViolationType, dotted

_KEYWORD_TYPES: dict[str, ViolationType] = {
    "required": "required",
    "type": "type",
    "enum": "enum",
    "const": "enum",
    "additionalProperties": "additional_property",
    "pattern": "pattern",
    "format": "format",
}


@dataclass(slots=True)
class Outcome:
    violations: list[Violation] = field(default_factory=list)
    # Why destinations get nothing, or None.
    blocked: str | None = None
    # Paths ("properties.coupon") removed from what destinations receive: every omitted one,
    # and those of them omitted because their value broke the plan.
    omitted: list[str] = field(default_factory=list)
    omitted_on_violation: list[str] = field(default_factory=list)


def check_event(plan: TrackingPlan, settings: CallSettings, event: Mapping[str, Any]) -> Outcome:
    outcome = Outcome()
    kind = event.get("type")
    if not isinstance(kind, str):
        return outcome
    rule_type = kind.upper()
    container = CONTAINERS.get(rule_type)
    rule = plan.rule_for(kind, event) if container else None

    if rule_type == "TRACK" and rule is None:
        name = str(event.get("event"))
        outcome.violations.append(
            {
                "type": "unplanned_event",
                "path": "event",
                "message": (
                    f"{name!r} is not in the tracking plan {plan.name!r}"
                    f"{did_you_mean(name, plan.names('TRACK'))}"
                ),
                "rule": f"TRACK {name!r}",
            }
        )
        if not settings.allow_unplanned_events:
            outcome.blocked = (
                f"unplanned event {name!r}: the source blocks events that are "
                "not in the tracking plan (allowUnplannedEvents = false)"
            )

    if rule is not None and container is not None:
        found = (
            []
            if rule.validator.is_valid(event)
            else from_schema_errors(rule.validator.iter_errors(event), event, rule.label)
        )
        reported = {v["path"] for v in found if v["type"] == "additional_property"}
        unplanned = _unplanned(rule, event, container, reported)
        outcome.violations.extend(found)
        outcome.violations.extend(unplanned)
        if found and not settings.allow_event_on_violations and outcome.blocked is None:
            outcome.blocked = (
                f"{found[0]['message']}: the source blocks events that break "
                "the tracking plan (allowEventOnViolations = false)"
            )
        if not settings.allow_properties_on_violations:
            _omit(outcome, event, container, found, on_violation=True)
        if not settings.allow_unplanned_properties:
            _omit(outcome, event, container, unplanned, on_violation=False)

    if plan.common is not None:
        _check_common(plan.common, settings, event, container, outcome)
    return outcome


def _check_common(
    common: Rule,
    settings: CallSettings,
    event: Mapping[str, Any],
    container: str | None,
    outcome: Outcome,
) -> None:
    remaining = without(event, outcome.omitted) if outcome.omitted else event
    if common.validator.is_valid(remaining):
        return
    found = from_schema_errors(
        common.validator.iter_errors(remaining), remaining, "COMMON", common=True
    )
    outcome.violations.extend(found)
    choice = settings.common_on_violations
    if choice == "BLOCK" and outcome.blocked is None:
        outcome.blocked = (
            f"{found[0]['message']}: the source blocks events that break the "
            "common JSON schema (commonEventOnViolations = BLOCK)"
        )
    elif choice.startswith("OMIT_") and container is not None:
        _omit(outcome, event, container, found, on_violation=True)


def _unplanned(
    rule: Rule, event: Mapping[str, Any], container: str, reported: set[str]
) -> list[Violation]:
    values = event.get(container)
    if rule.planned is None or not isinstance(values, dict):
        return []
    what = "property" if container == "properties" else "trait"
    found: list[Violation] = []
    for key in values:
        path = f"{container}.{key}"
        if key not in rule.planned and path not in reported:
            found.append(
                {
                    "type": "additional_property",
                    "path": path,
                    "message": f"{path} is not in the tracking plan for {rule.label} "
                    f"(an unplanned {what})",
                    "rule": rule.label,
                }
            )
    return found


def _omit(
    outcome: Outcome,
    event: Mapping[str, Any],
    container: str,
    violations: Iterable[Violation],
    *,
    on_violation: bool,
) -> None:
    """Omit the top-level property (or trait) each violation is about, if the event has it."""
    values = event.get(container)
    if not isinstance(values, dict):
        return
    prefix = f"{container}."
    for violation in violations:
        path = violation["path"]
        if not path.startswith(prefix):
            continue
        rest = path[len(prefix) :]
        key = next((k for k in values if rest == k or rest.startswith(f"{k}.")), None)
        if key is None:
            continue
        omitted = f"{prefix}{key}"
        if omitted not in outcome.omitted:
            outcome.omitted.append(omitted)
            if on_violation:
                outcome.omitted_on_violation.append(omitted)


def without(event: Mapping[str, Any], omitted: Sequence[str]) -> dict[str, Any]:
    """The event minus omitted top-level properties or traits (copies only what changes)."""
    copy = dict(event)
    for path in omitted:
        container, _, key = path.partition(".")
        values = copy.get(container)
        if isinstance(values, dict) and key in values:
            copy[container] = {k: v for k, v in values.items() if k != key}
    return copy


# -- JSON Schema errors, as violations a person can act on ----------------------------------


def from_schema_errors(
    errors: Iterable[jsonschema_rs.ValidationError], event: Any, rule: str, *, common: bool = False
) -> list[Violation]:
    """One violation per problem, with the full path, what the plan wants and what arrived."""
    found: list[Violation] = []
    for error in errors:
        kind = error.kind
        keyword = kind.name
        where = list(error.instance_path)
        value = _value_at(event, where)
        path = dotted(where)
        paths = [path]
        if isinstance(kind, jsonschema_rs.ValidationErrorKind.Required):
            paths = [dotted([*where, kind.property])]
            message = "{path} is required"
        elif isinstance(kind, jsonschema_rs.ValidationErrorKind.AdditionalProperties):
            paths = [dotted([*where, key]) for key in kind.unexpected]
            message = "{path} is not allowed: the plan lists no such field"
        elif isinstance(kind, jsonschema_rs.ValidationErrorKind.Type):
            wanted = " or ".join(kind.types)
            message = f"{{path}} must be {_article(wanted)}, got {_json_type(value)} " + _show(
                value
            )
        elif isinstance(kind, jsonschema_rs.ValidationErrorKind.Enum):
            options = ", ".join(_show(option) for option in kind.options)
            message = f"{{path}} must be one of {options}; got " + _show(value)
        elif isinstance(kind, jsonschema_rs.ValidationErrorKind.Pattern):
            message = f"{{path}} must match /{kind.pattern}/; got " + _show(value)
        elif isinstance(kind, jsonschema_rs.ValidationErrorKind.Format):
            message = f"{{path}} must be a valid {kind.format}; got " + _show(value)
        else:
            message = "{path}: " + error.message
        for one in paths:
            violation_type: ViolationType = _KEYWORD_TYPES.get(keyword, "constraint")
            if common:
                violation_type = "common"
            elif one == "context" or one.startswith("context."):
                violation_type = "context"
            found.append(
                {
                    "type": violation_type,
                    "path": one,
                    "message": message.replace("{path}", one if one != ROOT else "the event", 1),
                    "rule": rule,
                    "keyword": keyword,
                }
            )
    return found


def _value_at(event: Any, parts: Sequence[str | int]) -> Any:
    value = event
    for part in parts:
        if isinstance(value, dict):
            value = value.get(str(part))
        elif isinstance(value, list) and isinstance(part, int) and part < len(value):
            value = value[part]
        else:
            return None
    return value


def _show(value: Any, limit: int = 60) -> str:
    text = orjson.dumps(value, default=str).decode()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _article(types: str) -> str:
    return f"an {types}" if types[:1] in "aeiou" else f"a {types}"
