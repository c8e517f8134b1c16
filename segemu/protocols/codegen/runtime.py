"""The small JSON Schema validator a generated client carries when runtime validation is on,
one per language. It covers the keywords Segment's plans use (type, enum, const, properties,
required, additionalProperties, items, anyOf, oneOf, allOf, minimum, maximum, the exclusive
bounds, minLength, maxLength, pattern, minItems, maxItems); `format` is left to segemu's check.
Paths are dotted as segemu writes them in a violation ("properties.products.0.price"), so the
two can be compared line for line.

Only in development builds: TypeScript checks unless `process.env.NODE_ENV` is "production"
(bundlers replace it, so a production bundle skips the checks), Python behind `if __debug__:`,
which `python -O` removes when it compiles the file.
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

PYTHON = r'''
class Violation(TypedDict):
    """A way a call breaks the tracking plan: where, and what is wrong."""

    path: str
    message: str


class TrackingPlanViolation(UserWarning):
    """What the default handler warns with: `warnings.simplefilter("error",
    TrackingPlanViolation)` turns a call that breaks the plan into an error in tests."""


ViolationHandler = Callable[[dict[str, object], list[Violation]], None]


def _warn(message: dict[str, object], violations: list[Violation]) -> None:
    name = message.get("event") or message.get("type")
    for violation in violations:
        warnings.warn(
            f"[tracking plan] {name}: {violation['path']} {violation['message']}",
            TrackingPlanViolation,
            stacklevel=4,
        )


_on_violation: ViolationHandler = _warn


def set_on_violation(handler: ViolationHandler | None) -> None:
    """Sets what is called, in development (not under `python -O`), with a call that breaks
    the plan and its violations; the call is still sent. None restores the default: a
    TrackingPlanViolation warning."""
    global _on_violation
    _on_violation = handler or _warn


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "integer" if value.is_integer() else "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    return "object" if isinstance(value, Mapping) else type(value).__name__


def _same(a: object, b: object) -> bool:
    # JSON Schema tells 1 from true, which Python's == does not.
    return isinstance(a, bool) == isinstance(b, bool) and a == b


def _check(schema: object, value: object, path: str, out: list[Violation]) -> None:
    if not isinstance(schema, dict):
        return
    kind = _kind(value)
    declared = schema.get("type")
    if declared is not None:
        types = declared if isinstance(declared, list) else [declared]
        if not any(t == kind or (t == "number" and kind == "integer") for t in types):
            expected = " or ".join(map(str, types))
            out.append({"path": path, "message": f"must be {expected}, got {kind}"})
            return
    enum = schema.get("enum")
    if isinstance(enum, list) and not any(_same(allowed, value) for allowed in enum):
        out.append({"path": path, "message": f"must be one of {enum!r}, got {value!r}"})
    if "const" in schema and not _same(schema["const"], value):
        out.append({"path": path, "message": f"must be {schema['const']!r}"})
    if isinstance(value, int | float) and not isinstance(value, bool):
        low, high = schema.get("minimum"), schema.get("maximum")
        above, below = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
        if isinstance(low, int | float) and value < low:
            out.append({"path": path, "message": f"must be >= {low}"})
        if isinstance(high, int | float) and value > high:
            out.append({"path": path, "message": f"must be <= {high}"})
        if isinstance(above, int | float) and value <= above:
            out.append({"path": path, "message": f"must be > {above}"})
        if isinstance(below, int | float) and value >= below:
            out.append({"path": path, "message": f"must be < {below}"})
    if isinstance(value, str):
        low, high = schema.get("minLength"), schema.get("maxLength")
        pattern = schema.get("pattern")
        if isinstance(low, int) and len(value) < low:
            out.append({"path": path, "message": f"must be at least {low} characters"})
        if isinstance(high, int) and len(value) > high:
            out.append({"path": path, "message": f"must be at most {high} characters"})
        if isinstance(pattern, str) and re.search(pattern, value) is None:
            out.append({"path": path, "message": f"must match {pattern!r}"})
    if isinstance(value, list | tuple):
        low, high, items = schema.get("minItems"), schema.get("maxItems"), schema.get("items")
        if isinstance(low, int) and len(value) < low:
            out.append({"path": path, "message": f"must have at least {low} items"})
        if isinstance(high, int) and len(value) > high:
            out.append({"path": path, "message": f"must have at most {high} items"})
        for n, item in enumerate(value):
            if isinstance(items, list):
                _check(items[n] if n < len(items) else None, item, f"{path}.{n}", out)
            else:
                _check(items, item, f"{path}.{n}", out)
    if isinstance(value, Mapping):
        properties = schema.get("properties")
        properties = properties if isinstance(properties, dict) else {}
        required = schema.get("required")
        for key in required if isinstance(required, list) else []:
            if key not in value:
                message = f"is missing the required property {key!r}"
                out.append({"path": path, "message": message})
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            if key in properties:
                _check(properties[key], item, f"{path}.{key}", out)
            elif extra is False:
                message = "is not a property the plan allows"
                out.append({"path": f"{path}.{key}", "message": message})
            else:
                _check(extra, item, f"{path}.{key}", out)
    all_of = schema.get("allOf")
    for part in all_of if isinstance(all_of, list) else []:
        _check(part, value, path, out)
    any_of, one_of = schema.get("anyOf"), schema.get("oneOf")
    if isinstance(any_of, list) and _passing(any_of, value, path) == 0:
        out.append({"path": path, "message": "must match one of anyOf"})
    if isinstance(one_of, list) and _passing(one_of, value, path) != 1:
        out.append({"path": path, "message": "must match exactly one of oneOf"})


def _passing(options: list[object], value: object, path: str) -> int:
    passed = 0
    for option in options:
        found: list[Violation] = []
        _check(option, value, path, found)
        passed += not found
    return passed


def _validate(schema: object, payload: object, container: str, message: dict[str, object]) -> None:
    violations: list[Violation] = []
    _check(schema, payload, container, violations)
    if violations:
        _on_violation(message, violations)
'''

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
