"""Tracking plans: read from a file, checked, and compiled once into validators.

A plan is Segment's list of rules (Public API RuleV1, segment-wire-contract.md §7): COMMON,
TRACK, IDENTIFY, GROUP, PAGE and SCREEN rules, each with a draft-07 `jsonSchema` that wraps the
whole event. The file may hold, as Segment's tools write them:
- a list of rules, or `{"name": ..., "rules": [...]}` (a TrackingPlan with its rules; also
  typewriter's plan.json, segmentio/typewriter src/api/trackingplans.ts);
- the answer of `GET /tracking-plans/{id}/rules`: `{"data": {"rules": [...], ...}}`;
- a Config API export: `{"display_name", "rules": {"events": [...], "global", "identify",
  "group"}}` (segment-wire-contract.md §7, "Legacy Config API export");
- the authoring format (segemu/protocols/authoring.py), in YAML or JSON;
- or the CSV that Segment's Protocols UI downloads and uploads (segemu/protocols/plan_csv.py).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema_rs
import orjson

from segemu.protocols.authoring import DRAFT_07, AuthoringError, compile_plan, is_authoring
from segemu.protocols.violations import dotted

RULE_TYPES = ("COMMON", "TRACK", "IDENTIFY", "GROUP", "PAGE", "SCREEN")
# Where each kind of call keeps the fields a rule plans: properties or traits.
CONTAINERS = {
    "TRACK": "properties",
    "PAGE": "properties",
    "SCREEN": "properties",
    "IDENTIFY": "traits",
    "GROUP": "traits",
}
# Calls whose rules are found by name; IDENTIFY, GROUP and COMMON have one rule each.
NAMED = {"TRACK": "event", "PAGE": "name", "SCREEN": "name"}


def rule_label(kind: str, key: str | None, version: int) -> str:
    """How messages name a rule: "TRACK 'Order Completed' v1", "IDENTIFY v1", "COMMON"."""
    if kind == "COMMON":
        return "COMMON"
    named = f" {key!r}" if key is not None else ""
    return f"{kind}{named} v{version}"


class PlanError(ValueError):
    """A tracking plan that cannot be used: the message names the file and the rule."""


@dataclass(frozen=True, slots=True)
class Rule:
    type: str
    key: str | None
    version: int
    json_schema: dict[str, Any]
    validator: jsonschema_rs.Validator = field(repr=False, compare=False)
    # The names of the properties (or traits) the rule lists; None when it lists none at all,
    # so nothing it receives can be "unplanned".
    planned: frozenset[str] | None = None

    @property
    def label(self) -> str:
        return rule_label(self.type, self.key, self.version)

    def to_segment(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "key": self.key,
            "version": self.version,
            "jsonSchema": self.json_schema,
        }


def _with_property_ids(schema: Any) -> Any:
    """The schema with an `id` on each of its `properties.properties` (and `traits`) entries,
    `/properties/properties/properties/<name>` as Segment's Public API writes them: Typewriter
    reads a plan.json by calling `.id.replace(...)` on each property of a Track rule
    (segmentio/typewriter src/api/trackingplans.ts `sanitizeTrackingPlan`), so an export
    without them cannot be its input."""
    outer = schema.get("properties") if isinstance(schema, dict) else None
    if not isinstance(outer, dict):
        return schema
    sections: dict[str, Any] = {}
    for section in ("properties", "traits"):
        inner = outer.get(section)
        if not isinstance(inner, dict) or not isinstance(inner.get("properties"), dict):
            continue
        fields: dict[str, Any] = inner["properties"]
        sections[section] = {
            **inner,
            "properties": {
                name: {"id": f"/properties/{section}/properties/{name}", **value}
                if isinstance(value, dict) and "id" not in value
                else value
                for name, value in fields.items()
            },
        }
    if not sections:
        return schema
    return {**schema, "properties": {**outer, **sections}}


@dataclass(frozen=True, slots=True)
class TrackingPlan:
    name: str
    # The file it came from: error messages and the reload watcher name it.
    origin: str
    rules: tuple[Rule, ...]
    common: Rule | None = None
    # (type, key) -> {version: rule}
    _index: Mapping[tuple[str, str | None], Mapping[int, Rule]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def rule_for(self, kind: str, event: Mapping[str, Any]) -> Rule | None:
        """The rule that validates this call, or None if the plan has none for it.

        Event versions: `context.protocols.event_version` picks a version; a call without
        one, or with one the plan lacks, is checked against the oldest version (DOCS
        protocols/tracking-plan/create.md, "Tracking Plan Event Versioning").
        """
        rule_type = kind.upper()
        name_field = NAMED.get(rule_type)
        versions = None
        if name_field is not None:
            name = event.get(name_field)
            versions = self._index.get((rule_type, name)) if isinstance(name, str) else None
            if versions is None and rule_type != "TRACK":
                versions = self._index.get((rule_type, None))  # the rule for every page
        elif rule_type in CONTAINERS:
            versions = self._index.get((rule_type, None))
        if not versions:
            return None
        context = event.get("context")
        protocols = context.get("protocols") if isinstance(context, dict) else None
        wanted = protocols.get("event_version") if isinstance(protocols, dict) else None
        if isinstance(wanted, int) and not isinstance(wanted, bool) and wanted in versions:
            return versions[wanted]
        return versions[min(versions)]

    def names(self, rule_type: str) -> list[str]:
        return [key for (kind, key) in self._index if kind == rule_type and key is not None]

    def to_segment(self) -> dict[str, Any]:
        """The plan in Segment's format: what `GET /tracking-plans/{id}` and its rules give."""
        rules = [
            {**rule.to_segment(), "jsonSchema": _with_property_ids(rule.json_schema)}
            for rule in self.rules
        ]
        return {"name": self.name, "rules": rules}


def load_plan(path: Path) -> TrackingPlan:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise PlanError(f"{path}: tracking plan file not found") from None
    except OSError as exc:
        raise PlanError(f"{path}: cannot read the tracking plan: {exc.strerror or exc}") from None
    return plan_from_data(parse_file(data, path), str(path), path.stem)


def parse_file(data: bytes, path: Path) -> Any:
    if path.suffix.lower() == ".csv":
        from segemu.protocols.plan_csv import CsvPlanError, plan_name, rules_from_csv

        try:
            return {"name": plan_name(path.stem), "rules": rules_from_csv(data)}
        except CsvPlanError as exc:
            raise PlanError(f"{path}: {exc}") from None
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        try:
            return yaml.safe_load(data)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            problem = getattr(exc, "problem", None) or str(exc)
            raise PlanError(f"{path}: not valid YAML{where}: {problem}") from None
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise PlanError(
            f"{path}: not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None


def plan_from_data(data: Any, origin: str, default_name: str = "tracking plan") -> TrackingPlan:
    name, raw_rules = _segment_rules(data, origin)
    rules = [_compile(raw, index, origin) for index, raw in enumerate(raw_rules)]
    index: dict[tuple[str, str | None], dict[int, Rule]] = {}
    common: Rule | None = None
    for rule in rules:
        if rule.type == "COMMON":
            if common is not None:
                raise PlanError(
                    f"{origin}: more than one COMMON rule; a plan has one common JSON schema"
                )
            common = rule
            continue
        versions = index.setdefault((rule.type, rule.key), {})
        if rule.version in versions:
            raise PlanError(f"{origin}: rule {rule.label} appears twice")
        versions[rule.version] = rule
    return TrackingPlan(
        name=name or default_name, origin=origin, rules=tuple(rules), common=common, _index=index
    )


def _segment_rules(data: Any, origin: str) -> tuple[str | None, list[Any]]:
    """(plan name, raw rules) from any of the formats this module reads."""
    if isinstance(data, list):
        return None, data
    if not isinstance(data, dict):
        raise PlanError(
            f"{origin}: not a tracking plan: expected a list of rules or an object, "
            f"got {type(data).__name__}"
        )
    name = data.get("display_name") or data.get("name")
    name = name if isinstance(name, str) else None
    inner = data.get("data")
    if isinstance(inner, dict) and isinstance(inner.get("rules"), list):
        return name, inner["rules"]
    rules = data.get("rules")
    if isinstance(rules, list):
        return name, rules
    if isinstance(rules, dict):
        return name, _config_api_rules(rules, origin)
    if is_authoring(data):
        try:
            return name, compile_plan(data)
        except AuthoringError as exc:
            raise PlanError(f"{origin}: {exc}") from None
    raise PlanError(
        f"{origin}: not a tracking plan: expected Segment's rules (a list, or "
        '{"rules": [...]}) or the authoring format (track:, identify:, group:, '
        "page:, screen:, common:)"
    )


def _config_api_rules(rules: Mapping[str, Any], origin: str) -> list[Any]:
    converted: list[Any] = []
    if isinstance(rules.get("global"), dict):
        converted.append({"type": "COMMON", "jsonSchema": rules["global"]})
    for kind in ("identify", "group"):
        if isinstance(rules.get(kind), dict):
            converted.append({"type": kind.upper(), "jsonSchema": rules[kind]})
    for n, event in enumerate(rules.get("events") or []):
        if not isinstance(event, dict):
            raise PlanError(f"{origin}: rules.events[{n}] must be an object")
        converted.append(
            {
                "type": "TRACK",
                "key": event.get("name"),
                "version": event.get("version", 1),
                "jsonSchema": event.get("rules"),
            }
        )
    return converted


def _compile(raw: Any, index: int, origin: str) -> Rule:
    where = f"{origin}: rule {index + 1}"
    if not isinstance(raw, dict):
        raise PlanError(f"{where}: must be an object, got {type(raw).__name__}")
    kind = raw.get("type")
    kind = kind.upper() if isinstance(kind, str) else kind
    if kind not in RULE_TYPES:
        raise PlanError(f"{where}: type must be one of {', '.join(RULE_TYPES)}, got {kind!r}")
    key = raw.get("key")
    if kind in ("COMMON", "IDENTIFY", "GROUP"):
        key = None
    elif key is not None and (not isinstance(key, str) or not key):
        raise PlanError(f"{where} ({kind}): key must be a non-empty string, got {key!r}")
    elif kind == "TRACK" and key is None:
        raise PlanError(f"{where} (TRACK): key (the event name) is required")
    version = raw.get("version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise PlanError(
            f"{where} ({kind} {key!r}): version must be a whole number of at "
            f"least 1, got {version!r}"
        )
    where = f"{origin}: rule {index + 1} ({rule_label(kind, key, version)})"
    schema = raw.get("jsonSchema", raw.get("json_schema"))
    if schema is None:
        schema = {}
    if not isinstance(schema, dict):
        raise PlanError(f"{where}: jsonSchema must be an object, got {type(schema).__name__}")
    if "eventMetadata" in schema:
        schema = _rewrap_typewriter(schema)
    schema = schema if "$schema" in schema else {"$schema": DRAFT_07, **schema}
    try:
        jsonschema_rs.meta.validate(schema)
    except jsonschema_rs.ValidationError as exc:
        raise PlanError(
            f"{where}: jsonSchema is not a valid JSON Schema at "
            f"{dotted(exc.instance_path)}: {exc.message}"
        ) from None
    except jsonschema_rs.ReferencingError as exc:
        raise PlanError(f"{where}: jsonSchema: {exc.message}") from None
    try:
        validator = jsonschema_rs.validator_for(schema)
    except (jsonschema_rs.ValidationError, jsonschema_rs.ReferencingError, ValueError) as exc:
        raise PlanError(
            f"{where}: jsonSchema cannot be compiled: {getattr(exc, 'message', exc)}"
        ) from None
    return Rule(kind, key, version, schema, validator, _planned(schema, kind))


def _planned(schema: Mapping[str, Any], kind: str) -> frozenset[str] | None:
    container = CONTAINERS.get(kind)
    fields = schema.get("properties")
    node = fields.get(container) if container and isinstance(fields, dict) else None
    listed = node.get("properties") if isinstance(node, dict) else None
    return frozenset(listed) if isinstance(listed, dict) else None


def _rewrap_typewriter(schema: Mapping[str, Any]) -> dict[str, Any]:
    """typewriter writes plan.json with each TRACK schema unwrapped to its properties and an
    `eventMetadata` key added (segmentio/typewriter src/api/trackingplans.ts); wrap it back."""
    inner = {key: value for key, value in schema.items() if key not in ("eventMetadata", "$schema")}
    return {
        "$schema": DRAFT_07,
        "type": "object",
        "properties": {"context": {}, "traits": {}, "properties": inner},
    }


def did_you_mean(name: str, known: list[str]) -> str:
    """' (did you mean 'Order Completed'?)' for a typo or another casing of a planned name."""
    lowered = {candidate.lower(): candidate for candidate in known}
    same = lowered.get(name.lower())
    if same is not None:
        return f" (did you mean {same!r}? Names are case-sensitive)"
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.75)
    return f" (did you mean {close[0]!r}?)" if close else ""
