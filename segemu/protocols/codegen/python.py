"""Python for segment-analytics-python: a TypedDict per planned payload and one function per
planned event (`order_completed(client, {...}, user_id=...)`), checked by mypy --strict.

The client is described by a Protocol of the methods called, so the file needs only the
standard library (Python 3.11: typing.Required and NotRequired) and accepts a
`segment.analytics.Client` or the `segment.analytics` module itself.
"""

from __future__ import annotations

import json
import keyword
import pprint

from segemu.protocols.codegen import validator_py
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
    pascal,
    snake,
)
from segemu.protocols.plans import TrackingPlan

SDKS = ("analytics-python",)
# Names the module imports or defines, and Python's own.
OWN = frozenset(
    [
        "Any",
        "Literal",
        "Mapping",
        "NotRequired",
        "Protocol",
        "Required",
        "TypedDict",
        "datetime",
        "SegmentClient",
        "annotations",
        "object",
        "int",
        "float",
        "str",
        "bool",
        "list",
        "dict",
        "None",
    ]
)
RESERVED = frozenset(keyword.kwlist) | frozenset(keyword.softkwlist)


def generate(
    plan: TrackingPlan, version: str | None, sdk: str = "analytics-python", validation: bool = False
) -> str:
    types = Names(RESERVED | OWN, fallback="T")
    model = build_model(plan, version, lambda words: types.take(pascal(words)))
    functions = Names(RESERVED | OWN | {t.name for t in model.types}, fallback="e")
    names = [functions.take(snake(call.function_words)) for call in model.calls]
    target = f"python, {sdk}" + (", runtime validation" if validation else "")
    out = [*(f"# {line}" for line in header_lines(model, target))]
    out += (_PRELUDE_VALIDATING if validation else _PRELUDE).splitlines()
    for object_type in model.types:
        out += _typed_dict(object_type)
    out += ["", *_CLIENT.strip("\n").splitlines()]
    if validation:
        out += ["", "", *validator_py.PYTHON.strip("\n").splitlines(), "", ""]
        out.append("# Each call's properties or traits, as the plan states them.")
        out.append("_SCHEMAS: dict[str, object] = {")
        for call, name in zip(model.calls, names, strict=True):
            literal = pprint.pformat(dict(call.payload_schema), width=88, sort_dicts=True)
            out.append(f"    {name!r}: " + literal.replace("\n", "\n    ") + ",")
        out.append("}")
    out += ["", ""]
    for call, name in zip(model.calls, names, strict=True):
        out += _function(call, name, validation)
    while out[-1] == "":
        out.pop()
    return "\n".join(out) + "\n"


def py_type(node: TypeNode) -> str:
    if isinstance(node, Prim):
        return {
            "string": "str",
            "number": "float",
            "integer": "int",
            "boolean": "bool",
            "null": "None",
            "any": "object",
        }[node.kind]
    if isinstance(node, Literals):
        # Literal holds str, int, bool and None, not floats: a float enum value widens to float.
        literal = [v for v in node.values if v is not None and not isinstance(v, float)]
        parts = [f"Literal[{', '.join(_literal(v) for v in literal)}]"] if literal else []
        if any(isinstance(v, float) for v in node.values):
            parts.append("float")
        if None in node.values:
            parts.append("None")
        return " | ".join(parts)
    if isinstance(node, ArrayOf):
        return f"list[{py_type(node.item)}]"
    if isinstance(node, MapOf):
        return f"Mapping[str, {py_type(node.value)}]"
    if isinstance(node, UnionOf):
        return " | ".join(dict.fromkeys(py_type(m) for m in node.members))
    return node.name


def _literal(value: object) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    return json.dumps(value) if isinstance(value, str) else repr(value)


def _comment(text: str | None, indent: str = "") -> list[str]:
    return [f"{indent}# {line}".rstrip() for line in text.splitlines()] if text else []


def _docstring(text: str, indent: str) -> list[str]:
    text = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    lines = text.splitlines()
    if len(lines) == 1:
        return [f'{indent}"""{lines[0]}"""']
    return [
        f'{indent}"""{lines[0]}',
        *(f"{indent}{line}".rstrip() for line in lines[1:]),
        f'{indent}"""',
    ]


def _typed_dict(object_type: ObjectType) -> list[str]:
    out = [""]
    if object_type.extra is not None:
        out += _comment(
            "The plan allows properties it does not list; a TypedDict cannot type them\n"
            "(PEP 728 is not in Python 3.11), so only the listed ones are typed."
        )
    # total=False with Required[...]: the plan's `required` list, key by key.
    fields = [
        (f.key, f"Required[{py_type(f.type)}]" if f.required else py_type(f.type), f.description)
        for f in object_type.fields
    ]
    if all(key.isidentifier() and not keyword.iskeyword(key) for key, _, _ in fields):
        out.append(f"class {object_type.name}(TypedDict, total=False):")
        if object_type.description:
            out += _docstring(object_type.description, "    ")
        for key, annotation, description in fields:
            out += _comment(description, "    ")
            out.append(f"    {key}: {annotation}")
    else:  # a property name that is no Python identifier: the functional syntax holds any key
        out += _comment(object_type.description)
        out.append(f"{object_type.name} = TypedDict(")
        out.append(f"    {json.dumps(object_type.name)},")
        out.append("    {")
        for key, annotation, description in fields:
            out += _comment(description, "        ")
            out.append(f"        {json.dumps(key)}: {annotation},")
        out.append("    },")
        out.append("    total=False,")
        out.append(")")
    return [*out, ""]


def _function(call: Call, name: str, validation: bool) -> list[str]:
    payload = py_type(call.payload)
    doc = "\n\n".join(filter(None, [call.description, f"Sends {call.label} of the plan."]))
    context = (
        "_context(context, " + str(call.pinned_version) + ")"
        if call.pinned_version is not None
        else "context"
    )
    common = [
        "    *,",
        "    user_id: str | None = None,",
        "    anonymous_id: str | None = None,",
        "    context: dict[str, object] | None = None,",
        "    timestamp: datetime | None = None,",
        "    integrations: dict[str, object] | None = None,",
        "    message_id: str | None = None,",
        ") -> None:",
        *_docstring(doc, "    "),
    ]
    rest = (
        f"context={context}, timestamp=timestamp, anonymous_id=anonymous_id,\n"
        "        integrations=integrations, message_id=message_id"
    )
    out = [
        f"# {MARKER} {call.name} {call.fingerprint}",
        f"def {name}(",
        "    client: SegmentClient,",
    ]
    if call.kind == "TRACK":
        out += [f"    properties: {payload},", *common]
        out += [
            "    client.track(",
            f"        user_id=user_id, event={json.dumps(call.key)}, properties=properties,",
            f"        {rest},",
            "    )",
        ]
    elif call.kind == "IDENTIFY":
        out += [f"    traits: {payload},", *common]
        out += [
            "    client.identify(",
            "        user_id=user_id, traits=traits,",
            f"        {rest},",
            "    )",
        ]
    elif call.kind == "GROUP":
        out += ["    group_id: str,", f"    traits: {payload},", *common]
        out += [
            "    client.group(",
            "        user_id=user_id, group_id=group_id, traits=traits,",
            f"        {rest},",
            "    )",
        ]
    else:
        method = call.kind.lower()
        if call.key is None:
            out += [
                "    name: str | None,",
                f"    properties: {payload},",
                "    category: str | None = None,",
                *common,
            ]
            named = "name"
        else:
            out += [f"    properties: {payload},", "    category: str | None = None,", *common]
            named = json.dumps(call.key)
        out += [
            f"    client.{method}(",
            f"        user_id=user_id, category=category, name={named}, properties=properties,",
            f"        {rest},",
            "    )",
        ]
    if validation:
        container = "traits" if call.kind in ("IDENTIFY", "GROUP") else "properties"
        if call.kind == "TRACK":
            described = f'"event": {json.dumps(call.key)}, '
        elif call.kind == "GROUP":
            described = '"group_id": group_id, '
        elif call.kind in ("PAGE", "SCREEN"):
            described = f'"name": {"name" if call.key is None else json.dumps(call.key)}, '
        else:
            described = ""
        message = f'{{"type": "{call.kind.lower()}", {described}"{container}": {container}}}'
        at = next(n for n, line in enumerate(out) if line.startswith("    client."))
        out[at:at] = [
            "    if __debug__:  # python -O leaves the check out",
            "        _validate(",
            f'            _SCHEMAS["{name}"],',
            f"            {container},",
            f'            "{container}",',
            f"            {message},",
            "        )",
        ]
    return [*out, "", ""]


_PRELUDE = """
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Literal, Protocol, Required, TypedDict
"""

_PRELUDE_VALIDATING = """
from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Literal, Protocol, Required, TypedDict
"""

_CLIENT = '''
class SegmentClient(Protocol):
    """The methods of segment-analytics-python's Client (or the segment.analytics module)
    that this file calls."""

    def track(
        self,
        user_id: str | None = ...,
        event: str | None = ...,
        properties: Mapping[str, object] | None = ...,
        context: dict[str, object] | None = ...,
        timestamp: datetime | None = ...,
        anonymous_id: str | None = ...,
        integrations: dict[str, object] | None = ...,
        message_id: str | None = ...,
    ) -> object: ...

    def identify(
        self,
        user_id: str | None = ...,
        traits: Mapping[str, object] | None = ...,
        context: dict[str, object] | None = ...,
        timestamp: datetime | None = ...,
        anonymous_id: str | None = ...,
        integrations: dict[str, object] | None = ...,
        message_id: str | None = ...,
    ) -> object: ...

    def group(
        self,
        user_id: str | None = ...,
        group_id: str | None = ...,
        traits: Mapping[str, object] | None = ...,
        context: dict[str, object] | None = ...,
        timestamp: datetime | None = ...,
        anonymous_id: str | None = ...,
        integrations: dict[str, object] | None = ...,
        message_id: str | None = ...,
    ) -> object: ...

    def page(
        self,
        user_id: str | None = ...,
        category: str | None = ...,
        name: str | None = ...,
        properties: Mapping[str, object] | None = ...,
        context: dict[str, object] | None = ...,
        timestamp: datetime | None = ...,
        anonymous_id: str | None = ...,
        integrations: dict[str, object] | None = ...,
        message_id: str | None = ...,
    ) -> object: ...

    def screen(
        self,
        user_id: str | None = ...,
        category: str | None = ...,
        name: str | None = ...,
        properties: Mapping[str, object] | None = ...,
        context: dict[str, object] | None = ...,
        timestamp: datetime | None = ...,
        anonymous_id: str | None = ...,
        integrations: dict[str, object] | None = ...,
        message_id: str | None = ...,
    ) -> object: ...


def _context(context: dict[str, object] | None, version: int) -> dict[str, object]:
    """The call's context with the plan's rule version pinned (context.protocols.event_version:
    how Segment picks which version of a rule checks a call)."""
    protocols = context.get("protocols") if context else None
    pinned = {**(protocols if isinstance(protocols, dict) else {}), "event_version": version}
    return {**(context or {}), "protocols": pinned}
'''
