"""The lexer: query text to tokens; each term is resolved and compiled as it is read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from segemu.query.compare import _comparison, _search, _Value
from segemu.query.errors import QueryError
from segemu.query.fields import Getter, Predicate, _getter, _number

# -- the lexer ----------------------------------------------------------------------------------

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
    # For `field:value` on a field the store indexes: (index, value), see Query.pins.
    pin: tuple[str, str] | None = None


_OPERATORS = ("!=", ">=", "<=", ":", ">", "<", "~")  # longest first
_OPERATOR_CHARS = frozenset(":<>=!~")
_SPACE = frozenset(" \t\r\n\f\v")
_WORD_END = _SPACE | frozenset('()"')
_SEGMENT_END = _WORD_END | _OPERATOR_CHARS | {"."}
_KEYWORDS: dict[str, _Kind] = {"OR": "OR", "AND": "AND", "NOT": "NOT"}


# The fields a `field:value` term can pin through the store's indexes (EventStore.iter_ids
# names them), by the names a query spells them with (fields._SHORTHANDS).
_INDEXED: dict[str, str] = {
    "type": "type",
    "status": "status",
    "writeKey": "write_key",
    "source": "write_key",
    "messageId": "message_id",
    "event": "event",
    "userId": "user_id",
    "user": "user_id",
    "anonymousId": "anonymous_id",
    "anon": "anonymous_id",
}


def _pin(segments: list[tuple[str, bool]], op: str, value: _Value) -> tuple[str, str] | None:
    """(index, value) when the term matches exactly the records whose indexed field is this
    text: an equality on a bare indexed field, with a value that means only that text (a
    quoted one, or a bare word that is no number, boolean, null or wildcard, which match more
    than the text)."""
    if op != ":" or len(segments) != 1 or segments[0][1] or segments[0][0] not in _INDEXED:
        return None
    text = value.text
    if not value.quoted and (
        "*" in text or text in ("null", "true", "false") or _number(text) is not None
    ):
        return None
    return _INDEXED[segments[0][0]], text


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

    def comparison(
        self, start: int, at: int, segments: list[tuple[str, bool]], empty_segment: int | None
    ) -> tuple[_Token, int]:
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
        token = _Token("term", start, text[start:end], _comparison(text, get, op, value), cost, get)
        token.pin = _pin(segments, op, value)
        return token, end

    def expect_separator(self, i: int) -> None:
        # Terms must be separated, so that `a"b"` or `event:"A"B` is never silently two terms.
        if i < self.length and self.text[i] not in _WORD_END:
            raise self.error(f"unexpected '{self.text[i]}' after a quoted value", i)
        if i < self.length and self.text[i] == '"':
            raise self.error("unexpected '\"' inside a word; quote the whole value", i)
