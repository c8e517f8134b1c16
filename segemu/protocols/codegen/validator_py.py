"""The validator a generated Python client carries when runtime validation is on (see
validator_js.py for what it checks and how paths are written). It runs behind `if __debug__:`,
which `python -O` removes when it compiles the file: production runs leave the check out.
"""

from __future__ import annotations

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
