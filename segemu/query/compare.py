"""What one term tests: a field comparison (`:`, `!=`, `>`, `>=`, `<`, `<=`, `~`) or a bare
term's search, each compiled once to a predicate of the record."""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from segemu.message import Record
from segemu.query.errors import QueryError
from segemu.query.fields import (
    _MISSING,
    Getter,
    Glob,
    Predicate,
    _any,
    _Fanout,
    _is_number,
    _number,
    _text,
)
from segemu.query.regex import RegexError, compile_regex

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
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}


def _comparison(query: str, get: Getter, op: str, value: _Value) -> Predicate:
    if op == "!=":
        equal = _equality(get, value)
        return lambda record: not equal(record)
    if op == ":":
        return _equality(get, value)
    if op == "~":
        try:
            pattern = compile_regex(value.text)
        except RegexError as exc:
            at = value.source_position(exc.position)
            raise QueryError(f"bad regular expression: {exc.message}", query, at) from None

        def search(candidate: Any) -> bool:
            text = _text(candidate)
            return text is not None and pattern.search(text)

        return lambda record: _any(get(record), search)

    order = _ORDERINGS[op]
    bare = value.text if not value.quoted else None
    if bare is not None and "*" in bare:
        raise QueryError(
            f"cannot use a wildcard with '{op}'; quote it to compare as text", query, value.position
        )
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
            pattern = Glob(text)

            def glob(candidate: Any) -> bool:
                candidate_text = _text(candidate)
                return candidate_text is not None and pattern.fullmatch(candidate_text)

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
        # Case-insensitive like the plain search below: both sides lowered.
        pattern = Glob(value.text.lower())

        def found(text: str) -> bool:
            return pattern.search(text.lower())
    else:
        needle = value.text.lower()

        def found(text: str) -> bool:
            return needle in text.lower()

    def search(record: Record) -> bool:
        event = record["event"]
        for candidate in (
            event.get("event"),
            event.get("name"),
            record["type"],
            event.get("userId"),
            event.get("anonymousId"),
            record["messageId"],
            event.get("groupId"),
        ):
            if type(candidate) is str and found(candidate):
                return True
        return False

    return search
