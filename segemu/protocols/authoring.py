"""The authoring format: a tracking plan a person writes by hand (YAML or JSON), compiled to
Segment's own rules (DOCS protocols/tracking-plan/create.md; segment-wire-contract.md §7).

    name: Shop
    track:
      Order Completed:
        description: The shopper paid
        properties:
          order_id: {type: string, required: true}
          revenue: number
          currency: [USD, EUR]            # a list is an enum
          coupon: string?                 # `?`: the value may also be null
          products:
            type: array
            items:
              product_id: {type: string, required: true}
              price: number
      Product Viewed: {}                  # planned, with no properties
    identify:
      traits:
        email: {type: string, format: email}
    group:
      traits: {plan: string}
    page:
      Home: {}
      "*": {properties: {title: string}}  # every other page
    screen: {}
    common:                               # applies to every call: fields of the whole event
      context:
        properties:
          library: {type: object, required: true}

A property is a type name (string, number, integer, boolean, object, array, null, any,
date-time), a list of permitted values, or a mapping of JSON Schema keywords with three
shorthands: `required: true` (collected into the parent's `required`), `properties` / `items`
whose values are properties again, and `additional_properties: false`. Every other JSON Schema
keyword (minimum, maxLength, pattern, format, const, ...) is passed through as written.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

DRAFT_07 = "http://json-schema.org/draft-07/schema#"
AUTHORING_KEYS = ("track", "identify", "group", "page", "screen", "common")
TOP_KEYS = ("name", "description", *AUTHORING_KEYS)
EVENT_KEYS = (
    "description",
    "properties",
    "traits",
    "context",
    "additional_properties",
    "labels",
    "version",
)
TYPES = ("string", "number", "integer", "boolean", "object", "array", "null")
# The Tracking Plan editor's "Date time" type is a string in ISO-8601 format (DOCS
# protocols/tracking-plan/create.md, "Specifying data type").
ALIASES: dict[str, dict[str, Any]] = {
    "any": {},
    "date-time": {"type": "string", "format": "date-time"},
    "datetime": {"type": "string", "format": "date-time"},
}
_SHORTHANDS = ("required", "properties", "items", "additional_properties")


class AuthoringError(ValueError):
    """A mistake in a hand-written plan; the message starts with the entry's path."""


def is_authoring(data: Any) -> bool:
    return isinstance(data, dict) and "rules" not in data and any(k in data for k in AUTHORING_KEYS)


def compile_plan(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Segment rules ({type, key, version, jsonSchema}) from the authoring format."""
    for section in data:
        if section not in TOP_KEYS:
            raise AuthoringError(
                f"{section}: unknown section; expected one of {', '.join(TOP_KEYS)}"
            )
    rules: list[dict[str, Any]] = []
    if data.get("common") is not None:
        rules.append(common_rule(_mapping(data["common"], "common"), "common"))
    for kind, container in (
        ("track", "properties"),
        ("page", "properties"),
        ("screen", "properties"),
    ):
        events = _mapping(data.get(kind) or {}, kind)
        for name, spec in events.items():
            where = f"{kind}.{name!r}"
            if not isinstance(name, str) or not name:
                raise AuthoringError(f"{kind}: event names must be non-empty strings, got {name!r}")
            spec = _mapping(spec or {}, where)
            key: str | None = None if kind != "track" and name == "*" else name
            rules.append(event_rule(kind.upper(), key, spec, container, where))
    for kind in ("identify", "group"):
        if data.get(kind) is not None:
            spec = _mapping(data[kind], kind)
            rules.append(event_rule(kind.upper(), None, spec, "traits", kind))
    return rules


def common_rule(fields: Mapping[str, Any], where: str) -> dict[str, Any]:
    """The COMMON rule: `fields` are fields of the whole event (context, userId, ...)."""
    schema = {"$schema": DRAFT_07, "type": "object", **_object(fields, where)}
    return {"type": "COMMON", "key": None, "version": 1, "jsonSchema": schema}


def event_rule(
    kind: str, key: str | None, spec: Mapping[str, Any], container: str, where: str
) -> dict[str, Any]:
    for name in spec:
        if name not in EVENT_KEYS:
            raise AuthoringError(
                f"{where}: unknown key {name!r}; expected one of {', '.join(EVENT_KEYS)}"
            )
    planned = _mapping(spec.get(container) or {}, f"{where}.{container}")
    body = _object(planned, f"{where}.{container}")
    if spec.get("additional_properties") is False:
        body["additionalProperties"] = False
    # Segment's rule shape: the schema wraps the whole event; `properties` (or `traits`) is
    # one field of it, `context` another (segment-wire-contract.md §7).
    fields: dict[str, Any] = {"context": {}, "traits": {}, "properties": {}}
    fields[container] = {"type": "object", **body}
    if spec.get("context") is not None:
        context = _mapping(spec["context"], f"{where}.context")
        fields["context"] = {"type": "object", **_object(context, f"{where}.context")}
    schema: dict[str, Any] = {
        "$schema": DRAFT_07,
        "type": "object",
        "labels": dict(_mapping(spec.get("labels") or {}, f"{where}.labels")),
        "properties": fields,
    }
    if spec.get("description") is not None:
        schema["description"] = str(spec["description"])
    version = spec.get("version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise AuthoringError(
            f"{where}.version: must be a whole number of at least 1, got {version!r}"
        )
    return {"type": kind, "key": key, "version": version, "jsonSchema": schema}


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise AuthoringError(f"{where}: expected a mapping, got {_kind(value)} {value!r}")
    return value


def _object(properties: Mapping[str, Any], where: str) -> dict[str, Any]:
    """{"properties": {...}, "required": [...]} from a mapping of name: property."""
    compiled: dict[str, Any] = {}
    required: list[str] = []
    for name, spec in properties.items():
        schema, is_required = property_schema(spec, f"{where}.{name}")
        compiled[str(name)] = schema
        if is_required:
            required.append(str(name))
    body: dict[str, Any] = {"properties": compiled}
    if required:
        body["required"] = required
    return body


def property_schema(spec: Any, where: str) -> tuple[dict[str, Any], bool]:
    """(JSON Schema, required?) of one property."""
    if isinstance(spec, str):
        return _type_name(spec, where), False
    if isinstance(spec, list):
        return {"enum": list(spec)}, False
    if spec is None:
        return {}, False
    if not isinstance(spec, dict):
        raise AuthoringError(
            f"{where}: expected a type name, a list of values or a mapping, "
            f"got {_kind(spec)} {spec!r}"
        )
    required = spec.get("required", False)
    if not isinstance(required, bool):
        raise AuthoringError(f"{where}.required: must be true or false, got {required!r}")
    schema: dict[str, Any] = {}
    kind = spec.get("type")
    if isinstance(kind, str):
        schema.update(_type_name(kind, f"{where}.type"))
    elif kind is not None:
        schema["type"] = kind
    for keyword, value in spec.items():
        if keyword not in (*_SHORTHANDS, "type"):
            schema[keyword] = value
    if spec.get("properties") is not None:
        nested = _object(_mapping(spec["properties"], f"{where}.properties"), f"{where}.properties")
        schema.setdefault("type", "object")
        schema.update(nested)
    if spec.get("additional_properties") is False:
        schema["additionalProperties"] = False
    items = spec.get("items")
    if items is not None:
        schema.setdefault("type", "array")
        if isinstance(items, dict) and "type" not in items and not _has_keywords(items):
            # `items: {sku: string}`: an array of objects with these properties.
            schema["items"] = {"type": "object", **_object(items, f"{where}.items")}
        else:
            schema["items"], _ = property_schema(items, f"{where}.items")
    return schema, required


def _has_keywords(spec: Mapping[str, Any]) -> bool:
    return any(
        key in spec
        for key in ("enum", "const", "format", "pattern", "anyOf", "oneOf", "$ref", "properties")
    )


def _type_name(name: str, where: str) -> dict[str, Any]:
    nullable = name.endswith("?")
    base = name[:-1] if nullable else name
    if base in ALIASES:
        schema = dict(ALIASES[base])
    elif base in TYPES:
        schema = {"type": base}
    else:
        import difflib

        known = (*TYPES, *ALIASES)
        close = difflib.get_close_matches(base, known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise AuthoringError(
            f"{where}: unknown type {name!r}{hint}; known types: {', '.join(known)}"
        )
    if nullable and "type" in schema:
        schema["type"] = [schema["type"], "null"]
    return schema


def _kind(value: Any) -> str:
    return type(value).__name__
