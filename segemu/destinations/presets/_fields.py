"""An action's fields, and what Segment does to a mapped payload before `perform` sees it.

In action-destinations every action declares typed fields (label, type, required, default
mapping...). Between the mapping and `perform`, the framework (packages/core/src/destination-kit
/action.ts, `executeMapping`) does three things this module reproduces:
1. removeEmptyValues (packages/core/src/remove-empty-values.ts): `null` is dropped from a field
   that does not allow null, `""` from a field that is not a string, and `""` from every
   top-level field;
2. arrayifying `multiple` fields (packages/core/src/arrify.ts);
3. JSON-schema validation with Ajv (packages/core/src/schema-validation.ts) configured with
   `coerceTypes: 'array'` (numbers in strings become numbers, scalars become strings...) and
   `removeAdditional: true` (keys that are not fields are dropped; nested objects keep only their
   declared properties unless they allow additional ones). The schema comes from
   destination-kit/fields-to-jsonschema.ts: `datetime` is a string or a number that dayjs can
   read; `allowNull` adds `null`. Failures read as @segment/ajv-human-errors words them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from segemu.destinations.base import Action, Preset, Request
from segemu.destinations.presets._support import (
    MISSING,
    PayloadValidationError,
    both_spellings,
    js_string,
    parse_date,
)

FieldType = Literal["string", "number", "integer", "boolean", "object", "datetime"]


class _NoDefault:
    def __repr__(self) -> str:
        return "NO_DEFAULT"


NO_DEFAULT: Final = _NoDefault()


@dataclass(frozen=True, slots=True)
class Field:
    type: FieldType
    # The default mapping (a mapping-kit value); NO_DEFAULT leaves the field unmapped.
    default: Any = NO_DEFAULT
    required: bool = False
    allow_null: bool = False
    multiple: bool = False
    properties: Mapping[str, Field] | None = None
    additional_properties: bool = False
    choices: tuple[Any, ...] = ()
    # A string format Ajv checks (ajv-formats, "full" mode): "email", "uri" or "date-time".
    format: str = ""
    # Required only when another field has one of some values: (field, values), the
    # conditionally required fields of fields-to-jsonschema.ts (`required: {conditions}`).
    required_if: tuple[str, tuple[Any, ...]] | None = None


def f(kind: FieldType, default: Any = NO_DEFAULT, **options: Any) -> Field:
    """Short form for field tables: f("string", {"@path": "$.userId"}, required=True)."""
    return Field(kind, default, **options)


def path(at: str) -> dict[str, str]:
    return {"@path": at}


def either(first: str, second: str) -> dict[str, Any]:
    """The mapping kit's "this path, else that one" default, common to most destinations."""
    return {"@if": {"exists": path(first), "then": path(first), "else": path(second)}}


Fields = Mapping[str, Field]
Perform = Callable[[dict[str, Any], Mapping[str, Any]], list[Request]]


def default_mapping(fields: Fields) -> dict[str, Any]:
    """actions-core defaultValues(fields): every field's default, for a preset's mapping."""
    return {name: spec.default for name, spec in fields.items() if spec.default is not NO_DEFAULT}


@dataclass(frozen=True, slots=True)
class ActionSpec:
    """An action as its definition declares it; `action()` makes the base.Action of one of its
    subscriptions (a preset, or the action's own default subscription)."""

    key: str
    title: str
    fields: Fields
    perform: Perform
    default_subscription: str = ""

    def action(
        self,
        subscribe: str | None = None,
        name: str | None = None,
        mapping: Mapping[str, Any] | None = None,
    ) -> Action:
        """One mapping of this action. `name` is the mapping's name in Segment's UI (a
        preset's name, such as "Track Calls"), which keeps the names of one preset unique
        when it maps an action twice; the action's own title by default. `mapping` overrides
        some fields' default mappings, as a preset does."""
        fields, perform = self.fields, self.perform

        def build(mapped: dict[str, Any], settings: Mapping[str, Any]) -> list[Request]:
            return perform(validate(mapped, fields), settings)

        return Action(
            name=name or self.title,
            key=self.key,
            subscribe=subscribe if subscribe is not None else self.default_subscription,
            mapping={**default_mapping(fields), **(mapping or {})},
            build=build,
        )


def _spelled(action: Action, defaults: Mapping[str, Any]) -> Action:
    build = action.build

    def spelled_build(mapped: dict[str, Any], settings: Mapping[str, Any]) -> list[Request]:
        return build(mapped, both_spellings(settings, defaults))

    return Action(
        name=action.name,
        subscribe=action.subscribe,
        mapping=action.mapping,
        build=spelled_build,
        key=action.key,
    )


def preset(
    *,
    slug: str,
    name: str,
    aliases: tuple[str, ...],
    actions: tuple[Action, ...],
    settings: Mapping[str, Any],
    sources: tuple[str, ...],
) -> Preset:
    """A Preset whose actions read their settings in either spelling (both_spellings)."""
    return Preset(
        slug=slug,
        name=name,
        aliases=aliases,
        actions=tuple(_spelled(action, settings) for action in actions),
        settings=settings,
        sources=sources,
    )


def catalog(defaults: Mapping[str, Any], *specs: ActionSpec) -> dict[str, Action]:
    """Every modeled action of a destination at its own default subscription, by key."""
    return {spec.key: _spelled(spec.action(), defaults) for spec in specs}


def validate(payload: Mapping[str, Any], fields: Fields) -> dict[str, Any]:
    """The payload `perform` receives, or PayloadValidationError with every problem."""
    problems: list[str] = []
    result = _object(payload, fields, False, "", problems, root=True)
    if problems:
        raise PayloadValidationError(" ".join(problems))
    return result


def _object(
    value: Mapping[str, Any],
    fields: Fields,
    additional: bool,
    where: str,
    problems: list[str],
    root: bool = False,
) -> dict[str, Any]:
    result: dict[str, Any] = {}
    # Keys with a value, valid or not: a wrong value is its own problem, not a missing field.
    present: set[str] = set()
    for key, item in value.items():
        spec = fields.get(key)
        if spec is None:
            if additional:
                result[key] = item
            continue
        if item is None and not spec.allow_null:
            continue
        if item == "" and (root or spec.type != "string"):
            continue
        present.add(key)
        checked = _value(item, spec, f"{where}/{key}", problems)
        if checked is not MISSING:
            result[key] = checked
    for key, spec in fields.items():
        required = spec.required or (
            spec.required_if is not None and result.get(spec.required_if[0]) in spec.required_if[1]
        )
        if required and key not in present:
            at = "The root value" if root else f"The value at {where}"
            problems.append(f"{at} is missing the required field '{key}'.")
    return result


def _value(value: Any, spec: Field, where: str, problems: list[str]) -> Any:
    if value is None:
        return None
    if spec.multiple:
        items = value if isinstance(value, list) else [value]
        checked = []
        for index, item in enumerate(items):
            if item is None or (item == "" and spec.type != "string"):
                continue
            checked.append(_single(item, spec, f"{where}/{index}", problems))
        return checked
    if isinstance(value, list) and len(value) == 1 and spec.type != "object":
        value = value[0]  # Ajv's coerceTypes 'array': [x] where a scalar is expected
    return _single(value, spec, where, problems)


def _single(value: Any, spec: Field, where: str, problems: list[str]) -> Any:
    kind = spec.type
    if kind == "object":
        if not isinstance(value, dict):
            problems.append(_wrong(where, "an object", value))
            return MISSING
        if spec.properties is None:
            return value
        return _object(value, spec.properties, spec.additional_properties, where, problems)
    coerced = _coerce(value, kind)
    if coerced is MISSING:
        expected = {
            "string": "a string",
            "number": "a number",
            "integer": "an integer",
            "boolean": "a boolean",
            "datetime": "a string or a number",
        }[kind]
        problems.append(_wrong(where, expected, value))
        return MISSING
    if kind == "datetime" and isinstance(coerced, str) and not _date_like(coerced):
        problems.append(f"The value at {where} must be a valid date-like string but it was not.")
        return MISSING
    if spec.format and isinstance(coerced, str) and not _FORMATS[spec.format](coerced):
        problems.append(
            f"The value at {where} must be a valid {_FORMAT_LABELS[spec.format]} "
            "string but it was not."
        )
        return MISSING
    if spec.choices and coerced not in spec.choices:
        listed = ", ".join(js_string(choice) for choice in spec.choices)
        problems.append(f"The value at {where} must be one of: {listed}.")
        return MISSING
    return coerced


# ajv-formats (full mode) for the formats destinations use, and the words
# @segment/ajv-human-errors puts in its message.
_EMAIL = re.compile(
    r"^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$",
    re.IGNORECASE,
)
_URI = re.compile(r"^[a-z][a-z0-9+.-]*:[^\s]*$", re.IGNORECASE)
_DATE_TIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}[t\s]\d{2}:\d{2}:\d{2}(?:\.\d+)?"
    r"(?:z|[+-]\d{2}(?::?\d{2})?)$",
    re.IGNORECASE,
)
_FORMATS: dict[str, Callable[[str], bool]] = {
    "email": lambda text: _EMAIL.match(text) is not None,
    "uri": lambda text: _URI.match(text) is not None,
    "date-time": lambda text: _DATE_TIME.match(text) is not None and parse_date(text) is not None,
}
_FORMAT_LABELS = {"email": "email address", "uri": "URI", "date-time": "date and time"}


def is_email(value: object) -> bool:
    """ajv-formats' email check, which some destinations also apply in perform."""
    return isinstance(value, str) and _EMAIL.match(value) is not None


def _date_like(text: str) -> bool:
    # schema-validation.ts `date-like`: a number written as text is a unix time; other text must
    # be a date dayjs can read. Ajv checks formats on strings only.
    return _number(text) is not None or parse_date(text) is not None


def _coerce(value: Any, kind: FieldType) -> Any:
    """Ajv's coerceTypes rules (ajv docs, "Type coercion rules"); MISSING when impossible."""
    if kind == "string":
        if isinstance(value, str):
            return value
        return js_string(value) if isinstance(value, bool | int | float) else MISSING
    if kind == "datetime":
        if isinstance(value, str) or (
            isinstance(value, int | float) and not isinstance(value, bool)
        ):
            return value
        return "true" if value is True else "false" if value is False else MISSING
    if kind in ("number", "integer"):
        number: Any = value
        if isinstance(value, bool):
            number = int(value)
        elif isinstance(value, str):
            number = _number(value)
        if not isinstance(number, int | float) or isinstance(number, bool):
            return MISSING
        if kind == "integer" and isinstance(number, float):
            return int(number) if number.is_integer() else MISSING
        return number
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if value in ("true", 1) and not isinstance(value, list | dict):
            return True
        if value in ("false", 0) and not isinstance(value, list | dict):
            return False
        return MISSING
    return MISSING


def _number(text: str) -> int | float | None:
    try:
        number = float(text.strip())
    except ValueError:
        return None
    if text.strip() == "" or not math.isfinite(number):
        return None
    return (
        int(number)
        if number.is_integer() and "." not in text and "e" not in text.lower()
        else number
    )


def _wrong(where: str, expected: str, value: Any) -> str:
    return f"The value at {where} must be {expected} but it was {_kind(value)}."


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"
