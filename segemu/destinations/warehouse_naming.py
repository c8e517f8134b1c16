"""Names in Segment's warehouse schema: schema, table and column names made from source names,
event names and property/trait keys.

Sources (segmentio/segment-docs, cited by path in the comments below):
- connections/storage/warehouses/schema.md: names are converted "from CamelCase to snake_case
  using the go-snakecase package"; columns are snake_case in every table.
- segmentio/go-snakecase snake.go: what that conversion does, character by character.
  `snake_case` below follows its rules (tests/destinations/test_warehouse.py runs its test table).
- connections/storage/catalog/redshift/index.md §Reserved Words and
  connections/storage/warehouses/redshift-faq.md §Reserved words: reserved words, names that
  conflict with Segment's own fields, and names starting with a digit get a `_` prefix
  (`_open`, `_3doctors`).
- connections/sources/catalog/cloud-apps/*/index.md: the source name auto-populates the schema
  name (`Customer.io` creates the schema `customerio`, `AutopilotHQ` creates `autopilothq`);
  connections/storage/warehouses/faq.md: a schema name is lowercase and may include underscores.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from functools import lru_cache
from typing import Final

# Amazon Redshift's reserved words (AWS docs, Redshift Database Developer Guide, "Reserved
# words", r_pg_keywords.html): Segment's docs link this list as the words it prefixes.
_REDSHIFT_RESERVED_WORDS = """
aes128 aes256 all allowoverwrite analyse analyze and any array as asc authorization az64 backup
between binary blanksasnull both bytedict bzip2 case cast check collate column constraint create
credentials cross current_date current_time current_timestamp current_user current_user_id
default deferrable deflate defrag delta delta32k desc disable distinct do else emptyasnull enable
encode encrypt encryption end except explicit false for foreign freeze from full globaldict256
globaldict64k grant group gzip having identity ignore ilike in initially inner intersect interval
into is isnull join leading left like limit localtime localtimestamp lun luns lzo lzop minus
mostly16 mostly32 mostly8 natural new not notnull null nulls off offline offset oid old on only
open or order outer overlaps parallel partition percent permissions pivot placing primary raw
readratio recover references rejectlog resort respect restore right select session_user similar
snapshot some sysdate system table tag tdes text255 text32k then timestamp to top trailing true
truncatecolumns union unique unnest unpivot user using verbose wallet when where with without
"""
RESERVED_WORDS: Final = frozenset(_REDSHIFT_RESERVED_WORDS.split())

# The tables Segment writes itself (schema.md §Warehouse tables). An event whose table name would
# be one of these gets the `_` prefix too: Segment does not document this case, and writing an
# "Identifies" event's rows into the identifies table would corrupt it.
SEGMENT_TABLES: Final = frozenset(
    {"tracks", "identifies", "users", "pages", "screens", "groups", "aliases", "accounts"}
)

# Segment does not document a limit on name length. Redshift takes identifiers of at most 127
# bytes (AWS docs, "Names and identifiers"); after snake_case every name is ASCII, so segemu cuts
# longer names to 127 characters, the way the warehouse would hold them.
MAX_NAME_LENGTH: Final = 127

_WORD = re.compile(r"[A-Z0-9]*[a-z0-9]*")
_UPPER_OR_DIGIT = re.compile(r"[A-Z0-9]*")
_LOWER_OR_DIGIT = re.compile(r"[a-z0-9]*")


def _lower_or_digit(char: str) -> bool:
    return "a" <= char <= "z" or "0" <= char <= "9"


def _snake_prefix(text: str) -> tuple[int, bool, bool]:
    """How much of `text` is already snake_case: lowercase letters, digits, and underscores
    that sit between two such characters. Returns (its length, whether it has a lowercase
    letter, whether its last underscore is followed by digits only)."""
    has_lower = False
    digits_since_underscore = False
    for index, char in enumerate(text):
        if "a" <= char <= "z":
            has_lower = True
            digits_since_underscore = False
        elif "0" <= char <= "9":
            continue
        elif char == "_" and 0 < index < len(text) - 1 and _lower_or_digit(text[index + 1]):
            digits_since_underscore = True
        else:
            return index, has_lower, digits_since_underscore
    return len(text), has_lower, digits_since_underscore


def _snake_case(text: str) -> str:
    """go-snakecase's Snakecase: `accountType` → `account_type`, `Order Completed` →
    `order_completed`, `CStringRef` → `cstring_ref`, `2FA Enabled` → `2fa_enabled`.

    Words are runs of ASCII capitals and digits followed by lowercase letters and digits; every
    other character (spaces, punctuation, anything outside ASCII) only separates words.
    """
    end, has_lower, digits_since_underscore = _snake_prefix(text)
    if end == len(text):
        return text
    parts = [text[:end]] if end else []
    position = end
    # A capital right after an all-capital start or an `_<digits>` start continues that word
    # instead of starting one: `THE5r` → `the5r`, `edf_6N` → `edf_6n`.
    if "A" <= text[position] <= "Z" and (not has_lower or digits_since_underscore):
        upper = _UPPER_OR_DIGIT.match(text, position)
        lower = _LOWER_OR_DIGIT.match(text, upper.end()) if upper else None
        if upper and lower:
            parts = [text[:end] + upper.group().lower() + lower.group()]
            position = lower.end()
    for word in _WORD.finditer(text, position):
        if word.group():
            parts.append(word.group().lower())
    return "_".join(part for part in parts if part)


def warehouse_name(name: str, taken: Collection[str] = ()) -> str:
    """A snake_case name as the warehouse gets it: `_` before a reserved word, a name starting
    with a digit, or a name in `taken` (Segment's own columns); then cut to the length limit."""
    if name in RESERVED_WORDS or name[:1].isdigit() or name in taken:
        name = "_" + name
    return name[:MAX_NAME_LENGTH]


def _names(key: str) -> tuple[str, str]:
    # (snake_case, warehouse name before any collision): the two steps that cost.
    snake = _snake_case(key)
    return snake, warehouse_name(snake) if snake else ""


# Every event repeats the same few property and context keys, so their names are kept; the
# cache is bounded in count, and in size by caching short keys only.
_NAMES_KEPT = 4096
_CACHEABLE_LENGTH = 256
_names_cached = lru_cache(maxsize=_NAMES_KEPT)(_names)


def _names_of(key: str) -> tuple[str, str]:
    return _names_cached(key) if len(key) <= _CACHEABLE_LENGTH else _names(key)


def snake_case(text: str) -> str:
    return _names_of(text)[0]


def column_name(key: str, taken: Collection[str] = ()) -> str:
    """The column of a property or trait key (a flattened path such as `address_street`);
    "" when nothing of the key survives snake_case (`$$$`), which has no column. A name in
    `taken` (one of Segment's columns) gets the `_` prefix, once."""
    snake, name = _names_of(key)
    if name == snake and snake in taken:
        return ("_" + snake)[:MAX_NAME_LENGTH]
    return name


def table_name(event: str) -> str:
    """The table of a track event, which is also the `event` column of its rows
    (schema.md: "The slug of the event name, mapping to an event-specific table"):
    `Order Completed` → `order_completed`. "" when the name has no letter or digit."""
    name = snake_case(event)
    return warehouse_name(name, SEGMENT_TABLES) if name else ""


_SCHEMA_SEPARATORS = re.compile(r"[\s\-]+")
_SCHEMA_DROPPED = re.compile(r"[^a-z0-9_]")
DEFAULT_SCHEMA_SOURCE: Final = "default"


def schema_name(source: str) -> str:
    """The schema a source's rows go to, derived from its name as the Segment app fills it in:
    lowercase, other characters dropped (`Customer.io` → `customerio`). Spaces and dashes become
    underscores (Segment's docs show no example; the faq allows only lowercase and `_`)."""
    name = _SCHEMA_SEPARATORS.sub("_", source.strip().lower())
    name = _SCHEMA_DROPPED.sub("", name)
    return warehouse_name(name or DEFAULT_SCHEMA_SOURCE)
