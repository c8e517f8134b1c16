r"""Selecting stored records: segemu's one query language, and the structured filters.

Every surface that selects records goes through this module (DESIGN.md: one query language, one
matcher): the control API's `?q=`, `segemu events --where`, the TUI filter bar and the pytest
assertions. `EventFilter` holds the structured filters of the control API
(`GET /_segemu/events?type=...`) and may carry a parsed `Query`; `select()` applies it.

The query language
==================

A query is a list of terms; records matching every term are selected. The empty query matches
everything.

    type:track event:"Order Completed" user:u_1 properties.revenue>50

Combining terms
---------------
    a b            both (whitespace is AND)          a AND b   the same, spelled out
    a OR b         either; AND binds tighter, so `a b OR c` is `(a AND b) OR c`
    ( ... )        grouping: `type:track (event:A OR event:B)`
    -a   -( ... )  negation of a term or a group;    NOT a     the same, spelled out

`OR`, `AND` and `NOT` are keywords only in upper case, so `or`, `and` and `not` stay searchable
words. A `-` negates only when it starts a term and touches it: `-type:identify`.

Comparisons
-----------
    field:value    equals (see "typed values" below)
    field!=value   not equal; exactly `-field:value`, so a missing field is not equal
    field:*        the field exists and is not null      field:null   null or missing
    field>value    also >=, <, <=: numbers compare as numbers, other text as text (timestamps
                   sort correctly as text because segemu writes them all in one format);
                   a missing field or a type mismatch (number vs text) never matches
    field~regex    Python `re.search` on the value's text form (`true`/`false` for booleans,
                   JSON for objects); case-sensitive unless the pattern says `(?i)`

Values
------
A value is a bare word (no whitespace, parentheses or double quotes, and not starting with one of
`: < > = ! ~`) or a double-quoted string in which `\"` is a quote and `\\` a backslash (any
other backslash is kept as is, so regexes read naturally: `event~"^Order\s"`).

Typed values, for `:` and `!=`. Equality is always case-sensitive.
- A bare number (`2`, `99.99`, `-1e3`) equals that number (`2` matches 2 and 2.0) or that text.
- Bare `true` / `false` equal that boolean or that text.
- Bare `null` and `*` are the null / exists tests above.
- A bare word with `*` in it is a glob over the whole text, case-sensitive: `event:Order*`,
  `user:*@example.com`.
- Anything else, and every quoted value, equals that text only: `properties.code:"42"` matches
  "42", not 42; `event:"Sale*"` matches the literal text `Sale*`.
For `>`, `>=`, `<`, `<=` a bare number compares with numbers; other values (and every quoted
value) compare with text. `*`, `null`, `true` and `false` cannot be ordered.

Fields
------
Shorthands (case-sensitive):
    type, status, reason, route, receivedAt, id  the stored record's own fields (`id` is a
                                                   number that grows with arrival)
    writeKey, source                             the record's write key
    messageId                                    the record's messageId
    event, name, groupId, previousId             the normalized event's fields
    user, userId / anon, anonymousId             event.userId / event.anonymousId
Anything else is a dotted path into the normalized event (`properties.revenue`,
`context.library.name`, `traits.email`, `integrations.Mixpanel`); a `raw.` prefix looks into the
event exactly as the SDK sent it (`raw.sentAt:*`). A segment may be quoted for keys with spaces
or dots (`properties."Plan Name":pro`). A numeric segment indexes a list
(`properties.products.0.sku`); any other segment reaching a list looks into every element, and
the term matches if any element does (`properties.products.sku:abc`); so does a comparison whose
path ends at a list (`properties.tags:sale`), while `:*` and `:null` test the list itself.

Bare terms
----------
A term with no field (`checkout`, `"order completed"`) is a case-insensitive substring search over
the event name, page/screen name, type, userId, anonymousId, messageId and groupId. A `*` in a
bare (unquoted) term matches any run of characters. Quote a term that contains `:` or starts
with `-`.
"""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from typing import Any, Literal

from segemu.message import Record, parse_timestamp

Predicate = Callable[[Record], bool]
Getter = Callable[[Record], Any]


# -- errors -------------------------------------------------------------------------------------


class QueryError(ValueError):
    """A query that does not parse; `str()` shows the query with a caret under the problem."""

    def __init__(self, message: str, query: str, position: int) -> None:
        self.message = message
        self.query = query
        self.position = max(0, min(position, len(query)))
        super().__init__(_point_at(message, query, self.position))


def _point_at(message: str, query: str, position: int) -> str:
    # Show only the line holding the problem, so a multi-line query from a file stays readable.
    line_start = query.rfind("\n", 0, position) + 1
    line_end = query.find("\n", position)
    line = query[line_start:] if line_end == -1 else query[line_start:line_end]
    column = position - line_start + 1
    where = f"column {column}"
    if "\n" in query:
        where = f"line {query.count(chr(10), 0, position) + 1}, {where}"
    # Tabs are copied so that the caret lines up however the terminal expands them.
    pad = "".join("\t" if c == "\t" else " " for c in line[: column - 1])
    return f"{message} at {where}\n  {line}\n  {pad}^"


# -- values and paths ---------------------------------------------------------------------------


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<missing>"


# A field that is absent; distinct from a field that is present and null.
_MISSING: Any = _Missing()


class _Fanout(list[Any]):
    """The values a path reached through a list: the term matches if any of them does.

    A distinct type from list, because `:*` and `:null` test a list value itself but look at
    each value of a fan-out.
    """

    __slots__ = ()


_Segment = tuple[str, int | None]  # (dict key, list index if the segment is a bare number)


def _walk(root: Any, segments: tuple[_Segment, ...]) -> Any:
    value = root
    for n, (key, index) in enumerate(segments):
        kind = type(value)
        if kind is dict:
            value = value.get(key, _MISSING)
            if value is _MISSING:
                return _MISSING
        elif kind is list:
            if index is None:
                return _fan_out(value, segments[n:])
            value = value[index] if index < len(value) else _MISSING
            if value is _MISSING:
                return _MISSING
        else:
            return _MISSING
    return value


def _fan_out(start: list[Any], segments: tuple[_Segment, ...]) -> _Fanout:
    """The slow path of _walk, for a path that goes through a list: one segment at a time over
    every value reached so far; under a plain (non-index) segment a list stands for its elements,
    at any depth."""
    current: list[Any] = start
    for key, index in segments:
        following: list[Any] = []
        pending: list[Any] | None = current
        while pending:
            nested: list[Any] | None = None
            for value in pending:
                kind = type(value)
                if kind is dict:
                    following.append(value.get(key, _MISSING))
                elif kind is list:
                    if index is None:
                        nested = nested or []
                        nested.extend(value)
                    else:
                        following.append(value[index] if index < len(value) else _MISSING)
                else:
                    following.append(_MISSING)
            pending = nested
        current = following
    return _Fanout(current)


def _record_field(key: str) -> Getter:
    def get(record: Record) -> Any:
        return record.get(key, _MISSING)
    return get


def _event_field(key: str) -> Getter:
    def get(record: Record) -> Any:
        return record["event"].get(key, _MISSING)
    return get


_SHORTHANDS: dict[str, Getter] = {
    **{name: _record_field(name)
       for name in ("type", "status", "reason", "route", "receivedAt", "id", "writeKey",
                    "messageId")},
    "source": _record_field("writeKey"),
    **{name: _event_field(name)
       for name in ("event", "name", "groupId", "previousId", "userId", "anonymousId")},
    "user": _event_field("userId"),
    "anon": _event_field("anonymousId"),
}


def _getter(segments: list[tuple[str, bool]]) -> tuple[Getter, int]:
    """Resolve a field once, at parse time, to a function of the record, and its cost."""
    first, first_quoted = segments[0]
    if len(segments) == 1 and not first_quoted and first in _SHORTHANDS:
        return _SHORTHANDS[first], 1
    root = "event"
    if first == "raw" and not first_quoted:
        root, segments = "raw", segments[1:]
    path = tuple((name, int(name) if name.isascii() and name.isdigit() and not quoted else None)
                 for name, quoted in segments)
    if len(path) == 1 and path[0][1] is None and root == "event":
        return _event_field(path[0][0]), 1
    if root == "raw":
        def get_raw(record: Record) -> Any:
            return _walk(record["raw"], path)
        return get_raw, 2

    def get_event(record: Record) -> Any:
        return _walk(record["event"], path)
    return get_event, 2


def _text(value: Any) -> str | None:
    """The text form that globs and regexes look at."""
    kind = type(value)
    if kind is str:
        return value  # type: ignore[no-any-return]
    if kind is bool:
        return "true" if value else "false"
    if kind is int or kind is float:
        return str(value)
    if kind is dict:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return None


def _any(value: Any, test: Callable[[Any], bool]) -> bool:
    """A test of one value, where a list (or fan-out) matches if any element does, at any depth.

    A loop, not recursion: a deeply nested list in an event must not blow the stack."""
    if type(value) is not list and type(value) is not _Fanout:
        return test(value)
    pending: list[list[Any]] = [value]
    while pending:
        for element in pending.pop():
            if type(element) is list:
                pending.append(element)
            elif test(element):
                return True
    return False


_NUMBER = re.compile(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")


def _number(text: str) -> int | float | None:
    if not _NUMBER.fullmatch(text):
        return None
    try:
        return int(text)
    except ValueError:
        return float(text)


def _is_number(value: Any) -> bool:
    # bool is an int subclass, but `true` is not the number 1 in a query.
    return type(value) is int or type(value) is float


def _glob(pattern: str, flags: int = 0) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")),
                      flags | re.DOTALL)


# -- compiling terms ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Value:
    text: str
    quoted: bool
    position: int
    # Where each character of a quoted value came from, to place regex errors exactly.
    offsets: tuple[int, ...] = ()

    def source_position(self, index: int) -> int:
        if not self.quoted:
            return self.position + index
        if index < len(self.offsets):
            return self.offsets[index]
        return self.offsets[-1] + 1 if self.offsets else self.position + 1


_ORDERINGS: dict[str, Callable[[Any, Any], bool]] = {
    ">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le,
}


def _comparison(query: str, get: Getter, op: str, value: _Value) -> Predicate:
    if op == "!=":
        equal = _equality(get, value)
        return lambda record: not equal(record)
    if op == ":":
        return _equality(get, value)
    if op == "~":
        try:
            pattern = re.compile(value.text)
        except re.error as exc:
            at = value.source_position(exc.pos) if exc.pos is not None else value.position
            raise QueryError(f"bad regular expression: {exc.msg}", query, at) from None

        def search(candidate: Any) -> bool:
            text = _text(candidate)
            return text is not None and pattern.search(text) is not None
        return lambda record: _any(get(record), search)

    order = _ORDERINGS[op]
    bare = value.text if not value.quoted else None
    if bare is not None and "*" in bare:
        raise QueryError(f"cannot use a wildcard with '{op}'; quote it to compare as text",
                         query, value.position)
    if bare in ("null", "true", "false"):
        raise QueryError(f"cannot compare {bare} with '{op}'", query, value.position)
    number = _number(bare) if bare is not None else None
    if number is not None:
        def numeric(candidate: Any) -> bool:
            return _is_number(candidate) and order(candidate, number)
        return lambda record: _any(get(record), numeric)
    text = value.text

    def textual(candidate: Any) -> bool:
        return type(candidate) is str and order(candidate, text)
    return lambda record: _any(get(record), textual)


def _equality(get: Getter, value: _Value) -> Predicate:
    text = value.text
    if not value.quoted:
        if text == "*":
            def exists(record: Record) -> bool:
                found = get(record)
                if type(found) is _Fanout:
                    return any(v is not None and v is not _MISSING for v in found)
                return found is not None and found is not _MISSING
            return exists
        if text == "null":
            def null(record: Record) -> bool:
                found = get(record)
                if type(found) is _Fanout:
                    return any(v is None or v is _MISSING for v in found)
                return found is None or found is _MISSING
            return null
        if "*" in text:
            pattern = _glob(text)

            def glob(candidate: Any) -> bool:
                candidate_text = _text(candidate)
                return candidate_text is not None and pattern.fullmatch(candidate_text) is not None
            return lambda record: _any(get(record), glob)
        number = _number(text)
        if number is not None:
            def number_or_text(candidate: Any) -> bool:
                return candidate == text or (_is_number(candidate) and candidate == number)
            return lambda record: _any(get(record), number_or_text)
        if text in ("true", "false"):
            flag = text == "true"

            def boolean_or_text(candidate: Any) -> bool:
                return candidate == text or (type(candidate) is bool and candidate is flag)
            return lambda record: _any(get(record), boolean_or_text)

    # The common case, kept short: a str equals only a str, so `==` is the whole test unless the
    # path ended at a list.
    def equals(record: Record) -> bool:
        found = get(record)
        if found == text:
            return True
        kind = type(found)
        if kind is list or kind is _Fanout:
            # `in` settles the usual list of scalars; only nested lists need the slow walk.
            return text in found or _any(found, lambda candidate: candidate == text)
        return False
    return equals


def _search(value: _Value) -> Predicate:
    if not value.quoted and "*" in value.text:
        pattern = _glob(value.text, re.IGNORECASE)

        def found(text: str) -> bool:
            return pattern.search(text) is not None
    else:
        needle = value.text.lower()

        def found(text: str) -> bool:
            return needle in text.lower()

    def search(record: Record) -> bool:
        event = record["event"]
        for candidate in (event.get("event"), event.get("name"), record["type"],
                          event.get("userId"), event.get("anonymousId"), record["messageId"],
                          event.get("groupId")):
            if type(candidate) is str and found(candidate):
                return True
        return False
    return search


# -- the parser ---------------------------------------------------------------------------------

_Kind = Literal["term", "(", ")", "OR", "AND", "NOT", "end"]


@dataclass(slots=True)
class _Token:
    kind: _Kind
    position: int
    spelling: str  # as written, for messages: "-" and "NOT" are both NOT
    predicate: Predicate | None = None
    cost: int = 0
    # For a field comparison: the field's value in a record, to explain a miss.
    getter: Getter | None = None


_OPERATORS = ("!=", ">=", "<=", ":", ">", "<", "~")  # longest first
_OPERATOR_CHARS = frozenset(":<>=!~")
_SPACE = frozenset(" \t\r\n\f\v")
_WORD_END = _SPACE | frozenset('()"')
_SEGMENT_END = _WORD_END | _OPERATOR_CHARS | {"."}
_KEYWORDS: dict[str, _Kind] = {"OR": "OR", "AND": "AND", "NOT": "NOT"}


class _Lexer:
    def __init__(self, text: str) -> None:
        self.text = text
        self.length = len(text)

    def error(self, message: str, position: int) -> QueryError:
        return QueryError(message, self.text, position)

    def tokens(self) -> list[_Token]:
        text, length = self.text, self.length
        tokens: list[_Token] = []
        i = 0
        while True:
            while i < length and text[i] in _SPACE:
                i += 1
            if i == length:
                tokens.append(_Token("end", i, "end of query"))
                return tokens
            char = text[i]
            if char == "(":
                tokens.append(_Token("(", i, char))
                i += 1
            elif char == ")":
                tokens.append(_Token(")", i, char))
                i += 1
            elif char == "-":
                if i + 1 == length or text[i + 1] in _SPACE or text[i + 1] == ")":
                    raise self.error("expected a term after '-'", i + 1)
                tokens.append(_Token("NOT", i, "-"))
                i += 1
            else:
                token, i = self.term(i)
                tokens.append(token)

    def quoted(self, start: int) -> tuple[str, tuple[int, ...], int]:
        """A double-quoted string at `start`: (its value, where each char came from, end)."""
        text, length = self.text, self.length
        chars: list[str] = []
        offsets: list[int] = []
        i = start + 1
        while i < length:
            char = text[i]
            if char == '"':
                return "".join(chars), tuple(offsets), i + 1
            if char == "\\" and i + 1 < length and text[i + 1] in '"\\':
                i += 1
                char = text[i]
            chars.append(char)
            offsets.append(i)
            i += 1
        raise self.error("unterminated quoted string", start)

    def term(self, start: int) -> tuple[_Token, int]:
        text, length = self.text, self.length
        segments: list[tuple[str, bool]] = []
        empty_segment: int | None = None
        i = start
        while True:
            if i < length and text[i] == '"':
                name, _, i = self.quoted(i)
                segments.append((name, True))
            else:
                segment_start = i
                while i < length and text[i] not in _SEGMENT_END:
                    i += 1
                if i == segment_start and empty_segment is None:
                    empty_segment = i
                segments.append((text[segment_start:i], False))
            if i < length and text[i] == ".":
                i += 1
                continue
            break

        if i < length and text[i] in _OPERATOR_CHARS:
            return self.comparison(start, i, segments, empty_segment)

        quoted = [q for _, q in segments if q]
        if quoted and len(segments) > 1:
            raise self.error("expected an operator after the field", i)
        self.expect_separator(i)
        if quoted:
            value = _Value(segments[0][0], True, start)
        else:
            word = text[start:i]
            if word in _KEYWORDS:
                return _Token(_KEYWORDS[word], start, word), i
            value = _Value(word, False, start)
        return _Token("term", start, value.text, _search(value), 5), i

    def comparison(self, start: int, at: int, segments: list[tuple[str, bool]],
                   empty_segment: int | None) -> tuple[_Token, int]:
        text, length = self.text, self.length
        if at == start:
            op = next((o for o in _OPERATORS if text.startswith(o, at)), text[at])
            # `event : x` is the likely slip, so say so.
            hint = "; no spaces around an operator" if at and text[at - 1] in _SPACE else ""
            raise self.error(f"expected a field before '{op}'{hint}", at)
        if empty_segment is not None:
            raise self.error("empty field segment", empty_segment)
        op = next((o for o in _OPERATORS if text.startswith(o, at)), "")
        if not op:
            hint = "; use ':' for equals" if text[at] == "=" else "; use '!=' for not equal"
            raise self.error(f"unknown operator '{text[at]}'{hint}", at)
        i = at + len(op)
        if i == length or text[i] in _SPACE or text[i] in "()" or text[i] in _OPERATOR_CHARS:
            raise self.error(f"expected a value after '{op}'", i)
        if text[i] == '"':
            value_text, offsets, end = self.quoted(i)
            value = _Value(value_text, True, i, offsets)
        else:
            end = i
            while end < length and text[end] not in _WORD_END:
                end += 1
            value = _Value(text[i:end], False, i)
        self.expect_separator(end)
        get, cost = _getter(segments)
        if op == "~" or (not value.quoted and "*" in value.text and value.text != "*"):
            cost += 2
        return _Token("term", start, text[start:end],
                      _comparison(text, get, op, value), cost, get), end

    def expect_separator(self, i: int) -> None:
        # Terms must be separated, so that `a"b"` or `event:"A"B` is never silently two terms.
        if i < self.length and self.text[i] not in _WORD_END:
            raise self.error(f"unexpected '{self.text[i]}' after a quoted value", i)
        if i < self.length and self.text[i] == '"':
            raise self.error('unexpected \'"\' inside a word; quote the whole value', i)


_Compiled = tuple[Predicate, int]  # the predicate and a rough cost, cheapest first in AND / OR


@dataclass(frozen=True, slots=True)
class Term:
    """One of the terms a whole query ANDs together, kept to explain why a record missed."""

    text: str
    predicate: Predicate
    # The compared field's value, for a plain field comparison; None for anything else.
    getter: Getter | None


def _all(parts: list[_Compiled]) -> _Compiled:
    # Terms have no side effects, so checking the cheap ones first changes nothing but speed.
    ordered = [predicate for predicate, _ in sorted(parts, key=lambda part: part[1])]
    return _balanced(ordered, _both), sum(cost for _, cost in parts)


def _any_of(parts: list[_Compiled]) -> _Compiled:
    ordered = [predicate for predicate, _ in sorted(parts, key=lambda part: part[1])]
    return _balanced(ordered, _either), sum(cost for _, cost in parts)


def _balanced(predicates: list[Predicate],
              pair: Callable[[Predicate, Predicate], Predicate]) -> Predicate:
    """Pairs of closures, nested as a balanced tree: as fast as a chain (all() with a generator
    costs twice as much per record), and only log2(n) deep, so a long query cannot exhaust the
    stack. Order is kept, so the cheap terms still short-circuit the rest."""
    if len(predicates) == 1:
        return predicates[0]
    middle = len(predicates) // 2
    return pair(_balanced(predicates[:middle], pair), _balanced(predicates[middle:], pair))


def _both(first: Predicate, second: Predicate) -> Predicate:
    return lambda record: first(record) and second(record)


def _either(first: Predicate, second: Predicate) -> Predicate:
    return lambda record: first(record) or second(record)


def _negation(inner: Predicate) -> Predicate:
    return lambda record: not inner(record)


_STARTS_TERM = frozenset(("term", "(", "NOT"))
# Parentheses and negations nest the parser and the compiled query; this bound keeps both far
# from Python's recursion limit, whatever a caller of the control API sends.
_MAX_DEPTH = 100


class _Parser:
    """Recursive descent: or := and ('OR' and)*; and := unary (['AND'] unary)*;
    unary := ('-' | 'NOT') unary | '(' or ')' | term."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _Lexer(text).tokens()
        self.index = 0
        self.depth = 0
        # The top-level AND's terms (the whole query when it is an OR): see Query.misses.
        self.terms: list[Term] = []

    def peek(self) -> _Token:
        return self.tokens[self.index]

    def take(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def parse(self) -> _Compiled | None:
        if self.peek().kind == "end":
            return None
        compiled = self.either()
        if not self.terms:
            self.terms = [Term(self.text.strip(), compiled[0], None)]
        token = self.peek()
        if token.kind == ")":
            raise QueryError("unmatched ')'", self.text, token.position)
        return compiled

    def either(self) -> _Compiled:
        parts = [self.both()]
        while self.peek().kind == "OR":
            self.take()
            parts.append(self.both())
        return parts[0] if len(parts) == 1 else _any_of(parts)

    def both(self) -> _Compiled:
        top = self.depth == 0 and self.index == 0
        terms = [self.explained(self.unary)]
        while self.peek().kind == "AND" or self.peek().kind in _STARTS_TERM:
            if self.peek().kind == "AND":
                self.take()
            terms.append(self.explained(self.unary))
        if top and self.peek().kind == "end":  # the whole query is this AND
            self.terms = [term for term, _ in terms]
        parts = [compiled for _, compiled in terms]
        return parts[0] if len(parts) == 1 else _all(parts)

    def explained(self, parse: Callable[[], _Compiled]) -> tuple[Term, _Compiled]:
        first, start = self.peek(), self.index
        compiled = parse()
        end = self.peek().position if self.peek().kind != "end" else len(self.text)
        getter = first.getter if self.index == start + 1 else None  # a lone comparison
        return Term(self.text[first.position:end].strip(), compiled[0], getter), compiled

    def unary(self) -> _Compiled:
        token = self.peek()
        if token.kind in ("NOT", "("):
            self.depth += 1
            if self.depth > _MAX_DEPTH:
                raise QueryError("too deeply nested", self.text, token.position)
            compiled = self.negation() if token.kind == "NOT" else self.group()
            self.depth -= 1
            return compiled
        if token.kind == "term":
            self.take()
            assert token.predicate is not None
            return token.predicate, token.cost
        raise self.missing_term(token)

    def negation(self) -> _Compiled:
        self.take()
        inner, cost = self.unary()
        return _negation(inner), cost

    def group(self) -> _Compiled:
        opening = self.take()
        if self.peek().kind == ")":
            raise QueryError("empty parentheses", self.text, opening.position)
        compiled = self.either()
        if self.peek().kind != ")":
            raise QueryError("unclosed '('", self.text, opening.position)
        self.take()
        return compiled

    def missing_term(self, token: _Token) -> QueryError:
        previous = self.tokens[self.index - 1] if self.index else None
        if previous is not None and previous.kind in ("OR", "AND", "NOT", "("):
            message = f"expected a term after '{previous.spelling}'"
        elif token.kind in ("OR", "AND"):
            message = f"expected a term before '{token.spelling}'"
        else:
            message = "unmatched ')'"
        return QueryError(message, self.text, token.position)


# -- the public API -----------------------------------------------------------------------------


def _everything(record: Record) -> bool:
    return True


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed query: build with `parse_query`; `str()` gives back the text it came from."""

    text: str
    # No default: `Query("...")` must not quietly match everything; build with parse_query.
    _predicate: Predicate = field(repr=False, compare=False)

    _terms: tuple[Term, ...] = field(default=(), repr=False, compare=False)

    def matches(self, record: Record) -> bool:
        return self._predicate(record)

    def misses(self, record: Record) -> list[Term]:
        """The terms of this query's top-level AND that `record` fails (the whole query, if it
        is an OR): how far a record is from matching, for assertions' nearest misses."""
        return [term for term in self._terms if not term.predicate(record)]

    def __str__(self) -> str:
        return self.text


def parse_query(text: str) -> Query:
    """Parse and compile `text` once; matching then never looks at the text again."""
    parser = _Parser(text)
    compiled = parser.parse()
    if compiled is None:
        return Query(text, _everything)
    return Query(text, compiled[0], tuple(parser.terms))


MATCH_ALL = parse_query("")

_NEEDS_NO_QUOTES = re.compile(r'[^\s()"*:<>=!~\\-][^\s()"*:<>=!~\\]*')


def quote(value: str) -> str:
    """`value` as a query value (or bare term) that means exactly this text.

    Left bare only when that means the same: a word that is not a number, a keyword, `null`,
    `true` or `false`, and has nothing the syntax gives a meaning to. Otherwise quoted, so
    `f"event:{quote(name)}"` is safe for any name and `quote("42")` matches the text "42" only.
    """
    if (_NEEDS_NO_QUOTES.fullmatch(value) and value not in _KEYWORDS
            and value not in ("null", "true", "false") and _number(value) is None):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True, slots=True)
class EventFilter:
    type: str | None = None
    event: str | None = None
    user_id: str | None = None
    anonymous_id: str | None = None
    write_key: str | None = None
    status: str | None = None
    # Bounds on receivedAt, inclusive.
    since: datetime | None = None
    until: datetime | None = None
    # Only records with a smaller id: the paging cursor (ids grow with arrival).
    before_id: int | None = None
    query: Query | None = None

    def matches(self, record: Record) -> bool:
        event = record["event"]
        if self.type is not None and record["type"] != self.type:
            return False
        if self.event is not None and event.get("event") != self.event:
            return False
        if self.user_id is not None and event.get("userId") != self.user_id:
            return False
        if self.anonymous_id is not None and event.get("anonymousId") != self.anonymous_id:
            return False
        if self.write_key is not None and record["writeKey"] != self.write_key:
            return False
        if self.status is not None and record["status"] != self.status:
            return False
        if self.before_id is not None and record["id"] >= self.before_id:
            return False
        if self.since is not None or self.until is not None:
            received = parse_timestamp(record["receivedAt"])
            if received is None:
                return False
            if self.since is not None and received < self.since:
                return False
            if self.until is not None and received > self.until:
                return False
        # Last: the structured filters above are cheaper than most queries.
        return self.query is None or self.query.matches(record)


def select(records: Iterable[Record], where: EventFilter, limit: int | None = None) -> list[Record]:
    matching: Iterator[Record] = (r for r in records if where.matches(r))
    return list(islice(matching, limit) if limit is not None else matching)
