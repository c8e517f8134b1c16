"""FQL, Segment's Filter Query Language: one grammar for destination filters and Actions
subscriptions.

The language is Segment's (DOCS api/public-api/fql.md):
- paths to any field (`userId`, `context.library.version`), a `\\` escaping any character
  outside `a-z A-Z 0-9 _ -` (`properties.product\\ 1.price`);
- strings in single or double quotes, numbers, `true`, `false`, `null`, lists `['a', 'b']`;
- `=`, `!=` (strict: same type and equal), `<`, `<=`, `>`, `>=` (numbers only), `in` (a list
  holds the value), `and`, `or`, `!` and parentheses; a bare value is true only when it is
  the boolean `true`;
- the functions contains, length, lowercase, uppercase, snakecase, kebabcase, titlecase,
  typeof, match, bool, string and number (fql_functions.py).
How values compare follows Segment's own evaluator of filters in the browser, which must agree
with its Go one (segmentio/tsub-js src/matchers.ts: "FQL is 100% type strict").

Actions subscriptions are read by action-destinations packages/destination-subscriptions
(parse-fql.ts, on the @segment/fql-ts lexer; validate.ts), which takes a subset: double-quoted
strings, the fields type, event, name, userId, properties.*, traits.* and context.*, a field
compared with a value, `contains`/`match` of a field and a string, `!` before those two, and no
lists or `in`. A subscription beyond that subset is refused with the reason, and a subscription
compares values as validate.ts does (`= true` also matches the string "true", numbers by value).

`and` binds tighter than `or`. A condition that does not parse is an FqlError naming the
position, so a config mistake is reported at start-up instead of silently matching nothing
(Segment drops every event when a filter's FQL is invalid, fql.md §Error Handling).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from segemu.destinations import fql_functions as functions
from segemu.destinations.mapping import MISSING, compile_path_parts

Predicate = Callable[[dict[str, Any]], bool]
Value = Callable[[dict[str, Any]], Any]
Dialect = Literal["filter", "subscription"]


class FqlError(ValueError):
    pass


_TOKEN = re.compile(
    r"""
    \s*(?:
      (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
    | (?P<number>[-+]?\d+(?:\.\d+)?(?![\w\\]))
    | (?P<op><=|>=|!=|=|<|>)
    | (?P<punct>[()\[\],!])
    | (?P<path>(?:[A-Za-z_$]|\\.)(?:[\w$\-]|\\.)*(?:\.(?:[\w$\-]|\\.)+)*)
    )""",
    re.VERBOSE | re.DOTALL,
)
_KEYWORDS = {"true": True, "false": False, "null": None}
_SEGMENT = re.compile(r"(?:[^.\\]|\\.)+")
_SUBSCRIPTION_FIELDS = ("type", "event", "name", "userId")
_SUBSCRIPTION_PREFIXES = ("properties.", "traits.", "context.")
_SUBSCRIPTIONS = (
    "Segment's Actions subscriptions (action-destinations destination-subscriptions "
    "parse-fql.ts) take a subset of FQL"
)


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str
    text: str
    at: int


# The syntax tree. Every node is an expression with a value; `and`, `or` and `!` read their
# operands as booleans (true only for the boolean true).
@dataclass(frozen=True, slots=True)
class Constant:
    value: Any
    at: int
    quote: str = ""


@dataclass(frozen=True, slots=True)
class Path:
    parts: tuple[str, ...]
    text: str
    at: int


@dataclass(frozen=True, slots=True)
class Call:
    name: str
    args: tuple[Node, ...]
    at: int


@dataclass(frozen=True, slots=True)
class ListOf:
    items: tuple[Node, ...]
    at: int


@dataclass(frozen=True, slots=True)
class Binary:
    operator: str  # = != < <= > >= in
    left: Node
    right: Node
    at: int


@dataclass(frozen=True, slots=True)
class Junction:
    # `and` or `or` over two or more operands, kept flat so a long chain is no deep tree.
    operator: str
    parts: tuple[Node, ...]
    at: int


@dataclass(frozen=True, slots=True)
class Not:
    operand: Node
    at: int


Node = Constant | Path | Call | ListOf | Binary | Junction | Not
# Parentheses, lists and calls nest; past this depth a condition is refused, not a crash.
MAX_DEPTH = 64


def _lex(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    # Where only whitespace is left, found once: testing the rest of the text for each token
    # made a long condition quadratic to read.
    end = len(text.rstrip())
    while position < end:
        match = _TOKEN.match(text, position)
        if match is None or match.lastgroup is None:
            rest = text[position:].strip()
            hint = " (an unterminated string?)" if rest[:1] in "'\"" else ""
            raise FqlError(f"unexpected {rest[:10]!r} at position {position} of {text!r}{hint}")
        kind, value = match.lastgroup, match.group(match.lastgroup)
        if kind == "path" and value in ("and", "or", "in"):
            kind = "word"
        tokens.append(_Token(kind, value, match.start(kind if kind != "word" else "path")))
        position = match.end()
    return tokens


def _unquote(token: str) -> str:
    # \" \' and \\ are escapes; any other backslash is kept, so a glob keeps its `\*`.
    return re.sub(r"\\([\"'\\])", r"\1", token[1:-1])


def _split_path(text: str) -> tuple[str, ...]:
    return tuple(re.sub(r"\\(.)", r"\1", part) for part in _SEGMENT.findall(text))


@dataclass
class _Parser:
    text: str
    tokens: list[_Token] = field(default_factory=list)
    index: int = 0
    depth: int = 0

    def __post_init__(self) -> None:
        self.tokens = _lex(self.text)

    def peek(self) -> _Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self, kind: str | None = None, text: str | None = None) -> _Token:
        token = self.peek()
        if token is None or (kind and token.kind != kind) or (text and token.text != text):
            wanted = repr(text) if text else (kind or "more")
            found = f"{token.text!r} at position {token.at}" if token else "the end"
            raise FqlError(f"expected {wanted}, found {found} in {self.text!r}")
        self.index += 1
        return token

    def at_word(self, word: str) -> bool:
        token = self.peek()
        return token is not None and token.kind == "word" and token.text == word

    def at_punct(self, text: str) -> bool:
        token = self.peek()
        return token is None or (token.kind == "punct" and token.text == text)

    def parse(self) -> Node:
        node = self.disjunction()
        if (token := self.peek()) is not None:
            raise FqlError(f"unexpected {token.text!r} at position {token.at} in {self.text!r}")
        return node

    def disjunction(self) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise FqlError(
                f"a condition nests more than {MAX_DEPTH} levels deep: {self.text[:40]!r}"
            )
        parts = [self.conjunction()]
        while self.at_word("or"):
            self.index += 1
            parts.append(self.conjunction())
        self.depth -= 1
        return parts[0] if len(parts) == 1 else Junction("or", tuple(parts), parts[0].at)

    def conjunction(self) -> Node:
        parts = [self.unary()]
        while self.at_word("and"):
            self.index += 1
            parts.append(self.unary())
        return parts[0] if len(parts) == 1 else Junction("and", tuple(parts), parts[0].at)

    def unary(self) -> Node:
        token = self.peek()
        if token is not None and token.text == "!" and token.kind == "punct":
            self.index += 1
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise FqlError(f"a condition nests more than {MAX_DEPTH} levels deep")
            operand = self.unary()
            self.depth -= 1
            return Not(operand, token.at)
        return self.comparison()

    def comparison(self) -> Node:
        left = self.primary()
        token = self.peek()
        if token is not None and token.kind == "op":
            self.index += 1
            return Binary(token.text, left, self.primary(), token.at)
        if token is not None and token.kind == "word" and token.text == "in":
            self.index += 1
            return Binary("in", left, self.primary(), token.at)
        return left

    def primary(self) -> Node:
        token = self.take()
        if token.kind == "punct" and token.text == "(":
            inner = self.disjunction()
            self.take("punct", ")")
            return inner
        if token.kind == "punct" and token.text == "[":
            items: list[Node] = []
            while not self.at_punct("]"):
                if items:
                    self.take("punct", ",")
                items.append(self.disjunction())
            self.take("punct", "]")
            return ListOf(tuple(items), token.at)
        if token.kind == "string":
            return Constant(_unquote(token.text), token.at, token.text[0])
        if token.kind == "number":
            number = float(token.text)
            return Constant(int(number) if number.is_integer() else number, token.at)
        if token.kind == "path":
            if token.text in _KEYWORDS:
                return Constant(_KEYWORDS[token.text], token.at)
            following = self.peek()
            if following is not None and following.text == "(" and following.kind == "punct":
                return self.call(token)
            return Path(_split_path(token.text), token.text, token.at)
        raise FqlError(
            f"expected a value, a field or a function, found {token.text!r} at position "
            f"{token.at} in {self.text!r}"
        )

    def call(self, name: _Token) -> Node:
        if name.text not in functions.ARITY:
            raise FqlError(
                f"unknown function {name.text!r} at position {name.at} in {self.text!r}; FQL "
                f"knows {', '.join(functions.ARITY)}"
            )
        self.take("punct", "(")
        args: list[Node] = []
        while not self.at_punct(")"):
            if args:
                self.take("punct", ",")
            args.append(self.disjunction())
        self.take("punct", ")")
        if len(args) != functions.ARITY[name.text]:
            raise FqlError(
                f"{name.text}() takes {functions.ARITY[name.text]} argument(s), got "
                f"{len(args)} in {self.text!r}"
            )
        return Call(name.text, tuple(args), name.at)


def parse_fql(text: str) -> Node:
    """The syntax tree of an FQL condition; FqlError if it does not parse."""
    if not isinstance(text, str) or not text.strip():
        raise FqlError("a condition must be a non-empty string")
    return _Parser(text).parse()


def compile_fql(text: str, dialect: Dialect = "subscription") -> Predicate:
    """A predicate over one event (as Segment stores it) for an FQL condition."""
    return compile_fql_reading(text, dialect)[0]


def compile_fql_reading(
    text: str, dialect: Dialect = "subscription"
) -> tuple[Predicate, frozenset[str]]:
    """The predicate of an FQL condition, and the fields of the event it reads."""
    tree = parse_fql(text)
    reads: set[str] = set()
    if dialect == "subscription":
        _check_subscription(tree, text)
    value = _compile(tree, reads, dialect)
    return (lambda event: value(event) is True), frozenset(reads)


def _compile(node: Node, reads: set[str], dialect: Dialect) -> Value:
    if isinstance(node, Constant):
        constant = node.value
        return lambda event: constant
    if isinstance(node, Path):
        reads.add(".".join(node.parts))
        at = compile_path_parts(node.parts)

        def read(event: dict[str, Any]) -> Any:
            value = at(event)
            return None if value is MISSING else value

        return read
    if isinstance(node, ListOf):
        items = [_compile(item, reads, dialect) for item in node.items]
        return lambda event: [item(event) for item in items]
    if isinstance(node, Not):
        operand = _compile(node.operand, reads, dialect)
        return lambda event: operand(event) is not True
    if isinstance(node, Call):
        apply = functions.FUNCTIONS[node.name]
        if dialect == "subscription":
            apply = functions.SUBSCRIPTION_FUNCTIONS[node.name]
        args = [_compile(arg, reads, dialect) for arg in node.args]
        if len(args) == 1:
            [only] = args
            return lambda event: apply(only(event))
        first, second = args
        return lambda event: apply(first(event), second(event))
    if isinstance(node, Junction):
        parts = [_compile(part, reads, dialect) for part in node.parts]
        if node.operator == "and":
            return lambda event: all(part(event) is True for part in parts)
        return lambda event: any(part(event) is True for part in parts)
    left, right = _compile(node.left, reads, dialect), _compile(node.right, reads, dialect)
    if dialect == "subscription":
        return functions.subscription_compare(node.operator, left, right)
    compare = functions.OPERATORS[node.operator]
    return lambda event: compare(left(event), right(event))


def _check_subscription(node: Node, text: str) -> None:
    """Refuse, with the reason, what Segment's subscription parser does not read."""

    def refuse(what: str, at: int) -> FqlError:
        return FqlError(f"{what} at position {at} in {text!r}: {_SUBSCRIPTIONS}")

    def field_path(candidate: Node) -> None:
        if isinstance(candidate, Call):
            raise refuse(f"{candidate.name}() is not supported in a subscription", candidate.at)
        if not isinstance(candidate, Path):
            raise refuse("a subscription compares a field", candidate.at)
        name = ".".join(candidate.parts)
        if name not in _SUBSCRIPTION_FIELDS and not name.startswith(_SUBSCRIPTION_PREFIXES):
            raise FqlError(
                f"unknown field {candidate.text!r} at position {candidate.at} in {text!r}; "
                f"a subscription reads type, event, name, userId, properties.*, traits.* and "
                f"context.* ({_SUBSCRIPTIONS})"
            )

    def literal(candidate: Node) -> Any:
        if not isinstance(candidate, Constant):
            raise refuse("a subscription compares a field with a value", candidate.at)
        if candidate.quote == "'":
            raise refuse('strings in double quotes ("...")', candidate.at)
        return candidate.value

    def call(candidate: Node) -> None:
        if not isinstance(candidate, Call) or candidate.name not in ("contains", "match"):
            name = candidate.name if isinstance(candidate, Call) else "this"
            raise refuse(f"only contains() and match() work in a subscription, not {name}", 0)
        field_path(candidate.args[0])
        argument = literal(candidate.args[1])
        if not isinstance(argument, str):
            raise refuse(f"{candidate.name}() takes a string", candidate.at)

    if isinstance(node, Junction):
        for part in node.parts:
            _check_subscription(part, text)
    elif isinstance(node, Binary):
        if node.operator == "in":
            raise refuse("'in' is not supported in a subscription", node.at)
        field_path(node.left)
        expected = literal(node.right)
        ordered = node.operator in ("<", "<=", ">", ">=")
        if ordered and (isinstance(expected, bool) or not isinstance(expected, int | float)):
            raise FqlError(f"{node.operator} needs a number at position {node.at} in {text!r}")
        if expected is None and node.operator not in ("=", "!="):
            raise FqlError(f"null can only be compared with = or != in {text!r}")
    elif isinstance(node, Not):
        call(node.operand)
    elif isinstance(node, Call):
        call(node)
    else:
        raise refuse("a subscription needs a comparison or contains()/match()", node.at)
