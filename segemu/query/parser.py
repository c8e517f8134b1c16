"""The parser: tokens to one compiled predicate, and the public Query, parse_query and quote."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from segemu.message import Record
from segemu.query.errors import QueryError
from segemu.query.fields import _MISSING, Getter, Predicate, _Fanout, _number
from segemu.query.lexer import _KEYWORDS, _Lexer, _Token

# -- the parser ---------------------------------------------------------------------------------

_Compiled = tuple[Predicate, int]  # the predicate and a rough cost, cheapest first in AND / OR


@dataclass(frozen=True, slots=True)
class Term:
    """One of the terms a whole query ANDs together, kept to explain why a record missed."""

    text: str
    predicate: Predicate
    # The compared field's value, for a plain field comparison; None for anything else.
    getter: Getter | None
    # (index, value) for `field:value` on an indexed field: see Query.pins.
    pin: tuple[str, str] | None = None

    def value(self, record: Record) -> tuple[bool, Any]:
        """(found, value) of the field this term compares, as plain JSON values: found is False
        for a term that compares no single field, or when the field is absent."""
        if self.getter is None:
            return False, None
        value = self.getter(record)
        if value is _MISSING:
            return False, None
        if isinstance(value, _Fanout):  # values reached through a list: absent ones are null
            return True, [None if item is _MISSING else item for item in value]
        return True, value


def _all(parts: list[_Compiled]) -> _Compiled:
    # Terms have no side effects, so checking the cheap ones first changes nothing but speed.
    ordered = [predicate for predicate, _ in sorted(parts, key=lambda part: part[1])]
    return _balanced(ordered, _both), sum(cost for _, cost in parts)


def _any_of(parts: list[_Compiled]) -> _Compiled:
    ordered = [predicate for predicate, _ in sorted(parts, key=lambda part: part[1])]
    return _balanced(ordered, _either), sum(cost for _, cost in parts)


def _balanced(
    predicates: list[Predicate], pair: Callable[[Predicate, Predicate], Predicate]
) -> Predicate:
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
        lone = self.index == start + 1  # a lone comparison
        getter, pin = (first.getter, first.pin) if lone else (None, None)
        return Term(self.text[first.position : end].strip(), compiled[0], getter, pin), compiled

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

    @property
    def pins(self) -> dict[str, str]:
        """What the store's indexes can narrow a search for this query to: the indexed fields
        that a term of its top-level AND requires to equal a text (`type:track`,
        `event:"Order Completed"`, `user:u1`), as EventStore.iter_ids names them. A record that
        matches the query has these values, so reading only the records the indexes give for
        them finds every match; the query is still matched against each."""
        pins: dict[str, str] = {}
        for term in self._terms:
            if term.pin is not None:
                pins.setdefault(*term.pin)
        return pins

    @property
    def only_pins(self) -> bool:
        """Whether the query is its pins and nothing else: an AND of `field:value` terms, each
        on an indexed field of its own. Each such term matches exactly the records whose
        indexed field is that text (lexer._pin), so the records the indexes give for `pins`
        are exactly those that match: a reader may count them without matching them."""
        fields = [term.pin[0] for term in self._terms if term.pin is not None]
        return 0 < len(fields) == len(self._terms) == len(set(fields))

    @property
    def reads_requests(self) -> bool:
        """Whether the query reads what a destination received beyond its routing
        (`deliveries.<id>.requests...`): that is built when read, so matching needs it first."""
        return _READS_REQUESTS.search(self.text) is not None

    @property
    def reads_profile(self) -> bool:
        """Whether the query reads the call's profile (`profile.traits.plan:pro`): it is the
        profile as it is now, looked up when read (segemu/identity/views.py query_view)."""
        return _READS_PROFILE.search(self.text) is not None

    @property
    def reads_view(self) -> bool:
        """Whether matching needs what is built when a record is read."""
        return self.reads_requests or self.reads_profile

    def __str__(self) -> str:
        return self.text


def parse_query(text: str) -> Query:
    """Parse and compile `text` once; matching then never looks at the text again."""
    parser = _Parser(text)
    compiled = parser.parse()
    if compiled is None:
        return Query(text, _everything)
    return Query(text, compiled[0], tuple(parser.terms))


def field_reader(path: str) -> Callable[[Record], tuple[bool, Any]]:
    """How every query reads one field (`properties.revenue`, `traits.plan`, `raw.sentAt`), as
    a function of the record giving (found, value): for the readers that need a field's value,
    not a comparison (Engage's computed traits), so that they walk paths the same way."""
    if _FIELD_PATH.fullmatch(path) is None:
        raise QueryError("expected one field, such as properties.revenue", path, 0)
    terms = parse_query(f"{path}:*")._terms
    if len(terms) != 1 or terms[0].getter is None:
        raise QueryError("expected one field, such as properties.revenue", path, 0)
    return terms[0].value


# Dotted segments, bare or double-quoted (a quoted one may hold dots, spaces or colons).
_FIELD_PATH = re.compile(
    r'(?:"[^"]*"|[^\s.:<>=!~()"-][^\s.:<>=!~()"]*)(?:\.(?:"[^"]*"|[^\s.:<>=!~()"]+))*'
)


MATCH_ALL = parse_query("")
# `deliveries.<id>.<field>` where the field is not the routing's status or reason.
_READS_REQUESTS = re.compile(
    r'(?<![\w."])deliveries\.(?:"[^"]*"|[^\s.:]+)\.(?!(?:status|reason)\b)\w'
)

# `profile.<field>`, the current profile of the call (segemu/identity).
_READS_PROFILE = re.compile(r'(?<![\w."])profile\.')

_NEEDS_NO_QUOTES = re.compile(r'[^\s()"*:<>=!~\\-][^\s()"*:<>=!~\\]*')


def quote(value: str) -> str:
    """`value` as a query value (or bare term) that means exactly this text.

    Left bare only when that means the same: a word that is not a number, a keyword, `null`,
    `true` or `false`, and has nothing the syntax gives a meaning to. Otherwise quoted, so
    `f"event:{quote(name)}"` is safe for any name and `quote("42")` matches the text "42" only.
    """
    if (
        _NEEDS_NO_QUOTES.fullmatch(value)
        and value not in _KEYWORDS
        and value not in ("null", "true", "false")
        and _number(value) is None
    ):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
