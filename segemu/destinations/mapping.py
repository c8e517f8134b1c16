"""Segment's mapping-kit: field mappings of Actions destinations, resolved against an event.

A mapping is raw JSON mixed with directives, objects with one `@`-key. The directives and their
rules follow action-destinations packages/core/src/mapping-kit/index.ts and its README:
- a value that resolves to nothing (a missing @path) is left out of its object; `null` stays;
- @path takes dot paths with or without `$.` and `[0]` indexes (packages/core/src/get.ts);
- @template replaces `{{path}}` (and `{{{path}}}`) with the value, or with "" when missing
  (mapping-kit/placeholders.ts);
- @if resolves `then` when `exists` is neither missing nor null (or `blank` is not empty), else
  `else`; a missing branch leaves the field out.
@liquid is not supported: a mapping that uses it gets a clear error, not a silent skip.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any, Final


class _Missing:
    """JavaScript's `undefined`: a value that is left out of the mapped payload."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()


class MappingError(ValueError):
    """A mapping that cannot be resolved: an unknown directive, a wrong option."""


Directive = Callable[[Any, Any], Any]
_DIRECTIVES: dict[str, Directive] = {}
_PATH_SPLIT = re.compile(r"\[(?=[\"'\d])|\.|(?<=[\"'\d])]+")
# mapping-kit/index.ts: patterns and replacements of @replace are limited to 10 characters.
_REPLACE_LIMIT = 10


def _directive(name: str) -> Callable[[Directive], Directive]:
    def register(function: Directive) -> Directive:
        _DIRECTIVES[name] = function
        return function

    return register


@lru_cache(maxsize=4096)
def _parts(path: str) -> tuple[str, ...]:
    # Paths come from mappings, a few hundred at most: split once, not on every event.
    if path.startswith("$."):
        path = path[2:]
    elif path == "$":
        path = ""
    if path in ("", "."):
        return ()
    return tuple(part.replace("'", "").replace('"', "") for part in _PATH_SPLIT.split(path) if part)


def get_path(payload: Any, path: str) -> Any:
    """The value at a dot path (`properties.products[0].price`), or MISSING."""
    return _walk(payload, _parts(path))


def _walk(payload: Any, parts: tuple[str, ...]) -> Any:
    value = payload
    for part in parts:
        if isinstance(value, dict):
            value = value.get(part, MISSING)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return MISSING
        if value is MISSING:
            return MISSING
    return value


def is_directive(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and next(iter(value)).startswith("@")


def resolve(mapping: Any, payload: Any) -> Any:
    """Resolve a mapping against a payload; MISSING for a value that is left out."""
    if isinstance(mapping, dict):
        if is_directive(mapping):
            [(name, options)] = mapping.items()
            directive = _DIRECTIVES.get(name)
            if directive is None:
                raise MappingError(_unknown(name))
            return directive(options, payload)
        resolved = {}
        for key, value in mapping.items():
            item = resolve(value, payload)
            if item is not MISSING:
                resolved[key] = item
        return resolved
    if isinstance(mapping, list):
        return [_defined(resolve(value, payload)) for value in mapping]
    return mapping


def transform(mapping: Mapping[str, Any], payload: Any) -> dict[str, Any]:
    """The mapped fields of one event (mapping-kit's `transform`)."""
    resolved = resolve(dict(mapping), payload)
    return resolved if isinstance(resolved, dict) else {}


# -- compiled mappings ---------------------------------------------------------------------
#
# `resolve` walks the mapping on every event. A destination's mappings are fixed once config is
# loaded, so each is compiled once into closures: the directives every preset leans on (@path,
# @if, @template, plain objects and lists) become direct lookups, and every other directive
# keeps calling its interpreter above, so both give the same value, or the same error, for
# every event (tests/destinations/test_mapping.py checks it over every preset).

Resolver = Callable[[Any], Any]


def compile_transform(mapping: Mapping[str, Any]) -> Callable[[Any], dict[str, Any]]:
    """`transform` with the mapping fixed: a function of the event."""
    compiled = compile_mapping(dict(mapping))

    def run(payload: Any) -> dict[str, Any]:
        resolved = compiled(payload)
        return resolved if isinstance(resolved, dict) else {}

    return run


def compile_mapping(mapping: Any) -> Resolver:
    """`resolve` with the mapping fixed: a function of the payload."""
    if isinstance(mapping, list):
        items = [compile_mapping(value) for value in mapping]
        return lambda payload: [_defined(item(payload)) for item in items]
    if not isinstance(mapping, dict):
        return lambda payload: mapping
    if not is_directive(mapping):
        fields = [(key, compile_mapping(value)) for key, value in mapping.items()]

        def resolve_object(payload: Any) -> dict[str, Any]:
            resolved = {}
            for key, field in fields:
                item = field(payload)
                if item is not MISSING:
                    resolved[key] = item
            return resolved

        return resolve_object
    [(name, options)] = mapping.items()
    if name == "@path" and isinstance(options, str):
        return _compiled_path(_parts(options))
    if name == "@template" and isinstance(options, str):
        return _compiled_template(options)
    if name == "@if" and isinstance(options, dict) and ("exists" in options or "blank" in options):
        return _compiled_if(options)
    return lambda payload: resolve(mapping, payload)


def compile_path(path: str) -> Resolver:
    """`get_path` with the path fixed."""
    return _compiled_path(_parts(path))


def compile_path_parts(parts: tuple[str, ...]) -> Resolver:
    """`compile_path` for a path already split (FQL splits on unescaped dots only)."""
    return _compiled_path(parts)


def _compiled_path(parts: tuple[str, ...]) -> Resolver:
    if len(parts) == 1:
        [key] = parts

        def field(payload: Any) -> Any:  # the common `type`, `event`, `userId`
            if isinstance(payload, dict):
                return payload.get(key, MISSING)
            if isinstance(payload, list) and key.isdigit() and int(key) < len(payload):
                return payload[int(key)]
            return MISSING

        return field

    return lambda payload: _walk(payload, parts)


def _compiled_template(template: str) -> Resolver:
    # Text between placeholders, and the path of each placeholder, split once.
    texts: list[str] = []
    paths: list[Resolver] = []
    position = 0
    for match in _PLACEHOLDER.finditer(template):
        texts.append(template[position : match.start()])
        paths.append(_compiled_path(_parts((match.group(1) or match.group(2)).strip())))
        position = match.end()
    tail = template[position:]

    def fill(payload: Any) -> str:
        out = []
        for text, path in zip(texts, paths, strict=True):
            out.append(text)
            value = path(payload)
            out.append("" if value is MISSING or value is None else _js_string(value))
        out.append(tail)
        return "".join(out)

    return fill


def _compiled_if(options: dict[str, Any]) -> Resolver:
    blank = "exists" not in options
    condition = compile_mapping(options["blank"] if blank else options["exists"])
    then = compile_mapping(options["then"]) if "then" in options else None
    otherwise = compile_mapping(options["else"]) if options.get("else") else None

    def branch(payload: Any) -> Any:
        value = condition(payload)
        holds = value is not MISSING and value is not None and not (blank and value == "")
        chosen = then if holds else otherwise
        return chosen(payload) if chosen is not None else MISSING

    return branch


def check(mapping: Any, where: str = "mapping") -> list[str]:
    """Problems in a mapping, found without an event: for config errors at start-up."""
    problems: list[str] = []
    if isinstance(mapping, dict):
        at_keys = [key for key in mapping if isinstance(key, str) and key.startswith("@")]
        if at_keys and len(mapping) > 1:
            problems.append(
                f"{where}: a directive must be alone in its object, got keys "
                f"{', '.join(map(repr, mapping))}"
            )
        for key, value in mapping.items():
            if key.startswith("@") and key not in _DIRECTIVES:
                problems.append(f"{where}: {_unknown(key)}")
            elif key in ("@path", "@template") and not isinstance(value, str | dict):
                problems.append(f"{where}: {key} expects a string, got {value!r}")
            else:
                problems.extend(check(value, f"{where}.{key}"))
    elif isinstance(mapping, list):
        for index, value in enumerate(mapping):
            problems.extend(check(value, f"{where}[{index}]"))
    return problems


def _unknown(name: str) -> str:
    if name == "@liquid":
        return "@liquid is not supported by segemu; use @template, @if and @case instead"
    return f"unknown directive {name}; known: {', '.join(sorted(_DIRECTIVES))}"


def _defined(value: Any) -> Any:
    # In a JSON array an undefined value is written as null (JSON.stringify).
    return None if value is MISSING else value


def _options(name: str, options: Any, *required: str) -> dict[str, Any]:
    if not isinstance(options, dict):
        raise MappingError(f"{name} expects an object, got {options!r}")
    for key in required:
        if key not in options:
            raise MappingError(f"{name} requires a '{key}' key")
    return options


def _string(name: str, options: Any, payload: Any) -> str:
    value = resolve(options, payload)
    if not isinstance(value, str):
        raise MappingError(f"{name}: expected a string, got {type(value).__name__}")
    return value


@_directive("@path")
def _path(options: Any, payload: Any) -> Any:
    return get_path(payload, _string("@path", options, payload))


_PLACEHOLDER = re.compile(r"\{\{\{([^}]+)\}\}\}|\{\{([^}]+)\}\}")


@_directive("@template")
def _template(options: Any, payload: Any) -> Any:
    def replace(match: re.Match[str]) -> str:
        value = get_path(payload, (match.group(1) or match.group(2)).strip())
        if value is MISSING or value is None:
            return ""
        return _js_string(value)

    return _PLACEHOLDER.sub(replace, _string("@template", options, payload))


def _js_string(value: Any) -> str:
    # What String(value) gives in JavaScript, for the common cases.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict):
        return "[object Object]"
    if isinstance(value, list):
        return ",".join(_js_string(item) if item is not None else "" for item in value)
    return str(value)


@_directive("@literal")
def _literal(options: Any, payload: Any) -> Any:
    return resolve(options, payload)


@_directive("@if")
def _if(options: Any, payload: Any) -> Any:
    options = _options("@if", options)
    if "exists" in options:
        value = resolve(options["exists"], payload)
        condition = value is not MISSING and value is not None
    elif "blank" in options:
        value = resolve(options["blank"], payload)
        condition = value is not MISSING and value is not None and value != ""
    else:
        raise MappingError('@if requires an "exists" key or a "blank" key')
    if condition:
        return resolve(options["then"], payload) if "then" in options else MISSING
    return resolve(options["else"], payload) if options.get("else") else MISSING


@_directive("@case")
def _case(options: Any, payload: Any) -> Any:
    options = _options("@case", options, "operator")
    if not options.get("value"):
        return MISSING
    value = resolve(options["value"], payload)
    if isinstance(value, str):
        if options["operator"] == "lower":
            return value.lower()
        if options["operator"] == "upper":
            return value.upper()
        raise MappingError('@case: operator must be "lower" or "upper"')
    return value


@_directive("@replace")
def _replace(options: Any, payload: Any) -> Any:
    options = _options("@replace", options, "pattern")
    if not options.get("value"):
        return MISSING
    value = resolve(options["value"], payload)
    if isinstance(value, bool):
        value = "true" if value else "false"
    elif isinstance(value, int | float):
        value = _js_string(value)
    if not isinstance(value, str):
        return ""
    flags = re.IGNORECASE if options.get("ignorecase") else 0
    count = 0 if options.get("global", True) else 1
    for pattern_key, replacement_key in (("pattern", "replacement"), ("pattern2", "replacement2")):
        pattern = options.get(pattern_key)
        if not pattern:
            continue
        replacement = options.get(replacement_key) or ""
        if len(pattern) > _REPLACE_LIMIT or len(replacement) > _REPLACE_LIMIT:
            raise MappingError(
                f"@replace: pattern and replacement are limited to {_REPLACE_LIMIT} characters"
            )
        value = re.sub(
            re.escape(pattern), lambda _m, r=replacement: r, value, count=count, flags=flags
        )
    return value


@_directive("@arrayPath")
def _array_path(options: Any, payload: Any) -> Any:
    if not isinstance(options, list) or not options:
        raise MappingError(f"@arrayPath expects [path, item shape], got {options!r}")
    path, shape = options[0], options[1] if len(options) > 1 else None
    root = get_path(payload, path) if isinstance(path, str) else resolve(path, payload)
    if isinstance(root, dict | list) and isinstance(shape, dict) and shape:
        items = root if isinstance(root, list) else [root]
        return [resolve(shape, item) for item in items]
    return root


@_directive("@flatten")
def _flatten(options: Any, payload: Any) -> Any:
    options = _options("@flatten", options, "separator")
    separator = resolve(options["separator"], payload)
    if not isinstance(separator, str):
        raise MappingError("@flatten requires a string separator")
    value = resolve(options.get("value"), payload)
    flat: dict[str, Any] = {}
    _flatten_into(flat, value, "", separator, bool(options.get("omitArrays")))
    return flat


def _flatten_into(
    flat: dict[str, Any], value: Any, prefix: str, separator: str, omit_arrays: bool
) -> None:
    if isinstance(value, dict) or (isinstance(value, list) and not omit_arrays):
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            name = f"{prefix}{separator}{key}" if prefix else str(key)
            _flatten_into(flat, item, name, separator, omit_arrays)
    elif prefix:
        flat[prefix] = value


@_directive("@json")
def _json(options: Any, payload: Any) -> Any:
    options = _options("@json", options, "mode", "value")
    value = resolve(options["value"], payload)
    if options["mode"] == "encode":
        return MISSING if value is MISSING else json.dumps(value, separators=(",", ":"))
    if options["mode"] == "decode" and isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


@_directive("@merge")
def _merge(options: Any, payload: Any) -> Any:
    options = _options("@merge", options, "objects", "direction")
    if not isinstance(options["objects"], list):
        raise MappingError("@merge: 'objects' must be a list")
    objects = [resolve(item, payload) for item in options["objects"]]
    if resolve(options["direction"], payload) == "left":
        objects.reverse()
    merged: dict[str, Any] = {}
    for item in objects:
        if isinstance(item, dict):
            merged.update(item)
    return merged


@_directive("@transform")
def _transform(options: Any, payload: Any) -> Any:
    options = _options("@transform", options, "apply", "mapping")
    if not isinstance(options["apply"], dict):
        raise MappingError('@transform: "apply" must be an object')
    return resolve(options["mapping"], transform(options["apply"], payload))


@_directive("@excludeWhenNull")
def _exclude_when_null(options: Any, payload: Any) -> Any:
    value = resolve(options, payload)
    if value is None:
        return MISSING
    if isinstance(value, dict):
        return {key: item for key, item in value.items() if item is not None}
    return value
