"""JavaScript with JSDoc types, for projects without a TypeScript build: the same API as the
TypeScript client (typescript.py), as an ES module whose types an editor shows and `tsc
--checkJs` checks. Object types are JSDoc typedefs; functions carry @param tags.
"""

from __future__ import annotations

import json

from segemu.protocols.codegen import validator_js
from segemu.protocols.codegen.header import header_lines
from segemu.protocols.codegen.model import Names, ObjectType, build_model, camel, pascal
from segemu.protocols.codegen.typescript import (
    OWN,
    RESERVED,
    SDKS,
    call_doc,
    function_body,
    function_parts,
    marker,
    ts_type,
)
from segemu.protocols.plans import TrackingPlan

__all__ = ["SDKS", "generate"]
_IDENTIFIER_FIRST = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_$"


def generate(plan: TrackingPlan, version: str | None, sdk: str, validation: bool = False) -> str:
    types = Names(RESERVED | OWN, fallback="T")
    model = build_model(plan, version, lambda words: types.take(pascal(words)))
    functions = Names(RESERVED | OWN | {t.name for t in model.types}, fallback="e")
    names = [functions.take(camel(call.function_words)) for call in model.calls]
    target = f"javascript, {sdk}" + (", runtime validation" if validation else "")
    out = ["/* eslint-disable */", *(f"// {line}" for line in header_lines(model, target)), ""]
    out.append("// @ts-check")
    out.append("")
    for object_type in model.types:
        out += _typedef(object_type)
    prelude = _NODE_PRELUDE if sdk == "analytics-node" else _BROWSER_PRELUDE
    out += prelude.strip("\n").splitlines()
    out += _options(sdk, validation)
    if validation:
        out += validator_js.JAVASCRIPT.rstrip("\n").splitlines()
        out += ["", "/** Each call's properties or traits, as the plan states them. */"]
        out.append("/** @type {Record<string, unknown>} */")
        out.append("const schemas = {")
        out += [
            f"  {name}: {json.dumps(call.payload_schema, sort_keys=True)},"
            for call, name in zip(model.calls, names, strict=True)
        ]
        out += ["}", ""]
    for call, name in zip(model.calls, names, strict=True):
        parts = function_parts(call, sdk)
        tags = [
            f"@param {{{type_}}} {f'[{param}]' if optional else param}"
            for param, type_, optional in parts.params
        ]
        doc = "\n".join([call_doc(call), *tags, "@returns {void}"])
        signature = ", ".join(param for param, _, _ in parts.params)
        out += [marker(call), *_jsdoc(doc), f"export function {name}({signature}) {{"]
        out += function_body(parts, name, validation)
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


def _jsdoc(text: str) -> list[str]:
    lines = text.replace("*/", "*\\/").splitlines()
    return ["/**", *(f" * {line}".rstrip() for line in lines), " */"]


def _identifier(key: str) -> bool:
    return (
        bool(key)
        and key[0] in _IDENTIFIER_FIRST
        and all(c.isascii() and (c.isalnum() or c in "_$") for c in key)
    )


def _typedef(object_type: ObjectType) -> list[str]:
    lines = [object_type.description] if object_type.description else []
    plain = object_type.extra is None and all(_identifier(f.key) for f in object_type.fields)
    if plain:  # one @property per field, each with its description
        lines.append(f"@typedef {{Object}} {object_type.name}")
        for field in object_type.fields:
            name = field.key if field.required else f"[{field.key}]"
            described = f" {field.description}" if field.description else ""
            lines.append(f"@property {{{ts_type(field.type)}}} {name}{described}")
    else:  # names that are no identifiers, or an index signature: a TypeScript type literal
        members = [
            f"{f.key if _identifier(f.key) else json.dumps(f.key)}"
            f"{'' if f.required else '?'}: {ts_type(f.type)}"
            for f in object_type.fields
        ]
        if object_type.extra is not None:
            members.append(f"[property: string]: {_index(object_type)}")
        lines += [f"{f.key}: {f.description}" for f in object_type.fields if f.description]
        lines.append(f"@typedef {{{{ {', '.join(members)} }}}} {object_type.name}")
    return [*_jsdoc("\n".join(lines)), ""]


def _index(object_type: ObjectType) -> str:
    assert object_type.extra is not None
    members = {ts_type(t) for t in [object_type.extra, *(f.type for f in object_type.fields)]}
    if "unknown" in members:
        return "unknown"
    absent = ["undefined"] if any(not f.required for f in object_type.fields) else []
    return " | ".join(sorted(members) + absent)


def _options(sdk: str, validation: bool) -> list[str]:
    node = sdk == "analytics-node"
    analytics = "AnalyticsLike} analytics" if node else "AnalyticsLike} [analytics]"
    doc = [
        "@typedef {Object} TypewriterOptions",
        f"@property {{{analytics} The client every generated function sends through"
        + ("" if node else "; without one, the snippet's window.analytics"),
    ]
    if validation:
        doc.append(
            "@property {ViolationHandler} [onViolation] Called in development builds with a "
            "call that breaks the plan"
        )
    out = ["", *_jsdoc("\n".join(doc)), ""]
    out += [
        "/** @type {AnalyticsLike | undefined} */",
        "let analytics",
        "",
        "/**",
        " * Sets the client the generated functions send through; call it once at start-up.",
        " * @param {TypewriterOptions} options",
        " * @returns {void}",
        " */",
        "export function setTypewriterOptions(options) {",
        "  analytics = options.analytics",
    ]
    if validation:
        out.append("  if (options.onViolation !== undefined) onViolation = options.onViolation")
    return [*out, "}", ""]


_NODE_PRELUDE = """
/**
 * Who a call is about, as analytics-node requires: a userId, an anonymousId, or both.
 * @typedef {{ userId: string, anonymousId?: string }
 *   | { userId?: string, anonymousId: string }} Identity
 */

/**
 * What analytics-node takes besides the properties or traits.
 * @typedef {Identity & {
 *   context?: Record<string, unknown>,
 *   integrations?: Record<string, unknown>,
 *   timestamp?: Date | string,
 *   messageId?: string,
 * }} MessageOptions
 */

/**
 * @template P
 * @typedef {MessageOptions & { properties: P }} TrackMessage
 */

/**
 * @template T
 * @typedef {MessageOptions & { traits: T }} IdentifyMessage
 */

/**
 * @template T
 * @typedef {MessageOptions & { groupId: string, traits: T }} GroupMessage
 */

/**
 * @template P
 * @typedef {MessageOptions & { name?: string, category?: string, properties: P }} PageMessage
 */

/**
 * The methods of analytics-node's `Analytics` that this file calls.
 * @typedef {{
 *   track(message: MessageOptions & { event: string, properties?: object }): void,
 *   identify(message: MessageOptions & { traits?: object }): void,
 *   group(message: MessageOptions & { groupId: string, traits?: object }): void,
 *   page(
 *     message: MessageOptions & { name?: string, category?: string, properties?: object },
 *   ): void,
 *   screen(
 *     message: MessageOptions & { name?: string, category?: string, properties?: object },
 *   ): void,
 * }} AnalyticsLike
 */

/** @returns {AnalyticsLike} */
function client() {
  if (analytics === undefined) {
    throw new Error("call setTypewriterOptions({ analytics }) before sending a planned event")
  }
  return analytics
}

/**
 * @template {{ context?: Record<string, unknown> }} M
 * @param {M} message
 * @param {number} version
 * @returns {M}
 */
function withEventVersion(message, version) {
  const protocols = {
    .../** @type {object | undefined} */ (message.context?.protocols),
    event_version: version,
  }
  return { ...message, context: { ...message.context, protocols } }
}
"""

_BROWSER_PRELUDE = """
/**
 * What analytics-next takes besides the properties or traits (its Options).
 * @typedef {{
 *   context?: Record<string, unknown>,
 *   integrations?: Record<string, unknown>,
 *   timestamp?: Date | string,
 *   anonymousId?: string,
 *   userId?: string,
 *   [option: string]: unknown,
 * }} SegmentOptions
 */

/**
 * The methods of analytics-next (AnalyticsBrowser, or the snippet's window.analytics) this
 * file calls.
 * @typedef {{
 *   track(event: string, properties?: object, options?: object): unknown,
 *   identify(userId: string | null, traits?: object, options?: object): unknown,
 *   group(groupId: string, traits?: object, options?: object): unknown,
 *   page(
 *     category: string | null, name: string | null, properties?: object, options?: object,
 *   ): unknown,
 *   screen(
 *     category: string | null, name: string | null, properties?: object, options?: object,
 *   ): unknown,
 * }} AnalyticsLike
 */

/** @returns {AnalyticsLike | undefined} */
function client() {
  const global = /** @type {{ analytics?: AnalyticsLike }} */ (/** @type {unknown} */ (globalThis))
  const found = analytics ?? global.analytics
  if (found === undefined) {
    // As Typewriter did: a page whose analytics.js was blocked keeps working.
    console.warn(
      "no analytics client: call setTypewriterOptions({ analytics }) or load analytics.js",
    )
  }
  return found
}

/**
 * @param {SegmentOptions | undefined} options
 * @param {number} version
 * @returns {SegmentOptions}
 */
function withEventVersion(options, version) {
  const protocols = {
    .../** @type {object | undefined} */ (options?.context?.protocols),
    event_version: version,
  }
  return { ...options, context: { ...options?.context, protocols } }
}
"""
