"""TypeScript for @segment/analytics-node and @segment/analytics-next, in the shape Typewriter
generated (segmentio/typewriter, its TypeScript templates): `setTypewriterOptions({ analytics })`
once, then one function per planned event, named after it (`orderCompleted(...)`), each taking
an interface named after the event. analytics-node functions take the whole message
(`{ userId, properties }`, as `analytics.track` does); analytics-next ones take the properties
and the SDK's options, as `analytics.track(event, properties, options)` does.

The file imports nothing: the SDK is described by the few methods it calls, so the file
compiles without the SDK's types and accepts the SDK's own `Analytics`, `AnalyticsBrowser` or
the snippet's `window.analytics`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from segemu.protocols.codegen import validator_js
from segemu.protocols.codegen.header import MARKER, header_lines
from segemu.protocols.codegen.model import (
    ArrayOf,
    Call,
    Literals,
    MapOf,
    Names,
    ObjectType,
    Prim,
    TypeNode,
    UnionOf,
    build_model,
    camel,
    pascal,
)
from segemu.protocols.codegen.typescript_sdk import BROWSER_PRELUDE, NODE_PRELUDE
from segemu.protocols.plans import TrackingPlan

SDKS = ("analytics-node", "analytics-next")
# ECMAScript reserved words and TypeScript's own type names: never given to a generated name.
RESERVED = frozenset(
    [
        "break",
        "case",
        "catch",
        "class",
        "const",
        "continue",
        "debugger",
        "default",
        "delete",
        "do",
        "else",
        "enum",
        "export",
        "extends",
        "false",
        "finally",
        "for",
        "function",
        "if",
        "import",
        "in",
        "instanceof",
        "new",
        "null",
        "return",
        "super",
        "switch",
        "this",
        "throw",
        "true",
        "try",
        "typeof",
        "var",
        "void",
        "while",
        "with",
        "implements",
        "interface",
        "let",
        "package",
        "private",
        "protected",
        "public",
        "static",
        "yield",
        "await",
        "any",
        "unknown",
        "never",
        "string",
        "number",
        "boolean",
        "object",
        "symbol",
        "bigint",
        "undefined",
        "Array",
        "Record",
        "Date",
        "Error",
        "Object",
        "String",
        "Number",
        "Boolean",
        "Promise",
    ]
)
# The module's own names.
OWN = frozenset(
    [
        "setTypewriterOptions",
        "TypewriterOptions",
        "AnalyticsLike",
        "SegmentOptions",
        "Identity",
        "TrackMessage",
        "IdentifyMessage",
        "GroupMessage",
        "PageMessage",
        "analytics",
        "client",
        "typewriter",
    ]
)
_IDENTIFIER = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")


def generate(plan: TrackingPlan, version: str | None, sdk: str, validation: bool = False) -> str:
    types = Names(RESERVED | OWN, fallback="T")
    model = build_model(plan, version, lambda words: types.take(pascal(words)))
    functions = Names(RESERVED | OWN | {t.name for t in model.types}, fallback="e")
    names = [functions.take(camel(call.function_words)) for call in model.calls]
    target = f"typescript, {sdk}" + (", runtime validation" if validation else "")
    out = ["/* eslint-disable */", *(f"// {line}" for line in header_lines(model, target)), ""]
    for object_type in model.types:
        out += _interface(object_type)
    prelude = NODE_PRELUDE if sdk == "analytics-node" else BROWSER_PRELUDE
    out += prelude.strip("\n").splitlines()
    out += _options(sdk, validation)
    if validation:
        out += validator_js.TYPESCRIPT.rstrip("\n").splitlines()
        out += ["", "/** Each call's properties or traits, as the plan states them. */"]
        out.append("const schemas: Record<string, unknown> = {")
        out += [
            f"  {name}: {json.dumps(call.payload_schema, sort_keys=True)},"
            for call, name in zip(model.calls, names, strict=True)
        ]
        out += ["}", ""]
    for call, name in zip(model.calls, names, strict=True):
        out += _function(call, name, sdk, validation)
    out += [
        "/** Every generated function, as Typewriter's default export offered them. */",
        "const typewriter = {",
        "  setTypewriterOptions,",
        *(f"  {name}," for name in names),
        "}",
        "export default typewriter",
        "",
    ]
    return "\n".join(out)


def _options(sdk: str, validation: bool) -> list[str]:
    node = sdk == "analytics-node"
    out = ["", "export interface TypewriterOptions {"]
    if node:
        out += [
            "  /** The analytics-node client every generated function sends through. */",
            "  analytics: AnalyticsLike",
        ]
    else:
        out += [
            "  /** The client to send through; without one, the snippet's window.analytics. */",
            "  analytics?: AnalyticsLike",
        ]
    if validation:
        out += [
            "  /** Called in development builds with a call that breaks the plan. */",
            "  onViolation?: ViolationHandler",
        ]
    out += [
        "}",
        "",
        "let analytics: AnalyticsLike | undefined",
        "",
        "/** Sets the client the generated functions send through; call it once at start-up. */",
        "export function setTypewriterOptions(options: TypewriterOptions): void {",
        "  analytics = options.analytics",
    ]
    if validation:
        out.append("  if (options.onViolation !== undefined) onViolation = options.onViolation")
    return [*out, "}", ""]


def ts_type(node: TypeNode) -> str:
    if isinstance(node, Prim):
        return {"integer": "number", "any": "unknown"}.get(node.kind, node.kind)
    if isinstance(node, Literals):
        return " | ".join(json.dumps(v) for v in node.values)
    if isinstance(node, ArrayOf):
        inner = ts_type(node.item)
        return f"{inner}[]" if _IDENTIFIER.match(inner) else f"Array<{inner}>"
    if isinstance(node, MapOf):
        return f"Record<string, {ts_type(node.value)}>"
    if isinstance(node, UnionOf):
        return " | ".join(ts_type(m) for m in node.members)
    return node.name


def _doc(text: str | None, indent: str = "") -> list[str]:
    if not text:
        return []
    lines = text.replace("*/", "*\\/").splitlines()
    if len(lines) == 1:
        return [f"{indent}/** {lines[0]} */"]
    return [f"{indent}/**", *(f"{indent} * {line}".rstrip() for line in lines), f"{indent} */"]


def _key(key: str) -> str:
    return key if _IDENTIFIER.match(key) else json.dumps(key)


def _interface(object_type: ObjectType) -> list[str]:
    out = [*_doc(object_type.description), f"export interface {object_type.name} {{"]
    for field in object_type.fields:
        out += _doc(field.description, "  ")
        optional = "" if field.required else "?"
        out.append(f"  {_key(field.key)}{optional}: {ts_type(field.type)}")
    if object_type.extra is not None:
        # An index signature must admit every listed property's type too.
        value = object_type.extra
        listed = [f.type for f in object_type.fields]
        members = {ts_type(t) for t in [value, *listed]}
        if "unknown" in members:
            index = "unknown"
        else:
            absent = ["undefined"] if any(not f.required for f in object_type.fields) else []
            index = " | ".join(sorted(members) + absent)
        out.append("  /** Properties the plan does not list, which it allows. */")
        out.append(f"  [property: string]: {index}")
    return [*out, "}", ""]


def marker(call: Call) -> str:
    return f"// {MARKER} {call.name} {call.fingerprint}"


def _context(call: Call, options: str) -> str:
    """The options, with the rule version pinned when the plan has several."""
    if call.pinned_version is None:
        return options
    return f"withEventVersion({options}, {call.pinned_version})"


@dataclass(frozen=True, slots=True)
class FunctionParts:
    """One generated function, apart from its language's spelling of types."""

    params: list[tuple[str, str, bool]]  # name, TypeScript type, optional
    sent: str | None  # the message built before sending, as `call`
    body: list[str]
    container: str  # "properties" or "traits"
    checked: str  # the expression holding them
    described: str  # the message handed to onViolation


def function_parts(call: Call, sdk: str) -> FunctionParts:
    payload = ts_type(call.payload)
    kind = call.kind.lower()
    key = json.dumps(call.key)
    container = "traits" if call.kind in ("IDENTIFY", "GROUP") else "properties"
    if sdk == "analytics-node":
        message = {
            "TRACK": "TrackMessage",
            "IDENTIFY": "IdentifyMessage",
            "GROUP": "GroupMessage",
        }.get(call.kind, "PageMessage")
        if call.kind == "TRACK":
            sent = f"{{ ...{_context(call, 'message')}, event: {key} }}"
        elif call.key is not None:  # a named page or screen
            sent = f"{{ ...message, name: {key} }}"
        else:
            sent = "message"
        return FunctionParts(
            [("message", f"{message}<{payload}>", False)],
            sent,
            [f"  client().{kind}(call)"],
            container,
            f"call.{container}",
            f'{{ type: "{kind}", ...call }}',
        )
    options = ("options", "SegmentOptions", True)
    if call.kind == "TRACK":
        params = [("properties", payload, False), options]
        body = [f"  client()?.track({key}, properties, {_context(call, 'options')})"]
        described = f'{{ type: "track", event: {key}, properties }}'
    elif call.kind == "IDENTIFY":
        params = [("userId", "string | null", False), ("traits", payload, False), options]
        body = ["  client()?.identify(userId, traits, options)"]
        described = '{ type: "identify", userId, traits }'
    elif call.kind == "GROUP":
        params = [("groupId", "string", False), ("traits", payload, False), options]
        body = ["  client()?.group(groupId, traits, options)"]
        described = '{ type: "group", groupId, traits }'
    elif call.key is not None:
        params = [("properties", payload, False), options]
        body = [f"  client()?.{kind}(null, {key}, properties, options)"]
        described = f'{{ type: "{kind}", name: {key}, properties }}'
    else:
        params = [
            ("category", "string | null", False),
            ("name", "string | null", False),
            ("properties", payload, False),
            options,
        ]
        body = [f"  client()?.{kind}(category, name, properties, options)"]
        described = f'{{ type: "{kind}", category, name, properties }}'
    return FunctionParts(params, None, body, container, container, described)


def function_body(parts: FunctionParts, name: str, validation: bool) -> list[str]:
    out = [f"  const call = {parts.sent}"] if parts.sent is not None else []
    if validation:
        out += [
            "  if (DEVELOPMENT) {",
            f'    validate(schemas.{name}, {parts.checked}, "{parts.container}", '
            f"{parts.described})",
            "  }",
        ]
    return [*out, *parts.body, "}", ""]


def call_doc(call: Call) -> str:
    return "\n".join(filter(None, [call.description, f"Sends {call.label} of the plan."]))


def _function(call: Call, name: str, sdk: str, validation: bool) -> list[str]:
    parts = function_parts(call, sdk)
    signature = ", ".join(
        f"{param}{'?' if optional else ''}: {type_}" for param, type_, optional in parts.params
    )
    head = [marker(call), *_doc(call_doc(call)), f"export function {name}({signature}): void {{"]
    return [*head, *function_body(parts, name, validation)]
