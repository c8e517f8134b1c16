r"""Selecting stored records: segemu's one query language, and the structured filters.

Every surface that selects records goes through this package (DESIGN.md: one query language, one
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
    field~regex    the regex found anywhere in the value's text form (`true`/`false` for
                   booleans, JSON for objects); case-sensitive unless the pattern says `(?i)`.
                   RE2 syntax, matched in linear time (segemu/query/regex.py): no look-around
                   or backreferences, `\z` for the end of the text

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
event exactly as the SDK sent it (`raw.sentAt:*`). The first segment must be a shorthand, a
field of Segment's spec (properties, traits, context, integrations, timestamp, ...) or a record
root (raw, routing, deliveries, violations, lint, protocols, and those other modules add with
`fields.register_field`): `evnt:Foo` is refused as "unknown field 'evnt' (did you mean
'event'?)" rather than matching nothing. A quoted first segment (`"myField":x`) is taken as
written, for a top-level key of your own. A segment may be quoted for keys with spaces
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

# The package's parts, in the order a query passes through them: `errors` (QueryError and its
# caret), `fields` (resolving a field to a getter; lists, typed values and wildcards), `regex`
# (patterns users write, on RE2), `compare` (what one
# term tests), `lexer` (text to tokens, each term compiled as it is read), `parser` (tokens to
# one predicate; Query, parse_query, quote) and `filters` (EventFilter, select).

from segemu.query.errors import QueryError
from segemu.query.fields import known_fields, register_field
from segemu.query.filters import EventFilter, select
from segemu.query.parser import MATCH_ALL, Query, Term, field_reader, parse_query, quote

__all__ = [
    "MATCH_ALL",
    "EventFilter",
    "Query",
    "QueryError",
    "Term",
    "field_reader",
    "known_fields",
    "parse_query",
    "quote",
    "register_field",
    "select",
]
