"""The small JSON Schema validator a generated client carries when runtime validation is on,
for TypeScript and, with JSDoc types, JavaScript (validator_py.py holds Python's). It covers
the keywords Segment's plans use (type, enum, const, properties, required,
additionalProperties, items, anyOf, oneOf, allOf, minimum, maximum, the exclusive bounds,
minLength, maxLength, pattern, minItems, maxItems); `format` is left to segemu's check. Paths
are dotted as segemu writes them in a violation ("properties.products.0.price"), so the two
can be compared line for line.

Only in development builds: the check runs unless `process.env.NODE_ENV` is "production"
(bundlers write it in, so a production bundle skips the checks and minifiers can drop them).
"""

from __future__ import annotations

TYPESCRIPT = r"""
/** A way a call breaks the tracking plan: where, and what is wrong. */
export interface Violation {
  path: string
  message: string
}

/** Called, in development builds, with a call that breaks the plan (it is still sent). */
export type ViolationHandler = (message: Record<string, unknown>, violations: Violation[]) => void

declare const process: { env: { NODE_ENV?: string } }

// Bundlers replace process.env.NODE_ENV, so a production bundle reads "production" here and
// skips every check (minifiers can then drop them); Node reads its environment; a page
// without a bundler has no process at all, and is taken for development.
const DEVELOPMENT: boolean = (() => {
  try {
    return process.env.NODE_ENV !== "production"
  } catch {
    return true
  }
})()

let onViolation: ViolationHandler = (message, violations) => {
  const name = String(message.event ?? message.type)
  for (const violation of violations) {
    console.warn(`[tracking plan] ${name}: ${violation.path} ${violation.message}`)
  }
}

function kindOf(value: unknown): string {
  if (value === null) return "null"
  if (Array.isArray(value)) return "array"
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number"
  return typeof value
}

function isType(type: unknown, value: unknown): boolean {
  const kind = kindOf(value)
  return type === kind || (type === "number" && kind === "integer")
}

function same(a: unknown, b: unknown): boolean {
  return a === b || (typeof a === "object" && JSON.stringify(a) === JSON.stringify(b))
}

function check(schema: unknown, value: unknown, path: string, out: Violation[]): void {
  if (typeof schema !== "object" || schema === null) return
  const s = schema as Record<string, unknown>
  const fail = (message: string): void => {
    out.push({ path, message })
  }
  if (s.type !== undefined) {
    const types = Array.isArray(s.type) ? s.type : [s.type]
    if (!types.some((type) => isType(type, value))) {
      fail(`must be ${types.join(" or ")}, got ${kindOf(value)}`)
      return
    }
  }
  if (Array.isArray(s.enum) && !s.enum.some((allowed) => same(allowed, value))) {
    fail(`must be one of ${JSON.stringify(s.enum)}, got ${JSON.stringify(value)}`)
  }
  if ("const" in s && !same(s.const, value)) fail(`must be ${JSON.stringify(s.const)}`)
  if (typeof value === "number") {
    if (typeof s.minimum === "number" && value < s.minimum) fail(`must be >= ${s.minimum}`)
    if (typeof s.maximum === "number" && value > s.maximum) fail(`must be <= ${s.maximum}`)
    const low = s.exclusiveMinimum
    if (typeof low === "number" && value <= low) fail(`must be > ${low}`)
    const high = s.exclusiveMaximum
    if (typeof high === "number" && value >= high) fail(`must be < ${high}`)
  }
  if (typeof value === "string") {
    const length = [...value].length
    if (typeof s.minLength === "number" && length < s.minLength) {
      fail(`must be at least ${s.minLength} characters`)
    }
    if (typeof s.maxLength === "number" && length > s.maxLength) {
      fail(`must be at most ${s.maxLength} characters`)
    }
    if (typeof s.pattern === "string" && !new RegExp(s.pattern, "u").test(value)) {
      fail(`must match ${JSON.stringify(s.pattern)}`)
    }
  }
  if (Array.isArray(value)) {
    if (typeof s.minItems === "number" && value.length < s.minItems) {
      fail(`must have at least ${s.minItems} items`)
    }
    if (typeof s.maxItems === "number" && value.length > s.maxItems) {
      fail(`must have at most ${s.maxItems} items`)
    }
    value.forEach((item, n) => {
      const itemSchema = Array.isArray(s.items) ? s.items[n] : s.items
      check(itemSchema, item, `${path}.${n}`, out)
    })
  }
  if (kindOf(value) === "object") {
    const object = value as Record<string, unknown>
    const properties = (s.properties ?? {}) as Record<string, unknown>
    if (Array.isArray(s.required)) {
      for (const key of s.required as string[]) {
        if (!(key in object)) fail(`is missing the required property ${JSON.stringify(key)}`)
      }
    }
    for (const [key, item] of Object.entries(object)) {
      if (key in properties) check(properties[key], item, `${path}.${key}`, out)
      else if (s.additionalProperties === false) {
        out.push({ path: `${path}.${key}`, message: "is not a property the plan allows" })
      } else check(s.additionalProperties, item, `${path}.${key}`, out)
    }
  }
  if (Array.isArray(s.allOf)) for (const part of s.allOf) check(part, value, path, out)
  const passing = (options: unknown[]) =>
    options.filter((option) => {
      const found: Violation[] = []
      check(option, value, path, found)
      return found.length === 0
    }).length
  if (Array.isArray(s.anyOf) && passing(s.anyOf) === 0) fail("must match one of anyOf")
  if (Array.isArray(s.oneOf) && passing(s.oneOf) !== 1) fail("must match exactly one of oneOf")
}

function validate(
  schema: unknown,
  payload: unknown,
  container: string,
  message: Record<string, unknown>,
): void {
  const violations: Violation[] = []
  check(schema, payload, container, violations)
  if (violations.length > 0) onViolation(message, violations)
}
"""


JAVASCRIPT = r"""
/**
 * A way a call breaks the tracking plan: where, and what is wrong.
 * @typedef {{ path: string, message: string }} Violation
 */

/**
 * Called, in development builds, with a call that breaks the plan (it is still sent).
 * @typedef {(message: Record<string, unknown>, violations: Violation[]) => void} ViolationHandler
 */

// Bundlers replace process.env.NODE_ENV, so a production bundle reads "production" here and
// skips every check (minifiers can then drop them); Node reads its environment; a page
// without a bundler has no process at all, and is taken for development.
const DEVELOPMENT = (() => {
  try {
    // @ts-ignore: process exists in Node and after a bundler, and is caught where it does not
    return process.env.NODE_ENV !== "production"
  } catch {
    return true
  }
})()

/** @type {ViolationHandler} */
let onViolation = (message, violations) => {
  const name = String(message.event ?? message.type)
  for (const violation of violations) {
    console.warn(`[tracking plan] ${name}: ${violation.path} ${violation.message}`)
  }
}

/** @param {unknown} value */
function kindOf(value) {
  if (value === null) return "null"
  if (Array.isArray(value)) return "array"
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number"
  return typeof value
}

/** @param {unknown} type @param {unknown} value */
function isType(type, value) {
  const kind = kindOf(value)
  return type === kind || (type === "number" && kind === "integer")
}

/** @param {unknown} a @param {unknown} b */
function same(a, b) {
  return a === b || (typeof a === "object" && JSON.stringify(a) === JSON.stringify(b))
}

/**
 * @param {unknown} schema
 * @param {unknown} value
 * @param {string} path
 * @param {Violation[]} out
 * @returns {void}
 */
function check(schema, value, path, out) {
  if (typeof schema !== "object" || schema === null) return
  const s = /** @type {Record<string, unknown>} */ (schema)
  /** @param {string} message */
  const fail = (message) => {
    out.push({ path, message })
  }
  if (s.type !== undefined) {
    const types = Array.isArray(s.type) ? s.type : [s.type]
    if (!types.some((type) => isType(type, value))) {
      fail(`must be ${types.join(" or ")}, got ${kindOf(value)}`)
      return
    }
  }
  if (Array.isArray(s.enum) && !s.enum.some((allowed) => same(allowed, value))) {
    fail(`must be one of ${JSON.stringify(s.enum)}, got ${JSON.stringify(value)}`)
  }
  if ("const" in s && !same(s.const, value)) fail(`must be ${JSON.stringify(s.const)}`)
  if (typeof value === "number") {
    if (typeof s.minimum === "number" && value < s.minimum) fail(`must be >= ${s.minimum}`)
    if (typeof s.maximum === "number" && value > s.maximum) fail(`must be <= ${s.maximum}`)
    const low = s.exclusiveMinimum
    if (typeof low === "number" && value <= low) fail(`must be > ${low}`)
    const high = s.exclusiveMaximum
    if (typeof high === "number" && value >= high) fail(`must be < ${high}`)
  }
  if (typeof value === "string") {
    const length = [...value].length
    if (typeof s.minLength === "number" && length < s.minLength) {
      fail(`must be at least ${s.minLength} characters`)
    }
    if (typeof s.maxLength === "number" && length > s.maxLength) {
      fail(`must be at most ${s.maxLength} characters`)
    }
    if (typeof s.pattern === "string" && !new RegExp(s.pattern, "u").test(value)) {
      fail(`must match ${JSON.stringify(s.pattern)}`)
    }
  }
  if (Array.isArray(value)) {
    if (typeof s.minItems === "number" && value.length < s.minItems) {
      fail(`must have at least ${s.minItems} items`)
    }
    if (typeof s.maxItems === "number" && value.length > s.maxItems) {
      fail(`must have at most ${s.maxItems} items`)
    }
    value.forEach((item, n) => {
      const itemSchema = Array.isArray(s.items) ? s.items[n] : s.items
      check(itemSchema, item, `${path}.${n}`, out)
    })
  }
  if (kindOf(value) === "object") {
    const object = /** @type {Record<string, unknown>} */ (value)
    const properties = /** @type {Record<string, unknown>} */ (s.properties ?? {})
    if (Array.isArray(s.required)) {
      for (const key of s.required) {
        if (!(key in object)) fail(`is missing the required property ${JSON.stringify(key)}`)
      }
    }
    for (const [key, item] of Object.entries(object)) {
      if (key in properties) check(properties[key], item, `${path}.${key}`, out)
      else if (s.additionalProperties === false) {
        out.push({ path: `${path}.${key}`, message: "is not a property the plan allows" })
      } else check(s.additionalProperties, item, `${path}.${key}`, out)
    }
  }
  if (Array.isArray(s.allOf)) for (const part of s.allOf) check(part, value, path, out)
  /** @param {unknown[]} options */
  const passing = (options) =>
    options.filter((option) => {
      /** @type {Violation[]} */
      const found = []
      check(option, value, path, found)
      return found.length === 0
    }).length
  if (Array.isArray(s.anyOf) && passing(s.anyOf) === 0) fail("must match one of anyOf")
  if (Array.isArray(s.oneOf) && passing(s.oneOf) !== 1) fail("must match exactly one of oneOf")
}

/**
 * @param {unknown} schema
 * @param {unknown} payload
 * @param {string} container
 * @param {Record<string, unknown>} message
 * @returns {void}
 */
function validate(schema, payload, container, message) {
  /** @type {Violation[]} */
  const violations = []
  check(schema, payload, container, violations)
  if (violations.length > 0) onViolation(message, violations)
}
"""
