"""FQL, the condition language of Actions subscriptions and destination filters.

What it accepts follows action-destinations packages/destination-subscriptions
(parse-fql.ts, validate.ts and their tests):
- `type`, `event`, `name`, `userId`, and dotted `properties.*`, `traits.*`, `context.*` paths;
- the operators `=`, `!=`, `<`, `<=`, `>`, `>=`; `= null` means missing and `!= null` present;
- `contains(field, "text")` and `match(field, "prefix*")` / `match(field, "*suffix")`, negated
  with `!`;
- `and`, `or` and parentheses. Segment's parser applies one connective per parenthesised group;
  here `and` binds tighter than `or`, which gives the same answer for every condition written
  with one connective per group, as the Segment UI writes them.
A condition that does not parse is an FqlError naming the position, so a config mistake is
reported at start-up instead of silently matching nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from segemu.destinations.mapping import MISSING, compile_path

Predicate = Callable[[dict[str, Any]], bool]


class FqlError(ValueError):
    pass


_TOKEN = re.compile(
    r"""
    \s*(?:
      (?P<string>"(?:[^"\\]|\\.)*")
    | (?P<number>-?\d+(?:\.\d+)?)
    | (?P<op><=|>=|!=|=|<|>)
    | (?P<punct>[(),!])
    | (?P<ident>[A-Za-z_$][\w$.\-]*)
    )""",
    re.VERBOSE,
)
_FIELDS = ("type", "event", "name", "userId")
_PREFIXES = ("properties.", "traits.", "context.")


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str
    text: str
    at: int


def _lex(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    # Where only whitespace is left, found once: testing the rest of the text for each token
    # made a long condition quadratic to read.
    end = len(text.rstrip())
    while position < end:
        match = _TOKEN.match(text, position)
        if match is None or match.lastgroup is None:
            raise FqlError(
                f"unexpected {text[position:].strip()[:10]!r} at position {position} of {text!r}"
            )
        tokens.append(
            _Token(match.lastgroup, match.group(match.lastgroup), match.start(match.lastgroup))
        )
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _lex(text)
        self.index = 0
        # Every field the condition reads: a subscription that reads only the type and the
        # event name gives the same answer for every call with those (destinations/runtime.py).
        self.fields: set[str] = set()

    def peek(self) -> _Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self, kind: str | None = None, text: str | None = None) -> _Token:
        token = self.peek()
        if token is None or (kind and token.kind != kind) or (text and token.text != text):
            wanted = text or kind or "more"
            found = f"{token.text!r} at position {token.at}" if token else "the end"
            raise FqlError(f"expected {wanted}, found {found} in {self.text!r}")
        self.index += 1
        return token

    def parse(self) -> Predicate:
        predicate = self.disjunction()
        if self.peek() is not None:
            token = self.take()
            raise FqlError(f"unexpected {token.text!r} at position {token.at} in {self.text!r}")
        return predicate

    def disjunction(self) -> Predicate:
        parts = [self.conjunction()]
        while (token := self.peek()) and token.kind == "ident" and token.text == "or":
            self.index += 1
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else lambda event: any(p(event) for p in parts)

    def conjunction(self) -> Predicate:
        parts = [self.condition()]
        while (token := self.peek()) and token.kind == "ident" and token.text == "and":
            self.index += 1
            parts.append(self.condition())
        return parts[0] if len(parts) == 1 else lambda event: all(p(event) for p in parts)

    def condition(self) -> Predicate:
        token = self.take()
        if token.text == "(":
            inner = self.disjunction()
            self.take("punct", ")")
            return inner
        if token.text == "!":
            function = self.take("ident")
            inner = self.function(function)
            return lambda event: not inner(event)
        if token.kind != "ident":
            raise FqlError(
                f"expected a field, found {token.text!r} at position {token.at} in {self.text!r}"
            )
        following = self.peek()
        if token.text in ("contains", "match") or (following and following.text == "("):
            return self.function(token)
        path = _field(token, self.text)
        self.fields.add(path)
        operator = self.take("op").text
        return _compare(path, operator, self.value())

    def function(self, name: _Token) -> Predicate:
        if name.text not in ("contains", "match"):
            raise FqlError(
                f"unknown function {name.text!r} in {self.text!r}; known: contains, match"
            )
        self.take("punct", "(")
        path = _field(self.take("ident"), self.text)
        self.fields.add(path)
        self.take("punct", ",")
        argument = self.value()
        self.take("punct", ")")
        if not isinstance(argument, str):
            raise FqlError(f"{name.text}() takes a string, got {argument!r} in {self.text!r}")
        value_at = compile_path(path)
        if name.text == "contains":
            return lambda event: _text(value_at(event)).find(argument) >= 0
        if argument.endswith("*"):
            prefix = argument[:-1]
            return lambda event: _text(value_at(event)).startswith(prefix)
        suffix = argument.removeprefix("*")
        return lambda event: _text(value_at(event)).endswith(suffix)

    def value(self) -> Any:
        token = self.take()
        if token.kind == "string":
            return re.sub(r"\\(.)", r"\1", token.text[1:-1])
        if token.kind == "number":
            return float(token.text)
        if token.kind == "ident" and token.text in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[token.text]
        raise FqlError(
            f"expected a value, found {token.text!r} at position {token.at} in {self.text!r}"
        )


def _field(token: _Token, text: str) -> str:
    if token.text in _FIELDS or token.text.startswith(_PREFIXES):
        return token.text
    raise FqlError(
        f"unknown field {token.text!r} at position {token.at} in {text!r}; FQL "
        f"knows type, event, name, userId, properties.*, traits.* and context.*"
    )


def _text(value: Any) -> str:
    if value is MISSING or value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _compare(path: str, operator: str, expected: Any) -> Predicate:
    value_at = compile_path(path)
    if expected is None:
        if operator not in ("=", "!="):
            raise FqlError(f"null can only be compared with = or != ({path} {operator} null)")
        present = operator == "!="
        return lambda event: (value_at(event) not in (MISSING, None)) == present
    if operator in ("<", "<=", ">", ">="):
        if not isinstance(expected, float):
            raise FqlError(f"{path} {operator} needs a number, got {expected!r}")
        compare = {"<": float.__lt__, "<=": float.__le__, ">": float.__gt__, ">=": float.__ge__}[
            operator
        ]

        def numeric(event: dict[str, Any]) -> bool:
            number = _number(value_at(event))
            return number is not None and compare(number, expected)

        return numeric
    equal = _equals(expected)
    if operator == "=":
        return lambda event: equal(value_at(event))
    return lambda event: not equal(value_at(event))


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is MISSING or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _equals(expected: Any) -> Callable[[Any], bool]:
    # validate.ts compares booleans with "true"/"false" strings too, and numbers by value.
    if isinstance(expected, bool):
        word = "true" if expected else "false"
        return lambda value: value is expected or value == word
    if isinstance(expected, float):
        return lambda value: _number(value) == expected
    # Strings, the usual case, compare as they are; other values as FQL writes them.
    return lambda value: (
        value == expected
        if type(value) is str
        else (value is not MISSING and _text(value) == expected)
    )


def compile_fql(text: str) -> Predicate:
    """A predicate over one event (as Segment stores it) for an FQL condition."""
    return compile_fql_reading(text)[0]


def compile_fql_reading(text: str) -> tuple[Predicate, frozenset[str]]:
    """The predicate of an FQL condition, and the fields of the event it reads."""
    if not isinstance(text, str) or not text.strip():
        raise FqlError("a condition must be a non-empty string")
    parser = _Parser(text)
    return parser.parse(), frozenset(parser.fields)
