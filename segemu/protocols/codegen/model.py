"""A tracking plan, read as the types a typed client needs: one language-neutral model that
each language module (typescript.py, python.py) only prints.

What maps to what follows the JSON Schema keywords Segment's plans use (draft-07: `type`, also
as a list, `enum`, `const`, `properties`, `required`, `additionalProperties`, `items`, `anyOf`,
`oneOf`, `allOf`, `description`). Constraints that no type system holds (`pattern`, `format`,
`minimum`...) are left to segemu's run-time check of the same plan.

Objects without `additionalProperties` are typed closed, as Typewriter typed them: Segment's
Protocols reports a property the plan does not list as unplanned, so a typo should not compile.
`additionalProperties: true` or a schema opens them.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from segemu.protocols.plans import CONTAINERS, Rule, TrackingPlan

Scalar = str | int | float | bool | None
PRIMITIVES = ("string", "number", "integer", "boolean", "null", "any")


@dataclass(frozen=True, slots=True)
class Prim:
    kind: str  # one of PRIMITIVES


@dataclass(frozen=True, slots=True)
class Literals:
    values: tuple[Scalar, ...]


@dataclass(frozen=True, slots=True)
class ArrayOf:
    item: TypeNode


@dataclass(frozen=True, slots=True)
class MapOf:
    value: TypeNode


@dataclass(frozen=True, slots=True)
class UnionOf:
    members: tuple[TypeNode, ...]


@dataclass(frozen=True, slots=True)
class Named:
    name: str  # an ObjectType of the model


TypeNode = Prim | Literals | ArrayOf | MapOf | UnionOf | Named
ANY = Prim("any")


@dataclass(frozen=True, slots=True)
class Field:
    key: str
    type: TypeNode
    required: bool
    description: str | None


@dataclass(frozen=True, slots=True)
class ObjectType:
    name: str
    description: str | None
    fields: tuple[Field, ...]
    # The type of the keys the object does not list; None when the object is closed.
    extra: TypeNode | None


@dataclass(frozen=True, slots=True)
class Call:
    """One generated function: a planned track event, identify, group, page or screen."""

    kind: str  # "TRACK", "IDENTIFY", "GROUP", "PAGE", "SCREEN"
    key: str | None  # the event or page/screen name; None for identify, group and "any page"
    version: int
    # Set when the plan has several versions of the rule: the generated call names the
    # version it was typed for in context.protocols.event_version, which is how Segment picks
    # the rule a call is checked against (DOCS protocols/tracking-plan/create.md).
    pinned_version: int | None
    words: tuple[str, ...]  # the name, split into words; each language spells it its way
    payload: TypeNode  # the properties or traits
    payload_schema: Mapping[str, Any]  # their JSON Schema, for runtime validation
    description: str | None
    fingerprint: str  # a short hash of the rule: the drift check names what changed

    @property
    def function_words(self) -> tuple[str, ...]:
        """identify, group and "any page" are named for the call; the rest for their rule."""
        if self.kind in ("IDENTIFY", "GROUP") or self.key is None:
            return (self.kind.lower(),)
        return self.words

    @property
    def name(self) -> str:
        """How the drift check names the call: "TRACK 'Order Completed'", "IDENTIFY"."""
        return self.kind + (f" {self.key!r}" if self.key is not None else "")

    @property
    def label(self) -> str:
        return f"{self.name} v{self.version}"


@dataclass(frozen=True, slots=True)
class PlanModel:
    name: str
    version: str | None
    digest: str  # sha256 of the plan's rules in Segment's format
    calls: tuple[Call, ...]
    types: tuple[ObjectType, ...]  # in dependency order: a type comes after those it uses


def words_of(text: str) -> tuple[str, ...]:
    """'Order Completed', 'order_completed' and 'orderCompleted' all give (order, completed)."""
    found = re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+", text)
    return tuple(word.lower() for word in found)


def pascal(words: Iterable[str]) -> str:
    return "".join(word[:1].upper() + word[1:] for word in words)


def camel(words: Iterable[str]) -> str:
    spelled = pascal(words)
    return spelled[:1].lower() + spelled[1:]


def snake(words: Iterable[str]) -> str:
    return "_".join(words)


class Names:
    """Allocates identifiers deterministically: the first to ask gets the plain name, the next
    ones a numeric suffix, and reserved words (keywords, the module's own names) are never
    given out."""

    def __init__(self, reserved: Iterable[str], *, fallback: str) -> None:
        self._taken = set(reserved)
        self._fallback = fallback

    def take(self, name: str) -> str:
        if not name or not (name[0].isalpha() or name[0] == "_"):
            name = self._fallback + name
        candidate, n = name, 2
        while candidate in self._taken:
            candidate, n = f"{name}{n}", n + 1
        self._taken.add(candidate)
        return candidate


def plan_digest(plan: TrackingPlan) -> str:
    """The same plan gives the same hash whatever order its file lists the rules in."""
    rules = sorted(
        (rule.to_segment() for rule in plan.rules),
        key=lambda r: (r["type"], r["key"] or "", r["version"]),
    )
    canonical = orjson.dumps({"name": plan.name, "rules": rules}, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()


def build_model(
    plan: TrackingPlan,
    version: str | None,
    type_name: Callable[[tuple[str, ...]], str],
) -> PlanModel:
    """The plan's calls and types; `type_name` turns words into a type name that is free in
    the target language (a `Names.take` around the language's spelling)."""
    builder = _Builder(type_name)
    latest: dict[tuple[str, str | None], list[Rule]] = {}
    for rule in plan.rules:
        if rule.type in CONTAINERS:
            latest.setdefault((rule.type, rule.key), []).append(rule)
    order = {"IDENTIFY": 0, "GROUP": 1, "TRACK": 2, "PAGE": 3, "SCREEN": 4}
    calls: list[Call] = []
    for _, rules in sorted(latest.items(), key=lambda item: (order[item[0][0]], item[0][1] or "")):
        rule = max(rules, key=lambda r: r.version)
        calls.append(builder.call(rule, pinned=rule.version if len(rules) > 1 else None))
    return PlanModel(
        name=plan.name,
        version=version,
        digest=plan_digest(plan),
        calls=tuple(calls),
        types=tuple(builder.types),
    )


def _call_words(kind: str, key: str | None) -> tuple[str, ...]:
    if kind == "IDENTIFY":
        return ("identify", "traits")
    if kind == "GROUP":
        return ("group", "traits")
    named = words_of(key) if key is not None else ()
    if kind == "TRACK":
        return named or ("event",)
    prefix = kind.lower()
    return (prefix, *named) if named else (prefix, "properties")


class _Builder:
    def __init__(self, type_name: Callable[[tuple[str, ...]], str]) -> None:
        self._type_name = type_name
        self.types: list[ObjectType] = []

    def call(self, rule: Rule, pinned: int | None) -> Call:
        schema = rule.json_schema
        container = CONTAINERS[rule.type]
        outer = schema.get("properties")
        payload_schema = outer.get(container) if isinstance(outer, dict) else None
        words = _call_words(rule.type, rule.key)
        description = _text(schema.get("description"))
        if isinstance(payload_schema, dict) and payload_schema:
            payload = self.node(payload_schema, words, description, top=True)
        else:  # the rule plans nothing about the payload: any object
            payload = MapOf(ANY)
        fingerprint = hashlib.sha256(
            orjson.dumps(rule.to_segment(), option=orjson.OPT_SORT_KEYS)
        ).hexdigest()[:12]
        return Call(
            rule.type,
            rule.key,
            rule.version,
            pinned,
            words,
            payload,
            payload_schema if isinstance(payload_schema, dict) else {},
            description,
            fingerprint,
        )

    def node(
        self,
        schema: Any,
        words: tuple[str, ...],
        description: str | None = None,
        *,
        top: bool = False,
    ) -> TypeNode:
        if not isinstance(schema, dict):
            return ANY  # `true` (or a malformed schema): anything
        if "const" in schema:
            return _literals([schema["const"]])
        if isinstance(schema.get("enum"), list):
            return _literals(schema["enum"])
        for combinator in ("anyOf", "oneOf"):
            options = schema.get(combinator)
            if isinstance(options, list) and options:
                base = {k: v for k, v in schema.items() if k not in (combinator, "description")}
                members = [
                    self.node(
                        {**base, **option} if isinstance(option, dict) else option,
                        (*words, "option", str(n + 1)) if len(options) > 1 else words,
                    )
                    for n, option in enumerate(options)
                ]
                return union(members)
        if isinstance(schema.get("allOf"), list):
            return self.node(_merge_all_of(schema), words, description, top=top)
        declared = schema.get("type")
        kinds: list[str]
        if isinstance(declared, str):
            kinds = [declared]
        elif isinstance(declared, list) and declared:
            kinds = [k for k in declared if isinstance(k, str)]
        elif "properties" in schema or "additionalProperties" in schema:
            kinds = ["object"]
        elif "items" in schema:
            kinds = ["array"]
        else:
            return ANY
        members = []
        for kind in kinds:
            if kind == "object":
                members.append(self.object(schema, words, description, top=top))
            elif kind == "array":
                items = schema.get("items")
                if isinstance(items, list):  # a tuple: any of its item types
                    item = union([self.node(i, (*words, "item")) for i in items]) if items else ANY
                else:
                    item = self.node(items, (*words, "item")) if items is not None else ANY
                members.append(ArrayOf(item))
            elif kind in PRIMITIVES:
                members.append(Prim(kind))
            else:
                members.append(ANY)
        return union(members)

    def object(
        self, schema: Mapping[str, Any], words: tuple[str, ...], description: str | None, top: bool
    ) -> TypeNode:
        properties = schema.get("properties")
        properties = properties if isinstance(properties, dict) else {}
        extra_schema = schema.get("additionalProperties")
        extra: TypeNode | None
        if extra_schema is False:
            extra = None
        elif isinstance(extra_schema, dict):
            extra = self.node(extra_schema, (*words, "value"))
        elif extra_schema is True or not properties:
            extra = ANY
        else:
            extra = None
        if not properties:
            return MapOf(extra) if extra is not None else MapOf(ANY)
        required = schema.get("required")
        required_keys = set(required) if isinstance(required, list) else set()
        fields = tuple(
            Field(
                key,
                self.node(value, (*words, *(words_of(key) or ("field",)))),
                key in required_keys,
                _text(value.get("description")) if isinstance(value, dict) else None,
            )
            for key, value in properties.items()
        )
        name = self._type_name(words)
        own = _text(schema.get("description")) or (description if top else None)
        self.types.append(ObjectType(name, own, fields, extra))
        return Named(name)


def _merge_all_of(schema: Mapping[str, Any]) -> dict[str, Any]:
    """allOf of object schemas, as one object: every part's properties and requirements."""
    merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
    properties: dict[str, Any] = dict(merged.get("properties") or {})
    required: list[Any] = list(merged.get("required") or [])
    for part in schema["allOf"]:
        if not isinstance(part, dict):
            continue
        if isinstance(part.get("allOf"), list):
            part = _merge_all_of(part)
        properties.update(part.get("properties") or {})
        required += [r for r in part.get("required") or [] if r not in required]
        for key, value in part.items():
            if key not in ("properties", "required"):
                merged.setdefault(key, value)
    if properties:
        merged["properties"] = properties
        merged.setdefault("type", "object")
    if required:
        merged["required"] = required
    return merged


def _literals(values: list[Any]) -> TypeNode:
    scalars = tuple(v for v in values if v is None or isinstance(v, str | int | float | bool))
    if len(scalars) != len(values) or not scalars:
        return ANY  # an enum of objects or arrays: no literal type holds it
    # Deduplicated by type and value: in Python True == 1, in JSON Schema they differ.
    unique = {(type(v), v): v for v in scalars}
    return Literals(tuple(unique.values()))


def union(members: Iterable[TypeNode]) -> TypeNode:
    flat: list[TypeNode] = []
    for member in members:
        for part in member.members if isinstance(member, UnionOf) else (member,):
            if part not in flat:
                flat.append(part)
    if ANY in flat:
        return ANY
    return flat[0] if len(flat) == 1 else UnionOf(tuple(flat))


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def plan_version(data: Any) -> str | None:
    """The plan's version as its file states it (`version`, or the Public API's
    `data.trackingPlan.version`/`updatedAt`); None when it states none."""
    if not isinstance(data, dict):
        return None
    for holder in (
        data,
        data.get("data"),
        (data.get("data") or {}).get("trackingPlan")
        if isinstance(data.get("data"), dict)
        else None,
    ):
        if isinstance(holder, dict):
            for key in ("version", "updatedAt", "updated_at"):
                value = holder.get(key)
                if isinstance(value, str | int) and not isinstance(value, bool):
                    return str(value)
    return None
